//! The Telegram shell: `helpdesk run`. It receives updates (long polling,
//! or a webhook with Telegram's secret-token header checked), turns each
//! into a desk call, and delivers the desk's replies within Telegram's
//! limits. Only this module knows teloxide; it decides nothing the engine
//! or the desk decides.
//!
//! - [`shell`]: updates → desk calls → deliveries (users, agents, topics).
//! - [`courier`]: every Bot API call; splitting, keyboards, 429s, Throttle.
//! - [`inbox`]: every update kept in the store until handled, so a crash
//!   loses none.
//! - [`outbox`]: staff-group posts within the group's budget, combined
//!   when it runs out; topics opened on the first post.
//! - [`keeper`]: the store's record of that unfinished work, the process's
//!   heartbeat, and the takeover of a crashed process's work.
//! - `listen`: how updates arrive: long polling or the webhook server.
//! - [`topics`]: ticket ↔ forum topic, kept in the store.
//! - [`abuse`]: the flood limit and bans.
//! - [`notices`]: the shell's own words (to move into `render`).
//! - [`redact`]: keeps the token out of logs.
//! - [`split`]: texts over Telegram's length limits.
//! - [`unreadable`]: updates teloxide cannot read, logged without their
//!   content.

pub mod abuse;
pub mod courier;
pub mod inbox;
pub mod keeper;
mod listen;
pub mod notices;
pub mod outbox;
pub mod redact;
pub mod shell;
pub mod split;
pub mod topics;
pub mod unreadable;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use teloxide::dispatching::{Dispatcher, ShutdownToken, UpdateFilterExt, UpdateHandler};
use teloxide::prelude::*;
use teloxide::types::{BotCommandScope, Recipient as ChatRecipient};
use tokio::task::JoinHandle;
use url::Url;

use crate::desk::Desk;
use crate::settings::Settings;
use crate::startup;

use self::courier::Courier;
use self::inbox::Inbox;
use self::keeper::Keeper;
use self::outbox::{Budget, Outbox};
use self::shell::Shell;
use self::topics::Topics;

/// How long a stopping bot waits for staff posts still queued.
const FLUSH_LIMIT: Duration = Duration::from_secs(60);

/// Webhook mode: Telegram posts updates to `url`; we listen on `listen`
/// (behind the HTTPS proxy that `url` points at).
#[derive(Debug, Clone)]
pub struct Webhook {
    pub url: Url,
    pub listen: SocketAddr,
}

/// What a start needs besides settings. The token is only ever read from
/// the environment by [`Launch::from_env`]; tests pass their fake one.
pub struct Launch {
    token: String,
    pub api_url: Option<Url>,
    pub webhook: Option<Webhook>,
    /// Stop cleanly on Ctrl-C (SIGINT) or SIGTERM, as [`Running::stop`]
    /// does (the command line does; tests stop with [`Running::stop`]).
    pub stop_on_signals: bool,
}

impl std::fmt::Debug for Launch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Launch")
            .field("token", &"***")
            .field("api_url", &self.api_url)
            .field("webhook", &self.webhook)
            .finish()
    }
}

impl Launch {
    pub fn new(token: impl Into<String>) -> Launch {
        Launch {
            token: token.into(),
            api_url: None,
            webhook: None,
            stop_on_signals: false,
        }
    }

    /// A Bot API server other than Telegram's (self-hosted, or a fake).
    pub fn with_api_url(mut self, url: &str) -> Result<Launch> {
        self.api_url = Some(Url::parse(url).with_context(|| format!("not a URL: {url}"))?);
        Ok(self)
    }

    pub fn with_webhook(mut self, webhook: Webhook) -> Launch {
        self.webhook = Some(webhook);
        self
    }

    /// `TELOXIDE_TOKEN` (required) and `TELOXIDE_API_URL` (a self-hosted
    /// Bot API server, or a fake one).
    pub fn from_env(webhook: Option<Webhook>) -> Result<Launch> {
        let token = std::env::var("TELOXIDE_TOKEN")
            .ok()
            .filter(|t| !t.trim().is_empty())
            .context(
                "TELOXIDE_TOKEN is not set: put the token BotFather gave you in the environment",
            )?;
        let api_url = match std::env::var("TELOXIDE_API_URL") {
            Ok(url) if !url.trim().is_empty() => Some(
                Url::parse(url.trim())
                    .with_context(|| format!("TELOXIDE_API_URL is not a URL: {url}"))?,
            ),
            _ => None,
        };
        Ok(Launch {
            token: token.trim().to_owned(),
            api_url,
            webhook,
            stop_on_signals: true,
        })
    }
}

