//! Spelling correction of queries against the FAQ's own words, before
//! analysis: an English word the FAQ never uses that is one edit away from
//! one it does (`withdrawl`, `pasword`, `recieve`), and a Chinese word the
//! FAQ never writes that sounds exactly like one it does (冲币 → 充币,
//! 体现 → 提现, 登陆 → 登录: pinyin input picks the wrong characters).
//!
//! Character trigrams and pinyin bigrams already let such queries meet
//! their entry, but only part of the query then counts as known, and the
//! confidence model rightly treats unexplained words as a sign of a
//! question the FAQ does not answer. Corrected, the query reads like the
//! FAQ's questions and gets the confidence a clean question gets.
//!
//! What is never corrected:
//! - a word the FAQ uses, or (English) a word of the general vocabulary of
//!   the meaning vectors: "link" stays "link" even if the FAQ says "line";
//! - English words shorter than five letters or holding digits, and a
//!   word whose only near FAQ word starts with another letter;
//! - a Chinese string that is not whole words of the query (as jieba cuts
//!   it) or runs of them;
//! - a Chinese string the FAQ writes somewhere, and a sound shared by two
//!   different FAQ words (no guessing between them);
//! - a two-character Chinese word whose replacement would not read like
//!   the FAQ: neither neighbouring character forms, with the FAQ word, a
//!   string the FAQ writes (空头给多头 stays: 空投给 is nowhere in the FAQ).
//!
//! Sounds are compared toneless, with zh/ch/sh heard as z/c/s (the fuzzy
//! pinyin most input methods offer).

use pinyin::ToPinyin;

use crate::analyze::{JIEBA, char_bounds, is_han};
use crate::fxmap::{FxMap, FxSet, term_key};

/// English words shorter than this are never corrected ("fee" / "fed").
const MIN_WORD_CHARS: usize = 5;
/// Chinese words the FAQ uses, by length, whose sound is matched.
const HAN_LENGTHS: [usize; 2] = [3, 2];
/// Key kinds (see `term_key`): deletion variants, written Chinese, sounds.
const DELETION: u8 = 0;
const WRITTEN: u8 = 1;
const SYLLABLE: u8 = 2;

/// The FAQ's words, indexed for correction. Strings are kept as 64-bit
/// keys (`term_key`), so building allocates little and a query nothing
/// until a correction is found.
pub(crate) struct Speller {
    /// Latin words of the FAQ and in how many texts each occurs.
    words: FxMap<String, u32>,
    /// (key of a FAQ word with one character deleted, or of the word
    /// itself; index in `word_list`), sorted.
    deletions: Vec<(u64, u32)>,
    /// The FAQ words `deletions` refers to.
    word_list: Vec<String>,
    /// How many letters the longest of `word_list` has: a word two or
    /// more letters longer is more than one edit from every one of them.
    longest: usize,
    /// Keys of the Chinese strings of two and three characters the FAQ
    /// writes.
    han_seen: FxSet<u64>,
    /// Sound key of a FAQ Chinese word → the word (`None` when two
    /// different words sound alike).
    sounds: FxMap<u64, Option<String>>,
}

