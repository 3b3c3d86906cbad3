//! Telegram refuses texts over 4096 characters (counted in UTF-16 code
//! units) and captions over 1024. Long answers and transcripts are split
//! here, at the cleanest break available: a blank line, then a line break,
//! then a space, and only as a last resort between two characters (never
//! inside one).

/// Longest text Telegram accepts in one message.
pub const MESSAGE_LIMIT: usize = 4096;
/// Longest caption Telegram accepts on a photo, document, ...
pub const CAPTION_LIMIT: usize = 1024;

/// Length as Telegram counts it.
pub fn telegram_len(text: &str) -> usize {
    text.encode_utf16().count()
}

/// Splits `text` into pieces of at most `limit` UTF-16 units each. Breaks
/// are taken in the second half of a piece when possible, so no piece is
/// needlessly short; the whitespace at a break is dropped.
pub fn split_text(text: &str, limit: usize) -> Vec<String> {
    assert!(limit > 1, "a limit of one unit cannot hold every character");
    let mut pieces = Vec::new();
    let mut rest = text.trim_end();
    while telegram_len(rest) > limit {
        // Byte index of the longest prefix that fits.
        let mut units = 0;
        let mut fit = 0;
        for (index, c) in rest.char_indices() {
            if units + c.len_utf16() > limit {
                break;
            }
            units += c.len_utf16();
            fit = index + c.len_utf8();
        }
        let window = &rest[..fit];
        let half = window.len() / 2;
        let cut = ["\n\n", "\n", " "].iter().find_map(|sep| {
            window
                .rfind(sep)
                .filter(|&at| at >= half && at > 0)
                .map(|at| (at, sep.len()))
        });
        let (head, tail) = match cut {
            Some((at, len)) => (&rest[..at], &rest[at + len..]),
            None => (window, &rest[fit..]),
        };
        let head = head.trim_end();
        if !head.is_empty() {
            pieces.push(head.to_owned());
        }
        rest = tail.trim_start_matches(['\n', ' ']);
    }
    if !rest.is_empty() {
        pieces.push(rest.to_owned());
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_texts_stay_whole() {
        assert_eq!(split_text("hello", MESSAGE_LIMIT), vec!["hello"]);
        assert!(split_text("", MESSAGE_LIMIT).is_empty());
    }

    #[test]
    fn long_texts_break_at_paragraphs_then_lines_then_spaces() {
        let paragraph = "word ".repeat(500); // 2500 units
        let text = format!("{}\n\n{}", paragraph.trim(), paragraph.trim());
        let pieces = split_text(&text, MESSAGE_LIMIT);
        assert_eq!(pieces.len(), 2);
        assert_eq!(pieces[0], paragraph.trim());
        assert_eq!(pieces[1], paragraph.trim());

        let lines: Vec<String> = (0..600).map(|i| format!("line {i:04}")).collect();
        let pieces = split_text(&lines.join("\n"), MESSAGE_LIMIT);
        assert!(pieces.iter().all(|p| telegram_len(p) <= MESSAGE_LIMIT));
        assert_eq!(
            pieces.join("\n"),
            lines.join("\n"),
            "nothing lost at line breaks"
        );
        assert!(pieces[0].ends_with(&lines[pieces[0].lines().count() - 1]));
    }

    #[test]
    fn unbroken_text_is_cut_between_characters_counted_in_utf16() {
        // Each emoji is two UTF-16 units; Chinese characters are one.
        let text = "😀".repeat(3000);
        let pieces = split_text(&text, MESSAGE_LIMIT);
        assert!(pieces.iter().all(|p| telegram_len(p) <= MESSAGE_LIMIT));
        assert_eq!(pieces.concat(), text);
        let chinese = "充".repeat(5000);
        let pieces = split_text(&chinese, MESSAGE_LIMIT);
        assert_eq!(pieces[0].chars().count(), 4096);
        assert_eq!(pieces.concat(), chinese);
    }
}
