//! The rules of a valid FAQ, applied to the parsed files together: merging
//! (one `default_language`, ids unique across files, categories shared) and
//! every check of `faq-format.md`, each problem a [`Diagnostic`] at the most
//! precise place the files allow.
//!
//! All problems are collected; nothing stops at the first. When a file could
//! not be parsed at all, the checks that need every file (unknown category,
//! missing `default_language`) are skipped, so a syntax error in one file
//! does not bury the real problem under false ones from the others.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde_saphyr::{Location, Spanned};

use super::model::{Category, Diagnostic, Entry, Faq, Severity, SourceLocation};
use super::raw::{self, LangMap, RawCategory, RawEntry, RawFile, SyntaxError, Text, TextList};
use super::similar::{self, Resemblance};
use crate::normalize::question_key;

/// The only version of the format so far.
const VERSION: u64 = 1;

/// Longer entry ids risk Telegram's 64-byte limit on callback data, which
/// carries the id plus a prefix.
const MAX_ID_LEN: usize = 48;

/// One file, parsed or not.
pub(super) struct SourceFile {
    pub path: PathBuf,
    pub parsed: Result<RawFile, SyntaxError>,
}

/// Merges and validates the files. Returns the FAQ (meaningful only when no
/// diagnostic is an error) and every diagnostic, sorted by file, line and
/// column.
pub(super) fn build(files: Vec<SourceFile>) -> (Faq, Vec<Diagnostic>) {
    let mut check = Checker {
        diagnostics: Vec::new(),
        complete: files.iter().all(|file| file.parsed.is_ok()),
        single_file: files.len() == 1,
    };
    let mut parsed = Vec::new();
    for file in files {
        match file.parsed {
            Ok(raw) => parsed.push((file.path, raw)),
            Err(error) => {
                let (line, column) = error.line_column.unwrap_or((1, 1));
                let location = SourceLocation {
                    file: file.path,
                    line,
                    column,
                };
                check.error(Some(location), None, error.message);
            }
        }
    }

    for (path, raw) in &parsed {
        check.version(path, raw);
    }
    let default_language = check.default_language(&parsed);
    let categories = check.categories(&parsed);
    let synonyms = check.synonyms(&parsed);
    let entries = check.entries(&parsed, &categories, default_language.as_deref());

    let faq = Faq {
        default_language: default_language.unwrap_or_default(),
        categories,
        synonyms,
        entries,
    };
    let mut diagnostics = check.diagnostics;
    diagnostics.sort_by(|a, b| compare_locations(a.location.as_ref(), b.location.as_ref()));
    (faq, diagnostics)
}

/// `[a-z0-9_-]+`: safe in callback data, URLs and file names.
pub(super) fn is_valid_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// A short lowercase tag: `[a-z]{2,3}`, then optionally `-[a-z0-9]+` parts
/// (`zh`, `en`, `pt-br`, `zh-hant`).
pub(super) fn is_language_code(code: &str) -> bool {
    let mut parts = code.split('-');
    let primary = parts.next().unwrap_or_default();
    (2..=3).contains(&primary.len())
        && primary.bytes().all(|b| b.is_ascii_lowercase())
        && parts.all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

/// Places without a location (a whole folder) first, then by file, line and
/// column.
fn compare_locations(a: Option<&SourceLocation>, b: Option<&SourceLocation>) -> Ordering {
    match (a, b) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (Some(a), Some(b)) => (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)),
    }
}

fn place(path: &Path, location: Location) -> SourceLocation {
    let (line, column) = raw::line_column(location).unwrap_or((1, 1));
    SourceLocation {
        file: path.to_path_buf(),
        line,
        column,
    }
}

fn start_of(path: &Path) -> SourceLocation {
    SourceLocation {
        file: path.to_path_buf(),
        line: 1,
        column: 1,
    }
}

/// A non-empty text, trimmed; `None` for a missing or blank one.
fn text_of(text: &Text) -> Option<String> {
    let trimmed = text.value.as_deref().unwrap_or_default().trim();
    (!trimmed.is_empty()).then(|| trimmed.to_owned())
}

