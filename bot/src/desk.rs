//! The desk: runs the engine against the store. One call per event from any
//! shell (Telegram, console, tests); it loads the state the engine needs,
//! executes the engine's effects in order, saves the state, and returns what
//! each shell must deliver. Agent commands are handled here too, since they
//! are mostly store operations (an atomic claim) around small decisions.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use anyhow::{Context, Result};
use chrono::Utc;
use handoff::{
    AgentId, Attachment, Author, BusinessHours, ClaimOutcome, NewEntry, Opened, QueryRecord,
    Rating, Store, Ticket, TicketId, UserId,
};
use serde::{Deserialize, Serialize};

use crate::engine::{
    Action, BackAt, Conversation, Effect, Engine, Knowledge, OpenTicketView, Policy, QueueInfo,
    QueueLine, Refusal, Reply, TicketCard, UserMessage,
};

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

/// A configured agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentProfile {
    pub id: AgentId,
    /// The name users see instead of the agent's own account.
    pub alias: String,
}

/// Who may do staff work, and how staff messages are worded.
#[derive(Debug, Clone, Default)]
pub struct Staff {
    pub agents: Vec<AgentProfile>,
    /// Admins may also act as agents.
    pub admins: Vec<AgentId>,
    /// Language of messages to staff.
    pub language: String,
}

impl Staff {
    pub fn is_agent(&self, id: AgentId) -> bool {
        self.agents.iter().any(|a| a.id == id) || self.admins.contains(&id)
    }

    pub fn is_admin(&self, id: AgentId) -> bool {
        self.admins.contains(&id)
    }

    pub fn alias(&self, id: AgentId) -> String {
        self.agents
            .iter()
            .find(|a| a.id == id)
            .map(|a| a.alias.clone())
            .unwrap_or_else(|| "Support".to_owned())
    }
}

/// A command from an agent (typed in a private chat, the staff group, or the
/// console's agent side).
#[derive(Debug, Clone, PartialEq)]
pub enum AgentCommand {
    Queue,
    Mine,
    Next,
    Claim(TicketId),
    Close(Option<TicketId>),
    Note(String),
    Faq(String),
    Link(String),
    Transfer(AgentId),
    /// Plain text (and files) for the user of the ticket in hand.
    Reply {
        text: String,
        attachments: Vec<Attachment>,
    },
    Button(Action),
}

impl AgentCommand {
    /// Parses an agent's text; plain text is a reply to the user.
    pub fn parse(text: &str) -> Result<AgentCommand, Refusal> {
        let trimmed = text.trim();
        let Some(rest) = trimmed.strip_prefix('/') else {
            return Ok(AgentCommand::Reply {
                text: trimmed.to_owned(),
                attachments: Vec::new(),
            });
        };
        let (word, arg) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
        let word = word.split('@').next().unwrap_or(word).to_ascii_lowercase();
        let arg = arg.trim();
        // A known command with a missing or malformed argument gets its
        // usage, not "unknown command".
        let usage = || Refusal::Usage {
            command: word.clone(),
        };
        let ticket = || {
            arg.trim_start_matches('#')
                .parse::<TicketId>()
                .map_err(|_| usage())
        };
        let text_arg = || (!arg.is_empty()).then(|| arg.to_owned()).ok_or_else(usage);
        Ok(match word.as_str() {
            "queue" => AgentCommand::Queue,
            "mine" => AgentCommand::Mine,
            "next" => AgentCommand::Next,
            "claim" => AgentCommand::Claim(ticket()?),
            "close" if arg.is_empty() => AgentCommand::Close(None),
            "close" => AgentCommand::Close(Some(ticket()?)),
            "note" => AgentCommand::Note(text_arg()?),
            "faq" => AgentCommand::Faq(text_arg()?),
            "link" => AgentCommand::Link(text_arg()?),
            "transfer" => AgentCommand::Transfer(arg.parse().map_err(|_| usage())?),
            "help" | "start" => {
                return Err(Refusal::Usage {
                    command: "help".to_owned(),
                });
            }
            _ => return Err(Refusal::UnknownCommand),
        })
    }
}

