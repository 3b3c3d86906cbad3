//! FAQ files as an admin writes them: what loads, and what each mistake
//! looks like (file:line:column, entry id, message), through the public
//! `matcher::faq` API only.

use std::fs;
use std::path::Path;
use std::time::Instant;

use matcher::faq::{self, LoadError, Loaded, Severity};
use tempfile::TempDir;

/// Every diagnostic of a FAQ that must not load, as displayed.
fn errors_of(result: Result<Loaded, LoadError>) -> Vec<String> {
    match result {
        Ok(loaded) => panic!(
            "expected the FAQ to be rejected; it loaded with warnings {:?}",
            loaded.warnings
        ),
        Err(LoadError::Invalid { diagnostics }) => {
            diagnostics.iter().map(ToString::to_string).collect()
        }
        Err(other) => panic!("expected diagnostics, got {other}"),
    }
}

/// The diagnostics of one YAML text named `faq.yaml`.
fn errors_in(text: &str) -> Vec<String> {
    errors_of(faq::load_str("faq.yaml", text))
}

/// Diagnostics of a folder, with the folder's path shortened to `faq/`.
fn errors_in_folder(dir: &TempDir) -> Vec<String> {
    let prefix = format!("{}/", dir.path().display());
    errors_of(faq::load(dir.path()))
        .into_iter()
        .map(|line| line.replace(&prefix, "faq/"))
        .collect()
}

fn folder(files: &[(&str, &str)]) -> TempDir {
    let dir = TempDir::new().unwrap();
    for (name, text) in files {
        fs::write(dir.path().join(name), text).unwrap();
    }
    dir
}

/// A valid header for single-file tests; entries start on line 3.
const HEAD: &str = "version: 1\ndefault_language: zh\n";

const VALID: &str = r#"version: 1
default_language: zh

categories:
  - id: deposit
    title: { zh: 充值与充币, en: Deposits }
  - id: security
    title:
      zh: 账户安全
      en: Security

synonyms:
  - [充币, 充值, 入金, deposit, top up]
  - - 提币
    - withdraw

entries:
  - id: deposit-not-credited
    category: deposit
    questions:
      zh: [充币没有到账怎么办？, 充值一直不到账]
      en: [My deposit has not arrived, Deposit not credited]
    keywords: [未到账, not arrived]
    answer:
      zh: |
        请先在区块浏览器确认交易已达到所需确认数。
      en: |
        First check on a block explorer that the transaction has enough confirmations.
    escalate: false
  - id: account-stolen
    category: security
    questions:
      en: [My account was stolen]
    answer:
      zh: 请立即联系客服冻结账户。
      en: Contact support at once to freeze the account.
    escalate: true
"#;

#[test]
fn a_valid_file_loads_with_all_fields() {
    let dir = folder(&[("faq.yaml", VALID)]);
    let path = dir.path().join("faq.yaml");
    let loaded = faq::load(&path).unwrap();
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let faq = loaded.faq;

    assert_eq!(faq.default_language, "zh");
    assert_eq!(faq.categories.len(), 2);
    assert_eq!(faq.categories[0].id, "deposit");
    assert_eq!(faq.categories[0].title["zh"], "充值与充币");
    assert_eq!(faq.categories[1].title["en"], "Security");
    assert_eq!(
        faq.synonyms,
        vec![
            vec!["充币", "充值", "入金", "deposit", "top up"],
            vec!["提币", "withdraw"],
        ]
    );

    let deposit = faq.entry("deposit-not-credited").unwrap();
    assert_eq!(deposit.category.as_deref(), Some("deposit"));
    assert_eq!(
        deposit.questions["zh"],
        vec!["充币没有到账怎么办？", "充值一直不到账"]
    );
    assert_eq!(deposit.questions["en"].len(), 2);
    assert_eq!(deposit.keywords, vec!["未到账", "not arrived"]);
    assert_eq!(
        deposit.answer["zh"],
        "请先在区块浏览器确认交易已达到所需确认数。"
    );
    assert!(deposit.answer["en"].starts_with("First check"));
    assert!(!deposit.escalate);
    assert_eq!(deposit.source.file, path);
    assert_eq!((deposit.source.line, deposit.source.column), (18, 9));

    let stolen = faq.entry("account-stolen").unwrap();
    assert!(stolen.escalate);
    assert!(!stolen.questions.contains_key("zh"));
    assert_eq!((stolen.source.line, stolen.source.column), (30, 9));
}

