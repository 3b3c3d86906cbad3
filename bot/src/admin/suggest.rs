//! Suggestions: what the bot failed to answer, turned into FAQ work.
//!
//! Two sources, both as the store keeps them (texts masked on write, and
//! masked again here):
//! - agents' `/link ID` marks: the questions the user asked on a linked
//!   ticket before an agent replied become **new questions for that
//!   entry**, as a YAML snippet an admin can paste, the most asked first;
//! - the questions that matched no entry, grouped into **clusters of
//!   similar questions** (which entry to write next), with counts and
//!   examples.
//!
//! Both are read against the FAQ serving now: a question the matcher now
//! answers (with the linked entry) is no longer suggested, so running it
//! again after an edit shows what is left.
//!
//! Clustering compares texts as sets of features: Chinese as character
//! bigrams (after traditional → simplified), other words as character
//! trigrams, minus question words that every question has (怎么, how...).
//! Similar texts are merged bottom-up (average linkage on Jaccard
//! similarity) until no two groups are similar enough. It needs no model and
//! is fast for the few thousand distinct questions a week brings; it is not
//! semantic ("cash out" and "withdraw" stay apart unless they share words).

use std::collections::{BTreeMap, HashMap, HashSet};

use anyhow::Result;
use chrono::{DateTime, Utc};
use handoff::Store;
use matcher::Candidate;
use serde::Serialize;

use crate::engine::{Knowledge, Understanding, understand};

/// At most this many distinct unanswered questions are clustered (the most
/// frequent); the rest are counted only.
pub const MAX_UNANSWERED: usize = 3_000;
/// Groups at least this similar (average Jaccard) are merged.
pub const MERGE_SIMILARITY: f64 = 0.3;

/// Everything `suggest` found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Suggestions {
    pub since: DateTime<Utc>,
    /// New questions per existing entry, the most asked entry first.
    pub new_questions: Vec<EntryQuestions>,
    /// Similar unanswered questions, the most asked cluster first.
    pub clusters: Vec<Cluster>,
    /// Phrasings learned from users' "Solved" presses and picks since
    /// `since`, newest first: the matcher counts them already; an admin
    /// pastes the good ones into the FAQ and drops bad ones (`/unlearn`).
    pub learned: Vec<handoff::Learned>,
}

/// Questions to add to one entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EntryQuestions {
    pub entry_id: String,
    /// Where the entry is written (`file:line:column`).
    pub source: String,
    /// How many times these questions were asked in all.
    pub asked: u64,
    pub questions: Vec<SuggestedQuestion>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SuggestedQuestion {
    pub language: String,
    pub text: String,
    pub asked: u64,
}

/// Unanswered questions that say much the same thing.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cluster {
    /// How many times its questions were asked in all.
    pub asked: u64,
    /// The distinct questions in it, the most asked first (with counts).
    pub questions: Vec<(String, u64)>,
    /// The entry the matcher finds closest for its most asked question
    /// (not close enough to answer): perhaps questions belong there instead
    /// of a new entry.
    pub closest: Option<Candidate>,
}

/// A linked question as read from the store.
#[derive(Debug, Clone, PartialEq)]
pub struct Linked {
    pub entry_id: String,
    pub language: String,
    pub text: String,
}

/// Reads links and unanswered questions since `since` and suggests.
pub async fn suggest(
    store: &Store,
    knowledge: &Knowledge,
    since: DateTime<Utc>,
) -> Result<Suggestions> {
    let entry_ids: Vec<String> = knowledge.faq.entries.iter().map(|e| e.id.clone()).collect();
    let linked = store
        .linked_questions(&entry_ids, since)
        .await?
        .into_iter()
        .map(|q| Linked {
            entry_id: q.entry_id,
            language: q.language,
            text: q.text,
        })
        .collect();
    let unanswered = store
        .unanswered_questions(since, MAX_UNANSWERED)
        .await?
        .into_iter()
        .map(|q| (q.text, q.count))
        .collect();
    let mut suggestions = suggest_from(knowledge, since, linked, unanswered);
    suggestions.learned = store
        .learned()
        .await?
        .into_iter()
        .rev()
        .filter(|l| l.at >= since && knowledge.faq.entry(&l.entry_id).is_some())
        .collect();
    Ok(suggestions)
}

/// The suggestions for given links and unanswered questions (with counts).
pub fn suggest_from(
    knowledge: &Knowledge,
    since: DateTime<Utc>,
    linked: Vec<Linked>,
    unanswered: Vec<(String, u64)>,
) -> Suggestions {
    Suggestions {
        since,
        new_questions: new_questions(knowledge, linked),
        clusters: clusters(knowledge, unanswered),
        learned: Vec::new(),
    }
}

