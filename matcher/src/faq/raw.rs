//! One FAQ file as written: serde structs that keep the place of every value
//! (`Spanned`), and the translation of YAML and type errors into one-line
//! messages of our own.
//!
//! Nothing here knows what makes a FAQ valid (that is `validate`): every
//! field is optional so that a missing field becomes a validation error at a
//! useful place, collected with all the others, instead of stopping the
//! parse. What serde cannot recover from (a syntax error, an unknown field,
//! a value of the wrong shape) stops this file only.
//!
//! The same structs give the JSON Schema of a FAQ file ([`json_schema`]) for
//! editors: the `schemars` attributes say what the schema needs that serde
//! does not (required fields, id and language patterns, descriptions). The
//! schema checks one file's shape; rules across files (unique ids, known
//! categories, an answer in the default language) stay with `helpdesk check`.

use std::fmt;
use std::marker::PhantomData;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::Deserialize;
use serde::de::{self, Deserializer};
use serde_saphyr::{Location, Spanned};

/// A text value; `None` when the YAML has nothing there (`zh:` or `- `),
/// which validation reports as an empty text rather than a type error.
pub(super) type Text = Spanned<Option<String>>;

/// The top level of a FAQ file.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(
    title = "helpdesk FAQ file",
    description = "One FAQ file of helpdesk (a folder's *.yaml files are merged). Format: shared/faq-format.md; `helpdesk check` validates across files."
)]
pub(super) struct RawFile {
    #[schemars(
        with = "u64",
        range(min = 1, max = 1),
        description = "The format version; 1 is the only one so far."
    )]
    pub version: Option<Spanned<u64>>,
    #[schemars(
        with = "Option<LanguageCode>",
        description = "Answers fall back to this language. Required in at least one file of a folder, and the same wherever it appears."
    )]
    pub default_language: Option<Spanned<String>>,
    #[schemars(
        with = "Option<Vec<RawCategory>>",
        description = "Categories for the browse menu; entries of any file may use them."
    )]
    pub categories: Option<Vec<Spanned<RawCategory>>>,
    #[schemars(
        with = "Option<Vec<TextList>>",
        description = "Groups of terms that match each other, e.g. [提币, 提现, withdraw]."
    )]
    pub synonyms: Option<Vec<Spanned<TextList>>>,
    #[schemars(
        with = "Option<Vec<RawEntry>>",
        description = "The questions and their answers."
    )]
    pub entries: Option<Vec<Spanned<RawEntry>>>,
}

/// The names of the top-level fields, for messages about mis-indented keys.
const FILE_FIELDS: &[&str] = &[
    "version",
    "default_language",
    "categories",
    "synonyms",
    "entries",
];

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Category")]
pub(super) struct RawCategory {
    #[schemars(
        with = "Id",
        description = "Unique across all files; entries name it in `category`."
    )]
    pub id: Option<Spanned<String>>,
    #[schemars(
        with = "Option<LangMap<Text>>",
        description = "The category's name per language, e.g. { zh: 充值, en: Deposits }."
    )]
    pub title: Option<Spanned<LangMap<Text>>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Entry")]
pub(super) struct RawEntry {
    #[schemars(
        with = "Id",
        description = "Unique across all files; [a-z0-9_-]+ (agents type it in /faq ID and /link ID)."
    )]
    pub id: Option<Spanned<String>>,
    #[schemars(
        with = "Option<Id>",
        description = "A category id from `categories` (of any file)."
    )]
    pub category: Option<Spanned<String>>,
    #[schemars(
        with = "LangMap<TextList>",
        description = "Ways users ask it, per language: at least one question in one language."
    )]
    pub questions: Option<Spanned<LangMap<TextList>>>,
    #[schemars(description = "Extra terms that point to this entry.")]
    pub keywords: Option<TextList>,
    #[schemars(
        with = "LangMap<Text>",
        description = "The answer per language, plain text; one in the default language is required."
    )]
    pub answer: Option<Spanned<LangMap<Text>>>,
    #[schemars(
        with = "Option<bool>",
        description = "true: answer AND open an urgent ticket (e.g. a stolen account)."
    )]
    pub escalate: Option<Spanned<bool>>,
}