#[test]
fn optional_fields_take_their_defaults() {
    let text = format!(
        "{HEAD}entries:\n  - id: hello\n    questions: {{zh: [你好]}}\n    answer: {{zh: 你好！}}\n"
    );
    let loaded = faq::load_str("faq.yaml", &text).unwrap();
    let entry = &loaded.faq.entries[0];
    assert_eq!(entry.category, None);
    assert!(entry.keywords.is_empty());
    assert!(!entry.escalate);
    assert!(loaded.faq.categories.is_empty() && loaded.faq.synonyms.is_empty());
}

#[test]
fn a_typo_in_a_field_name_names_file_line_and_column() {
    let text =
        format!("{HEAD}entries:\n  - id: a\n    questions: {{zh: [问]}}\n    anwser: {{zh: 答}}\n");
    assert_eq!(
        errors_in(&text),
        vec!["faq.yaml:6:5: error: unknown field `anwser` in an entry (did you mean `answer`?)"]
    );
}

#[test]
fn an_unknown_top_level_field_is_an_error() {
    let text = format!("{HEAD}categorys: []\n");
    assert_eq!(
        errors_in(&text),
        vec![
            "faq.yaml:3:1: error: unknown field `categorys` in the top level (did you mean `categories`?)"
        ]
    );
}

#[test]
fn a_language_dedented_out_of_its_answer_is_called_mis_indented() {
    let text = format!(
        "{HEAD}entries:\n  - id: a\n    questions: {{zh: [问]}}\n    answer:\n    zh: 答\n"
    );
    assert_eq!(
        errors_in(&text),
        vec![
            "faq.yaml:7:5: error: unknown field `zh` in an entry: a language code here means it \
             is mis-indented; indent it under `questions:` or `answer:`"
        ]
    );
}

#[test]
fn an_answer_indented_into_the_questions_is_called_mis_indented() {
    let text = format!(
        "{HEAD}entries:\n  - id: a\n    questions:\n      zh: [问]\n      answer:\n        zh: 答\n"
    );
    // The mapping under `answer:` starts at line 8, column 9.
    assert_eq!(
        errors_in(&text),
        vec![
            "faq.yaml:8:9: error: expected a list of texts like `[a, b]`, found a mapping \
             (is the key above it indented too far?)"
        ]
    );
}

#[test]
fn a_key_dedented_out_of_its_list_item_is_a_syntax_error_about_indentation() {
    let text =
        format!("{HEAD}entries:\n  - id: a\n    questions: {{zh: [问]}}\n  answer: {{zh: 答}}\n");
    let errors = errors_in(&text);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].starts_with("faq.yaml:6:3: error: YAML syntax error: "),
        "{errors:?}"
    );
    assert!(errors[0].contains("check the indentation"), "{errors:?}");
}

#[test]
fn a_missing_answer_says_what_was_expected_at_the_entry() {
    let text = format!("{HEAD}entries:\n  - id: a\n    questions: {{zh: [问]}}\n");
    assert_eq!(
        errors_in(&text),
        vec!["faq.yaml:4:9: error: [entry a] entry is missing `answer` (or it is mis-indented)"]
    );
}

#[test]
fn a_missing_id_or_questions_says_what_was_expected() {
    let text = format!(
        "{HEAD}entries:\n  - questions: {{zh: [问]}}\n    answer: {{zh: 答}}\n  - id: b\n    answer: {{zh: 答}}\n"
    );
    assert_eq!(
        errors_in(&text),
        vec![
            "faq.yaml:4:5: error: entry is missing `id` (or it is mis-indented)",
            "faq.yaml:6:9: error: [entry b] entry is missing `questions` (or it is mis-indented)",
        ]
    );
}

#[test]
fn a_syntax_error_is_one_line_with_its_place() {
    let text = format!("{HEAD}entries:\n  - id: \"a\n    questions: {{zh: [问]}}\n");
    assert_eq!(
        errors_in(&text),
        vec!["faq.yaml:4:9: error: YAML syntax error: unclosed quote"]
    );
}

