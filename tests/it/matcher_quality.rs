//! The matcher as a user meets it: what it answers, what it only suggests,
//! what it leaves alone, on a small FAQ written here; and the quality
//! targets of issue #3 on the public evaluation sets.

use std::sync::LazyLock;

use matcher::{Faq, Matcher, MatcherConfig, Outcome};

const SMALL_FAQ: &str = r#"
version: 1
default_language: zh
synonyms:
  - [充币, 充值, 入金, deposit, top up]
  - [提币, 提现, 出金, withdraw, withdrawal, cash out]
  - [到账, 入账, credited, arrived]
entries:
  - id: deposit-not-credited
    questions:
      zh: [充币没有到账怎么办？, 充值一直不到账, 充币很久了还没到账]
      en: [My deposit has not arrived, Deposit not credited, I deposited but my balance did not change]
    keywords: [未到账, not arrived]
    answer: { zh: 请先确认区块确认数。 }
  - id: deposit-how
    questions:
      zh: [怎么充币？, 如何充值USDT, 充币地址在哪里]
      en: [How do I deposit crypto, Where is my deposit address]
    answer: { zh: 在资产页点充币。 }
  - id: withdraw-pending
    questions:
      zh: [提币一直在处理中, 提现很久没到账, 提币审核要多久]
      en: [My withdrawal is still pending, Withdrawal has not arrived yet]
    answer: { zh: 提币需要审核。 }
  - id: withdraw-how
    questions:
      zh: [怎么提币？, 如何把币提到钱包, 提现怎么操作]
      en: [How do I withdraw, How can I receive my coins in my wallet]
    answer: { zh: 在资产页点提币。 }
  - id: password-reset
    questions:
      zh: [忘记登录密码怎么办, 怎么重置密码]
      en: [I forgot my password, How to reset my password]
    answer: { zh: 点忘记密码。 }
  - id: kyc-how-to
    questions:
      zh: [怎么做实名认证, 身份认证需要什么证件]
      en: [How do I verify my identity, What documents do I need for KYC]
    answer: { zh: 在个人中心认证。 }
"#;

static FAQ: LazyLock<Faq> = LazyLock::new(|| {
    matcher::faq::load_str("faq.yaml", SMALL_FAQ)
        .expect("the test FAQ loads")
        .faq
});

static MATCHER: LazyLock<Matcher> =
    LazyLock::new(|| Matcher::build(&FAQ, MatcherConfig::default()));

fn best(query: &str) -> String {
    MATCHER
        .decide(query)
        .best()
        .map(|c| c.entry_id.clone())
        .unwrap_or_else(|| "<none>".into())
}

fn answered(query: &str) -> Option<String> {
    MATCHER.decide(query).answered().map(str::to_owned)
}

#[test]
fn a_plain_english_question_is_answered_with_its_entry() {
    assert_eq!(
        answered("I forgot my password").as_deref(),
        Some("password-reset")
    );
}

#[test]
fn a_plain_chinese_question_is_answered_with_its_entry() {
    assert_eq!(
        answered("充币没到账怎么办").as_deref(),
        Some("deposit-not-credited")
    );
}

/// What the answer threshold means: the same question, once an admin sets
/// it above the confidence it gets, is offered ("did you mean") instead.
#[test]
fn above_its_confidence_the_threshold_turns_an_answer_into_a_suggestion() {
    let query = "充币没到账怎么办";
    let confidence = MATCHER.decide(query).candidates[0].confidence;
    let stricter = MatcherConfig {
        answer_threshold: confidence + 0.001,
        ..MatcherConfig::default()
    };
    let matcher = Matcher::build(&FAQ, stricter);
    match &matcher.decide(query).outcome {
        Outcome::Suggest { entry_ids } => assert_eq!(entry_ids[0], "deposit-not-credited"),
        other => panic!("expected a suggestion, got {other:?}"),
    }
}

#[test]
fn a_homophone_typo_still_finds_the_deposit_entry() {
    assert_eq!(best("冲币一直不到账"), "deposit-not-credited");
    assert_eq!(best("怎么体现"), "withdraw-how");
}

