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
use handoff::{AgentId, Attachment, TicketId, UserId, UserInfo};
use teloxide::types::{
    CallbackQuery, ChatId, ChatMemberUpdated, InlineKeyboardMarkup, MaybeInaccessibleMessage,
    Message, MessageId, ThreadId, User,
};

use crate::desk::{AgentCommand, Desk, Outgoing, Recipient};
use crate::engine::{
    Action, Refusal, Reply, UserCommand, UserInput, UserMessage, detect_language,
    normalize_language_code,
};
use crate::render::{self, render};
use crate::settings::TelegramSettings;
use crate::telegram::abuse::{self, Flood, FloodGuard};
use crate::telegram::courier::{Courier, keyboard};
use crate::telegram::notices::{self, Notice};
use crate::telegram::outbox::{Body, Outbox, StaffPost};
use crate::telegram::topics::Topics;

/// Words that are staff commands: from a user they are refused, not matched.
const STAFF_WORDS: &[&str] = &[
    "queue", "next", "claim", "mine", "close", "note", "link", "transfer", "ban", "unban", "stats",
    "reload", "suggest",
];

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

/// A command word (`/claim@bot 3` → `claim`).
fn command_word(text: &str) -> Option<String> {
    let word = text.split_whitespace().next()?.strip_prefix('/')?;
    Some(word.split('@').next().unwrap_or(word).to_ascii_lowercase())
}

