//! Users' messages: the ban and flood checks, then the desk.

use super::*;
use crate::desk::bans;

impl Shell {
    pub(super) fn user_origin(&self, message: &Message) -> Origin {
        Origin {
            chat: message.chat.id,
            thread: None,
            message: Some(message.id),
            topic_ticket: None,
            agent: None,
            in_staff_group: false,
        }
    }

    /// True when the user is banned (told once per ban).
    pub(super) async fn banned(&self, user: &User, text: Option<&str>) -> Result<bool> {
        let store = self.desk.store();
        let mut record = bans::ban_record(store, user_id(user)).await?;
        if !record.banned {
            return Ok(false);
        }
        if !record.told {
            record.told = true;
            bans::save_ban_record(store, user_id(user), &record).await?;
            let notice = notices::text(&Notice::Banned, &user_language(user, text));
            self.send_or_log(ChatId(user_id(user)), &notice).await;
        }
        Ok(true)
    }

    /// The ban and flood checks; false: do not handle the message.
    pub(super) async fn admit(&self, user: &User, text: Option<&str>) -> Result<bool> {
        if self.banned(user, text).await? {
            return Ok(false);
        }
        match self.flood.check(user_id(user)) {
            Flood::Accept => Ok(true),
            Flood::Pause { remaining } => {
                tracing::info!(chat_id = user_id(user), "flood limit reached; pausing");
                let seconds = remaining.as_secs().max(1);
                let notice = notices::text(&Notice::Paused { seconds }, &user_language(user, text));
                self.send_or_log(ChatId(user_id(user)), &notice).await;
                Ok(false)
            }
            Flood::Ignore => Ok(false),
        }
    }

    pub(super) async fn user_message(&self, message: &Message) -> Result<()> {
        let from = message.from.as_ref().expect("checked by the caller");
        let text = message.text().or(message.caption());
        if !self.admit(from, text).await? {
            return Ok(());
        }
        let origin = self.user_origin(message);
        let user = user_info(from);
        let parsed = message.text().map(|text| commands::parse(text, Side::User));
        if let Some(Ok(Some(command))) = &parsed
            && !matches!(command, Command::User(_))
        {
            // A user trying staff commands: the desk refuses (and logs it);
            // the refusal comes back here.
            let origin = Origin {
                agent: Some(user.id),
                ..origin
            };
            let out = match command.clone() {
                Command::Agent(command) => self.desk.agent(user.id, command).await?,
                _ => {
                    tracing::warn!(chat_id = user.id, "staff command from a non-agent refused");
                    vec![self.desk.refusal(user.id, Refusal::NotAllowed)]
                }
            };
            self.deliver(out, &origin).await;
            return Ok(());
        }
        let input = if let Some(text) = message.text() {
            match parsed {
                Some(Ok(Some(Command::User(command)))) => UserInput::Command(command),
                _ => UserInput::Text(text.to_owned()),
            }
        } else if let Some(attachment) = attachment_of(message) {
            UserInput::Attachment {
                attachment,
                caption: message.caption().map(str::to_owned),
            }
        } else {
            UserInput::Unsupported
        };
        let out = self
            .desk
            .user(UserMessage {
                user,
                input,
                key: Some(message_key(message)),
            })
            .await?;
        self.deliver(out, &origin).await;
        Ok(())
    }

    /// The bot was added to a group or channel that is not a staff group:
    /// it says so once, politely, and leaves.
    pub(super) async fn private_only(&self, chat: ChatId) -> Result<()> {
        if !self
            .told_chats
            .lock()
            .expect("told chats poisoned")
            .insert(chat.0)
        {
            return Ok(());
        }
        tracing::info!(
            chat_id = chat.0,
            "added to a chat that is not a staff group; leaving"
        );
        self.send_or_log(chat, &notices::text(&Notice::PrivateOnly, "en"))
            .await;
        if let Err(error) = self.courier.leave_chat(chat).await {
            tracing::warn!(chat_id = chat.0, "leaving a chat failed: {error}");
        }
        Ok(())
    }

    pub(super) async fn send_or_log(&self, chat: ChatId, text: &str) {
        if let Err(error) = self.courier.send_text(chat, None, text, None).await {
            tracing::warn!(chat_id = chat.0, "sending failed: {error}");
        }
    }
}
