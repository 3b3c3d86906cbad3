//! The inbox: every update is kept in the store from the moment it arrives
//! until its handling has finished, so a crash loses none.
//!
//! Telegram forgets an update once the bot has confirmed it: long polling
//! confirms a batch when it asks for the next one, a webhook when it
//! answers the request. Both happen before the handlers finish, so without
//! the inbox a crash would lose the updates in hand: a user's question, a
//! message for the agent, a rating. With it, a process taking over a
//! crashed one's work (see [`Keeper`]) hands those updates to the
//! dispatcher again, in the order they arrived.
//!
//! Handling is at least once: an update whose handling finished just
//! before the crash, but was not yet forgotten, is handled again (the
//! transcript keeps a relayed message once; a question may be answered
//! twice). An update whose handling the process did not survive
//! `MAX_REPLAYS` times is dropped and logged, so one poisonous update
//! cannot keep a desk down. A handler that fails with an error has
//! finished: the error is logged and the update is not retried. An update
//! teloxide cannot read is neither kept nor handled: it is logged by id
//! and parse error (see [`unreadable`]).
//!
//! What the store keeps is the update with its texts masked (passwords,
//! seed phrases, keys, 2FA codes: `handoff::redact`), so no secret a user
//! pasted reaches the database's files, even for the moment the update is
//! in hand. An update handed out again after a crash is that masked one.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{Stream, StreamExt};
use handoff::PendingKind;
use serde::{Deserialize, Serialize};
use teloxide::stop::StopToken;
use teloxide::types::{AllowedUpdate, Update, UpdateId, UpdateKind};
use teloxide::update_listeners::{AsUpdateStream, UpdateListener};
use tokio::sync::{mpsc, oneshot};
use tokio::task::AbortHandle;

use crate::telegram::keeper::Keeper;
use crate::telegram::unreadable;

/// How many times an update is handed out again after its process died
/// while handling it, before it is dropped.
const MAX_REPLAYS: u32 = 3;
/// Most handled updates forgotten in one commit.
const FORGET_BATCH: usize = 256;

/// What the store keeps of an update.
#[derive(Serialize, Deserialize)]
struct KeptUpdate {
    #[serde(with = "as_telegram_sent_it")]
    update: Update,
    /// How many processes died while handling it.
    replays: u32,
}

/// What the store keeps of an update received live: the update as JSON,
/// its texts masked (see [`masked`]); it reads back as a [`KeptUpdate`].
#[derive(Serialize)]
struct KeptMasked {
    update: serde_json::Value,
    replays: u32,
}