const ENTRY_FIELDS: &[&str] = &[
    "id",
    "category",
    "questions",
    "keywords",
    "answer",
    "escalate",
];

/// A list of texts (`[a, b]` or `- a` lines). Deserialized by hand so that a
/// wrong shape says what was expected in our words.
#[derive(Debug, Default)]
pub(super) struct TextList(pub Vec<Text>);

impl<'de> Deserialize<'de> for TextList {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;

        impl<'de> de::Visitor<'de> for Visitor {
            type Value = TextList;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of texts like `[a, b]`")
            }

            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<TextList, A::Error> {
                let mut texts = Vec::new();
                while let Some(text) = seq.next_element()? {
                    texts.push(text);
                }
                Ok(TextList(texts))
            }
        }

        deserializer.deserialize_any(Visitor)
    }
}

/// A mapping from language code to a value, in file order. The keys keep
/// their places so a bad language code can be pointed at.
#[derive(Debug)]
pub(super) struct LangMap<T>(pub Vec<(Spanned<String>, T)>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for LangMap<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor<T>(PhantomData<T>);

        impl<'de, T: Deserialize<'de>> de::Visitor<'de> for Visitor<T> {
            type Value = LangMap<T>;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("language codes with their texts, like `zh: ...`")
            }

            fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<LangMap<T>, A::Error> {
                let mut pairs = Vec::new();
                while let Some(key) = map.next_key()? {
                    let value = map.next_value()?;
                    pairs.push((key, value));
                }
                Ok(LangMap(pairs))
            }
        }

        deserializer.deserialize_any(Visitor(PhantomData))
    }
}

/// An entry or category id, for the schema only.
struct Id;

impl JsonSchema for Id {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Id".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "string", "pattern": "^[a-z0-9_-]+$" })
    }
}

/// A language code (`zh`, `en`, `pt-br`), for the schema only.
struct LanguageCode;

/// `validate::is_language_code` as a regular expression.
const LANGUAGE_CODE_PATTERN: &str = "^[a-z]{2,3}(-[a-z0-9]+)*$";

impl JsonSchema for LanguageCode {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "LanguageCode".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "string", "pattern": LANGUAGE_CODE_PATTERN })
    }
}

impl JsonSchema for TextList {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "TextList".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "array", "items": { "type": "string", "minLength": 1 } })
    }
}

/// One text (an answer, a title).
impl JsonSchema for LangMap<Text> {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "TextPerLanguage".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "object",
            "minProperties": 1,
            "propertyNames": { "pattern": LANGUAGE_CODE_PATTERN },
            "additionalProperties": { "type": "string", "minLength": 1 }
        })
    }
}

/// Several texts (questions).
impl JsonSchema for LangMap<TextList> {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "TextsPerLanguage".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "object",
            "minProperties": 1,
            "propertyNames": { "pattern": LANGUAGE_CODE_PATTERN },
            "additionalProperties": generator.subschema_for::<TextList>()
        })
    }
}

/// The JSON Schema (draft 07, which editors support best) of one FAQ file,
/// derived from the structs the loader reads, so it cannot drift from them.
pub fn json_schema() -> serde_json::Value {
    let generator = schemars::generate::SchemaSettings::draft07().into_generator();
    let schema = generator.into_root_schema_for::<RawFile>();
    let mut value = serde_json::to_value(schema).expect("a schema is plain JSON");
    without_null(&mut value);
    value
}

