//! The sqlx store.

use crate::model::*;

/// Why a store call failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database URL is not `sqlite:...` or `postgres://...`.
    #[error("unsupported database URL (expected sqlite:PATH or postgres://...): {0}")]
    UnsupportedUrl(String),
    /// Migrations could not be applied.
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The database refused or failed a query.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A rating outside 1..=5, a rating of an open ticket, ...
    #[error("{0}")]
    Invalid(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The handoff store. Cheap to clone; all clones share one pool.
#[derive(Clone)]
pub struct Store {}

impl Store {
    /// Opens (creating if needed) the database at `url` and applies migrations.
    pub async fn connect(url: &str) -> Result<Store> {
        let _ = url;
        todo!()
    }
}
