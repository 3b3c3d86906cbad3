//! The desk: runs the engine against the store. One call per event from any
//! shell (Telegram, console, tests); it loads the state the engine needs,
//! executes the engine's effects in order, saves the state, and returns what
//! each shell must deliver. Agent commands run here too (`desk/agent.rs`): the
//! pure staff engine decides, the desk executes against the store.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use anyhow::{Context, Result};
use chrono::Utc;
use handoff::{
    AgentId, Author, BusinessHours, Opened, QueryRecord, Rating, Store, Ticket, TicketId, UserId,
};

pub use crate::engine::{AgentCommand, AgentProfile, Staff};
use crate::engine::{
    AgentState, BackAt, Conversation, Effect, Engine, Knowledge, OpenTicketView, Policy, QueueInfo,
    Reply, TicketCard, UserMessage,
};

mod agent;
pub mod bans;

/// Who receives an outgoing message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Recipient {
    User(UserId),
    Agent(AgentId),
    /// All staff: the staff group (the ticket's topic), or every agent in
    /// private-chat mode.
    Staff,
}

/// A reply to deliver, with the language to render it in.
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    pub to: Recipient,
    /// The ticket it is about, if any (the Telegram shell routes staff
    /// messages to the ticket's forum topic).
    pub ticket: Option<TicketId>,
    pub language: String,
    pub reply: Reply,
    /// For a staff message that changes what a ticket's card shows (a
    /// claim, a transfer, a close, a cancel): the card as it is now, so a
    /// shell can update the card it posted without asking the desk again.
    pub card: Option<Box<TicketCard>>,
}

/// When staff work, and when waiting tickets are announced again.
#[derive(Debug, Clone)]
pub struct Schedule {
    /// `None`: agents are always there.
    pub business_hours: Option<BusinessHours>,
    pub realert_after: Duration,
}

impl Default for Schedule {
    fn default() -> Self {
        Schedule {
            business_hours: None,
            realert_after: Duration::from_secs(600),
        }
    }
}

pub struct Desk {
    store: Store,
    knowledge: RwLock<Arc<Knowledge>>,
    policy: Policy,
    staff: Staff,
    schedule: Schedule,
    /// One event at a time per chat, so a conversation's state is never
    /// read and written by two events at once.
    chat_locks: Mutex<HashMap<i64, Arc<tokio::sync::Mutex<()>>>>,
}

/// One chat's lock, held while one of its events is handled.
struct ChatGuard<'a> {
    locks: &'a Mutex<HashMap<i64, Arc<tokio::sync::Mutex<()>>>>,
    chat: i64,
    guard: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl Drop for ChatGuard<'_> {
    fn drop(&mut self) {
        // Release first; then the map's is the last handle unless another
        // event of the chat holds or waits for the lock.
        drop(self.guard.take());
        let mut locks = self.locks.lock().expect("chat locks poisoned");
        if locks
            .get(&self.chat)
            .is_some_and(|lock| Arc::strong_count(lock) == 1)
        {
            locks.remove(&self.chat);
        }
    }
}

fn user_key(id: UserId) -> String {
    format!("user:{id}")
}

fn agent_key(id: AgentId) -> String {
    format!("agent:{id}")
}

impl Desk {
    pub fn new(store: Store, knowledge: Knowledge, policy: Policy, staff: Staff) -> Desk {
        Desk {
            store,
            knowledge: RwLock::new(Arc::new(knowledge)),
            policy,
            staff,
            schedule: Schedule::default(),
            chat_locks: Mutex::new(HashMap::new()),
        }
    }

    /// The same desk with business hours and a re-alert limit.
    pub fn with_schedule(mut self, schedule: Schedule) -> Desk {
        self.schedule = schedule;
        self
    }

