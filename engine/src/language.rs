//! Which language a user writes in: from the script of their text, else
//! from Telegram's `language_code`. A language is a short lowercase tag
//! (`zh`, `en`), as the FAQ's are.

/// The language a text is written in, when the script says so: any Han
/// character means Chinese; otherwise a word of two or more Latin letters
/// means English. Tokens with digits (tx hashes, order ids) and anything
/// else (emoji, other scripts) say nothing.
pub fn detect_language(text: &str) -> Option<&'static str> {
    if text.chars().any(matcher::is_han) {
        return Some("zh");
    }
    (english_words(text) >= 1).then_some("en")
}

/// Words of two or more ASCII letters and nothing else.
pub(crate) fn english_words(text: &str) -> usize {
    text.split(|c: char| {
        c.is_whitespace() || matches!(c, ',' | '.' | '!' | '?' | ';' | ':' | '"' | '(' | ')')
    })
    .filter(|w| w.len() >= 2 && w.chars().all(|c| c.is_ascii_alphabetic() || c == '\''))
    .count()
}

/// Telegram's `language_code` (`zh-hans`, `en-US`) to our short tag.
pub fn normalize_language_code(code: &str) -> Option<String> {
    let primary = code.split(['-', '_']).next()?.trim().to_ascii_lowercase();
    (!primary.is_empty() && primary.chars().all(|c| c.is_ascii_lowercase())).then_some(primary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_decides_the_language_before_telegram_does() {
        assert_eq!(detect_language("USDT提币一直pending"), Some("zh"));
        assert_eq!(detect_language("my deposit"), Some("en"));
        assert_eq!(detect_language("123456"), None);
        assert_eq!(
            detect_language(&format!("0x{}", "ab".repeat(32))),
            None,
            "a tx hash is not English"
        );
        assert_eq!(normalize_language_code("zh-hans").as_deref(), Some("zh"));
        assert_eq!(normalize_language_code(""), None);
    }
}
