//! The Telegram shell end to end: a real teloxide `Bot` (the one `helpdesk
//! run` starts) talking HTTP to a fake Bot API server (`fake_bot_api`), on a
//! real SQLite database in a temporary folder. Each test is one story, told
//! as Telegram sees it: updates pushed in, Bot API calls read back.

use std::time::Duration;

use bot::desk::AgentProfile;
use bot::settings::{Secret, Settings, StaffSettings, TelegramSettings};
use bot::telegram::{self, Launch, Running, Webhook};
use handoff::{PendingKind, Status};
use serde_json::{Value, json};
use tempfile::TempDir;

use crate::fake_bot_api::{Call, FakeBotApi, Person, sticker, voice};

use crate::support::FAQ;

const TOKEN: &str = "123456789:AAFakeTokenForTests_abcdefghijklmnopq";
const STAFF: i64 = -1_001_000_000_001;
const SECURITY_TEAM: i64 = -1_001_000_000_002;
const ALICE: i64 = 7001;
const BOB: i64 = 7002;
const ADMIN: i64 = 7100;
const MALLORY: i64 = 8001;

fn lin() -> Person {
    Person::new(5001, "Lin", "en")
}

fn alice() -> Person {
    Person::new(ALICE, "Alice", "en")
}

fn bob() -> Person {
    Person::new(BOB, "Bob", "en")
}

fn mallory() -> Person {
    Person::new(MALLORY, "Mallory", "en")
}

/// Settings for a bot in `dir`: the FAQ above, SQLite, two agents and an
/// admin, no throttling (tests that need it turn it on).
fn settings(dir: &TempDir) -> Settings {
    let faq = dir.path().join("faq.yaml");
    std::fs::write(&faq, FAQ).unwrap();
    Settings {
        faq_path: faq,
        database_url: format!("sqlite:{}", dir.path().join("helpdesk.db").display()),
        staff: StaffSettings {
            agents: vec![
                AgentProfile {
                    id: ALICE,
                    alias: "Alice".into(),
                },
                AgentProfile {
                    id: BOB,
                    alias: "Bob".into(),
                },
            ],
            admins: vec![ADMIN],
            ..Default::default()
        },
        telegram: TelegramSettings {
            throttle: false,
            ..Default::default()
        },
        ..Default::default()
    }
}

struct Scene {
    fake: FakeBotApi,
    settings: Settings,
    running: Option<Running>,
    _dir: TempDir,
}

async fn launch(fake: &FakeBotApi, settings: &Settings) -> Running {
    let launch = Launch::new(TOKEN).with_api_url(&fake.url).unwrap();
    telegram::start(settings, launch)
        .await
        .expect("the bot starts")
}

impl Scene {
    async fn start(configure: impl FnOnce(&mut Settings)) -> Scene {
        let fake = FakeBotApi::start(TOKEN).await;
        let dir = TempDir::new().unwrap();
        let mut settings = settings(&dir);
        configure(&mut settings);
        let running = launch(&fake, &settings).await;
        Scene {
            fake,
            settings,
            running: Some(running),
            _dir: dir,
        }
    }

    /// A forum staff group, no throttling.
    async fn with_forum() -> Scene {
        Scene::start(|s| s.telegram.staff_group = Some(STAFF)).await
    }

    fn running(&self) -> &Running {
        self.running.as_ref().unwrap()
    }

    /// Stops the bot process and starts a new one on the same database.
    async fn restart(&mut self) {
        self.running.take().unwrap().stop().await.unwrap();
        self.running = Some(launch(&self.fake, &self.settings).await);
    }

    async fn stop(mut self) {
        self.running.take().unwrap().stop().await.unwrap();
    }

    /// Kills the bot the way a crash would (nothing finished or flushed),
    /// then starts a new one on the same database with `configure`d settings.
    async fn crash_and_restart(&mut self, configure: impl FnOnce(&mut Settings)) {
        self.running.take().unwrap().crash();
        configure(&mut self.settings);
        self.running = Some(launch(&self.fake, &self.settings).await);
    }

    /// The user asks for a human; waits for the new ticket's topic and card.
    /// Returns (ticket id, thread id).
    async fn open_ticket_in_topic(&self, user: &Person) -> (i64, i64) {
        self.fake.user_says(user, "/human");
        let card = self
            .fake
            .wait_for("a ticket card in a topic", |calls| {
                calls.iter().any(|c| {
                    c.method == "sendmessage"
                        && c.chat() == Some(STAFF)
                        && c.text().contains("ticket #")
                })
            })
            .await
            .into_iter()
            .rev()
            .find(|c| {
                c.method == "sendmessage"
                    && c.chat() == Some(STAFF)
                    && c.text().contains("ticket #")
            })
            .unwrap();
        let ticket = card
            .buttons()
            .iter()
            .find_map(|b| b.strip_prefix("claim:").map(|t| t.parse().unwrap()))
            .unwrap();
        (ticket, card.thread().expect("the card is in a topic"))
    }

    /// Posts in a topic, in order.
    fn topic_posts(&self, thread: i64) -> Vec<Call> {
        self.fake
            .calls()
            .into_iter()
            .filter(|c| c.ok && c.chat() == Some(STAFF) && c.thread() == Some(thread))
            .filter(|c| matches!(c.method.as_str(), "sendmessage" | "copymessage"))
            .collect()
    }

    async fn ticket_status(&self, ticket: i64) -> Status {
        self.running()
            .desk()
            .store()
            .ticket(ticket)
            .await
            .unwrap()
            .unwrap()
            .status
    }
}

fn answered(calls: &[Call], query: &str) -> bool {
    calls
        .iter()
        .any(|c| c.method == "answercallbackquery" && c.body["callback_query_id"] == json!(query))
}

async fn press_and_wait(
    scene: &Scene,
    who: &Person,
    chat: i64,
    thread: Option<i64>,
    data: &str,
) -> Call {
    let query = scene.fake.press(who, chat, thread, data);
    scene
        .fake
        .wait_for(&format!("the answer to button {data}"), |calls| {
            answered(calls, &query)
        })
        .await
        .into_iter()
        .find(|c| c.method == "answercallbackquery" && c.body["callback_query_id"] == json!(query))
        .unwrap()
}