    /// Where a waiting ticket stands: place, estimated wait, and when agents
    /// are back if they are away now.
    async fn queue_info(&self, ticket: TicketId) -> Result<QueueInfo> {
        let position = self.store.queue_position(ticket).await?;
        let estimated_wait_minutes = match position {
            Some(_) => self
                .store
                .estimated_wait(ticket)
                .await?
                .map(|wait| wait.as_secs().div_ceil(60).max(1)),
            None => None,
        };
        let now = Utc::now();
        let back_at = self.schedule.business_hours.as_ref().and_then(|hours| {
            if hours.is_open(now) {
                return None;
            }
            use chrono::{Datelike, Timelike};
            let offset = chrono::FixedOffset::east_opt(hours.utc_offset_minutes * 60)?;
            let at = hours.next_opening(now)?.with_timezone(&offset);
            Some(BackAt {
                weekday: at.weekday().num_days_from_monday(),
                hour: at.hour(),
                minute: at.minute(),
                utc_offset_minutes: hours.utc_offset_minutes,
            })
        });
        Ok(QueueInfo {
            position,
            estimated_wait_minutes,
            back_at,
        })
    }

    /// Unclaimed tickets past the re-alert limit, announced to staff once per
    /// limit (call from a timer; with several replicas each ticket is
    /// announced by one of them).
    pub async fn realerts(&self) -> Result<Vec<Outgoing>> {
        let due = self
            .store
            .due_for_realert(self.schedule.realert_after)
            .await?;
        let now = Utc::now();
        Ok(due
            .into_iter()
            .map(|ticket| Outgoing {
                card: None,
                to: Recipient::Staff,
                ticket: Some(ticket.id),
                language: self.staff.language.clone(),
                reply: Reply::StillWaiting {
                    ticket: ticket.id,
                    minutes: (now - ticket.opened_at).num_minutes(),
                    user: ticket.user,
                },
            })
            .collect())
    }

    /// The FAQ version serving now.
    pub fn knowledge(&self) -> Arc<Knowledge> {
        self.knowledge
            .read()
            .expect("knowledge lock poisoned")
            .clone()
    }

    /// Swaps in a new FAQ version; events in flight finish on the old one.
    pub fn replace_knowledge(&self, knowledge: Knowledge) {
        *self.knowledge.write().expect("knowledge lock poisoned") = Arc::new(knowledge);
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn staff(&self) -> &Staff {
        &self.staff
    }

    /// Waits until no other event of `chat` is being handled; the chat's
    /// lock is forgotten once nobody holds or waits for it, so the map
    /// holds only the chats busy now.
    async fn lock_chat(&self, chat: i64) -> ChatGuard<'_> {
        let lock = {
            let mut locks = self.chat_locks.lock().expect("chat locks poisoned");
            locks.entry(chat).or_default().clone()
        };
        ChatGuard {
            locks: &self.chat_locks,
            chat,
            guard: Some(lock.lock_owned().await),
        }
    }

    /// How many chats have a lock now (held or waited for).
    pub fn busy_chats(&self) -> usize {
        self.chat_locks.lock().expect("chat locks poisoned").len()
    }

    async fn conversation(&self, user: UserId) -> Result<Conversation> {
        let stored = self.store.load_state(&user_key(user)).await?;
        Ok(match stored {
            Some(value) => serde_json::from_value(value).unwrap_or_else(|error| {
                tracing::warn!(user, %error, "unreadable conversation state; starting afresh");
                Conversation::default()
            }),
            None => Conversation::default(),
        })
    }

    /// Saves a user's conversation and logs the questions of this turn, in
    /// one commit.
    async fn save_conversation(
        &self,
        user: UserId,
        conversation: &Conversation,
        records: &[QueryRecord],
    ) -> Result<()> {
        let value = serde_json::to_value(conversation).context("serialising a conversation")?;
        self.store
            .save_state_and_log(&user_key(user), &value, records)
            .await?;
        Ok(())
    }

    /// What the desk remembers of `agent`; unreadable state starts afresh.
    async fn agent_state(&self, agent: AgentId) -> Result<AgentState> {
        Ok(match self.store.load_state(&agent_key(agent)).await? {
            Some(value) => serde_json::from_value(value).unwrap_or_default(),
            None => AgentState::default(),
        })
    }

    async fn save_agent_state(&self, agent: AgentId, state: &AgentState) -> Result<()> {
        let value = serde_json::to_value(state).context("serialising an agent's state")?;
        self.store.save_state(&agent_key(agent), &value).await?;
        Ok(())
    }

