//! SQLite: the default, one bot instance with a file beside it.
//!
//! SQLite allows one writer at a time. Writers inside this process queue on a
//! mutex and then take the database's write lock up front (`BEGIN
//! IMMEDIATE`), so a transaction never has to upgrade a read lock (which
//! fails with SQLITE_BUSY instead of waiting). Writers in other processes wait
//! on the busy timeout. Readers are never blocked (WAL).

use std::str::FromStr;
use std::sync::Arc;

use sqlx::Sqlite;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};
use tokio::sync::Mutex;

use super::common::{Eligibility, WriteTx, common_queries};
use super::rows::*;
use super::{BUSY_TIMEOUT, Result, StoreError};
use crate::model::*;

#[derive(Clone)]
pub(crate) struct SqliteBackend {
    pool: SqlitePool,
    write_lock: Arc<Mutex<()>>,
}

impl SqliteBackend {
    /// `create`: make the file if it is missing; otherwise a missing file
    /// is [`StoreError::Missing`].
    pub async fn connect(url: &str, create: bool) -> Result<SqliteBackend> {
        let options = if url.starts_with("sqlite:") {
            SqliteConnectOptions::from_str(url)
                .map_err(|_| StoreError::UnsupportedUrl(url.to_string()))?
        } else {
            SqliteConnectOptions::new().filename(url)
        };
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        if !create && !in_memory && !options.get_filename().exists() {
            return Err(StoreError::Missing(
                options.get_filename().display().to_string(),
            ));
        }
        let options = options
            .create_if_missing(create)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT)
            .synchronous(SqliteSynchronous::Full)
            // What is deleted is overwritten with zeros, not left in free
            // pages (nothing stored is a secret in clear, but the files
            // should not keep what the desk deleted either).
            .pragma("secure_delete", "ON");
        let pool = if in_memory {
            // Each connection to `:memory:` would be a database of its own:
            // keep exactly one, forever.
            SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
                .connect_with(options)
                .await?
        } else {
            SqlitePoolOptions::new()
                .max_connections(4)
                .connect_with(options.journal_mode(SqliteJournalMode::Wal))
                .await?
        };
        sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
        Ok(SqliteBackend {
            pool,
            write_lock: Arc::new(Mutex::new(())),
        })
    }

    pub async fn close_pool(&self) {
        self.pool.close().await;
    }

    async fn begin_write(&self) -> Result<WriteTx<Sqlite>> {
        let guard = self.write_lock.clone().lock_owned().await;
        let tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        Ok(WriteTx {
            tx,
            guard: Some(guard),
        })
    }

    /// Appends are already serialised: a write transaction holds the
    /// database's only write lock.
    async fn lock_transcript(_conn: &mut SqliteConnection, _ticket: TicketId) -> Result<()> {
        Ok(())
    }

    const LOCK_TICKET_ROW: &'static str = "SELECT * FROM tickets WHERE id = $1";
    const SKIP_LOCKED: &'static str = "";

    async fn claim_next_row(
        conn: &mut SqliteConnection,
        who: &Eligibility,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<TicketRow>> {
        // One writer at a time: the first eligible ticket is free to take.
        Ok(Self::claim_next_query(who, at, "")
            .build_query_as()
            .fetch_optional(&mut *conn)
            .await?)
    }

    pub async fn check_consistency(&self) -> Result<Vec<String>> {
        let mut problems = Vec::new();
        let integrity: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_all(&self.pool)
            .await?;
        problems.extend(
            integrity
                .into_iter()
                .filter(|line| line != "ok")
                .map(|line| format!("integrity: {line}")),
        );
        let fk: Vec<(String, i64)> =
            sqlx::query_as("SELECT \"table\", rowid FROM pragma_foreign_key_check")
                .fetch_all(&self.pool)
                .await?;
        problems.extend(
            fk.into_iter()
                .map(|(table, row)| format!("foreign key: {table} row {row}")),
        );
        problems.extend(self.common_consistency().await?);
        Ok(problems)
    }
}

common_queries!(SqliteBackend, Sqlite);
