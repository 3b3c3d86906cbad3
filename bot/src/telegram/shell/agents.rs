//! Staff messages: commands and replies from agents in their private chat
//! or the staff group, `/ban` and the admin commands.

use super::*;

impl Shell {
    /// A message from a staff member (or anyone) in a staff group, or from
    /// an agent in a private chat.
    pub(super) async fn agent_message(
        &self,
        message: &Message,
        topic_ticket: Option<TicketId>,
    ) -> Result<()> {
        let from = message.from.as_ref().expect("checked by the caller");
        let agent = user_id(from);
        let in_staff_group = !message.chat.is_private();
        let origin = Origin {
            chat: message.chat.id,
            thread: message.thread_id.filter(|_| message.is_topic_message),
            message: Some(message.id),
            topic_ticket,
            agent: Some(agent),
            in_staff_group,
        };
        let text = message
            .text()
            .or(message.caption())
            .unwrap_or_default()
            .trim()
            .to_owned();
        let attachment = attachment_of(message);
        if text.is_empty() && attachment.is_none() {
            return Ok(()); // service messages: topic created, member joined, ...
        }
        let origin = if in_staff_group && !self.is_agent(agent) {
            // A member of the staff group who is not staff. Their refusals
            // go to their private chat, under the users' flood limit: a
            // post in the group would spend the group's budget (20 a
            // minute), and a stranger's flood would hold back ticket posts.
            let command = text.starts_with('/') && attachment.is_none();
            if !command && topic_ticket.is_none() {
                return Ok(()); // talk outside a ticket's topic: not for the bot
            }
            if !self.admit(from, Some(&text)).await? {
                return Ok(());
            }
            if !command {
                // Plain text or a file in a ticket's topic: not a command
                // to refuse. Only agents' messages there reach the user;
                // the stranger is told so once, privately.
                let key = format!("told-not-sent-from-topic:{agent}");
                let store = self.desk.store();
                if store.load_state(&key).await?.is_none() {
                    store.save_state(&key, &serde_json::json!(true)).await?;
                    let language = user_language(from, Some(&text));
                    self.send_or_log(
                        ChatId(agent),
                        &notices::text(&Notice::NotSentFromTopic, &language),
                    )
                    .await;
                }
                return Ok(());
            }
            Origin {
                chat: ChatId(agent),
                thread: None,
                message: None,
                in_staff_group: false,
                ..origin
            }
        } else {
            origin
        };
        let origin = &origin;
        // A file's caption is never a command: it goes with the file.
        let parsed = match attachment {
            None => commands::parse(&text, Side::Staff),
            Some(_) => Ok(None),
        };
        let command = match parsed {
            Ok(Some(Command::Admin(command))) => {
                return self.admin_command(agent, command, origin).await;
            }
            Ok(Some(Command::Agent(command))) => Ok(command),
            // `/whoami` was answered before; no user command parses here.
            Ok(Some(Command::WhoAmI | Command::User(_))) => Err(Refusal::UnknownCommand),
            Ok(None) if in_staff_group && topic_ticket.is_none() => {
                return Ok(()); // staff talking among themselves outside a ticket's topic
            }
            Ok(None) => Ok(AgentCommand::Reply {
                text: text.clone(),
                attachments: attachment.into_iter().collect(),
            }),
            Err(refusal) => Err(refusal),
        };
        let out = match command {
            Ok(command) => self.desk.agent_on(agent, topic_ticket, command).await?,
            Err(refusal) if self.is_agent(agent) => vec![self.desk.refusal(agent, refusal)],
            Err(_) => vec![self.desk.refusal(agent, Refusal::NotAllowed)],
        };
        self.deliver(out, origin).await;
        Ok(())
    }

    /// A reply to the acting staff member, where they acted.
    pub(super) async fn reply_here(
        &self,
        origin: &Origin,
        text: String,
        keyboard: Option<InlineKeyboardMarkup>,
    ) {
        if origin.in_staff_group {
            self.outbox
                .post(StaffPost {
                    group: origin.chat.0,
                    ticket: None,
                    thread: origin.thread,
                    body: Body::Text {
                        text,
                        keyboard,
                        combinable: false,
                    },
                })
                .await;
        } else if let Err(error) = self
            .courier
            .send_text(origin.chat, None, &text, keyboard)
            .await
        {
            tracing::warn!(chat_id = origin.chat.0, "sending failed: {error}");
        }
    }
}