    /// Handles one event from a user.
    pub async fn user(&self, message: UserMessage) -> Result<Vec<Outgoing>> {
        let user = message.user.id;
        let _chat = self.lock_chat(user).await;
        let knowledge = self.knowledge();
        let engine = Engine {
            knowledge: &knowledge,
            policy: &self.policy,
        };
        let mut conversation = self.conversation(user).await?;
        let open_ticket = self.store.open_ticket_of(user).await?;
        let open = match &open_ticket {
            Some(ticket) => Some(OpenTicketView {
                id: ticket.id,
                status: ticket.status,
                queue: self.queue_info(ticket.id).await?,
            }),
            None => None,
        };
        let (mut effects, mut reopening) = replay_or_decide(
            &engine,
            &mut conversation,
            open_ticket.as_ref(),
            open,
            &message,
        );
        let mut out = Vec::new();
        let mut records = Vec::new();
        while let Some(effect) = effects.pop_front() {
            let language = conversation.language.clone().unwrap_or_default();
            match effect {
                Effect::Say(reply) => {
                    if reply == Reply::CannotHandle {
                        // The body is not logged; what kind of input it was is.
                        tracing::info!(
                            chat_id = user,
                            input = input_kind(&message.input),
                            "message the bot cannot handle"
                        );
                    }
                    out.push(Outgoing {
                        card: None,
                        to: Recipient::User(user),
                        ticket: None,
                        language,
                        reply,
                    })
                }
                Effect::TellStaff(reply) => {
                    let reply = self.fill_card(reply).await?;
                    out.push(self.to_staff(reply).await?);
                }
                Effect::OpenTicket(new) => {
                    let opened = match reopening.take() {
                        Some(ticket) => Opened {
                            ticket,
                            created: true,
                        },
                        None => self.store.open_ticket(new).await?,
                    };
                    tracing::info!(
                        ticket_id = opened.ticket.id,
                        chat_id = user,
                        created = opened.created,
                        "handoff"
                    );
                    let queue = self.queue_info(opened.ticket.id).await?;
                    let follow = engine.ticket_opened(&mut conversation, &opened, queue);
                    for effect in follow.into_iter().rev() {
                        effects.push_front(effect);
                    }
                }
                Effect::Append { ticket, entry } => {
                    self.store.append(ticket, entry).await?;
                }
                Effect::Cancel(ticket) => {
                    self.store.cancel(ticket).await?;
                }
                Effect::Rate { ticket, score } => {
                    self.store
                        .rate(
                            ticket,
                            Rating {
                                score,
                                comment: None,
                            },
                        )
                        .await?;
                }
                // Logged with the conversation, in one commit.
                Effect::Record(record) => records.push(record),
                Effect::Learn {
                    entry_id,
                    text,
                    from,
                } => {
                    self.store.record_learned(&entry_id, &text, from).await?;
                }
            }
        }
        self.save_conversation(user, &conversation, &records)
            .await?;
        Ok(out)
    }

    /// Staff messages about a claimed ticket go to its agent; others to all staff.
    async fn to_staff(&self, reply: Reply) -> Result<Outgoing> {
        let ticket = match &reply {
            Reply::NewTicket(card) => Some(card.ticket.id),
            Reply::UserWrote { ticket, .. }
            | Reply::UserCancelled { ticket }
            | Reply::UserRated { ticket, .. } => Some(*ticket),
            _ => None,
        };
        let mut to = Recipient::Staff;
        if let Some(id) = ticket
            && let Some(Ticket {
                agent: Some(agent), ..
            }) = self.store.ticket(id).await?
        {
            to = Recipient::Agent(agent);
        }
        let card = match &reply {
            Reply::UserCancelled { ticket } => self.card(*ticket).await?.map(Box::new),
            _ => None,
        };
        Ok(Outgoing {
            card,
            to,
            ticket,
            language: self.staff.language.clone(),
            reply,
        })
    }

