//! Agents' decisions, pure: an agent's command, what the agent remembers
//! ([`AgentState`]) and the ticket the command is about in, one
//! [`StaffEffect`] or a typed [`Refusal`] out. Whether the sender is staff,
//! whether the ticket is theirs and open, whether an FAQ id or an agent id
//! exists: all decided here. The desk reads the ticket first
//! ([`focus_of`]), then executes the effect against the store (an atomic
//! claim, an append, a transfer) and addresses the replies.

use handoff::{AgentId, Author, ClaimOutcome, NewEntry, Ticket, TicketId, UserId};
use matcher::Faq;
use serde::{Deserialize, Serialize};

use crate::commands::{AgentCommand, BanCommand, BanTarget};
use crate::reply::{Action, Refusal, Reply};

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

/// What the desk remembers of an agent between commands.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AgentState {
    /// The ticket the agent's plain text goes to.
    pub in_hand: Option<TicketId>,
}

/// The ticket a command is about, as the desk read it.
#[derive(Debug, Clone, Default)]
pub struct Focus {
    /// The ticket's id ([`focus_of`]); `None`: none named, none in hand.
    pub id: Option<TicketId>,
    /// That ticket, if it exists.
    pub ticket: Option<Ticket>,
    /// The language its user reads (their conversation's, else Telegram's).
    pub user_language: String,
}

/// What the desk must do for one accepted staff command.
#[derive(Debug, Clone, PartialEq)]
pub enum StaffEffect {
    /// `/queue`: the waiting tickets this agent may take.
    ShowQueue,
    /// `/mine`: the open tickets the agent holds.
    ShowMine,
    /// `/whois`: a user's tickets so far.
    ShowUser(UserId),
    /// Claim this ticket atomically; report with [`claimed`].
    Claim(TicketId),
    /// Claim the next waiting ticket; `None` back: [`Refusal::NoWaitingTickets`].
    ClaimNext,
    /// Keep `entry` on the ticket and send `reply` to its user.
    Relay {
        ticket: Box<Ticket>,
        entry: NewEntry,
        reply: Box<Reply>,
        language: String,
    },
    Note {
        ticket: TicketId,
        text: String,
    },
    Link {
        ticket: TicketId,
        entry_id: String,
    },
    /// Hand the ticket to `to`, who gets it in hand.
    Transfer {
        ticket: Box<Ticket>,
        to: AgentId,
        language: String,
    },
    Close {
        ticket: Box<Ticket>,
    },
    /// Ban `user` (kept with its reason and who banned them).
    Ban {
        user: UserId,
        reason: String,
    },
    /// Lift `user`'s ban, if they are banned.
    Unban {
        user: UserId,
    },
}

/// Which ticket `command` is about: an explicit `/close N`, else the
/// ticket of the topic it was typed in, else the agent's ticket in hand.
pub fn focus_of(
    command: &AgentCommand,
    topic: Option<TicketId>,
    state: &AgentState,
) -> Option<TicketId> {
    match command {
        AgentCommand::Close(Some(id)) | AgentCommand::Button(Action::Close(id)) => Some(*id),
        AgentCommand::Ban(ban) => match ban.target() {
            Some(BanTarget::Ticket(id)) => Some(id),
            Some(BanTarget::User(_)) => None,
            None => topic,
        },
        _ => topic.or(state.in_hand),
    }
}

/// Decides one command of `agent`. `topic`: the ticket whose forum topic it
/// was typed in. Updates what the agent holds in hand.
pub fn decide(
    staff: &Staff,
    faq: &Faq,
    agent: AgentId,
    state: &mut AgentState,
    command: AgentCommand,
    topic: Option<TicketId>,
    focus: Focus,
) -> Result<StaffEffect, Refusal> {
    if !staff.is_agent(agent) {
        return Err(Refusal::NotAllowed);
    }
    let in_hand = || ticket_in_hand(agent, &focus);
    let relay = |ticket: Ticket, entry: NewEntry, reply: Reply| StaffEffect::Relay {
        ticket: Box::new(ticket),
        entry,
        reply: Box::new(reply),
        language: focus.user_language.clone(),
    };
    Ok(match command {
        AgentCommand::Queue => StaffEffect::ShowQueue,
        AgentCommand::Mine => StaffEffect::ShowMine,
        AgentCommand::Whois(user) => StaffEffect::ShowUser(user),
        AgentCommand::Next => StaffEffect::ClaimNext,
        AgentCommand::Claim(id) | AgentCommand::Button(Action::Claim(id)) => StaffEffect::Claim(id),
        AgentCommand::Button(Action::Close(id)) => close(staff, agent, state, Some(id), &focus)?,
        AgentCommand::Close(id) => close(staff, agent, state, id.or(topic), &focus)?,
        AgentCommand::Button(_) => return Err(Refusal::UnknownCommand),
        AgentCommand::Reply { text, attachments } => {
            let ticket = in_hand()?;
            let entry = NewEntry {
                attachments: attachments.clone(),
                ..NewEntry::text(Author::Agent(agent), text.clone())
            };
            let reply = Reply::FromAgent {
                alias: staff.alias(agent),
                text,
                attachments,
            };
            relay(ticket, entry, reply)
        }
        AgentCommand::Faq(entry_id) => {
            let entry = faq
                .entry(&entry_id)
                .ok_or_else(|| Refusal::UnknownEntry(entry_id.clone()))?;
            let ticket = in_hand()?;
            let text = format!(
                "[FAQ {entry_id}] {}",
                faq.answer(entry, &focus.user_language)
            );
            let reply = Reply::FaqFromAgent {
                alias: staff.alias(agent),
                entry_id,
            };
            relay(ticket, NewEntry::text(Author::Agent(agent), text), reply)
        }
        AgentCommand::Link(entry_id) => {
            if faq.entry(&entry_id).is_none() {
                return Err(Refusal::UnknownEntry(entry_id));
            }
            StaffEffect::Link {
                ticket: in_hand()?.id,
                entry_id,
            }
        }
        AgentCommand::Note(text) => StaffEffect::Note {
            ticket: in_hand()?.id,
            text,
        },
        AgentCommand::Ban(ban) => ban_effect(staff, ban, &focus)?,
        AgentCommand::Transfer(to) => {
            if to == agent {
                return Err(Refusal::TransferToSelf);
            }
            if !staff.is_agent(to) {
                return Err(Refusal::NotAnAgent(to));
            }
            let ticket = in_hand()?;
            state.in_hand = None;
            StaffEffect::Transfer {
                ticket: Box::new(ticket),
                to,
                language: focus.user_language.clone(),
            }
        }
    })
}

