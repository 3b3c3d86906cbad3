//! Which forum topic belongs to which ticket. Kept in the store's state
//! table (`topic:<ticket>` → chat, thread, card message; `thread:<chat>:<thread>`
//! → ticket) so a restarted bot, or another replica, keeps relaying in the
//! same topics; cached in memory because every staff message needs it.

use std::collections::HashMap;
use std::sync::Mutex;

use anyhow::{Context, Result};
use handoff::{Store, TicketId};
use serde::{Deserialize, Serialize};

/// Where a ticket lives in a staff group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicRecord {
    pub chat: i64,
    pub thread: i32,
    /// The context card's message (edited when the ticket is claimed).
    pub card: Option<i32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct ThreadRecord {
    ticket: TicketId,
}

fn topic_key(ticket: TicketId) -> String {
    format!("topic:{ticket}")
}

fn opening_key(ticket: TicketId, chat: i64) -> String {
    format!("topic-opening:{ticket}:{chat}")
}

fn thread_key(chat: i64, thread: i32) -> String {
    format!("thread:{chat}:{thread}")
}

pub struct Topics {
    store: Store,
    by_ticket: Mutex<HashMap<TicketId, TopicRecord>>,
    by_thread: Mutex<HashMap<(i64, i32), TicketId>>,
}

impl Topics {
    pub fn new(store: Store) -> Topics {
        Topics {
            store,
            by_ticket: Mutex::new(HashMap::new()),
            by_thread: Mutex::new(HashMap::new()),
        }
    }

    pub async fn of_ticket(&self, ticket: TicketId) -> Result<Option<TopicRecord>> {
        if let Some(record) = self.by_ticket.lock().expect("topics poisoned").get(&ticket) {
            return Ok(Some(*record));
        }
        let Some(value) = self.store.load_state(&topic_key(ticket)).await? else {
            return Ok(None);
        };
        let record: TopicRecord =
            serde_json::from_value(value).context("reading a topic record")?;
        self.by_ticket
            .lock()
            .expect("topics poisoned")
            .insert(ticket, record);
        Ok(Some(record))
    }

    /// The ticket whose topic `thread` is in `chat`, if any.
    pub async fn ticket_of(&self, chat: i64, thread: i32) -> Result<Option<TicketId>> {
        if let Some(ticket) = self
            .by_thread
            .lock()
            .expect("topics poisoned")
            .get(&(chat, thread))
        {
            return Ok(Some(*ticket));
        }
        let Some(value) = self.store.load_state(&thread_key(chat, thread)).await? else {
            return Ok(None);
        };
        let record: ThreadRecord =
            serde_json::from_value(value).context("reading a thread record")?;
        self.by_thread
            .lock()
            .expect("topics poisoned")
            .insert((chat, thread), record.ticket);
        Ok(Some(record.ticket))
    }

    /// Reserves the opening of `ticket`'s topic in `chat`, once for all
    /// processes and all time: true for the one caller that may call
    /// `createForumTopic`. Reserved before that call, so a crash between
    /// Telegram opening the topic and [`Topics::save`] recording it never
    /// leads to a second topic.
    pub async fn reserve(&self, ticket: TicketId, chat: i64, name: &str) -> Result<bool> {
        Ok(self
            .store
            .reserve_state(
                &opening_key(ticket, chat),
                &serde_json::json!({ "chat": chat, "name": name }),
            )
            .await?)
    }

    /// Gives the reservation back: Telegram refused to open the topic, so
    /// none was opened.
    pub async fn release(&self, ticket: TicketId, chat: i64) -> Result<()> {
        Ok(self.store.remove_state(&opening_key(ticket, chat)).await?)
    }

    /// The record in the store, past the cache (another process may have
    /// written it).
    pub async fn stored(&self, ticket: TicketId) -> Result<Option<TopicRecord>> {
        self.by_ticket
            .lock()
            .expect("topics poisoned")
            .remove(&ticket);
        self.of_ticket(ticket).await
    }

    pub async fn save(&self, ticket: TicketId, record: TopicRecord) -> Result<()> {
        self.store
            .save_state(
                &thread_key(record.chat, record.thread),
                &serde_json::to_value(ThreadRecord { ticket })?,
            )
            .await?;
        self.store
            .save_state(&topic_key(ticket), &serde_json::to_value(record)?)
            .await?;
        self.by_thread
            .lock()
            .expect("topics poisoned")
            .insert((record.chat, record.thread), ticket);
        self.by_ticket
            .lock()
            .expect("topics poisoned")
            .insert(ticket, record);
        Ok(())
    }
}