    /// A new-ticket card from the engine has no transcript yet: read it.
    async fn fill_card(&self, reply: Reply) -> Result<Reply> {
        Ok(match reply {
            Reply::NewTicket(card) => match self.card(card.ticket.id).await? {
                Some(full) => Reply::NewTicket(full),
                None => Reply::NewTicket(card),
            },
            other => other,
        })
    }

    /// Everything staff see about a ticket; details are lifted again from
    /// the whole transcript, so details the user sent later are included.
    pub async fn card(&self, id: TicketId) -> Result<Option<TicketCard>> {
        let Some(ticket) = self.store.ticket(id).await? else {
            return Ok(None);
        };
        let transcript = self.store.transcript(id).await?;
        let user_text: Vec<&str> = transcript
            .iter()
            .filter(|e| e.author == Author::User)
            .map(|e| e.text.as_str())
            .collect();
        let mut ticket = ticket;
        ticket
            .details
            .merge(&handoff::details::extract(&user_text.join("\n")));
        let mut aliases: Vec<(AgentId, String)> = Vec::new();
        for entry in &transcript {
            if let Author::Agent(id) = entry.author
                && !aliases.iter().any(|(known, _)| *known == id)
                && let Some(profile) = self.staff.agents.iter().find(|a| a.id == id)
            {
                aliases.push((id, profile.alias.clone()));
            }
        }
        let utc_offset_minutes = self
            .schedule
            .business_hours
            .as_ref()
            .map_or(0, |hours| hours.utc_offset_minutes);
        Ok(Some(TicketCard {
            ticket,
            transcript,
            aliases,
            utc_offset_minutes,
        }))
    }

    /// Tells the user their ticket closed and asks for the rating.
    async fn closed(&self, ticket: &Ticket) -> Result<Vec<Outgoing>> {
        let user = ticket.user.id;
        let _chat = self.lock_chat(user).await;
        let knowledge = self.knowledge();
        let engine = Engine {
            knowledge: &knowledge,
            policy: &self.policy,
        };
        let mut conversation = self.conversation(user).await?;
        let effects = engine.ticket_closed(&mut conversation, ticket.id);
        self.save_conversation(user, &conversation, &[]).await?;
        let language = conversation
            .language
            .clone()
            .unwrap_or_else(|| ticket.user.language.clone());
        Ok(effects
            .into_iter()
            .filter_map(|effect| match effect {
                Effect::Say(reply) => Some(Outgoing {
                    card: None,
                    to: Recipient::User(user),
                    ticket: Some(ticket.id),
                    language: language.clone(),
                    reply,
                }),
                _ => None,
            })
            .collect())
    }
}

/// The engine's effects for `message`. The update that opened the user's
/// open ticket, handled again (a crash came before its replies went out),
/// is answered as it was the first time, against the state before the
/// ticket, and the ticket it opened (returned) stands in for a new one
/// (confirmation, card, details prompt), instead of being taken for a
/// follow-up.
fn replay_or_decide(
    engine: &Engine<'_>,
    conversation: &mut Conversation,
    open_ticket: Option<&Ticket>,
    open: Option<OpenTicketView>,
    message: &UserMessage,
) -> (VecDeque<Effect>, Option<Ticket>) {
    if let (Some(ticket), Some(key)) = (open_ticket, &message.key)
        && ticket.opened_by.as_deref() == Some(key.as_str())
    {
        let mut before = conversation.clone();
        let replayed = engine.on_user(&mut before, None, message);
        if replayed.iter().any(|e| matches!(e, Effect::OpenTicket(_))) {
            tracing::info!(
                ticket_id = ticket.id,
                chat_id = message.user.id,
                "the update that opened the ticket, handled again"
            );
            *conversation = before;
            return (replayed.into(), Some(ticket.clone()));
        }
    }
    (
        engine.on_user(conversation, open.as_ref(), message).into(),
        None,
    )
}

fn input_kind(input: &crate::engine::UserInput) -> &'static str {
    use crate::engine::UserInput;
    match input {
        UserInput::Text(_) => "text",
        UserInput::Edited(_) => "edited",
        UserInput::Command(_) => "command",
        UserInput::Button(_) => "button",
        UserInput::Attachment { .. } => "attachment",
        UserInput::Unsupported => "unsupported",
    }
}