/// A running bot.
pub struct Running {
    shutdown: ShutdownToken,
    task: JoinHandle<()>,
    realerts: JoinHandle<()>,
    outbox: Outbox,
    inbox: Arc<Inbox>,
    keeper: Arc<Keeper>,
    desk: Arc<Desk>,
    /// The FAQ watcher and the metrics server (stop when dropped).
    admin: crate::admin::Running,
    reload_notices: JoinHandle<()>,
    /// Stops the dispatcher on SIGINT or SIGTERM (when asked for).
    signals: Option<JoinHandle<()>>,
    /// Where the webhook listens (the real port when asked for port 0).
    pub webhook_addr: Option<SocketAddr>,
}

impl Running {
    pub fn desk(&self) -> &Desk {
        &self.desk
    }

    /// Stops taking updates, finishes the ones in hand, posts what the staff
    /// outbox still holds (up to a minute), and returns.
    pub async fn stop(self) -> Result<()> {
        loop {
            match self.shutdown.shutdown() {
                Ok(stopped) => {
                    stopped.await;
                    break;
                }
                // Not dispatching yet (still starting): try again shortly.
                Err(_) if !self.task.is_finished() => {
                    tokio::time::sleep(Duration::from_millis(10)).await
                }
                Err(_) => break,
            }
        }
        self.finish().await
    }

    /// Runs until the dispatcher stops (Ctrl-C or SIGTERM), then finishes
    /// like `stop`.
    pub async fn wait(self) -> Result<()> {
        self.finish().await
    }

    async fn finish(self) -> Result<()> {
        self.task.await.context("the dispatcher task failed")?;
        if let Some(signals) = &self.signals {
            signals.abort();
        }
        self.realerts.abort();
        self.reload_notices.abort();
        drop(self.admin);
        if !self.outbox.flush(FLUSH_LIMIT).await {
            tracing::warn!(
                "stopped with staff posts still queued: they wait in the database for the next start"
            );
        }
        if !self.inbox.flush(FLUSH_LIMIT).await {
            tracing::warn!(
                "stopped before every handled update was cleared: they may be handled again"
            );
        }
        self.keeper.retire().await;
        Ok(())
    }

    /// Stops everything at once, the way a crash would: the updates in
    /// hand unfinished, nothing flushed, the updates and staff posts left in
    /// the database. For tests of what a restart recovers.
    pub fn crash(self) {
        self.task.abort();
        if let Some(signals) = &self.signals {
            signals.abort();
        }
        self.inbox.abort();
        self.realerts.abort();
        self.reload_notices.abort();
        self.outbox.abort();
        self.keeper.stop_heartbeat();
    }
}

/// Routing: one branch per kind of update; the first that matches handles
/// it. An update no branch takes (a bot's message, a kind the bot does not
/// handle) goes to the default handler, which forgets it.
fn schema() -> UpdateHandler<anyhow::Error> {
    dptree::entry()
        .branch(Update::filter_message().chain(messages()))
        .branch(Update::filter_edited_message().endpoint(through_inbox(
            |shell, message: Message| async move { shell.on_edited_message(message).await },
        )))
        .branch(Update::filter_channel_post().endpoint(through_inbox(
            |shell, message: Message| async move { shell.on_channel_post(message).await },
        )))
        .branch(Update::filter_callback_query().endpoint(through_inbox(
            |shell, query: CallbackQuery| async move { shell.on_callback(query).await },
        )))
        .branch(Update::filter_my_chat_member().endpoint(through_inbox(
            |shell, member: ChatMemberUpdated| async move { shell.on_membership(member).await },
        )))
}

