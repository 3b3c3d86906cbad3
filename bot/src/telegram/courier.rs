//! The courier: every call the shell makes to the Bot API goes through here,
//! so Telegram's rules are kept in one place. Texts over 4096 characters are
//! split; buttons become inline keyboards (callback data ≤ 64 bytes); a 429
//! is waited out for its `retry_after` and the call is sent again, once per
//! 429, so a message arrives once; with throttling on, teloxide's `Throttle`
//! paces calls per chat, per group and overall.

use std::future::Future;
use std::time::Duration;

use teloxide::adaptors::Throttle;
use teloxide::adaptors::throttle::{self, Limits};
use teloxide::payloads::{
    AnswerCallbackQuerySetters, CopyMessageSetters, EditMessageTextSetters, SendMessageSetters,
    SetMyCommandsSetters,
};
use teloxide::prelude::*;
use teloxide::types::{
    BotCommand, BotCommandScope, CallbackQueryId, InlineKeyboardButton, InlineKeyboardMarkup,
    MessageId, Recipient, ThreadId,
};
use teloxide::{ApiError, RequestError};

use crate::render;
use crate::telegram::split::{CAPTION_LIMIT, MESSAGE_LIMIT, split_text, telegram_len};

/// Telegram's limit on callback data.
const CALLBACK_DATA_LIMIT: usize = 64;
/// How many 429s in a row one call waits out before giving up.
pub(crate) const MAX_RETRIES: u32 = 5;

/// The Bot API, paced or not.
#[derive(Clone)]
enum Api {
    Direct(Bot),
    Throttled(Throttle<Bot>),
}

/// Runs one request on whichever API is in use.
macro_rules! call {
    ($api:expr, |$bot:ident| $request:expr) => {
        match $api {
            Api::Direct($bot) => $request.send().await,
            Api::Throttled($bot) => $request.send().await,
        }
    };
}

/// Sends to Telegram with its rules kept.
#[derive(Clone)]
pub struct Courier {
    api: Api,
}

/// What Telegram allows, per its bot FAQ: 1 message/s in a chat, 20/min in
/// a group, 30/s overall.
pub fn telegram_limits() -> Limits {
    Limits {
        messages_per_sec_chat: 1,
        messages_per_min_chat: 20,
        messages_per_min_channel_or_supergroup: 20,
        messages_per_sec_overall: 30,
    }
}

impl Courier {
    /// `throttle` false sends as fast as the server answers: for capacity
    /// benchmarks against a fake Bot API only.
    pub fn new(bot: Bot, throttle: bool) -> Courier {
        let api = if throttle {
            // No retry inside Throttle: a 429 comes back here, where it is
            // waited out; Throttle still freezes that chat's queue meanwhile.
            let settings = throttle::Settings::default()
                .limits(telegram_limits())
                .no_retry();
            Api::Throttled(Throttle::spawn_with_settings(bot, settings))
        } else {
            Api::Direct(bot)
        };
        Courier { api }
    }

    /// Calls `request` until it is not refused with a 429, waiting each
    /// `retry_after`; other errors are returned at once.
    async fn patiently<T, F, Fut>(
        &self,
        method: &'static str,
        mut request: F,
    ) -> Result<T, RequestError>
    where
        F: FnMut(Api) -> Fut,
        Fut: Future<Output = Result<T, RequestError>>,
    {
        let mut refused = 0;
        loop {
            match request(self.api.clone()).await {
                Err(RequestError::RetryAfter(after)) if refused < MAX_RETRIES => {
                    refused += 1;
                    tracing::warn!(
                        method,
                        retry_after_secs = after.seconds(),
                        "Telegram asked to slow down"
                    );
                    tokio::time::sleep(after.duration().max(Duration::from_millis(10))).await;
                }
                other => return other,
            }
        }
    }

    /// Sends a text (split if long; the buttons go with the last piece).
    /// Returns the id of the last message sent.
    pub async fn send_text(
        &self,
        chat: ChatId,
        thread: Option<ThreadId>,
        text: &str,
        keyboard: Option<InlineKeyboardMarkup>,
    ) -> Result<Option<MessageId>, RequestError> {
        let mut pieces = split_text(text, MESSAGE_LIMIT);
        if pieces.is_empty() {
            if keyboard.is_none() {
                return Ok(None);
            }
            pieces.push("…".to_owned());
        }
        let last = pieces.len() - 1;
        let mut sent = None;
        for (index, piece) in pieces.into_iter().enumerate() {
            let markup = if index == last {
                keyboard.clone()
            } else {
                None
            };
            let message = self
                .patiently("sendMessage", |api| {
                    let piece = piece.clone();
                    let markup = markup.clone();
                    async move {
                        call!(api, |bot| {
                            let mut request = bot.send_message(chat, piece);
                            if let Some(thread) = thread {
                                request = request.message_thread_id(thread);
                            }
                            if let Some(markup) = markup {
                                request = request.reply_markup(markup);
                            }
                            request
                        })
                    }
                })
                .await?;
            sent = Some(message.id);
        }
        Ok(sent)
    }

