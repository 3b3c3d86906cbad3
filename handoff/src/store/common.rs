//! The store's SQL, written once for both databases.
//!
//! `common_queries!` expands to an `impl` block for a backend type whose
//! database is `$db`. The queries use `$1`-style placeholders (SQLite accepts
//! them too) and only SQL that both databases read the same way. The backend
//! supplies what differs:
//!
//! - `begin_write()`: a transaction that may write (SQLite: behind the
//!   process's write mutex, `BEGIN IMMEDIATE`; Postgres: a plain `BEGIN`);
//! - `lock_transcript(conn, ticket)`: serialises appends to one ticket
//!   (nothing to do on SQLite, which has one writer; an advisory lock on
//!   Postgres, so that appends never lock the ticket row that claims skip);
//! - `OPEN_TICKET_OF_FOR_UPDATE`: the user's open ticket, row-locked;
//! - `claim_next_row(conn, agent, at)`: picks and claims the next ticket.

use sqlx::Database;
use tokio::sync::OwnedMutexGuard;

use super::Result;

/// A transaction that may write, holding whatever the backend needs held
/// until it ends (the SQLite write mutex).
pub(crate) struct WriteTx<DB: Database> {
    pub tx: sqlx::Transaction<'static, DB>,
    pub guard: Option<OwnedMutexGuard<()>>,
}

impl<DB: Database> WriteTx<DB> {
    pub async fn commit(self) -> Result<()> {
        let WriteTx { tx, guard } = self;
        tx.commit().await?;
        drop(guard);
        Ok(())
    }

    pub async fn rollback(self) -> Result<()> {
        let WriteTx { tx, guard } = self;
        tx.rollback().await?;
        drop(guard);
        Ok(())
    }
}

pub(crate) fn is_unique_violation(err: &super::StoreError) -> bool {
    match err {
        super::StoreError::Database(e) => e
            .as_database_error()
            .is_some_and(|d| d.is_unique_violation()),
        _ => false,
    }
}