#[test]
fn a_value_of_the_wrong_type_names_its_place() {
    let text = format!(
        "{HEAD}entries:\n  - id: a\n    questions: {{zh: [问]}}\n    answer: {{zh: 答}}\n    escalate: maybe\n"
    );
    assert_eq!(
        errors_in(&text),
        vec!["faq.yaml:7:15: error: expected `true` or `false`"]
    );
}

#[test]
fn a_wrong_type_is_the_only_error_reported_for_its_file_as_the_readme_says() {
    // The wrong type on line 7 and the missing answer of entry b below it:
    // only the first is reported (the parser stops there).
    let text = format!(
        "{HEAD}entries:\n  - id: a\n    questions: {{zh: [问]}}\n    answer: {{zh: 答}}\n    escalate: maybe\n  - id: b\n    questions: {{zh: [问问]}}\n"
    );
    assert_eq!(
        errors_in(&text),
        vec!["faq.yaml:7:15: error: expected `true` or `false`"]
    );
    let readme = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md"))
        .unwrap()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        readme.contains(
            "A file that cannot be read as YAML of the FAQ's shape (a syntax error, a tab in the \
             indentation, a wrong type, an unknown field) reports that first error only"
        ),
        "the README must say what `check` reports after such an error"
    );
}

#[test]
fn a_duplicate_key_is_an_error() {
    let text = format!(
        "{HEAD}entries:\n  - id: a\n    questions: {{zh: [问]}}\n    answer: {{zh: 答, zh: 又答}}\n"
    );
    assert_eq!(
        errors_in(&text),
        vec!["faq.yaml:6:21: error: `zh` appears twice here; each key may appear only once"]
    );
}

#[test]
fn a_version_other_than_1_is_an_error_at_its_value() {
    assert_eq!(
        errors_in("version: 2\ndefault_language: zh\n"),
        vec!["faq.yaml:1:10: error: unsupported version 2: this helpdesk reads `version: 1`"]
    );
}

#[test]
fn a_file_without_version_or_default_language_is_an_error_at_its_start() {
    assert_eq!(
        errors_in("entries: []\n"),
        vec![
            "faq.yaml:1:1: error: missing `version: 1` (every FAQ file starts with it)",
            "faq.yaml:1:1: error: missing `default_language` (e.g. `default_language: zh`): \
             answers fall back to it",
        ]
    );
}

#[test]
fn duplicate_entry_ids_name_both_places() {
    let text = format!(
        "{HEAD}entries:\n  - id: a\n    questions: {{zh: [问一]}}\n    answer: {{zh: 答}}\n  - id: a\n    questions: {{zh: [问二]}}\n    answer: {{zh: 答}}\n"
    );
    assert_eq!(
        errors_in(&text),
        vec!["faq.yaml:7:9: error: [entry a] duplicate id `a` (first defined at faq.yaml:4:9)"]
    );
}

#[test]
fn duplicate_category_ids_name_both_places() {
    let text = format!("{HEAD}categories:\n  - id: deposit\n  - id: deposit\n");
    assert_eq!(
        errors_in(&text),
        vec![
            "faq.yaml:5:9: error: duplicate category id `deposit` (first defined at faq.yaml:4:9)"
        ]
    );
}

#[test]
fn an_unknown_category_is_an_error_at_its_value() {
    let text = format!(
        "{HEAD}categories:\n  - id: deposit\nentries:\n  - id: a\n    category: deposits\n    questions: {{zh: [问]}}\n    answer: {{zh: 答}}\n  - id: b\n    category: security\n    questions: {{zh: [问二]}}\n    answer: {{zh: 答}}\n"
    );
    assert_eq!(
        errors_in(&text),
        vec![
            "faq.yaml:7:15: error: [entry a] unknown category `deposits` (did you mean `deposit`?)",
            "faq.yaml:11:15: error: [entry b] unknown category `security`: it is not defined under `categories:`",
        ]
    );
}

#[test]
fn an_entry_without_any_question_is_an_error() {
    let text = format!(
        "{HEAD}entries:\n  - id: a\n    questions: {{}}\n    answer: {{zh: 答}}\n  - id: b\n    questions:\n      zh: []\n      en: []\n    answer: {{zh: 答}}\n"
    );
    assert_eq!(
        errors_in(&text),
        vec![
            "faq.yaml:5:16: error: [entry a] entry has no questions: add at least one, e.g. `zh: [充币没有到账怎么办]`",
            "faq.yaml:9:7: error: [entry b] entry has no questions: add at least one, e.g. `zh: [充币没有到账怎么办]`",
        ]
    );
}

