//! How updates arrive: long polling, or a webhook server (axum, behind the
//! HTTPS proxy the webhook URL points at) that checks Telegram's
//! secret-token header and stops unreadable bodies before teloxide logs
//! them. Either way every update passes through the inbox first.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use teloxide::dispatching::{DefaultKey, Dispatcher};
use teloxide::error_handlers::LoggingErrorHandler;
use teloxide::prelude::*;
use teloxide::update_listeners::{Polling, webhooks};
use tokio::task::JoinHandle;

use super::inbox::Inbox;
use super::{Webhook, unreadable};
use crate::settings::TelegramSettings;

/// Starts receiving updates and dispatching them; returns the dispatching
/// task and, in webhook mode, the address the server listens on.
pub(super) async fn receive(
    bot: &Bot,
    mut dispatcher: Dispatcher<Bot, anyhow::Error, DefaultKey>,
    inbox: &Arc<Inbox>,
    telegram: &TelegramSettings,
    webhook: Option<Webhook>,
) -> Result<(JoinHandle<()>, Option<SocketAddr>)> {
    Ok(match webhook {
        None => {
            let polling = Polling::builder(bot.clone())
                .timeout(Duration::from_secs(10))
                .delete_webhook()
                .await
                .build();
            let polling = inbox.listen(polling);
            let task = tokio::spawn(async move {
                if let Err(error) = dispatcher
                    .try_dispatch_with_listener(
                        polling,
                        LoggingErrorHandler::with_custom_text("getting updates failed"),
                    )
                    .await
                {
                    tracing::error!("the dispatcher could not start: {error}");
                }
            });
            (task, None)
        }
        Some(webhook) => {
            let secret = match &telegram.webhook_secret {
                Some(secret) => {
                    check_webhook_secret(&secret.0)?;
                    Some(secret.0.clone())
                }
                None => None,
            };
            let mut options = webhooks::Options::new(webhook.listen, webhook.url.clone());
            if let Some(secret) = secret {
                options = options.secret_token(secret);
            }
            let secret = options.get_or_gen_secret_token().to_owned();
            let (listener, stopped, router) = webhooks::axum_to_router(bot.clone(), options)
                .await
                .context("setting the webhook at Telegram")?;
            let router = router.layer(axum::middleware::from_fn_with_state(
                secret,
                unreadable::webhook_guard,
            ));
            let tcp = tokio::net::TcpListener::bind(webhook.listen)
                .await
                .with_context(|| format!("listening on {}", webhook.listen))?;
            let addr = tcp.local_addr().context("reading the webhook's address")?;
            tokio::spawn(async move {
                if let Err(error) = axum::serve(tcp, router)
                    .with_graceful_shutdown(stopped)
                    .await
                {
                    tracing::error!("the webhook server failed: {error}");
                }
            });
            let listener = inbox.listen(listener);
            let task = tokio::spawn(async move {
                if let Err(error) = dispatcher
                    .try_dispatch_with_listener(
                        listener,
                        LoggingErrorHandler::with_custom_text("webhook listener failed"),
                    )
                    .await
                {
                    tracing::error!("the dispatcher could not start: {error}");
                }
            });
            (task, Some(addr))
        }
    })
}

/// Checks Telegram's rule for webhook secrets, so a bad one is an error
/// message, not a panic inside teloxide.
fn check_webhook_secret(secret: &str) -> Result<()> {
    let valid = (1..=256).contains(&secret.len())
        && secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    anyhow::ensure!(
        valid,
        "telegram.webhook_secret must be 1–256 characters of A-Z, a-z, 0-9, _ and -"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_webhook_secret_telegram_would_refuse_is_an_error_not_a_panic() {
        assert!(check_webhook_secret("good_secret-123").is_ok());
        assert!(check_webhook_secret("").is_err());
        assert!(check_webhook_secret("has space").is_err());
        assert!(check_webhook_secret(&"x".repeat(257)).is_err());
    }
}
