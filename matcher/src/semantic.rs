//! Word meaning for English text: static word-piece vectors distilled from
//! the sentence-embedding model all-MiniLM-L6-v2 (Apache-2.0), shipped as
//! data in `matcher/data/` (see its README for the source, the licence and
//! the script that rebuilt it).
//!
//! A text's vector is the mean of its word-piece vectors, unit length; two
//! texts' cosine says how close they are in meaning even when they share no
//! word ("my card hasn't come" / "when will the card be delivered"). The
//! vectors carry their word's weight (rare pieces count more), so no idf is
//! applied here. Embedding a query is a tokenisation and a few hundred
//! additions: microseconds, against milliseconds for running the model.
//!
//! Chinese has a table of its own (`zh-vectors.bin`: jieba words and single
//! characters, static vectors from multilingual-e5-small, MIT): a text's
//! Chinese vector is the mean of its jieba words' vectors (a word the table
//! lacks: its longest known parts). The two tables are different spaces,
//! never compared with each other; [`meaning_and_words`] embeds a text in
//! one of them: from its Chinese words if it has any, else from its Latin
//! words.

use std::sync::LazyLock;

use unicode_normalization::UnicodeNormalization;

use crate::Error;
use crate::analyze::is_stop_word;
use crate::fxmap::FxMap;

/// The shipped table (format in `matcher/data/README.md`).
static TABLE_BYTES: &[u8] = include_bytes!("../data/en-vectors.bin");

/// The shipped table, parsed once per process.
pub(crate) static VECTORS: LazyLock<WordVectors> = LazyLock::new(|| {
    WordVectors::parse(TABLE_BYTES).expect("the shipped word-vector table is well-formed")
});

/// The Chinese table (format and source in `matcher/data/README.md`).
static ZH_TABLE_BYTES: &[u8] = include_bytes!("../data/zh-vectors.bin");

/// The Chinese table, parsed once per process.
pub(crate) static ZH_VECTORS: LazyLock<WordVectors> = LazyLock::new(|| {
    WordVectors::parse(ZH_TABLE_BYTES).expect("the shipped Chinese vector table is well-formed")
});

/// Which table a meaning vector comes from: vectors of different spaces
/// are never compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Space {
    English = 0,
    Chinese = 1,
}

/// What a text means, from one walk over its words: its meaning vector,
/// and its content words' rows for the word alignment (see
/// `WordVectors::alignment`).
///
/// The meaning vector of `text` (normalised) is the unit-length mean of
/// all its words' rows: in the Chinese space when it has any Chinese
/// character, from its Chinese words only; else in the English one. The
/// Latin words of a mixed message ("USDT提币一直pending") are mostly a name
/// (USDT, KYC, API) that says little of what is asked: in the English space
/// two such messages naming the same thing would look identical in
/// meaning. (Measured on `faq-data`: splitting by the main language
/// instead, Chinese only when its characters outnumber the Latin words two
/// to one, answered 137 of its questions against 143.)
///
/// The content words' rows are in the same space (Chinese: a row per jieba
/// word or known part; English: a row per word piece); punctuation and stop
/// words are left out of them: "我的" or "my" would align with themselves
/// in nearly every pair of questions and say nothing about what is asked.
///
/// `cut`: the text's Chinese words as jieba cuts them (`Terms::cut`: the
/// analysis has cut them already, and cutting is most of the cost); empty
/// exactly when the text has no Chinese character.
pub(crate) fn meaning_and_words(
    text: &str,
    cut: &[String],
) -> (Option<(Space, Vec<f32>)>, Vec<u32>) {
    let mut rows: Vec<(u32, bool)> = Vec::new();
    let mut add = |row, content| rows.push((row, content));
    let (space, has_word) = if !cut.is_empty() {
        ZH_VECTORS.word_rows(cut.iter().map(String::as_str), &mut add);
        (Space::Chinese, true)
    } else {
        (Space::English, VECTORS.text_rows(text, &mut add))
    };
    let meaning = if has_word {
        table(space)
            .mean(|add| rows.iter().for_each(|&(row, _)| add(row)))
            .map(|vector| (space, vector))
    } else {
        None
    };
    let words = rows
        .into_iter()
        .filter(|&(_, content)| content)
        .map(|(row, _)| row)
        .collect();
    (meaning, words)
}

