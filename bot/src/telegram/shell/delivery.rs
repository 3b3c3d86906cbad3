//! Delivery of what the desk returns: to users, to the staff group's
//! topics (through the outbox) or to agents' private chats.

use super::*;

impl Shell {
    /// The staff group a ticket's posts go to (where its topic is, else its
    /// team's group, else the common one); None without forum groups. The
    /// team comes with the message when it carries the ticket's card; only
    /// other news of a ticket that has no topic yet reads the ticket.
    pub(super) async fn group_of(&self, out: &Outgoing) -> Result<Option<i64>> {
        if self.settings.staff_groups().is_empty() {
            return Ok(None);
        }
        let Some(ticket) = out.ticket else {
            return Ok(self.settings.staff_group);
        };
        if let Some(record) = self.topics.of_ticket(ticket).await? {
            return Ok(Some(record.chat));
        }
        let card = match (&out.reply, &out.card) {
            (Reply::NewTicket(card), _) => Some(card),
            (_, Some(card)) => Some(card.as_ref()),
            _ => None,
        };
        let team = match card {
            Some(card) => card.ticket.team.clone(),
            None => self.desk.store().ticket(ticket).await?.and_then(|t| t.team),
        };
        Ok(self.settings.group_for(team.as_deref()))
    }

    pub(super) async fn deliver(&self, outgoing: Vec<Outgoing>, origin: &Origin) {
        for out in outgoing {
            let ticket = out.ticket;
            if let Err(error) = self.deliver_one(out, origin).await {
                tracing::error!(ticket_id = ticket, "delivering a reply failed: {error:#}");
            }
        }
    }

    pub(super) async fn deliver_one(&self, out: Outgoing, origin: &Origin) -> Result<()> {
        let knowledge = self.desk.knowledge();
        let message = render(&out.reply, &out.language, &knowledge.faq);
        match out.to {
            Recipient::User(user) => {
                let chat = ChatId(user);
                if !self.copy_relayed(chat, &out, origin).await? {
                    self.courier
                        .send_text(chat, None, &message.text, keyboard(&message.buttons))
                        .await?;
                }
            }
            Recipient::Agent(agent) if origin.agent == Some(agent) => {
                if origin.in_staff_group {
                    let redundant = match &out.reply {
                        Reply::Delivered { .. } => true,
                        Reply::Claimed(card) => origin.topic_ticket == Some(card.ticket.id),
                        _ => false,
                    };
                    if let (false, Reply::Claimed(card)) = (redundant, &out.reply) {
                        // Typed elsewhere in the group (General): everyone
                        // reads it, so it names the agent; the card is in
                        // the ticket's topic.
                        let named = Reply::ClaimedBy {
                            ticket: card.ticket.id,
                            agent: self.desk.staff().alias(agent),
                        };
                        let text = render(&named, &out.language, &knowledge.faq).text;
                        self.reply_here(origin, text, None).await;
                    } else if !redundant {
                        self.reply_here(origin, message.text.clone(), keyboard(&message.buttons))
                            .await;
                    }
                } else {
                    self.to_private(agent, &out, &message, origin).await?;
                }
            }
            // Another agent, or news from a user's side: a ticket's news goes
            // to its topic when staff work in forum groups; the rest privately.
            Recipient::Agent(agent) => match out.ticket {
                Some(_) => match self.group_of(&out).await? {
                    Some(group) => self.to_group(group, &out, &message, origin).await?,
                    None => self.to_private(agent, &out, &message, origin).await?,
                },
                None => self.to_private(agent, &out, &message, origin).await?,
            },
            Recipient::Staff => match self.group_of(&out).await? {
                Some(group) => self.to_group(group, &out, &message, origin).await?,
                None => {
                    let staff = self.desk.staff();
                    let mut everyone: Vec<AgentId> = staff.agents.iter().map(|a| a.id).collect();
                    everyone.extend(staff.admins.iter().copied());
                    everyone.sort_unstable();
                    everyone.dedup();
                    for agent in everyone {
                        if let Err(error) = self.to_private(agent, &out, &message, origin).await {
                            tracing::warn!(chat_id = agent, "telling an agent failed: {error:#}");
                        }
                    }
                }
            },
        }
        // A ticket that ends closes its topic.
        if let Reply::ClosedByAgent { ticket } | Reply::UserCancelled { ticket } = out.reply
            && let Some(group) = self.group_of(&out).await?
            && self.topics.of_ticket(ticket).await?.is_some()
            && let Some(card) = out.card
        {
            let text = render(
                &Reply::NewTicket(*card),
                &self.staff_language(),
                &knowledge.faq,
            )
            .text;
            let post = |body| StaffPost {
                group,
                ticket: Some(ticket),
                thread: None,
                body,
            };
            self.outbox
                .post(post(Body::EditCard {
                    text,
                    keyboard: None,
                }))
                .await;
            self.outbox.post(post(Body::CloseTopic)).await;
        }
        Ok(())
    }

