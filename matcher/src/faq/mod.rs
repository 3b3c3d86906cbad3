//! The FAQ as data: the YAML contract of `faq-format.md` loaded from one
//! file or a folder, merged, and validated before anything serves it.
//!
//! Every problem is a [`Diagnostic`] that names file:line:column and, where
//! known, the entry id, so an admin can fix a broken edit without guessing.

mod load;
mod model;

pub use load::{load, load_str};
pub use model::*;