#[test]
fn a_misspelt_question_is_as_sure_as_the_clean_one() {
    // Corrected against the FAQ's own words before matching, a typo costs
    // no confidence: the decision is the clean question's, to the digit.
    for (typo, clean) in [
        ("I forgot my pasword", "I forgot my password"),
        (
            "my withdrawl is still pending",
            "my withdrawal is still pending",
        ),
        ("怎么冲币", "怎么充币"),
        ("体现怎么操作", "提现怎么操作"),
    ] {
        let (typo_decision, clean_decision) = (MATCHER.decide(typo), MATCHER.decide(clean));
        assert_eq!(typo_decision, clean_decision, "{typo}");
    }
}

#[test]
fn traditional_and_full_width_characters_match_simplified_questions() {
    assert_eq!(best("充幣沒有到賬怎麼辦"), "deposit-not-credited");
    assert_eq!(best("ＵＳＤＴ怎么充值"), "deposit-how");
}

#[test]
fn an_english_typo_still_finds_its_entry() {
    assert_eq!(best("my withdrawl is still pending"), "withdraw-pending");
    assert_eq!(best("I forgot my pasword"), "password-reset");
}

#[test]
fn an_english_paraphrase_sharing_no_word_is_still_ranked_by_meaning() {
    // No word of this query is in the FAQ: only the meaning vectors link
    // "can't remember … login credentials" to "I forgot my password".
    assert_eq!(
        best("can't remember my login credentials"),
        "password-reset"
    );
    assert_eq!(
        best("what papers are needed to prove who i am"),
        "kyc-how-to"
    );
}

#[test]
fn a_chinese_paraphrase_is_ranked_by_meaning_too() {
    // Shares only 币 with the deposit questions; by words and characters
    // alone "how do I withdraw" came first (measured before the Chinese
    // vectors existed).
    assert_eq!(best("转进来的币看不见"), "deposit-not-credited");
}

#[test]
fn mixed_chinese_and_english_finds_its_entry() {
    assert_eq!(best("USDT提币一直pending"), "withdraw-pending");
}

#[test]
fn a_synonym_of_the_faq_matches_like_the_word_it_stands_for() {
    // "cash out" appears in no question, only in the synonym group of 提币.
    assert_eq!(best("how do I cash out"), "withdraw-how");
}

#[test]
fn a_tx_hash_does_not_drive_matching() {
    let plain = MATCHER.decide("充币没到账");
    let with_ids = MATCHER.decide(
        "充币没到账 0x5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060 527180934",
    );
    assert_eq!(plain, with_ids);
    let labelled = MATCHER.decide("deposit not credited txid 4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b");
    assert_eq!(labelled.best().unwrap().entry_id, "deposit-not-credited");
}

#[test]
fn a_message_of_only_identifiers_is_no_match() {
    let decision =
        MATCHER.decide("0x5c504ed432cb51138bcf09aa5e8a410dd4a1e204 12345678 a@b.com https://x.io");
    assert_eq!(decision.outcome, Outcome::NoMatch);
    assert!(decision.candidates.is_empty());
}

/// The matcher reads a text's first 4,096 characters (Telegram's own limit
/// for a message): a question followed by a word of a million letters is
/// decided like the question followed by the part of the word that fits.
/// Before, the word alone took minutes (a spelling variant per letter,
/// each a million letters long).
#[test]
fn a_one_megabyte_word_is_read_no_further_than_a_telegram_message() {
    let question = "I forgot my password ";
    let word = "x".repeat(1_000_000);
    let fits = 4096 - question.chars().count();
    assert_eq!(
        MATCHER.decide(&format!("{question}{word}")),
        MATCHER.decide(&format!("{question}{}", &word[..fits]))
    );
    assert_eq!(MATCHER.decide(&word).outcome, Outcome::NoMatch);
}

#[test]
fn a_greeting_is_not_answered() {
    for greeting in ["你好", "hello", "thanks!", "谢谢你", "在吗"] {
        assert_eq!(answered(greeting), None, "{greeting}");
    }
}

#[test]
fn a_very_short_ambiguous_query_is_not_answered() {
    // Deposits and withdrawals both "arrive late".
    assert_eq!(answered("到账慢"), None);
}

#[test]
fn empty_or_punctuation_only_input_is_no_match_without_candidates() {
    for query in ["", "   ", "？？？", "!!!...", "\n\t", "🙂🙂", "\u{200b}"] {
        let decision = MATCHER.decide(query);
        assert_eq!(decision.outcome, Outcome::NoMatch, "{query:?}");
        assert!(decision.candidates.is_empty(), "{query:?}");
    }
}