struct Checker {
    diagnostics: Vec<Diagnostic>,
    /// Every file parsed, so "not defined anywhere" can be trusted.
    complete: bool,
    single_file: bool,
}

/// A question kept for the near-duplicate search.
struct Question {
    entry: usize,
    normalised: String,
    text: String,
    location: SourceLocation,
}

impl Checker {
    fn push(
        &mut self,
        severity: Severity,
        location: Option<SourceLocation>,
        entry_id: Option<&str>,
        message: String,
    ) {
        self.diagnostics.push(Diagnostic {
            severity,
            location,
            entry_id: entry_id.map(str::to_owned),
            message,
        });
    }

    fn error(&mut self, location: Option<SourceLocation>, entry_id: Option<&str>, message: String) {
        self.push(Severity::Error, location, entry_id, message);
    }

    fn warning(&mut self, location: SourceLocation, entry_id: Option<&str>, message: String) {
        self.push(Severity::Warning, Some(location), entry_id, message);
    }

    fn version(&mut self, path: &Path, raw: &RawFile) {
        match &raw.version {
            None => self.error(
                Some(start_of(path)),
                None,
                format!("missing `version: {VERSION}` (every FAQ file starts with it)"),
            ),
            Some(version) if version.value != VERSION => self.error(
                Some(place(path, version.referenced)),
                None,
                format!(
                    "unsupported version {}: this helpdesk reads `version: {VERSION}`",
                    version.value
                ),
            ),
            Some(_) => {}
        }
    }

    /// Checks a language code; true when it is valid.
    fn language(&mut self, path: &Path, code: &Spanned<String>, entry_id: Option<&str>) -> bool {
        let valid = is_language_code(&code.value);
        if !valid {
            self.error(
                Some(place(path, code.referenced)),
                entry_id,
                format!(
                    "`{}` is not a language code: use a short lowercase tag like `zh`, `en` or `pt-br`",
                    code.value
                ),
            );
        }
        valid
    }

    /// Checks an entry or category id; true when it is valid.
    fn id(&mut self, path: &Path, id: &Spanned<String>, entry_id: Option<&str>) -> bool {
        let valid = is_valid_id(&id.value);
        if !valid {
            let message = if id.value.is_empty() {
                "the id is empty".to_owned()
            } else {
                format!(
                    "id `{}` may only use lowercase letters a-z, digits, `_` and `-`",
                    id.value
                )
            };
            self.error(Some(place(path, id.referenced)), entry_id, message);
        }
        valid
    }

    fn default_language(&mut self, files: &[(PathBuf, RawFile)]) -> Option<String> {
        let mut chosen: Option<(String, SourceLocation)> = None;
        for (path, raw) in files {
            let Some(language) = &raw.default_language else {
                continue;
            };
            if !self.language(path, language, None) {
                continue;
            }
            let location = place(path, language.referenced);
            match &chosen {
                None => chosen = Some((language.value.clone(), location)),
                Some((first, first_location)) if *first != language.value => {
                    let message = format!(
                        "default_language `{}` disagrees with `{first}` set at {first_location}",
                        language.value
                    );
                    self.error(Some(location), None, message);
                }
                Some(_) => {}
            }
        }
        if chosen.is_none() && self.complete {
            // A file that sets an invalid code has its own error already.
            let some_file_sets_one = files.iter().any(|(_, raw)| raw.default_language.is_some());
            if !some_file_sets_one {
                let (location, message) = match files {
                    [(path, _)] if self.single_file => (
                        Some(start_of(path)),
                        "missing `default_language` (e.g. `default_language: zh`): \
                         answers fall back to it"
                            .to_owned(),
                    ),
                    _ => (
                        None,
                        "no file sets `default_language` (e.g. `default_language: zh`); \
                         one file must: answers fall back to it"
                            .to_owned(),
                    ),
                };
                self.error(location, None, message);
            }
        }
        chosen.map(|(language, _)| language)
    }