#[test]
fn an_entry_without_an_answer_in_the_default_language_is_an_error() {
    let text = format!(
        "{HEAD}entries:\n  - id: a\n    questions: {{en: [Hello]}}\n    answer:\n      en: Hi\n"
    );
    assert_eq!(
        errors_in(&text),
        vec!["faq.yaml:7:7: error: [entry a] no answer in the default language `zh`"]
    );
}

#[test]
fn an_empty_answer_is_an_error_at_its_text() {
    let text = format!(
        "{HEAD}entries:\n  - id: a\n    questions: {{zh: [问]}}\n    answer:\n      zh: \"  \"\n      en:\n"
    );
    assert_eq!(
        errors_in(&text),
        vec![
            "faq.yaml:7:11: error: [entry a] empty answer in `zh`",
            "faq.yaml:8:9: error: [entry a] empty answer in `en`",
        ]
    );
}

#[test]
fn ids_with_other_characters_are_errors() {
    let text = format!(
        "{HEAD}categories:\n  - id: Deposit\nentries:\n  - id: deposit not credited\n    questions: {{zh: [问]}}\n    answer: {{zh: 答}}\n  - id: \"\"\n    questions: {{zh: [问二]}}\n    answer: {{zh: 答}}\n"
    );
    assert_eq!(
        errors_in(&text),
        vec![
            "faq.yaml:4:9: error: id `Deposit` may only use lowercase letters a-z, digits, `_` and `-`",
            "faq.yaml:6:9: error: [entry deposit not credited] id `deposit not credited` may only use lowercase letters a-z, digits, `_` and `-`",
            "faq.yaml:9:9: error: [entry ] the id is empty",
        ]
    );
}

#[test]
fn language_codes_must_be_short_lowercase_tags() {
    let text = "version: 1\ndefault_language: Chinese\nentries:\n  - id: a\n    questions: {zh_CN: [问]}\n    answer: {ZH: 答}\n";
    assert_eq!(
        errors_in(text),
        vec![
            "faq.yaml:2:19: error: `Chinese` is not a language code: use a short lowercase tag like `zh`, `en` or `pt-br`",
            "faq.yaml:5:17: error: [entry a] `zh_CN` is not a language code: use a short lowercase tag like `zh`, `en` or `pt-br`",
            "faq.yaml:6:14: error: [entry a] `ZH` is not a language code: use a short lowercase tag like `zh`, `en` or `pt-br`",
        ]
    );
}

#[test]
fn empty_questions_are_errors_at_their_place() {
    let text = format!(
        "{HEAD}entries:\n  - id: a\n    questions:\n      zh: [问, \"\"]\n      en:\n        - Hello\n        -\n    answer: {{zh: 答}}\n"
    );
    assert_eq!(
        errors_in(&text),
        vec![
            "faq.yaml:6:15: error: [entry a] empty question",
            "faq.yaml:9:10: error: [entry a] empty question",
        ]
    );
}

#[test]
fn a_synonym_group_needs_two_terms() {
    let text = format!("{HEAD}synonyms:\n  - [充币, 充值]\n  - [提币]\n  - []\n");
    assert_eq!(
        errors_in(&text),
        vec![
            "faq.yaml:5:5: error: a synonym group needs at least 2 terms, this one has 1",
            "faq.yaml:6:5: error: a synonym group needs at least 2 terms, this one has 0",
        ]
    );
}

#[test]
fn every_error_of_every_file_is_reported_sorted_by_place() {
    let dir = folder(&[
        (
            "b.yaml",
            "version: 1\nentries:\n  - id: Bad\n    questions: {zh: [问]}\n    answer: {zh: 答}\n",
        ),
        (
            "a.yaml",
            "version: 3\ndefault_language: zh\nentries:\n  - id: x\n    questions: {}\n    answer: {zh: \"\"}\n",
        ),
    ]);
    assert_eq!(
        errors_in_folder(&dir),
        vec![
            "faq/a.yaml:1:10: error: unsupported version 3: this helpdesk reads `version: 1`",
            "faq/a.yaml:5:16: error: [entry x] entry has no questions: add at least one, e.g. `zh: [充币没有到账怎么办]`",
            "faq/a.yaml:6:18: error: [entry x] empty answer in `zh`",
            "faq/b.yaml:3:9: error: [entry Bad] id `Bad` may only use lowercase letters a-z, digits, `_` and `-`",
        ]
    );
}