/// The table of a meaning space.
pub(crate) fn table(space: Space) -> &'static WordVectors {
    match space {
        Space::English => &VECTORS,
        Space::Chinese => &ZH_VECTORS,
    }
}

/// Words longer than this are one unknown piece (as in BERT).
const MAX_WORD_CHARS: usize = 100;

/// A word-piece vocabulary with one quantised vector per piece.
pub(crate) struct WordVectors {
    dims: usize,
    scale: f32,
    /// Piece → row. Continuation pieces keep their `##` prefix.
    rows: FxMap<String, u32>,
    /// The row of `[UNK]`: a word no piece covers (as in BERT).
    unknown: Option<u32>,
    /// `dims` values per row.
    values: Vec<i8>,
    /// Per row: one over its length (0 for a row of zeros), so a cosine
    /// is an integer dot product of two rows times two of these.
    inverse_norms: Vec<f32>,
    /// The longest piece, in bytes (bounds the greedy match).
    longest: usize,
}

impl WordVectors {
    /// Reads the table: `HDWV`, version 1, pieces, dims, scale, then per
    /// piece its length-prefixed UTF-8 text and `dims` signed bytes.
    pub fn parse(bytes: &[u8]) -> Result<WordVectors, Error> {
        let mut at = 0usize;
        let mut take = |n: usize| -> Result<&[u8], Error> {
            let slice = bytes
                .get(at..at + n)
                .ok_or(Error::WordVectors("truncated"))?;
            at += n;
            Ok(slice)
        };
        if take(4)? != b"HDWV" {
            return Err(Error::WordVectors("not a word-vector table"));
        }
        let u32_at = |b: &[u8]| u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        if u32_at(take(4)?) != 1 {
            return Err(Error::WordVectors("unknown version"));
        }
        let count = u32_at(take(4)?) as usize;
        let dims = u32_at(take(4)?) as usize;
        let s = take(4)?;
        let scale = f32::from_le_bytes([s[0], s[1], s[2], s[3]]);
        if dims == 0 || !scale.is_finite() || scale <= 0.0 {
            return Err(Error::WordVectors("bad dimensions or scale"));
        }
        let mut rows = FxMap::with_capacity_and_hasher(count, Default::default());
        let mut values = Vec::with_capacity(count * dims);
        let mut longest = 0;
        for row in 0..count {
            let len = take(1)?[0] as usize;
            let piece = std::str::from_utf8(take(len)?)
                .map_err(|_| Error::WordVectors("a piece is not UTF-8"))?
                .to_owned();
            longest = longest.max(piece.len());
            values.extend(take(dims)?.iter().map(|&b| b as i8));
            rows.insert(piece, row as u32);
        }
        let unknown = rows.get("[UNK]").copied();
        let inverse_norms = values
            .chunks_exact(dims)
            .map(|row| match dot_i8(row, row) {
                0 => 0.0,
                square => (square as f32).sqrt().recip(),
            })
            .collect();
        Ok(WordVectors {
            unknown,
            dims,
            scale,
            rows,
            values,
            inverse_norms,
            longest,
        })
    }

    /// Whether `word` is a whole word of the vocabulary (a real word, as
    /// far as the model's vocabulary goes: the spelling corrector leaves
    /// it alone).
    pub fn is_word(&self, word: &str) -> bool {
        self.rows.contains_key(word)
    }

    pub fn dims(&self) -> usize {
        self.dims
    }