    fn categories(&mut self, files: &[(PathBuf, RawFile)]) -> Vec<Category> {
        let mut categories = Vec::new();
        let mut first_place: HashMap<String, SourceLocation> = HashMap::new();
        for (path, raw) in files {
            for category in raw.categories.iter().flatten() {
                if let Some(built) = self.category(path, category, &mut first_place) {
                    categories.push(built);
                }
            }
        }
        categories
    }

    fn category(
        &mut self,
        path: &Path,
        category: &Spanned<RawCategory>,
        first_place: &mut HashMap<String, SourceLocation>,
    ) -> Option<Category> {
        let RawCategory { id, title } = &category.value;
        let Some(id) = id else {
            self.error(
                Some(place(path, category.referenced)),
                None,
                "category is missing `id` (or it is mis-indented)".to_owned(),
            );
            return None;
        };
        self.id(path, id, None);
        let location = place(path, id.referenced);
        if let Some(first) = first_place.get(&id.value) {
            let message = format!(
                "duplicate category id `{}` (first defined at {first})",
                id.value
            );
            self.error(Some(location), None, message);
        } else {
            first_place.insert(id.value.clone(), location);
        }

        let mut titles = BTreeMap::new();
        for (language, text) in title.iter().flat_map(|title| &title.value.0) {
            self.language(path, language, None);
            match text_of(text) {
                Some(text) => {
                    titles.insert(language.value.clone(), text);
                }
                None => self.error(
                    Some(place(path, text.referenced)),
                    None,
                    format!("empty title in `{}`", language.value),
                ),
            }
        }
        Some(Category {
            id: id.value.clone(),
            title: titles,
        })
    }

    fn synonyms(&mut self, files: &[(PathBuf, RawFile)]) -> Vec<Vec<String>> {
        let mut groups = Vec::new();
        for (path, raw) in files {
            for group in raw.synonyms.iter().flatten() {
                let terms = self.texts(path, &group.value, None, "term in a synonym group");
                if terms.len() < 2 {
                    let message = format!(
                        "a synonym group needs at least 2 terms, this one has {}",
                        terms.len()
                    );
                    self.error(Some(place(path, group.referenced)), None, message);
                }
                groups.push(terms);
            }
        }
        groups
    }

    /// The non-empty texts of a list; an error for each empty one.
    fn texts(
        &mut self,
        path: &Path,
        list: &TextList,
        entry_id: Option<&str>,
        what: &str,
    ) -> Vec<String> {
        let mut texts = Vec::new();
        for text in &list.0 {
            match text_of(text) {
                Some(text) => texts.push(text),
                None => self.error(
                    Some(place(path, text.referenced)),
                    entry_id,
                    format!("empty {what}"),
                ),
            }
        }
        texts
    }

    fn entries(
        &mut self,
        files: &[(PathBuf, RawFile)],
        categories: &[Category],
        default_language: Option<&str>,
    ) -> Vec<Entry> {
        let category_ids: Vec<&str> = categories.iter().map(|c| c.id.as_str()).collect();
        let mut first_place: HashMap<String, SourceLocation> = HashMap::new();
        let mut entries = Vec::new();
        let mut questions = Vec::new();
        for (path, raw) in files {
            for entry in raw.entries.iter().flatten() {
                let built = self.entry(
                    path,
                    entry,
                    &category_ids,
                    default_language,
                    &mut first_place,
                );
                for (text, location) in built.questions_with_places {
                    questions.push(Question {
                        entry: entries.len(),
                        normalised: question_key(&text),
                        text,
                        location,
                    });
                }
                entries.push(built.entry);
            }
        }
        self.near_duplicates(&entries, &questions);
        entries
    }