/// `update` as JSON with every text and caption in it masked
/// (`handoff::redact::mask`): the store never holds a secret a user
/// pasted, not even while the update is handled (the update handled now
/// is the one received, unmasked; the masked one is handed out only after
/// a crash). The entities of a masked text are dropped: their offsets
/// point into the text before masking.
fn masked(update: &Update) -> serde_json::Result<serde_json::Value> {
    fn mask_texts(value: &mut serde_json::Value) {
        match value {
            serde_json::Value::Object(map) => {
                for (text, entities) in [("text", "entities"), ("caption", "caption_entities")] {
                    let masked = match map.get(text) {
                        Some(serde_json::Value::String(t)) => handoff::redact::mask(t),
                        _ => continue,
                    };
                    if masked.any() {
                        map.insert(text.to_owned(), serde_json::Value::String(masked.text));
                        map.remove(entities);
                    }
                }
                map.values_mut().for_each(mask_texts);
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(mask_texts),
            _ => {}
        }
    }
    let mut value = serde_json::to_value(update)?;
    mask_texts(&mut value);
    Ok(value)
}

/// An update read back from the store. teloxide reads an update right
/// from text only: read from a `serde_json::Value`, every update comes out
/// as `UpdateKind::Error`, so the value is turned back into text first. An
/// update teloxide still cannot read is an error, not an update to handle.
mod as_telegram_sent_it {
    use serde::{Deserialize, Deserializer, Serialize, Serializer, de::Error as _};
    use teloxide::types::{Update, UpdateKind};

    pub fn serialize<S: Serializer>(update: &Update, s: S) -> Result<S::Ok, S::Error> {
        update.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Update, D::Error> {
        let json = serde_json::Value::deserialize(d)?;
        let update: Update = serde_json::from_str(&json.to_string()).map_err(D::Error::custom)?;
        if matches!(update.kind, UpdateKind::Error(_)) {
            return Err(D::Error::custom("teloxide cannot read this update"));
        }
        Ok(update)
    }
}

/// An update being handled: where the store keeps it, and its task.
struct Held {
    kept: Option<i64>,
    task: Option<AbortHandle>,
}

/// For the task that forgets handled updates.
enum Forget {
    Done(i64),
    Flush(oneshot::Sender<()>),
}

/// The updates this process holds. Cheap to share.
pub struct Inbox {
    keeper: Arc<Keeper>,
    held: Mutex<HashMap<UpdateId, Held>>,
    replay_tx: mpsc::UnboundedSender<(i64, Update)>,
    replay_rx: Mutex<Option<mpsc::UnboundedReceiver<(i64, Update)>>>,
    forget_tx: mpsc::UnboundedSender<Forget>,
    tasks: Mutex<Vec<AbortHandle>>,
}

impl Inbox {
    pub fn new(keeper: Arc<Keeper>) -> Arc<Inbox> {
        let (replay_tx, replay_rx) = mpsc::unbounded_channel();
        let (forget_tx, forget_rx) = mpsc::unbounded_channel();
        let forgetter = tokio::spawn(forget(keeper.clone(), forget_rx));
        Arc::new(Inbox {
            keeper,
            held: Mutex::new(HashMap::new()),
            replay_tx,
            replay_rx: Mutex::new(Some(replay_rx)),
            forget_tx,
            tasks: Mutex::new(vec![forgetter.abort_handle()]),
        })
    }

    /// Wraps the listener that receives updates from Telegram: each update
    /// is kept before the dispatcher sees it, and the updates taken over
    /// from silent processes are handed out too (see [`Inbox::start_takeover`]).
    /// Call once.
    pub fn listen<L>(self: &Arc<Self>, listener: L) -> Listener<L> {
        let replays = self
            .replay_rx
            .lock()
            .expect("inbox poisoned")
            .take()
            .expect("an inbox listens once");
        Listener {
            inner: listener,
            inbox: self.clone(),
            replays,
        }
    }

    /// Every round (see [`Keeper::round`]), takes over the updates of
    /// processes silent for `takeover` and hands them to the dispatcher.
    /// The first round runs at once.
    pub fn start_takeover(self: &Arc<Self>, takeover: Duration) {
        let inbox = self.clone();
        let task = tokio::spawn(async move {
            loop {
                if let Err(error) = inbox.take_over(takeover).await {
                    tracing::warn!("taking over pending updates failed: {error:#}");
                }
                tokio::time::sleep(Keeper::round(takeover)).await;
            }
        });
        self.tasks
            .lock()
            .expect("inbox poisoned")
            .push(task.abort_handle());
    }

    async fn take_over(&self, takeover: Duration) -> anyhow::Result<()> {
        let taken = self
            .keeper
            .take_over::<KeptUpdate>(PendingKind::Update, takeover);
        for (old, kept) in taken.await? {
            let update_id = kept.update.id.0;
            if kept.replays >= MAX_REPLAYS {
                tracing::error!(
                    update_id,
                    replays = kept.replays,
                    "an update whose handling never finished was dropped"
                );
                self.keeper.done(&[old]).await;
                continue;
            }
            // Counted before it is handed out: kept anew, then the old row
            // forgotten (a crash in between hands it out twice, never none).
            let again = KeptUpdate {
                update: kept.update,
                replays: kept.replays + 1,
            };
            let id = self.keeper.keep(PendingKind::Update, &again).await?;
            self.keeper.done(&[old]).await;
            tracing::info!(update_id, "an update in hand at a crash is handled again");
            if self.replay_tx.send((id, again.update)).is_err() {
                // Not listening any more: it waits in the store for the next start.
                return Ok(());
            }
        }
        Ok(())
    }

    /// Keeps a newly received update; false if it is already held (Telegram
    /// sent it again): then it is not handled twice.
    async fn receive(&self, update: &Update) -> bool {
        if self.holds(update.id) {
            return false;
        }
        let kept = masked(update).map(|update| KeptMasked { update, replays: 0 });
        let kept = match kept {
            Ok(kept) => self.keeper.keep(PendingKind::Update, &kept).await,
            Err(error) => Err(anyhow::anyhow!("encoding the update failed: {error}")),
        };
        let id = match kept {
            Ok(id) => Some(id),
            Err(error) => {
                tracing::error!(
                    update_id = update.id.0,
                    "an update could not be kept in the store (handling it anyway): {error:#}"
                );
                None
            }
        };
        self.hold(update.id, id)
    }

    fn holds(&self, update: UpdateId) -> bool {
        self.held
            .lock()
            .expect("inbox poisoned")
            .contains_key(&update)
    }

    /// Records that `update` is being handled (kept under `kept`); false if
    /// it already was.
    fn hold(&self, update: UpdateId, kept: Option<i64>) -> bool {
        let mut held = self.held.lock().expect("inbox poisoned");
        if held.contains_key(&update) {
            return false;
        }
        held.insert(update, Held { kept, task: None });
        true
    }

    /// Runs the handling of `update` as a task of its own (so a panic in it
    /// is an error for that update, not the end of the chat's worker, which
    /// would silently drop the chat's later updates), then forgets the
    /// update: its handling has finished, well or not.
    pub async fn handle(
        &self,
        update: UpdateId,
        handling: impl std::future::Future<Output = anyhow::Result<()>> + Send + 'static,
    ) -> anyhow::Result<()> {
        let task = tokio::spawn(handling);
        if let Some(held) = self.held.lock().expect("inbox poisoned").get_mut(&update) {
            held.task = Some(task.abort_handle());
        }
        let result = match task.await {
            Ok(result) => result,
            Err(error) if error.is_cancelled() => {
                // Aborted as a crash would be (see `abort`): not finished.
                return Err(anyhow::anyhow!("handling an update was stopped"));
            }
            Err(error) => Err(anyhow::anyhow!("handling an update panicked: {error}")),
        };
        self.handled(update);
        result
    }

    /// Forgets `update`: its handling has finished (or there was none).
    /// The store forgets it a moment later, with the others finished
    /// meanwhile, in one commit.
    pub fn handled(&self, update: UpdateId) {
        let held = self.held.lock().expect("inbox poisoned").remove(&update);
        if let Some(Held { kept: Some(id), .. }) = held {
            // Only fails once the inbox has stopped: then the update is
            // handed out again after the restart.
            let _ = self.forget_tx.send(Forget::Done(id));
        }
    }

    /// Waits until the store has forgotten every update handled so far
    /// (after the last one on a clean stop), or `limit`.
    pub async fn flush(&self, limit: Duration) -> bool {
        let (done, wait) = oneshot::channel();
        if self.forget_tx.send(Forget::Flush(done)).is_err() {
            return true;
        }
        tokio::time::timeout(limit, wait).await.is_ok()
    }

    /// Stops the takeover and every handling in progress at once, leaving
    /// the updates in the store: what a crash does (for tests of recovery).
    pub fn abort(&self) {
        for task in self.tasks.lock().expect("inbox poisoned").drain(..) {
            task.abort();
        }
        for held in self.held.lock().expect("inbox poisoned").values() {
            if let Some(task) = &held.task {
                task.abort();
            }
        }
    }
}

/// Forgets handled updates: each as soon as it comes, or, when several
/// came meanwhile, all of them in one commit.
async fn forget(keeper: Arc<Keeper>, mut jobs: mpsc::UnboundedReceiver<Forget>) {
    while let Some(first) = jobs.recv().await {
        let (mut ids, mut flushes) = (Vec::new(), Vec::new());
        let mut next = Some(first);
        while let Some(job) = next.take() {
            match job {
                Forget::Done(id) => ids.push(id),
                Forget::Flush(done) => flushes.push(done),
            }
            if ids.len() < FORGET_BATCH {
                next = jobs.try_recv().ok();
            }
        }
        keeper.done(&ids).await;
        for done in flushes {
            let _ = done.send(());
        }
    }
}

/// A listener whose updates the inbox keeps (see [`Inbox::listen`]).
pub struct Listener<L> {
    inner: L,
    inbox: Arc<Inbox>,
    replays: mpsc::UnboundedReceiver<(i64, Update)>,
}

impl<L> UpdateListener for Listener<L>
where
    L: UpdateListener + Send + 'static,
    L::Err: Send + 'static,
{
    type Err = L::Err;

    fn stop_token(&mut self) -> StopToken {
        self.inner.stop_token()
    }

    fn hint_allowed_updates(&mut self, hint: &mut dyn Iterator<Item = AllowedUpdate>) {
        self.inner.hint_allowed_updates(hint)
    }
}

impl<'a, L> AsUpdateStream<'a> for Listener<L>
where
    L: UpdateListener + Send + 'static,
    L::Err: Send + 'static,
{
    type StreamErr = L::Err;
    type Stream = Pin<Box<dyn Stream<Item = Result<Update, L::Err>> + Send + 'a>>;

    fn as_stream(&'a mut self) -> Self::Stream {
        let live = Box::pin(self.inner.as_stream());
        let state = (live, &mut self.replays, self.inbox.clone());
        futures::stream::unfold(state, |(mut live, replays, inbox)| async move {
            loop {
                let update = tokio::select! {
                    biased;
                    Some((id, update)) = replays.recv() => {
                        if !inbox.hold(update.id, Some(id)) {
                            // Already being handled here: one handling is enough.
                            inbox.keeper.done(&[id]).await;
                            continue;
                        }
                        update
                    }
                    next = live.next() => match next {
                        // Stopped: what was taken over and not handed out
                        // yet waits in the store for the next start.
                        None => return None,
                        Some(Err(error)) => return Some((Err(error), (live, replays, inbox))),
                        Some(Ok(update)) => {
                            // Never kept, never handed to teloxide's
                            // dispatcher (which would log it in full).
                            if let UpdateKind::Error(value) = &update.kind {
                                unreadable::log_update(update.id, value);
                                continue;
                            }
                            if !inbox.receive(&update).await {
                                continue;
                            }
                            update
                        }
                    },
                };
                return Some((Ok(update), (live, replays, inbox)));
            }
        })
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An update as Telegram sends it, parsed the way teloxide parses it.
    fn received(json: serde_json::Value) -> Update {
        serde_json::from_str(&json.to_string()).unwrap()
    }

    fn kept_and_read_back(update: &Update) -> KeptUpdate {
        let kept = serde_json::to_value(KeptUpdate {
            update: update.clone(),
            replays: 1,
        })
        .unwrap();
        serde_json::from_value(kept).unwrap()
    }

    #[test]
    fn a_kept_update_reads_back_as_the_same_update() {
        let user = serde_json::json!({
            "id": 5001, "is_bot": false, "first_name": "Lin", "username": "lin", "language_code": "en"
        });
        let message = serde_json::json!({
            "message_id": 7,
            "date": 1_700_000_000,
            "chat": { "id": 5001, "type": "private", "first_name": "Lin" },
            "from": user,
            "text": "My deposit has not arrived"
        });
        let updates = [
            received(serde_json::json!({ "update_id": 1001, "message": message })),
            received(serde_json::json!({
                "update_id": 1002,
                "callback_query": {
                    "id": "42", "from": user, "chat_instance": "1", "data": "rate:5", "message": message
                }
            })),
        ];
        for update in &updates {
            assert!(!matches!(update.kind, UpdateKind::Error(_)), "{update:?}");
            let back = kept_and_read_back(update);
            assert_eq!(&back.update, update);
            assert_eq!(back.replays, 1);
        }
    }

    #[test]
    fn a_kept_update_holds_no_secret_and_reads_back_masked() {
        let update = received(serde_json::json!({
            "update_id": 1004,
            "message": {
                "message_id": 8,
                "date": 1_700_000_000,
                "chat": { "id": 5001, "type": "private", "first_name": "Lin" },
                "text": "My password is Hunter2!Tango, help",
                "entities": [{ "type": "bold", "offset": 15, "length": 13 }]
            }
        }));
        let kept = serde_json::to_value(KeptMasked {
            update: masked(&update).unwrap(),
            replays: 0,
        })
        .unwrap();
        assert!(!kept.to_string().contains("Hunter2"), "{kept}");
        let back: KeptUpdate = serde_json::from_value(kept).unwrap();
        assert_eq!(back.update.id, update.id);
        let UpdateKind::Message(message) = &back.update.kind else {
            panic!("a message: {:?}", back.update.kind);
        };
        assert_eq!(
            message.text(),
            Some("My password is [hidden: password], help")
        );
        assert!(message.entities().is_none_or(|e| e.is_empty()));
    }

    /// What teloxide cannot read back is refused, so it is dropped and
    /// logged instead of reaching the dispatcher as an unreadable update.
    #[test]
    fn a_kept_update_teloxide_cannot_read_is_refused() {
        let kept = serde_json::json!({
            "update": { "update_id": 1003, "something_new": { "id": 1 } },
            "replays": 0
        });
        assert!(serde_json::from_value::<KeptUpdate>(kept).is_err());
    }
}