    /// A staff post about `out.ticket` in its group's topic.
    pub(super) async fn to_group(
        &self,
        group: i64,
        out: &Outgoing,
        message: &render::Message,
        origin: &Origin,
    ) -> Result<()> {
        let language = &out.language;
        let knowledge = self.desk.knowledge();
        let body = match &out.reply {
            Reply::NewTicket(card) => Body::Card {
                topic_name: topic_name(card),
                text: message.text.clone(),
                keyboard: keyboard(&message.buttons),
            },
            Reply::ClaimedBy { .. } | Reply::TransferredTo { .. } => {
                let Some(card) = out.card.clone() else {
                    return Ok(());
                };
                let card = render(&Reply::NewTicket(*card), language, &knowledge.faq);
                let close_only: Vec<Vec<render::Button>> = card
                    .buttons
                    .iter()
                    .map(|row| {
                        row.iter()
                            .filter(|b| matches!(b.action, Action::Close(_)))
                            .cloned()
                            .collect()
                    })
                    .collect();
                Body::EditCard {
                    text: format!("{}\n\n{}", card.text, message.text),
                    keyboard: keyboard(&close_only),
                }
            }
            Reply::UserWrote {
                ticket,
                user,
                text,
                attachments,
            } => match origin.message {
                Some(source) if !attachments.is_empty() && origin.agent.is_none() => {
                    let bare = Reply::UserWrote {
                        ticket: *ticket,
                        user: user.clone(),
                        text: text.clone(),
                        attachments: Vec::new(),
                    };
                    Body::Copy {
                        from: origin.chat,
                        message: source,
                        caption: render(&bare, language, &knowledge.faq).text,
                    }
                }
                _ => Body::Text {
                    text: message.text.clone(),
                    keyboard: None,
                    combinable: true,
                },
            },
            _ => Body::Text {
                text: message.text.clone(),
                keyboard: keyboard(&message.buttons),
                combinable: false,
            },
        };
        self.outbox
            .post(StaffPost {
                group,
                ticket: out.ticket,
                thread: None,
                body,
            })
            .await;
        Ok(())
    }

    /// A message to an agent's private chat (user media copied along).
    pub(super) async fn to_private(
        &self,
        agent: AgentId,
        out: &Outgoing,
        message: &render::Message,
        origin: &Origin,
    ) -> Result<()> {
        let chat = ChatId(agent);
        if self.copy_relayed(chat, out, origin).await? {
            return Ok(());
        }
        self.courier
            .send_text(chat, None, &message.text, keyboard(&message.buttons))
            .await?;
        Ok(())
    }

    /// Copies the message a relayed reply stands for (a photo, a document, a
    /// voice note) from the chat it was sent in, captioned with the reply's
    /// words: a user's to staff, an agent's to the user. False when the
    /// reply relays no attachment of this event.
    pub(super) async fn copy_relayed(
        &self,
        chat: ChatId,
        out: &Outgoing,
        origin: &Origin,
    ) -> Result<bool> {
        let from_here = match &out.reply {
            Reply::FromAgent { .. } => origin.agent.is_some(),
            Reply::UserWrote { .. } => origin.agent.is_none(),
            _ => false,
        };
        let Some(source) = origin.message.filter(|_| from_here) else {
            return Ok(false);
        };
        if out.reply.attachments().is_empty() {
            return Ok(false);
        }
        let knowledge = self.desk.knowledge();
        let bare = out.reply.without_attachments();
        let caption = render(&bare, &out.language, &knowledge.faq).text;
        self.courier
            .copy(chat, None, origin.chat, source, &caption)
            .await?;
        Ok(true)
    }
}