fn mask(text: &str) -> String {
    handoff::redact::mask(text).text.trim().to_owned()
}

/// Whether a line a user wrote reads as a question (not only an id, a hash
/// or an email they were asked for).
fn reads_as_question(text: &str) -> bool {
    let mut rest = text.to_owned();
    let details = handoff::details::extract(text);
    for value in details
        .uids
        .iter()
        .chain(&details.order_ids)
        .chain(&details.tx_hashes)
        .chain(&details.emails)
    {
        rest = rest.replace(value.as_str(), " ");
    }
    rest.chars().filter(|c| c.is_alphabetic()).count() >= 3
}

fn new_questions(knowledge: &Knowledge, linked: Vec<Linked>) -> Vec<EntryQuestions> {
    // entry → normalised text → (language, first wording, count)
    let mut by_entry: BTreeMap<String, HashMap<String, (String, String, u64)>> = BTreeMap::new();
    for link in linked {
        let Some(entry) = knowledge.faq.entry(&link.entry_id) else {
            continue;
        };
        let text = mask(&link.text);
        if !reads_as_question(&text) {
            continue;
        }
        // A linked question the index learned is answered right because
        // it learned it: still worth pasting into the FAQ.
        let learned = knowledge
            .learned
            .iter()
            .any(|(id, learned)| id == &entry.id && mask(learned) == text);
        match understand(&knowledge.matcher, &text) {
            // Already answered right: nothing to add.
            Understanding::Question(decision)
                if !learned && decision.answered() == Some(entry.id.as_str()) =>
            {
                continue;
            }
            Understanding::Question(_) => {}
            // "转人工", "hi", "thanks": not a question for the FAQ.
            _ => continue,
        }
        let key = normalise(&text);
        let known = entry
            .questions
            .values()
            .flatten()
            .any(|q| normalise(q) == key);
        if known {
            continue;
        }
        let language = language_of(&text, &link.language);
        let slot = by_entry
            .entry(entry.id.clone())
            .or_default()
            .entry(key)
            .or_insert((language, text, 0));
        slot.2 += 1;
    }
    let mut suggestions: Vec<EntryQuestions> = by_entry
        .into_iter()
        .map(|(entry_id, questions)| {
            let mut questions: Vec<SuggestedQuestion> = questions
                .into_values()
                .map(|(language, text, asked)| SuggestedQuestion {
                    language,
                    text,
                    asked,
                })
                .collect();
            questions.sort_by(|a, b| b.asked.cmp(&a.asked).then_with(|| a.text.cmp(&b.text)));
            let source = knowledge
                .faq
                .entry(&entry_id)
                .map(|e| e.source.to_string())
                .unwrap_or_default();
            EntryQuestions {
                asked: questions.iter().map(|q| q.asked).sum(),
                entry_id,
                source,
                questions,
            }
        })
        .collect();
    suggestions.sort_by(|a, b| {
        b.asked
            .cmp(&a.asked)
            .then_with(|| a.entry_id.cmp(&b.entry_id))
    });
    suggestions
}

/// The language a question is written in: Chinese if it has Han
/// characters; else the ticket's language unless that is Chinese (a Chinese
/// user writing in English), then English.
fn language_of(text: &str, ticket_language: &str) -> String {
    if text.chars().any(matcher::is_han) {
        "zh".to_owned()
    } else if ticket_language.is_empty() || ticket_language.starts_with("zh") {
        "en".to_owned()
    } else {
        ticket_language.to_owned()
    }
}

/// Two wordings that differ in width, case, script (traditional or
/// simplified), punctuation or spacing are the same question: the
/// matcher's [`matcher::question_key`], which the FAQ's near-duplicate
/// check uses too.
pub fn normalise(text: &str) -> String {
    matcher::question_key(text)
}

/// Words every question has; they say nothing about what it is about.
const STOP_WORDS: &[&str] = &[
    "a", "an", "and", "are", "be", "can", "could", "do", "does", "did", "for", "from", "get",
    "have", "how", "i", "if", "in", "is", "it", "me", "my", "of", "on", "or", "please", "should",
    "the", "there", "this", "to", "what", "when", "where", "which", "why", "will", "with", "would",
    "you", "your",
];
const STOP_BIGRAMS: &[&str] = &[
    "怎么", "么办", "如何", "为什", "什么", "怎样", "可以", "我的", "你们", "请问", "一下", "是不",
    "不是", "能不", "不能", "为啥", "吗", "了吗",
];

