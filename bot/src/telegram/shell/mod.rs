//! The shell proper: turns each Telegram update into a desk call and
//! delivers what the desk returns. It decides nothing about conversations
//! or tickets; it only knows Telegram: chats, topics, buttons, who is where.
//!
//! - Users write in a private chat; their messages and buttons go to
//!   `Desk::user`, after the ban and flood checks.
//! - Agents act in a staff forum group (a topic per ticket; plain text in a
//!   topic is a reply to that ticket's user) or in a private chat; their
//!   commands and buttons go to `Desk::agent`, which refuses non-agents.
//!   A non-agent's refusal goes to their private chat, under the users'
//!   flood limit, never to the group (whose budget is for tickets).
//! - Staff posts go through the [`Outbox`] (the group's budget); messages
//!   to users and private chats go straight through the [`Courier`].

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use anyhow::Result;
use handoff::{AgentId, Attachment, TicketId, UserInfo};
use teloxide::types::{
    CallbackQuery, ChatId, ChatMemberUpdated, InlineKeyboardMarkup, MaybeInaccessibleMessage,
    Message, MessageId, ThreadId, User,
};

use crate::desk::{AgentCommand, Desk, Outgoing, Recipient};
use crate::engine::commands::{self, Command, Side};
use crate::engine::{
    Action, Refusal, Reply, UserInput, UserMessage, detect_language, normalize_language_code,
};
use crate::render::{self, render};
use crate::settings::TelegramSettings;
use crate::telegram::abuse::{Flood, FloodGuard};
use crate::telegram::courier::{Courier, keyboard};
use crate::telegram::notices::{self, Notice};
use crate::telegram::outbox::{Body, Outbox, StaffPost};
use crate::telegram::topics::Topics;

mod agents;
mod delivery;
mod users;

/// Where an event came from; replies to the acting agent go back there.
#[derive(Debug, Clone, Copy)]
struct Origin {
    chat: ChatId,
    thread: Option<ThreadId>,
    /// The message that carried the event (copied when it has media).
    message: Option<MessageId>,
    /// The ticket whose topic the event came from.
    topic_ticket: Option<TicketId>,
    /// The staff member who acted; None for a user.
    agent: Option<AgentId>,
    in_staff_group: bool,
}

pub struct Shell {
    pub(crate) desk: Arc<Desk>,
    courier: Courier,
    outbox: Outbox,
    topics: Arc<Topics>,
    settings: TelegramSettings,
    flood: FloodGuard,
    /// Chats told that the bot works in private chats only.
    told_chats: Mutex<HashSet<i64>>,
    /// `/stats`, `/reload`, `/suggest` (None: not offered).
    admin: Option<crate::admin::Admin>,
}

fn user_id(user: &User) -> i64 {
    user.id.0 as i64
}

/// The dedup key of a Telegram message: the same message delivered twice
/// is stored once.
fn message_key(message: &Message) -> String {
    format!("tg:{}:{}", message.chat.id.0, message.id.0)
}

fn user_info(user: &User) -> UserInfo {
    UserInfo {
        id: user_id(user),
        username: user.username.clone(),
        display_name: Some(user.full_name()).filter(|n| !n.trim().is_empty()),
        language: user.language_code.clone().unwrap_or_default(),
    }
}

/// The file a message carries, if any (the largest size of a photo).
fn attachment_of(message: &Message) -> Option<Attachment> {
    let (kind, file_id) = if let Some(photo) = message.photo() {
        ("photo", photo.last()?.file.id.0.clone())
    } else if let Some(document) = message.document() {
        ("document", document.file.id.0.clone())
    } else if let Some(voice) = message.voice() {
        ("voice", voice.file.id.0.clone())
    } else if let Some(video) = message.video() {
        ("video", video.file.id.0.clone())
    } else if let Some(sticker) = message.sticker() {
        ("sticker", sticker.file.id.0.clone())
    } else if let Some(animation) = message.animation() {
        ("animation", animation.file.id.0.clone())
    } else if let Some(audio) = message.audio() {
        ("audio", audio.file.id.0.clone())
    } else if let Some(note) = message.video_note() {
        ("video_note", note.file.id.0.clone())
    } else {
        return None;
    };
    Some(Attachment {
        kind: kind.to_owned(),
        file_id,
    })
}

