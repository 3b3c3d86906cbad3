//! The FAQ as data: the YAML contract of `faq-format.md` loaded from one
//! file or a folder, merged, and validated before anything serves it.
//!
//! Every problem is a [`Diagnostic`] that names file:line:column and, where
//! known, the entry id, so an admin can fix a broken edit without guessing.
//!
//! Inside: `raw` reads one file into structs that remember where each value
//! was written; `validate` merges the files and applies the rules;
//! `similar` finds questions of different entries that say the same thing.

mod load;
mod model;
mod raw;
mod similar;
mod validate;

pub use load::{load, load_str};
pub use model::*;
pub use raw::json_schema;