/// `/close`, `/close N` or [Close]: a ticket `named` (by number, button or
/// the topic typed in; then `focus` holds it) is closed claimed or not, as
/// its button does; else the ticket in hand.
/// Only its agent or an admin closes a ticket another agent holds.
fn close(
    staff: &Staff,
    agent: AgentId,
    state: &mut AgentState,
    named: Option<TicketId>,
    focus: &Focus,
) -> Result<StaffEffect, Refusal> {
    let ticket = match (named, &focus.ticket) {
        (Some(_), Some(ticket)) => ticket.clone(),
        (Some(id), None) => return Err(Refusal::NoSuchTicket(id)),
        (None, _) => ticket_in_hand(agent, focus)?,
    };
    if !ticket.status.is_open() {
        return Err(Refusal::NotOpen { ticket: ticket.id });
    }
    if ticket.agent.is_some_and(|a| a != agent) && !staff.is_admin(agent) {
        return Err(Refusal::NotYours { ticket: ticket.id });
    }
    if state.in_hand == Some(ticket.id) {
        state.in_hand = None;
    }
    Ok(StaffEffect::Close {
        ticket: Box::new(ticket),
    })
}

/// `/ban` and `/unban`: whom they name (a user, a ticket's user, the
/// topic's user); never staff; a ban needs its reason.
fn ban_effect(staff: &Staff, ban: BanCommand, focus: &Focus) -> Result<StaffEffect, Refusal> {
    let usage = || Refusal::Usage {
        command: "ban".to_owned(),
    };
    let user = match ban.target() {
        Some(BanTarget::User(user)) => user,
        Some(BanTarget::Ticket(id)) => {
            focus
                .ticket
                .as_ref()
                .ok_or(Refusal::NoSuchTicket(id))?
                .user
                .id
        }
        None => focus.ticket.as_ref().ok_or_else(usage)?.user.id,
    };
    if staff.is_agent(user) {
        return Err(Refusal::StaffCannotBeBanned);
    }
    Ok(match ban {
        BanCommand::Ban { reason, .. } if reason.is_empty() => return Err(usage()),
        BanCommand::Ban { reason, .. } => StaffEffect::Ban { user, reason },
        BanCommand::Unban { .. } => StaffEffect::Unban { user },
    })
}

/// The ticket the agent's text goes to; it must exist, be open and theirs.
fn ticket_in_hand(agent: AgentId, focus: &Focus) -> Result<Ticket, Refusal> {
    let id = focus.id.ok_or(Refusal::NoTicketInHand)?;
    let ticket = focus.ticket.clone().ok_or(Refusal::NoSuchTicket(id))?;
    if !ticket.status.is_open() {
        return Err(Refusal::NotOpen { ticket: id });
    }
    match ticket.agent {
        None => Err(Refusal::NotClaimedYet { ticket: id }),
        Some(holder) if holder != agent => Err(Refusal::NotYours { ticket: id }),
        Some(_) => Ok(ticket),
    }
}

/// What an atomic claim of `id` came to: the ticket, now in hand, or why
/// not.
pub fn claimed(
    state: &mut AgentState,
    id: TicketId,
    outcome: ClaimOutcome,
) -> Result<Ticket, Refusal> {
    match outcome {
        ClaimOutcome::Claimed(ticket) => {
            state.in_hand = Some(ticket.id);
            Ok(ticket)
        }
        ClaimOutcome::AlreadyClaimed { by } => Err(Refusal::AlreadyClaimed { ticket: id, by }),
        ClaimOutcome::NotOpen(_) => Err(Refusal::NotOpen { ticket: id }),
        ClaimOutcome::NotFound => Err(Refusal::NoSuchTicket(id)),
    }
}