/// The features a text is compared by.
fn features(text: &str) -> HashSet<String> {
    let text = fast2s::convert(text).to_lowercase();
    let mut features = HashSet::new();
    let mut han = String::new();
    let mut word = String::new();
    let flush_han = |han: &mut String, features: &mut HashSet<String>| {
        let chars: Vec<char> = han.chars().collect();
        if chars.len() == 1 {
            features.insert(han.clone());
        }
        for pair in chars.windows(2) {
            let bigram: String = pair.iter().collect();
            if !STOP_BIGRAMS.contains(&bigram.as_str()) {
                features.insert(bigram);
            }
        }
        han.clear();
    };
    let flush_word = |word: &mut String, features: &mut HashSet<String>| {
        if !word.is_empty() && !STOP_WORDS.contains(&word.as_str()) {
            let padded: Vec<char> = format!("^{word}$").chars().collect();
            if padded.len() <= 3 {
                features.insert(padded.iter().collect());
            }
            for triple in padded.windows(3) {
                features.insert(triple.iter().collect());
            }
        }
        word.clear();
    };
    for c in text.chars() {
        if matcher::is_han(c) {
            flush_word(&mut word, &mut features);
            han.push(c);
        } else if c.is_alphanumeric() {
            flush_han(&mut han, &mut features);
            word.push(c);
        } else {
            flush_han(&mut han, &mut features);
            flush_word(&mut word, &mut features);
        }
    }
    flush_han(&mut han, &mut features);
    flush_word(&mut word, &mut features);
    features
}

fn jaccard(a: &HashSet<String>, b: &HashSet<String>) -> f64 {
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let common = a.intersection(b).count();
    common as f64 / (a.len() + b.len() - common) as f64
}

fn clusters(knowledge: &Knowledge, unanswered: Vec<(String, u64)>) -> Vec<Cluster> {
    // Same question, different case or punctuation: one item.
    let mut items: Vec<(String, u64)> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for (text, count) in unanswered {
        let text = mask(&text);
        let key = normalise(&text);
        if key.is_empty() {
            continue;
        }
        // Answered by the FAQ serving now (it was edited since): covered.
        match understand(&knowledge.matcher, &text) {
            Understanding::Question(decision) if decision.answered().is_none() => {}
            _ => continue,
        }
        match index.get(&key) {
            Some(&i) => items[i].1 += count,
            None => {
                index.insert(key, items.len());
                items.push((text, count));
            }
        }
    }
    let groups = agglomerate(&items.iter().map(|(t, _)| features(t)).collect::<Vec<_>>());
    let mut clusters: Vec<Cluster> = groups
        .into_iter()
        .map(|members| {
            let mut questions: Vec<(String, u64)> =
                members.into_iter().map(|i| items[i].clone()).collect();
            questions.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            let closest = match understand(&knowledge.matcher, &questions[0].0) {
                Understanding::Question(decision) => decision.candidates.into_iter().next(),
                _ => None,
            };
            Cluster {
                asked: questions.iter().map(|q| q.1).sum(),
                questions,
                closest,
            }
        })
        .collect();
    clusters.sort_by(|a, b| {
        b.asked
            .cmp(&a.asked)
            .then_with(|| b.questions.len().cmp(&a.questions.len()))
            .then_with(|| a.questions[0].0.cmp(&b.questions[0].0))
    });
    clusters
}

