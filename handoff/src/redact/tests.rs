use super::*;

fn masked(text: &str) -> String {
    mask(text).text
}

#[test]
fn the_wordlist_is_the_official_one_with_2048_words() {
    assert_eq!(BIP39.len(), 2048);
    assert!(BIP39.contains("abandon") && BIP39.contains("zoo"));
}

/// At least 30 messages with a secret, in English and Chinese, as users
/// write them; each must lose its secret and name the right kind.
const SECRETS: &[(&str, &str, SecretKind)] = &[
    ("my password is Abc123!", "Abc123!", SecretKind::Password),
    ("password: hunter2", "hunter2", SecretKind::Password),
    (
        "Password=Qwerty!2024 please check",
        "Qwerty!2024",
        SecretKind::Password,
    ),
    (
        "my login password for binance is Tr0ub4dor&3",
        "Tr0ub4dor&3",
        SecretKind::Password,
    ),
    ("pwd: s3cr3tP@ss", "s3cr3tP@ss", SecretKind::Password),
    (
        "I tried password Abc12345 but it fails",
        "Abc12345",
        SecretKind::Password,
    ),
    ("pass: letmein99", "letmein99", SecretKind::Password),
    ("密码是abc123456", "abc123456", SecretKind::Password),
    (
        "我的登录密码：Zx@998877，登不上去",
        "Zx@998877",
        SecretKind::Password,
    ),
    ("资金密码 135790 忘了怎么办", "135790", SecretKind::Password),
    ("密码Aa112233帮我看看", "Aa112233", SecretKind::Password),
    ("交易密码为 pass#2023", "pass#2023", SecretKind::Password),
    (
        "我的密码现在是 Hello2024",
        "Hello2024",
        SecretKind::Password,
    ),
    (
        "my google authenticator code is 482913",
        "482913",
        SecretKind::TwoFactorCode,
    ),
    (
        "2FA: 105 337 doesn't work",
        "105 337",
        SecretKind::TwoFactorCode,
    ),
    ("OTP 771203", "771203", SecretKind::TwoFactorCode),
    (
        "谷歌验证码 884512 一直提示错误",
        "884512",
        SecretKind::TwoFactorCode,
    ),
    (
        "验证码是 309127，为什么不行",
        "309127",
        SecretKind::TwoFactorCode,
    ),
    ("动态码663201", "663201", SecretKind::TwoFactorCode),
    ("短信验证码：551903", "551903", SecretKind::TwoFactorCode),
    (
        "the sms code I got is 120934",
        "120934",
        SecretKind::TwoFactorCode,
    ),
    (
        "my private key is 0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318",
        "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318",
        SecretKind::PrivateKey,
    ),
    (
        "私钥：4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318 能帮我找回币吗",
        "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318",
        SecretKind::PrivateKey,
    ),
    (
        "0x8da4ef21b864d2cc526dbdb2a120bd2874c36c9d0a1fb7f8c63d7f7a8b41de8f 这是我钱包的私钥",
        "8da4ef21b864d2cc526dbdb2a120bd2874c36c9d0a1fb7f8c63d7f7a8b41de8f",
        SecretKind::PrivateKey,
    ),
    (
        "WIF 5HueCGU8rMjxEXxiPuD5BDku4MkFqeZyd4dZ1jvhTVqvbTLvyTJ please import",
        "5HueCGU8rMjxEXxiPuD5BDku4MkFqeZyd4dZ1jvhTVqvbTLvyTJ",
        SecretKind::PrivateKey,
    ),
    (
        "导入这个 KwDiBf89QgGbjEhKnhXJuH7LrciVrZi3qYjgd9M7rFU73sVHnoWn 就行",
        "KwDiBf89QgGbjEhKnhXJuH7LrciVrZi3qYjgd9M7rFU73sVHnoWn",
        SecretKind::PrivateKey,
    ),
    (
        "seed: abandon ability able about above absent absorb abstract absurd abuse access accident",
        "abandon ability able about above absent absorb abstract absurd abuse access accident",
        SecretKind::SeedPhrase,
    ),
    (
        "助记词 legal winner thank year wave sausage worth useful legal winner thank yellow 钱包打不开",
        "legal winner thank year wave sausage worth useful legal winner thank yellow",
        SecretKind::SeedPhrase,
    ),
    (
        "1. zoo 2. wrong 3. zoo 4. zoo 5. zoo 6. zoo 7. zoo 8. zoo 9. zoo 10. zoo 11. zoo 12. wrong",
        "zoo 2. wrong 3. zoo 4. zoo 5. zoo 6. zoo 7. zoo 8. zoo 9. zoo 10. zoo 11. zoo 12. wrong",
        SecretKind::SeedPhrase,
    ),
    (
        "Letter advice cage absurd amount doctor acoustic avoid letter advice cage above, is my wallet safe?",
        "Letter advice cage absurd amount doctor acoustic avoid letter advice cage above",
        SecretKind::SeedPhrase,
    ),
    (
        "my recovery phrase: scissors invite lock maple supreme raw rapid void congress muscle digital elegant little brisk hair mango congress clump",
        "scissors invite lock maple supreme raw rapid void congress muscle digital elegant little brisk hair mango congress clump",
        SecretKind::SeedPhrase,
    ),
    (
        "我的助記詞是 void come effort suffer camp survey warrior heavy shoot primary clutch crush open amazing screen patrol group space point ten exist slush involve unfold",
        "void come effort suffer camp survey warrior heavy shoot primary clutch crush open amazing screen patrol group space point ten exist slush involve unfold",
        SecretKind::SeedPhrase,
    ),
    (
        "助记词：的 一 是 在 不 了 有 和 人 这 中 大，钱包打不开",
        "的 一 是 在 不 了 有 和 人 这 中 大",
        SecretKind::SeedPhrase,
    ),
    (
        "1.碧 2.祥 3.柯 4.页 5.巡 6.矩 7.悲 8.灌 9.龄 10.伦 11.票 12.寻 能帮我恢复吗",
        "碧 2.祥 3.柯 4.页 5.巡 6.矩 7.悲 8.灌 9.龄 10.伦 11.票 12.寻",
        SecretKind::SeedPhrase,
    ),
    (
        "我的助記詞 甜 曹 閱 肌 哩 厲 烴，怎麼辦",
        "甜 曹 閱 肌 哩 厲 烴",
        SecretKind::SeedPhrase,
    ),
];

