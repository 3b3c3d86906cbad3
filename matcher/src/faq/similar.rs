//! Finding questions of different entries that say the same thing.
//!
//! Two entries with near-identical questions make the matcher's choice
//! between them a coin toss, so the loader warns about them. The FAQ may
//! hold tens of thousands of questions, so pairs are never compared
//! naively:
//! - identical normalised forms are found by hashing;
//! - similar ones (normalised Levenshtein similarity ≥ 0.9, i.e. at most
//!   one edit per ten characters) with a partition filter after PassJoin
//!   (Li et al., VLDB 2011): a string that allows `k` edits is cut into
//!   `2k + 1` segments, of which at least `k + 1` survive any `k` edits
//!   unchanged and near their place. So it is enough to index its `k + 1`
//!   rarest segments (rare ones make short candidate lists, and a template
//!   shared by thousands of questions is never a key), and for a longer
//!   string to look up each of its substrings that could be such a
//!   segment. Only those candidates are compared, after a cheap
//!   character-count bound, with a banded edit distance.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Strings shorter than this (in characters) are only compared for identity.
/// (Below 9 characters, 0.9 similarity needs identity anyway.)
const MIN_SIMILAR_CHARS: usize = 4;

/// How two questions resemble each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Resemblance {
    /// The same after normalisation.
    Identical,
    /// `strsim::normalized_levenshtein` of the normalised forms is ≥ 0.9.
    Similar,
}

/// A near-duplicate: question `subject` resembles question `other`
/// (indices into the input), and they belong to different groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct NearDuplicate {
    pub subject: usize,
    pub other: usize,
    pub resemblance: Resemblance,
}

/// Near-duplicates among `questions`, given as `(group, normalised text)`
/// (normalised by `crate::question_key`); questions of the same group (an
/// entry) may resemble each other freely.
///
/// Each question is the subject of at most one report. Every question with
/// an identical question of another group before it is reported; of every
/// similar pair, at least one of the two forms is in a report. So a clean
/// FAQ gives no report and a duplicated question is never missed, while
/// thousands of look-alike questions give one report each, not one per
/// pair. Reports are sorted by subject.
pub(super) fn near_duplicates(questions: &[(usize, &str)]) -> Vec<NearDuplicate> {
    let mut found = Vec::new();
    let mut reported = vec![false; questions.len()];

    // Identical forms: hash them. Each distinct form keeps its first
    // question and its first question of another group.
    let mut form_of: HashMap<&str, usize, FastHash> = HashMap::default();
    let mut forms: Vec<Form> = Vec::new();
    for (index, (group, text)) in questions.iter().enumerate() {
        if text.is_empty() {
            continue;
        }
        let Some(&form) = form_of.get(text) else {
            form_of.insert(text, forms.len());
            forms.push(Form {
                chars: text.chars().collect(),
                first: index,
                second: None,
            });
            continue;
        };
        let form = &mut forms[form];
        let earlier = if questions[form.first].0 != *group {
            Some(form.first)
        } else {
            form.second
        };
        if let Some(first) = earlier {
            found.push(NearDuplicate {
                subject: index,
                other: first,
                resemblance: Resemblance::Identical,
            });
            reported[index] = true;
        }
        if form.second.is_none() && questions[form.first].0 != *group {
            form.second = Some(index);
        }
    }

    // Similar forms: one partner at most per form.
    for (x, y) in similar_pairs(&forms, questions) {
        let (a, b) = representatives(questions, &forms[x], &forms[y]);
        let (later, earlier) = (a.max(b), a.min(b));
        let (subject, other) = if !reported[later] {
            (later, earlier)
        } else if !reported[earlier] {
            (earlier, later)
        } else {
            continue;
        };
        reported[subject] = true;
        found.push(NearDuplicate {
            subject,
            other,
            resemblance: Resemblance::Similar,
        });
    }
    found.sort_by_key(|d| d.subject);
    found
}

/// One distinct normalised form and the questions that have it.
struct Form {
    chars: Vec<char>,
    /// Its first question.
    first: usize,
    /// Its first question of another group than `first`'s, if any.
    second: Option<usize>,
}