#[test]
fn odd_unicode_never_panics_and_candidates_stay_well_formed() {
    let odd = [
        "\u{0}",
        "\u{feff}充币",
        "ｅｍｏｊｉ🤖💰",
        "a\u{301}\u{301}\u{301}",
        "🇨🇳🇺🇸",
        "𠀀𠀁𪚥",
        "ﷺ",
        "ß ǅ ﬁ",
        "\u{202e}drawkcab",
        "充\u{0}币",
        "ⓓⓔⓟⓞⓢⓘⓣ",
        "Ꭰ",
        "Привет, где мой депозит?",
        "입금이 안 됐어요",
        "ﾃﾞﾎﾟｼﾞｯﾄ",
        "x".repeat(10_000).leak(),
        "充币".repeat(2_000).leak(),
        "0x",
        "0x0x0x",
        "@",
        "http://",
        "1e10",
        "a@b",
        "..",
    ];
    for query in odd {
        let decision = MATCHER.decide(query);
        assert!(decision.candidates.len() <= 5);
        for pair in decision.candidates.windows(2) {
            assert!(pair[0].confidence >= pair[1].confidence);
        }
        for c in &decision.candidates {
            assert!((0.0..=1.0).contains(&c.confidence), "{query:?}: {c:?}");
        }
    }
}

#[test]
fn candidates_are_best_first_and_at_most_five() {
    let decision = MATCHER.decide("充币 提币 密码 实名 到账");
    assert!(!decision.candidates.is_empty() && decision.candidates.len() <= 5);
    for pair in decision.candidates.windows(2) {
        assert!(pair[0].confidence >= pair[1].confidence);
    }
}

#[test]
fn suggestions_follow_the_configured_limits() {
    let config = MatcherConfig {
        answer_threshold: 1.1, // never answer
        margin: 0.0,
        suggest_threshold: 0.0,
        max_suggestions: 2,
    };
    let matcher = Matcher::build(&FAQ, config);
    match matcher.decide("充币没到账").outcome {
        Outcome::Suggest { entry_ids } => {
            assert!(!entry_ids.is_empty() && entry_ids.len() <= 2);
            assert_eq!(entry_ids[0], "deposit-not-credited");
        }
        other => panic!("expected suggestions, got {other:?}"),
    }
}

#[test]
fn the_matcher_can_be_shared_between_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Matcher>();
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| assert_eq!(best("忘记密码了"), "password-reset"));
        }
    });
}

/// A FAQ of one question per entry has nothing to calibrate on: the
/// untrained curve orders it (see `calibrate.rs`).
fn one_question_faq(language: &str, questions: &[(&str, &str)]) -> Matcher {
    let mut yaml = format!("version: 1\ndefault_language: {language}\nentries:\n");
    for (id, question) in questions {
        yaml.push_str(&format!(
            "  - id: {id}\n    questions: {{ {language}: [\"{question}\"] }}\n    answer: {{ {language}: \"{question}\" }}\n"
        ));
    }
    let faq = matcher::faq::load_str("faq.yaml", &yaml)
        .expect("the test FAQ loads")
        .faq;
    Matcher::build(&faq, MatcherConfig::default())
}

#[test]
fn of_two_questions_that_hold_the_query_the_one_asking_no_more_comes_first() {
    let matcher = one_question_faq(
        "en",
        &[
            (
                "declined-story",
                "my card payment was declined at the shop this morning, then again at lunch and \
                 at dinner in a restaurant, and my friend had to pay every time, which was \
                 embarrassing",
            ),
            ("declined-why", "why was my card payment declined"),
            ("card-order", "how do I order a new card"),
            ("card-swallowed", "the cash machine kept my card"),
            ("transfer-fee", "why was I charged a fee for a transfer"),
        ],
    );
    // Both hold every word of the query; the long one asks far more.
    let decision = matcher.decide("card payment declined at a shop this morning");
    assert_eq!(
        decision.candidates[0].entry_id, "declined-why",
        "{decision:?}"
    );
    // A question asked as written is answered.
    assert_eq!(
        matcher.decide("why was my card payment declined").outcome,
        Outcome::Answer {
            entry_id: "declined-why".into()
        }
    );
}

