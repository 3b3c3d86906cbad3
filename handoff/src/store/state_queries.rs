//! The store's SQL for what is not a ticket, written once for both
//! databases (see `common.rs` for the rules): the key-value state
//! (conversations, agents' state, lists), the question log, and the record
//! of unfinished work (pending updates and posts) with its takeover; and
//! what reads across all tickets: the figures of `/stats` and the
//! consistency checks. `state_queries!` is expanded by `common_queries!`.

macro_rules! state_queries {
    ($backend:ty, $db:ty) => {
        #[allow(clippy::needless_lifetimes)]
        impl $backend {
            pub async fn stats(
                &self,
                from: chrono::DateTime<chrono::Utc>,
                to: chrono::DateTime<chrono::Utc>,
                top: usize,
            ) -> Result<Stats> {
                type Time = chrono::DateTime<chrono::Utc>;
                let outcomes: Vec<(String, i64)> = sqlx::query_as(
                    "SELECT outcome, COUNT(*) FROM query_log WHERE at >= $1 AND at < $2 GROUP BY outcome",
                )
                .bind(from)
                .bind(to)
                .fetch_all(&self.pool)
                .await?;
                let opened: Vec<(Time, Option<Time>, Option<Time>)> = sqlx::query_as(
                    "SELECT opened_at, claimed_at, first_reply_at FROM tickets WHERE opened_at >= $1 AND opened_at < $2",
                )
                .bind(from)
                .bind(to)
                .fetch_all(&self.pool)
                .await?;
                let ended: Vec<(String, Option<Time>, Time, Option<i64>)> = sqlx::query_as(
                    "SELECT status, claimed_at, closed_at, rating_score FROM tickets \
                     WHERE closed_at >= $1 AND closed_at < $2",
                )
                .bind(from)
                .bind(to)
                .fetch_all(&self.pool)
                .await?;
                let now: Vec<(String, i64)> = sqlx::query_as(
                    "SELECT status, COUNT(*) FROM tickets WHERE status IN ('waiting', 'claimed') GROUP BY status",
                )
                .fetch_all(&self.pool)
                .await?;
                let unanswered: Vec<(String, i64)> = sqlx::query_as(
                    "SELECT lower(trim(text)) AS question, COUNT(*) AS n FROM query_log \
                     WHERE outcome = 'no_match' AND at >= $1 AND at < $2 \
                     GROUP BY lower(trim(text)) ORDER BY n DESC, question LIMIT $3",
                )
                .bind(from)
                .bind(to)
                .bind(top as i64)
                .fetch_all(&self.pool)
                .await?;
                Ok(crate::store::common::build_stats(from, to, outcomes, opened, ended, now, unanswered))
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
                self.save_state_and_log(key, value, &[]).await
            }

            pub async fn record_query(&self, record: QueryRecord) -> Result<()> {
                let mut w = self.begin_write().await?;
                Self::log_query(&mut w, &record).await?;
                w.commit().await
            }

            /// The state and the questions that led to it, in one commit.
            pub async fn save_state_and_log(
                &self,
                key: &str,
                value: &serde_json::Value,
                records: &[QueryRecord],
            ) -> Result<()> {
                let mut w = self.begin_write().await?;
                for record in records {
                    Self::log_query(&mut w, record).await?;
                }
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

            pub async fn reserve_state(&self, key: &str, value: &serde_json::Value) -> Result<bool> {
                let mut w = self.begin_write().await?;
                let stored = sqlx::query(
                    "INSERT INTO chat_state (key, value, updated_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (key) DO NOTHING",
                )
                .bind(key)
                .bind(value.to_string())
                .bind(crate::store::now())
                .execute(&mut *w.tx)
                .await?
                .rows_affected();
                w.commit().await?;
                Ok(stored == 1)
            }

            pub async fn remove_state(&self, key: &str) -> Result<()> {
                let mut w = self.begin_write().await?;
                sqlx::query("DELETE FROM chat_state WHERE key = $1")
                    .bind(key)
                    .execute(&mut *w.tx)
                    .await?;
                w.commit().await
            }

            pub async fn add_pending(
                &self,
                kind: crate::store::PendingKind,
                owner: &str,
                body: &serde_json::Value,
            ) -> Result<i64> {
                let mut w = self.begin_write().await?;
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO pending_work (kind, owner, body, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
                )
                .bind(kind.as_str())
                .bind(owner)
                .bind(body.to_string())
                .bind(crate::store::now())
                .fetch_one(&mut *w.tx)
                .await?;
                w.commit().await?;
                Ok(id)
            }

            pub async fn remove_pending(&self, ids: &[i64]) -> Result<()> {
                if ids.is_empty() {
                    return Ok(());
                }
                let mut w = self.begin_write().await?;
                for id in ids {
                    sqlx::query("DELETE FROM pending_work WHERE id = $1")
                        .bind(id)
                        .execute(&mut *w.tx)
                        .await?;
                }
                w.commit().await
            }

            pub async fn pending_owners(&self, kind: crate::store::PendingKind) -> Result<Vec<String>> {
                Ok(sqlx::query_scalar(
                    "SELECT DISTINCT owner FROM pending_work WHERE kind = $1 ORDER BY owner",
                )
                .bind(kind.as_str())
                .fetch_all(&self.pool)
                .await?)
            }

            pub async fn take_over_pending(
                &self,
                kind: crate::store::PendingKind,
                from: &str,
                to: &str,
            ) -> Result<Vec<crate::store::Pending>> {
                let mut w = self.begin_write().await?;
                let rows: Vec<(i64, String)> = sqlx::query_as(
                    "UPDATE pending_work SET owner = $1 WHERE kind = $2 AND owner = $3 RETURNING id, body",
                )
                .bind(to)
                .bind(kind.as_str())
                .bind(from)
                .fetch_all(&mut *w.tx)
                .await?;
                w.commit().await?;
                let mut taken = rows
                    .into_iter()
                    .map(|(id, body)| {
                        let body = serde_json::from_str(&body).map_err(|source| StoreError::Corrupt {
                            what: kind.what(),
                            source,
                        })?;
                        Ok(crate::store::Pending { id, body })
                    })
                    .collect::<Result<Vec<_>>>()?;
                taken.sort_by_key(|p| p.id);
                Ok(taken)
            }

            async fn log_query(w: &mut WriteTx<$db>, record: &QueryRecord) -> Result<()> {
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
                Ok(())
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

pub(crate) use state_queries;