/// Messages, by who wrote them and where: `/whoami`; an agent's or a
/// user's private chat; a staff group (a topic belongs to its ticket); any
/// other group.
fn messages() -> UpdateHandler<anyhow::Error> {
    dptree::filter(|message: Message| Shell::from_a_person(&message))
        .branch(
            dptree::filter(|shell: Arc<Shell>, message: Message| shell.asks_who_am_i(&message))
                .endpoint(through_inbox(|shell, message: Message| async move {
                    shell.on_who_am_i(message).await
                })),
        )
        .branch(
            dptree::filter(|shell: Arc<Shell>, message: Message| {
                message.chat.is_private() && shell.from_staff(&message)
            })
            .endpoint(through_inbox(|shell, message: Message| async move {
                shell.on_agent_chat(message).await
            })),
        )
        .branch(
            dptree::filter(|message: Message| message.chat.is_private()).endpoint(through_inbox(
                |shell, message: Message| async move { shell.on_user_chat(message).await },
            )),
        )
        .branch(
            dptree::filter(|shell: Arc<Shell>, message: Message| shell.in_staff_group(&message))
                .endpoint(through_inbox(|shell, message: Message| async move {
                    shell.on_staff_group(message).await
                })),
        )
        .endpoint(through_inbox(|shell, message: Message| async move {
            shell.on_other_chat(message).await
        }))
}

/// An endpoint that runs `on` with what the filter picked out of the
/// update, through the inbox (see [`Inbox::handle`]), which forgets the
/// update once handled.
fn through_inbox<T, F, Fut>(
    on: F,
) -> impl Fn(Arc<Shell>, Arc<Inbox>, Update, T) -> futures::future::BoxFuture<'static, Result<()>>
+ Clone
+ Send
+ Sync
+ 'static
where
    T: Send + 'static,
    F: Fn(Arc<Shell>, T) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<()>> + Send + 'static,
{
    move |shell, inbox, update, picked| {
        let handling = on(shell, picked);
        Box::pin(async move { inbox.handle(update.id, handling).await })
    }
}

/// Command menus: users' in Chinese and English (and English for every
/// other language), staff's in the staff groups and agents' private chats.
async fn set_command_menus(courier: &Courier, settings: &Settings, desk: &Desk) {
    for language in ["zh", "en"] {
        if let Err(error) = courier
            .set_commands(
                notices::user_commands(language),
                BotCommandScope::AllPrivateChats,
                Some(language),
            )
            .await
        {
            tracing::warn!(language, "setting the command menu failed: {error}");
        }
    }
    if let Err(error) = courier
        .set_commands(
            notices::user_commands("en"),
            BotCommandScope::AllPrivateChats,
            None,
        )
        .await
    {
        tracing::warn!("setting the command menu failed: {error}");
    }
    let staff_language = desk.staff().language.clone();
    let mut staff_chats = settings.telegram.staff_groups();
    staff_chats.extend(desk.staff().agents.iter().map(|a| a.id));
    staff_chats.extend(desk.staff().admins.iter().copied());
    for chat in staff_chats {
        let scope = BotCommandScope::Chat {
            chat_id: ChatRecipient::Id(ChatId(chat)),
        };
        // An agent who never opened a chat with the bot makes this fail: fine.
        if let Err(error) = courier
            .set_commands(notices::agent_commands(&staff_language), scope, None)
            .await
        {
            tracing::debug!(
                chat_id = chat,
                "setting the staff command menu failed: {error}"
            );
        }
    }
}

/// Builds the desk and starts the bot; returns once it is receiving updates.
pub async fn start(settings: &Settings, launch: Launch) -> Result<Running> {
    let desk = Arc::new(startup::build_desk(settings, &[]).await?);
    start_with_desk(settings, desk, launch).await
}