    /// The unit-length meaning vector of the Latin words of `text` (already
    /// normalised: lower case, NFKC), or `None` when it has no Latin word
    /// the table knows.
    #[cfg(test)]
    pub fn embed(&self, text: &str) -> Option<Vec<f32>> {
        let mut has_word = false;
        let vector = self.mean(|add| has_word = self.text_rows(text, &mut |row, _| add(row)));
        vector.filter(|_| has_word)
    }

    /// The rows of the Latin words of `text` (their word pieces), each with
    /// whether it belongs to a content word (not a punctuation mark, not a
    /// stop word); whether it has a word of letters.
    fn text_rows(&self, text: &str, add: &mut dyn FnMut(u32, bool)) -> bool {
        let mut has_word = false;
        let mut scratch = String::new();
        for word in words(text) {
            has_word |= word.chars().any(char::is_alphabetic);
            let content = word.chars().any(char::is_alphanumeric) && !is_stop_word(word);
            scratch.clear();
            scratch.extend(word.nfd().filter(|c| !is_combining_mark(*c)));
            self.word_pieces(&scratch, |row| add(row, content));
        }
        has_word
    }

    /// The rows of whole `words` (a word the table lacks: its longest known
    /// parts), each with whether its word is a content word (not a stop
    /// word).
    fn word_rows<'a>(&self, words: impl Iterator<Item = &'a str>, add: &mut dyn FnMut(u32, bool)) {
        for word in words {
            let content = !is_stop_word(word);
            match self.rows.get(word) {
                Some(&row) => add(row, content),
                None => self.known_parts(word, &mut |row| add(row, content)),
            }
        }
    }

    /// How well the words of two texts match in meaning (their rows):
    /// each word's best cosine among the other text's words, averaged over
    /// each text, then the harmonic mean of the two averages (the
    /// symmetric "word alignment" of unsupervised sentence similarity).
    /// `None` when either has no word (a row of zeros is no word).
    pub fn alignment(&self, a: &[u32], b: &[u32]) -> Option<f32> {
        let known = |rows: &[u32]| -> Vec<(&[i8], f32)> {
            rows.iter()
                .map(|&row| (self.row(row), self.inverse_norms[row as usize]))
                .filter(|&(_, inverse)| inverse > 0.0)
                .collect()
        };
        let (a, b) = (known(a), known(b));
        if a.is_empty() || b.is_empty() {
            return None;
        }
        let mut best_b = vec![f32::NEG_INFINITY; b.len()];
        let mut sum_a = 0.0f32;
        for &(x, x_inverse) in &a {
            let mut best = f32::NEG_INFINITY;
            for (&(y, y_inverse), slot) in b.iter().zip(best_b.iter_mut()) {
                let c = dot_i8(x, y) as f32 * x_inverse * y_inverse;
                best = best.max(c);
                *slot = slot.max(c);
            }
            sum_a += best;
        }
        let (ra, rb) = (
            sum_a / a.len() as f32,
            best_b.iter().sum::<f32>() / b.len() as f32,
        );
        Some(if ra + rb <= 0.0 {
            0.0
        } else {
            2.0 * ra * rb / (ra + rb)
        })
    }

    /// The `dims` values of a row.
    fn row(&self, row: u32) -> &[i8] {
        let start = row as usize * self.dims;
        &self.values[start..start + self.dims]
    }

    /// The unit-length mean of the rows of whole `words` (Chinese words as
    /// jieba cuts them); a word the table lacks counts as its longest known
    /// parts (its characters at worst).
    /// `None` without any known row.
    #[cfg(test)]
    pub fn embed_words<'a>(&self, words: impl Iterator<Item = &'a str>) -> Option<Vec<f32>> {
        self.mean(|add| self.word_rows(words, &mut |row, _| add(row)))
    }

    /// The rows of a word the table lacks: its longest known parts, left to
    /// right (a part of one character is that character's row).
    fn known_parts(&self, word: &str, add: &mut dyn FnMut(u32)) {
        let b = crate::analyze::char_bounds(word);
        let n = b.len() - 1;
        let mut i = 0;
        while i < n {
            // The longest part starting at character `i` that has a row.
            let found = (i + 1..=n)
                .rev()
                .find_map(|j| self.rows.get(&word[b[i]..b[j]]).map(|&row| (j, row)));
            match found {
                Some((j, row)) => {
                    add(row);
                    i = j;
                }
                None => i += 1,
            }
        }
    }

    /// The unit-length mean of the rows `rows` hands to its callback, or
    /// `None` if it hands none (or they cancel out).
    fn mean(&self, rows: impl FnOnce(&mut dyn FnMut(u32))) -> Option<Vec<f32>> {
        let mut sum = vec![0i32; self.dims];
        let mut count = 0usize;
        rows(&mut |row: u32| {
            for (s, &v) in sum.iter_mut().zip(self.row(row)) {
                *s += i32::from(v);
            }
            count += 1;
        });
        if count == 0 {
            return None;
        }
        let mut vector: Vec<f32> = sum.iter().map(|&s| s as f32 * self.scale).collect();
        let norm = vector.iter().map(|v| v * v).sum::<f32>().sqrt();
        if norm <= 0.0 {
            return None;
        }
        vector.iter_mut().for_each(|v| *v /= norm);
        Some(vector)
    }

    /// Greedy longest-match-first word pieces of one word (BERT's
    /// WordPiece); a word with a part no piece covers is `[UNK]`.
    fn word_pieces(&self, word: &str, mut found: impl FnMut(u32)) {
        if word.chars().count() > MAX_WORD_CHARS {
            self.unknown.into_iter().for_each(found);
            return;
        }
        let mut matched: Vec<u32> = Vec::new();
        let mut start = 0;
        let mut key = String::new();
        while start < word.len() {
            let mut end = word.len().min(start + self.longest);
            while !word.is_char_boundary(end) {
                end -= 1;
            }
            let mut row = None;
            while end > start {
                key.clear();
                if start > 0 {
                    key.push_str("##");
                }
                key.push_str(&word[start..end]);
                if let Some(&r) = self.rows.get(key.as_str()) {
                    row = Some(r);
                    break;
                }
                end -= 1;
                while !word.is_char_boundary(end) {
                    end -= 1;
                }
            }
            match row {
                Some(r) => matched.push(r),
                None => {
                    self.unknown.into_iter().for_each(found);
                    return;
                }
            }
            start = end;
        }
        matched.into_iter().for_each(&mut found);
    }
}

