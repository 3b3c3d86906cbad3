//! Masking secrets users paste by mistake, before anything stores or shows them.
//!
//! Users of an exchange help desk regularly send their password, their 2FA
//! code, even their seed phrase, believing support needs them. Nothing of
//! that may reach a database, an agent's screen or a log. [`mask`] replaces
//! each secret with a neutral marker naming its kind (`[hidden: password]`,
//! `[hidden: seed phrase]`, `[hidden: private key]`, `[hidden: 2FA code]`)
//! and keeps everything else, so that an agent still reads the message.
//!
//! What counts as a secret (patterns are deliberately conservative about
//! ordinary numbers: order ids, amounts, UIDs and transaction hashes stay):
//!
//! - **Password**: the text after a password word (`password`, `passwd`,
//!   `passcode`, `passphrase`, `pwd`, `密码`, `登录密码`, `资金密码`,
//!   `交易密码`, `支付密码`, `口令`; `pass`/`pin` only with `:` or `=`),
//!   when it is introduced by `:`, `=`, `is`, `was`, `是`, `为`
//!   ("my password is Abc123!", "密码是abc123456", "password: hunter2"),
//!   follows a Chinese password word directly ("密码abc123"), or follows
//!   after a space and looks like a password (letters with digits or
//!   symbols: "password Abc123!"). Words such as "wrong", "reset", "not"
//!   after "is" are not passwords. Only ASCII runs are masked.
//! - **Seed phrase**: 12 or more words of the English BIP-39 list in a row
//!   (separated by spaces, commas, numbering), or 6 or more right after a
//!   cue such as "seed", "mnemonic", "助记词". The list is the official one
//!   (`bip39-english.txt`, see its provenance in [`BIP39_ENGLISH`]). Also
//!   Chinese phrases: 12 or more characters of the Chinese lists (simplified
//!   or traditional, [`BIP39_CHINESE`]) each set apart by spaces, commas or
//!   numbering ("的 一 是 …"), or 6 or more after a cue.
//! - **Private key**: 64 hex digits (with or without `0x`) whose nearest cue
//!   is a key word ("private key", "secret key", "key", "私钥", "密钥", or
//!   "import", "导入": importing a wallet takes its key)
//!   before it or right after it; without such a cue, or when the nearest
//!   cue is a hash word ("tx", "txid", "hash", "哈希", "交易"), it is a
//!   transaction hash and stays. Also a base58 run of 80–90 characters with
//!   a key cue (Solana-style keys; without a cue it is a signature), and
//!   always: WIF keys (51 base58 characters starting with 5, or 52 starting
//!   with K or L) and extended keys (`xprv`, `tprv`, `yprv`, `zprv`).
//! - **2FA code**: a standalone 6-digit number (or `123 456`) within 40
//!   characters of a cue (2fa, google, authenticator, otp, code,
//!   verification, 验证码, 谷歌, 动态码, 安全码, 短信, ...), unless it is an
//!   amount (followed by a currency or unit, preceded by `$`/`¥`, part of a
//!   decimal) or introduced as a UID or order id.
//!
//! Masking is idempotent: the passes are repeated until the text no longer
//! changes, and cues or keywords inside a marker are ignored.
//!
//! A password is masked up to the next space or Chinese punctuation; a
//! trailing `,` or `;` is left to the sentence.
//!
//! Limits: a Chinese seed phrase written without anything between its
//! characters is not recognised (its 2048 characters are the commonest
//! ones: it reads like any Chinese sentence); a bare 64-hex key, or `0x`
//! and 64 hex digits, without a key word (or "import") is taken for a
//! transaction hash (which is what such a string almost always is in a
//! support chat); a password with spaces is masked up to its first space.

use std::collections::HashSet;
use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;

