//! Turns a normalised text into the terms the index and the scorer compare.
//!
//! One analyzer serves FAQ questions and user queries alike, so both sides
//! always agree on segmentation (the reason user text never goes through
//! tantivy's query parser). Three kinds of terms, each catching what the
//! others miss:
//! - words: jieba words of Chinese runs, stemmed English words without stop
//!   words, and one token per synonym group found in the text;
//! - grams: Chinese character bigrams (segmentation-independent) and English
//!   character trigrams (typos like `withdrawl`);
//! - sounds: pinyin syllable bigrams of Chinese runs, so homophone typos from
//!   pinyin input (冲币 for 充币, 体现 for 提现) still meet.

use std::sync::LazyLock;

use pinyin::ToPinyin;
use tantivy::tokenizer::{Language, RawTokenizer, Stemmer, TextAnalyzer, TokenStream};
use tantivy_jieba::jieba_rs::Jieba;

use crate::normalize::normalize;

/// Loading jieba's dictionary takes a noticeable time: once per process.
pub(crate) static JIEBA: LazyLock<Jieba> = LazyLock::new(Jieba::new);

/// English words that carry no intent of their own.
const ENGLISH_STOP_WORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "by", "for", "if", "in", "into", "is", "it", "of",
    "on", "or", "such", "that", "the", "their", "then", "there", "these", "they", "this", "to",
    "was", "will", "with", "i", "me", "my", "we", "our", "you", "your", "its", "am", "been", "do",
    "does", "did", "so", "just", "please", "hi", "hello", "thanks", "pls",
];

/// Chinese particles and pronouns that carry no intent of their own.
const CHINESE_STOP_WORDS: &[&str] = &[
    "的", "了", "吗", "呢", "啊", "吧", "呀", "哦", "嘛", "哈", "嗯", "么", "我", "你", "您",
    "我的", "你们", "请问", "一下", "是", "在",
];

/// Whether `word` (normalised: lower case) is a stop word of either
/// language: it carries no intent of its own.
pub(crate) fn is_stop_word(word: &str) -> bool {
    CHINESE_STOP_WORDS.contains(&word) || ENGLISH_STOP_WORDS.contains(&word)
}

/// The terms of one text, by kind; duplicates kept (term frequency counts).
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Terms {
    pub words: Vec<String>,
    pub grams: Vec<String>,
    pub sounds: Vec<String>,
    /// The Chinese words as jieba cuts them (stop words kept, no search
    /// sub-words): what the Chinese meaning vector is made of.
    pub cut: Vec<String>,
    /// How much the text says: Latin content words plus Chinese characters
    /// counted two to a word. "到账慢" is 1.5, "how to withdraw" is 2.
    pub size: f32,
}

impl Terms {
    pub fn is_empty(&self) -> bool {
        self.words.is_empty() && self.grams.is_empty() && self.sounds.is_empty()
    }
}

/// How a synonym group member is recognised in a text.
#[derive(Debug, Clone)]
enum Pattern {
    /// A Chinese member: a substring of the normalised text (one character:
    /// a whole jieba word, else 链 would match inside 链接).
    Han(String),
    /// A Latin member: a run of consecutive stemmed words.
    Words(Vec<String>),
}

#[derive(Clone)]
pub(crate) struct Analyzer {
    /// (pattern, group index)
    synonyms: Vec<(Pattern, usize)>,
    stemmer: TextAnalyzer,
}

impl Analyzer {
    pub fn new(synonym_groups: &[Vec<String>]) -> Analyzer {
        let mut analyzer = Analyzer {
            synonyms: Vec::new(),
            stemmer: TextAnalyzer::builder(RawTokenizer::default())
                .filter(Stemmer::new(Language::English))
                .build(),
        };
        let mut patterns = Vec::new();
        for (group, members) in synonym_groups.iter().enumerate() {
            for member in members {
                let text = normalize(member);
                if text.chars().any(is_han) {
                    let han: String = text.chars().filter(|c| !c.is_whitespace()).collect();
                    patterns.push((Pattern::Han(han), group));
                } else {
                    let mut stemmer = analyzer.stemmer.clone();
                    let stems: Vec<String> = split_runs(&text)
                        .into_iter()
                        .filter_map(|run| match run {
                            Run::Word(word) => Some(stem(&mut stemmer, word)),
                            Run::Han(_) => None,
                        })
                        .collect();
                    if !stems.is_empty() {
                        patterns.push((Pattern::Words(stems), group));
                    }
                }
            }
        }
        analyzer.synonyms = patterns;
        analyzer
    }