/// Latin-script words and single punctuation marks, as BERT's basic
/// tokeniser splits them; Chinese and other scripts without spaces are
/// skipped (the table does not know them).
fn words(text: &str) -> impl Iterator<Item = &str> {
    let mut out = Vec::new();
    for chunk in text.split_whitespace() {
        let mut start = None;
        for (i, c) in chunk.char_indices() {
            let splits = is_punctuation(c) || crate::analyze::is_han(c);
            if splits {
                if let Some(s) = start.take() {
                    out.push(&chunk[s..i]);
                }
                if is_punctuation(c) {
                    out.push(&chunk[i..i + c.len_utf8()]);
                }
            } else if start.is_none() {
                start = Some(i);
            }
        }
        if let Some(s) = start {
            out.push(&chunk[s..]);
        }
    }
    out.into_iter()
}

/// BERT's punctuation: ASCII symbols and Unicode punctuation.
fn is_punctuation(c: char) -> bool {
    c.is_ascii_punctuation()
        || matches!(c, '\u{2000}'..='\u{206F}' | '\u{3000}'..='\u{303F}' | '\u{FF00}'..='\u{FF65}')
            && !c.is_alphanumeric()
            && !c.is_whitespace()
}

/// Accents are dropped after NFD (the model is uncased and accent-free).
fn is_combining_mark(c: char) -> bool {
    matches!(c, '\u{0300}'..='\u{036F}' | '\u{1AB0}'..='\u{1AFF}' | '\u{1DC0}'..='\u{1DFF}' | '\u{20D0}'..='\u{20FF}' | '\u{FE20}'..='\u{FE2F}')
}

