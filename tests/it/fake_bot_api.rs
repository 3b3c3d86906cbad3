//! A fake Telegram Bot API server for end-to-end tests (and the capacity
//! benchmark): axum on 127.0.0.1:0 speaking the real JSON of the methods the
//! bot uses, so a real teloxide `Bot` talks to it over HTTP.
//!
//! - `POST /bot<TOKEN>/<Method>` (method names in any case); a wrong token
//!   gets Telegram's 401.
//! - `getUpdates` serves a queue the test pushes to, honouring `offset`
//!   (confirmed updates are gone) and long-polling up to `timeout`.
//! - Every call is recorded for assertions; a 429 with `retry_after` can be
//!   injected for the next call of a method; or the next call done (a
//!   topic opened, a message sent) and its answer held back (`answer_late`).
//! - Sent messages get ids; forum topics get thread ids.

#![allow(dead_code)] // shared with the benchmark, which uses a part of it

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::sync::Notify;

pub const BOT_ID: i64 = 4_000_000_001;

/// One call the bot made.
#[derive(Debug, Clone)]
pub struct Call {
    /// Lower case: `sendmessage`, `copymessage`, ...
    pub method: String,
    pub body: Value,
    pub at: Instant,
    /// False when the fake answered with an injected error.
    pub ok: bool,
}

impl Call {
    pub fn chat(&self) -> Option<i64> {
        self.body.get("chat_id").and_then(Value::as_i64)
    }
    pub fn text(&self) -> &str {
        self.body
            .get("text")
            .or_else(|| self.body.get("caption"))
            .and_then(Value::as_str)
            .unwrap_or_default()
    }
    pub fn thread(&self) -> Option<i64> {
        self.body.get("message_thread_id").and_then(Value::as_i64)
    }
    /// Callback data of every inline button, row by row.
    pub fn buttons(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(rows) = self
            .body
            .pointer("/reply_markup/inline_keyboard")
            .and_then(Value::as_array)
        {
            for row in rows {
                for button in row.as_array().into_iter().flatten() {
                    if let Some(data) = button.get("callback_data").and_then(Value::as_str) {
                        out.push(data.to_owned());
                    }
                }
            }
        }
        out
    }
}

#[derive(Default)]
struct Inner {
    updates: VecDeque<Value>,
    next_update_id: i64,
    calls: Vec<Call>,
    /// Injected failures: (method, only to this chat, retry_after).
    faults: Vec<(String, Option<i64>, u32)>,
    /// Calls done at once and answered late: (method, after).
    late: Vec<(String, Duration)>,
    next_message_id: i64,
    next_thread_id: i64,
    /// When each update was pushed (benchmark latency).
    pushed_at: Vec<(i64, Instant)>,
    /// Messages delivered per chat (cheap to wait on under load).
    delivered: HashMap<i64, usize>,
}

struct Shared {
    token: String,
    inner: Mutex<Inner>,
    updates_ready: Notify,
    call_made: Notify,
}

/// A Telegram user or chat as the tests see it.
#[derive(Debug, Clone)]
pub struct Person {
    pub id: i64,
    pub first_name: String,
    pub username: Option<String>,
    pub language: Option<String>,
}

impl Person {
    pub fn new(id: i64, first_name: &str, language: &str) -> Person {
        Person {
            id,
            first_name: first_name.to_owned(),
            username: Some(first_name.to_lowercase()),
            language: Some(language.to_owned()).filter(|l| !l.is_empty()),
        }
    }

    fn json(&self) -> Value {
        let mut user = json!({ "id": self.id, "is_bot": false, "first_name": self.first_name });
        if let Some(username) = &self.username {
            user["username"] = json!(username);
        }
        if let Some(language) = &self.language {
            user["language_code"] = json!(language);
        }
        user
    }
}

pub fn private_chat(id: i64) -> Value {
    json!({ "id": id, "type": "private", "first_name": "User" })
}