/// The language for a shell notice to a user.
fn user_language(user: &User, text: Option<&str>) -> String {
    text.and_then(detect_language)
        .map(str::to_owned)
        .or_else(|| {
            user.language_code
                .as_deref()
                .and_then(normalize_language_code)
        })
        .unwrap_or_else(|| "en".to_owned())
}

/// The name of a ticket's topic: `#id · category · user`.
fn topic_name(card: &crate::engine::TicketCard) -> String {
    let who = match (&card.ticket.user.display_name, &card.ticket.user.username) {
        (Some(name), _) => name.clone(),
        (None, Some(username)) => format!("@{username}"),
        (None, None) => card.ticket.user.id.to_string(),
    };
    format!(
        "#{} · {} · {}",
        card.ticket.id,
        card.ticket.category.as_deref().unwrap_or("—"),
        who
    )
}

impl Shell {
    pub fn new(
        desk: Arc<Desk>,
        courier: Courier,
        outbox: Outbox,
        topics: Arc<Topics>,
        settings: TelegramSettings,
    ) -> Shell {
        let flood = FloodGuard::new(
            settings.flood_messages,
            std::time::Duration::from_secs(settings.flood_window_secs),
        );
        Shell {
            desk,
            courier,
            outbox,
            topics,
            settings,
            flood,
            told_chats: Mutex::new(HashSet::new()),
            admin: None,
        }
    }

    /// Offers the admin commands (`/stats`, `/reload`, `/suggest`).
    pub fn with_admin(mut self, admin: crate::admin::Admin) -> Shell {
        self.admin = Some(admin);
        self
    }

    /// An admin command: answered in the chat (and topic) it came from;
    /// `Admin::handle` refuses anyone who is not an admin.
    async fn admin_command(
        &self,
        who: AgentId,
        command: crate::admin::AdminCommand,
        origin: &Origin,
    ) -> Result<()> {
        let reply = match &self.admin {
            Some(admin) => admin.handle(who, command).await?,
            None => crate::admin::AdminReply::Refused,
        };
        let text = reply.render(&self.staff_language());
        if let Err(error) = self
            .courier
            .send_text(origin.chat, origin.thread, &text, None)
            .await
        {
            tracing::warn!(
                chat_id = origin.chat.0,
                "sending an admin reply failed: {error}"
            );
        }
        Ok(())
    }

    fn is_staff_group(&self, chat: ChatId) -> bool {
        self.settings.staff_groups().contains(&chat.0)
    }

    fn is_agent(&self, id: i64) -> bool {
        self.desk.staff().is_agent(id)
    }

    fn staff_language(&self) -> String {
        self.desk.staff().language.clone()
    }

    // ---------------------------------------------------------------- updates

    /// Whether a person (not a bot) sent `message`: bots' messages are
    /// nobody's business here.
    pub fn from_a_person(message: &Message) -> bool {
        message.from.as_ref().is_some_and(|from| !from.is_bot)
    }

    /// `/whoami` where it is answered: a private chat or a staff group.
    pub fn asks_who_am_i(&self, message: &Message) -> bool {
        message
            .text()
            .and_then(commands::split_command)
            .is_some_and(|(word, _)| word == "whoami")
            && (message.chat.is_private() || self.is_staff_group(message.chat.id))
    }

    /// Whether the sender is a configured agent or admin.
    pub fn from_staff(&self, message: &Message) -> bool {
        message
            .from
            .as_ref()
            .is_some_and(|from| self.is_agent(user_id(from)))
    }

    /// Whether `message` was written in one of the staff groups.
    pub fn in_staff_group(&self, message: &Message) -> bool {
        self.is_staff_group(message.chat.id)
    }

    pub async fn on_who_am_i(&self, message: Message) -> Result<()> {
        let Some(from) = message.from.as_ref() else {
            return Ok(());
        };
        // A user's /whoami counts against the flood limit like any
        // message, and a banned user gets no answer.
        if message.chat.is_private()
            && !self.is_agent(user_id(from))
            && !self.admit(from, message.text()).await?
        {
            return Ok(());
        }
        self.whoami(&message, from).await
    }