impl Speller {
    /// Indexes the FAQ's normalised texts and their Chinese words.
    pub fn new<'a>(texts: impl IntoIterator<Item = (&'a str, &'a [String])>) -> Speller {
        let mut words: FxMap<String, u32> = FxMap::default();
        let mut han_seen: FxSet<u64> = FxSet::default();
        let mut sounds: FxMap<u64, Option<String>> = FxMap::default();
        let mut seen_here: Vec<&str> = Vec::new();
        for (text, text_words) in texts {
            seen_here.clear();
            seen_here.extend(latin_words(text).map(|(_, w)| w));
            seen_here.sort_unstable();
            seen_here.dedup();
            for &word in &seen_here {
                match words.get_mut(word) {
                    Some(count) => *count += 1,
                    None => {
                        words.insert(word.to_owned(), 1);
                    }
                }
            }
            for (_, run) in han_runs(text) {
                let b = char_bounds(run);
                for len in HAN_LENGTHS {
                    for window in b.windows(len + 1) {
                        han_seen.insert(term_key(WRITTEN, &run[window[0]..window[len]]));
                    }
                }
            }
            for word in text_words {
                let count = word.chars().count();
                if HAN_LENGTHS.contains(&count) && word.chars().all(is_han) {
                    let key = sound(word.chars());
                    match sounds.get(&key) {
                        None => {
                            sounds.insert(key, Some(word.clone()));
                        }
                        Some(Some(existing)) if existing != word => {
                            sounds.insert(key, None);
                        }
                        Some(_) => {}
                    }
                }
            }
        }
        let mut word_list: Vec<String> = words
            .keys()
            .filter(|w| w.chars().count() >= MIN_WORD_CHARS - 1)
            .cloned()
            .collect();
        word_list.sort_unstable();
        let mut deletions: Vec<(u64, u32)> = Vec::new();
        let mut variant = String::new();
        for (i, word) in word_list.iter().enumerate() {
            deletions.push((term_key(DELETION, word), i as u32));
            for_each_deletion(word, &mut variant, |v| {
                deletions.push((term_key(DELETION, v), i as u32));
            });
        }
        deletions.sort_unstable();
        deletions.dedup();
        let longest = word_list.iter().map(|w| w.chars().count()).max();
        Speller {
            words,
            deletions,
            longest: longest.unwrap_or(0),
            word_list,
            han_seen,
            sounds,
        }
    }

    /// `text` (normalised) with its misspelt words replaced; `known_word`
    /// says whether an English word is a real word (never corrected).
    /// Returns `None` when nothing changed.
    pub fn correct(&self, text: &str, known_word: impl Fn(&str) -> bool) -> Option<String> {
        let mut out = String::new();
        let mut changed = false;
        let mut last = 0;
        for (start, word) in latin_words(text) {
            if let Some(fixed) = self.english(word, &known_word) {
                out.push_str(&text[last..start]);
                out.push_str(fixed);
                last = start + word.len();
                changed = true;
            }
        }
        if changed {
            out.push_str(&text[last..]);
        }
        let english = if changed { out.as_str() } else { text };
        match self.chinese(english) {
            Some(fixed) => Some(fixed),
            None if changed => Some(out),
            None => None,
        }
    }

    /// The FAQ word one edit away from `word`, if `word` needs one.
    fn english(&self, word: &str, known_word: impl Fn(&str) -> bool) -> Option<&str> {
        // A word more than one letter longer than every FAQ word is no
        // typo of one. Looking anyway made one variant per letter, each as
        // long as the word: a 1,000,000-letter word took minutes.
        // (`word` is ASCII: its length in bytes is its length in letters.)
        if word.len() < MIN_WORD_CHARS
            || word.len() > self.longest + 1
            || word.bytes().any(|b| b.is_ascii_digit())
            || self.words.contains_key(word)
            || known_word(word)
        {
            return None;
        }
        let mut best: Option<(u32, &str)> = None;
        let mut consider = |key: u64| {
            let from = self.deletions.partition_point(|&(k, _)| k < key);
            for &(k, i) in &self.deletions[from..] {
                if k != key {
                    break;
                }
                let candidate = self.word_list[i as usize].as_str();
                // People rarely mistype a word's first letter, and a
                // different first letter is often a different word
                // (reactivate / deactivate).
                if candidate.as_bytes()[0] != word.as_bytes()[0]
                    || strsim::osa_distance(word, candidate) != 1
                {
                    continue;
                }
                let count = self.words.get(candidate).copied().unwrap_or(0);
                // The most used FAQ word wins; ties go to the first in order.
                if best.is_none_or(|(c, w)| count > c || (count == c && candidate < w)) {
                    best = Some((count, candidate));
                }
            }
        };
        consider(term_key(DELETION, word));
        let mut variant = String::new();
        for_each_deletion(word, &mut variant, |v| consider(term_key(DELETION, v)));
        best.map(|(_, w)| w)
    }

    /// `text` with Chinese strings the FAQ never writes replaced by the FAQ
    /// word that sounds the same, or `None` if there are none. Only whole
    /// words of the text (as jieba cuts it) or runs of them are replaced,
    /// never a string straddling a word: in 没有使用, 有使 sounds like 有事
    /// but is half of two words.
    fn chinese(&self, text: &str) -> Option<String> {
        if self.sounds.is_empty() {
            return None;
        }
        let mut out = String::new();
        let mut last = 0;
        for (offset, run) in han_runs(text) {
            let Some(fixed) = self.chinese_run(run) else {
                continue;
            };
            out.push_str(&text[last..offset]);
            out.push_str(&fixed);
            last = offset + run.len();
        }
        if last == 0 {
            return None;
        }
        out.push_str(&text[last..]);
        Some(out)
    }

    /// One run of Chinese characters, corrected (see `chinese`).
    fn chinese_run(&self, run: &str) -> Option<String> {
        let b = char_bounds(run);
        let n = b.len() - 1;
        let syllables: Vec<u64> = run.chars().map(syllable).collect();
        // The FAQ word a window at `i` of `len` characters sounds like, if
        // the FAQ never writes the window itself.
        let sounds_like = |i: usize, len: usize| -> Option<&String> {
            if i + len > n
                || self
                    .han_seen
                    .contains(&term_key(WRITTEN, &run[b[i]..b[i + len]]))
            {
                return None;
            }
            self.sounds.get(&combine(&syllables[i..i + len]))?.as_ref()
        };
        // Cheap test first: most queries have nothing to correct, and
        // cutting the run into words costs more than looking.
        if !(0..n).any(|i| HAN_LENGTHS.iter().any(|&len| sounds_like(i, len).is_some())) {
            return None;
        }
        let mut bounds = vec![false; n + 1];
        let mut at = 0;
        for token in JIEBA.cut(run, true) {
            bounds[at] = true;
            at += token.word.chars().count();
        }
        bounds[n] = true;
        let mut fixed = String::with_capacity(run.len());
        let mut changed = false;
        let mut i = 0;
        'chars: while i < n {
            for len in HAN_LENGTHS {
                if i + len <= n
                    && bounds[i]
                    && bounds[i + len]
                    && let Some(word) = sounds_like(i, len)
                    && (len > 2 || self.fits(word, &run[..b[i]], &run[b[i + len]..]))
                {
                    fixed.push_str(word);
                    changed = true;
                    i += len;
                    continue 'chars;
                }
            }
            fixed.push_str(&run[b[i]..b[i + 1]]);
            i += 1;
        }
        changed.then_some(fixed)
    }

    /// Whether a two-character FAQ `word` put between `before` and `after`
    /// (the rest of its run) reads like the FAQ: it and a neighbouring
    /// character form a string the FAQ writes. A lone word has nothing to
    /// go on and fits. This keeps real words that merely sound like a FAQ
    /// word (空头 "short" is not 空投 "airdrop" in 空头给多头).
    fn fits(&self, word: &str, before: &str, after: &str) -> bool {
        let left = before.chars().next_back();
        let right = after.chars().next();
        if left.is_none() && right.is_none() {
            return true;
        }
        let mut buffer = String::with_capacity(word.len() + 8);
        let mut seen = |parts: &[&str]| {
            buffer.clear();
            parts.iter().for_each(|p| buffer.push_str(p));
            self.han_seen.contains(&term_key(WRITTEN, &buffer))
        };
        let mut one = [0u8; 4];
        left.is_some_and(|c| seen(&[c.encode_utf8(&mut one), word]))
            || right.is_some_and(|c| seen(&[word, c.encode_utf8(&mut one)]))
    }
}