#[tokio::test]
async fn a_user_goes_from_start_to_answers_browsing_and_the_queue_with_every_button_answered() {
    let scene = Scene::start(|_| {}).await;
    let fake = &scene.fake;
    let user = lin();

    fake.user_says(&user, "/start");
    let welcome = fake.wait_for_text(user.id, "Hello").await;
    assert!(
        welcome.text().contains("never ask for your password"),
        "{}",
        welcome.text()
    );
    assert_eq!(welcome.buttons(), vec!["browse", "human"]);
    assert!(
        welcome.body.get("parse_mode").is_none(),
        "plain text: nothing the FAQ says can break formatting"
    );

    fake.user_says(&user, "My deposit has not arrived");
    let answer = fake.wait_for_text(user.id, "enough confirmations").await;
    assert_eq!(
        answer.buttons(),
        vec![
            "ok:deposit-not-credited",
            "no:deposit-not-credited",
            "human"
        ]
    );
    press_and_wait(&scene, &user, user.id, None, "ok:deposit-not-credited").await;
    fake.wait_for_text(user.id, "Glad that helped").await;

    fake.user_says(&user, "My deposit has not arrived");
    fake.settle(Duration::from_millis(100)).await;
    press_and_wait(&scene, &user, user.id, None, "no:deposit-not-credited").await;
    fake.wait_for("other suggestions or the offer of a human", |calls| {
        calls.iter().any(|c| {
            c.chat() == Some(user.id)
                && (c.text().contains("Did you mean") || c.text().contains("Shall I hand you"))
        })
    })
    .await;

    press_and_wait(&scene, &user, user.id, None, "browse").await;
    let categories = fake.wait_for_text(user.id, "Pick a category").await;
    assert_eq!(categories.buttons(), vec!["cat:deposit", "cat:security"]);
    press_and_wait(&scene, &user, user.id, None, "cat:deposit").await;
    let entries = fake.wait_for_text(user.id, "Deposits").await;
    assert!(
        entries
            .buttons()
            .contains(&"pick:deposit-address".to_owned()),
        "{:?}",
        entries.buttons()
    );
    press_and_wait(&scene, &user, user.id, None, "pick:deposit-address").await;
    fake.wait_for_text(user.id, "Open Assets and tap Deposit")
        .await;

    fake.user_says(&user, "I want to talk to a human");
    let queued = fake
        .wait_for_text(user.id, "handed you to a human agent")
        .await;
    assert!(queued.text().contains("in the queue"), "{}", queued.text());
    fake.user_says(&user, "/cancel");
    fake.wait_for_text(user.id, "left the queue").await;

    fake.settle(Duration::from_millis(100)).await;
    let presses = fake
        .calls()
        .iter()
        .filter(|c| c.method == "answercallbackquery")
        .count();
    assert_eq!(presses, 5, "every button press was answered");
    scene.stop().await;
}

#[tokio::test]
async fn a_handoff_opens_a_topic_and_relays_text_and_photos_both_ways_until_the_rating() {
    let scene = Scene::with_forum().await;
    let fake = &scene.fake;
    let user = lin();

    fake.user_says(&user, "My deposit has not arrived");
    fake.wait_for_text(user.id, "enough confirmations").await;
    let (ticket, thread) = scene.open_ticket_in_topic(&user).await;
    let topic = &fake.calls_of("createForumTopic")[0];
    assert_eq!(topic.body["chat_id"], json!(STAFF));
    assert_eq!(
        topic.body["name"],
        json!(format!("#{ticket} · deposit · Lin"))
    );
    let card = &scene.topic_posts(thread)[0];
    assert_eq!(
        card.buttons(),
        vec![format!("claim:{ticket}"), format!("close:{ticket}")]
    );
    for context in [
        "My deposit has not arrived",
        "candidates: deposit-not-credited",
        "language: en",
    ] {
        assert!(
            card.text().contains(context),
            "the card shows {context:?}: {}",
            card.text()
        );
    }
    fake.wait_for_text(user.id, "in the queue").await;
    press_and_wait(&scene, &user, user.id, None, "skip").await;
    fake.wait_for_text(user.id, "noted").await;

    // Alice claims with the card's button: the card says so, the user hears.
    let answer = press_and_wait(
        &scene,
        &alice(),
        STAFF,
        Some(thread),
        &format!("claim:{ticket}"),
    )
    .await;
    assert!(
        answer.body.get("text").is_none(),
        "no refusal: {}",
        answer.body
    );
    let edited = fake
        .wait_for("the card marked as claimed", |calls| {
            calls.iter().any(|c| c.method == "editmessagetext")
        })
        .await
        .into_iter()
        .find(|c| c.method == "editmessagetext")
        .unwrap();
    assert!(
        edited.text().contains("claimed by Alice"),
        "{}",
        edited.text()
    );
    assert_eq!(edited.buttons(), vec![format!("close:{ticket}")]);
    fake.wait_for_text(user.id, "Alice from support has joined")
        .await;

    // Text both ways.
    fake.group_says(
        STAFF,
        Some(thread),
        &alice(),
        "Could you send a screenshot?",
    );
    let relayed = fake
        .wait_for_text(user.id, "Could you send a screenshot?")
        .await;
    assert_eq!(relayed.text(), "Alice: Could you send a screenshot?");
    fake.user_says(&user, "I sent 100 USDT yesterday");
    fake.wait_for("the user's text in the topic", |_| {
        scene
            .topic_posts(thread)
            .iter()
            .any(|c| c.text().contains("I sent 100 USDT yesterday"))
    })
    .await;

    // Photos both ways, copied: the bot is the sender, never a person.
    let photo_message = fake.user_sends_photo(&user, "user-photo-1", Some("here it is"));
    let copied = fake
        .wait_for("the user's photo copied into the topic", |_| {
            scene
                .topic_posts(thread)
                .iter()
                .any(|c| c.method == "copymessage")
        })
        .await
        .into_iter()
        .find(|c| c.method == "copymessage")
        .unwrap();
    assert_eq!(copied.body["from_chat_id"], json!(user.id));
    assert_eq!(copied.body["message_id"], json!(photo_message));
    assert_eq!(copied.body["message_thread_id"], json!(thread));
    assert!(copied.text().contains("here it is"), "{}", copied.body);
    let agent_photo =
        fake.group_sends_photo(STAFF, thread, &alice(), "agent-photo-1", "Like this one?");
    let copied = fake.wait_for_text(user.id, "Like this one?").await;
    assert_eq!(copied.method, "copymessage");
    assert_eq!(copied.body["from_chat_id"], json!(STAFF));
    assert_eq!(copied.body["message_id"], json!(agent_photo));
    assert_eq!(copied.text(), "Alice: Like this one?");

    // A note stays internal; an FAQ answer and a link go where they should.
    fake.settle(Duration::from_millis(100)).await;
    let before = fake.sent_to(user.id).len();
    fake.group_says(STAFF, Some(thread), &alice(), "/note the user seems legit");
    fake.wait_for("the note acknowledged", |_| {
        scene
            .topic_posts(thread)
            .iter()
            .any(|c| c.text().contains("Note added"))
    })
    .await;
    fake.settle(Duration::from_millis(100)).await;
    assert_eq!(
        fake.sent_to(user.id).len(),
        before,
        "the user never sees a note"
    );
    fake.group_says(STAFF, Some(thread), &alice(), "/faq deposit-address");
    let faq = fake
        .wait_for_text(user.id, "Open Assets and tap Deposit")
        .await;
    assert!(faq.text().starts_with("Alice: "), "{}", faq.text());
    fake.group_says(STAFF, Some(thread), &alice(), "/link deposit-address");
    fake.wait_for("the link recorded", |_| {
        scene
            .topic_posts(thread)
            .iter()
            .any(|c| c.text().contains("should have answered"))
    })
    .await;

    // Close: the user is asked for a rating, the topic closes.
    fake.group_says(STAFF, Some(thread), &alice(), "/close");
    let rating = fake.wait_for_text(user.id, "How would you rate").await;
    assert_eq!(
        rating.buttons(),
        (1..=5)
            .map(|s| format!("rate:{ticket}:{s}"))
            .collect::<Vec<_>>()
    );
    let closed = fake
        .wait_for("the topic closed", |calls| {
            calls.iter().any(|c| c.method == "closeforumtopic")
        })
        .await
        .into_iter()
        .find(|c| c.method == "closeforumtopic")
        .unwrap();
    assert_eq!(closed.body["message_thread_id"], json!(thread));
    press_and_wait(&scene, &user, user.id, None, &format!("rate:{ticket}:5")).await;
    fake.wait_for_text(user.id, "Thank you for your rating (5/5)")
        .await;
    fake.wait_for("the rating shown to staff", |_| {
        scene
            .topic_posts(thread)
            .iter()
            .any(|c| c.text().contains("rated 5/5"))
    })
    .await;

    let stored = scene
        .running()
        .desk()
        .store()
        .ticket(ticket)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.status, Status::Closed);
    assert_eq!(stored.rating.map(|r| r.score), Some(5));
    let transcript = scene
        .running()
        .desk()
        .store()
        .transcript(ticket)
        .await
        .unwrap();
    assert!(transcript.iter().any(|e| {
        e.attachments
            .iter()
            .any(|a| a.file_id == "user-photo-1" && a.kind == "photo")
    }));
    assert!(
        transcript
            .iter()
            .any(|e| e.attachments.iter().any(|a| a.file_id == "agent-photo-1"))
    );
    assert_eq!(fake.calls_of("createForumTopic").len(), 1);
    scene.stop().await;
}