/// Starts the bot on a desk built elsewhere.
pub async fn start_with_desk(
    settings: &Settings,
    desk: Arc<Desk>,
    launch: Launch,
) -> Result<Running> {
    let telegram = settings.telegram.clone();
    let mut bot = Bot::new(launch.token.clone());
    if let Some(url) = &launch.api_url {
        bot = bot.set_api_url(url.clone());
    }
    reach_telegram(&bot).await?;
    let courier = Courier::new(bot.clone(), telegram.throttle);
    let topics = Arc::new(Topics::new(desk.store().clone()));
    let budget = telegram.throttle.then(|| Budget {
        posts: telegram.staff_posts_per_window.max(1) as usize,
        window: Duration::from_secs(telegram.staff_window_secs.max(1)),
    });
    let takeover = Duration::from_secs(telegram.outbox_takeover_secs.max(1));
    let keeper = Keeper::start(desk.store().clone(), takeover);
    let outbox = Outbox::spawn(
        courier.clone(),
        topics.clone(),
        budget,
        keeper.clone(),
        takeover,
    );
    let inbox = Inbox::new(keeper.clone());
    inbox.start_takeover(takeover);
    set_command_menus(&courier, settings, &desk).await;
    let admin = crate::admin::Admin::new(desk.clone(), settings);
    let admin_services = admin.start(settings).await?;
    let reload_notices = tokio::spawn(tell_admins_about_reloads(
        admin.reloader().subscribe(),
        courier.clone(),
        desk.clone(),
    ));
    let shell = Arc::new(
        Shell::new(
            desk.clone(),
            courier,
            outbox.clone(),
            topics,
            telegram.clone(),
        )
        .with_admin(admin),
    );

    let realerts = tokio::spawn(announce_waiting_tickets(
        shell.clone(),
        Duration::from_secs((settings.staff.realert_after_secs / 4).clamp(1, 30)),
    ));

    let unhandled = inbox.clone();
    let builder = Dispatcher::builder(bot.clone(), schema())
        .dependencies(dptree::deps![shell, inbox.clone()])
        .default_handler(move |update| {
            let inbox = unhandled.clone();
            async move {
                tracing::debug!(
                    update_id = update.id.0,
                    "update of a kind the bot does not handle"
                );
                inbox.handled(update.id);
            }
        })
        .error_handler(Arc::new(ErrorLogger));
    let dispatcher = builder.build();
    let shutdown = dispatcher.shutdown_token();
    let signals = if launch.stop_on_signals {
        Some(tokio::spawn(stop_on_signals(
            StopSignals::listen()?,
            shutdown.clone(),
        )))
    } else {
        None
    };

    let (task, webhook_addr) =
        listen::receive(&bot, dispatcher, &inbox, &telegram, launch.webhook).await?;
    Ok(Running {
        shutdown,
        task,
        realerts,
        outbox,
        inbox,
        keeper,
        desk,
        admin: admin_services,
        reload_notices,
        signals,
        webhook_addr,
    })
}

/// The longest wait between two tries to reach the Bot API at start.
const REACH_BACKOFF_LIMIT: Duration = Duration::from_secs(60);

/// Asks the Bot API who the bot is before anything else starts: a token
/// Telegram refuses is an error that says so (`helpdesk run` exits 1), and
/// an API that cannot be reached (no network yet, a proxy down) is tried
/// again, waiting 1, 2, 4 … up to 60 seconds between tries, with a warning
/// each time.
async fn reach_telegram(bot: &Bot) -> Result<()> {
    use teloxide::{ApiError, RequestError};
    let mut wait = Duration::from_secs(1);
    loop {
        let pause = match bot.get_me().await {
            Ok(me) => {
                tracing::info!(bot = %me.username(), "the Bot API accepted the token");
                return Ok(());
            }
            Err(RequestError::Api(ApiError::InvalidToken)) => anyhow::bail!(
                "the Telegram Bot API refused the token in TELOXIDE_TOKEN (invalid bot token): \
                 copy it again from @BotFather (/mybots → API Token)"
            ),
            Err(RequestError::RetryAfter(seconds)) => seconds.duration(),
            Err(RequestError::Network(error)) => {
                let pause = wait;
                wait = (wait * 2).min(REACH_BACKOFF_LIMIT);
                // Its causes say why (connection refused, DNS, TLS); the
                // request's URL, which carries the token, is not among them
                // (and the log writer masks the token anyway).
                let mut why = error.to_string();
                let mut source = std::error::Error::source(&*error);
                while let Some(cause) = source {
                    let text = cause.to_string();
                    if !why.contains(&text) {
                        why = format!("{why}: {text}");
                    }
                    source = cause.source();
                }
                tracing::warn!(
                    "cannot reach the Telegram Bot API ({why}); trying again in {} s",
                    pause.as_secs()
                );
                pause
            }
            Err(other) => {
                return Err(anyhow::Error::new(other).context("asking the Telegram Bot API getMe"));
            }
        };
        tokio::time::sleep(pause).await;
    }
}

