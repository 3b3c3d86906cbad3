//! Text normalisation: the one place that says when two writings of a
//! question are the same text.
//!
//! [`fold`] is the base every comparison of questions starts from: NFKC
//! (full-width letters and digits, compatibility forms), lower case,
//! traditional → simplified Chinese. On top of it, two forms for two
//! purposes:
//! - [`normalize`], what the index and the queries are analysed from: the
//!   first [`MAX_TEXT_CHARS`] characters, folded, with identifiers users
//!   paste (tx hashes, UIDs, order numbers, e-mail addresses, links)
//!   removed, since they differ in every message and say nothing about the
//!   question. Spacing and punctuation stay: the analyzer reads them;
//! - [`question_key`], the form in which two questions are *the same
//!   question* (the FAQ's near-duplicate check, and the bot's suggestions
//!   grouping what users asked): folded, letters and digits only, so
//!   spacing and punctuation do not count. It keeps identifiers and reads
//!   the whole text: "order 12345 missing" and "order 67890 missing" are
//!   different wordings to an admin, not one.

use unicode_normalization::UnicodeNormalization;

/// How much of a text the matcher reads: its first 4,096 characters.
/// Telegram cuts a message at 4,096, so nothing a user sends through it is
/// cut; longer texts (a webhook body of up to 2 MB, the command line) are
/// matched on their start, and a query's cost stays bounded.
pub(crate) const MAX_TEXT_CHARS: usize = 4096;

/// The part of `text` the matcher reads: its first [`MAX_TEXT_CHARS`]
/// characters.
pub(crate) fn readable(text: &str) -> &str {
    match text.char_indices().nth(MAX_TEXT_CHARS) {
        Some((end, _)) => &text[..end],
        None => text,
    }
}

/// NFKC, lower case, traditional → simplified Chinese: the base of every
/// form in which questions are compared.
pub fn fold(text: &str) -> String {
    let folded: String = text.nfkc().flat_map(char::to_lowercase).collect();
    fast2s::convert(&folded)
}

/// [`fold`]ed, identifiers removed, of the part of `text` the matcher
/// reads (see [`readable`]).
///
/// Removed pieces are replaced by a space so the words around them stay apart.
pub(crate) fn normalize(text: &str) -> String {
    strip_identifiers(&fold(readable(text)))
}

/// The form in which two questions are the same question: NFKC, lower
/// case, traditional → simplified Chinese, letters and digits only (no
/// punctuation, symbols or whitespace).
pub fn question_key(text: &str) -> String {
    fold(text).chars().filter(|c| c.is_alphanumeric()).collect()
}

/// Drops links, e-mail addresses, hex and base58 strings, and long digit runs.
fn strip_identifiers(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, chunk) in text.split_whitespace().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        if is_link(chunk) || is_email(chunk) {
            continue;
        }
        strip_ascii_runs(chunk, &mut out);
    }
    out
}

fn is_link(chunk: &str) -> bool {
    let lower = chunk.trim_start_matches(|c: char| !c.is_ascii_alphanumeric());
    lower.starts_with("http://") || lower.starts_with("https://") || lower.starts_with("www.")
}

fn is_email(chunk: &str) -> bool {
    match chunk.split_once('@') {
        Some((user, domain)) => {
            !user.is_empty()
                && domain.contains('.')
                && domain
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphanumeric())
        }
        None => false,
    }
}

/// Copies `chunk` to `out`, replacing identifier-like ASCII alphanumeric runs
/// with a space. A run is an identifier when it is
/// - five or more digits (UIDs, order numbers, amounts with many digits),
/// - `0x` followed by hex digits (addresses, tx hashes),
/// - sixteen or more characters mixing letters and digits (base58/hex hashes).
fn strip_ascii_runs(chunk: &str, out: &mut String) {
    let mut rest = chunk;
    while !rest.is_empty() {
        let start = rest
            .find(|c: char| c.is_ascii_alphanumeric())
            .unwrap_or(rest.len());
        out.push_str(&rest[..start]);
        rest = &rest[start..];
        let end = rest
            .find(|c: char| !c.is_ascii_alphanumeric())
            .unwrap_or(rest.len());
        let run = &rest[..end];
        if is_identifier(run) {
            out.push(' ');
        } else {
            out.push_str(run);
        }
        rest = &rest[end..];
    }
}

fn is_identifier(run: &str) -> bool {
    let digits = run.bytes().filter(u8::is_ascii_digit).count();
    if digits == run.len() {
        return run.len() >= 5;
    }
    if let Some(hex) = run.strip_prefix("0x")
        && hex.len() >= 8
        && hex.bytes().all(|b| b.is_ascii_hexdigit())
    {
        return true;
    }
    run.len() >= 16 && digits > 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_width_upper_case_and_traditional_fold_together() {
        assert_eq!(normalize("ＵＳＤＴ提幣"), "usdt提币");
        assert_eq!(normalize("Withdraw"), "withdraw");
    }

    #[test]
    fn only_the_first_4096_characters_are_read() {
        let text = format!("提币{}", "a".repeat(1_000_000));
        let read = normalize(&text);
        assert_eq!(read.chars().count(), MAX_TEXT_CHARS);
        assert!(read.starts_with("提币aaa"));
        // A Telegram message (at most 4,096 characters) is read whole.
        let message = "充".repeat(MAX_TEXT_CHARS);
        assert_eq!(normalize(&message), message);
    }

    #[test]
    fn a_question_key_folds_width_case_script_and_punctuation() {
        assert_eq!(
            question_key("Ｄｅｐｏｓｉｔ  NOT credited!"),
            "depositnotcredited"
        );
        assert_eq!(question_key("提幣失敗？"), "提币失败");
        assert_eq!(question_key("充币 没有 到账。"), "充币没有到账");
        assert_eq!(question_key("?!… "), "");
        // Identifiers stay: two orders are two questions to an admin.
        assert_eq!(question_key("order 12345 missing"), "order12345missing");
    }

    #[test]
    fn identifiers_are_removed_but_words_stay() {
        let text = "UID 527180934 tx 0x5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060 没到账";
        assert_eq!(
            normalize(text).split_whitespace().collect::<Vec<_>>(),
            ["uid", "tx", "没到账"]
        );
        assert_eq!(
            normalize("mail me a@b.com or see https://x.io/a?b=1 2fa"),
            "mail me  or see  2fa"
        );
        assert_eq!(normalize("订单号12345678没成交"), "订单号 没成交");
        assert_eq!(normalize("2024年"), "2024年");
    }
}