    /// Normalises and analyses `text`.
    pub fn analyze(&self, text: &str) -> Terms {
        self.analyze_normalized(&normalize(text))
    }

    /// Analyses an already normalised text.
    pub fn analyze_normalized(&self, text: &str) -> Terms {
        let mut terms = Terms::default();
        let mut stemmer = self.stemmer.clone();
        let mut all_stems: Vec<String> = Vec::new();
        let mut han_words: Vec<&str> = Vec::new();
        let runs = split_runs(text);
        for run in &runs {
            match *run {
                Run::Han(han) => {
                    let tokens = JIEBA.cut_for_search(han, true);
                    for token in &tokens {
                        han_words.push(token.word);
                        if !CHINESE_STOP_WORDS.contains(&token.word) {
                            terms.words.push(token.word.to_owned());
                        }
                    }
                    // The plain cut is in there too: search mode puts each
                    // word after its sub-words, so from the end, the word
                    // ending where the one after it starts.
                    let first = terms.cut.len();
                    let mut end = han.chars().count();
                    for token in tokens.iter().rev() {
                        if token.end == end {
                            terms.cut.push(token.word.to_owned());
                            end = token.start;
                        }
                    }
                    terms.cut[first..].reverse();
                    terms.size += han.chars().count() as f32 / 2.0;
                    han_grams(han, &mut terms.grams);
                    han_sounds(han, &mut terms.sounds);
                }
                Run::Word(word) => {
                    let stemmed = stem(&mut stemmer, word);
                    if !ENGLISH_STOP_WORDS.contains(&word) && !is_single_letter(word) {
                        terms.words.push(stemmed.clone());
                        terms.size += 1.0;
                        if word.is_ascii() && word.len() >= 4 {
                            latin_grams(word, &mut terms.grams);
                        }
                    }
                    all_stems.push(stemmed);
                }
            }
        }
        let mut groups: Vec<usize> = Vec::new();
        for (pattern, group) in &self.synonyms {
            if groups.contains(group) {
                continue;
            }
            let found = match pattern {
                Pattern::Han(member) if member.chars().count() == 1 => {
                    han_words.iter().any(|w| w == member)
                }
                Pattern::Han(member) => text.contains(member.as_str()),
                Pattern::Words(stems) => all_stems.windows(stems.len()).any(|w| w == &stems[..]),
            };
            if found {
                groups.push(*group);
            }
        }
        groups.sort_unstable();
        terms
            .words
            .extend(groups.into_iter().map(|g| format!("~syn{g}")));
        terms
    }
}

fn is_single_letter(word: &str) -> bool {
    let mut chars = word.chars();
    matches!((chars.next(), chars.next()), (Some(c), None) if !c.is_numeric())
}

fn stem(stemmer: &mut TextAnalyzer, word: &str) -> String {
    if !word.is_ascii() {
        return word.to_owned();
    }
    let mut stream = stemmer.token_stream(word);
    let mut out = String::new();
    while stream.advance() {
        out.push_str(&stream.token().text);
    }
    out
}

/// Chinese characters and character bigrams.
fn han_grams(han: &str, out: &mut Vec<String>) {
    let chars: Vec<char> = han.chars().collect();
    out.extend(chars.iter().map(char::to_string));
    for pair in chars.windows(2) {
        out.push(pair.iter().collect());
    }
}

/// Pinyin syllable bigrams (tones dropped); a lone syllable is its own term.
fn han_sounds(han: &str, out: &mut Vec<String>) {
    let syllables: Vec<&str> = han
        .chars()
        .map(|c| c.to_pinyin().map(|p| p.plain()).unwrap_or("?"))
        .collect();
    if syllables.len() == 1 {
        out.push(syllables[0].to_owned());
    }
    for pair in syllables.windows(2) {
        out.push(format!("{}_{}", pair[0], pair[1]));
    }
}

