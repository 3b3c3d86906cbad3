//! Postgres: several bot replicas sharing one queue.
//!
//! Claims lock rows: `claim` is a conditional `UPDATE` (a second claimer
//! waits for the first and then sees the ticket taken), `claim_next` picks
//! with `FOR UPDATE SKIP LOCKED` so that agents on different replicas take
//! different tickets without waiting on each other (and never deadlock). Appends to one ticket are
//! serialised by a transaction-scoped advisory lock on the ticket id, which
//! leaves the ticket row itself free for claims.
//!
//! Lock order, everywhere: a ticket's advisory (transcript) lock, then its
//! row. Statements that lock several rows (`claim_next`, re-alerts) use
//! `SKIP LOCKED` and so never wait.

use std::str::FromStr;

use sqlx::Postgres;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};

use super::common::{Eligibility, WriteTx, common_queries};
use super::rows::*;
use super::{Result, StoreError};
use crate::model::*;

#[derive(Clone)]
pub(crate) struct PgBackend {
    pool: PgPool,
}

impl PgBackend {
    pub async fn connect(url: &str) -> Result<PgBackend> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|_| StoreError::UnsupportedUrl(url.to_string()))?;
        let pool = PgPoolOptions::new()
            .max_connections(10)
            .connect_with(options)
            .await?;
        // A search_path naming a schema that does not exist yet (a fresh
        // deployment, a test) leaves current_schema() NULL: create it.
        let current: Option<String> = sqlx::query_scalar("SELECT current_schema()::text")
            .fetch_one(&pool)
            .await?;
        if current.is_none() {
            let path: String = sqlx::query_scalar("SHOW search_path")
                .fetch_one(&pool)
                .await?;
            let first = path
                .split(',')
                .next()
                .unwrap_or("")
                .trim()
                .trim_matches('"')
                .to_string();
            if !first.is_empty() && !first.starts_with('$') {
                let sql = format!(
                    "CREATE SCHEMA IF NOT EXISTS \"{}\"",
                    first.replace('"', "\"\"")
                );
                sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&pool).await?;
            }
        }
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        Ok(PgBackend { pool })
    }

    pub async fn close_pool(&self) {
        self.pool.close().await;
    }

    async fn begin_write(&self) -> Result<WriteTx<Postgres>> {
        Ok(WriteTx {
            tx: self.pool.begin().await?,
            guard: None,
        })
    }

    async fn lock_transcript(conn: &mut PgConnection, ticket: TicketId) -> Result<()> {
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(ticket)
            .execute(&mut *conn)
            .await?;
        Ok(())
    }

    const LOCK_TICKET_ROW: &'static str = "SELECT * FROM tickets WHERE id = $1 FOR UPDATE";
    const SKIP_LOCKED: &'static str = " FOR UPDATE SKIP LOCKED";

    async fn claim_next_row(
        conn: &mut PgConnection,
        who: &Eligibility,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<TicketRow>> {
        // SKIP LOCKED: concurrent agents take different tickets without
        // ever waiting for each other's row locks (a blocking FOR UPDATE
        // here deadlocked under load: rows that fail the re-check after a
        // wait stay locked). If nothing was free although tickets wait, they
        // were all locked for a moment by other claims: look again, from a
        // fresh snapshot, a few times before saying the queue is empty.
        for attempt in 0..6u32 {
            let row: Option<TicketRow> = Self::claim_next_query(who, at, " FOR UPDATE SKIP LOCKED")
                .build_query_as()
                .fetch_optional(&mut *conn)
                .await?;
            if row.is_some() {
                return Ok(row);
            }
            let waiting: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM tickets WHERE status = 'waiting'")
                    .fetch_one(&mut *conn)
                    .await?;
            if waiting == 0 {
                return Ok(None);
            }
            tokio::time::sleep(std::time::Duration::from_millis(1 << attempt)).await;
        }
        Ok(None)
    }

    pub async fn check_consistency(&self) -> Result<Vec<String>> {
        self.common_consistency().await
    }
}

common_queries!(PgBackend, Postgres);