    fn entry(
        &mut self,
        path: &Path,
        entry: &Spanned<RawEntry>,
        category_ids: &[&str],
        default_language: Option<&str>,
        first_place: &mut HashMap<String, SourceLocation>,
    ) -> BuiltEntry {
        let raw = &entry.value;
        let id = raw.id.as_ref().map(|id| id.value.as_str());
        let source = match &raw.id {
            Some(id) => place(path, id.referenced),
            None => place(path, entry.referenced),
        };

        match &raw.id {
            None => self.error(
                Some(source.clone()),
                None,
                "entry is missing `id` (or it is mis-indented)".to_owned(),
            ),
            Some(spanned) => {
                let valid = self.id(path, spanned, id);
                if let Some(first) = first_place.get(&spanned.value) {
                    let message = format!(
                        "duplicate id `{}` (first defined at {first})",
                        spanned.value
                    );
                    self.error(Some(source.clone()), id, message);
                } else {
                    first_place.insert(spanned.value.clone(), source.clone());
                }
                if valid && spanned.value.len() > MAX_ID_LEN {
                    let message = format!(
                        "id is {} characters long; keep it to {MAX_ID_LEN} or fewer \
                         (Telegram callback data is limited to 64 bytes)",
                        spanned.value.len()
                    );
                    self.warning(source.clone(), id, message);
                }
            }
        }

        if let Some(category) = &raw.category
            && self.complete
            && !category_ids.contains(&category.value.as_str())
        {
            let message = unknown_category(&category.value, category_ids);
            self.error(Some(place(path, category.referenced)), id, message);
        }

        let (questions, questions_with_places) = self.questions(path, raw, &source, id);
        let answer = self.answer(path, raw, &source, id, default_language);
        let keywords = match &raw.keywords {
            Some(list) => self.texts(path, list, id, "keyword"),
            None => Vec::new(),
        };

        let escalate = raw.escalate.as_ref().is_some_and(|e| e.value);
        if let Some(flag) = &raw.escalate
            && flag.value
            && raw.category.is_none()
        {
            self.warning(
                place(path, flag.referenced),
                id,
                "`escalate: true` without a `category`: its tickets reach agents uncategorised"
                    .to_owned(),
            );
        }

        BuiltEntry {
            entry: Entry {
                id: id.unwrap_or_default().to_owned(),
                category: raw.category.as_ref().map(|c| c.value.clone()),
                questions,
                keywords,
                answer,
                escalate,
                source,
            },
            questions_with_places,
        }
    }

    fn questions(
        &mut self,
        path: &Path,
        raw: &RawEntry,
        source: &SourceLocation,
        id: Option<&str>,
    ) -> QuestionsWithPlaces {
        let mut questions = BTreeMap::new();
        let mut with_places = Vec::new();
        let Some(map) = &raw.questions else {
            self.error(
                Some(source.clone()),
                id,
                "entry is missing `questions` (or it is mis-indented)".to_owned(),
            );
            return (questions, with_places);
        };
        let mut written = 0;
        for (language, list) in &map.value.0 {
            self.language(path, language, id);
            written += list.0.len();
            let mut texts = Vec::new();
            for text in &list.0 {
                match text_of(text) {
                    Some(question) => {
                        with_places.push((question.clone(), place(path, text.referenced)));
                        texts.push(question);
                    }
                    None => self.error(
                        Some(place(path, text.referenced)),
                        id,
                        "empty question".to_owned(),
                    ),
                }
            }
            if !texts.is_empty() {
                questions.insert(language.value.clone(), texts);
            }
        }
        if written == 0 {
            let location = if map.value.0.is_empty() {
                place(path, map.referenced)
            } else {
                place(path, map.value.0[0].0.referenced)
            };
            self.error(
                Some(location),
                id,
                "entry has no questions: add at least one, e.g. `zh: [充币没有到账怎么办]`"
                    .to_owned(),
            );
        }
        (questions, with_places)
    }