/// Optional fields come out as "this or null"; an empty YAML value is no
/// more welcome than a missing one, so the schema says only "this".
fn without_null(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            if let Some(Value::Array(types)) = map.get_mut("type") {
                types.retain(|t| t != "null");
                if types.len() == 1 {
                    let only = types.remove(0);
                    map.insert("type".to_owned(), only);
                }
            }
            if let Some(Value::Array(choices)) = map.get_mut("anyOf") {
                choices.retain(|c| c.get("type").is_none_or(|t| t != "null"));
                if choices.len() == 1 {
                    let only = choices.remove(0);
                    map.remove("anyOf");
                    match only {
                        // Draft 07 ignores the siblings of a `$ref` (the
                        // description): keep it apart, as schemars does.
                        Value::Object(inner) if inner.contains_key("$ref") => {
                            map.insert(
                                "allOf".to_owned(),
                                Value::Array(vec![Value::Object(inner)]),
                            );
                        }
                        Value::Object(inner) => map.extend(inner),
                        _ => {}
                    }
                }
            }
            map.values_mut().for_each(without_null);
        }
        Value::Array(items) => items.iter_mut().for_each(without_null),
        _ => {}
    }
}

/// Why a file could not be read as YAML of the expected shape.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct SyntaxError {
    /// 1-based; `None` when the library gave no place.
    pub line_column: Option<(u32, u32)>,
    pub message: String,
}

/// Parses one FAQ file. An empty file (or one with only comments) is an
/// empty [`RawFile`]; validation then reports what is missing.
pub(super) fn parse(text: &str) -> Result<RawFile, SyntaxError> {
    let mut options = serde_saphyr::Options::default();
    // Our messages are one line; the caller prints file:line:column.
    options.with_snippet = false;
    options.duplicate_keys = serde_saphyr::DuplicateKeyPolicy::Error;
    // The default budget (250,000 nodes) is for configuration files; a FAQ
    // of 10,000 entries has more nodes than that. The limits stay finite.
    let mut budget = serde_saphyr::Budget::default();
    budget.max_nodes = 20_000_000;
    budget.max_events = 50_000_000;
    options.budget = Some(budget);

    serde_saphyr::from_str_with_options::<Option<RawFile>>(text, options)
        .map(Option::unwrap_or_default)
        .map_err(|error| {
            let line_column = error.location().and_then(line_column);
            // The parser places a tab in the indentation at the end of the
            // line before it; point at the tab itself.
            let near = |tab: &(u32, u32)| {
                line_column.is_none_or(|(line, _)| tab.0 == line || tab.0 == line + 1)
            };
            match indentation_tabs(text).find(near) {
                Some(tab) => SyntaxError {
                    line_column: Some(tab),
                    message: "a tab in the indentation: YAML indents with spaces only".to_owned(),
                },
                None => SyntaxError {
                    line_column,
                    message: describe(&error),
                },
            }
        })
}

/// Each line's first tab in its leading whitespace (1-based line and column).
fn indentation_tabs(text: &str) -> impl Iterator<Item = (u32, u32)> + '_ {
    text.lines().enumerate().filter_map(|(index, line)| {
        let indentation = &line[..line.len() - line.trim_start().len()];
        let column = indentation.chars().position(|c| c == '\t')?;
        Some((
            u32::try_from(index + 1).ok()?,
            u32::try_from(column + 1).ok()?,
        ))
    })
}

/// The 1-based line and column of a library location, if it is known.
pub(super) fn line_column(location: Location) -> Option<(u32, u32)> {
    let line = u32::try_from(location.line()).ok()?;
    let column = u32::try_from(location.column()).ok()?;
    (line > 0).then_some((line, column.max(1)))
}

