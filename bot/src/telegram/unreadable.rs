//! Updates teloxide cannot read (Telegram added something teloxide does not
//! know yet, or a webhook request is malformed). teloxide logs such an
//! update in full, at error level: a user's text with whatever secret they
//! pasted, and for a malformed webhook body the whole body (hundreds of
//! kilobytes). Here they are stopped before teloxide sees them and logged
//! by update id and parse error only, with the values the error quotes
//! masked; they are never kept in the store (see `inbox`).

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_json::Value;
use teloxide::types::{
    CallbackQuery, ChatJoinRequest, ChatMemberUpdated, ChosenInlineResult, InlineQuery, Message,
    Poll, PollAnswer, PreCheckoutQuery, ShippingQuery, Update, UpdateId,
};

/// The most a webhook request body may hold (axum's default limit, which
/// teloxide's webhook applies too).
pub const WEBHOOK_BODY_LIMIT: usize = 2 * 1024 * 1024;

/// What an error message may hold at most, once masked.
const MAX_ERROR_CHARS: usize = 300;

/// Logs an update teloxide read as `UpdateKind::Error` (`value` is the
/// update as Telegram sent it): its id, its kind and why it could not be
/// read, never its content.
pub fn log_update(id: UpdateId, value: &Value) {
    let kind = kind_of(value);
    let error = why_unreadable(value, kind.as_deref());
    tracing::error!(
        update_id = id.0,
        kind = kind.as_deref().unwrap_or("none"),
        "an update teloxide cannot read was dropped: {error}"
    );
}

/// The update's kind (its one key besides `update_id`), if it looks like
/// one: a short snake_case name.
fn kind_of(value: &Value) -> Option<String> {
    let object = value.as_object()?;
    object
        .keys()
        .find(|k| k.as_str() != "update_id")
        .filter(|k| k.len() <= 40 && k.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
        .cloned()
}

/// Why teloxide could not read the update: the error reading its kind's
/// type, masked.
fn why_unreadable(value: &Value, kind: Option<&str>) -> String {
    fn read<T: DeserializeOwned>(value: &Value) -> Option<String> {
        serde_json::from_value::<T>(value.clone())
            .err()
            .map(|e| masked(&e.to_string()))
    }
    let Some(kind) = kind else {
        return "no kind of update in it".to_owned();
    };
    let inner = &value[kind];
    let error = match kind {
        "message"
        | "edited_message"
        | "channel_post"
        | "edited_channel_post"
        | "business_message"
        | "edited_business_message" => read::<Message>(inner),
        "callback_query" => read::<CallbackQuery>(inner),
        "my_chat_member" | "chat_member" => read::<ChatMemberUpdated>(inner),
        "inline_query" => read::<InlineQuery>(inner),
        "chosen_inline_result" => read::<ChosenInlineResult>(inner),
        "shipping_query" => read::<ShippingQuery>(inner),
        "pre_checkout_query" => read::<PreCheckoutQuery>(inner),
        "poll" => read::<Poll>(inner),
        "poll_answer" => read::<PollAnswer>(inner),
        "chat_join_request" => read::<ChatJoinRequest>(inner),
        _ => return "a kind of update teloxide does not know".to_owned(),
    };
    error.unwrap_or_else(|| "teloxide cannot read it".to_owned())
}

/// A serde error message without the values it quotes (`invalid type:
/// string "my password is …"` becomes `invalid type: string "…"`), and
/// at most `MAX_ERROR_CHARS` long.
pub fn masked(error: &str) -> String {
    let mut out = String::new();
    let mut quoted = false;
    for c in error.chars() {
        match c {
            '"' if quoted => {
                out.push('"');
                quoted = false;
            }
            '"' => {
                out.push_str("\"…");
                quoted = true;
            }
            _ if quoted => {}
            _ => out.push(c),
        }
        if out.chars().count() >= MAX_ERROR_CHARS {
            out.push_str(" […]");
            break;
        }
    }
    // An opening quote never closed: close it.
    if quoted && !out.ends_with(" […]") {
        out.push('"');
    }
    out
}

/// Reads a webhook request before teloxide does: a body that is not an
/// update (malformed JSON, a wrong type where teloxide wants an update id)
/// but carries the right secret is logged by update id and parse error,
/// and answered 200 as teloxide answers it (Telegram would only send it
/// again). Everything else goes on unchanged, so teloxide still refuses a
/// wrong secret with 401.
pub async fn webhook_guard(State(secret): State<String>, request: Request, next: Next) -> Response {
    let authentic = request
        .headers()
        .get("x-telegram-bot-api-secret-token")
        .is_some_and(|h| h.as_bytes() == secret.as_bytes());
    if !authentic {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, WEBHOOK_BODY_LIMIT).await else {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    if let Err(error) = serde_json::from_slice::<Update>(&bytes) {
        let id = update_id_in(&bytes);
        tracing::error!(
            update_id = id,
            bytes = bytes.len(),
            "a webhook request that is not an update was dropped: {}",
            masked(&error.to_string())
        );
        return StatusCode::OK.into_response();
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// The number after the first `"update_id":` of a body that may not even
/// be JSON (Telegram writes the id first).
fn update_id_in(body: &[u8]) -> Option<i64> {
    const KEY: &[u8] = b"\"update_id\"";
    let at = body.windows(KEY.len()).position(|w| w == KEY)? + KEY.len();
    let rest = &body[at..];
    let rest = rest
        .trim_ascii_start()
        .strip_prefix(b":")?
        .trim_ascii_start();
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    std::str::from_utf8(&rest[..digits.min(18)])
        .ok()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_values_are_masked_and_long_errors_cut() {
        assert_eq!(
            masked(r#"invalid type: string "my password is hunter2", expected i64 at line 1"#),
            r#"invalid type: string "…", expected i64 at line 1"#
        );
        assert_eq!(masked("missing field `date`"), "missing field `date`");
        assert_eq!(masked(r#"unclosed "secret"#), r#"unclosed "…""#);
        let long = masked(&"x".repeat(10_000));
        assert!(long.chars().count() < MAX_ERROR_CHARS + 10, "{long}");
    }

    #[test]
    fn the_update_id_is_read_from_a_body_cut_short() {
        assert_eq!(
            update_id_in(br#"{"update_id": 901, "message": {"te"#),
            Some(901)
        );
        assert_eq!(update_id_in(br#"{"update_id":"901"}"#), None);
        assert_eq!(update_id_in(b"not json"), None);
    }

    #[test]
    fn an_unreadable_message_is_explained_without_its_text() {
        let update = serde_json::json!({
            "update_id": 9,
            "message": {
                "message_id": 1, "date": "yesterday",
                "chat": { "id": 5, "type": "private", "first_name": "Lin" },
                "text": "my password is hunter2"
            }
        });
        let kind = kind_of(&update);
        assert_eq!(kind.as_deref(), Some("message"));
        let why = why_unreadable(&update, kind.as_deref());
        assert!(why.contains("invalid type"), "{why}");
        assert!(
            !why.contains("hunter2") && !why.contains("yesterday"),
            "{why}"
        );
    }
}