/// Average-linkage agglomerative clustering: merges the two most similar
/// groups while their average pairwise similarity is at least
/// [`MERGE_SIMILARITY`]. Returns groups of item indices. O(n²) memory, about
/// O(n²) time in practice (each merge updates one row).
fn agglomerate(items: &[HashSet<String>]) -> Vec<Vec<usize>> {
    let n = items.len();
    let mut similarity = vec![vec![0.0f64; n]; n];
    for i in 0..n {
        for j in i + 1..n {
            let s = jaccard(&items[i], &items[j]);
            similarity[i][j] = s;
            similarity[j][i] = s;
        }
    }
    let mut members: Vec<Option<Vec<usize>>> = (0..n).map(|i| Some(vec![i])).collect();
    let best_of = |similarity: &Vec<Vec<f64>>, members: &Vec<Option<Vec<usize>>>, i: usize| {
        (0..n)
            .filter(|&j| j != i && members[j].is_some())
            .map(|j| (similarity[i][j], j))
            .max_by(|a, b| a.0.total_cmp(&b.0).then(b.1.cmp(&a.1)))
    };
    let mut best: Vec<Option<(f64, usize)>> =
        (0..n).map(|i| best_of(&similarity, &members, i)).collect();
    // The most similar pair of groups, while similar enough.
    while let Some((_, i, j)) = (0..n)
        .filter(|&i| members[i].is_some())
        .filter_map(|i| best[i].map(|(s, j)| (s, i, j)))
        .max_by(|a, b| a.0.total_cmp(&b.0).then(b.1.cmp(&a.1)))
        .filter(|&(s, _, _)| s >= MERGE_SIMILARITY)
    {
        // Merge j into i (Lance–Williams update for average linkage).
        let size_i = members[i].as_ref().map_or(0, Vec::len) as f64;
        let size_j = members[j].as_ref().map_or(0, Vec::len) as f64;
        for k in 0..n {
            if k == i || k == j || members[k].is_none() {
                continue;
            }
            let merged =
                (size_i * similarity[i][k] + size_j * similarity[j][k]) / (size_i + size_j);
            similarity[i][k] = merged;
            similarity[k][i] = merged;
        }
        let moved = members[j].take().unwrap_or_default();
        if let Some(group) = members[i].as_mut() {
            group.extend(moved);
        }
        for k in 0..n {
            if members[k].is_none() {
                best[k] = None;
            } else if k == i || matches!(best[k], Some((_, b)) if b == i || b == j) {
                best[k] = best_of(&similarity, &members, k);
            } else if let Some((s_k, _)) = best[k]
                && similarity[k][i] > s_k
            {
                best[k] = Some((similarity[k][i], i));
            }
        }
    }
    members.into_iter().flatten().collect()
}

/// A YAML scalar: plain when that is unambiguous, else double-quoted (JSON
/// string syntax is valid YAML).
fn yaml_text(text: &str) -> String {
    let plain = !text.is_empty()
        && text.chars().next().is_some_and(|c| c.is_alphanumeric())
        && text
            .chars()
            .all(|c| c.is_alphanumeric() || c == ' ' || "?？,，。!！、'’".contains(c))
        && !text.ends_with(' ')
        && text.parse::<f64>().is_err()
        && !matches!(
            text.to_ascii_lowercase().as_str(),
            "true" | "false" | "yes" | "no" | "on" | "off" | "null" | "y" | "n"
        );
    if plain {
        text.to_owned()
    } else {
        serde_json::to_string(text).expect("a string serialises")
    }
}

/// The new questions as YAML to paste under each entry's `questions:`.
pub fn yaml_snippet(suggestions: &[EntryQuestions]) -> String {
    let mut yaml = String::from(
        "# New questions for existing entries, from agents' /link marks (most asked first).\n\
         # Add each list under the entry's `questions:`, then run `helpdesk check`.\n",
    );
    for entry in suggestions {
        yaml.push_str(&format!(
            "- id: {}    # {}, asked {}×\n  questions:\n",
            entry.entry_id, entry.source, entry.asked
        ));
        let mut by_language: BTreeMap<&str, Vec<&SuggestedQuestion>> = BTreeMap::new();
        for question in &entry.questions {
            by_language
                .entry(&question.language)
                .or_default()
                .push(question);
        }
        for (language, questions) in by_language {
            yaml.push_str(&format!("    {language}:\n"));
            for question in questions {
                yaml.push_str(&format!(
                    "      - {}    # {}×\n",
                    yaml_text(&question.text),
                    question.asked
                ));
            }
        }
    }
    yaml
}