/// `/ban` and `/unban`, which the desk does not know.
#[derive(Debug, Clone, PartialEq)]
enum BanCommand {
    Ban {
        target: Option<Target>,
        reason: String,
    },
    Unban {
        target: Option<Target>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Target {
    User(UserId),
    Ticket(TicketId),
}

fn parse_ban(text: &str) -> Option<BanCommand> {
    let word = command_word(text)?;
    if word != "ban" && word != "unban" {
        return None;
    }
    let rest = text
        .trim()
        .split_once(char::is_whitespace)
        .map(|(_, r)| r.trim())
        .unwrap_or("");
    let (first, after) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    let target = if let Some(ticket) = first.strip_prefix('#').and_then(|t| t.parse().ok()) {
        Some(Target::Ticket(ticket))
    } else {
        first.parse().ok().map(Target::User)
    };
    let reason = if target.is_some() { after.trim() } else { rest };
    Some(if word == "ban" {
        BanCommand::Ban {
            target,
            reason: reason.to_owned(),
        }
    } else {
        BanCommand::Unban { target }
    })
}

/// The name of a ticket's topic: `#id · category · user`.
fn topic_name(card: &crate::engine::TicketCard) -> String {
    let who = match (&card.user.display_name, &card.user.username) {
        (Some(name), _) => name.clone(),
        (None, Some(username)) => format!("@{username}"),
        (None, None) => card.user.id.to_string(),
    };
    format!(
        "#{} · {} · {}",
        card.id,
        card.category.as_deref().unwrap_or("—"),
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

    pub async fn on_message(&self, message: Message) -> Result<()> {
        let Some(from) = message.from.as_ref() else {
            return Ok(());
        };
        if from.is_bot {
            return Ok(());
        }
        if message.text().and_then(command_word).as_deref() == Some("whoami")
            && (message.chat.is_private() || self.is_staff_group(message.chat.id))
        {
            // A user's /whoami counts against the flood limit like any
            // message, and a banned user gets no answer.
            if message.chat.is_private()
                && !self.is_agent(user_id(from))
                && !self.admit(from, message.text()).await?
            {
                return Ok(());
            }
            return self.whoami(&message, from).await;
        }
        if message.chat.is_private() {
            if self.is_agent(user_id(from)) {
                return self.agent_message(&message, None).await;
            }
            return self.user_message(&message).await;
        }
        if self.is_staff_group(message.chat.id) {
            let topic_ticket = match message.thread_id.filter(|_| message.is_topic_message) {
                Some(thread) => self.topics.ticket_of(message.chat.id.0, thread.0.0).await?,
                None => None,
            };
            return self.agent_message(&message, topic_ticket).await;
        }
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

    // ------------------------------------------------------------------ users

    fn user_origin(&self, message: &Message) -> Origin {
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
    async fn banned(&self, user: &User, text: Option<&str>) -> Result<bool> {
        let store = self.desk.store();
        let mut record = abuse::ban_record(store, user_id(user)).await?;
        if !record.banned {
            return Ok(false);
        }
        if !record.told {
            record.told = true;
            abuse::save_ban_record(store, user_id(user), &record).await?;
            let notice = notices::text(&Notice::Banned, &user_language(user, text));
            self.send_or_log(ChatId(user_id(user)), &notice).await;
        }
        Ok(true)
    }

    /// The ban and flood checks; false: do not handle the message.
    async fn admit(&self, user: &User, text: Option<&str>) -> Result<bool> {
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

    async fn user_message(&self, message: &Message) -> Result<()> {
        let from = message.from.as_ref().expect("checked by the caller");
        let text = message.text().or(message.caption());
        if !self.admit(from, text).await? {
            return Ok(());
        }
        let origin = self.user_origin(message);
        let user = user_info(from);
        if let Some(text) = message.text()
            && let Some(word) = command_word(text)
            && STAFF_WORDS.contains(&word.as_str())
        {
            // A user trying staff commands: the desk refuses (and logs it);
            // the refusal comes back here.
            let origin = Origin {
                agent: Some(user.id),
                ..origin
            };
            let out = match AgentCommand::parse(text) {
                Ok(command) if word != "ban" && word != "unban" => {
                    self.desk.agent(user.id, command).await?
                }
                _ => vec![self.refusal(user.id, Refusal::NotAllowed)],
            };
            self.deliver(out, &origin).await;
            return Ok(());
        }
        let input = if let Some(text) = message.text() {
            match UserCommand::parse(text) {
                Some(command) if text.trim_start().starts_with('/') => UserInput::Command(command),
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

    fn refusal(&self, agent: AgentId, refusal: Refusal) -> Outgoing {
        Outgoing {
            to: Recipient::Agent(agent),
            ticket: None,
            language: self.staff_language(),
            reply: Reply::Refused(refusal),
        }
    }

    /// The bot was added to a group or channel that is not a staff group:
    /// it says so once, politely, and leaves.
    async fn private_only(&self, chat: ChatId) -> Result<()> {
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

    async fn send_or_log(&self, chat: ChatId, text: &str) {
        if let Err(error) = self.courier.send_text(chat, None, text, None).await {
            tracing::warn!(chat_id = chat.0, "sending failed: {error}");
        }
    }

    // ----------------------------------------------------------------- agents

    /// A message from a staff member (or anyone) in a staff group, or from
    /// an agent in a private chat.
    async fn agent_message(&self, message: &Message, topic_ticket: Option<TicketId>) -> Result<()> {
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
        if let Some(ban) = parse_ban(&text) {
            return self.ban_command(agent, ban, origin).await;
        }
        if attachment.is_none()
            && let Some(command) = crate::admin::AdminCommand::parse(&text)
        {
            return self.admin_command(agent, command, origin).await;
        }
        let command = if text.starts_with('/') && attachment.is_none() {
            AgentCommand::parse(&text)
        } else if in_staff_group && topic_ticket.is_none() {
            return Ok(()); // staff talking among themselves outside a ticket's topic
        } else {
            Ok(AgentCommand::Reply {
                text: text.clone(),
                attachments: attachment.into_iter().collect(),
            })
        };
        let out = match command {
            Ok(command) => self.desk.agent_on(agent, topic_ticket, command).await?,
            Err(refusal) if self.is_agent(agent) => vec![self.refusal(agent, refusal)],
            Err(_) => vec![self.refusal(agent, Refusal::NotAllowed)],
        };
        self.deliver(out, origin).await;
        Ok(())
    }

    async fn ban_command(
        &self,
        agent: AgentId,
        command: BanCommand,
        origin: &Origin,
    ) -> Result<()> {
        let language = self.staff_language();
        if !self.is_agent(agent) {
            tracing::warn!(chat_id = agent, "ban command from a non-agent refused");
            self.deliver(vec![self.refusal(agent, Refusal::NotAllowed)], origin)
                .await;
            return Ok(());
        }
        let target = match &command {
            BanCommand::Ban { target, .. } | BanCommand::Unban { target } => *target,
        };
        let ticket_user = |ticket: TicketId| async move {
            Ok::<_, anyhow::Error>(self.desk.store().ticket(ticket).await?.map(|t| t.user.id))
        };
        let user = match target {
            Some(Target::User(user)) => Some(user),
            Some(Target::Ticket(ticket)) => ticket_user(ticket).await?,
            None => match origin.topic_ticket {
                Some(ticket) => ticket_user(ticket).await?,
                None => None,
            },
        };
        let notice = match (user, command) {
            (None, _) => Notice::BanUsage,
            (Some(user), _) if self.is_agent(user) => Notice::StaffCannotBeBanned,
            (Some(_), BanCommand::Ban { reason, .. }) if reason.is_empty() => Notice::BanUsage,
            (Some(user), BanCommand::Ban { reason, .. }) => {
                abuse::set_ban(self.desk.store(), user, true, &reason, agent).await?;
                Notice::BanRecorded { user, reason }
            }
            (Some(user), BanCommand::Unban { .. }) => {
                if abuse::ban_record(self.desk.store(), user).await?.banned {
                    abuse::set_ban(self.desk.store(), user, false, "", agent).await?;
                    Notice::Unbanned { user }
                } else {
                    Notice::NotBanned { user }
                }
            }
        };
        self.reply_here(origin, notices::text(&notice, &language), None)
            .await;
        Ok(())
    }

    /// A reply to the acting staff member, where they acted.
    async fn reply_here(
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

    // --------------------------------------------------------------- delivery

    /// The staff group a ticket's posts go to (where its topic is, else its
    /// team's group, else the common one); None without forum groups.
    async fn group_of(&self, ticket: Option<TicketId>) -> Result<Option<i64>> {
        if self.settings.staff_groups().is_empty() {
            return Ok(None);
        }
        let Some(ticket) = ticket else {
            return Ok(self.settings.staff_group);
        };
        if let Some(record) = self.topics.of_ticket(ticket).await? {
            return Ok(Some(record.chat));
        }
        let team = self.desk.store().ticket(ticket).await?.and_then(|t| t.team);
        Ok(self.settings.group_for(team.as_deref()))
    }

    async fn deliver(&self, outgoing: Vec<Outgoing>, origin: &Origin) {
        for out in outgoing {
            let ticket = out.ticket;
            if let Err(error) = self.deliver_one(out, origin).await {
                tracing::error!(ticket_id = ticket, "delivering a reply failed: {error:#}");
            }
        }
    }

    async fn deliver_one(&self, out: Outgoing, origin: &Origin) -> Result<()> {
        let knowledge = self.desk.knowledge();
        let message = render(&out.reply, &out.language, &knowledge.faq);
        match out.to {
            Recipient::User(user) => {
                let chat = ChatId(user);
                match (&out.reply, origin.message) {
                    (
                        Reply::FromAgent {
                            alias,
                            text,
                            attachments,
                        },
                        Some(source),
                    ) if !attachments.is_empty() && origin.agent.is_some() => {
                        let bare = Reply::FromAgent {
                            alias: alias.clone(),
                            text: text.clone(),
                            attachments: Vec::new(),
                        };
                        let caption = render(&bare, &out.language, &knowledge.faq).text;
                        self.courier
                            .copy(chat, None, origin.chat, source, &caption)
                            .await?;
                    }
                    _ => {
                        self.courier
                            .send_text(chat, None, &message.text, keyboard(&message.buttons))
                            .await?;
                    }
                }
            }
            Recipient::Agent(agent) if origin.agent == Some(agent) => {
                if origin.in_staff_group {
                    let redundant = match &out.reply {
                        Reply::Delivered { .. } => true,
                        Reply::Claimed(card) => origin.topic_ticket == Some(card.id),
                        _ => false,
                    };
                    if let (false, Reply::Claimed(card)) = (redundant, &out.reply) {
                        // Typed elsewhere in the group (General): everyone
                        // reads it, so it names the agent; the card is in
                        // the ticket's topic.
                        let named = Reply::ClaimedBy {
                            ticket: card.id,
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
                Some(ticket) => match self.group_of(Some(ticket)).await? {
                    Some(group) => self.to_group(group, &out, &message, origin).await?,
                    None => self.to_private(agent, &out, &message, origin).await?,
                },
                None => self.to_private(agent, &out, &message, origin).await?,
            },
            Recipient::Staff => match self.group_of(out.ticket).await? {
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
            && let Some(group) = self.group_of(Some(ticket)).await?
            && self.topics.of_ticket(ticket).await?.is_some()
            && let Some(card) = self.desk.card(ticket).await?
        {
            let text = render(
                &Reply::NewTicket(card),
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
    async fn to_group(
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
            Reply::ClaimedBy { ticket, .. } | Reply::TransferredTo { ticket, .. } => {
                let Some(card) = self.desk.card(*ticket).await? else {
                    return Ok(());
                };
                let card = render(&Reply::NewTicket(card), language, &knowledge.faq);
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
    async fn to_private(
        &self,
        agent: AgentId,
        out: &Outgoing,
        message: &render::Message,
        origin: &Origin,
    ) -> Result<()> {
        let chat = ChatId(agent);
        let knowledge = self.desk.knowledge();
        if let (
            Reply::UserWrote {
                ticket,
                user,
                text,
                attachments,
            },
            Some(source),
        ) = (&out.reply, origin.message)
            && !attachments.is_empty()
            && origin.agent.is_none()
        {
            let bare = Reply::UserWrote {
                ticket: *ticket,
                user: user.clone(),
                text: text.clone(),
                attachments: Vec::new(),
            };
            let caption = render(&bare, &out.language, &knowledge.faq).text;
            self.courier
                .copy(chat, None, origin.chat, source, &caption)
                .await?;
            return Ok(());
        }
        self.courier
            .send_text(chat, None, &message.text, keyboard(&message.buttons))
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ban_commands_name_a_user_a_ticket_or_the_topic() {
        assert_eq!(
            parse_ban("/ban 12345 spam links"),
            Some(BanCommand::Ban {
                target: Some(Target::User(12345)),
                reason: "spam links".into()
            })
        );
        assert_eq!(
            parse_ban("/ban #7 abuse"),
            Some(BanCommand::Ban {
                target: Some(Target::Ticket(7)),
                reason: "abuse".into()
            })
        );
        assert_eq!(
            parse_ban("/ban@helpdesk_bot insults"),
            Some(BanCommand::Ban {
                target: None,
                reason: "insults".into()
            })
        );
        assert_eq!(
            parse_ban("/unban 5"),
            Some(BanCommand::Unban {
                target: Some(Target::User(5))
            })
        );
        assert_eq!(parse_ban("/banana"), None);
        assert_eq!(parse_ban("ban 5"), None);
    }
}