    fn answer(
        &mut self,
        path: &Path,
        raw: &RawEntry,
        source: &SourceLocation,
        id: Option<&str>,
        default_language: Option<&str>,
    ) -> BTreeMap<String, String> {
        let mut answers = BTreeMap::new();
        let Some(map) = &raw.answer else {
            self.error(
                Some(source.clone()),
                id,
                "entry is missing `answer` (or it is mis-indented)".to_owned(),
            );
            return answers;
        };
        let LangMap(pairs) = &map.value;
        for (language, text) in pairs {
            self.language(path, language, id);
            match text_of(text) {
                Some(answer) => {
                    answers.insert(language.value.clone(), answer);
                }
                None => self.error(
                    Some(place(path, text.referenced)),
                    id,
                    format!("empty answer in `{}`", language.value),
                ),
            }
        }
        if let Some(default) = default_language
            && !pairs.iter().any(|(language, _)| language.value == default)
        {
            self.error(
                Some(place(path, map.referenced)),
                id,
                format!("no answer in the default language `{default}`"),
            );
        }
        answers
    }

    fn near_duplicates(&mut self, entries: &[Entry], questions: &[Question]) {
        let forms: Vec<(usize, &str)> = questions
            .iter()
            .map(|q| (q.entry, q.normalised.as_str()))
            .collect();
        for found in similar::near_duplicates(&forms) {
            let subject = &questions[found.subject];
            let other_question = &questions[found.other];
            let how = match found.resemblance {
                Resemblance::Identical => "is the same as",
                Resemblance::Similar => "is nearly the same as",
            };
            let other = &entries[other_question.entry].id;
            let message = format!(
                "question {:?} {how} {:?} of entry `{other}` ({}); the matcher may confuse them",
                subject.text, other_question.text, other_question.location
            );
            let id = entries[subject.entry].id.as_str();
            let id = (!id.is_empty()).then_some(id);
            self.warning(subject.location.clone(), id, message);
        }
    }
}

/// An entry's questions per language, and each question with its place.
type QuestionsWithPlaces = (BTreeMap<String, Vec<String>>, Vec<(String, SourceLocation)>);

struct BuiltEntry {
    entry: Entry,
    questions_with_places: Vec<(String, SourceLocation)>,
}

fn unknown_category(category: &str, known: &[&str]) -> String {
    let closest = known
        .iter()
        .map(|id| (strsim::normalized_damerau_levenshtein(category, id), id))
        .filter(|(score, _)| *score >= 0.6)
        .max_by(|a, b| a.0.total_cmp(&b.0));
    match closest {
        Some((_, id)) => format!("unknown category `{category}` (did you mean `{id}`?)"),
        None if known.is_empty() => {
            format!("unknown category `{category}`: no categories are defined under `categories:`")
        }
        None => format!("unknown category `{category}`: it is not defined under `categories:`"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_lowercase_ascii_digits_underscore_and_dash() {
        assert!(is_valid_id("deposit-not-credited_2"));
        assert!(!is_valid_id(""));
        assert!(!is_valid_id("Deposit"));
        assert!(!is_valid_id("deposit not credited"));
        assert!(!is_valid_id("充币"));
    }

    #[test]
    fn language_codes_are_short_lowercase_tags() {
        for good in ["zh", "en", "yue", "pt-br", "zh-hant", "es-419"] {
            assert!(is_language_code(good), "{good}");
        }
        for bad in [
            "", "z", "ZH", "zh_CN", "english", "zh-", "-zh", "zh-TW", "12",
        ] {
            assert!(!is_language_code(bad), "{bad}");
        }
    }

    #[test]
    fn diagnostics_without_a_place_come_first() {
        let here = |line| SourceLocation {
            file: "a.yaml".into(),
            line,
            column: 1,
        };
        assert_eq!(compare_locations(None, Some(&here(1))), Ordering::Less);
        assert_eq!(
            compare_locations(Some(&here(2)), Some(&here(10))),
            Ordering::Less
        );
    }

    #[test]
    fn an_unknown_category_suggests_a_close_one() {
        assert_eq!(
            unknown_category("deposits", &["deposit", "withdraw"]),
            "unknown category `deposits` (did you mean `deposit`?)"
        );
    }
}