/// The official English BIP-39 wordlist, 2048 words, one per line.
///
/// Provenance: copied from the `tiny-bip39` crate 2.0.0
/// (`src/langs/english.txt`, licensed MIT AND (MIT OR Apache-2.0)), which
/// carries the list from the BIP-39 repository (bitcoin/bips, MIT); its
/// SHA-256 is 2f5eed53a4727b4bf8880d8f3f199efc90e58503646d9ff8eff3a2ed3b24dbda,
/// the same as the upstream file.
pub const BIP39_ENGLISH: &str = include_str!("bip39-english.txt");

/// Kinds of secret that are masked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SecretKind {
    Password,
    SeedPhrase,
    PrivateKey,
    TwoFactorCode,
}

impl SecretKind {
    /// The marker that replaces a secret of this kind.
    pub fn marker(self) -> &'static str {
        match self {
            SecretKind::Password => "[hidden: password]",
            SecretKind::SeedPhrase => "[hidden: seed phrase]",
            SecretKind::PrivateKey => "[hidden: private key]",
            SecretKind::TwoFactorCode => "[hidden: 2FA code]",
        }
    }
}

/// A text with its secrets replaced by a mask.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Masked {
    pub text: String,
    /// The kinds found, each once, in the order first found.
    pub found: Vec<SecretKind>,
}

impl Masked {
    /// True when something was masked (the user should be warned).
    pub fn any(&self) -> bool {
        !self.found.is_empty()
    }
}

/// Masks every secret in `text`. Idempotent: masking masked text changes nothing.
pub fn mask(text: &str) -> Masked {
    let mut current = text.to_string();
    let mut found: Vec<SecretKind> = Vec::new();
    // Each pass only adds markers, so this reaches a fixed point quickly;
    // the bound is a guard, not a limit met in practice.
    for _ in 0..8 {
        let (next, kinds) = mask_once(&current);
        for kind in kinds {
            if !found.contains(&kind) {
                found.push(kind);
            }
        }
        if next == current {
            break;
        }
        current = next;
    }
    Masked {
        text: current,
        found,
    }
}

/// Whether `text` holds a marker: secrets were masked in it already (an
/// update kept masked and handed out again after a crash).
pub fn holds_marker(text: &str) -> bool {
    MARKER.is_match(text)
}

/// One pass of every detector, in an order where each sees the previous
/// one's markers: keys and seeds first (they are long and unambiguous), then
/// 2FA codes, then passwords.
fn mask_once(text: &str) -> (String, Vec<SecretKind>) {
    let mut kinds = Vec::new();
    let mut text = text.to_string();
    for (kind, detect) in [
        (
            SecretKind::PrivateKey,
            private_keys as fn(&str) -> Vec<Range<usize>>,
        ),
        (SecretKind::SeedPhrase, seed_phrases),
        (SecretKind::SeedPhrase, chinese_seed_phrases),
        (SecretKind::TwoFactorCode, two_factor_codes),
        (SecretKind::Password, passwords),
    ] {
        let spans = detect(&text);
        if !spans.is_empty() {
            kinds.push(kind);
            text = replace_spans(&text, spans, kind.marker());
        }
    }
    (text, kinds)
}

fn replace_spans(text: &str, mut spans: Vec<Range<usize>>, marker: &str) -> String {
    spans.sort_by_key(|s| s.start);
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for span in spans {
        if span.start < at {
            continue; // overlapping: already covered
        }
        out.push_str(&text[at..span.start]);
        out.push_str(marker);
        at = span.end;
    }
    out.push_str(&text[at..]);
    out
}

// --- shared helpers --------------------------------------------------------

static MARKER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\[hidden: [A-Za-z0-9 ]+\]").expect("valid regex"));
/// Maximal runs of ASCII letters and digits: the tokens numbers, hashes and
/// keys are made of (their ends are ASCII word boundaries).
static ALNUM: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"[0-9A-Za-z]+").expect("valid regex"));

fn marker_spans(text: &str) -> Vec<Range<usize>> {
    MARKER.find_iter(text).map(|m| m.range()).collect()
}

fn inside(spans: &[Range<usize>], at: usize) -> bool {
    spans.iter().any(|s| s.start <= at && at < s.end)
}