macro_rules! common_queries {
    ($backend:ty, $db:ty) => {
        #[allow(clippy::needless_lifetimes)]
        impl $backend {
            pub async fn open_ticket(&self, new: NewTicket) -> Result<Opened> {
                // Two writers (replicas) may race to open the first ticket of
                // a user; the partial unique index lets one win and the other
                // finds the winner's ticket on its retry.
                let mut attempt = 0;
                loop {
                    attempt += 1;
                    match self.try_open_ticket(&new).await {
                        Err(e) if attempt < 3 && crate::store::common::is_unique_violation(&e) => continue,
                        other => return other,
                    }
                }
            }

            async fn try_open_ticket(&self, new: &NewTicket) -> Result<Opened> {
                let mut w = self.begin_write().await?;
                let at = crate::store::now();
                let existing: Option<TicketRow> = sqlx::query_as(Self::OPEN_TICKET_OF_FOR_UPDATE)
                    .bind(new.user.id)
                    .fetch_optional(&mut *w.tx)
                    .await?;
                let (id, created) = match existing {
                    Some(row) => {
                        // Already waiting or with an agent: add to it.
                        let id = row.id;
                        let rank = row.priority.min(priority_to_db(new.priority));
                        let mut details = row.into_ticket()?.details;
                        crate::store::rows::merge_details(&mut details, &new.details);
                        sqlx::query(
                            "UPDATE tickets SET details = $2, priority = $3, category = COALESCE(category, $4) \
                             WHERE id = $1",
                        )
                        .bind(id)
                        .bind(to_json(&details))
                        .bind(rank)
                        .bind(new.category.as_deref())
                        .execute(&mut *w.tx)
                        .await?;
                        (id, false)
                    }
                    None => {
                        let id: i64 = sqlx::query_scalar(
                            "INSERT INTO tickets \
                             (user_id, username, display_name, language, status, priority, category, details, opened_at) \
                             VALUES ($1, $2, $3, $4, 'waiting', $5, $6, $7, $8) RETURNING id",
                        )
                        .bind(new.user.id)
                        .bind(new.user.username.as_deref())
                        .bind(new.user.display_name.as_deref())
                        .bind(new.user.language.as_str())
                        .bind(priority_to_db(new.priority))
                        .bind(new.category.as_deref())
                        .bind(to_json(&new.details))
                        .bind(at)
                        .fetch_one(&mut *w.tx)
                        .await?;
                        (id, true)
                    }
                };
                for entry in &new.transcript {
                    Self::append_in(&mut *w.tx, id, entry, at).await?;
                }
                let ticket = Self::ticket_in(&mut *w.tx, id)
                    .await?
                    .ok_or(StoreError::TicketNotFound(id))?;
                w.commit().await?;
                Ok(Opened { ticket, created })
            }

            pub async fn append(&self, ticket: TicketId, entry: NewEntry) -> Result<bool> {
                let mut w = self.begin_write().await?;
                let stored = Self::append_in(&mut *w.tx, ticket, &entry, crate::store::now()).await?;
                if stored {
                    w.commit().await?;
                } else {
                    w.rollback().await?;
                }
                Ok(stored)
            }

            /// Appends inside a write transaction; false for a duplicate key.
            async fn append_in(
                conn: &mut <$db as sqlx::Database>::Connection,
                ticket: TicketId,
                entry: &NewEntry,
                at: chrono::DateTime<chrono::Utc>,
            ) -> Result<bool> {
                Self::lock_transcript(&mut *conn, ticket).await?;
                let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM tickets WHERE id = $1")
                    .bind(ticket)
                    .fetch_optional(&mut *conn)
                    .await?;
                if exists.is_none() {
                    return Err(StoreError::TicketNotFound(ticket));
                }
                if let Some(key) = &entry.dedup_key {
                    let seen: Option<i64> =
                        sqlx::query_scalar("SELECT seq FROM transcript WHERE ticket_id = $1 AND dedup_key = $2")
                            .bind(ticket)
                            .bind(key.as_str())
                            .fetch_optional(&mut *conn)
                            .await?;
                    if seen.is_some() {
                        return Ok(false);
                    }
                }
                let last: Option<i64> = sqlx::query_scalar("SELECT MAX(seq) FROM transcript WHERE ticket_id = $1")
                    .bind(ticket)
                    .fetch_one(&mut *conn)
                    .await?;
                let (kind, agent) = author_to_db(entry.author);
                sqlx::query(
                    "INSERT INTO transcript \
                     (ticket_id, seq, at, author_kind, author_agent, text, attachments, candidates, dedup_key) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .bind(ticket)
                .bind(last.unwrap_or(0) + 1)
                .bind(at)
                .bind(kind)
                .bind(agent)
                .bind(crate::redact::mask(&entry.text).text)
                .bind(to_json(&entry.attachments))
                .bind(to_json(&entry.candidates))
                .bind(entry.dedup_key.as_deref())
                .execute(&mut *conn)
                .await?;
                if agent.is_some() {
                    sqlx::query(
                        "UPDATE tickets SET first_reply_at = $2 WHERE id = $1 AND first_reply_at IS NULL",
                    )
                    .bind(ticket)
                    .bind(at)
                    .execute(&mut *conn)
                    .await?;
                }
                Ok(true)
            }

            async fn ticket_in(
                conn: &mut <$db as sqlx::Database>::Connection,
                id: TicketId,
            ) -> Result<Option<Ticket>> {
                let row: Option<TicketRow> = sqlx::query_as("SELECT * FROM tickets WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&mut *conn)
                    .await?;
                row.map(TicketRow::into_ticket).transpose()
            }

            pub async fn ticket(&self, id: TicketId) -> Result<Option<Ticket>> {
                let mut conn = self.pool.acquire().await?;
                Self::ticket_in(&mut *conn, id).await
            }

            pub async fn open_ticket_of(&self, user: UserId) -> Result<Option<Ticket>> {
                let row: Option<TicketRow> =
                    sqlx::query_as("SELECT * FROM tickets WHERE user_id = $1 AND status IN ('waiting', 'claimed')")
                        .bind(user)
                        .fetch_optional(&self.pool)
                        .await?;
                row.map(TicketRow::into_ticket).transpose()
            }

            pub async fn transcript(&self, id: TicketId) -> Result<Vec<TranscriptEntry>> {
                let rows: Vec<EntryRow> = sqlx::query_as(
                    "SELECT seq, at, author_kind, author_agent, text, attachments, candidates \
                     FROM transcript WHERE ticket_id = $1 ORDER BY seq",
                )
                .bind(id)
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter().map(EntryRow::into_entry).collect()
            }

            pub async fn queue(&self) -> Result<Vec<Ticket>> {
                let rows: Vec<TicketRow> =
                    sqlx::query_as("SELECT * FROM tickets WHERE status = 'waiting' ORDER BY priority, opened_at, id")
                        .fetch_all(&self.pool)
                        .await?;
                rows.into_iter().map(TicketRow::into_ticket).collect()
            }

            pub async fn queue_position(&self, id: TicketId) -> Result<Option<QueuePosition>> {
                // One statement, so both counts come from the same snapshot.
                let row: Option<(i64, i64)> = sqlx::query_as(
                    "SELECT \
                       (SELECT COUNT(*) FROM tickets w WHERE w.status = 'waiting' \
                          AND (w.priority < t.priority \
                           OR (w.priority = t.priority AND w.opened_at < t.opened_at) \
                           OR (w.priority = t.priority AND w.opened_at = t.opened_at AND w.id < t.id))), \
                       (SELECT COUNT(*) FROM tickets w WHERE w.status = 'waiting') \
                     FROM tickets t WHERE t.id = $1 AND t.status = 'waiting'",
                )
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
                Ok(row.map(|(ahead, waiting)| QueuePosition {
                    position: ahead as usize + 1,
                    waiting: waiting as usize,
                }))
            }

            pub async fn agent_tickets(&self, agent: AgentId) -> Result<Vec<Ticket>> {
                let rows: Vec<TicketRow> =
                    sqlx::query_as("SELECT * FROM tickets WHERE status = 'claimed' AND agent_id = $1 ORDER BY opened_at, id")
                        .bind(agent)
                        .fetch_all(&self.pool)
                        .await?;
                rows.into_iter().map(TicketRow::into_ticket).collect()
            }

            pub async fn claim(&self, id: TicketId, agent: AgentId) -> Result<ClaimOutcome> {
                let mut w = self.begin_write().await?;
                let claimed: Option<TicketRow> = sqlx::query_as(
                    "UPDATE tickets SET status = 'claimed', agent_id = $2, claimed_at = COALESCE(claimed_at, $3) \
                     WHERE id = $1 AND status = 'waiting' RETURNING *",
                )
                .bind(id)
                .bind(agent)
                .bind(crate::store::now())
                .fetch_optional(&mut *w.tx)
                .await?;
                let outcome = match claimed {
                    Some(row) => ClaimOutcome::Claimed(row.into_ticket()?),
                    None => match Self::ticket_in(&mut *w.tx, id).await? {
                        None => ClaimOutcome::NotFound,
                        Some(t) => match t.status {
                            Status::Claimed => ClaimOutcome::AlreadyClaimed {
                                by: t.agent.unwrap_or_default(),
                            },
                            // Released again between the two statements
                            // (Postgres): someone else had it a moment ago.
                            Status::Waiting => ClaimOutcome::AlreadyClaimed {
                                by: t.agent.unwrap_or_default(),
                            },
                            other => ClaimOutcome::NotOpen(other),
                        },
                    },
                };
                w.commit().await?;
                Ok(outcome)
            }

            pub async fn claim_next(&self, agent: AgentId) -> Result<Option<Ticket>> {
                let mut w = self.begin_write().await?;
                let row = Self::claim_next_row(&mut *w.tx, agent, crate::store::now()).await?;
                let ticket = row.map(TicketRow::into_ticket).transpose()?;
                w.commit().await?;
                Ok(ticket)
            }

            pub async fn transfer(&self, id: TicketId, to_agent: AgentId) -> Result<Option<Ticket>> {
                let mut w = self.begin_write().await?;
                let row: Option<TicketRow> = sqlx::query_as(
                    "UPDATE tickets SET status = 'claimed', agent_id = $2, claimed_at = COALESCE(claimed_at, $3) \
                     WHERE id = $1 AND status IN ('waiting', 'claimed') RETURNING *",
                )
                .bind(id)
                .bind(to_agent)
                .bind(crate::store::now())
                .fetch_optional(&mut *w.tx)
                .await?;
                w.commit().await?;
                row.map(TicketRow::into_ticket).transpose()
            }

            pub async fn release(&self, id: TicketId) -> Result<Option<Ticket>> {
                let mut w = self.begin_write().await?;
                let row: Option<TicketRow> = sqlx::query_as(
                    "UPDATE tickets SET status = 'waiting', agent_id = NULL \
                     WHERE id = $1 AND status = 'claimed' RETURNING *",
                )
                .bind(id)
                .fetch_optional(&mut *w.tx)
                .await?;
                w.commit().await?;
                row.map(TicketRow::into_ticket).transpose()
            }

            pub async fn close(&self, id: TicketId) -> Result<Option<Ticket>> {
                self.finish(id, "closed").await
            }

            pub async fn cancel(&self, id: TicketId) -> Result<bool> {
                Ok(self.finish(id, "cancelled").await?.is_some())
            }

            /// Ends an open ticket with `status` (closed or cancelled).
            async fn finish(&self, id: TicketId, status: &'static str) -> Result<Option<Ticket>> {
                let mut w = self.begin_write().await?;
                let row: Option<TicketRow> = sqlx::query_as(
                    "UPDATE tickets SET status = $2, closed_at = $3 \
                     WHERE id = $1 AND status IN ('waiting', 'claimed') RETURNING *",
                )
                .bind(id)
                .bind(status)
                .bind(crate::store::now())
                .fetch_optional(&mut *w.tx)
                .await?;
                w.commit().await?;
                row.map(TicketRow::into_ticket).transpose()
            }

            pub async fn rate(&self, id: TicketId, rating: Rating) -> Result<()> {
                let mut w = self.begin_write().await?;
                let comment = rating.comment.as_deref().map(|c| crate::redact::mask(c).text);
                let done = sqlx::query(
                    "UPDATE tickets SET rating_score = $2, rating_comment = $3 WHERE id = $1 AND status = 'closed'",
                )
                .bind(id)
                .bind(i64::from(rating.score))
                .bind(comment)
                .execute(&mut *w.tx)
                .await?
                .rows_affected();
                if done == 1 {
                    return w.commit().await;
                }
                let ticket = Self::ticket_in(&mut *w.tx, id).await?;
                w.rollback().await?;
                match ticket {
                    None => Err(StoreError::TicketNotFound(id)),
                    Some(t) => Err(StoreError::Invalid(format!(
                        "ticket {id} is {}: only a closed ticket can be rated",
                        status_to_db(t.status)
                    ))),
                }
            }

            pub async fn add_note(&self, id: TicketId, agent: AgentId, text: &str) -> Result<Note> {
                let mut w = self.begin_write().await?;
                if Self::ticket_in(&mut *w.tx, id).await?.is_none() {
                    w.rollback().await?;
                    return Err(StoreError::TicketNotFound(id));
                }
                let note = Note {
                    at: crate::store::now(),
                    agent,
                    text: crate::redact::mask(text).text,
                };
                sqlx::query("INSERT INTO notes (ticket_id, at, agent_id, text) VALUES ($1, $2, $3, $4)")
                    .bind(id)
                    .bind(note.at)
                    .bind(note.agent)
                    .bind(note.text.as_str())
                    .execute(&mut *w.tx)
                    .await?;
                w.commit().await?;
                Ok(note)
            }

            pub async fn notes(&self, id: TicketId) -> Result<Vec<Note>> {
                let rows: Vec<NoteRow> =
                    sqlx::query_as("SELECT at, agent_id, text FROM notes WHERE ticket_id = $1 ORDER BY id")
                        .bind(id)
                        .fetch_all(&self.pool)
                        .await?;
                Ok(rows.into_iter().map(Note::from).collect())
            }

            pub async fn load_state(&self, key: &str) -> Result<Option<serde_json::Value>> {
                let text: Option<String> = sqlx::query_scalar("SELECT value FROM chat_state WHERE key = $1")
                    .bind(key)
                    .fetch_optional(&self.pool)
                    .await?;
                text.map(|t| {
                    serde_json::from_str(&t).map_err(|source| StoreError::Corrupt {
                        what: "conversation state",
                        source,
                    })
                })
                .transpose()
            }

            pub async fn save_state(&self, key: &str, value: &serde_json::Value) -> Result<()> {
                let mut w = self.begin_write().await?;
                sqlx::query(
                    "INSERT INTO chat_state (key, value, updated_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                )
                .bind(key)
                .bind(value.to_string())
                .bind(crate::store::now())
                .execute(&mut *w.tx)
                .await?;
                w.commit().await
            }

            pub async fn record_query(&self, record: QueryRecord) -> Result<()> {
                let mut w = self.begin_write().await?;
                sqlx::query(
                    "INSERT INTO query_log (at, user_id, language, text, outcome, entry_id, confidence) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(crate::store::now())
                .bind(record.user)
                .bind(record.language.as_str())
                .bind(crate::redact::mask(&record.text).text)
                .bind(outcome_to_db(record.outcome))
                .bind(record.entry_id.as_deref())
                .bind(record.confidence.map(f64::from))
                .execute(&mut *w.tx)
                .await?;
                w.commit().await
            }

            /// The checks both databases share (see `Store::check_consistency`).
            async fn common_consistency(&self) -> Result<Vec<String>> {
                let mut problems = Vec::new();
                let gaps: Vec<(i64, i64, i64, i64)> = sqlx::query_as(
                    "SELECT ticket_id, COUNT(*), MIN(seq), MAX(seq) FROM transcript GROUP BY ticket_id \
                     HAVING MIN(seq) <> 1 OR MAX(seq) <> COUNT(*)",
                )
                .fetch_all(&self.pool)
                .await?;
                for (ticket, count, min, max) in gaps {
                    problems.push(format!(
                        "ticket {ticket}: {count} transcript entries numbered {min}..={max}"
                    ));
                }
                let orphans: Vec<(i64,)> = sqlx::query_as(
                    "SELECT id FROM tickets WHERE status = 'claimed' AND agent_id IS NULL",
                )
                .fetch_all(&self.pool)
                .await?;
                for (ticket,) in orphans {
                    problems.push(format!("ticket {ticket}: claimed by nobody"));
                }
                let doubles: Vec<(i64, i64)> = sqlx::query_as(
                    "SELECT user_id, COUNT(*) FROM tickets WHERE status IN ('waiting', 'claimed') \
                     GROUP BY user_id HAVING COUNT(*) > 1",
                )
                .fetch_all(&self.pool)
                .await?;
                for (user, count) in doubles {
                    problems.push(format!("user {user}: {count} open tickets"));
                }
                Ok(problems)
            }
        }
    };
}

pub(crate) use common_queries;
