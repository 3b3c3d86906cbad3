//! Details lifted from a user's text so agents need not ask again.
//!
//! The patterns, chosen so that a number is only called a UID or an order id
//! when the user said so (a bare 8-digit number could be either, or an
//! amount, or a phone number):
//!
//! - **UID**: 6–12 digits introduced by `UID`, `user id`, `userid`,
//!   `用户ID`, `用户id`, `账号`, `帐号` or `账户` (an optional `:`, `#`,
//!   `=`, `is`, `是` or `为` between): "UID 12345678", "我的账号是 88123456".
//!   Bare numbers are never taken as UIDs.
//! - **Order id**: 10–20 letters and digits (at least one digit) introduced
//!   by `order`, `order id`, `order no`, `order number`, `订单`, `订单号`,
//!   `订单编号` or `单号`; or a bare number of 16–20 digits (exchanges' order
//!   ids are that long; UIDs, phone numbers and amounts are shorter).
//! - **Transaction hash**: `0x` and 64 hex digits, or 64 hex digits alone
//!   (Bitcoin/TRON style), or a base58 run of 80–90 characters (Solana
//!   signatures). Text is masked first ([`crate::redact`]), so a private key
//!   is never mistaken for a hash.
//! - **Email**: `local@domain.tld`.
//!
//! Each list keeps the order of first appearance, without duplicates.

use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Details {
    pub uids: Vec<String>,
    pub order_ids: Vec<String>,
    pub tx_hashes: Vec<String>,
    pub emails: Vec<String>,
}

impl Details {
    /// True when nothing was found.
    pub fn is_empty(&self) -> bool {
        self.uids.is_empty()
            && self.order_ids.is_empty()
            && self.tx_hashes.is_empty()
            && self.emails.is_empty()
    }

    /// Adds what `more` found that `self` lacks, keeping order.
    pub fn merge(&mut self, more: &Details) {
        fn merge(into: &mut Vec<String>, more: &[String]) {
            for item in more {
                if !into.contains(item) {
                    into.push(item.clone());
                }
            }
        }
        merge(&mut self.uids, &more.uids);
        merge(&mut self.order_ids, &more.order_ids);
        merge(&mut self.tx_hashes, &more.tx_hashes);
        merge(&mut self.emails, &more.emails);
    }
}

