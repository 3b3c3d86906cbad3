//! Seed phrases: runs of BIP-39 words (English words, or Chinese
//! characters set apart), or a shorter run right after a cue such as
//! "seed" or "助记词". Kept apart from the other secrets because the word
//! lists and the run finder are the largest part of masking.

use super::*;

pub(super) static BIP39: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    BIP39_ENGLISH
        .lines()
        .map(str::trim)
        .filter(|w| !w.is_empty())
        .collect()
});
static WORD: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"[A-Za-z]+").expect("valid regex"));
/// What may stand between two words of a pasted phrase: spaces, commas,
/// numbering ("1. abandon 2. ability", "(3)").
static WORD_GAP: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[\s,，、;；.:：()（）#\-0-9]{1,12}$").expect("valid regex"));

const SEED_CUES: &[&str] = &[
    "seed",
    "mnemonic",
    "recovery phrase",
    "secret phrase",
    "backup phrase",
    "助记词",
    "助記詞",
    "恢复短语",
];

/// The official Chinese BIP-39 wordlists (simplified and traditional), 2048
/// single characters each, one per line.
///
/// Provenance: copied from the PyPI package `mnemonic` 0.21 (Trezor's
/// reference implementation of BIP-39, MIT; `mnemonic/wordlist/`), which
/// carries the lists of the BIP-39 repository; SHA-256 of the simplified
/// list 5c5942792bd8340cb8b27cd592f1015edf56a8c5b26276ee18a482428e7c5726,
/// of the traditional one
/// 417b26b3d8500a4ae3d59717d7011952db6fc2fb84b807f3f94ac734e89c1b5f. (Its
/// English list is byte for byte [`BIP39_ENGLISH`].)
pub const BIP39_CHINESE: [&str; 2] = [
    include_str!("../bip39-chinese-simplified.txt"),
    include_str!("../bip39-chinese-traditional.txt"),
];

static BIP39_HAN: LazyLock<HashSet<char>> = LazyLock::new(|| {
    BIP39_CHINESE
        .iter()
        .flat_map(|list| list.lines())
        .filter_map(|w| w.trim().chars().next())
        .collect()
});

/// Chinese seed phrases: characters of the Chinese lists each set apart
/// (spaces, commas, numbering: "的 一 是 …", "1.的 2.一"), twelve or more
/// in a row, or six or more right after a seed cue. The 2048 characters
/// are the most common ones, so characters written together, as Chinese
/// is written, are never taken for a phrase: only characters set apart
/// one by one.
pub(super) fn chinese_seed_phrases(text: &str) -> Vec<Range<usize>> {
    let markers = marker_spans(text);
    // Tokens: maximal runs of what may not stand between words.
    let is_gap =
        |c: char| c.is_whitespace() || c.is_ascii_digit() || ",，、;；.:：()（）#-".contains(c);
    let mut tokens: Vec<Range<usize>> = Vec::new();
    let mut start = None;
    for (at, c) in text.char_indices() {
        match (is_gap(c), start) {
            (true, Some(s)) => {
                tokens.push(s..at);
                start = None;
            }
            (false, None) => start = Some(at),
            _ => {}
        }
    }
    if let Some(s) = start {
        tokens.push(s..text.len());
    }
    let words = tokens.into_iter().map(|token| {
        let mut chars = text[token.clone()].chars();
        let listed = match (chars.next(), chars.next()) {
            (Some(c), None) => BIP39_HAN.contains(&c) && !inside(&markers, token.start),
            _ => false,
        };
        (token, listed)
    });
    seed_runs(text, &markers, &ascii_lower(text), words)
}

pub(super) fn seed_phrases(text: &str) -> Vec<Range<usize>> {
    let markers = marker_spans(text);
    let lower = ascii_lower(text);
    let words = WORD.find_iter(text).map(|word| {
        let listed = !inside(&markers, word.start()) && BIP39.contains(&lower[word.range()]);
        (word.range(), listed)
    });
    seed_runs(text, &markers, &lower, words)
}

/// The seed phrases among `words` (each with whether it is on a seed
/// wordlist): listed words set apart by nothing but word gaps, twelve or
/// more in a row, or six or more within 40 characters after a seed cue.
/// `lower` is `text` lowercased (ASCII), `markers` its mask markers.
fn seed_runs(
    text: &str,
    markers: &[Range<usize>],
    lower: &str,
    words: impl IntoIterator<Item = (Range<usize>, bool)>,
) -> Vec<Range<usize>> {
    let cues = cue_hits(lower, SEED_CUES, markers);
    let mut spans = Vec::new();
    let mut run: Vec<Range<usize>> = Vec::new();
    let mut close_run = |run: &mut Vec<Range<usize>>| {
        if let (Some(first), Some(last)) = (run.first(), run.last()) {
            let cued = cues
                .iter()
                .any(|c| c.end <= first.start && char_distance(text, c.end, first.start) <= 40);
            if run.len() >= 12 || (cued && run.len() >= 6) {
                spans.push(first.start..last.end);
            }
        }
        run.clear();
    };
    for (word, listed) in words {
        if !listed {
            close_run(&mut run);
            continue;
        }
        if let Some(prev) = run.last()
            && !WORD_GAP.is_match(&text[prev.end..word.start])
        {
            close_run(&mut run);
        }
        run.push(word);
    }
    close_run(&mut run);
    spans
}