// ---- quality targets on the public evaluation sets (issue #3) ----

use std::path::{Path, PathBuf};

use matcher::Prior;
use matcher::eval::{LabeledQuery, Metrics, Verdict, evaluate, learned_from, read_queries};
use matcher::variants::{sparse, with_learned};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The prior fitted on every source but `source`
/// (`matcher/examples/fit_prior.rs`): a figure reported for a set comes
/// from a model that never saw it.
fn leave_out(source: &str) -> Prior {
    let path = workspace().join(format!("matcher/data/prior-lodo/{source}.json"));
    let text =
        std::fs::read_to_string(&path).expect("the leave-one-out prior is in the repository");
    let prior = Prior::from_json(&text).expect("the leave-one-out prior reads");
    assert!(
        !prior.trained_on().iter().any(|s| s == source),
        "{} saw {source}",
        path.display()
    );
    assert!(!prior.trained_on().is_empty());
    prior
}

/// A FAQ and queries, or `None` (with a note) when the set is not on this
/// machine.
fn set(faq_path: &Path, queries_path: &Path) -> Option<(matcher::Faq, Vec<LabeledQuery>)> {
    let missing: Vec<&Path> = [faq_path, queries_path]
        .into_iter()
        .filter(|p| !p.exists())
        .collect();
    if !missing.is_empty() {
        println!("skipped: {missing:?} not found");
        return None;
    }
    let faq = matcher::faq::load(faq_path).expect("the FAQ loads").faq;
    let queries = read_queries(queries_path).expect("the queries file reads");
    Some((faq, queries))
}

/// Metrics of the default configuration with `prior` on `faq`.
fn measure(name: &str, faq: &matcher::Faq, prior: &Prior, queries: &[LabeledQuery]) -> Metrics {
    let matcher = Matcher::build_with_prior(faq, MatcherConfig::default(), prior);
    let (metrics, _) = evaluate(queries, |q| Verdict::of(matcher.decide(q)));
    println!("{name}: {}", serde_json::to_string(&metrics).unwrap());
    metrics
}

fn public_set(name: &str) -> Option<(matcher::Faq, Vec<LabeledQuery>)> {
    let dir = workspace().join("../shared/eval").join(name);
    set(&dir.join("faq.yaml"), &dir.join("dev.tsv"))
}

fn bundled() -> Option<(matcher::Faq, Vec<LabeledQuery>)> {
    set(
        &workspace().join("faq-data"),
        &workspace().join("tests/data/queries.tsv"),
    )
}

/// The shape an admin typically writes: three Chinese and two English
/// questions an entry.
const SPARSE_FAQ_DATA: &[(&str, usize)] = &[("zh", 3), ("en", 2)];

// Floors at the figures measured leave one dataset out (see
// ARCHITECTURE.md, "What confidence means"); where they fall short of the
// targets of issue #16, the README says so.

#[test]
fn the_bundled_faq_answers_its_own_users_questions_rightly() {
    let Some((faq, queries)) = bundled() else {
        return;
    };
    let m = measure("faq-data", &faq, &leave_out("faq-data"), &queries);
    assert!(m.top1 >= 0.98, "top1 {m:?}");
    assert!(m.precision >= 0.97, "precision {m:?}");
    assert!(m.coverage >= 0.75, "coverage {m:?}");
    assert!(m.one_tap >= 0.97, "one_tap {m:?}");
}

#[test]
fn a_sparse_faq_answers_only_when_right_and_offers_the_right_entry_one_tap_away() {
    let Some((faq, queries)) = bundled() else {
        return;
    };
    let faq = sparse(&faq, SPARSE_FAQ_DATA);
    let m = measure("sparse faq-data", &faq, &leave_out("faq-data"), &queries);
    assert!(m.precision >= 0.95, "precision {m:?}");
    assert!(m.coverage >= 0.25, "coverage {m:?}");
    assert!(m.top1 >= 0.88, "top1 {m:?}");
    assert!(m.one_tap >= 0.83, "one_tap {m:?}");
    assert!(m.offered_unanswerable <= 0.35, "offered_unanswerable {m:?}");
}