    /// Copies a message (a photo, a document, ...) into `chat` with a new
    /// caption: the copy shows the bot as sender, never the original author.
    /// A caption over Telegram's limit goes first as a text of its own.
    pub async fn copy(
        &self,
        chat: ChatId,
        thread: Option<ThreadId>,
        from: ChatId,
        message: MessageId,
        caption: &str,
    ) -> Result<MessageId, RequestError> {
        let caption = if telegram_len(caption) > CAPTION_LIMIT {
            self.send_text(chat, thread, caption, None).await?;
            String::new()
        } else {
            caption.to_owned()
        };
        self.patiently("copyMessage", |api| {
            let caption = caption.clone();
            async move {
                call!(api, |bot| {
                    let mut request = bot.copy_message(chat, from, message).caption(caption);
                    if let Some(thread) = thread {
                        request = request.message_thread_id(thread);
                    }
                    request
                })
            }
        })
        .await
    }

    /// Opens a forum topic; returns its thread id.
    /// One `createForumTopic` call, not repeated after a 429: the caller
    /// keeps a reservation around each attempt (see `outbox`).
    pub async fn create_topic_once(
        &self,
        chat: ChatId,
        name: &str,
    ) -> Result<ThreadId, RequestError> {
        // Topic names are 1–128 characters.
        let name: String = name.chars().take(128).collect();
        let api = self.api.clone();
        let topic = call!(api, |bot| bot.create_forum_topic(chat, name))?;
        Ok(topic.thread_id)
    }

    pub async fn close_topic(&self, chat: ChatId, thread: ThreadId) -> Result<(), RequestError> {
        let result = self
            .patiently("closeForumTopic", |api| async move {
                call!(api, |bot| bot.close_forum_topic(chat, thread))
            })
            .await;
        match result {
            // Closing twice (an agent's /close, then the button) is fine.
            Err(RequestError::Api(ApiError::Unknown(ref text)))
                if text.contains("TOPIC_NOT_MODIFIED") =>
            {
                Ok(())
            }
            other => other.map(|_| ()),
        }
    }

    pub async fn edit_text(
        &self,
        chat: ChatId,
        message: MessageId,
        text: &str,
        keyboard: Option<InlineKeyboardMarkup>,
    ) -> Result<(), RequestError> {
        let text: String = split_text(text, MESSAGE_LIMIT)
            .into_iter()
            .next()
            .unwrap_or_else(|| "…".into());
        let result = self
            .patiently("editMessageText", |api| {
                let text = text.clone();
                let keyboard = keyboard.clone();
                async move {
                    call!(api, |bot| {
                        let mut request = bot.edit_message_text(chat, message, text);
                        if let Some(keyboard) = keyboard {
                            request = request.reply_markup(keyboard);
                        }
                        request
                    })
                }
            })
            .await;
        match result {
            Err(RequestError::Api(ApiError::MessageNotModified)) => Ok(()),
            other => other.map(|_| ()),
        }
    }

    /// Takes the buttons off a message whose choice was made.
    pub async fn remove_keyboard(
        &self,
        chat: ChatId,
        message: MessageId,
    ) -> Result<(), RequestError> {
        let result = self
            .patiently("editMessageReplyMarkup", |api| async move {
                call!(api, |bot| bot.edit_message_reply_markup(chat, message))
            })
            .await;
        match result {
            // Pressed twice quickly: the first press took them off already.
            Err(RequestError::Api(ApiError::MessageNotModified)) => Ok(()),
            other => other.map(|_| ()),
        }
    }

    /// Every callback query is answered, or the user's button keeps spinning.
    pub async fn answer_callback(
        &self,
        id: CallbackQueryId,
        text: Option<String>,
    ) -> Result<(), RequestError> {
        self.patiently("answerCallbackQuery", |api| {
            let id = id.clone();
            let text = text.clone();
            async move {
                call!(api, |bot| {
                    let mut request = bot.answer_callback_query(id);
                    if let Some(text) = text {
                        request = request.text(text.chars().take(200).collect::<String>());
                    }
                    request
                })
            }
        })
        .await
        .map(|_| ())
    }

    pub async fn set_commands(
        &self,
        commands: Vec<BotCommand>,
        scope: BotCommandScope,
        language: Option<&str>,
    ) -> Result<(), RequestError> {
        let language = language.map(str::to_owned);
        self.patiently("setMyCommands", |api| {
            let commands = commands.clone();
            let scope = scope.clone();
            let language = language.clone();
            async move {
                call!(api, |bot| {
                    let mut request = bot.set_my_commands(commands).scope(scope);
                    if let Some(language) = language {
                        request = request.language_code(language);
                    }
                    request
                })
            }
        })
        .await
        .map(|_| ())
    }

    pub async fn leave_chat(&self, chat: ChatId) -> Result<(), RequestError> {
        self.patiently("leaveChat", |api| async move {
            call!(api, |bot| bot.leave_chat(Recipient::Id(chat)))
        })
        .await
        .map(|_| ())
    }
}

/// A rendered message's buttons as an inline keyboard; buttons whose
/// callback data would not fit Telegram's 64 bytes are left out (logged).
pub fn keyboard(buttons: &[Vec<render::Button>]) -> Option<InlineKeyboardMarkup> {
    let rows: Vec<Vec<InlineKeyboardButton>> = buttons
        .iter()
        .map(|row| {
            row.iter()
                .filter_map(|button| {
                    let data = button.action.to_data();
                    if data.len() > CALLBACK_DATA_LIMIT {
                        tracing::warn!(
                            bytes = data.len(),
                            "button left out: callback data over 64 bytes"
                        );
                        return None;
                    }
                    Some(InlineKeyboardButton::callback(button.label.clone(), data))
                })
                .collect::<Vec<_>>()
        })
        .filter(|row| !row.is_empty())
        .collect();
    (!rows.is_empty()).then(|| InlineKeyboardMarkup::new(rows))
}