#[test]
fn a_folder_merges_its_files_in_name_order() {
    let dir = folder(&[
        (
            "20-entries.yml",
            "version: 1\nentries:\n  - id: deposit-late\n    category: deposit\n    questions: {zh: [充币没到账]}\n    answer: {zh: 请稍候。}\n",
        ),
        (
            "10-main.yaml",
            "version: 1\ndefault_language: zh\ncategories:\n  - id: deposit\n    title: {zh: 充值}\nsynonyms:\n  - [充币, 充值]\nentries:\n  - id: hello\n    questions: {zh: [你好]}\n    answer: {zh: 你好！}\n",
        ),
        ("notes.txt", "not a FAQ file"),
        ("30-more.yaml.bak", "not: yaml: at all: ["),
    ]);
    let loaded = faq::load(dir.path()).unwrap();
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let faq = loaded.faq;
    assert_eq!(faq.default_language, "zh");
    let ids: Vec<&str> = faq.entries.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, vec!["hello", "deposit-late"]);
    assert_eq!(faq.categories.len(), 1);
    assert_eq!(faq.synonyms.len(), 1);
    let late = faq.entry("deposit-late").unwrap();
    assert_eq!(late.category.as_deref(), Some("deposit"));
    assert_eq!(late.source.file, dir.path().join("20-entries.yml"));
    assert_eq!((late.source.line, late.source.column), (3, 9));
}

#[test]
fn default_language_that_disagrees_between_files_is_an_error_at_the_second() {
    let dir = folder(&[
        ("a.yaml", "version: 1\ndefault_language: zh\n"),
        ("b.yaml", "version: 1\ndefault_language: en\n"),
        ("c.yaml", "version: 1\ndefault_language: zh\n"),
    ]);
    assert_eq!(
        errors_in_folder(&dir),
        vec![
            "faq/b.yaml:2:19: error: default_language `en` disagrees with `zh` set at faq/a.yaml:2:19"
        ]
    );
}

#[test]
fn a_folder_without_default_language_is_an_error_without_a_place() {
    let dir = folder(&[("a.yaml", "version: 1\n"), ("b.yaml", "version: 1\n")]);
    assert_eq!(
        errors_in_folder(&dir),
        vec![
            "error: no file sets `default_language` (e.g. `default_language: zh`); one file must: \
             answers fall back to it"
        ]
    );
}

#[test]
fn every_file_of_a_folder_needs_its_version() {
    let dir = folder(&[
        ("a.yaml", "version: 1\ndefault_language: zh\n"),
        ("b.yaml", "entries: []\n"),
    ]);
    assert_eq!(
        errors_in_folder(&dir),
        vec!["faq/b.yaml:1:1: error: missing `version: 1` (every FAQ file starts with it)"]
    );
}

#[test]
fn a_duplicate_id_across_two_files_names_both_places() {
    let entry =
        "entries:\n  - id: withdraw-how\n    questions: {zh: [QUESTION]}\n    answer: {zh: 答}\n";
    let dir = folder(&[
        (
            "a.yaml",
            &format!("{HEAD}{}", entry.replace("QUESTION", "怎么提币")),
        ),
        (
            "b.yaml",
            &format!("version: 1\n\n{}", entry.replace("QUESTION", "提现要多久")),
        ),
    ]);
    assert_eq!(
        errors_in_folder(&dir),
        vec![
            "faq/b.yaml:4:9: error: [entry withdraw-how] duplicate id `withdraw-how` (first defined at faq/a.yaml:4:9)"
        ]
    );
}

#[test]
fn a_syntax_error_in_one_file_does_not_hide_the_others_or_invent_errors() {
    // b.yaml defines the category a.yaml uses, but cannot be parsed: the
    // category is not reported unknown, and a.yaml's own error still shows.
    let dir = folder(&[
        (
            "a.yaml",
            "version: 1\ndefault_language: zh\nentries:\n  - id: a\n    category: deposit\n    questions: {zh: [\"\"]}\n    answer: {zh: 答}\n",
        ),
        (
            "b.yaml",
            "version: 1\ncategories:\n  - id: deposit\n    title: {zh: \"充值}\n",
        ),
    ]);
    let errors = errors_in_folder(&dir);
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert_eq!(
        errors[0],
        "faq/a.yaml:6:22: error: [entry a] empty question"
    );
    assert!(errors[1].starts_with("faq/b.yaml:4:"), "{errors:?}");
    assert!(errors[1].contains("YAML syntax error"), "{errors:?}");
}