/// Character trigrams of a Latin word with boundary marks.
fn latin_grams(word: &str, out: &mut Vec<String>) {
    let padded: Vec<char> = std::iter::once('^')
        .chain(word.chars())
        .chain(std::iter::once('$'))
        .collect();
    for tri in padded.windows(3) {
        out.push(tri.iter().collect());
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Run<'a> {
    Han(&'a str),
    Word(&'a str),
}

/// The byte offsets of the character boundaries of `text`, both ends
/// included: characters `i..j` are `&text[b[i]..b[j]]`.
pub(crate) fn char_bounds(text: &str) -> Vec<usize> {
    text.char_indices()
        .map(|(i, _)| i)
        .chain(std::iter::once(text.len()))
        .collect()
}

/// Whether `c` is a Chinese (Han) character: the CJK unified ideographs,
/// extension A, the compatibility ideographs and the supplementary planes'
/// extensions. The one definition the matcher and the bot share.
pub fn is_han(c: char) -> bool {
    matches!(c,
        '\u{3400}'..='\u{4DBF}'
        | '\u{4E00}'..='\u{9FFF}'
        | '\u{F900}'..='\u{FAFF}'
        | '\u{20000}'..='\u{2EBEF}'
        | '\u{30000}'..='\u{323AF}')
}

/// Splits into Chinese runs and runs of other letters/digits; everything
/// else (spaces, punctuation, symbols, emoji) separates.
fn split_runs(text: &str) -> Vec<Run<'_>> {
    #[derive(PartialEq, Clone, Copy)]
    enum Kind {
        Han,
        Word,
        Other,
    }
    let kind = |c: char| {
        if is_han(c) {
            Kind::Han
        } else if c.is_alphanumeric() {
            Kind::Word
        } else {
            Kind::Other
        }
    };
    let mut runs = Vec::new();
    let mut start = 0;
    let mut current = Kind::Other;
    for (i, c) in text.char_indices() {
        let k = kind(c);
        if k != current {
            match current {
                Kind::Han => runs.push(Run::Han(&text[start..i])),
                Kind::Word => runs.push(Run::Word(&text[start..i])),
                Kind::Other => {}
            }
            start = i;
            current = k;
        }
    }
    match current {
        Kind::Han => runs.push(Run::Han(&text[start..])),
        Kind::Word => runs.push(Run::Word(&text[start..])),
        Kind::Other => {}
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mixed_text_splits_into_chinese_and_latin_runs() {
        assert_eq!(
            split_runs("usdt提币一直pending!"),
            [
                Run::Word("usdt"),
                Run::Han("提币一直"),
                Run::Word("pending")
            ]
        );
    }

    #[test]
    fn the_plain_cut_is_jiebas_cut_of_each_chinese_run() {
        let analyzer = Analyzer::new(&[]);
        for text in [
            "中华人民共和国成立了",
            "提币一直pending怎么办",
            "充币没有到账 我的usdt呢",
        ] {
            let terms = analyzer.analyze_normalized(text);
            let expected: Vec<String> = split_runs(text)
                .iter()
                .filter_map(|run| match *run {
                    Run::Han(han) => Some(han),
                    Run::Word(_) => None,
                })
                .flat_map(|han| JIEBA.cut(han, true))
                .map(|t| t.word.to_owned())
                .collect();
            assert_eq!(terms.cut, expected, "{text}");
        }
    }

    #[test]
    fn homophones_share_sounds() {
        let a = Analyzer::new(&[]);
        assert_eq!(a.analyze("冲币").sounds, a.analyze("充币").sounds);
        assert_eq!(a.analyze("体现").sounds, a.analyze("提现").sounds);
    }

    #[test]
    fn english_is_stemmed_without_stop_words() {
        let a = Analyzer::new(&[]);
        assert_eq!(
            a.analyze("The withdrawals are pending").words,
            ["withdraw", "pend"]
        );
    }

    #[test]
    fn synonym_groups_add_one_shared_term() {
        let a = Analyzer::new(&[vec!["提币".into(), "cash out".into(), "withdraw".into()]]);
        assert!(a.analyze("怎么提币").words.contains(&"~syn0".to_string()));
        assert!(
            a.analyze("how to cash out")
                .words
                .contains(&"~syn0".to_string())
        );
        assert!(
            a.analyze("Withdrawing")
                .words
                .contains(&"~syn0".to_string())
        );
        assert!(!a.analyze("cash").words.contains(&"~syn0".to_string()));
    }
}