#[tokio::test]
async fn without_a_forum_group_agents_work_from_private_chats() {
    let scene = Scene::start(|_| {}).await;
    let fake = &scene.fake;
    let user = lin();

    fake.user_says(&user, "/human");
    for agent in [ALICE, BOB, ADMIN] {
        let card = fake.wait_for_text(agent, "ticket #1").await;
        assert_eq!(
            card.buttons(),
            vec!["claim:1", "close:1"],
            "every agent sees the new ticket"
        );
    }
    fake.user_says(&Person::new(5002, "Wei", "zh"), "我要转人工");
    fake.wait_for_text(ALICE, "ticket #2").await;

    fake.user_says(&alice(), "/queue");
    let queue = fake.wait_for_text(ALICE, "2 waiting").await;
    assert!(
        queue.text().contains("#1") && queue.text().contains("#2"),
        "{}",
        queue.text()
    );
    fake.user_says(&alice(), "/claim 1");
    fake.wait_for_text(ALICE, "You claimed ticket #1").await;
    fake.wait_for_text(BOB, "#1 claimed by Alice").await;
    fake.wait_for_text(user.id, "Alice from support has joined")
        .await;

    fake.user_says(&user, "my UID is 12345678");
    fake.wait_for_text(ALICE, "my UID is 12345678").await;
    let voice_message = fake.user_sends(&user, json!({ "voice": voice("voice-1") }));
    let copied = fake
        .wait_for("the voice message copied to Alice", |calls| {
            calls
                .iter()
                .any(|c| c.method == "copymessage" && c.chat() == Some(ALICE))
        })
        .await
        .into_iter()
        .find(|c| c.method == "copymessage" && c.chat() == Some(ALICE))
        .unwrap();
    assert_eq!(copied.body["message_id"], json!(voice_message));
    fake.user_sends(&user, json!({ "sticker": sticker("sticker-1") }));
    fake.wait_for("the sticker copied to Alice", |calls| {
        calls
            .iter()
            .filter(|c| c.method == "copymessage" && c.chat() == Some(ALICE))
            .count()
            == 2
    })
    .await;

    fake.user_says(&alice(), "Thanks, checking now");
    assert_eq!(
        fake.wait_for_text(user.id, "checking now").await.text(),
        "Alice: Thanks, checking now"
    );
    fake.wait_for_text(ALICE, "sent to #1").await;

    fake.user_says(&alice(), &format!("/transfer {BOB}"));
    // Each is told what happened (issue #22, item 2): not "You claimed".
    fake.wait_for_text(BOB, "Alice transferred to you ticket #1")
        .await;
    fake.wait_for_text(ALICE, "#1 transferred to Bob").await;
    fake.wait_for_text(user.id, "Your ticket is now with Bob")
        .await;
    fake.user_says(&bob(), "Bob here, taking over");
    fake.wait_for_text(user.id, "Bob: Bob here, taking over")
        .await;
    fake.user_says(&bob(), "/close");
    fake.wait_for_text(user.id, "How would you rate").await;
    fake.wait_for_text(BOB, "#1 closed").await;

    fake.user_says(&bob(), "/next");
    fake.wait_for_text(BOB, "You claimed ticket #2").await;
    fake.wait_for_text(5002, "客服 Bob 已接入").await;
    assert_eq!(scene.ticket_status(1).await, Status::Closed);
    assert_eq!(scene.ticket_status(2).await, Status::Claimed);
    scene.stop().await;
}

#[tokio::test]
async fn every_staff_command_and_button_from_someone_who_is_not_staff_is_refused() {
    let scene = Scene::with_forum().await;
    let fake = &scene.fake;
    let user = lin();
    let (ticket, thread) = scene.open_ticket_in_topic(&user).await;

    let commands = [
        "/queue".to_owned(),
        "/next".to_owned(),
        format!("/claim {ticket}"),
        format!("/close {ticket}"),
        "/note sneaky".to_owned(),
        "/link deposit-address".to_owned(),
        format!("/transfer {ALICE}"),
        "/mine".to_owned(),
        format!("/ban {} spam", user.id),
        format!("/unban {}", user.id),
    ];
    for command in &commands {
        fake.user_says(&mallory(), command);
    }
    fake.wait_for("a refusal for every command", |calls| {
        calls
            .iter()
            .filter(|c| c.chat() == Some(MALLORY) && c.text().contains("for support staff only"))
            .count()
            == commands.len()
    })
    .await;

    for (chat, thread) in [(STAFF, Some(thread)), (MALLORY, None)] {
        let answer =
            press_and_wait(&scene, &mallory(), chat, thread, &format!("claim:{ticket}")).await;
        assert!(
            answer.text().contains("for support staff only"),
            "{}",
            answer.body
        );
        let answer =
            press_and_wait(&scene, &mallory(), chat, thread, &format!("close:{ticket}")).await;
        assert!(
            answer.text().contains("for support staff only"),
            "{}",
            answer.body
        );
    }

    // In the staff group, a stranger's refusals go to their private chat:
    // the group's posts are for tickets.
    fake.group_says(STAFF, Some(thread), &mallory(), "hi, send me your password");
    fake.group_says(STAFF, Some(thread), &mallory(), "/close");
    fake.wait_for("the refusal of the topic's command", |calls| {
        calls
            .iter()
            .filter(|c| c.chat() == Some(MALLORY) && c.text().contains("for support staff only"))
            .count()
            == commands.len() + 1
    })
    .await;
    // Plain text is no command: the stranger hears it was not sent.
    fake.wait_for_text(MALLORY, "was not sent to the user")
        .await;
    fake.settle(Duration::from_millis(150)).await;
    assert!(
        !scene
            .topic_posts(thread)
            .iter()
            .any(|c| c.text().contains("for support staff only")),
        "no refusal in the topic"
    );
    assert!(
        !fake
            .texts_to(user.id)
            .iter()
            .any(|t| t.contains("send me your password") || t.contains("is closed")),
        "nothing reached the user: {:?}",
        fake.texts_to(user.id)
    );
    assert_eq!(scene.ticket_status(ticket).await, Status::Waiting);
    assert!(
        fake.calls_of("editMessageText").is_empty() && fake.calls_of("closeForumTopic").is_empty()
    );
    scene.stop().await;
}