#[test]
fn an_empty_folder_is_an_error_without_a_place() {
    let dir = folder(&[("README.md", "# FAQ\n")]);
    let errors = errors_of(faq::load(dir.path()));
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0].starts_with("error: no FAQ files (*.yaml, *.yml) in the folder "),
        "{errors:?}"
    );
    let empty = TempDir::new().unwrap();
    assert_eq!(errors_of(faq::load(empty.path())).len(), 1);
}

#[test]
fn a_path_that_does_not_exist_is_an_io_error() {
    let dir = TempDir::new().unwrap();
    let missing = dir.path().join("nowhere.yaml");
    match faq::load(&missing) {
        Err(LoadError::Io { path, .. }) => assert_eq!(path, missing),
        other => panic!("expected an I/O error, got {other:?}"),
    }
}

#[test]
fn questions_of_different_entries_that_normalise_the_same_are_a_warning() {
    let text = format!(
        "{HEAD}entries:\n  - id: withdraw-failed\n    questions: {{zh: [提币失败怎么办？]}}\n    answer: {{zh: 答}}\n  - id: withdraw-error\n    questions:\n      zh: [提幣失敗 怎麼辦]\n    answer: {{zh: 答}}\n"
    );
    let loaded = faq::load_str("faq.yaml", &text).unwrap();
    let warnings: Vec<String> = loaded.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(
        warnings,
        vec![
            "faq.yaml:9:12: warning: [entry withdraw-error] question \"提幣失敗 怎麼辦\" is the same as \
             \"提币失败怎么办？\" of entry `withdraw-failed` (faq.yaml:5:22); the matcher may confuse them"
        ]
    );
    assert_eq!(loaded.warnings[0].severity, Severity::Warning);
    assert_eq!(
        loaded.warnings[0].entry_id.as_deref(),
        Some("withdraw-error")
    );
}

#[test]
fn nearly_identical_questions_of_different_entries_are_a_warning() {
    let text = format!(
        "{HEAD}entries:\n  - id: a\n    questions: {{en: [How long does a withdrawal take]}}\n    answer: {{zh: 答}}\n  - id: b\n    questions: {{en: [How long does a withdrawal takes, Something else entirely]}}\n    answer: {{zh: 答}}\n"
    );
    let loaded = faq::load_str("faq.yaml", &text).unwrap();
    let warnings: Vec<String> = loaded.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(
        warnings,
        vec![
            "faq.yaml:8:22: warning: [entry b] question \"How long does a withdrawal takes\" is nearly \
             the same as \"How long does a withdrawal take\" of entry `a` (faq.yaml:5:22); the matcher \
             may confuse them"
        ]
    );
}

#[test]
fn similar_questions_within_one_entry_are_fine() {
    let text = format!(
        "{HEAD}entries:\n  - id: a\n    questions: {{zh: [提币失败怎么办, 提币失败怎么办？, 提幣失敗怎麼辦]}}\n    answer: {{zh: 答}}\n"
    );
    assert!(
        faq::load_str("faq.yaml", &text)
            .unwrap()
            .warnings
            .is_empty()
    );
}

#[test]
fn a_long_id_and_an_escalation_without_category_are_warnings() {
    let long = "a".repeat(49);
    let text = format!(
        "{HEAD}entries:\n  - id: {long}\n    questions: {{zh: [问]}}\n    answer: {{zh: 答}}\n    escalate: true\n"
    );
    let loaded = faq::load_str("faq.yaml", &text).unwrap();
    let warnings: Vec<String> = loaded.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(
        warnings,
        vec![
            format!(
                "faq.yaml:4:9: warning: [entry {long}] id is 49 characters long; keep it to 48 or \
                 fewer (Telegram callback data is limited to 64 bytes)"
            ),
            format!(
                "faq.yaml:7:15: warning: [entry {long}] `escalate: true` without a `category`: its \
                 tickets reach agents uncategorised"
            ),
        ]
    );
}

