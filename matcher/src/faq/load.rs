//! Reading FAQ files: YAML → raw structs (with spans) → merged, validated [`Faq`].

use std::path::Path;

use super::model::*;

/// Loads a FAQ from one YAML file or a folder of `*.yaml` / `*.yml` files.
pub fn load(path: &Path) -> Result<Loaded, LoadError> {
    let _ = path;
    todo!("faq loader")
}

/// Loads a FAQ from one YAML text; `name` stands for its file in messages.
pub fn load_str(name: &str, text: &str) -> Result<Loaded, LoadError> {
    let _ = (name, text);
    todo!("faq loader")
}