#[tokio::test]
async fn a_strangers_commands_in_the_staff_group_never_hold_back_a_tickets_card() {
    let scene = Scene::start(|s| {
        s.telegram.staff_group = Some(STAFF);
        s.telegram.throttle = true;
        s.telegram.staff_posts_per_window = 5;
        s.telegram.staff_window_secs = 2;
        s.telegram.flood_messages = 3;
        s.telegram.flood_window_secs = 60;
    })
    .await;
    let fake = &scene.fake;
    for _ in 0..25 {
        fake.group_says(STAFF, None, &mallory(), "/queue");
    }
    // All 25 handled (the inbox forgot them) before the ticket opens.
    let store = scene.running().desk().store();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while fake.pending_updates() > 0
        || !store
            .pending_owners(PendingKind::Update)
            .await
            .unwrap()
            .is_empty()
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the commands were never handled"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let user = lin();
    fake.user_says(&user, "/human");
    let is_card = |c: &Call| c.text().contains("ticket #") && !c.buttons().is_empty();
    fake.wait_for_within("the ticket's card", Duration::from_secs(30), |calls| {
        calls
            .iter()
            .any(|c| c.ok && c.chat() == Some(STAFF) && is_card(c))
    })
    .await;
    let posts: Vec<String> = fake.texts_to(STAFF);
    assert!(
        fake.sent_to(STAFF).first().is_some_and(is_card),
        "the card is the group's first post: {posts:?}"
    );
    assert!(
        !posts.iter().any(|t| t.contains("for support staff only")),
        "no refusal in the group: {posts:?}"
    );
    // The stranger hears it privately, within the flood limit.
    let private = fake.texts_to(MALLORY);
    assert_eq!(
        private
            .iter()
            .filter(|t| t.contains("for support staff only"))
            .count(),
        3,
        "{private:?}"
    );
    assert_eq!(
        private.iter().filter(|t| t.contains("pause")).count(),
        1,
        "{private:?}"
    );
    scene.stop().await;
}

#[tokio::test]
async fn a_flooding_user_is_told_once_that_the_bot_pauses_and_other_users_are_unaffected() {
    let scene = Scene::start(|s| {
        s.telegram.flood_messages = 3;
        s.telegram.flood_window_secs = 60;
    })
    .await;
    let fake = &scene.fake;
    let flooder = lin();
    let other = Person::new(5002, "Wei", "en");
    for _ in 0..8 {
        fake.user_says(&flooder, "My deposit has not arrived");
    }
    fake.user_says(&other, "My deposit has not arrived");
    fake.wait_for_text(other.id, "enough confirmations").await;
    fake.settle(Duration::from_millis(200)).await;
    let texts = fake.texts_to(flooder.id);
    assert_eq!(
        texts
            .iter()
            .filter(|t| t.contains("enough confirmations"))
            .count(),
        3,
        "{texts:?}"
    );
    assert_eq!(
        texts.iter().filter(|t| t.contains("pause")).count(),
        1,
        "said once: {texts:?}"
    );
    assert_eq!(texts.len(), 4, "nothing else: {texts:?}");
    scene.stop().await;
}

#[tokio::test]
async fn a_banned_user_is_told_once_and_ignored_until_unbanned_and_the_reason_is_kept() {
    let scene = Scene::with_forum().await;
    let fake = &scene.fake;
    let user = lin();
    let (ticket, thread) = scene.open_ticket_in_topic(&user).await;

    fake.group_says(STAFF, Some(thread), &alice(), "/ban spamming links");
    fake.wait_for("the ban confirmed in the topic", |_| {
        scene
            .topic_posts(thread)
            .iter()
            .any(|c| c.text().contains("banned. Reason: spamming links"))
    })
    .await;
    fake.settle(Duration::from_millis(100)).await;
    let posts_before = scene.topic_posts(thread).len();
    fake.user_says(&user, "hello?");
    fake.user_says(&user, "anyone?");
    fake.wait_for_text(user.id, "can no longer use this support chat")
        .await;
    fake.settle(Duration::from_millis(150)).await;
    let told = fake
        .texts_to(user.id)
        .iter()
        .filter(|t| t.contains("no longer"))
        .count();
    assert_eq!(told, 1, "told once");
    assert_eq!(
        scene.topic_posts(thread).len(),
        posts_before,
        "nothing relayed while banned"
    );

    fake.user_says(&bob(), &format!("/ban {ALICE} nope"));
    fake.wait_for_text(BOB, "Staff cannot be banned").await;
    fake.user_says(&bob(), &format!("/unban {}", user.id));
    fake.wait_for_text(BOB, &format!("User {} is unbanned", user.id))
        .await;
    fake.user_says(&user, "back again");
    fake.wait_for("the user's message relayed again", |_| {
        scene
            .topic_posts(thread)
            .iter()
            .any(|c| c.text().contains("back again"))
    })
    .await;

    let store = scene.running().desk().store();
    let record = bot::desk::bans::ban_record(store, user.id).await.unwrap();
    assert!(!record.banned);
    let reasons: Vec<(&bool, &str, i64)> = record
        .history
        .iter()
        .map(|e| (&e.banned, e.reason.as_str(), e.by))
        .collect();
    assert_eq!(
        reasons,
        vec![(&true, "spamming links", ALICE), (&false, "", BOB)]
    );
    assert_eq!(scene.ticket_status(ticket).await, Status::Waiting);
    scene.stop().await;
}

#[tokio::test]
async fn a_429_is_waited_out_and_the_message_arrives_once_after_the_wait() {
    let scene = Scene::start(|s| s.telegram.throttle = true).await;
    let fake = &scene.fake;
    let user = lin();
    fake.refuse_next("sendMessage", 1);
    fake.user_says(&user, "/start");
    fake.wait_for_text(user.id, "Hello").await;
    fake.settle(Duration::from_millis(200)).await;
    let attempts: Vec<Call> = fake
        .calls()
        .into_iter()
        .filter(|c| c.method == "sendmessage" && c.chat() == Some(user.id))
        .collect();
    assert_eq!(attempts.len(), 2, "one refused attempt, one delivery");
    assert!(!attempts[0].ok && attempts[1].ok);
    let waited = attempts[1].at.duration_since(attempts[0].at);
    assert!(
        waited >= Duration::from_millis(950),
        "waited only {waited:?}"
    );
    assert_eq!(fake.texts_to(user.id).len(), 1, "the message arrived once");
    scene.stop().await;
}