#[test]
fn warnings_come_with_the_errors_when_a_faq_is_rejected() {
    let text = format!(
        "{HEAD}entries:\n  - id: a\n    questions: {{zh: [问]}}\n    answer: {{zh: 答}}\n    escalate: true\n  - id: B\n    questions: {{zh: [问二]}}\n    answer: {{zh: 答}}\n"
    );
    let Err(LoadError::Invalid { diagnostics }) = faq::load_str("faq.yaml", &text) else {
        panic!("expected errors");
    };
    let severities: Vec<Severity> = diagnostics.iter().map(|d| d.severity).collect();
    assert_eq!(severities, vec![Severity::Warning, Severity::Error]);
}

/// A FAQ of `entries` entries with three distinct questions each, made of
/// pseudo-random Chinese characters and English words.
fn big_faq(entries: usize) -> String {
    let mut state = 99u64;
    let mut next = move |below: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % below as u64) as usize
    };
    let hanzi: Vec<char> = "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处队南给色光门即保治北造百规热领七海口东导器压志世金增争济阶油思术极交受联什认六共权收证改清己美再采转更单风切打白教速花带安场身车例真务具万每目至达走积示议声报斗完类八离华名确才科张信马节话米整空元况今集温传土许步群广石记需段研界拉林律叫且究观越织装影算低持音众书布复容儿须际商非验连断深难近矿千周委素技备半办青省列习响约支般史感劳便团往酸历市克何除消构府称太准精值号率族维划选标写存候毛亲快效斯院查江型眼王按格养易置派层片始却专状育厂京识适属圆包火住调满县局照参红细引听该铁价严".chars().collect();
    let words = [
        "deposit", "withdraw", "account", "password", "verify", "identity", "card", "bank",
        "transfer", "fee", "limit", "order", "trade", "margin", "futures", "wallet", "address",
        "network", "token", "reward", "referral", "security", "phone", "email", "login", "device",
        "freeze", "unlock", "kyc", "tax",
    ];
    let mut text = String::from(
        "version: 1\ndefault_language: zh\ncategories:\n  - id: general\n    title: {zh: 常见问题}\nentries:\n",
    );
    for i in 0..entries {
        let mut chinese =
            |len: usize| -> String { (0..len).map(|_| hanzi[next(hanzi.len())]).collect() };
        let (first, second) = (chinese(8 + i % 7), chinese(6 + i % 11));
        let english: Vec<&str> = (0..6).map(|_| words[next(words.len())]).collect();
        let english = english.join(" ");
        text.push_str(&format!(
            "  - id: entry-{i}\n    category: general\n    questions:\n      zh: [{first}, {second}]\n      en: [{english}]\n    keywords: [k{i}]\n    answer:\n      zh: 第{i}号的回答。\n      en: Answer {i}.\n"
        ));
    }
    text
}

#[test]
fn a_large_faq_loads() {
    let loaded = faq::load_str("big.yaml", &big_faq(2_000)).unwrap();
    assert_eq!(loaded.faq.entries.len(), 2_000);
    assert!(loaded.warnings.is_empty(), "{:?}", &loaded.warnings[..1]);
}

/// Run with `cargo test --release -p tests --test it -- --ignored faq_files`.
#[test]
#[ignore = "a timing check; meaningful only in release builds"]
fn ten_thousand_entries_load_well_under_a_second_in_release() {
    let text = big_faq(10_000);
    let started = Instant::now();
    let loaded = faq::load_str("big.yaml", &text).unwrap();
    let elapsed = started.elapsed();
    eprintln!(
        "loaded {} entries ({} warnings) in {elapsed:?}",
        loaded.faq.entries.len(),
        loaded.warnings.len()
    );
    assert_eq!(loaded.faq.entries.len(), 10_000);
    assert!(elapsed.as_millis() < 1_000, "took {elapsed:?}");
}

#[test]
fn the_bundled_faq_loads_without_errors() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../faq-data");
    match faq::load(&path) {
        Ok(loaded) => assert!(!loaded.faq.entries.is_empty()),
        Err(LoadError::Invalid { diagnostics }) => {
            let lines: Vec<String> = diagnostics.iter().map(ToString::to_string).collect();
            panic!("the bundled FAQ is invalid:\n{}", lines.join("\n"));
        }
        Err(other) => panic!("{other}"),
    }
}