/// A one-line message in our words for a library error.
fn describe(error: &serde_saphyr::Error) -> String {
    use serde_saphyr::Error as E;
    match error.without_snippet() {
        E::SerdeUnknownField {
            field, expected, ..
        } => unknown_field(field, expected),
        E::SerdeMissingField { field, .. } => {
            format!("missing `{field}` (or it is mis-indented)")
        }
        E::SerdeInvalidType {
            unexpected,
            expected,
            ..
        }
        | E::SerdeInvalidValue {
            unexpected,
            expected,
            ..
        } => {
            let found = found(unexpected);
            let mut message = format!("expected {expected}, found {found}");
            if found == "a mapping" {
                message.push_str(" (is the key above it indented too far?)");
            }
            message
        }
        E::Unexpected { expected, .. } => match *expected {
            "sequence start" => "expected a list here (`[a, b]` or `- a` lines)".to_owned(),
            "mapping start" => "expected `key: value` lines here".to_owned(),
            "string scalar" | "scalar" => {
                "expected a text here, found a list or a mapping".to_owned()
            }
            other => format!("expected {other} here"),
        },
        E::InvalidScalar { ty, .. } => match *ty {
            "bool" | "boolean" => "expected `true` or `false`".to_owned(),
            ty if ty.starts_with('u') || ty.starts_with('i') => {
                "expected a whole number like `1`".to_owned()
            }
            ty => format!("this value is not a valid {ty}"),
        },
        E::InvalidBooleanStrict { .. } => "expected `true` or `false`".to_owned(),
        E::NullIntoString { .. } => "expected a text, found nothing".to_owned(),
        E::DuplicateMappingKey { key, .. } => match key {
            Some(key) => format!("`{key}` appears twice here; each key may appear only once"),
            None => "a key appears twice here; each key may appear only once".to_owned(),
        },
        E::Eof { .. } => "the file ends in the middle of a value".to_owned(),
        E::MultipleDocuments { .. } => {
            "more than one YAML document (`---`) in one file; use one file per document".to_owned()
        }
        E::InvalidUtf8Input => "the file is not UTF-8 text".to_owned(),
        E::ExternalMessage { msg, .. } => syntax(msg),
        E::AliasError { error, .. } => describe(error),
        other => syntax(&other.to_string()),
    }
}

/// A YAML syntax error from the parser, as one line, with a hint when it is
/// most likely a mis-indented line.
fn syntax(message: &str) -> String {
    let first_line = message.lines().next().unwrap_or_default();
    let message = strip_location_suffix(first_line);
    let indentation = [
        "indent",
        "'-' indicator",
        "block",
        "mapping values are not allowed",
    ]
    .iter()
    .any(|hint| message.contains(hint));
    if indentation {
        format!(
            "YAML syntax error: {message} (check the indentation of this line and the one above)"
        )
    } else {
        format!("YAML syntax error: {message}")
    }
}

/// The library appends " at line L, column C"; we print the place ourselves.
fn strip_location_suffix(message: &str) -> &str {
    match message.rfind(" at line ") {
        Some(at) if message[at..].contains(", column ") => &message[..at],
        _ => message,
    }
}

/// serde's words for what it found, in ours.
fn found(unexpected: &str) -> String {
    match unexpected {
        "map" => "a mapping".to_owned(),
        "sequence" => "a list".to_owned(),
        "unit" | "null" => "nothing".to_owned(),
        other => other.to_owned(),
    }
}