/// Latin words (ASCII letters and digits) with their byte offsets.
fn latin_words(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(move |w| (w.as_ptr() as usize - text.as_ptr() as usize, w))
}

/// Runs of Chinese characters with their byte offsets.
fn han_runs(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.split(|c: char| !is_han(c))
        .filter(|r| !r.is_empty())
        .map(move |r| (r.as_ptr() as usize - text.as_ptr() as usize, r))
}

/// Calls `f` with every string `word` becomes with one character deleted.
fn for_each_deletion(word: &str, variant: &mut String, mut f: impl FnMut(&str)) {
    for (i, c) in word.char_indices() {
        variant.clear();
        variant.push_str(&word[..i]);
        variant.push_str(&word[i + c.len_utf8()..]);
        f(variant);
    }
}

/// The key of a character's toneless pinyin, as [`fuzzy`] hears it (of
/// the character itself if it has none).
fn syllable(c: char) -> u64 {
    let mut buffer = [0u8; 8];
    let heard = match c.to_pinyin() {
        Some(p) => fuzzy(p.plain(), &mut buffer),
        None => c.encode_utf8(&mut buffer),
    };
    term_key(SYLLABLE, heard)
}

/// A syllable as pinyin input methods' fuzzy mode hears it: the initials
/// zh, ch and sh as z, c and s, which many speakers do not tell apart
/// (申述 for 申诉). (Also merging ang/an, eng/en and ing/in turned real
/// words into FAQ words: 当时 into 但是.) `buffer` holds the result when it
/// differs (pinyin syllables are at most six ASCII letters).
fn fuzzy<'a>(syllable: &'a str, buffer: &'a mut [u8; 8]) -> &'a str {
    match syllable.as_bytes() {
        [first @ (b'z' | b'c' | b's'), b'h', rest @ ..] if rest.len() < buffer.len() => {
            buffer[0] = *first;
            buffer[1..=rest.len()].copy_from_slice(rest);
            std::str::from_utf8(&buffer[..=rest.len()]).unwrap_or(syllable)
        }
        _ => syllable,
    }
}