    /// An agent's message in their private chat with the bot.
    pub async fn on_agent_chat(&self, message: Message) -> Result<()> {
        self.agent_message(&message, None).await
    }

    /// A user's message in their private chat with the bot.
    pub async fn on_user_chat(&self, message: Message) -> Result<()> {
        self.user_message(&message).await
    }

    /// A message in a staff group: in a ticket's topic it is about that
    /// ticket.
    pub async fn on_staff_group(&self, message: Message) -> Result<()> {
        let topic_ticket = match message.thread_id.filter(|_| message.is_topic_message) {
            Some(thread) => self.topics.ticket_of(message.chat.id.0, thread.0.0).await?,
            None => None,
        };
        self.agent_message(&message, topic_ticket).await
    }

    /// A message in any other group: the bot works in private chats only.
    pub async fn on_other_chat(&self, message: Message) -> Result<()> {
        self.private_only(message.chat.id).await
    }

    /// `/whoami`, from anyone in a private chat or a staff group: their
    /// numeric Telegram user id (what `staff.agents` and `staff.admins`
    /// want), and in a group the group's chat id too.
    async fn whoami(&self, message: &Message, from: &User) -> Result<()> {
        let group = (!message.chat.is_private()).then_some(message.chat.id.0);
        let language = if group.is_some() {
            self.staff_language()
        } else {
            from.language_code
                .as_deref()
                .and_then(normalize_language_code)
                .unwrap_or_else(|| "en".to_owned())
        };
        let text = notices::text(
            &Notice::WhoAmI {
                user: user_id(from),
                group,
            },
            &language,
        );
        let thread = message.thread_id.filter(|_| message.is_topic_message);
        if let Err(error) = self
            .courier
            .send_text(message.chat.id, thread, &text, None)
            .await
        {
            tracing::warn!(
                chat_id = message.chat.id.0,
                "answering /whoami failed: {error}"
            );
        }
        Ok(())
    }

    pub async fn on_edited_message(&self, message: Message) -> Result<()> {
        // Staff edits change nothing already relayed. A user's edited text
        // counts as a new message (a corrected question, a corrected order
        // number for the agent); other edits get the polite answer.
        let Some(from) = message.from.as_ref() else {
            return Ok(());
        };
        if !message.chat.is_private() || self.is_agent(user_id(from)) || from.is_bot {
            return Ok(());
        }
        let text = message.text().or(message.caption());
        if !self.admit(from, text).await? {
            return Ok(());
        }
        let input = match text {
            Some(text) if !text.trim().is_empty() => UserInput::Edited(text.to_owned()),
            _ => UserInput::Unsupported,
        };
        // Each edit is its own event: the same edit delivered twice is kept
        // once, a second edit of the message is kept too.
        let edited = message.edit_date().map_or(0, |d| d.timestamp());
        let out = self
            .desk
            .user(UserMessage {
                user: user_info(from),
                input,
                key: Some(format!("{}:edit:{edited}", message_key(&message))),
            })
            .await?;
        self.deliver(out, &self.user_origin(&message)).await;
        Ok(())
    }

    pub async fn on_channel_post(&self, message: Message) -> Result<()> {
        self.private_only(message.chat.id).await
    }

    pub async fn on_membership(&self, update: ChatMemberUpdated) -> Result<()> {
        let added = update.new_chat_member.is_present() && !update.old_chat_member.is_present();
        if added && !update.chat.is_private() && !self.is_staff_group(update.chat.id) {
            self.private_only(update.chat.id).await?;
        }
        Ok(())
    }