#[tokio::test]
async fn a_restart_in_the_middle_of_a_handoff_loses_and_duplicates_nothing() {
    let mut scene = Scene::with_forum().await;
    let user = lin();
    let (ticket, thread) = scene.open_ticket_in_topic(&user).await;
    press_and_wait(
        &scene,
        &alice(),
        STAFF,
        Some(thread),
        &format!("claim:{ticket}"),
    )
    .await;
    scene.fake.wait_for_text(user.id, "has joined").await;
    scene.fake.user_says(&user, "first message");
    scene
        .fake
        .group_says(STAFF, Some(thread), &alice(), "first reply");
    scene.fake.wait_for_text(user.id, "first reply").await;
    scene
        .fake
        .wait_for("the first message in the topic", |_| {
            scene
                .topic_posts(thread)
                .iter()
                .any(|c| c.text().contains("first message"))
        })
        .await;

    scene.restart().await;
    assert_eq!(
        scene.fake.pending_updates(),
        0,
        "every update was confirmed before stopping"
    );

    scene.fake.user_says(&user, "second message");
    scene
        .fake
        .group_says(STAFF, Some(thread), &alice(), "second reply");
    scene.fake.wait_for_text(user.id, "second reply").await;
    scene
        .fake
        .wait_for("the second message in the same topic", |_| {
            scene
                .topic_posts(thread)
                .iter()
                .any(|c| c.text().contains("second message"))
        })
        .await;
    scene.fake.settle(Duration::from_millis(200)).await;

    let topic_texts: Vec<String> = scene
        .topic_posts(thread)
        .iter()
        .map(|c| c.text().to_owned())
        .collect();
    for text in ["first message", "second message"] {
        assert_eq!(
            topic_texts.iter().filter(|t| t.contains(text)).count(),
            1,
            "{text}: {topic_texts:?}"
        );
    }
    let user_texts = scene.fake.texts_to(user.id);
    for text in ["first reply", "second reply"] {
        assert_eq!(
            user_texts.iter().filter(|t| t.contains(text)).count(),
            1,
            "{text}: {user_texts:?}"
        );
    }
    assert_eq!(
        scene.fake.calls_of("createForumTopic").len(),
        1,
        "the same topic after the restart"
    );
    let transcript = scene
        .running()
        .desk()
        .store()
        .transcript(ticket)
        .await
        .unwrap();
    for text in [
        "first message",
        "second message",
        "first reply",
        "second reply",
    ] {
        assert_eq!(
            transcript.iter().filter(|e| e.text.contains(text)).count(),
            1,
            "{text} stored once"
        );
    }
    scene.stop().await;
}

/// Sends a raw HTTP request; returns the status code.
async fn post_raw(addr: std::net::SocketAddr, path: &str, secret: Option<&str>, body: &str) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let secret = secret
        .map(|s| format!("X-Telegram-Bot-Api-Secret-Token: {s}\r\n"))
        .unwrap_or_default();
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{secret}Connection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    response.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[tokio::test]
async fn a_webhook_request_without_the_right_secret_is_refused_with_401() {
    let fake = FakeBotApi::start(TOKEN).await;
    let dir = TempDir::new().unwrap();
    let mut settings = settings(&dir);
    settings.telegram.webhook_secret = Some(Secret("s3cret-Value_1".into()));
    let webhook = Webhook {
        url: "https://bot.example.com/telegram/hook".parse().unwrap(),
        listen: "127.0.0.1:0".parse().unwrap(),
    };
    let launch = Launch::new(TOKEN)
        .with_api_url(&fake.url)
        .unwrap()
        .with_webhook(webhook);
    let running = telegram::start(&settings, launch).await.unwrap();
    let addr = running.webhook_addr.expect("listening");
    let set = &fake.calls_of("setWebhook")[0];
    assert_eq!(
        set.body["url"],
        json!("https://bot.example.com/telegram/hook")
    );
    assert_eq!(set.body["secret_token"], json!("s3cret-Value_1"));

    let update = json!({
        "update_id": 1,
        "message": {
            "message_id": 1, "date": 1_700_000_000,
            "chat": { "id": 5001, "type": "private", "first_name": "Lin" },
            "from": { "id": 5001, "is_bot": false, "first_name": "Lin", "language_code": "en" },
            "text": "/start"
        }
    })
    .to_string();
    assert_eq!(post_raw(addr, "/telegram/hook", None, &update).await, 401);
    assert_eq!(
        post_raw(addr, "/telegram/hook", Some("wrong-secret"), &update).await,
        401
    );
    fake.settle(Duration::from_millis(100)).await;
    assert!(fake.texts_to(5001).is_empty(), "nothing handled");
    assert_eq!(
        post_raw(addr, "/telegram/hook", Some("s3cret-Value_1"), &update).await,
        200
    );
    fake.wait_for_text(5001, "Hello").await;
    running.stop().await.unwrap();
}

#[tokio::test]
async fn a_long_reply_is_split_under_4096_characters_at_line_breaks() {
    let scene = Scene::start(|_| {}).await;
    let fake = &scene.fake;
    let user = lin();
    fake.user_says(&user, "/human");
    fake.wait_for_text(ALICE, "ticket #1").await;
    fake.user_says(&alice(), "/claim 1");
    fake.wait_for_text(user.id, "has joined").await;
    let lines: Vec<String> = (0..700)
        .map(|i| format!("step {i:03}: check the deposit"))
        .collect();
    fake.user_says(&alice(), &lines.join("\n"));
    fake.wait_for_text(user.id, "step 699").await;
    let pieces: Vec<String> = fake
        .texts_to(user.id)
        .into_iter()
        .filter(|t| t.contains("step "))
        .collect();
    assert!(pieces.len() >= 5, "{} pieces", pieces.len());
    assert!(pieces.iter().all(|p| p.encode_utf16().count() <= 4096));
    assert!(
        pieces.iter().skip(1).all(|p| p.starts_with("step ")),
        "cut at line breaks"
    );
    assert_eq!(
        pieces.join("\n"),
        format!("Alice: {}", lines.join("\n")),
        "nothing lost"
    );
    scene.stop().await;
}