/// Positions (start, end) of `cues` in `lower` (the lowercased text, same
/// byte offsets as the original for the ASCII and CJK text we look at),
/// ignoring hits inside markers and ASCII cues inside longer ASCII words.
fn cue_hits(lower: &str, cues: &[&str], markers: &[Range<usize>]) -> Vec<Range<usize>> {
    let mut hits = Vec::new();
    for cue in cues {
        for (start, _) in lower.match_indices(cue) {
            let end = start + cue.len();
            if inside(markers, start) {
                continue;
            }
            let ascii_cue = cue.is_ascii();
            let before = lower[..start].chars().next_back();
            let after = lower[end..].chars().next();
            let glued = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphabetic());
            if ascii_cue && (glued(before) || glued(after)) {
                continue;
            }
            hits.push(start..end);
        }
    }
    hits
}

/// Lowercases ASCII only, so byte offsets stay those of the original.
fn ascii_lower(text: &str) -> String {
    text.to_ascii_lowercase()
}

fn is_base58(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() && !matches!(b, b'0' | b'O' | b'I' | b'l'))
}

fn is_hex(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The distance in characters between two byte offsets of `text`.
fn char_distance(text: &str, a: usize, b: usize) -> usize {
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    text[lo..hi].chars().count()
}

// --- private keys ----------------------------------------------------------

const KEY_CUES: &[&str] = &[
    "private key",
    "private-key",
    "privatekey",
    "priv key",
    "privkey",
    "secret key",
    "key",
    // Importing a wallet takes its private key, never a tx hash.
    "import",
    "导入",
    "導入",
    "私钥",
    "密钥",
    "私鑰",
    "密鑰",
];
const HASH_CUES: &[&str] = &[
    "hash",
    "txid",
    "txhash",
    "tx",
    "transaction",
    "哈希",
    "交易",
    "区块",
    "链上",
    "轉賬",
    "转账",
];

fn private_keys(text: &str) -> Vec<Range<usize>> {
    let markers = marker_spans(text);
    let lower = ascii_lower(text);
    let key_hits = cue_hits(&lower, KEY_CUES, &markers);
    let hash_hits = cue_hits(&lower, HASH_CUES, &markers);
    let mut spans = Vec::new();
    for token in ALNUM.find_iter(text) {
        if inside(&markers, token.start()) {
            continue;
        }
        let t = token.as_str();
        let body = t
            .strip_prefix("0x")
            .or_else(|| t.strip_prefix("0X"))
            .unwrap_or(t);
        let wif = (t.len() == 51 && t.starts_with('5')
            || t.len() == 52 && (t.starts_with('K') || t.starts_with('L')))
            && is_base58(t);
        let extended = t.len() >= 100
            && ["xprv", "tprv", "yprv", "zprv"]
                .iter()
                .any(|p| t.starts_with(p))
            && is_base58(t);
        let hex64 = body.len() == 64 && is_hex(body);
        let long58 = (80..=90).contains(&t.len()) && is_base58(t);
        let keyed = (hex64 || long58) && key_context(text, token.range(), &key_hits, &hash_hits);
        if wif || extended || keyed {
            spans.push(token.range());
        }
    }
    spans
}

/// Whether the nearest cue before `token` (within 80 characters) is a key
/// word; with no cue before it, whether a key word follows within 30
/// characters ("0x… is my private key", "…是我的私钥") before any hash word.
fn key_context(
    text: &str,
    token: Range<usize>,
    keys: &[Range<usize>],
    hashes: &[Range<usize>],
) -> bool {
    let before = |hits: &[Range<usize>]| {
        hits.iter()
            .filter(|h| h.end <= token.start && char_distance(text, h.end, token.start) <= 80)
            .map(|h| h.end)
            .max()
    };
    let after = |hits: &[Range<usize>]| {
        hits.iter()
            .filter(|h| h.start >= token.end && char_distance(text, token.end, h.start) <= 30)
            .map(|h| h.start)
            .min()
    };
    match (before(keys), before(hashes)) {
        (Some(k), Some(h)) => return k > h,
        (Some(_), None) => return true,
        (None, Some(_)) => return false,
        (None, None) => {}
    }
    match (after(keys), after(hashes)) {
        (Some(k), Some(h)) => k < h,
        (Some(_), None) => true,
        _ => false,
    }
}

// --- 2FA codes -------------------------------------------------------------

const TWO_FA_CUES: &[&str] = &[
    "2fa",
    "2-fa",
    "two-factor",
    "two factor",
    "google",
    "authenticator",
    "otp",
    "totp",
    "code",
    "verification",
    "ga",
    "sms",
    "验证码",
    "驗證碼",
    "谷歌",
    "动态码",
    "動態碼",
    "安全码",
    "校验码",
    "两步验证",
    "二次验证",
    "短信",
];
/// Words that make a number an id, not a code.
const ID_CUES: &[&str] = &[
    "uid", "user id", "order", "订单", "单号", "用户id", "账号", "帐号", "账户", "id",
];
/// What after a number makes it an amount.
static AMOUNT_AFTER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s?(?i:usdt|usdc|usd|btc|eth|bnb|trx|sol|cny|rmb|eur|dollars?|coins?|u\b|元|块|個|个|%|\.\d)")
        .expect("valid regex")
});