/// The sound key of a sequence of syllables.
fn combine(syllables: &[u64]) -> u64 {
    syllables.iter().fold(0x9E37_79B9_7F4A_7C15u64, |h, &s| {
        (h.rotate_left(23) ^ s).wrapping_mul(0xFF51_AFD7_ED55_8CCD)
    })
}

/// The sound key of a Chinese string.
fn sound(text: impl Iterator<Item = char>) -> u64 {
    let syllables: Vec<u64> = text.map(syllable).collect();
    combine(&syllables)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn speller(texts: &[(&str, &[&str])]) -> Speller {
        let owned: Vec<(String, Vec<String>)> = texts
            .iter()
            .map(|(t, w)| (t.to_string(), w.iter().map(|s| s.to_string()).collect()))
            .collect();
        Speller::new(owned.iter().map(|(t, w)| (t.as_str(), w.as_slice())))
    }

    fn not_a_word(_: &str) -> bool {
        false
    }

    #[test]
    fn english_typos_one_edit_away_become_the_faq_word() {
        let s = speller(&[
            ("how do i send coins to my wallet", &[]),
            ("withdrawal is pending", &[]),
            ("i forgot my password", &[]),
            ("i did not receive the code", &[]),
        ]);
        let fixed = s.correct("my withdrawl is late", not_a_word);
        assert_eq!(fixed.as_deref(), Some("my withdrawal is late"));
        assert_eq!(
            s.correct("forgot pasword, did not recieve code", not_a_word)
                .as_deref(),
            Some("forgot password, did not receive code")
        );
    }

    #[test]
    fn real_words_short_words_and_numbers_stay() {
        let s = speller(&[("how to change the phone line", &[])]);
        // "liner" is one edit from "line", but the general vocabulary knows it.
        assert_eq!(s.correct("my liner broke", |w| w == "liner"), None);
        // Another first letter is another word, not a typo.
        let s2 = speller(&[("how to deactivate my card", &[])]);
        assert_eq!(s2.correct("can i reactivate my card", not_a_word), None);
        // Short words and words with digits are never touched.
        assert_eq!(s.correct("lin phonee2", not_a_word), None);
        assert_eq!(s.correct("change the phone", not_a_word), None);
    }

    #[test]
    fn chinese_homophones_the_faq_never_writes_become_its_word() {
        let s = speller(&[
            ("充币没有到账", &["充币", "没有", "到账"]),
            ("提现要多久", &["提现", "要", "多久"]),
            ("登录不了怎么办", &["登录", "不了", "怎么办"]),
        ]);
        assert_eq!(s.correct("冲币", not_a_word).as_deref(), Some("充币"));
        assert_eq!(
            s.correct("冲币没有到账", not_a_word).as_deref(),
            Some("充币没有到账")
        );
        assert_eq!(
            s.correct("体现要多久", not_a_word).as_deref(),
            Some("提现要多久")
        );
        assert_eq!(
            s.correct("登陆不了", not_a_word).as_deref(),
            Some("登录不了")
        );
        // What the FAQ writes is left alone.
        assert_eq!(s.correct("充币没有到账", not_a_word), None);
    }

    #[test]
    fn a_real_word_that_would_not_read_like_the_faq_stays() {
        let s = speller(&[("空投什么时候发", &["空投", "什么", "时候", "发"])]);
        // 空头 (short) sounds like 空投 (airdrop), but 空投给 is nowhere.
        assert_eq!(s.correct("空头给多头钱", not_a_word), None);
        // Next to what the FAQ writes, it reads as the FAQ's word.
        assert_eq!(
            s.correct("空头什么时候发", not_a_word).as_deref(),
            Some("空投什么时候发")
        );
    }

    #[test]
    fn a_word_longer_than_every_faq_word_is_left_as_it_is() {
        let s = speller(&[("withdrawal is pending", &[])]);
        // One edit longer than the FAQ's longest word: still a typo.
        assert_eq!(
            s.correct("withdrawall", not_a_word).as_deref(),
            Some("withdrawal")
        );
        // A million letters: left alone, at once (it made a million
        // variants of a million letters before).
        let huge = format!("withdrawal{}", "l".repeat(1_000_000));
        assert_eq!(s.correct(&huge, not_a_word), None);
    }

    #[test]
    fn two_faq_words_with_one_sound_are_not_guessed_between() {
        let s = speller(&[("时间多久", &["时间"]), ("实践经验", &["实践"])]);
        assert_eq!(s.correct("事件", not_a_word), None);
    }
}