#[tokio::test]
async fn staff_posts_still_queued_at_a_crash_are_posted_after_the_restart() {
    let mut scene = Scene::start(|s| {
        s.telegram.staff_group = Some(STAFF);
        s.telegram.throttle = true;
        // The card spends the group's budget: what follows has to wait.
        s.telegram.staff_posts_per_window = 1;
        s.telegram.staff_window_secs = 3600;
        s.telegram.outbox_takeover_secs = 1;
    })
    .await;
    let user = lin();
    let (_, thread) = scene.open_ticket_in_topic(&user).await;
    let messages = ["the order is 8812", "and the amount was 300 USDT"];
    for message in messages {
        scene.fake.user_says(&user, message);
    }
    // Both messages are in the store's pending posts, not in the group, and
    // both updates were handled (a crash now hands out none of them again).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let store = scene.running().desk().store();
        let owners = store.pending_owners(PendingKind::StaffPost).await.unwrap();
        let in_hand = store.pending_owners(PendingKind::Update).await.unwrap();
        let replies = scene.fake.texts_to(user.id).len();
        // The user hears back once per message (queue place) after it was kept.
        if !owners.is_empty() && in_hand.is_empty() && replies >= 3 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{owners:?} {replies}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let posted = |scene: &Scene| -> String {
        scene
            .topic_posts(thread)
            .iter()
            .map(|c| c.text().to_owned())
            .collect()
    };
    assert!(!posted(&scene).contains(messages[0]));

    scene
        .crash_and_restart(|s| s.telegram.throttle = false)
        .await;
    scene
        .fake
        .wait_for_within(
            "the queued messages in the topic",
            Duration::from_secs(10),
            |_| {
                let all = posted(&scene);
                messages.iter().all(|m| all.contains(m))
            },
        )
        .await;
    // Taken over once: the topic is not opened again, the card not re-sent,
    // and the store holds nothing more.
    scene.fake.settle(Duration::from_millis(300)).await;
    assert_eq!(scene.fake.calls_of("createForumTopic").len(), 1);
    let all = posted(&scene);
    assert_eq!(all.matches(messages[0]).count(), 1, "{all}");
    assert!(
        scene
            .running()
            .desk()
            .store()
            .pending_owners(PendingKind::StaffPost)
            .await
            .unwrap()
            .is_empty()
    );
    scene.stop().await;
}

#[tokio::test]
async fn an_update_in_hand_at_a_crash_is_handled_after_the_restart() {
    let mut scene = Scene::start(|s| s.telegram.outbox_takeover_secs = 1).await;
    let user = lin();
    // Telegram holds the answer back for a minute: the question stays in hand.
    scene.fake.refuse_next("sendMessage", 60);
    scene.fake.user_says(&user, "My deposit has not arrived");
    let answered =
        |c: &Call| c.ok && c.chat() == Some(user.id) && c.text().contains("enough confirmations");
    scene
        .fake
        .wait_for("the answer refused and the question confirmed", |calls| {
            let refused = calls.iter().any(|c| !c.ok && c.chat() == Some(user.id));
            // Telegram forgets an update once a later poll confirms it.
            refused && scene.fake.pending_updates() == 0
        })
        .await;

    scene.crash_and_restart(|_| {}).await;
    scene
        .fake
        .wait_for_within(
            "the answer after the restart",
            Duration::from_secs(10),
            |calls| calls.iter().any(answered),
        )
        .await;
    // Handled once, and nothing is left in the store.
    scene.fake.settle(Duration::from_millis(300)).await;
    let answers = scene.fake.calls().iter().filter(|c| answered(c)).count();
    assert_eq!(answers, 1);
    let store = scene.running().desk().store();
    assert!(
        store
            .pending_owners(PendingKind::Update)
            .await
            .unwrap()
            .is_empty()
    );
    scene.stop().await;
}

#[tokio::test]
async fn a_busy_staff_group_gets_a_users_quick_messages_combined_and_none_dropped() {
    let scene = Scene::start(|s| {
        s.telegram.staff_group = Some(STAFF);
        s.telegram.throttle = true;
        s.telegram.staff_posts_per_window = 3;
        s.telegram.staff_window_secs = 2;
    })
    .await;
    let fake = &scene.fake;
    let user = lin();
    let (ticket, thread) = scene.open_ticket_in_topic(&user).await;
    press_and_wait(
        &scene,
        &alice(),
        STAFF,
        Some(thread),
        &format!("claim:{ticket}"),
    )
    .await;
    let messages: Vec<String> = (1..=8).map(|i| format!("quick message {i}")).collect();
    for message in &messages {
        fake.user_says(&user, message);
    }
    fake.wait_for_within(
        "every message in the topic",
        Duration::from_secs(20),
        |_| {
            let posted: String = scene
                .topic_posts(thread)
                .iter()
                .map(|c| c.text().to_owned())
                .collect();
            messages.iter().all(|m| posted.contains(m.as_str()))
        },
    )
    .await;
    let posts: Vec<String> = scene
        .topic_posts(thread)
        .iter()
        .map(|c| c.text().to_owned())
        .filter(|t| t.contains("quick message"))
        .collect();
    assert!(
        posts.len() < messages.len(),
        "combined into fewer posts: {posts:?}"
    );
    let lines: Vec<String> = posts.join("\n").lines().map(str::to_owned).collect();
    let mut last = 0;
    for message in &messages {
        let found: Vec<usize> = (0..lines.len())
            .filter(|&i| lines[i].ends_with(message.as_str()))
            .collect();
        assert_eq!(found.len(), 1, "{message} posted once: {lines:?}");
        assert!(found[0] >= last, "in order: {lines:?}");
        last = found[0];
    }
    scene.stop().await;
}

#[tokio::test]
async fn an_edited_question_is_answered_and_stickers_channels_and_stray_groups_get_a_polite_answer()
{
    let scene = Scene::with_forum().await;
    let fake = &scene.fake;
    let user = lin();
    // A question corrected after sending is answered in its new wording.
    fake.user_edits(&user, "My deposit has not arrived");
    fake.wait_for_text(user.id, "enough confirmations").await;
    fake.user_sends(&user, json!({ "sticker": sticker("sticker-1") }));
    fake.wait_for_text(user.id, "can't handle that kind of message")
        .await;

    let channel = -1_002_222_222_222;
    fake.channel_post(channel, "hello channel");
    fake.wait_for_text(channel, "only works in a private chat")
        .await;
    let group = -4_444_444;
    fake.bot_added_to(group, &mallory());
    fake.group_says(group, None, &mallory(), "/start");
    fake.wait_for_text(group, "only works in a private chat")
        .await;
    fake.settle(Duration::from_millis(150)).await;
    assert_eq!(fake.texts_to(group).len(), 1, "said once");
    let left: Vec<Value> = fake
        .calls_of("leaveChat")
        .iter()
        .map(|c| c.body["chat_id"].clone())
        .collect();
    assert_eq!(left, vec![json!(channel), json!(group)]);
    // A message in a group the bot was never told it joined (its
    // membership update lost) is routed as "another group" too.
    let unknown = -5_555_555;
    fake.group_says(unknown, None, &mallory(), "hello bot");
    fake.wait_for_text(unknown, "only works in a private chat")
        .await;
    scene.stop().await;
}

