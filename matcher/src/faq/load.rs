//! Reading FAQ files: YAML → raw structs (with spans) → merged, validated [`Faq`].
//!
//! This is the only part of the matcher that touches the file system.

use std::fs;
use std::path::{Path, PathBuf};

use super::model::*;
use super::raw::{self, SyntaxError};
use super::validate::{self, SourceFile};

/// Loads a FAQ from one YAML file or a folder of `*.yaml` / `*.yml` files.
///
/// A folder's files are read in file-name order (not recursively; hidden
/// files such as editor lock files are skipped) and merged. A path that
/// cannot be read is [`LoadError::Io`]; anything wrong inside the files is
/// [`LoadError::Invalid`] with every problem found.
pub fn load(path: &Path) -> Result<Loaded, LoadError> {
    let io_error = |path: &Path| {
        let path = path.to_path_buf();
        move |source| LoadError::Io { path, source }
    };
    let metadata = fs::metadata(path).map_err(io_error(path))?;
    let names = if metadata.is_dir() {
        let names = yaml_files(path).map_err(io_error(path))?;
        if names.is_empty() {
            return Err(LoadError::Invalid {
                diagnostics: vec![Diagnostic {
                    severity: Severity::Error,
                    location: None,
                    entry_id: None,
                    message: format!(
                        "no FAQ files (*.yaml, *.yml) in the folder {}",
                        path.display()
                    ),
                }],
            });
        }
        names
    } else {
        vec![path.to_path_buf()]
    };

    let mut files = Vec::with_capacity(names.len());
    for name in names {
        let bytes = fs::read(&name).map_err(io_error(&name))?;
        let parsed = match String::from_utf8(bytes) {
            Ok(text) => raw::parse(&text),
            Err(error) => Err(not_utf8(error.as_bytes(), error.utf8_error().valid_up_to())),
        };
        files.push(SourceFile { path: name, parsed });
    }
    finish(files)
}

/// Loads a FAQ from one YAML text; `name` stands for its file in messages.
pub fn load_str(name: &str, text: &str) -> Result<Loaded, LoadError> {
    finish(vec![SourceFile {
        path: PathBuf::from(name),
        parsed: raw::parse(text),
    }])
}

fn finish(files: Vec<SourceFile>) -> Result<Loaded, LoadError> {
    let (faq, diagnostics) = validate::build(files);
    if diagnostics.iter().any(|d| d.severity == Severity::Error) {
        Err(LoadError::Invalid { diagnostics })
    } else {
        Ok(Loaded {
            faq,
            warnings: diagnostics,
        })
    }
}

/// The `*.yaml` and `*.yml` files directly in `dir`, by file name.
fn yaml_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for item in fs::read_dir(dir)? {
        let path = item?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let yaml = name.ends_with(".yaml") || name.ends_with(".yml");
        // `is_file` follows symbolic links; a dangling one is not a FAQ file.
        if yaml && !name.starts_with('.') && path.is_file() {
            files.push(path);
        }
    }
    files.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    Ok(files)
}

/// Where a file stops being UTF-8, as a syntax error.
fn not_utf8(bytes: &[u8], valid_up_to: usize) -> SyntaxError {
    let valid = &bytes[..valid_up_to];
    let line = valid.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = valid.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let column = String::from_utf8_lossy(&valid[line_start..])
        .chars()
        .count()
        + 1;
    SyntaxError {
        line_column: Some((
            u32::try_from(line).unwrap_or(u32::MAX),
            u32::try_from(column).unwrap_or(u32::MAX),
        )),
        message: "the file is not UTF-8 text (save it as UTF-8)".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str = "\
version: 1
default_language: zh
categories:
  - id: deposit
    title: { zh: 充值与充币, en: Deposits }
synonyms:
  - [充币, 充值, deposit]
entries:
  - id: deposit-not-credited
    category: deposit
    questions:
      zh: [充币没有到账怎么办？, 充值一直不到账]
      en: [My deposit has not arrived]
    keywords: [未到账, not arrived]
    answer:
      zh: |
        请先在区块浏览器确认交易已达到所需确认数。
      en: First check the confirmations.
    escalate: false
";

    fn errors(name: &str, text: &str) -> Vec<String> {
        match load_str(name, text) {
            Ok(loaded) => panic!("expected errors, loaded {:?}", loaded.faq),
            Err(LoadError::Invalid { diagnostics }) => {
                diagnostics.iter().map(ToString::to_string).collect()
            }
            Err(other) => panic!("{other}"),
        }
    }

    #[test]
    fn a_valid_text_loads_with_every_field() {
        let loaded = load_str("faq.yaml", VALID).unwrap();
        assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
        let faq = loaded.faq;
        assert_eq!(faq.default_language, "zh");
        assert_eq!(faq.categories[0].title["en"], "Deposits");
        assert_eq!(faq.synonyms, vec![vec!["充币", "充值", "deposit"]]);
        let entry = &faq.entries[0];
        assert_eq!(entry.category.as_deref(), Some("deposit"));
        assert_eq!(entry.questions["zh"].len(), 2);
        assert_eq!(
            entry.answer["zh"],
            "请先在区块浏览器确认交易已达到所需确认数。"
        );
        assert_eq!(entry.source.to_string(), "faq.yaml:9:9");
        assert!(!entry.escalate);
    }

    #[test]
    fn a_missing_version_and_language_are_reported_at_the_start() {
        assert_eq!(
            errors("f.yaml", "entries: []\n"),
            vec![
                "f.yaml:1:1: error: missing `version: 1` (every FAQ file starts with it)",
                "f.yaml:1:1: error: missing `default_language` (e.g. `default_language: zh`): \
                 answers fall back to it",
            ]
        );
    }

    #[test]
    fn an_entry_missing_its_answer_says_so_at_its_id() {
        let text =
            "version: 1\ndefault_language: en\nentries:\n  - id: a\n    questions: {en: [q]}\n";
        assert_eq!(
            errors("f.yaml", text),
            vec!["f.yaml:4:9: error: [entry a] entry is missing `answer` (or it is mis-indented)"]
        );
    }

    #[test]
    fn a_tab_in_the_indentation_is_reported_at_its_own_line() {
        let text = "version: 1\ndefault_language: en\nentries:\n  - id: a\n\tquestions: {en: [q]}\n    answer: {en: a}\n";
        assert_eq!(
            errors("f.yaml", text),
            vec!["f.yaml:5:1: error: a tab in the indentation: YAML indents with spaces only"]
        );
        // After spaces, further down.
        let text = "version: 1\ndefault_language: en\nentries:\n  - id: a\n    questions: {en: [q]}\n    answer:\n  \t en: a\n";
        assert_eq!(
            errors("f.yaml", text),
            vec!["f.yaml:7:3: error: a tab in the indentation: YAML indents with spaces only"]
        );
    }

    #[test]
    fn bytes_that_are_not_utf8_are_placed() {
        let error = not_utf8(b"version: 1\nab\xff", 13);
        assert_eq!(error.line_column, Some((2, 3)));
    }
}