pub fn group_chat(id: i64) -> Value {
    if id <= -1_000_000_000_000 {
        json!({ "id": id, "type": "supergroup", "title": "Staff", "is_forum": true })
    } else {
        json!({ "id": id, "type": "group", "title": "Some group" })
    }
}

fn chat_json(id: i64) -> Value {
    if id > 0 {
        private_chat(id)
    } else {
        group_chat(id)
    }
}

pub struct FakeBotApi {
    shared: Arc<Shared>,
    /// Base URL for `Bot::set_api_url` / `TELOXIDE_API_URL`.
    pub url: String,
    pub token: String,
}

impl FakeBotApi {
    pub async fn start(token: &str) -> FakeBotApi {
        FakeBotApi::start_on(token, "127.0.0.1:0").await
    }

    /// The fake on a chosen address (a test that needs the API to appear
    /// where a bot is already knocking).
    pub async fn start_on(token: &str, addr: &str) -> FakeBotApi {
        let shared = Arc::new(Shared {
            token: token.to_owned(),
            inner: Mutex::new(Inner {
                next_update_id: 1,
                next_message_id: 1000,
                next_thread_id: 100,
                ..Inner::default()
            }),
            updates_ready: Notify::new(),
            call_made: Notify::new(),
        });
        let app = Router::new()
            .route("/{bot}/{method}", axum::routing::post(handle))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .expect("binding the fake Bot API");
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeBotApi {
            shared,
            url: format!("http://{addr}/"),
            token: token.to_owned(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.shared.inner.lock().unwrap()
    }

    // ------------------------------------------------------------ updates

    /// Queues an update (its `update_id` is set here); returns the id.
    pub fn push(&self, mut update: Value) -> i64 {
        let id = {
            let mut inner = self.lock();
            let id = inner.next_update_id;
            inner.next_update_id += 1;
            update["update_id"] = json!(id);
            inner.updates.push_back(update);
            inner.pushed_at.push((id, Instant::now()));
            id
        };
        self.shared.updates_ready.notify_waiters();
        id
    }

    fn message_id(&self) -> i64 {
        let mut inner = self.lock();
        inner.next_message_id += 1;
        inner.next_message_id
    }

    fn message(&self, chat: Value, from: &Person, content: Value) -> (Value, i64) {
        let id = self.message_id();
        let mut message = json!({
            "message_id": id,
            "date": 1_700_000_000,
            "chat": chat,
            "from": from.json(),
        });
        for (key, value) in content.as_object().unwrap() {
            message[key] = value.clone();
        }
        (message, id)
    }

    /// A user writes in their private chat with the bot; returns the message id.
    pub fn user_says(&self, user: &Person, text: &str) -> i64 {
        let (message, id) = self.message(private_chat(user.id), user, json!({ "text": text }));
        self.push(json!({ "message": message }));
        id
    }

    /// A user sends a photo (with a caption) in their private chat.
    pub fn user_sends_photo(&self, user: &Person, file_id: &str, caption: Option<&str>) -> i64 {
        let mut content = json!({ "photo": photo(file_id) });
        if let Some(caption) = caption {
            content["caption"] = json!(caption);
        }
        let (message, id) = self.message(private_chat(user.id), user, content);
        self.push(json!({ "message": message }));
        id
    }

    /// A user sends any other content (`{"sticker": ...}`, `{"voice": ...}`).
    pub fn user_sends(&self, user: &Person, content: Value) -> i64 {
        let (message, id) = self.message(private_chat(user.id), user, content);
        self.push(json!({ "message": message }));
        id
    }

    /// A user edits an earlier message.
    pub fn user_edits(&self, user: &Person, text: &str) {
        let (mut message, _) = self.message(private_chat(user.id), user, json!({ "text": text }));
        message["edit_date"] = json!(1_700_000_100);
        self.push(json!({ "edited_message": message }));
    }

    /// Someone writes in a group; `thread` is a forum topic.
    pub fn group_says(&self, group: i64, thread: Option<i64>, from: &Person, text: &str) -> i64 {
        let mut content = json!({ "text": text });
        if let Some(thread) = thread {
            content["message_thread_id"] = json!(thread);
            content["is_topic_message"] = json!(true);
        }
        let (message, id) = self.message(group_chat(group), from, content);
        self.push(json!({ "message": message }));
        id
    }

    /// Someone posts a photo in a forum topic.
    pub fn group_sends_photo(
        &self,
        group: i64,
        thread: i64,
        from: &Person,
        file_id: &str,
        caption: &str,
    ) -> i64 {
        let content = json!({
            "photo": photo(file_id),
            "caption": caption,
            "message_thread_id": thread,
            "is_topic_message": true,
        });
        let (message, id) = self.message(group_chat(group), from, content);
        self.push(json!({ "message": message }));
        id
    }

    /// A post in a channel the bot was added to.
    pub fn channel_post(&self, channel: i64, text: &str) {
        let id = self.message_id();
        self.push(json!({ "channel_post": {
            "message_id": id,
            "date": 1_700_000_000,
            "chat": { "id": channel, "type": "channel", "title": "A channel" },
            "text": text,
        }}));
    }

    /// Someone adds the bot to a group.
    pub fn bot_added_to(&self, group: i64, by: &Person) {
        let bot = json!({ "id": BOT_ID, "is_bot": true, "first_name": "Helpdesk", "username": "helpdesk_bot" });
        self.push(json!({ "my_chat_member": {
            "chat": group_chat(group),
            "from": by.json(),
            "date": 1_700_000_000,
            "old_chat_member": { "user": bot, "status": "left" },
            "new_chat_member": { "user": bot, "status": "member" },
        }}));
    }

    /// `who` presses a button with `data` on a message of the bot in `chat`
    /// (`thread`: a forum topic). Returns the callback query id.
    pub fn press(&self, who: &Person, chat: i64, thread: Option<i64>, data: &str) -> String {
        let message_id = self.message_id();
        let mut message = json!({
            "message_id": message_id,
            "date": 1_700_000_000,
            "chat": chat_json(chat),
            "from": { "id": BOT_ID, "is_bot": true, "first_name": "Helpdesk" },
            "text": "…",
        });
        if let Some(thread) = thread {
            message["message_thread_id"] = json!(thread);
            message["is_topic_message"] = json!(true);
        }
        let query_id = format!("q{message_id}");
        self.push(json!({ "callback_query": {
            "id": query_id,
            "from": who.json(),
            "message": message,
            "chat_instance": "1",
            "data": data,
        }}));
        query_id
    }

    // ------------------------------------------------------------- faults

    /// The next call of `method` is refused with a 429 and `retry_after`.
    pub fn refuse_next(&self, method: &str, retry_after: u32) {
        self.lock()
            .faults
            .push((method.to_lowercase(), None, retry_after));
    }

    /// The next call of `method` to `chat` is refused with a 429 and
    /// `retry_after`.
    pub fn refuse_next_to(&self, method: &str, chat: i64, retry_after: u32) {
        self.lock()
            .faults
            .push((method.to_lowercase(), Some(chat), retry_after));
    }

    /// The next call of `method` is done (recorded, with its effect) but
    /// answered only `after`: as when Telegram acted and its answer was lost
    /// on the way.
    pub fn answer_late(&self, method: &str, after: Duration) {
        self.lock().late.push((method.to_lowercase(), after));
    }

    // -------------------------------------------------------------- calls

    pub fn calls(&self) -> Vec<Call> {
        self.lock().calls.clone()
    }

    /// Successful calls of `method` (lower case).
    pub fn calls_of(&self, method: &str) -> Vec<Call> {
        let method = method.to_lowercase();
        self.lock()
            .calls
            .iter()
            .filter(|c| c.method == method && c.ok)
            .cloned()
            .collect()
    }

    /// Messages (texts and copies) that reached `chat`, in order.
    pub fn sent_to(&self, chat: i64) -> Vec<Call> {
        self.lock()
            .calls
            .iter()
            .filter(|c| c.ok && c.chat() == Some(chat))
            .filter(|c| {
                matches!(
                    c.method.as_str(),
                    "sendmessage" | "copymessage" | "sendphoto"
                )
            })
            .cloned()
            .collect()
    }

    pub fn texts_to(&self, chat: i64) -> Vec<String> {
        self.sent_to(chat)
            .iter()
            .map(|c| c.text().to_owned())
            .collect()
    }

    pub fn pushed_at(&self, update_id: i64) -> Option<Instant> {
        self.lock()
            .pushed_at
            .iter()
            .find(|(id, _)| *id == update_id)
            .map(|(_, at)| *at)
    }

    /// Updates not yet confirmed by the bot.
    pub fn pending_updates(&self) -> usize {
        self.lock().updates.len()
    }

    /// Waits (up to 10 s) until `done` holds for the calls so far.
    pub async fn wait_for(&self, what: &str, done: impl Fn(&[Call]) -> bool) -> Vec<Call> {
        self.wait_for_within(what, Duration::from_secs(10), done)
            .await
    }

    pub async fn wait_for_within(
        &self,
        what: &str,
        limit: Duration,
        done: impl Fn(&[Call]) -> bool,
    ) -> Vec<Call> {
        let deadline = Instant::now() + limit;
        loop {
            let notified = self.shared.call_made.notified();
            // A snapshot: `done` may look at the fake itself.
            let calls = self.lock().calls.clone();
            if done(&calls) {
                return calls;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                let calls: Vec<String> = self
                    .calls()
                    .iter()
                    .filter(|c| c.method != "getupdates")
                    .map(|c| format!("{} {}", c.method, c.body))
                    .collect();
                panic!(
                    "timed out waiting for {what}; calls so far:\n{}",
                    calls.join("\n")
                );
            }
            let _ = tokio::time::timeout(left.min(Duration::from_millis(50)), notified).await;
        }
    }

    /// Waits until a message containing `needle` reached `chat`; returns it.
    pub async fn wait_for_text(&self, chat: i64, needle: &str) -> Call {
        let calls = self
            .wait_for(&format!("a message with {needle:?} to {chat}"), |calls| {
                calls
                    .iter()
                    .any(|c| is_message_to(c, chat) && c.text().contains(needle))
            })
            .await;
        calls
            .into_iter()
            .find(|c| is_message_to(c, chat) && c.text().contains(needle))
            .unwrap()
    }

    /// How many messages reached `chat` so far.
    pub fn delivered_to(&self, chat: i64) -> usize {
        self.lock()
            .delivered
            .get(&chat)
            .copied()
            .unwrap_or_default()
    }

    /// Waits until at least `count` messages reached `chat`; false on timeout.
    pub async fn wait_for_delivered(&self, chat: i64, count: usize, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        loop {
            let notified = self.shared.call_made.notified();
            if self.delivered_to(chat) >= count {
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            let _ = tokio::time::timeout(left, notified).await;
        }
    }

    /// Forgets the calls recorded so far (long benchmark runs).
    pub fn forget_calls(&self) {
        self.lock().calls.clear();
    }

    /// Waits until every pushed update was taken by the bot and no call
    /// has been made for `quiet`: the bot has nothing more to say.
    pub async fn settle(&self, quiet: Duration) {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let (pending, last) = {
                let inner = self.lock();
                let last = inner
                    .calls
                    .iter()
                    .filter(|c| c.method != "getupdates")
                    .map(|c| c.at)
                    .max();
                (inner.updates.len(), last)
            };
            let idle = last.is_none_or(|at| at.elapsed() >= quiet);
            if pending == 0 && idle {
                return;
            }
            assert!(Instant::now() < deadline, "the bot never settled");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

fn is_message_to(call: &Call, chat: i64) -> bool {
    call.ok
        && call.chat() == Some(chat)
        && matches!(
            call.method.as_str(),
            "sendmessage" | "copymessage" | "sendphoto"
        )
}

pub fn photo(file_id: &str) -> Value {
    json!([
        { "file_id": format!("{file_id}-small"), "file_unique_id": "s", "width": 90, "height": 90, "file_size": 1000 },
        { "file_id": file_id, "file_unique_id": "l", "width": 800, "height": 800, "file_size": 50000 },
    ])
}

pub fn sticker(file_id: &str) -> Value {
    json!({ "file_id": file_id, "file_unique_id": "st", "type": "regular", "width": 512, "height": 512, "is_animated": false, "is_video": false })
}

pub fn voice(file_id: &str) -> Value {
    json!({ "file_id": file_id, "file_unique_id": "vo", "duration": 3, "mime_type": "audio/ogg" })
}

fn ok(result: Value) -> Response {
    axum::Json(json!({ "ok": true, "result": result })).into_response()
}

fn error(status: StatusCode, description: &str, parameters: Option<Value>) -> Response {
    let mut body =
        json!({ "ok": false, "error_code": status.as_u16(), "description": description });
    if let Some(parameters) = parameters {
        body["parameters"] = parameters;
    }
    (status, axum::Json(body)).into_response()
}

/// The fields of a `multipart/form-data` body (teloxide sends requests
/// that may carry a file, like `setWebhook`, this way), as a JSON object.
fn multipart_fields(content_type: &str, body: &[u8]) -> Value {
    let Some(boundary) = content_type.split("boundary=").nth(1) else {
        return json!({});
    };
    let boundary = format!("--{}", boundary.trim_matches('"'));
    let text = String::from_utf8_lossy(body);
    let mut fields = serde_json::Map::new();
    for part in text.split(boundary.as_str()) {
        let Some((head, value)) = part.split_once("\r\n\r\n") else {
            continue;
        };
        let Some(name) = head
            .split("name=\"")
            .nth(1)
            .and_then(|n| n.split('"').next())
        else {
            continue;
        };
        let value = value.strip_suffix("\r\n").unwrap_or(value);
        let value = serde_json::from_str(value).unwrap_or_else(|_| json!(value));
        fields.insert(name.to_owned(), value);
    }
    Value::Object(fields)
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    Path((bot, method)): Path<(String, String)>,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> Response {
    if bot.strip_prefix("bot") != Some(shared.token.as_str()) {
        return error(StatusCode::UNAUTHORIZED, "Unauthorized", None);
    }
    let method = method.to_lowercase();
    let content_type = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let body: Value = if body.is_empty() {
        json!({})
    } else if content_type.starts_with("multipart/form-data") {
        multipart_fields(content_type, &body)
    } else {
        serde_json::from_slice(&body)
            .unwrap_or_else(|_| json!({ "unparsed": String::from_utf8_lossy(&body) }))
    };
    if method == "getupdates" {
        return get_updates(&shared, body).await;
    }
    let late = {
        let mut inner = shared.inner.lock().unwrap();
        let at = inner.late.iter().position(|(m, _)| *m == method);
        at.map(|i| inner.late.remove(i).1)
    };
    let response = answer(&shared, method.clone(), body).await;
    if let Some(after) = late {
        tokio::time::sleep(after).await;
    }
    response
}

async fn answer(shared: &Shared, method: String, body: Value) -> Response {
    let fault = {
        let mut inner = shared.inner.lock().unwrap();
        let fault = inner
            .faults
            .iter()
            .position(|(m, to, _)| {
                *m == method && to.is_none_or(|to| body.get("chat_id") == Some(&json!(to)))
            })
            .map(|i| inner.faults.remove(i));
        inner.calls.push(Call {
            method: method.clone(),
            body: body.clone(),
            at: Instant::now(),
            ok: fault.is_none(),
        });
        if fault.is_none()
            && matches!(method.as_str(), "sendmessage" | "copymessage" | "sendphoto")
            && let Some(chat) = body.get("chat_id").and_then(Value::as_i64)
        {
            *inner.delivered.entry(chat).or_default() += 1;
        }
        fault
    };
    shared.call_made.notify_waiters();
    if let Some((_, _, retry_after)) = fault {
        return error(
            StatusCode::TOO_MANY_REQUESTS,
            &format!("Too Many Requests: retry after {retry_after}"),
            Some(json!({ "retry_after": retry_after })),
        );
    }
    let next_id = |field: fn(&mut Inner) -> &mut i64| {
        let mut inner = shared.inner.lock().unwrap();
        let id = field(&mut inner);
        *id += 1;
        *id
    };
    let bot_user = json!({ "id": BOT_ID, "is_bot": true, "first_name": "Helpdesk", "username": "helpdesk_bot" });
    match method.as_str() {
        "getme" => {
            let mut me = bot_user;
            me["can_join_groups"] = json!(true);
            me["can_read_all_group_messages"] = json!(false);
            me["supports_inline_queries"] = json!(false);
            me["has_main_web_app"] = json!(false);
            ok(me)
        }
        "getwebhookinfo" => {
            ok(json!({ "url": "", "has_custom_certificate": false, "pending_update_count": 0 }))
        }
        "deletewebhook"
        | "setwebhook"
        | "setmycommands"
        | "answercallbackquery"
        | "closeforumtopic"
        | "leavechat"
        | "deletemessage"
        | "reopenforumtopic" => ok(json!(true)),
        "sendmessage"
        | "sendphoto"
        | "senddocument"
        | "editmessagetext"
        | "editmessagereplymarkup" => {
            let chat = body
                .get("chat_id")
                .and_then(Value::as_i64)
                .unwrap_or_default();
            let id = match body.get("message_id").and_then(Value::as_i64) {
                Some(id) if method.starts_with("editmessage") => id,
                _ => next_id(|i| &mut i.next_message_id),
            };
            let mut message = json!({
                "message_id": id,
                "date": 1_700_000_000,
                "chat": chat_json(chat),
                "from": bot_user,
            });
            if let Some(text) = body.get("text") {
                message["text"] = text.clone();
            }
            if let Some(thread) = body.get("message_thread_id") {
                message["message_thread_id"] = thread.clone();
                message["is_topic_message"] = json!(true);
            }
            ok(message)
        }
        "copymessage" => ok(json!({ "message_id": next_id(|i| &mut i.next_message_id) })),
        "createforumtopic" => {
            let name = body.get("name").cloned().unwrap_or(json!("topic"));
            ok(
                json!({ "message_thread_id": next_id(|i| &mut i.next_thread_id), "name": name, "icon_color": 7322096 }),
            )
        }
        _ => error(StatusCode::NOT_FOUND, "Not Found: method not found", None),
    }
}

async fn get_updates(shared: &Shared, body: Value) -> Response {
    let offset = body.get("offset").and_then(Value::as_i64).unwrap_or(0);
    let limit = body.get("limit").and_then(Value::as_u64).unwrap_or(100) as usize;
    let timeout = body.get("timeout").and_then(Value::as_u64).unwrap_or(0);
    let deadline = Instant::now() + Duration::from_secs(timeout);
    shared.inner.lock().unwrap().calls.push(Call {
        method: "getupdates".into(),
        body: body.clone(),
        at: Instant::now(),
        ok: true,
    });
    loop {
        let notified = shared.updates_ready.notified();
        {
            let mut inner = shared.inner.lock().unwrap();
            // Updates below the offset are confirmed: gone for good.
            while inner
                .updates
                .front()
                .is_some_and(|u| u["update_id"].as_i64().unwrap_or_default() < offset)
            {
                inner.updates.pop_front();
            }
            if !inner.updates.is_empty() {
                let batch: Vec<Value> = inner.updates.iter().take(limit.max(1)).cloned().collect();
                return ok(Value::Array(batch));
            }
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return ok(json!([]));
        }
        let _ = tokio::time::timeout(left, notified).await;
    }
}