fn two_factor_codes(text: &str) -> Vec<Range<usize>> {
    let markers = marker_spans(text);
    let lower = ascii_lower(text);
    let cues = cue_hits(&lower, TWO_FA_CUES, &markers);
    if cues.is_empty() {
        return Vec::new();
    }
    let ids = cue_hits(&lower, ID_CUES, &markers);
    let tokens: Vec<Range<usize>> = ALNUM
        .find_iter(text)
        .filter(|t| !inside(&markers, t.start()))
        .map(|t| t.range())
        .collect();
    let digits = |r: &Range<usize>| text[r.clone()].bytes().all(|b| b.is_ascii_digit());
    let mut candidates = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let t = &tokens[i];
        if digits(t) && t.len() == 6 {
            candidates.push(t.clone());
        } else if digits(t)
            && t.len() == 3
            && let Some(n) = tokens.get(i + 1)
            && digits(n)
            && n.len() == 3
            && matches!(&text[t.end..n.start], " " | "-")
        {
            candidates.push(t.start..n.end);
            i += 1;
        }
        i += 1;
    }
    candidates
        .into_iter()
        .filter(|c| {
            let near = cues.iter().any(|q| {
                let d = if q.end <= c.start {
                    char_distance(text, q.end, c.start)
                } else {
                    char_distance(text, c.end, q.start.max(c.end))
                };
                d <= 40
            });
            let before = text[..c.start].chars().next_back();
            let amount = matches!(before, Some('$' | '¥' | '￥' | '.' | ','))
                || AMOUNT_AFTER.is_match(&text[c.end..]);
            let introduced_as_id = ids
                .iter()
                .any(|q| q.end <= c.start && char_distance(text, q.end, c.start) <= 4);
            near && !amount && !introduced_as_id
        })
        .collect()
}

// --- passwords -------------------------------------------------------------

static PASSWORD_WORD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:password|passwd|passcode|passphrase|pwd|pass|pin|登录密码|登錄密碼|资金密码|資金密碼|交易密码|交易密碼|支付密码|支付密碼|密码|密碼|口令)")
        .expect("valid regex")
});
/// After the word: a few words, then `:`/`=`/is/是/为, then the secret.
static INTRODUCED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:\s+[A-Za-z]+){0,3}?[\p{Han}]{0,4}?\s*(?:[:：=]|\s(?i:is|was)\s|是|为|為)\s*(?P<s>[!-Z\\^-~][!-~]*)")
        .expect("valid regex")
});
/// A Chinese password word directly followed by the secret: 密码abc123.
static GLUED: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(?P<s>[!-Z\\^-~][!-~]{3,})").expect("valid regex"));
/// The word, a space, and something that looks like a password.
static SPACED: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[ \t]+(?P<s>[!-Z\\^-~][!-~]{3,})").expect("valid regex"));