#[test]
fn every_secret_in_the_corpus_is_masked_and_named() {
    assert!(SECRETS.len() >= 30);
    for (text, secret, kind) in SECRETS {
        let m = mask(text);
        assert!(
            !m.text.contains(secret),
            "{text:?} kept its secret: {:?}",
            m.text
        );
        assert!(
            m.found.contains(kind),
            "{text:?} found {:?}, expected {kind:?}",
            m.found
        );
        assert!(m.text.contains(kind.marker()), "{text:?} → {:?}", m.text);
    }
}

#[test]
fn masking_twice_changes_nothing() {
    for (text, _, _) in SECRETS {
        let once = mask(text);
        let twice = mask(&once.text);
        assert_eq!(twice.text, once.text, "{text:?}");
        assert!(
            twice.found.is_empty(),
            "{text:?} found again {:?}",
            twice.found
        );
    }
}

/// Messages full of numbers and words that are not secrets.
const ORDINARY: &[&str] = &[
    "my order 2024051812345678 has not arrived",
    "订单号 1234567890123456 还没到账",
    "UID 123456 cannot withdraw",
    "我的UID是 88123456，提现失败",
    "I deposited 500000 USDT an hour ago",
    "充值了 100000 元，google 验证也做了",
    "txid 0x5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060 still pending",
    "交易哈希 5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060 没到账",
    "0x5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060",
    "I forgot my password",
    "my password is wrong, how do I reset it?",
    "密码忘了怎么办",
    "how do I reset my 2FA?",
    "谷歌验证器丢了怎么办",
    "I have a question about my account and the fee for a withdrawal",
    "price was 0.123456 BTC at 2024-05-18 12:30",
    "I passed KYC but my passport photo was rejected",
    "withdrawal of 1.5 ETH to 0x742d35Cc6634C0532925a3b844Bc454e4438f44e",
    "phone 13800138000, email alice@example.com",
    "the code of the FAQ entry is deposit-missing",
    "I lost my google authenticator, my uid 123456",
    "order 123456 and the sms code never came",
    "the password is case sensitive, right?",
    "资金密码错误怎么办",
    "Password reset link expired",
    "KYC: pass or fail? pass KYC first",
];

#[test]
fn ordinary_numbers_hashes_and_words_are_left_alone() {
    for text in ORDINARY {
        let m = mask(text);
        assert_eq!(m.text, *text, "changed: {:?}", m.text);
        assert!(m.found.is_empty(), "{text:?}: {:?}", m.found);
    }
}

#[test]
fn a_tx_hash_stays_and_a_private_key_in_the_same_message_goes() {
    let hash = "5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060";
    let key = "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318";
    let text = format!("tx hash 0x{hash}, and here is my private key {key}");
    let m = masked(&text);
    assert!(m.contains(hash) && !m.contains(key), "{m}");
}

#[test]
fn a_key_being_imported_goes_and_a_tx_hash_named_after_an_import_stays() {
    let hash = "5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060";
    let key = "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318";
    for text in [
        format!("钱包导入 0x{key} 之后资产不见了"),
        format!("how do I import {key} into metamask"),
    ] {
        assert!(!masked(&text).contains(key), "{text}");
    }
    let text = format!("I tried to import it, then tx 0x{hash} never arrived");
    assert!(masked(&text).contains(hash), "{text}");
}

/// The tx hashes of the labelled questions (`tests/data/queries.tsv`,
/// all `0x` and 64 hex digits) stay: none is taken for a key.
#[test]
fn no_tx_hash_of_the_labelled_questions_is_taken_for_a_key() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/data/queries.tsv");
    let queries = std::fs::read_to_string(path).expect("the labelled questions");
    let hex = Regex::new(r"[0-9a-fA-F]{64}").expect("valid regex");
    let mut hashes = 0;
    for query in queries.lines().map(|l| l.split('\t').next().unwrap_or(l)) {
        for hash in hex.find_iter(query) {
            hashes += 1;
            assert!(masked(query).contains(hash.as_str()), "{query}");
        }
    }
    assert_eq!(hashes, 4, "the set's tx hashes");
}

#[test]
fn the_keyword_stays_so_the_agent_knows_what_was_hidden() {
    assert_eq!(
        masked("my password is Abc123!"),
        "my password is [hidden: password]"
    );
    assert_eq!(masked("验证码 123456"), "验证码 [hidden: 2FA code]");
}

#[test]
fn chinese_written_as_chinese_is_written_is_never_a_seed_phrase() {
    // Every character here is on the Chinese lists; written together
    // (or too few set apart) they are a question, not a phrase.
    for text in [
        "助记词丢了怎么办，我的钱还在不在",
        "我的助记词是不是要写在纸上",
        "的一是在不了有和人这中大为上个国我以要他",
        "充值 提现 都 不 到 账",
        "助记词 丢 了",
    ] {
        assert_eq!(masked(text), text);
    }
}

#[test]
fn a_short_english_sentence_of_list_words_is_not_a_seed_phrase() {
    let text = "what about the fee when you have a limit order above the market price";
    assert_eq!(masked(text), text);
}