/// `vector - mean`, unit length again (`None` if nothing is left).
pub(crate) fn centre(vector: &[f32], mean: &[f32]) -> Option<Vec<f32>> {
    let mut out: Vec<f32> = vector.iter().zip(mean).map(|(v, m)| v - m).collect();
    let norm = out.iter().map(|v| v * v).sum::<f32>().sqrt();
    if norm.is_nan() || norm <= 1e-6 {
        return None;
    }
    out.iter_mut().for_each(|v| *v /= norm);
    Some(out)
}

/// Cosine of two unit vectors.
pub(crate) fn cosine(a: &[f32], b: &[f32]) -> f32 {
    dot(a, b)
}

/// Dot product of two rows of a table (exact: a sum of a few thousand
/// products of two `i8` fits an `i32`).
fn dot_i8(a: &[i8], b: &[i8]) -> i32 {
    // Sixteen running sums, so the compiler can use vector instructions.
    let mut sums = [0i32; 16];
    let (a16, b16) = (a.chunks_exact(16), b.chunks_exact(16));
    let tail: i32 = a16
        .remainder()
        .iter()
        .zip(b16.remainder())
        .map(|(&x, &y)| i32::from(x) * i32::from(y))
        .sum();
    for (x, y) in a16.zip(b16) {
        for k in 0..16 {
            sums[k] += i32::from(x[k]) * i32::from(y[k]);
        }
    }
    sums.iter().sum::<i32>() + tail
}