    pub async fn on_callback(&self, query: CallbackQuery) -> Result<()> {
        let from = user_id(&query.from);
        let (chat, thread) = match &query.message {
            Some(MaybeInaccessibleMessage::Regular(message)) => (
                message.chat.id,
                message.thread_id.filter(|_| message.is_topic_message),
            ),
            Some(MaybeInaccessibleMessage::Inaccessible(message)) => (message.chat.id, None),
            None => (ChatId(from), None),
        };
        let action = query.data.as_deref().and_then(Action::parse);
        let Some(action) = action else {
            self.answer(&query, None).await;
            return Ok(());
        };
        if matches!(action, Action::Claim(_) | Action::Close(_)) {
            let topic_ticket = match thread {
                Some(thread) => self.topics.ticket_of(chat.0, thread.0.0).await?,
                None => None,
            };
            let origin = Origin {
                chat,
                thread,
                message: None,
                topic_ticket,
                agent: Some(from),
                in_staff_group: self.is_staff_group(chat),
            };
            let out = self.desk.agent(from, AgentCommand::Button(action)).await?;
            // A refusal goes to the presser alone, as the button's answer.
            let (refusals, rest): (Vec<Outgoing>, Vec<Outgoing>) = out.into_iter().partition(|o| {
                o.to == Recipient::Agent(from) && matches!(o.reply, Reply::Refused(_))
            });
            let knowledge = self.desk.knowledge();
            let text = refusals
                .first()
                .map(|o| render(&o.reply, &o.language, &knowledge.faq).text);
            self.answer(&query, text).await;
            // In a staff group the claim shows as the card's edit ("claimed
            // by Alice") in the ticket's topic; a "You claimed" post with
            // the card again would land wherever the pressed message was
            // (the General topic when Telegram leaves its topic out).
            let rest = rest.into_iter().filter(|o| {
                !(origin.in_staff_group
                    && o.to == Recipient::Agent(from)
                    && matches!(o.reply, Reply::Claimed(_)))
            });
            self.deliver(rest.collect(), &origin).await;
            return Ok(());
        }
        if !chat.is_user() || self.banned(&query.from, None).await? {
            self.answer(&query, None).await;
            return Ok(());
        }
        let closes_its_keyboard = matches!(
            action,
            Action::Solved(_)
                | Action::NotHelpful(_)
                | Action::Rate { .. }
                | Action::Pick(_)
                | Action::NoneOfThese
                | Action::SkipDetails
                | Action::Human
        );
        let out = match self
            .desk
            .user(UserMessage {
                user: user_info(&query.from),
                input: UserInput::Button(action),
                // Never on a transcript (a press is not a message); a
                // ticket opened by a press keeps it, so the press handled
                // again after a crash is the handoff again.
                key: Some(format!("callback:{}", query.id)),
            })
            .await
        {
            Ok(out) => out,
            Err(error) => {
                self.answer(&query, None).await;
                return Err(error);
            }
        };
        // A stale press is answered on the button itself, as a toast; an
        // accepted one takes its keyboard off the message, so a choice
        // made cannot be made again.
        let (stale, out): (Vec<Outgoing>, Vec<Outgoing>) = out
            .into_iter()
            .partition(|o| o.to == Recipient::User(from) && o.reply == Reply::StaleButton);
        let toast = stale
            .first()
            .map(|o| render(&o.reply, &o.language, &self.desk.knowledge().faq).text);
        let accepted = toast.is_none();
        self.answer(&query, toast).await;
        if accepted
            && closes_its_keyboard
            && let Some(MaybeInaccessibleMessage::Regular(message)) = &query.message
            && let Err(error) = self.courier.remove_keyboard(chat, message.id).await
        {
            tracing::warn!(chat_id = chat.0, "taking a keyboard off failed: {error}");
        }
        let origin = Origin {
            chat,
            thread: None,
            message: None,
            topic_ticket: None,
            agent: None,
            in_staff_group: false,
        };
        self.deliver(out, &origin).await;
        Ok(())
    }

    /// Delivers what no update caused (re-alerts of waiting tickets).
    pub async fn announce(&self, outgoing: Vec<Outgoing>) {
        let origin = Origin {
            chat: ChatId(0),
            thread: None,
            message: None,
            topic_ticket: None,
            agent: None,
            in_staff_group: false,
        };
        self.deliver(outgoing, &origin).await;
    }

    async fn answer(&self, query: &CallbackQuery, text: Option<String>) {
        if let Err(error) = self.courier.answer_callback(query.id.clone(), text).await {
            tracing::warn!("answering a button press failed: {error}");
        }
    }
}