#[tokio::test]
async fn command_menus_are_set_in_chinese_and_english_and_for_staff() {
    let scene = Scene::with_forum().await;
    let menus = scene.fake.calls_of("setMyCommands");
    let menu = |language: Option<&str>, scope: &str| {
        menus
            .iter()
            .find(|c| {
                c.body.get("language_code").and_then(Value::as_str) == language
                    && c.body["scope"]["type"] == json!(scope)
            })
            .map(|c| c.body["commands"].clone())
    };
    let zh = menu(Some("zh"), "all_private_chats").expect("a Chinese menu");
    assert!(
        zh.as_array()
            .unwrap()
            .iter()
            .any(|c| c["command"] == json!("human") && c["description"] == json!("转人工客服"))
    );
    let en = menu(Some("en"), "all_private_chats").expect("an English menu");
    assert!(
        en.as_array()
            .unwrap()
            .iter()
            .any(|c| c["description"] == json!("Talk to a human agent"))
    );
    assert!(
        menu(None, "all_private_chats").is_some(),
        "a default for other languages"
    );
    let staff = menus
        .iter()
        .find(|c| c.body["scope"] == json!({ "type": "chat", "chat_id": STAFF }))
        .expect("a staff menu in the staff group");
    assert!(
        staff.body["commands"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["command"] == json!("claim"))
    );
    scene.stop().await;
}

#[tokio::test]
async fn a_ticket_of_a_team_with_its_own_group_opens_its_topic_there() {
    let fake = FakeBotApi::start(TOKEN).await;
    let dir = TempDir::new().unwrap();
    let mut settings = settings(&dir);
    settings.telegram.staff_group = Some(STAFF);
    settings.telegram.teams = vec![bot::settings::TeamGroup {
        team: "security".into(),
        staff_group: SECURITY_TEAM,
    }];
    // The store routes security tickets to the security team.
    let routing = handoff::Routing {
        teams: [("security".to_owned(), vec![BOB])].into(),
        category_teams: [("security".to_owned(), "security".to_owned())].into(),
        ..Default::default()
    };
    let desk = bot::startup::build_desk(&settings, &[]).await.unwrap();
    let store = desk.store().clone().with_routing(routing);
    let (knowledge, _) =
        bot::startup::load_knowledge(&settings.faq_path, settings.matcher).unwrap();
    let staff = desk.staff().clone();
    let desk = bot::desk::Desk::new(store, knowledge, Default::default(), staff);
    let launch = Launch::new(TOKEN).with_api_url(&fake.url).unwrap();
    let running = telegram::start_with_desk(&settings, std::sync::Arc::new(desk), launch)
        .await
        .unwrap();

    fake.user_says(&lin(), "My account was hacked");
    let topic = fake
        .wait_for("a topic in the security team's group", |calls| {
            calls.iter().any(|c| c.method == "createforumtopic")
        })
        .await
        .into_iter()
        .find(|c| c.method == "createforumtopic")
        .unwrap();
    assert_eq!(topic.body["chat_id"], json!(SECURITY_TEAM));
    fake.wait_for("the card in the team's group", |calls| {
        calls.iter().any(|c| {
            c.method == "sendmessage"
                && c.chat() == Some(SECURITY_TEAM)
                && c.text().contains("URGENT")
        })
    })
    .await;
    fake.user_says(&Person::new(5002, "Wei", "en"), "/human");
    fake.wait_for("another ticket's topic in the common group", |calls| {
        calls
            .iter()
            .any(|c| c.method == "createforumtopic" && c.chat() == Some(STAFF))
    })
    .await;
    running.stop().await.unwrap();
}

#[tokio::test]
async fn an_unclaimed_ticket_past_the_waiting_limit_is_announced_again_in_its_topic() {
    let scene = Scene::start(|s| {
        s.telegram.staff_group = Some(STAFF);
        s.staff.realert_after_secs = 1;
    })
    .await;
    let (ticket, thread) = scene.open_ticket_in_topic(&lin()).await;
    let alert = scene
        .fake
        .wait_for("a re-alert in the topic", |_| {
            scene
                .topic_posts(thread)
                .iter()
                .any(|c| c.text().contains("still unclaimed"))
        })
        .await
        .into_iter()
        .find(|c| c.text().contains("still unclaimed"))
        .unwrap();
    assert_eq!(alert.buttons(), vec![format!("claim:{ticket}")]);
    scene.stop().await;
}

#[tokio::test]
async fn no_log_line_contains_the_token_even_at_trace_level() {
    use std::sync::{Arc, Mutex};
    use tracing_subscriber::util::SubscriberInitExt;

    #[derive(Clone)]
    struct Capture(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Capture {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let captured = Capture(Arc::new(Mutex::new(Vec::new())));
    let sink = captured.clone();
    // This test's runtime runs on this thread alone, so a thread-local
    // subscriber sees every log line of the bot, teloxide, reqwest, hyper.
    let _guard = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("trace"))
        .with_ansi(false)
        .with_writer(move || sink.clone())
        .finish()
        .set_default();

    let scene = Scene::start(|s| s.telegram.throttle = true).await;
    let fake = &scene.fake;
    let user = lin();
    fake.refuse_next("sendMessage", 1);
    fake.user_says(&user, "/start");
    fake.wait_for_text(user.id, "Hello").await;
    fake.user_says(&user, "/human");
    fake.wait_for_text(ALICE, "ticket #1").await;
    scene.stop().await;

    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(log.lines().count() > 20, "the test saw the logs: {log}");
    let secret_half = TOKEN.split_once(':').unwrap().1;
    let leaks: Vec<&str> = log.lines().filter(|l| l.contains(secret_half)).collect();
    assert!(
        leaks.is_empty(),
        "the token leaked into logs:\n{}",
        leaks.join("\n")
    );
}

#[tokio::test]
async fn whoami_tells_anyone_their_telegram_id_in_a_private_chat_and_in_the_staff_group() {
    let scene = Scene::with_forum().await;
    let fake = &scene.fake;
    // A user who is nobody's agent yet: how they learn the id to configure.
    let stranger = Person::new(9123, "Wen", "zh");
    fake.user_says(&stranger, "/whoami");
    let reply = fake.wait_for_text(9123, "9123").await;
    assert_eq!(reply.text(), "您的 Telegram 用户 ID：9123");
    // Someone in the staff group (not yet an agent), in its General topic:
    // their id and the group's, for `telegram.staff_group`.
    fake.group_says(STAFF, None, &lin(), "/whoami@helpdesk_bot");
    let reply = fake.wait_for_text(STAFF, "5001").await;
    assert_eq!(
        reply.text(),
        format!("Your Telegram user id: 5001\nThis group's chat id: {STAFF}")
    );
    // Not a question for the FAQ, not a ticket.
    assert!(
        scene
            .running()
            .desk()
            .store()
            .open_ticket_of(9123)
            .await
            .unwrap()
            .is_none()
    );
    // A banned user is not answered, like any other message of theirs.
    fake.group_says(STAFF, None, &alice(), "/ban 9123 spam");
    fake.wait_for_text(STAFF, "9123").await;
    fake.user_says(&stranger, "/whoami");
    fake.wait_for_text(9123, "您已被限制使用").await;
    fake.settle(Duration::from_millis(100)).await;
    let ids = fake
        .texts_to(9123)
        .iter()
        .filter(|t| t.contains("用户 ID"))
        .count();
    assert_eq!(ids, 1, "{:?}", fake.texts_to(9123));
    scene.stop().await;
}

#[tokio::test]
async fn a_choice_made_takes_its_keyboard_off_and_a_stale_press_gets_a_short_toast() {
    let scene = Scene::start(|_| {}).await;
    let fake = &scene.fake;
    let user = lin();
    fake.user_says(&user, "My deposit has not arrived");
    fake.wait_for_text(user.id, "enough confirmations").await;

    let solved = press_and_wait(&scene, &user, user.id, None, "ok:deposit-not-credited").await;
    assert!(solved.body.get("text").is_none(), "accepted: no toast");
    fake.wait_for_text(user.id, "Glad that helped").await;
    let pressed: i64 = solved.body["callback_query_id"].as_str().unwrap()[1..]
        .parse()
        .unwrap();
    fake.wait_for("the answer's keyboard taken off", |calls| {
        calls.iter().any(|c| {
            c.method == "editmessagereplymarkup"
                && c.chat() == Some(user.id)
                && c.body["message_id"] == json!(pressed)
                && c.buttons().is_empty()
        })
    })
    .await;

    // "Not helpful" on the answer already marked solved: a toast, nothing else.
    fake.settle(Duration::from_millis(100)).await;
    let said = fake.texts_to(user.id).len();
    let stale = press_and_wait(&scene, &user, user.id, None, "no:deposit-not-credited").await;
    assert_eq!(
        stale.body["text"],
        json!("That button has already been used.")
    );

    // A rating, then the same keyboard pressed again.
    fake.user_says(&user, "/human");
    fake.wait_for_text(user.id, "handed you to a human agent")
        .await;
    fake.user_says(&alice(), "/claim 1");
    fake.wait_for_text(user.id, "Alice").await;
    fake.user_says(&alice(), "/close");
    fake.wait_for_text(user.id, "How would you rate").await;
    let rated = press_and_wait(&scene, &user, user.id, None, "rate:1:5").await;
    assert!(rated.body.get("text").is_none(), "accepted: no toast");
    fake.wait_for_text(user.id, "Thank you for your rating")
        .await;
    let again = press_and_wait(&scene, &user, user.id, None, "rate:1:4").await;
    assert_eq!(
        again.body["text"],
        json!("That button has already been used.")
    );
    fake.settle(Duration::from_millis(100)).await;
    let texts = fake.texts_to(user.id);
    assert!(
        !texts[said..].iter().any(|t| t.contains("can't handle")),
        "{texts:?}"
    );
    let stored = scene
        .running()
        .desk()
        .store()
        .ticket(1)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.rating.map(|r| r.score), Some(5));
    scene.stop().await;
}