/// A question of `x` and a question of `y` of different groups (they meet).
fn representatives(questions: &[(usize, &str)], x: &Form, y: &Form) -> (usize, usize) {
    let group = questions[x.first].0;
    if questions[y.first].0 != group {
        (x.first, y.first)
    } else if let Some(second) = y.second {
        (x.first, second)
    } else {
        (x.second.unwrap_or(x.first), y.first)
    }
}

/// For each form, at most one similar form (whose questions meet it) among
/// the forms not longer than it; pairs as `(probe, partner)`.
fn similar_pairs(forms: &[Form], questions: &[(usize, &str)]) -> Vec<(usize, usize)> {
    // Forms by length; a form only pairs with forms of nearby lengths.
    let longest = forms.iter().map(|f| f.chars.len()).max().unwrap_or(0);
    let mut by_length: Vec<Vec<usize>> = vec![Vec::new(); longest + 1];
    for (form, f) in forms.iter().enumerate() {
        if f.chars.len() >= MIN_SIMILAR_CHARS {
            by_length[f.chars.len()].push(form);
        }
    }
    let plan = plan_segments(forms, &by_length);

    // The group of each form, or `usize::MAX` when its questions are of
    // several groups (it meets every form).
    let group: Vec<usize> = forms
        .iter()
        .map(|f| match f.second {
            Some(_) => usize::MAX,
            None => questions[f.first].0,
        })
        .collect();
    let meet = |x: usize, y: usize| {
        group[x] == usize::MAX || group[y] == usize::MAX || group[x] != group[y]
    };

    let mut index: HashMap<Key, Vec<usize>, FastHash> = HashMap::default();
    let mut seen_by = vec![usize::MAX; forms.len()];
    let histograms: Vec<Histogram> = forms.iter().map(|f| histogram(&f.chars)).collect();
    let mut pairs = Vec::new();

    for (la, probes) in by_length.iter().enumerate() {
        for &probe in probes {
            let a = forms[probe].chars.as_slice();
            // The partner is not longer, so the pair allows `la / 10`
            // edits, and at least that many for the difference in length.
            let edits = la / 10;
            let partner = 'search: {
                for lb in (la - edits..=la).rev() {
                    let Some(count) = plan.count[lb] else {
                        continue;
                    };
                    let shift = la - lb;
                    for (number, (start, len)) in segments(lb, count).enumerate() {
                        // Edits before the segment move it by `s`, those
                        // after by `shift - s`; together at most `edits`.
                        let lowest = start.saturating_sub((edits - shift) / 2);
                        let highest = (start + (shift + edits) / 2).min(la - len);
                        for at in lowest..=highest {
                            let key = (lb, number, &a[at..at + len]);
                            let Some(candidates) = index.get(&key) else {
                                continue;
                            };
                            for &other in candidates {
                                if seen_by[other] == probe || !meet(probe, other) {
                                    continue;
                                }
                                seen_by[other] = probe;
                                if histogram_distance(&histograms[probe], &histograms[other])
                                    <= edits
                                    && similar(a, &forms[other].chars)
                                {
                                    break 'search Some(other);
                                }
                            }
                        }
                    }
                }
                None
            };
            if let Some(other) = partner {
                pairs.push((probe, other));
            }
            for &(number, (start, len)) in &plan.keys[probe] {
                index
                    .entry((la, number, &a[start..start + len]))
                    .or_default()
                    .push(probe);
            }
        }
    }
    pairs
}

/// (length of the string, segment number, the segment).
type Key<'a> = (usize, usize, &'a [char]);

/// A segment of a string: `(segment number, (start, length))`.
type Segment = (usize, (usize, usize));

/// How strings of each length are cut, and which segments each form puts
/// in the index.
struct SegmentPlan {
    /// Per length, in how many segments, if any string has that length.
    count: Vec<Option<usize>>,
    /// Per form, its indexed segments.
    keys: Vec<Vec<Segment>>,
}