/// Dot product of two vectors of the same length.
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    // Eight running sums, so the compiler can use vector instructions.
    let mut sums = [0.0f32; 8];
    let (a8, b8) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = a8
        .remainder()
        .iter()
        .zip(b8.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in a8.zip(b8) {
        for k in 0..8 {
            sums[k] += x[k] * y[k];
        }
    }
    sums.iter().sum::<f32>() + tail
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A text's meaning vector (see `meaning_and_words`).
    fn meaning(text: &str, cut: &[String]) -> Option<(Space, Vec<f32>)> {
        meaning_and_words(text, cut).0
    }

    /// A text's content words' rows and their space; none without any.
    fn word_rows(text: &str, cut: &[String]) -> Option<(Space, Vec<u32>)> {
        let space = if cut.is_empty() {
            Space::English
        } else {
            Space::Chinese
        };
        let (_, words) = meaning_and_words(text, cut);
        (!words.is_empty()).then_some((space, words))
    }

    #[test]
    fn words_split_like_bert() {
        let w: Vec<&str> = words("i can't top-up 充币 usdt!").collect();
        assert_eq!(w, ["i", "can", "'", "t", "top", "-", "up", "usdt", "!"]);
    }

    #[test]
    fn paraphrases_are_closer_than_unrelated_questions() {
        let v = &*VECTORS;
        let a = v.embed("my card has not arrived yet").unwrap();
        let b = v.embed("when will i receive the card").unwrap();
        let c = v.embed("what is the exchange rate for euros").unwrap();
        assert!(cosine(&a, &b) > cosine(&a, &c) + 0.1);
    }

    #[test]
    fn a_damaged_table_is_an_error_not_a_panic() {
        assert!(WordVectors::parse(b"").is_err());
        assert!(WordVectors::parse(b"HDWX\x01\0\0\0").is_err());
        let whole = TABLE_BYTES;
        assert!(WordVectors::parse(&whole[..whole.len() - 1]).is_err());
        let mut bad_scale = whole.to_vec();
        bad_scale[16..20].copy_from_slice(&f32::NAN.to_le_bytes());
        assert!(WordVectors::parse(&bad_scale).is_err());
    }

    #[test]
    fn a_word_no_piece_covers_is_unknown_not_dropped() {
        // Accents are dropped, so "café" is "cafe"; a word of pieces the
        // table lacks still counts (as [UNK]) rather than vanishing.
        let v = &*VECTORS;
        assert_eq!(v.embed("café"), v.embed("cafe"));
        assert!(v.embed("ẞ𝔵𝔶").is_some());
    }

    #[test]
    fn chinese_alone_has_no_english_vector() {
        assert!(VECTORS.embed("充币没有到账").is_none());
        assert!(VECTORS.embed("充币没有到账?").is_none());
        assert!(VECTORS.embed("usdt 充币").is_some());
    }

    #[test]
    fn chinese_paraphrases_are_closer_than_unrelated_questions() {
        let zh = |text: &str| meaning_of(text).map(|(_, v)| v);
        let a = zh("充币没有到账怎么办").unwrap();
        let b = zh("充值一直不到账").unwrap();
        let c = zh("怎么修改登录密码").unwrap();
        assert!(cosine(&a, &b) > cosine(&a, &c) + 0.1);
        assert!(ZH_VECTORS.embed_words(["usdt", "?"].into_iter()).is_none());
    }

    fn aligned(a: &str, b: &str) -> f32 {
        let words = |text: &str| {
            let terms = crate::analyze::Analyzer::new(&[]).analyze_normalized(text);
            word_rows(text, &terms.cut).unwrap()
        };
        let ((space, a), (_, b)) = (words(a), words(b));
        table(space).alignment(&a, &b).unwrap()
    }

    #[test]
    fn paraphrases_align_word_by_word_better_than_unrelated_questions() {
        assert!((aligned("充币没有到账", "充币没有到账") - 1.0).abs() < 1e-4);
        assert!(
            aligned("充币没有到账怎么办", "充值一直不到账")
                > aligned("充币没有到账怎么办", "怎么修改登录密码")
        );
        assert!(
            aligned("my deposit has not arrived", "deposit not credited")
                > aligned("my deposit has not arrived", "how do i change my password")
        );
        let some_row = word_rows("deposit", &[]).unwrap().1;
        assert_eq!(VECTORS.alignment(&[], &some_row), None);
    }

    #[test]
    fn stop_words_take_no_part_in_the_alignment() {
        // Particles, pronouns and articles align with themselves in almost
        // any two questions: they are left out, so only what is asked
        // counts.
        assert!((aligned("我的充币没有到账吗", "充币没有到账") - 1.0).abs() < 1e-4);
        assert!((aligned("where is my card", "where is the card") - 1.0).abs() < 1e-4);
        assert!(word_rows("我的吗", &["我的".to_owned(), "吗".to_owned()]).is_none());
    }

    fn meaning_of(text: &str) -> Option<(Space, Vec<f32>)> {
        let terms = crate::analyze::Analyzer::new(&[]).analyze_normalized(text);
        meaning(text, &terms.cut)
    }

    #[test]
    fn a_chinese_word_the_table_lacks_counts_as_its_longest_known_parts() {
        let v = &*ZH_VECTORS;
        assert!(!v.is_word("今天天气") && v.is_word("今天") && v.is_word("天气"));
        assert_eq!(
            v.embed_words(["今天天气"].into_iter()),
            v.embed_words(["今天", "天气"].into_iter())
        );
        // No known part longer than one character: its characters.
        let chars = ["冲", "币"];
        assert!(chars.iter().all(|c| v.is_word(c)) && !v.is_word("冲币"));
        assert_eq!(
            v.embed_words(["冲币"].into_iter()),
            v.embed_words(chars.into_iter())
        );
    }

    #[test]
    fn a_text_with_chinese_is_embedded_in_the_chinese_space() {
        assert_eq!(meaning_of("充币没有到账").unwrap().0, Space::Chinese);
        assert_eq!(meaning_of("api 密钥怎么创建").unwrap().0, Space::Chinese);
        assert_eq!(
            meaning_of("my deposit has not arrived").unwrap().0,
            Space::English
        );
        assert_eq!(meaning_of("usdt 充币").unwrap().0, Space::Chinese);
        assert_eq!(meaning_of("usdt deposit").unwrap().0, Space::English);
        assert!(meaning_of("??").is_none());
    }
}