/// Issue #22, item 3: a [Claim] press in the staff group edits the card in
/// the ticket's topic and posts no "You claimed" card anywhere, even when
/// the pressed message comes without its topic (it landed in General
/// before); a `/claim N` typed in General gets one line naming the agent.
#[tokio::test]
async fn a_claim_in_the_staff_group_names_the_agent_and_posts_no_card_in_general() {
    let scene = Scene::with_forum().await;
    let fake = &scene.fake;
    let (ticket, _thread) = scene.open_ticket_in_topic(&lin()).await;
    let general_posts = || {
        fake.calls()
            .into_iter()
            .filter(|c| c.ok && c.method == "sendmessage")
            .filter(|c| c.chat() == Some(STAFF) && c.thread().is_none())
            .map(|c| c.text().to_owned())
            .collect::<Vec<_>>()
    };
    let answer = press_and_wait(&scene, &alice(), STAFF, None, &format!("claim:{ticket}")).await;
    assert!(
        answer.body.get("text").is_none(),
        "no refusal: {}",
        answer.body
    );
    fake.wait_for("the card marked as claimed", |calls| {
        calls
            .iter()
            .any(|c| c.method == "editmessagetext" && c.text().contains("claimed by Alice"))
    })
    .await;
    fake.wait_for_text(lin().id, "Alice from support has joined")
        .await;
    let posts = general_posts();
    assert!(
        posts
            .iter()
            .all(|t| !t.contains("claimed") && !t.contains("transcript")),
        "{posts:?}"
    );

    // A second ticket, claimed by a command typed in General.
    let mei = Person::new(5002, "Mei", "en");
    fake.user_says(&mei, "/human");
    let second = ticket + 1;
    fake.wait_for("the second ticket's card", |calls| {
        calls
            .iter()
            .any(|c| c.method == "sendmessage" && c.text().contains(&format!("ticket #{second} ")))
    })
    .await;
    fake.group_says(STAFF, None, &alice(), &format!("/claim {second}"));
    let line = fake
        .wait_for("the claim told in General", |calls| {
            calls.iter().any(|c| {
                c.method == "sendmessage"
                    && c.chat() == Some(STAFF)
                    && c.thread().is_none()
                    && c.text().contains(&format!("#{second}"))
            })
        })
        .await
        .into_iter()
        .find(|c| {
            c.method == "sendmessage"
                && c.chat() == Some(STAFF)
                && c.thread().is_none()
                && c.text().contains(&format!("#{second}"))
        })
        .unwrap();
    assert_eq!(line.text(), format!("#{second} claimed by Alice"));
    scene.stop().await;
}

/// Issue #22, item 6: plain text from someone who is not staff in a
/// ticket's topic is not refused as a command; they are told once, in
/// private, that only agents' messages in a topic reach the user.
#[tokio::test]
async fn a_strangers_plain_text_in_a_topic_is_explained_once_in_private_not_refused() {
    let scene = Scene::with_forum().await;
    let fake = &scene.fake;
    let user = lin();
    let (_ticket, thread) = scene.open_ticket_in_topic(&user).await;
    fake.group_says(STAFF, Some(thread), &mallory(), "hello, can I help?");
    fake.group_says(STAFF, Some(thread), &mallory(), "anyone there?");
    // Handled in order in the group's chat: once this command's refusal
    // arrives, both texts were handled.
    fake.group_says(STAFF, Some(thread), &mallory(), "/queue");
    fake.wait_for_text(MALLORY, "for support staff only").await;
    let private = fake.texts_to(MALLORY);
    let explained: Vec<&String> = private
        .iter()
        .filter(|t| t.contains("only support agents' messages in a topic reach the user"))
        .collect();
    assert_eq!(explained.len(), 1, "{private:?}");
    assert_eq!(
        private
            .iter()
            .filter(|t| t.contains("for support staff only"))
            .count(),
        1,
        "only the command is refused: {private:?}"
    );
    assert!(
        !fake
            .texts_to(user.id)
            .iter()
            .any(|t| t.contains("hello, can I help?") || t.contains("anyone there?")),
        "{:?}",
        fake.texts_to(user.id)
    );
    assert!(
        !scene
            .topic_posts(thread)
            .iter()
            .any(|c| c.text().contains("not sent") || c.text().contains("staff only")),
        "nothing said in the topic"
    );
    scene.stop().await;
}