/// The suggestions as an admin reads them: the YAML snippet, then the
/// clusters. At most `limit` entries and clusters.
pub fn render(suggestions: &Suggestions, limit: usize, language: &str) -> String {
    let zh = language.starts_with("zh");
    let mut text = String::new();
    if suggestions.new_questions.is_empty() {
        text.push_str(if zh {
            "没有来自 /link 的新问题。\n"
        } else {
            "No new questions from agents' /link marks.\n"
        });
    } else {
        let shown: Vec<EntryQuestions> = suggestions
            .new_questions
            .iter()
            .take(limit)
            .cloned()
            .collect();
        text.push_str(&yaml_snippet(&shown));
        if suggestions.new_questions.len() > limit {
            text.push_str(&format!(
                "# … and {} more entries\n",
                suggestions.new_questions.len() - limit
            ));
        }
    }
    text.push('\n');
    if !suggestions.learned.is_empty() {
        text.push_str(if zh {
            "从用户学到的说法（已计入匹配；好的请写进 FAQ，错的用 /unlearn 条目ID 原文 删除）：\n"
        } else {
            "Learned from users (already matched; paste the good ones into the FAQ, drop a bad one with /unlearn ENTRY_ID TEXT):\n"
        });
        for learned in suggestions.learned.iter().take(limit * 3) {
            let from = match (learned.from, zh) {
                (handoff::LearnedFrom::Solved, true) => "已解决",
                (handoff::LearnedFrom::Solved, false) => "solved",
                (handoff::LearnedFrom::Picked, true) => "选中",
                (handoff::LearnedFrom::Picked, false) => "picked",
            };
            text.push_str(&format!(
                "  {} {} ({from})\n",
                learned.entry_id, learned.text
            ));
        }
        text.push('\n');
    }
    let clusters: Vec<&Cluster> = suggestions.clusters.iter().take(limit).collect();
    if clusters.is_empty() {
        text.push_str(if zh {
            "没有未能解答的问题。\n"
        } else {
            "No unanswered questions.\n"
        });
        return text;
    }
    text.push_str(if zh {
        "没有条目覆盖的相似问题（最常见的在前）：\n"
    } else {
        "Similar questions no entry covers (most asked first):\n"
    });
    for (n, cluster) in clusters.iter().enumerate() {
        let distinct = cluster.questions.len();
        text.push_str(&if zh {
            format!("{}. 共 {} 次，{} 种问法\n", n + 1, cluster.asked, distinct)
        } else {
            format!(
                "{}. asked {}× in {} wording(s)\n",
                n + 1,
                cluster.asked,
                distinct
            )
        });
        for (question, count) in cluster.questions.iter().take(3) {
            text.push_str(&format!("   {count}× {question}\n"));
        }
        if let Some(closest) = &cluster.closest {
            text.push_str(&if zh {
                format!(
                    "   最接近的条目：{}（{:.2}）\n",
                    closest.entry_id, closest.confidence
                )
            } else {
                format!(
                    "   closest entry: {} ({:.2})\n",
                    closest.entry_id, closest.confidence
                )
            });
        }
    }
    if suggestions.clusters.len() > limit {
        text.push_str(&format!("… {}\n", suggestions.clusters.len() - limit));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn groups(texts: &[&str]) -> Vec<Vec<String>> {
        let features: Vec<_> = texts.iter().map(|t| features(t)).collect();
        let mut groups: Vec<Vec<String>> = agglomerate(&features)
            .into_iter()
            .map(|g| {
                let mut g: Vec<String> = g.into_iter().map(|i| texts[i].to_owned()).collect();
                g.sort();
                g
            })
            .collect();
        groups.sort();
        groups
    }

    #[test]
    fn similar_questions_group_and_different_ones_do_not() {
        let found = groups(&[
            "怎么质押ETH",
            "ETH质押怎么操作",
            "质押ETH收益多少",
            "how do I stake ETH",
            "staking ETH rewards",
            "你们有没有NFT市场",
            "NFT市场在哪里",
        ]);
        assert!(
            found.contains(&vec![
                "ETH质押怎么操作".to_owned(),
                "怎么质押ETH".to_owned(),
                "质押ETH收益多少".to_owned()
            ]),
            "{found:?}"
        );
        assert!(
            found.contains(&vec![
                "NFT市场在哪里".to_owned(),
                "你们有没有NFT市场".to_owned()
            ]),
            "{found:?}"
        );
        assert!(
            found.contains(&vec![
                "how do I stake ETH".to_owned(),
                "staking ETH rewards".to_owned()
            ]),
            "{found:?}"
        );
    }

    #[test]
    fn question_words_alone_do_not_make_questions_similar() {
        assert!(jaccard(&features("怎么借币"), &features("怎么质押")) < MERGE_SIMILARITY);
        assert!(
            jaccard(&features("how do I lend"), &features("how do I stake")) < MERGE_SIMILARITY
        );
    }

    #[test]
    fn yaml_texts_are_quoted_only_when_needed() {
        assert_eq!(yaml_text("充币没到账怎么办？"), "充币没到账怎么办？");
        assert_eq!(yaml_text("How do I stake ETH?"), "How do I stake ETH?");
        assert_eq!(yaml_text("fee: 0.1%"), "\"fee: 0.1%\"");
        assert_eq!(yaml_text("yes"), "\"yes\"");
        assert_eq!(yaml_text("# not a comment"), "\"# not a comment\"");
    }

    #[test]
    fn wording_differences_are_one_question() {
        assert_eq!(
            normalise("How do I stake ETH?"),
            normalise("how do i stake eth")
        );
        assert_eq!(normalise("提幣失敗"), normalise("提币失败"));
    }
}