/// Chooses, for each length, how many segments to cut: `k` edits need
/// `2k + 1` at least, and more (shorter) segments let a form avoid the
/// segments it shares with many others (a common template) at the cost
/// of more look-ups. The cheapest by a simple estimate wins.
fn plan_segments(forms: &[Form], by_length: &[Vec<usize>]) -> SegmentPlan {
    let mut plan = SegmentPlan {
        count: vec![None; by_length.len()],
        keys: vec![Vec::new(); forms.len()],
    };
    // How many forms may look up each length: those a little longer.
    let mut prefix = vec![0usize; by_length.len() + 1];
    for (len, list) in by_length.iter().enumerate() {
        prefix[len + 1] = prefix[len] + list.len();
    }
    for (len, list) in by_length.iter().enumerate() {
        if list.is_empty() {
            continue;
        }
        let edits = len / 9;
        let keep = edits + 1;
        let probes = prefix[(len + len / 9 + 1).min(by_length.len())] - prefix[len];
        let mut best: Option<(usize, usize, Vec<Vec<Segment>>)> = None;
        for count in [2 * edits + 1, 3 * edits + 1, 4 * edits + 1] {
            if best.as_ref().is_some_and(|(c, _, _)| *c >= count) {
                continue;
            }
            let mut frequency: HashMap<(usize, &[char]), usize, FastHash> = HashMap::default();
            for &form in list {
                let chars = forms[form].chars.as_slice();
                for (number, (start, length)) in segments(len, count).enumerate() {
                    *frequency
                        .entry((number, &chars[start..start + length]))
                        .or_default() += 1;
                }
            }
            let mut visits = 0;
            let mut chosen = Vec::with_capacity(list.len());
            for &form in list {
                let chars = forms[form].chars.as_slice();
                let mut keys: Vec<(usize, usize, (usize, usize))> = segments(len, count)
                    .enumerate()
                    .map(|(number, (start, length))| {
                        let shared = frequency[&(number, &chars[start..start + length])];
                        (shared, number, (start, length))
                    })
                    .collect();
                keys.sort_unstable();
                keys.truncate(keep);
                visits += keys.iter().map(|(shared, _, _)| shared - 1).sum::<usize>();
                chosen.push(keys.into_iter().map(|(_, n, at)| (n, at)).collect());
            }
            let lookups = probes * count * (len / 10 + 1);
            let cost = visits + lookups;
            if best.as_ref().is_none_or(|(_, c, _)| cost < *c) {
                best = Some((count, cost, chosen));
            }
            // Few shared segments: more cuts cannot pay for themselves.
            if visits <= 4 * list.len() {
                break;
            }
        }
        if let Some((count, _, chosen)) = best {
            plan.count[len] = Some(count);
            for (&form, keys) in list.iter().zip(chosen) {
                plan.keys[form] = keys;
            }
        }
    }
    plan
}

/// The segments `(start, length)` of a string of `len` characters cut in
/// `count` nearly equal parts.
fn segments(len: usize, count: usize) -> impl Iterator<Item = (usize, usize)> {
    let short = len / count;
    let long_ones = len % count;
    let short_ones = count - long_ones;
    (0..count).map(move |i| {
        if i < short_ones {
            (i * short, short)
        } else {
            let j = i - short_ones;
            (short_ones * short + j * (short + 1), short + 1)
        }
    })
}

/// Character counts in 32 buckets: a cheap lower bound of the edit distance
/// that rejects most candidates before the quadratic comparison.
type Histogram = [u8; 32];

fn histogram(chars: &[char]) -> Histogram {
    let mut counts = [0u8; 32];
    for &c in chars {
        let bucket = (u32::from(c).wrapping_mul(0x9e37_79b1) >> 27) as usize;
        counts[bucket] = counts[bucket].saturating_add(1);
    }
    counts
}

/// A lower bound of the edit distance: each edit adds at most one
/// character and removes at most one, so the distance is at least the
/// surplus on either side. (Saturated counts only weaken the bound.)
fn histogram_distance(a: &Histogram, b: &Histogram) -> usize {
    let (mut more, mut fewer) = (0usize, 0usize);
    for (x, y) in a.iter().zip(b) {
        more += usize::from(x.saturating_sub(*y));
        fewer += usize::from(y.saturating_sub(*x));
    }
    more.max(fewer)
}

