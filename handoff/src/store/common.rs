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
//! - `LOCK_TICKET_ROW`: a ticket by id, row-locked (Postgres);
//! - `SKIP_LOCKED`: appended to a SELECT that must not wait for row locks;
//! - `claim_next_row(conn, who, at)`: picks and claims the next ticket.
//!
//! Tickets, transcripts, the queue and notes are here; the key-value state,
//! the question log and the record of unfinished work are in
//! `state_queries.rs`, which this macro expands too.

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

/// Which waiting tickets an agent may take from the queue.
pub(crate) struct Eligibility {
    pub agent: crate::model::AgentId,
    /// `None`: teams are not in use; else the agent's teams (tickets without
    /// a team are for everyone).
    pub teams: Option<Vec<String>>,
}

impl Eligibility {
    pub fn of(agent: crate::model::AgentId, routing: &crate::Routing) -> Eligibility {
        Eligibility {
            agent,
            teams: routing.routes_by_team().then(|| routing.teams_of(agent)),
        }
    }
}

/// The window over which the queue's recent throughput is measured.
pub(crate) const THROUGHPUT_WINDOW: std::time::Duration = std::time::Duration::from_secs(2 * 3600);

/// The wait for the ticket at `position`: from the throughput of the last
/// [`THROUGHPUT_WINDOW`] when at least 3 tickets were claimed in it; else
/// from the median handling time of recently closed tickets shared among
/// the agents now busy; else unknown.
pub(crate) fn estimate_wait(
    position: usize,
    recent_claims: u64,
    handling_secs: &[f64],
    busy_agents: u64,
) -> Option<std::time::Duration> {
    let secs = if recent_claims >= 3 {
        THROUGHPUT_WINDOW.as_secs_f64() * position as f64 / recent_claims as f64
    } else {
        let median = crate::model::Percentiles::of(handling_secs.to_vec())?.p50_secs;
        median * position as f64 / busy_agents.max(1) as f64
    };
    Some(std::time::Duration::from_secs_f64(secs.max(0.0)))
}

type Time = chrono::DateTime<chrono::Utc>;

/// Puts the rows of `stats` together (the arithmetic is the same for both
/// databases, so it is done here rather than in SQL dialects).
pub(crate) fn build_stats(
    from: Time,
    to: Time,
    outcomes: Vec<(String, i64)>,
    opened: Vec<(Time, Option<Time>, Option<Time>)>,
    ended: Vec<(String, Option<Time>, Time, Option<i64>)>,
    now: Vec<(String, i64)>,
    unanswered: Vec<(String, i64)>,
) -> crate::model::Stats {
    use crate::model::*;
    let secs = |a: Time, b: Time| (b - a).num_milliseconds().max(0) as f64 / 1000.0;
    let mut questions = QuestionCounts::default();
    for (outcome, n) in outcomes {
        let n = n as u64;
        match outcome.as_str() {
            "answered" => questions.answered += n,
            "suggested" => questions.suggested += n,
            "no_match" => questions.no_match += n,
            _ => questions.asked_for_human += n,
        }
    }
    let per_day = |times: &mut dyn Iterator<Item = Time>| {
        let mut days = std::collections::BTreeMap::new();
        for t in times {
            *days.entry(t.date_naive()).or_insert(0u64) += 1;
        }
        days.into_iter()
            .map(|(day, count)| DayCount { day, count })
            .collect::<Vec<_>>()
    };
    let closed: Vec<_> = ended.iter().filter(|e| e.0 == "closed").collect();
    let ratings: Vec<i64> = closed.iter().filter_map(|e| e.3).collect();
    let count_now = |status: &str| {
        now.iter()
            .find(|(s, _)| s == status)
            .map_or(0, |(_, n)| *n as u64)
    };
    Stats {
        from,
        to,
        auto_answer_rate: (questions.total() > 0)
            .then(|| questions.answered as f64 / questions.total() as f64),
        questions,
        escalated: opened.len() as u64,
        closed: closed.len() as u64,
        cancelled: (ended.len() - closed.len()) as u64,
        opened_per_day: per_day(&mut opened.iter().map(|o| o.0)),
        closed_per_day: per_day(&mut closed.iter().map(|e| e.2)),
        waiting: Percentiles::of(
            opened
                .iter()
                .filter_map(|o| Some(secs(o.0, o.1?)))
                .collect(),
        ),
        handling: Percentiles::of(
            closed
                .iter()
                .filter_map(|e| Some(secs(e.1?, e.2)))
                .collect(),
        ),
        first_reply: Percentiles::of(
            opened
                .iter()
                .filter_map(|o| Some(secs(o.0, o.2?)))
                .collect(),
        ),
        ratings: ratings.len() as u64,
        average_rating: (!ratings.is_empty())
            .then(|| ratings.iter().sum::<i64>() as f64 / ratings.len() as f64),
        waiting_now: count_now("waiting"),
        claimed_now: count_now("claimed"),
        top_unanswered: unanswered
            .into_iter()
            .map(|(text, count)| UnansweredQuestion {
                text,
                count: count as u64,
            })
            .collect(),
    }
}

