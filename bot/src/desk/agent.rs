//! Staff commands against the store: the desk reads the ticket a command is
//! about, asks the pure staff engine ([`engine::staff`]) what to do, runs
//! the resulting effect (an atomic claim, an append, a transfer, a close)
//! and addresses the replies. Every decision is the engine's.

use anyhow::Result;
use chrono::Utc;
use handoff::{AgentId, Ticket, TicketId};

use super::{Desk, Outgoing, Recipient, bans};
use crate::engine::staff::{self, Focus, StaffEffect};
use crate::engine::{AgentCommand, PastTicket, QueueLine, Reply};

/// How many of a user's tickets `/whois` lists.
const WHOIS_LIMIT: i64 = 20;

impl Desk {
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
        topic: Option<TicketId>,
        command: AgentCommand,
    ) -> Result<Vec<Outgoing>> {
        if !self.staff.is_agent(agent) {
            tracing::warn!(chat_id = agent, "staff command from a non-agent refused");
            return Ok(vec![self.refusal(agent, engine::Refusal::NotAllowed)]);
        }
        let _chat = self.lock_chat(agent).await;
        let mut state = self.agent_state(agent).await?;
        let focus = self.focus(staff::focus_of(&command, topic, &state)).await?;
        let knowledge = self.knowledge();
        let decided = staff::decide(
            &self.staff,
            &knowledge.faq,
            agent,
            &mut state,
            command,
            topic,
            focus,
        );
        let out = match decided {
            Err(refusal) => vec![self.refusal(agent, refusal)],
            Ok(effect) => self.run(agent, &mut state, effect).await?,
        };
        self.save_agent_state(agent, &state).await?;
        Ok(out)
    }

    /// The ticket `id` and the language its user reads.
    async fn focus(&self, id: Option<TicketId>) -> Result<Focus> {
        let ticket = match id {
            Some(id) => self.store.ticket(id).await?,
            None => None,
        };
        let user_language = match &ticket {
            Some(ticket) => self.user_language(ticket).await?,
            None => String::new(),
        };
        Ok(Focus {
            id,
            ticket,
            user_language,
        })
    }

    /// A refusal to `agent`, in the staff language: what every shell sends
    /// for a command it could not accept (a parse error, a stranger).
    pub fn refusal(&self, agent: AgentId, refusal: engine::Refusal) -> Outgoing {
        self.to_agent(agent, Reply::Refused(refusal), None)
    }

    fn to_agent(&self, agent: AgentId, reply: Reply, ticket: Option<TicketId>) -> Outgoing {
        Outgoing {
            card: None,
            to: Recipient::Agent(agent),
            ticket,
            language: self.staff.language.clone(),
            reply,
        }
    }

    /// Executes one accepted staff effect.
    async fn run(
        &self,
        agent: AgentId,
        state: &mut engine::AgentState,
        effect: StaffEffect,
    ) -> Result<Vec<Outgoing>> {
        let refused = |refusal| vec![self.refusal(agent, refusal)];
        Ok(match effect {
            StaffEffect::ShowQueue => {
                let lines = queue_lines(self.store.queue().await?);
                vec![self.to_agent(agent, Reply::Queue(lines), None)]
            }
            StaffEffect::ShowMine => {
                let lines = queue_lines(self.store.agent_tickets(agent).await?);
                vec![self.to_agent(agent, Reply::Mine(lines), None)]
            }
            StaffEffect::ShowUser(user) => {
                let tickets = self.store.user_tickets(user, WHOIS_LIMIT).await?;
                let tickets = tickets.into_iter().map(past_ticket).collect();
                vec![self.to_agent(agent, Reply::UserTickets { user, tickets }, None)]
            }
            StaffEffect::Claim(id) => {
                let outcome = self.store.claim(id, agent).await?;
                match staff::claimed(state, id, outcome) {
                    Ok(ticket) => self.claimed(agent, &ticket).await?,
                    Err(refusal) => refused(refusal),
                }
            }
            StaffEffect::ClaimNext => match self.store.claim_next(agent).await? {
                Some(ticket) => {
                    state.in_hand = Some(ticket.id);
                    self.claimed(agent, &ticket).await?
                }
                None => refused(engine::Refusal::NoWaitingTickets),
            },
            StaffEffect::Relay {
                ticket,
                entry,
                reply,
                language,
            } => {
                self.store.append(ticket.id, entry).await?;
                vec![
                    Outgoing {
                        card: None,
                        to: Recipient::User(ticket.user.id),
                        ticket: Some(ticket.id),
                        language,
                        reply: *reply,
                    },
                    self.to_agent(
                        agent,
                        Reply::Delivered { ticket: ticket.id },
                        Some(ticket.id),
                    ),
                ]
            }
            StaffEffect::Note { ticket, text } => {
                self.store.add_note(ticket, agent, &text).await?;
                vec![self.to_agent(agent, Reply::NoteAdded { ticket }, Some(ticket))]
            }
            StaffEffect::Link { ticket, entry_id } => {
                self.store.record_link(ticket, &entry_id, agent).await?;
                let reply = Reply::Linked { ticket, entry_id };
                vec![self.to_agent(agent, reply, Some(ticket))]
            }
            StaffEffect::Transfer {
                ticket,
                to,
                language,
            } => self.transferred(agent, &ticket, to, language).await?,
            StaffEffect::Ban { user, reason } => {
                bans::set_ban(&self.store, user, true, &reason, agent).await?;
                vec![self.to_agent(agent, Reply::BanRecorded { user, reason }, None)]
            }
            StaffEffect::Unban { user } => {
                let was_banned = bans::ban_record(&self.store, user).await?.banned;
                if was_banned {
                    bans::set_ban(&self.store, user, false, "", agent).await?;
                }
                vec![self.to_agent(agent, Reply::Unbanned { user, was_banned }, None)]
            }
            StaffEffect::Close { ticket } => {
                self.store.close(ticket.id).await?;
                let mut out = self.closed(&ticket).await?;
                let reply = Reply::ClosedByAgent { ticket: ticket.id };
                let mut closed = self.to_agent(agent, reply, Some(ticket.id));
                closed.card = self.card(ticket.id).await?.map(Box::new);
                out.push(closed);
                out
            }
        })
    }

    /// Hands `ticket` from `agent` to `to`: it is in `to`'s hand, with its
    /// card; the user hears the new alias.
    async fn transferred(
        &self,
        agent: AgentId,
        ticket: &Ticket,
        to: AgentId,
        language: String,
    ) -> Result<Vec<Outgoing>> {
        self.store.transfer(ticket.id, to).await?;
        let mut to_state = self.agent_state(to).await?;
        to_state.in_hand = Some(ticket.id);
        self.save_agent_state(to, &to_state).await?;
        let mut out = Vec::new();
        let card = self.card(ticket.id).await?;
        if let Some(card) = card.clone() {
            let from = self.staff.alias(agent);
            out.push(self.to_agent(to, Reply::TransferredToYou { card, from }, Some(ticket.id)));
        }
        out.push(Outgoing {
            card: None,
            to: Recipient::User(ticket.user.id),
            ticket: Some(ticket.id),
            language,
            reply: Reply::AgentChanged {
                alias: self.staff.alias(to),
            },
        });
        let reply = Reply::TransferredTo {
            ticket: ticket.id,
            agent: self.staff.alias(to),
        };
        let mut told = self.to_agent(agent, reply, Some(ticket.id));
        told.card = card.map(Box::new);
        out.push(told);
        Ok(out)
    }

    pub(super) async fn user_language(&self, ticket: &Ticket) -> Result<String> {
        let conversation = self.conversation(ticket.user.id).await?;
        Ok(conversation
            .language
            .unwrap_or_else(|| ticket.user.language.clone()))
    }

    async fn claimed(&self, agent: AgentId, ticket: &Ticket) -> Result<Vec<Outgoing>> {
        tracing::info!(ticket_id = ticket.id, agent, "claimed");
        let mut out = Vec::new();
        let card = self.card(ticket.id).await?;
        if let Some(card) = card.clone() {
            out.push(self.to_agent(agent, Reply::Claimed(card), Some(ticket.id)));
        }
        out.push(Outgoing {
            card: card.map(Box::new),
            to: Recipient::Staff,
            ticket: Some(ticket.id),
            language: self.staff.language.clone(),
            reply: Reply::ClaimedBy {
                ticket: ticket.id,
                agent: self.staff.alias(agent),
            },
        });
        out.push(Outgoing {
            card: None,
            to: Recipient::User(ticket.user.id),
            ticket: Some(ticket.id),
            language: self.user_language(ticket).await?,
            reply: Reply::AgentJoined {
                alias: self.staff.alias(agent),
            },
        });
        Ok(out)
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

fn past_ticket(ticket: Ticket) -> PastTicket {
    PastTicket {
        id: ticket.id,
        status: ticket.status,
        category: ticket.category,
        opened_at: ticket.opened_at,
        rating: ticket.rating.map(|r| r.score),
    }
}