/// The signals that stop the bot cleanly: Ctrl-C (SIGINT), and SIGTERM,
/// which systemd and container runtimes send to stop a service. Listened
/// to from the moment they are created.
struct StopSignals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl StopSignals {
    fn listen() -> Result<StopSignals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(StopSignals {
                interrupt: signal(SignalKind::interrupt()).context("listening for SIGINT")?,
                terminate: signal(SignalKind::terminate()).context("listening for SIGTERM")?,
            })
        }
        #[cfg(not(unix))]
        Ok(StopSignals {})
    }

    /// The next stop signal's name; `None` once signals cannot be received.
    async fn next(&mut self) -> Option<&'static str> {
        #[cfg(unix)]
        {
            tokio::select! {
                Some(()) = self.interrupt.recv() => Some("SIGINT"),
                Some(()) = self.terminate.recv() => Some("SIGTERM"),
                else => None,
            }
        }
        #[cfg(not(unix))]
        tokio::signal::ctrl_c().await.ok().map(|()| "Ctrl-C")
    }
}

/// On the first stop signal, stops taking updates; the dispatcher finishes
/// the ones in hand and [`Running::wait`] then drains the staff outbox,
/// exactly as [`Running::stop`] does. Later signals change nothing.
async fn stop_on_signals(mut signals: StopSignals, shutdown: ShutdownToken) {
    let Some(signal) = signals.next().await else {
        return;
    };
    tracing::info!(
        signal,
        "stopping: finishing the updates in hand and posting the staff posts still queued"
    );
    loop {
        match shutdown.shutdown() {
            Ok(stopped) => {
                stopped.await;
                break;
            }
            // Not dispatching yet (still starting): try again shortly.
            // Once it has stopped, `Running::finish` ends this task.
            Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
    // Still listening, so that another signal cannot cut the drain short.
    while let Some(signal) = signals.next().await {
        tracing::warn!(
            signal,
            "already stopping: the work in hand is being finished"
        );
    }
}

/// Tells every admin, in their private chat, when a file change broke the
/// FAQ (with the errors; the previous FAQ keeps serving), and when a later
/// reload fixed it.
async fn tell_admins_about_reloads(
    mut outcomes: tokio::sync::broadcast::Receiver<crate::admin::reload::ReloadOutcome>,
    courier: Courier,
    desk: Arc<Desk>,
) {
    use tokio::sync::broadcast::error::RecvError;
    let mut failing = false;
    loop {
        let outcome = match outcomes.recv().await {
            Ok(outcome) => outcome,
            Err(RecvError::Lagged(_)) => continue,
            Err(RecvError::Closed) => return,
        };
        let file_change = outcome.trigger == crate::admin::reload::Trigger::FileChange;
        let tell = file_change && (!outcome.is_ok() || failing);
        failing = !outcome.is_ok();
        if !tell {
            continue;
        }
        let text = crate::admin::render_reload(&outcome, &desk.staff().language);
        for admin in &desk.staff().admins {
            if let Err(error) = courier.send_text(ChatId(*admin), None, &text, None).await {
                tracing::warn!(
                    chat_id = admin,
                    "telling an admin about a reload failed: {error}"
                );
            }
        }
    }
}

/// Announces unclaimed tickets past the re-alert limit, every `every`
/// (the store hands each one out once per limit, across replicas).
async fn announce_waiting_tickets(shell: Arc<Shell>, every: Duration) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        match shell.desk.realerts().await {
            Ok(outgoing) => shell.announce(outgoing).await,
            Err(error) => tracing::warn!("checking for waiting tickets failed: {error:#}"),
        }
    }
}

/// Logs a failed update with its cause chain; never a message body.
struct ErrorLogger;

impl teloxide::error_handlers::ErrorHandler<anyhow::Error> for ErrorLogger {
    fn handle_error(
        self: Arc<Self>,
        error: anyhow::Error,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + 'static>> {
        tracing::error!("handling an update failed: {error:#}");
        Box::pin(async {})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail closures return figment::Error
    fn secrets_never_show_in_debug_output() {
        let launch = Launch::new("123456:VerySecretTokenValue");
        assert!(!format!("{launch:?}").contains("VerySecret"));
        figment::Jail::expect_with(|jail| {
            jail.set_env(
                "HELPDESK_TELEGRAM__WEBHOOK_SECRET",
                "from-the-environment_1",
            );
            let settings = Settings::load(None).expect("loads");
            let secret = settings
                .telegram
                .webhook_secret
                .clone()
                .expect("read from the environment");
            assert_eq!(secret.0, "from-the-environment_1");
            assert!(!format!("{settings:?}").contains("from-the-environment"));
            Ok(())
        });
    }
}
