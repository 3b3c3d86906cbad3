//! What a user's text is: a request for a human, small talk, or a question
//! for the matcher. The `eval` command decides through this same function,
//! so "I want a human" never counts as an answer there either.

use matcher::{Decision, Matcher};
use regex::Regex;
use std::sync::LazyLock;

/// The engine's reading of one message.
#[derive(Debug, Clone, PartialEq)]
pub enum Understanding {
    /// Nothing to read (empty, only punctuation or emoji).
    Empty,
    /// Asks for a person (人工, 转人工, human, agent, operator, ...).
    Human,
    /// A greeting with nothing else in it (你好, hi, 在吗).
    Greeting,
    /// Thanks or an acknowledgement with nothing else in it (谢谢, ok).
    Thanks,
    /// Anything else goes to the matcher.
    Question(Decision),
}

/// Asking for a person. Chinese needs no word boundaries; English does, so
/// that "agents" in a longer sentence still counts but "management" does not.
static HUMAN_ZH: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(转人工|人工客服|人工服务|找人工|要人工|真人|活人|^人工[!！?？。.]*$|人工(?:在吗|呢|吗|吧|客服|处理))")
        .expect("valid regex")
});
static HUMAN_EN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(human|humans|real person|live (?:agent|chat|person|support)|operator|representative|customer service agent|(?:talk|speak|chat) (?:to|with) (?:an? |the |your |some )?(?:agent|person|someone|staff|support)|agent please|an agent)\b",
    )
    .expect("valid regex")
});
/// "Human" also appears in questions that are not requests ("is KYC reviewed
/// by a human?"); past this length a message is read as a question unless it
/// says so in a request phrase.
const HUMAN_WORD_MAX_CHARS: usize = 40;
static HUMAN_REQUEST: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(转人工|人工客服|找人工|要人工|真人客服|(?:talk|speak|chat) (?:to|with) (?:an? |the |your |some )?(?:human|agent|person|real person|someone))")
        .expect("valid regex")
});

const GREETINGS: &[&str] = &[
    "你好",
    "您好",
    "在吗",
    "在么",
    "在不在",
    "有人吗",
    "哈喽",
    "嗨",
    "早上好",
    "下午好",
    "晚上好",
    "hi",
    "hello",
    "hey",
    "yo",
    "hallo",
    "good morning",
    "good afternoon",
    "good evening",
    "anyone there",
    "is anyone there",
    "hi there",
    "hello there",
];
const THANKS: &[&str] = &[
    "谢谢",
    "多谢",
    "感谢",
    "谢啦",
    "好的",
    "好",
    "嗯",
    "哦",
    "明白了",
    "知道了",
    "收到",
    "ok",
    "okay",
    "thanks",
    "thank you",
    "thx",
    "ty",
    "got it",
    "great",
    "cool",
    "nice",
    "good bot",
    "好的谢谢",
    "ok thanks",
    "thanks a lot",
    "thank you very much",
    "many thanks",
];

/// Reads `text` (already masked) and, for questions, asks the matcher.
pub fn understand(matcher: &Matcher, text: &str) -> Understanding {
    let folded = fold(text);
    if folded.is_empty() {
        return Understanding::Empty;
    }
    if is_human_request(text) {
        return Understanding::Human;
    }
    if is_one_of(&folded, GREETINGS) {
        return Understanding::Greeting;
    }
    if is_one_of(&folded, THANKS) {
        return Understanding::Thanks;
    }
    Understanding::Question(matcher.decide(text))
}

fn is_human_request(text: &str) -> bool {
    if HUMAN_REQUEST.is_match(text) {
        return true;
    }
    let short = text.chars().count() <= HUMAN_WORD_MAX_CHARS;
    short && (HUMAN_ZH.is_match(text) || HUMAN_EN.is_match(text))
}

/// Lowercase letters and digits only (keeps CJK), single spaces between words.
fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        if !out.is_empty() {
            out.push(' ');
        }
        out.extend(word.chars().flat_map(char::to_lowercase));
    }
    out
}

/// True when the whole folded text is one of `phrases`, possibly repeated or
/// combined ("hi hello", "好的 谢谢").
fn is_one_of(folded: &str, phrases: &[&str]) -> bool {
    let mut rest = folded.trim();
    while !rest.is_empty() {
        let Some(phrase) = phrases
            .iter()
            .filter(|p| rest.starts_with(**p))
            .filter(|p| {
                let after = &rest[p.len()..];
                after.is_empty() || after.starts_with(' ') || !p.is_ascii()
            })
            .max_by_key(|p| p.len())
        else {
            return false;
        };
        rest = rest[phrase.len()..].trim_start();
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_for_a_person_are_recognised_in_both_languages() {
        for text in [
            "人工",
            "转人工",
            "我要人工客服",
            "找真人",
            "human",
            "I want to talk to a human",
            "agent please",
            "can I speak to someone",
            "operator",
        ] {
            assert!(is_human_request(text), "{text}");
        }
    }

    #[test]
    fn questions_that_merely_mention_people_are_not_requests() {
        for text in [
            "人工智能交易机器人能用吗",
            "is my KYC document checked by a human reviewer or automatically by software?",
            "how do I manage my API keys",
        ] {
            assert!(!is_human_request(text), "{text}");
        }
    }

    #[test]
    fn small_talk_is_recognised_only_when_it_is_all_there_is() {
        assert!(is_one_of(&fold("你好！"), GREETINGS));
        assert!(is_one_of(&fold("Hi there"), GREETINGS));
        assert!(is_one_of(&fold("好的，谢谢"), THANKS));
        assert!(is_one_of(&fold("Thanks!!"), THANKS));
        assert!(!is_one_of(&fold("你好，充币没到账"), GREETINGS));
        assert!(!is_one_of(&fold("history"), GREETINGS));
        assert!(!is_one_of(&fold("okx"), THANKS));
    }
}