/// FxHash: the keys are short and not attacker-chosen, and SipHash would
/// cost more than the rest of the search.
#[derive(Default)]
struct FxHasher(u64);

type FastHash = BuildHasherDefault<FxHasher>;

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.add(u64::from(byte));
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.add(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }

    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

impl FxHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

/// `normalized_levenshtein(a, b) >= 0.9`, in integers:
/// `1 - d / max >= 0.9` is `10 d <= max`. Identical strings are left to the
/// hash pass.
fn similar(a: &[char], b: &[char]) -> bool {
    let longest = a.len().max(b.len());
    if a.len().min(b.len()) < MIN_SIMILAR_CHARS || a == b {
        return false;
    }
    // The length difference alone costs that many edits.
    if 10 * a.len().abs_diff(b.len()) > longest {
        return false;
    }
    levenshtein_within(a, b, longest / 10)
}

/// Whether the Levenshtein distance of `a` and `b` is at most `limit`
/// (the distance `strsim::levenshtein` computes, on char slices). Only the
/// diagonal band of width `2 * limit + 1` can hold such values, so only it
/// is computed, and the search stops once a whole row exceeds the limit.
fn levenshtein_within(a: &[char], b: &[char], limit: usize) -> bool {
    let (n, m) = (a.len(), b.len());
    if n.abs_diff(m) > limit {
        return false;
    }
    let beyond = limit + 1;
    let mut previous: Vec<usize> = (0..=m).map(|j| j.min(beyond)).collect();
    let mut current = vec![beyond; m + 1];
    for i in 1..=n {
        let low = i.saturating_sub(limit).max(1);
        let high = (i + limit).min(m);
        current[low - 1] = if low == 1 { i.min(beyond) } else { beyond };
        let mut row_min = current[low - 1];
        for j in low..=high {
            let substitution = previous[j - 1] + usize::from(a[i - 1] != b[j - 1]);
            let value = substitution
                .min(previous[j] + 1)
                .min(current[j - 1] + 1)
                .min(beyond);
            current[j] = value;
            row_min = row_min.min(value);
        }
        // The next row reads one cell further right: outside this band.
        if high < m {
            current[high + 1] = beyond;
        }
        if row_min > limit {
            return false;
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[m] <= limit
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::question_key;

    fn run(questions: &[(usize, &str)]) -> Vec<(usize, usize, Resemblance)> {
        let normalised: Vec<(usize, String)> = questions
            .iter()
            .map(|(g, q)| (*g, question_key(q)))
            .collect();
        let borrowed: Vec<(usize, &str)> =
            normalised.iter().map(|(g, q)| (*g, q.as_str())).collect();
        near_duplicates(&borrowed)
            .into_iter()
            .map(|d| (d.subject, d.other, d.resemblance))
            .collect()
    }

    #[test]
    fn identical_forms_of_different_entries_are_found() {
        let found = run(&[(0, "提幣失敗怎麼辦？"), (1, "提币失败怎么办"), (1, "别的")]);
        assert_eq!(found, vec![(1, 0, Resemblance::Identical)]);
    }

    #[test]
    fn questions_of_the_same_entry_may_resemble_each_other() {
        assert!(run(&[(0, "how do I withdraw"), (0, "How do I withdraw?")]).is_empty());
    }

    #[test]
    fn one_edit_in_ten_characters_is_similar_two_are_not() {
        // 10 characters, one substitution: similarity 0.9.
        assert_eq!(
            run(&[(0, "abcdefghij"), (1, "abcdefghix")]),
            vec![(1, 0, Resemblance::Similar)]
        );
        // Two substitutions: 0.8.
        assert!(run(&[(0, "abcdefghij"), (1, "abcdefghyx")]).is_empty());
        // One insertion into 9 characters: max length 10, similarity 0.9.
        assert_eq!(
            run(&[(0, "abcdefghi"), (1, "abcdefghiz")]),
            vec![(1, 0, Resemblance::Similar)]
        );
    }

    #[test]
    fn short_strings_are_only_compared_for_identity() {
        assert!(run(&[(0, "abc"), (1, "abd")]).is_empty());
        assert_eq!(
            run(&[(0, "ab"), (1, "AB")]),
            vec![(1, 0, Resemblance::Identical)]
        );
    }

    /// Against comparing every pair: every report is true, no question is
    /// the subject twice, and of every resembling pair one form is in a
    /// report.
    #[test]
    fn the_filtered_search_misses_no_resembling_pair() {
        let mut state = 12345u64;
        let mut next = move |below: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % below as u64) as usize
        };
        let alphabet: Vec<char> = "abcdef".chars().collect();
        let mut strings: Vec<(usize, Vec<char>)> = Vec::new();
        let template: Vec<char> = "howdoiwithdrawmy".chars().collect();
        for i in 0..800 {
            let len = 4 + next(60);
            let mut base: Vec<char> = (0..len).map(|_| alphabet[next(alphabet.len())]).collect();
            // A quarter share a template, as generated FAQs do.
            if i % 4 == 0 {
                base.splice(0..0, template.iter().copied());
            }
            strings.push((i % 41, base.clone()));
            // Sometimes a copy in another group with up to len/9 edits.
            if next(2) == 0 {
                let mut copy = base;
                for _ in 0..=next(len / 9 + 1) {
                    let at = next(copy.len());
                    match next(3) {
                        0 => copy[at] = 'x',
                        1 => copy.insert(at, 'y'),
                        _ if copy.len() > 1 => {
                            copy.remove(at);
                        }
                        _ => {}
                    }
                }
                strings.push(((i + 1 + next(3)) % 41, copy));
            }
        }
        let texts: Vec<(usize, String)> = strings
            .iter()
            .map(|(g, s)| (*g, s.iter().collect()))
            .collect();
        let borrowed: Vec<(usize, &str)> = texts.iter().map(|(g, s)| (*g, s.as_str())).collect();
        let found = near_duplicates(&borrowed);

        let mut subjects = std::collections::HashSet::new();
        let mut involved = std::collections::HashSet::new();
        for d in &found {
            let (a, b) = (&strings[d.subject], &strings[d.other]);
            assert_ne!(a.0, b.0);
            match d.resemblance {
                Resemblance::Identical => assert_eq!(a.1, b.1),
                Resemblance::Similar => assert!(similar(&a.1, &b.1), "{d:?}"),
            }
            assert!(subjects.insert(d.subject), "{d:?} twice");
            involved.insert(texts[d.subject].1.as_str());
            involved.insert(texts[d.other].1.as_str());
        }
        let mut resembling = 0;
        let mut similar_pairs = 0;
        for x in 0..strings.len() {
            for y in 0..x {
                let (a, b) = (&strings[x], &strings[y]);
                let alike = a.1 == b.1 && !a.1.is_empty();
                let close = similar(&a.1, &b.1);
                if a.0 != b.0 && (alike || close) {
                    resembling += 1;
                    similar_pairs += usize::from(close);
                    assert!(
                        involved.contains(texts[x].1.as_str())
                            || involved.contains(texts[y].1.as_str()),
                        "missed {x} {y}: {:?} {:?}",
                        texts[x],
                        texts[y]
                    );
                }
            }
        }
        assert!(
            similar_pairs > 100,
            "the test data has too few similar pairs"
        );
        assert!(resembling >= found.len());
    }

    #[test]
    fn the_bounded_distance_agrees_with_strsim() {
        let words = [
            "",
            "a",
            "ab",
            "kitten",
            "sitting",
            "充币没有到账",
            "充值没到账",
            "abcdefghij",
            "bcdefghija",
            "abcxefghijkl",
            "xabcdefghij",
        ];
        for a in words {
            for b in words {
                let distance = strsim::levenshtein(a, b);
                let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
                for limit in 0..14 {
                    assert_eq!(
                        levenshtein_within(&a, &b, limit),
                        distance <= limit,
                        "{a:?} {b:?} {limit}"
                    );
                }
            }
        }
    }
}