/// What the desk remembers of an agent between commands.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
struct AgentState {
    /// The ticket the agent's plain text goes to.
    in_hand: Option<TicketId>,
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
        // The update that opened the user's open ticket, handled again (a
        // crash came before its replies went out): it is answered as it was
        // the first time, against the state before the ticket, and the ticket
        // it opened stands in for a new one (confirmation, card, details
        // prompt), instead of being taken for a follow-up.
        let mut reopening = None;
        let mut effects: VecDeque<Effect> = match (&open_ticket, &message.key) {
            (Some(ticket), Some(key)) if ticket.opened_by.as_deref() == Some(key.as_str()) => {
                let mut before = conversation.clone();
                let replayed = engine.on_user(&mut before, None, &message);
                if replayed.iter().any(|e| matches!(e, Effect::OpenTicket(_))) {
                    tracing::info!(
                        ticket_id = ticket.id,
                        chat_id = user,
                        "the update that opened the ticket, handled again"
                    );
                    reopening = Some(ticket.clone());
                    conversation = before;
                    replayed.into()
                } else {
                    engine
                        .on_user(&mut conversation, open.as_ref(), &message)
                        .into()
                }
            }
            _ => engine
                .on_user(&mut conversation, open.as_ref(), &message)
                .into(),
        };
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
            Reply::NewTicket(card) => Some(card.id),
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
        Ok(Outgoing {
            to,
            ticket,
            language: self.staff.language.clone(),
            reply,
        })
    }

    /// A new-ticket card from the engine has no transcript yet: read it.
    async fn fill_card(&self, reply: Reply) -> Result<Reply> {
        Ok(match reply {
            Reply::NewTicket(card) => match self.card(card.id).await? {
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
        let mut details = ticket.details.clone();
        details.merge(&handoff::details::extract(&user_text.join("\n")));
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
            id: ticket.id,
            user: ticket.user,
            status: ticket.status,
            priority: ticket.priority,
            category: ticket.category,
            details,
            agent: ticket.agent,
            transcript,
            aliases,
            utc_offset_minutes,
        }))
    }

    /// Handles one command from a staff member (or someone pretending); text
    /// and ticket commands act on the agent's ticket in hand.
    pub async fn agent(&self, agent: AgentId, command: AgentCommand) -> Result<Vec<Outgoing>> {
        self.agent_on(agent, None, command).await
    }

    /// Like [`Desk::agent`], but text and ticket commands act on `ticket`
    /// when given (a command typed in that ticket's forum topic), whatever
    /// the agent holds elsewhere. The ticket must still be theirs.
    pub async fn agent_on(
        &self,
        agent: AgentId,
        ticket: Option<TicketId>,
        command: AgentCommand,
    ) -> Result<Vec<Outgoing>> {
        let to_agent = |reply: Reply, ticket: Option<TicketId>| Outgoing {
            to: Recipient::Agent(agent),
            ticket,
            language: self.staff.language.clone(),
            reply,
        };
        if !self.staff.is_agent(agent) {
            tracing::warn!(chat_id = agent, "staff command from a non-agent refused");
            return Ok(vec![to_agent(Reply::Refused(Refusal::NotAllowed), None)]);
        }
        let _chat = self.lock_chat(agent).await;
        let mut state = self.agent_state(agent).await?;
        let mut out = Vec::new();
        let refuse = |refusal: Refusal| vec![to_agent(Reply::Refused(refusal), None)];
        let focus = ticket.or(state.in_hand);
        let command = match command {
            AgentCommand::Button(Action::Claim(id)) => AgentCommand::Claim(id),
            AgentCommand::Button(Action::Close(id)) => AgentCommand::Close(Some(id)),
            AgentCommand::Button(_) => return Ok(refuse(Refusal::UnknownCommand)),
            other => other,
        };
        match command {
            AgentCommand::Queue => {
                let tickets = self.store.queue().await?;
                out.push(to_agent(Reply::Queue(queue_lines(tickets)), None));
            }
            AgentCommand::Mine => {
                let tickets = self.store.agent_tickets(agent).await?;
                out.push(to_agent(Reply::Mine(queue_lines(tickets)), None));
            }
            AgentCommand::Claim(id) => match self.store.claim(id, agent).await? {
                ClaimOutcome::Claimed(ticket) => {
                    state.in_hand = Some(ticket.id);
                    out.extend(self.claimed(agent, &ticket).await?);
                }
                ClaimOutcome::AlreadyClaimed { by } => {
                    out = refuse(Refusal::AlreadyClaimed { ticket: id, by });
                }
                ClaimOutcome::NotOpen(_) => out = refuse(Refusal::NotOpen { ticket: id }),
                ClaimOutcome::NotFound => out = refuse(Refusal::NoSuchTicket(id)),
            },
            AgentCommand::Next => match self.store.claim_next(agent).await? {
                Some(ticket) => {
                    state.in_hand = Some(ticket.id);
                    out.extend(self.claimed(agent, &ticket).await?);
                }
                None => out = refuse(Refusal::NoWaitingTickets),
            },
            AgentCommand::Reply { text, attachments } => {
                match self.ticket_in_hand(agent, focus).await? {
                    Err(refusal) => out = refuse(refusal),
                    Ok(ticket) => {
                        let entry = NewEntry {
                            attachments: attachments.clone(),
                            ..NewEntry::text(Author::Agent(agent), text.clone())
                        };
                        self.store.append(ticket.id, entry).await?;
                        let language = self.user_language(&ticket).await?;
                        out.push(Outgoing {
                            to: Recipient::User(ticket.user.id),
                            ticket: Some(ticket.id),
                            language,
                            reply: Reply::FromAgent {
                                alias: self.staff.alias(agent),
                                text,
                                attachments,
                            },
                        });
                        out.push(to_agent(
                            Reply::Delivered { ticket: ticket.id },
                            Some(ticket.id),
                        ));
                    }
                }
            }
            AgentCommand::Faq(entry_id) => {
                let knowledge = self.knowledge();
                if knowledge.faq.entry(&entry_id).is_none() {
                    out = refuse(Refusal::UnknownEntry(entry_id));
                } else {
                    match self.ticket_in_hand(agent, focus).await? {
                        Err(refusal) => out = refuse(refusal),
                        Ok(ticket) => {
                            let language = self.user_language(&ticket).await?;
                            let entry = knowledge.faq.entry(&entry_id).expect("checked above");
                            let text = format!(
                                "[FAQ {entry_id}] {}",
                                knowledge.faq.answer(entry, &language)
                            );
                            self.store
                                .append(ticket.id, NewEntry::text(Author::Agent(agent), text))
                                .await?;
                            out.push(Outgoing {
                                to: Recipient::User(ticket.user.id),
                                ticket: Some(ticket.id),
                                language,
                                reply: Reply::FaqFromAgent {
                                    alias: self.staff.alias(agent),
                                    entry_id,
                                },
                            });
                            out.push(to_agent(
                                Reply::Delivered { ticket: ticket.id },
                                Some(ticket.id),
                            ));
                        }
                    }
                }
            }
            AgentCommand::Link(entry_id) => {
                if self.knowledge().faq.entry(&entry_id).is_none() {
                    out = refuse(Refusal::UnknownEntry(entry_id));
                } else {
                    match self.ticket_in_hand(agent, focus).await? {
                        Err(refusal) => out = refuse(refusal),
                        Ok(ticket) => {
                            self.store.record_link(ticket.id, &entry_id, agent).await?;
                            out.push(to_agent(
                                Reply::Linked {
                                    ticket: ticket.id,
                                    entry_id,
                                },
                                Some(ticket.id),
                            ));
                        }
                    }
                }
            }
            AgentCommand::Note(text) => match self.ticket_in_hand(agent, focus).await? {
                Err(refusal) => out = refuse(refusal),
                Ok(ticket) => {
                    self.store.add_note(ticket.id, agent, &text).await?;
                    out.push(to_agent(
                        Reply::NoteAdded { ticket: ticket.id },
                        Some(ticket.id),
                    ));
                }
            },
            AgentCommand::Transfer(to) => {
                if to == agent {
                    out = refuse(Refusal::TransferToSelf);
                } else if !self.staff.is_agent(to) {
                    out = refuse(Refusal::NotAnAgent(to));
                } else {
                    match self.ticket_in_hand(agent, focus).await? {
                        Err(refusal) => out = refuse(refusal),
                        Ok(ticket) => {
                            self.store.transfer(ticket.id, to).await?;
                            state.in_hand = None;
                            let mut to_state = self.agent_state(to).await?;
                            to_state.in_hand = Some(ticket.id);
                            self.save_agent_state(to, &to_state).await?;
                            if let Some(card) = self.card(ticket.id).await? {
                                out.push(Outgoing {
                                    to: Recipient::Agent(to),
                                    ticket: Some(ticket.id),
                                    language: self.staff.language.clone(),
                                    reply: Reply::TransferredToYou {
                                        card,
                                        from: self.staff.alias(agent),
                                    },
                                });
                            }
                            let language = self.user_language(&ticket).await?;
                            out.push(Outgoing {
                                to: Recipient::User(ticket.user.id),
                                ticket: Some(ticket.id),
                                language,
                                reply: Reply::AgentChanged {
                                    alias: self.staff.alias(to),
                                },
                            });
                            out.push(to_agent(
                                Reply::TransferredTo {
                                    ticket: ticket.id,
                                    agent: self.staff.alias(to),
                                },
                                Some(ticket.id),
                            ));
                        }
                    }
                }
            }
            AgentCommand::Close(id) => {
                // `/close` in a ticket's topic closes that ticket, claimed
                // or not, as its [Close] button does.
                let target = match id.or(ticket) {
                    Some(id) => self
                        .store
                        .ticket(id)
                        .await?
                        .ok_or(Refusal::NoSuchTicket(id)),
                    None => self.ticket_in_hand(agent, focus).await?,
                };
                match target {
                    Err(refusal) => out = refuse(refusal),
                    Ok(ticket) if !ticket.status.is_open() => {
                        out = refuse(Refusal::NotOpen { ticket: ticket.id })
                    }
                    Ok(ticket)
                        if ticket.agent.is_some_and(|a| a != agent)
                            && !self.staff.is_admin(agent) =>
                    {
                        out = refuse(Refusal::NotYours { ticket: ticket.id })
                    }
                    Ok(ticket) => {
                        self.store.close(ticket.id).await?;
                        if state.in_hand == Some(ticket.id) {
                            state.in_hand = None;
                        }
                        out.extend(self.closed(&ticket).await?);
                        out.push(to_agent(
                            Reply::ClosedByAgent { ticket: ticket.id },
                            Some(ticket.id),
                        ));
                    }
                }
            }
            AgentCommand::Button(_) => unreachable!("buttons were mapped to commands above"),
        }
        self.save_agent_state(agent, &state).await?;
        Ok(out)
    }

    /// The ticket the agent's text goes to; it must be open and theirs.
    async fn ticket_in_hand(
        &self,
        agent: AgentId,
        in_hand: Option<TicketId>,
    ) -> Result<Result<Ticket, Refusal>> {
        let Some(id) = in_hand else {
            return Ok(Err(Refusal::NoTicketInHand));
        };
        let Some(ticket) = self.store.ticket(id).await? else {
            return Ok(Err(Refusal::NoSuchTicket(id)));
        };
        if !ticket.status.is_open() {
            return Ok(Err(Refusal::NotOpen { ticket: id }));
        }
        match ticket.agent {
            None => Ok(Err(Refusal::NotClaimedYet { ticket: id })),
            Some(holder) if holder != agent => Ok(Err(Refusal::NotYours { ticket: id })),
            Some(_) => Ok(Ok(ticket)),
        }
    }

    async fn user_language(&self, ticket: &Ticket) -> Result<String> {
        let conversation = self.conversation(ticket.user.id).await?;
        Ok(conversation
            .language
            .unwrap_or_else(|| ticket.user.language.clone()))
    }

    async fn claimed(&self, agent: AgentId, ticket: &Ticket) -> Result<Vec<Outgoing>> {
        tracing::info!(ticket_id = ticket.id, agent, "claimed");
        let mut out = Vec::new();
        if let Some(card) = self.card(ticket.id).await? {
            out.push(Outgoing {
                to: Recipient::Agent(agent),
                ticket: Some(ticket.id),
                language: self.staff.language.clone(),
                reply: Reply::Claimed(card),
            });
        }
        out.push(Outgoing {
            to: Recipient::Staff,
            ticket: Some(ticket.id),
            language: self.staff.language.clone(),
            reply: Reply::ClaimedBy {
                ticket: ticket.id,
                agent: self.staff.alias(agent),
            },
        });
        out.push(Outgoing {
            to: Recipient::User(ticket.user.id),
            ticket: Some(ticket.id),
            language: self.user_language(ticket).await?,
            reply: Reply::AgentJoined {
                alias: self.staff.alias(agent),
            },
        });
        Ok(out)
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

fn queue_lines(tickets: Vec<Ticket>) -> Vec<QueueLine> {
    let now = Utc::now();
    tickets
        .into_iter()
        .map(|t| QueueLine {
            id: t.id,
            priority: t.priority,
            category: t.category,
            user: t.user,
            waiting_minutes: (now - t.opened_at).num_minutes(),
        })
        .collect()
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