/// Words that follow "password is" without being a password.
const NOT_PASSWORDS: &[&str] = &[
    "wrong",
    "incorrect",
    "correct",
    "right",
    "not",
    "invalid",
    "expired",
    "reset",
    "changed",
    "forgotten",
    "forgot",
    "lost",
    "locked",
    "ok",
    "okay",
    "fine",
    "too",
    "very",
    "still",
    "also",
    "the",
    "a",
    "an",
    "being",
    "required",
    "needed",
    "weak",
    "strong",
    "same",
    "different",
    "empty",
    "missing",
    "blocked",
    "working",
    "set",
    "saved",
    "long",
    "short",
    "case",
    "and",
    "or",
    "for",
    "of",
    "in",
    "on",
    "to",
    "it",
    "this",
    "that",
    "my",
    "your",
    "no",
    "none",
    "null",
    "hidden",
    "always",
    "never",
    "now",
    "so",
    "just",
];

fn passwords(text: &str) -> Vec<Range<usize>> {
    let markers = marker_spans(text);
    let mut spans = Vec::new();
    for word in PASSWORD_WORD.find_iter(text) {
        if inside(&markers, word.start()) {
            continue;
        }
        let w = word.as_str();
        let ascii_word = w.is_ascii();
        if ascii_word {
            // An ASCII keyword must be a whole word ("passport", "bypass"
            // and "spinning" are not).
            let glued = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
            if glued(text[..word.start()].chars().next_back())
                || glued(text[word.end()..].chars().next())
            {
                continue;
            }
        }
        let lower = w.to_ascii_lowercase();
        let weak_word = lower == "pass" || lower == "pin";
        let rest = &text[word.end()..];
        let secret = if let Some(c) = INTRODUCED.captures(rest) {
            let sep = &c[0][..c.name("s").map_or(0, |s| s.start())];
            let strong_sep = sep.contains([':', '：', '=']);
            let s = c.name("s").expect("group s");
            let plain = s
                .as_str()
                .trim_end_matches(['.', ',', '!', '?', ';'])
                .to_ascii_lowercase();
            let allowed = if weak_word {
                strong_sep
            } else {
                strong_sep || !NOT_PASSWORDS.contains(&plain.as_str())
            };
            allowed.then(|| s.range())
        } else if !ascii_word {
            GLUED
                .captures(rest)
                .map(|c| c.name("s").expect("group s").range())
        } else {
            None
        };
        let secret = secret.or_else(|| {
            if weak_word {
                return None;
            }
            let c = SPACED.captures(rest)?;
            let s = c.name("s").expect("group s");
            looks_like_password(s.as_str()).then(|| s.range())
        });
        if let Some(mut s) = secret {
            // "密码是abc123, 订单号…": the comma belongs to the sentence.
            while s.len() > 1
                && text[word.end() + s.start..word.end() + s.end].ends_with([',', ';'])
            {
                s.end -= 1;
            }
            spans.push(word.end() + s.start..word.end() + s.end);
        }
    }
    spans
}

/// Letters mixed with digits or symbols, or all digits: "Abc123!", "888888".
fn looks_like_password(s: &str) -> bool {
    let s = s.trim_end_matches(['.', ',', '!', '?', ';']);
    let letters = s.chars().filter(|c| c.is_ascii_alphabetic()).count();
    let digits = s.chars().filter(|c| c.is_ascii_digit()).count();
    let symbols = s.len() - letters - digits;
    s.len() >= 4 && (digits == s.len() || (letters > 0 && digits + symbols > 0))
}

mod seed;
#[cfg(test)]
use seed::BIP39;
pub use seed::BIP39_CHINESE;
use seed::{chinese_seed_phrases, seed_phrases};
#[cfg(test)]
mod tests;