/// An unknown field, named with where it was found and what it might be.
fn unknown_field(field: &str, expected: &[&str]) -> String {
    let place = if expected.contains(&"questions") {
        "an entry"
    } else if expected.contains(&"title") {
        "a category"
    } else if expected.contains(&"version") {
        "the top level"
    } else {
        "this mapping"
    };
    let mut message = format!("unknown field `{field}` in {place}");

    let closest = expected
        .iter()
        .map(|name| (strsim::normalized_damerau_levenshtein(field, name), name))
        .filter(|(score, _)| *score >= 0.6)
        .max_by(|a, b| a.0.total_cmp(&b.0));
    if let Some((_, name)) = closest {
        message.push_str(&format!(" (did you mean `{name}`?)"));
    } else if place == "an entry" && super::validate::is_language_code(field) {
        message.push_str(
            ": a language code here means it is mis-indented; \
             indent it under `questions:` or `answer:`",
        );
    } else if place == "a category" && super::validate::is_language_code(field) {
        message
            .push_str(": a language code here means it is mis-indented; indent it under `title:`");
    } else if place == "the top level" && ENTRY_FIELDS.contains(&field) {
        message.push_str(&format!(
            ": `{field}` belongs to an entry; is it mis-indented? Entries go under `entries:` as `- id: ...`"
        ));
    } else if place == "an entry" && FILE_FIELDS.contains(&field) {
        message.push_str(&format!(
            ": `{field}` belongs to the top level; is it indented too far?"
        ));
    } else {
        message.push_str(&format!("; expected one of: {}", expected.join(", ")));
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(text: &str) -> SyntaxError {
        parse(text).expect_err("should not parse")
    }

    #[test]
    fn the_schema_names_required_fields_and_refuses_unknown_ones() {
        let schema = json_schema();
        assert_eq!(schema["required"], serde_json::json!(["version"]));
        assert_eq!(schema["additionalProperties"], false);
        let entry = &schema["definitions"]["Entry"];
        assert_eq!(
            entry["required"],
            serde_json::json!(["id", "questions", "answer"])
        );
        assert_eq!(entry["additionalProperties"], false);
        assert!(!schema.to_string().contains("null"), "{schema:#}");
    }

    #[test]
    fn an_empty_file_is_an_empty_faq() {
        let file = parse("").unwrap();
        assert!(file.version.is_none() && file.entries.is_none());
        let file = parse("# nothing yet\n").unwrap();
        assert!(file.version.is_none());
    }

    #[test]
    fn values_keep_their_line_and_column() {
        let file = parse("version: 1\nentries:\n  - id: x\n    questions: {zh: [a]}\n").unwrap();
        let entry = &file.entries.unwrap()[0].value;
        let id = entry.id.as_ref().unwrap();
        assert_eq!((id.referenced.line(), id.referenced.column()), (3, 9));
        let questions = &entry.questions.as_ref().unwrap().value.0[0].1.0[0];
        assert_eq!(questions.value.as_deref(), Some("a"));
        assert_eq!(
            (questions.referenced.line(), questions.referenced.column()),
            (4, 22)
        );
    }

    #[test]
    fn a_typo_suggests_the_field_it_resembles() {
        let e = error("version: 1\nentries:\n  - id: x\n    anwser: {zh: b}\n");
        assert_eq!(e.line_column, Some((4, 5)));
        assert_eq!(
            e.message,
            "unknown field `anwser` in an entry (did you mean `answer`?)"
        );
    }

    #[test]
    fn a_language_code_among_entry_fields_is_called_mis_indented() {
        let e = error("version: 1\nentries:\n  - id: x\n    answer:\n    zh: b\n");
        assert_eq!(e.line_column, Some((5, 5)));
        assert!(
            e.message.contains("unknown field `zh` in an entry"),
            "{}",
            e.message
        );
        assert!(e.message.contains("mis-indented"), "{}", e.message);
    }

    #[test]
    fn a_single_question_instead_of_a_list_says_a_list_was_expected() {
        let e = error("version: 1\nentries:\n  - id: x\n    questions:\n      zh: a\n");
        assert_eq!(
            e.message,
            "expected a list of texts like `[a, b]`, found string \"a\""
        );
    }

    #[test]
    fn syntax_errors_are_one_line_without_the_library_place() {
        let e = error("version: 1\nentries:\n  - id: \"x\n    must: a\n");
        assert_eq!(e.line_column, Some((3, 9)));
        assert_eq!(e.message, "YAML syntax error: unclosed quote");
        assert!(!e.message.contains('\n'));
    }

    #[test]
    fn duplicate_keys_are_errors() {
        let e = error("version: 1\nversion: 1\n");
        assert_eq!(e.line_column, Some((2, 1)));
        assert_eq!(
            e.message,
            "`version` appears twice here; each key may appear only once"
        );
    }

    #[test]
    fn a_file_that_is_a_list_asks_for_key_value_lines() {
        let e = error("- a\n- b\n");
        assert_eq!(e.message, "expected `key: value` lines here");
    }
}