#[test]
fn the_prior_makes_a_faq_of_three_questions_an_intent_surer_of_what_it_answers() {
    let Some((faq, queries)) = public_set("banking77") else {
        return;
    };
    let faq = sparse(&faq, &[("en", 3)]);
    let with_prior = measure(
        "banking77, 3 an intent",
        &faq,
        &leave_out("banking77"),
        &queries,
    );
    let alone = measure(
        "banking77, 3 an intent, no prior",
        &faq,
        &Prior::self_fitted(),
        &queries,
    );
    assert!(
        with_prior.precision > alone.precision,
        "{with_prior:?} against {alone:?}"
    );
    assert!(
        with_prior.one_tap > alone.one_tap,
        "{with_prior:?} against {alone:?}"
    );
}

#[test]
fn what_half_the_traffic_taught_answers_more_of_the_other_half() {
    let Some((faq, queries)) = bundled() else {
        return;
    };
    let faq = sparse(&faq, SPARSE_FAQ_DATA);
    let prior = leave_out("faq-data");
    let (taught, measured): (Vec<_>, Vec<_>) = queries
        .iter()
        .cloned()
        .enumerate()
        .partition(|(i, _)| i % 2 == 0);
    let taught: Vec<LabeledQuery> = taught.into_iter().map(|(_, q)| q).collect();
    let measured: Vec<LabeledQuery> = measured.into_iter().map(|(_, q)| q).collect();
    let before = measure("sparse faq-data, half", &faq, &prior, &measured);
    let matcher = Matcher::build_with_prior(&faq, MatcherConfig::default(), &prior);
    let learned = learned_from(&taught, |q| Verdict::of(matcher.decide(q)));
    assert!(!learned.is_empty());
    assert!(learned.iter().all(|(entry, text)| {
        taught
            .iter()
            .any(|q| &q.query == text && q.expected.as_ref() == Some(entry))
    }));
    let after = measure(
        "sparse faq-data, half, after learning the other half",
        &with_learned(&faq, &learned),
        &prior,
        &measured,
    );
    assert!(
        after.coverage >= before.coverage + 0.03,
        "{after:?} against {before:?}"
    );
    assert!(after.precision >= 0.95, "{after:?}");
}

#[test]
fn banking77_answers_only_when_right() {
    let Some((faq, queries)) = public_set("banking77") else {
        return;
    };
    let m = measure("banking77", &faq, &leave_out("banking77"), &queries);
    assert!(m.top1 >= 0.75, "{m:?}");
    assert!(m.precision >= 0.95, "{m:?}");
    assert!(m.coverage >= 0.20, "{m:?}");
    assert!(m.one_tap >= 0.72, "{m:?}");
}

#[test]
fn banking77_with_three_questions_an_intent_answers_only_when_right() {
    let Some((faq, queries)) = public_set("banking77") else {
        return;
    };
    let faq = sparse(&faq, &[("en", 3)]);
    let m = measure(
        "banking77, 3 an intent",
        &faq,
        &leave_out("banking77"),
        &queries,
    );
    assert!(m.precision >= 0.94, "{m:?}");
    assert!(m.coverage >= 0.04, "{m:?}");
}

#[test]
fn clinc150_answers_a_quarter_and_offers_few_choices_to_what_it_cannot_answer() {
    let Some((faq, queries)) = public_set("clinc150") else {
        return;
    };
    let m = measure("clinc150", &faq, &leave_out("clinc150"), &queries);
    assert!(m.top1 >= 0.79, "{m:?}");
    assert!(m.precision >= 0.95, "{m:?}");
    assert!(m.coverage >= 0.22, "{m:?}");
    assert!(m.one_tap >= 0.75, "{m:?}");
    assert!(m.offered_unanswerable <= 0.35, "{m:?}");
}

#[test]
fn afqmc_ranks_the_right_entry_first_often_enough_on_the_half_nothing_chose() {
    let Some((faq, queries)) = public_set("zh-afqmc") else {
        return;
    };
    // The first half trains the prior (fit_prior.rs); the second is only
    // measured.
    let second = &queries[queries.len() / 2..];
    let m = measure(
        "zh-afqmc, second half",
        &faq,
        &leave_out("zh-afqmc"),
        second,
    );
    assert!(m.top1 >= 0.45, "{m:?}");
}