static ALNUM: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"[0-9A-Za-z]+").expect("valid regex"));
static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
        .expect("valid regex")
});
/// What may stand between a cue and its value: `UID: 123`, `订单号是123`.
static CUE_GAP: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)(?:[\s:：#＃=]|\bis\b|是|为|為)*$").expect("valid regex"));

const UID_CUES: &[&str] = &[
    "uid", "user id", "userid", "user-id", "用户id", "用戶id", "账号", "帳號", "帐号", "账户",
];
const ORDER_CUES: &[&str] = &[
    "order id",
    "order no.",
    "order no",
    "order number",
    "order #",
    "order",
    "订单编号",
    "订单号",
    "訂單號",
    "订单",
    "訂單",
    "单号",
];

/// Finds UIDs, order ids, transaction hashes and emails in `text`.
pub fn extract(text: &str) -> Details {
    let text = crate::redact::mask(text).text;
    let lower = text.to_ascii_lowercase();
    let mut details = Details::default();
    let emails: Vec<_> = EMAIL.find_iter(&text).map(|m| m.range()).collect();
    for m in &emails {
        push(&mut details.emails, &text[m.clone()]);
    }
    for token in ALNUM.find_iter(&text) {
        if emails
            .iter()
            .any(|e| e.start <= token.start() && token.start() < e.end)
        {
            continue;
        }
        let t = token.as_str();
        let digits = t.bytes().all(|b| b.is_ascii_digit());
        let hex_body = t
            .strip_prefix("0x")
            .or_else(|| t.strip_prefix("0X"))
            .unwrap_or(t);
        let hex64 =
            hex_body.len() == 64 && hex_body.bytes().all(|b| b.is_ascii_hexdigit()) && !digits;
        let base58_signature = (80..=90).contains(&t.len())
            && t.bytes()
                .all(|b| b.is_ascii_alphanumeric() && !matches!(b, b'0' | b'O' | b'I' | b'l'));
        let cued_order = (10..=20).contains(&t.len())
            && t.bytes().any(|b| b.is_ascii_digit())
            && cued(&lower, token.start(), ORDER_CUES);
        let bare_order = digits && (16..=20).contains(&t.len());
        if hex64 || base58_signature {
            push(&mut details.tx_hashes, t);
        } else if digits && (6..=12).contains(&t.len()) && cued(&lower, token.start(), UID_CUES) {
            push(&mut details.uids, t);
        } else if cued_order || bare_order {
            push(&mut details.order_ids, t);
        }
    }
    details
}

/// Whether the text before `at` ends with one of `cues`, allowing a gap
/// of separators ("UID: ", "订单号是").
fn cued(lower: &str, at: usize, cues: &[&str]) -> bool {
    let before = &lower[..at];
    let gap = CUE_GAP.find(before).map_or(0, |m| m.len());
    let head = &before[..before.len() - gap];
    cues.iter().any(|cue| {
        head.ends_with(cue)
            && (!cue.is_ascii()
                || !head[..head.len() - cue.len()]
                    .chars()
                    .next_back()
                    .is_some_and(|c| c.is_ascii_alphanumeric()))
    })
}

fn push(list: &mut Vec<String>, item: &str) {
    if !list.iter().any(|x| x == item) {
        list.push(item.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: &str = "0x5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060";

    #[test]
    fn a_uid_is_taken_only_when_introduced() {
        assert_eq!(extract("UID 12345678 can't log in").uids, ["12345678"]);
        assert_eq!(extract("我的账号是 88123456").uids, ["88123456"]);
        assert_eq!(extract("用户ID：556677889").uids, ["556677889"]);
        assert!(extract("I sent 12345678 satoshi").uids.is_empty());
    }

    #[test]
    fn order_ids_come_from_cues_or_long_bare_numbers() {
        assert_eq!(
            extract("order #A1B2C3D4E5F6 stuck").order_ids,
            ["A1B2C3D4E5F6"]
        );
        assert_eq!(
            extract("订单号:2024051812345678").order_ids,
            ["2024051812345678"]
        );
        assert_eq!(
            extract("what about 1234567890123456789?").order_ids,
            ["1234567890123456789"]
        );
        assert!(extract("order is late since 2024").order_ids.is_empty());
    }

    #[test]
    fn tx_hashes_with_and_without_0x_and_base58_signatures_are_found() {
        let bare = &HASH[2..];
        let sig = "5VERv8NMvzbJMEkV8xnrLkEaWRtSz9CosKDYjCJjBRnbJLgp8uirBgmQpjKhoR4tjF3ZpRzrFmBV6UjKdiSZkQUW";
        let d = extract(&format!("tx {HASH} and {bare}, solana {sig}"));
        assert_eq!(d.tx_hashes, [HASH, bare, sig]);
    }

    #[test]
    fn a_private_key_is_never_reported_as_a_hash() {
        let d = extract(&format!("my private key is {}", &HASH[2..]));
        assert!(d.tx_hashes.is_empty(), "{d:?}");
    }

    #[test]
    fn emails_are_found_and_duplicates_dropped_in_order() {
        let d =
            extract("mail bob@example.org or alice.w+x@mail.example.com, again bob@example.org");
        assert_eq!(d.emails, ["bob@example.org", "alice.w+x@mail.example.com"]);
    }

    #[test]
    fn a_message_with_everything_yields_everything() {
        let d = extract(&format!(
            "UID: 10203040, 订单号 1234567890123, 哈希 {HASH}, 邮箱 a@b.co"
        ));
        assert_eq!(d.uids, ["10203040"]);
        assert_eq!(d.order_ids, ["1234567890123"]);
        assert_eq!(d.tx_hashes, [HASH]);
        assert_eq!(d.emails, ["a@b.co"]);
    }
}