macro_rules! common_queries {
    ($backend:ty, $db:ty) => {
        #[allow(clippy::needless_lifetimes)]
        impl $backend {
            pub async fn open_ticket(&self, new: NewTicket, routing: &crate::Routing) -> Result<Opened> {
                // Two writers (replicas) may race to open the first ticket of
                // a user; the partial unique index lets one win and the other
                // finds the winner's ticket on its retry.
                let mut attempt = 0;
                loop {
                    attempt += 1;
                    match self.try_open_ticket(&new, routing).await {
                        Err(e) if attempt < 3 && crate::store::common::is_unique_violation(&e) => continue,
                        other => return other,
                    }
                }
            }

            async fn try_open_ticket(&self, new: &NewTicket, routing: &crate::Routing) -> Result<Opened> {
                let mut w = self.begin_write().await?;
                let at = crate::store::now();
                let priority = routing.priority_for(new.user.id, new.priority);
                let team = routing.team_for(new.category.as_deref());
                let mut existing: Option<TicketRow> = None;
                for _ in 0..5 {
                    let open_id: Option<i64> = sqlx::query_scalar(
                        "SELECT id FROM tickets WHERE user_id = $1 AND status IN ('waiting', 'claimed')",
                    )
                    .bind(new.user.id)
                    .fetch_optional(&mut *w.tx)
                    .await?;
                    let Some(open_id) = open_id else { break };
                    // The lock order everywhere: a ticket's transcript lock,
                    // then its row (an agent's first reply does the same).
                    Self::lock_transcript(&mut *w.tx, open_id).await?;
                    let row: Option<TicketRow> = sqlx::query_as(Self::LOCK_TICKET_ROW)
                        .bind(open_id)
                        .fetch_optional(&mut *w.tx)
                        .await?;
                    if let Some(row) = row.filter(|r| r.status == "waiting" || r.status == "claimed") {
                        existing = Some(row);
                        break;
                    }
                    // Closed between the two reads (another replica): look again.
                }
                let (id, created) = match existing {
                    Some(row) => {
                        // Already waiting or with an agent: add to it.
                        let id = row.id;
                        let rank = row.priority.min(priority_to_db(priority));
                        let mut details = row.into_ticket()?.details;
                        details.merge(&new.details);
                        sqlx::query(
                            "UPDATE tickets SET details = $2, priority = $3, category = COALESCE(category, $4), \
                             team = COALESCE(team, $5) WHERE id = $1",
                        )
                        .bind(id)
                        .bind(to_json(&details))
                        .bind(rank)
                        .bind(new.category.as_deref())
                        .bind(team)
                        .execute(&mut *w.tx)
                        .await?;
                        (id, false)
                    }
                    None => {
                        let manager = routing.manager_of(new.user.id);
                        let id: i64 = sqlx::query_scalar(
                            "INSERT INTO tickets \
                             (user_id, username, display_name, language, status, priority, category, details, opened_at, \
                              team, preferred_agent, preferred_until, opened_by) \
                             VALUES ($1, $2, $3, $4, 'waiting', $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
                        )
                        .bind(new.user.id)
                        .bind(new.user.username.as_deref())
                        .bind(new.user.display_name.as_deref())
                        .bind(new.user.language.as_str())
                        .bind(priority_to_db(priority))
                        .bind(new.category.as_deref())
                        .bind(to_json(&new.details))
                        .bind(at)
                        .bind(team)
                        .bind(manager)
                        .bind(manager.map(|_| at + routing.manager_wait()))
                        .bind(new.opened_by.as_deref())
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

            pub async fn user_tickets(&self, user: UserId, limit: i64) -> Result<Vec<Ticket>> {
                let rows: Vec<TicketRow> =
                    sqlx::query_as("SELECT * FROM tickets WHERE user_id = $1 ORDER BY opened_at DESC, id DESC LIMIT $2")
                        .bind(user)
                        .bind(limit)
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

            pub async fn claim_next(&self, who: &crate::store::common::Eligibility) -> Result<Option<Ticket>> {
                let mut w = self.begin_write().await?;
                let row = Self::claim_next_row(&mut *w.tx, who, crate::store::now()).await?;
                let ticket = row.map(TicketRow::into_ticket).transpose()?;
                w.commit().await?;
                Ok(ticket)
            }

            /// `UPDATE ... RETURNING *` claiming the first ticket `who` may
            /// take, picked with `lock` appended to the inner SELECT.
            fn claim_next_query(
                who: &crate::store::common::Eligibility,
                at: chrono::DateTime<chrono::Utc>,
                lock: &str,
            ) -> sqlx::QueryBuilder<$db> {
                let mut qb = sqlx::QueryBuilder::new("UPDATE tickets SET status = 'claimed', agent_id = ");
                qb.push_bind(who.agent);
                qb.push(", claimed_at = COALESCE(claimed_at, ");
                qb.push_bind(at);
                qb.push(") WHERE status = 'waiting' AND id = (SELECT id FROM tickets WHERE status = 'waiting'");
                Self::push_eligible(&mut qb, who, at);
                qb.push(" LIMIT 1");
                qb.push(lock);
                qb.push(") RETURNING *");
                qb
            }

            /// The conditions and order of the tickets `who` may take.
            fn push_eligible(
                qb: &mut sqlx::QueryBuilder<$db>,
                who: &crate::store::common::Eligibility,
                at: chrono::DateTime<chrono::Utc>,
            ) {
                qb.push(" AND (preferred_agent IS NULL OR preferred_agent = ");
                qb.push_bind(who.agent);
                qb.push(" OR preferred_until <= ");
                qb.push_bind(at);
                qb.push(")");
                if let Some(teams) = &who.teams {
                    qb.push(" AND (team IS NULL");
                    for team in teams {
                        qb.push(" OR team = ");
                        qb.push_bind(team.clone());
                    }
                    qb.push(")");
                }
                qb.push(" ORDER BY CASE WHEN preferred_agent = ");
                qb.push_bind(who.agent);
                qb.push(" THEN 0 ELSE 1 END, priority, opened_at, id");
            }

            pub async fn queue_for(&self, who: &crate::store::common::Eligibility) -> Result<Vec<Ticket>> {
                let mut qb = sqlx::QueryBuilder::<$db>::new("SELECT * FROM tickets WHERE status = 'waiting'");
                Self::push_eligible(&mut qb, who, crate::store::now());
                let rows: Vec<TicketRow> = qb.build_query_as().fetch_all(&self.pool).await?;
                rows.into_iter().map(TicketRow::into_ticket).collect()
            }

            pub async fn due_for_realert(&self, limit: std::time::Duration) -> Result<Vec<Ticket>> {
                let at = crate::store::now();
                let cut = at - chrono::Duration::from_std(limit).unwrap_or(chrono::Duration::MAX);
                let mut w = self.begin_write().await?;
                // Rows locked by a claim at this moment are left for the next
                // call (Postgres): this never waits, so it never deadlocks.
                let mut qb = sqlx::QueryBuilder::<$db>::new("UPDATE tickets SET last_alert_at = ");
                qb.push_bind(at);
                qb.push(" WHERE id IN (SELECT id FROM tickets WHERE status = 'waiting' AND opened_at <= ");
                qb.push_bind(cut);
                qb.push(" AND (last_alert_at IS NULL OR last_alert_at <= ");
                qb.push_bind(cut);
                qb.push(")");
                qb.push(Self::SKIP_LOCKED);
                qb.push(") RETURNING *");
                let rows: Vec<TicketRow> = qb.build_query_as().fetch_all(&mut *w.tx).await?;
                w.commit().await?;
                let mut tickets = rows.into_iter().map(TicketRow::into_ticket).collect::<Result<Vec<_>>>()?;
                tickets.sort_by_key(|t| (t.priority, t.opened_at, t.id));
                Ok(tickets)
            }

            pub async fn estimated_wait(&self, id: TicketId) -> Result<Option<std::time::Duration>> {
                let Some(position) = self.queue_position(id).await? else {
                    return Ok(None);
                };
                let at = crate::store::now();
                let window = crate::store::common::THROUGHPUT_WINDOW;
                let recent: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tickets WHERE claimed_at >= $1")
                    .bind(at - chrono::Duration::from_std(window).expect("small window"))
                    .fetch_one(&self.pool)
                    .await?;
                let handled: Vec<(chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>)> = sqlx::query_as(
                    "SELECT claimed_at, closed_at FROM tickets WHERE status = 'closed' AND claimed_at IS NOT NULL \
                     AND closed_at IS NOT NULL ORDER BY closed_at DESC LIMIT 20",
                )
                .fetch_all(&self.pool)
                .await?;
                let busy: i64 =
                    sqlx::query_scalar("SELECT COUNT(DISTINCT agent_id) FROM tickets WHERE status = 'claimed'")
                        .fetch_one(&self.pool)
                        .await?;
                let handling: Vec<f64> = handled
                    .iter()
                    .map(|(claimed, closed)| (*closed - *claimed).num_milliseconds().max(0) as f64 / 1000.0)
                    .collect();
                Ok(crate::store::common::estimate_wait(position.position, recent as u64, &handling, busy as u64))
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
        }
        crate::store::state_queries::state_queries!($backend, $db);
    };
}

pub(crate) use common_queries;
