//! The handoff store's conformance suite: one set of behaviours, run on
//! SQLite (a temporary file) and, when `TEST_DATABASE_URL` is set, on
//! Postgres (each test in a fresh schema that is dropped afterwards).
//!
//! Each behaviour is an `async fn` taking a `&Store`; `conformance!` turns it
//! into `store::sqlite::NAME` and `store::postgres::NAME` tests.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use handoff::{
    Attachment, Author, BackendKind, CandidateRecord, ClaimOutcome, Details, NewEntry, NewTicket,
    PendingKind, Priority, QueryOutcome, QueryRecord, Rating, Routing, Status, Store, StoreError,
    TicketId, UserInfo,
};

// --- fixtures ----------------------------------------------------------------

/// A store on a database of its own, removed when dropped.
struct Db {
    store: Store,
    _dir: Option<tempfile::TempDir>,
    schema: Option<(String, String)>,
    url: String,
}

impl Drop for Db {
    fn drop(&mut self) {
        if let Some((base, schema)) = self.schema.take() {
            // Drop runs outside any async context we could borrow (maybe
            // while unwinding): use a small runtime on a thread of its own.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
                rt.block_on(handoff::testing::drop_postgres_schema(&base, &schema))
            })
            .join();
        }
    }
}

async fn sqlite_db() -> Db {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite:{}", dir.path().join("helpdesk.db").display());
    let store = Store::connect(&url).await.expect("sqlite store");
    Db {
        store,
        _dir: Some(dir),
        schema: None,
        url,
    }
}

/// `None` (and the test passes without running) when Postgres is not
/// configured for tests.
async fn postgres_db() -> Option<Db> {
    let base = std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())?;
    static SEQ: AtomicUsize = AtomicUsize::new(0);
    let schema = format!(
        "hd_test_{}_{}_{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed),
        chrono::Utc::now().timestamp_micros() % 1_000_000
    );
    let url = handoff::testing::postgres_url_with_schema(&base, &schema);
    let store = Store::connect(&url)
        .await
        .expect("postgres store (TEST_DATABASE_URL)");
    Some(Db {
        store,
        _dir: None,
        schema: Some((base, schema)),
        url,
    })
}

fn user(id: i64) -> UserInfo {
    UserInfo {
        id,
        username: Some(format!("user{id}")),
        display_name: None,
        language: "en".into(),
    }
}

fn ticket_for(id: i64, priority: Priority, texts: &[&str]) -> NewTicket {
    NewTicket {
        opened_by: None,
        user: user(id),
        category: Some("deposit".into()),
        priority,
        details: Details::default(),
        transcript: texts
            .iter()
            .map(|t| NewEntry::text(Author::User, *t))
            .collect(),
    }
}

async fn open(store: &Store, user: i64, priority: Priority) -> TicketId {
    store
        .open_ticket(ticket_for(user, priority, &["I need help"]))
        .await
        .expect("open ticket")
        .ticket
        .id
}

/// Declares each behaviour as a test on SQLite and on Postgres.
macro_rules! conformance {
    ($($(#[$meta:meta])* $name:ident),* $(,)?) => {
        mod sqlite {
            $(
                $(#[$meta])*
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let db = super::sqlite_db().await;
                    super::$name(&db).await;
                }
            )*
        }
        mod postgres {
            $(
                $(#[$meta])*
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(db) = super::postgres_db().await else {
                        eprintln!("TEST_DATABASE_URL is not set: Postgres not tested");
                        return;
                    };
                    super::$name(&db).await;
                }
            )*
        }
    };
}

conformance!(
    a_ticket_opens_waiting_with_its_whole_transcript,
    a_user_asking_again_adds_to_their_open_ticket_instead_of_opening_another,
    after_a_close_the_same_user_can_open_a_new_ticket,
    two_replicas_opening_the_same_users_first_ticket_make_one_ticket,
    a_user_writing_again_while_the_agent_first_replies_blocks_nobody,
    a_redelivered_telegram_update_is_stored_once,
    entries_are_numbered_in_the_order_they_were_appended,
    the_first_agent_message_sets_the_first_reply_time,
    appending_to_a_ticket_that_does_not_exist_fails,
    the_queue_is_urgent_then_vip_then_normal_oldest_first,
    a_waiting_user_learns_their_place_in_the_queue,
    a_claimed_ticket_cannot_be_claimed_by_another_agent,
    claim_next_takes_the_most_urgent_oldest_ticket,
    transfer_and_release_move_a_ticket_between_agents_and_the_queue,
    a_closed_ticket_leaves_the_queue_and_cannot_be_claimed,
    a_user_who_cancels_leaves_the_queue,
    ratings_are_one_to_five_and_only_for_closed_tickets,
    notes_stay_on_the_ticket_in_order,
    conversation_state_roundtrips_and_is_replaced,
    a_state_is_reserved_once_until_removed,
    a_ticket_keeps_the_key_of_the_event_that_opened_it,
    the_state_and_its_questions_are_saved_together,
    secrets_are_masked_before_they_are_stored,
    the_query_log_accepts_every_outcome,
    categories_routed_to_a_team_go_only_to_that_team,
    a_configured_vip_user_is_served_before_normal_users,
    a_vip_goes_to_their_account_manager_first_and_to_the_team_after_the_wait,
    tickets_waiting_too_long_are_announced_once_per_limit,
    the_estimated_wait_comes_from_recent_throughput,
    stats_count_answers_escalations_times_ratings_and_unanswered_questions,
    fifty_agents_racing_for_a_thousand_tickets_claim_each_exactly_once,
    fifty_agents_draining_the_queue_with_claim_next_never_share_a_ticket,
    a_writer_killed_mid_burst_loses_nothing_it_acknowledged,
    pending_work_is_kept_until_removed_and_taken_over_once_per_kind,
    learned_phrasings_are_kept_once_masked_and_can_be_dropped,
);

// --- behaviours ----------------------------------------------------------------

async fn learned_phrasings_are_kept_once_masked_and_can_be_dropped(db: &Db) {
    let store = &db.store;
    assert!(store.learned().await.unwrap().is_empty());
    store
        .record_learned(
            "deposit-missing",
            " 充币半天没到 ",
            handoff::LearnedFrom::Picked,
        )
        .await
        .unwrap();
    // The same phrasing of the same entry again, by another press: kept once.
    store
        .record_learned(
            "deposit-missing",
            "充币半天没到",
            handoff::LearnedFrom::Solved,
        )
        .await
        .unwrap();
    store
        .record_learned(
            "password-reset",
            "my password is hunter2, reset it",
            handoff::LearnedFrom::Solved,
        )
        .await
        .unwrap();
    store
        .record_learned(
            "password-reset",
            &"x".repeat(400),
            handoff::LearnedFrom::Solved,
        )
        .await
        .unwrap();
    let learned = store.learned().await.unwrap();
    let pairs: Vec<(&str, &str)> = learned
        .iter()
        .map(|l| (l.entry_id.as_str(), l.text.as_str()))
        .collect();
    assert_eq!(pairs.len(), 2, "{pairs:?}");
    assert_eq!(pairs[0], ("deposit-missing", "充币半天没到"));
    assert_eq!(learned[0].from, handoff::LearnedFrom::Picked);
    assert_eq!(pairs[1].0, "password-reset");
    assert!(!pairs[1].1.contains("hunter2"), "{pairs:?}");

    assert!(
        !store
            .drop_learned("deposit-missing", "nothing like it")
            .await
            .unwrap()
    );
    assert!(
        store
            .drop_learned("deposit-missing", "充币半天没到")
            .await
            .unwrap()
    );
    let left = store.learned().await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].entry_id, "password-reset");
}

async fn a_ticket_opens_waiting_with_its_whole_transcript(db: &Db) {
    let store = &db.store;
    let mut new = ticket_for(1, Priority::Normal, &["my deposit is missing"]);
    new.details.uids.push("12345678".into());
    new.transcript.push(NewEntry {
        author: Author::Bot,
        text: "Did you mean: deposit not credited?".into(),
        attachments: vec![Attachment {
            kind: "photo".into(),
            file_id: "AgACAgQAAxk".into(),
        }],
        candidates: vec![CandidateRecord {
            entry_id: "deposit-missing".into(),
            confidence: 0.5,
        }],
        dedup_key: Some("u:1:m:2".into()),
    });
    let opened = store.open_ticket(new).await.unwrap();
    assert!(opened.created);
    let t = &opened.ticket;
    assert_eq!(t.status, Status::Waiting);
    assert_eq!(t.user, user(1));
    assert_eq!(t.category.as_deref(), Some("deposit"));
    assert_eq!(t.details.uids, ["12345678"]);
    assert!(
        t.agent.is_none() && t.claimed_at.is_none() && t.closed_at.is_none() && t.rating.is_none()
    );
    assert_eq!(store.ticket(t.id).await.unwrap().as_ref(), Some(t));

    let transcript = store.transcript(t.id).await.unwrap();
    assert_eq!(transcript.len(), 2);
    assert_eq!((transcript[0].seq, transcript[0].author), (1, Author::User));
    assert_eq!(transcript[0].text, "my deposit is missing");
    assert_eq!(transcript[1].seq, 2);
    assert_eq!(transcript[1].attachments[0].file_id, "AgACAgQAAxk");
    assert_eq!(transcript[1].candidates[0].entry_id, "deposit-missing");
    assert_eq!(transcript[1].candidates[0].confidence, 0.5);
    assert!(transcript[0].at >= t.opened_at);
    assert!(store.ticket(t.id + 1000).await.unwrap().is_none());
}

async fn a_user_asking_again_adds_to_their_open_ticket_instead_of_opening_another(db: &Db) {
    let store = &db.store;
    let first = store
        .open_ticket(ticket_for(7, Priority::Normal, &["first question"]))
        .await
        .unwrap();
    let mut again = ticket_for(7, Priority::Urgent, &["second question"]);
    again.details.order_ids.push("2024051812345678".into());
    let second = store.open_ticket(again).await.unwrap();
    assert!(!second.created);
    assert_eq!(second.ticket.id, first.ticket.id);
    assert_eq!(
        second.ticket.priority,
        Priority::Urgent,
        "the more urgent request raises the priority"
    );
    assert_eq!(second.ticket.details.order_ids, ["2024051812345678"]);
    let texts: Vec<_> = store
        .transcript(first.ticket.id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.text)
        .collect();
    assert_eq!(texts, ["first question", "second question"]);
    assert_eq!(
        store.open_ticket_of(7).await.unwrap().unwrap().id,
        first.ticket.id
    );
    assert_eq!(store.queue().await.unwrap().len(), 1);

    // Claimed still counts as open.
    store.claim(first.ticket.id, 500).await.unwrap();
    let third = store
        .open_ticket(ticket_for(7, Priority::Normal, &["hello?"]))
        .await
        .unwrap();
    assert!(!third.created);
    assert_eq!(third.ticket.status, Status::Claimed);
    assert!(store.open_ticket_of(8).await.unwrap().is_none());
}

async fn after_a_close_the_same_user_can_open_a_new_ticket(db: &Db) {
    let store = &db.store;
    let first = open(store, 3, Priority::Normal).await;
    store.close(first).await.unwrap().unwrap();
    assert!(store.open_ticket_of(3).await.unwrap().is_none());
    let second = store
        .open_ticket(ticket_for(3, Priority::Normal, &["again"]))
        .await
        .unwrap();
    assert!(second.created);
    assert_ne!(second.ticket.id, first);
}

async fn two_replicas_opening_the_same_users_first_ticket_make_one_ticket(db: &Db) {
    let mut tasks = Vec::new();
    for i in 0..20 {
        let store = db.store.clone();
        tasks.push(tokio::spawn(async move {
            let mut new = ticket_for(77, Priority::Normal, &[]);
            new.transcript.push(NewEntry {
                dedup_key: Some(format!("update:{i}")),
                ..NewEntry::text(Author::User, format!("message {i}"))
            });
            store.open_ticket(new).await.unwrap()
        }));
    }
    let mut created = 0;
    let mut ids = HashSet::new();
    for t in tasks {
        let opened = t.await.unwrap();
        created += usize::from(opened.created);
        ids.insert(opened.ticket.id);
    }
    assert_eq!((created, ids.len()), (1, 1));
    let id = ids.into_iter().next().unwrap();
    assert_eq!(db.store.transcript(id).await.unwrap().len(), 20);
    assert!(db.store.check_consistency().await.unwrap().is_empty());
}

async fn a_user_writing_again_while_the_agent_first_replies_blocks_nobody(db: &Db) {
    for round in 0..20 {
        let user = 500 + round;
        let id = open(&db.store, user, Priority::Normal).await;
        db.store.claim(id, 9).await.unwrap();
        let mut tasks = Vec::new();
        for i in 0..3 {
            let store = db.store.clone();
            tasks.push(tokio::spawn(async move {
                let again = ticket_for(user, Priority::Vip, &["still there?"]);
                assert!(
                    !store.open_ticket(again).await.unwrap().created,
                    "round {round} user {i}"
                );
            }));
            let store = db.store.clone();
            tasks.push(tokio::spawn(async move {
                assert!(
                    store
                        .append(id, NewEntry::text(Author::Agent(9), "on it"))
                        .await
                        .unwrap()
                );
            }));
        }
        for t in tasks {
            tokio::time::timeout(Duration::from_secs(20), t)
                .await
                .expect("no deadlock")
                .unwrap();
        }
        let t = db.store.ticket(id).await.unwrap().unwrap();
        assert!(t.first_reply_at.is_some());
        assert_eq!(t.priority, Priority::Vip);
        assert_eq!(db.store.transcript(id).await.unwrap().len(), 7);
    }
}

async fn a_redelivered_telegram_update_is_stored_once(db: &Db) {
    let store = &db.store;
    let id = open(store, 1, Priority::Normal).await;
    let entry = NewEntry {
        dedup_key: Some("update:991".into()),
        ..NewEntry::text(Author::User, "are you there?")
    };
    assert!(store.append(id, entry.clone()).await.unwrap());
    assert!(!store.append(id, entry.clone()).await.unwrap());
    assert_eq!(store.transcript(id).await.unwrap().len(), 2);
    // The same key on another ticket is another message.
    let other = open(store, 2, Priority::Normal).await;
    assert!(store.append(other, entry.clone()).await.unwrap());
    // A redelivered handoff (same keys) adds nothing to the open ticket.
    let mut again = ticket_for(1, Priority::Normal, &[]);
    again.transcript.push(entry);
    store.open_ticket(again).await.unwrap();
    let transcript = store.transcript(id).await.unwrap();
    assert_eq!(transcript.len(), 2);
    assert_eq!(transcript.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 2]);
}

async fn entries_are_numbered_in_the_order_they_were_appended(db: &Db) {
    let store = &db.store;
    let id = open(store, 1, Priority::Normal).await;
    for i in 0..20 {
        let author = if i % 2 == 0 {
            Author::User
        } else {
            Author::Agent(9)
        };
        store
            .append(id, NewEntry::text(author, format!("message {i}")))
            .await
            .unwrap();
    }
    let transcript = store.transcript(id).await.unwrap();
    assert_eq!(transcript.len(), 21);
    for (i, entry) in transcript.iter().enumerate().skip(1) {
        assert_eq!(entry.seq, i as i64 + 1);
        assert_eq!(entry.text, format!("message {}", i - 1));
        assert!(entry.at >= transcript[i - 1].at);
    }
    assert_eq!(transcript[2].author, Author::Agent(9));
    // Concurrent appends to one ticket still get 1..=n without gaps.
    let mut tasks = Vec::new();
    for i in 0..40 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .append(id, NewEntry::text(Author::User, format!("burst {i}")))
                .await
                .unwrap()
        }));
    }
    for t in tasks {
        assert!(t.await.unwrap());
    }
    let seqs: Vec<i64> = store
        .transcript(id)
        .await
        .unwrap()
        .iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(seqs, (1..=61).collect::<Vec<_>>());
}

async fn the_first_agent_message_sets_the_first_reply_time(db: &Db) {
    let store = &db.store;
    let id = open(store, 1, Priority::Normal).await;
    store
        .append(id, NewEntry::text(Author::Bot, "an agent will be with you"))
        .await
        .unwrap();
    store
        .append(id, NewEntry::text(Author::System, "ticket claimed"))
        .await
        .unwrap();
    assert!(
        store
            .ticket(id)
            .await
            .unwrap()
            .unwrap()
            .first_reply_at
            .is_none()
    );
    store.claim(id, 42).await.unwrap();
    store
        .append(id, NewEntry::text(Author::Agent(42), "hello, I'm looking"))
        .await
        .unwrap();
    let first = store
        .ticket(id)
        .await
        .unwrap()
        .unwrap()
        .first_reply_at
        .expect("set by the agent's reply");
    store
        .append(id, NewEntry::text(Author::Agent(42), "found it"))
        .await
        .unwrap();
    assert_eq!(
        store.ticket(id).await.unwrap().unwrap().first_reply_at,
        Some(first)
    );
}

async fn appending_to_a_ticket_that_does_not_exist_fails(db: &Db) {
    let err = db
        .store
        .append(4242, NewEntry::text(Author::User, "hi"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::TicketNotFound(4242)), "{err}");
}

async fn the_queue_is_urgent_then_vip_then_normal_oldest_first(db: &Db) {
    let store = &db.store;
    let normal_old = open(store, 1, Priority::Normal).await;
    let vip = open(store, 2, Priority::Vip).await;
    let urgent = open(store, 3, Priority::Urgent).await;
    let normal_new = open(store, 4, Priority::Normal).await;
    let vip_new = open(store, 5, Priority::Vip).await;
    let claimed = open(store, 6, Priority::Urgent).await;
    store.claim(claimed, 1).await.unwrap();
    let queue: Vec<TicketId> = store.queue().await.unwrap().iter().map(|t| t.id).collect();
    assert_eq!(queue, [urgent, vip, vip_new, normal_old, normal_new]);
}

async fn a_waiting_user_learns_their_place_in_the_queue(db: &Db) {
    let store = &db.store;
    let a = open(store, 1, Priority::Normal).await;
    let b = open(store, 2, Priority::Normal).await;
    let vip = open(store, 3, Priority::Vip).await;
    let pos = |p: usize, w: usize| {
        Some(handoff::QueuePosition {
            position: p,
            waiting: w,
        })
    };
    assert_eq!(store.queue_position(vip).await.unwrap(), pos(1, 3));
    assert_eq!(store.queue_position(a).await.unwrap(), pos(2, 3));
    assert_eq!(store.queue_position(b).await.unwrap(), pos(3, 3));
    store.claim(vip, 10).await.unwrap();
    assert_eq!(store.queue_position(vip).await.unwrap(), None);
    assert_eq!(store.queue_position(b).await.unwrap(), pos(2, 2));
    store.cancel(a).await.unwrap();
    assert_eq!(store.queue_position(b).await.unwrap(), pos(1, 1));
    assert_eq!(store.queue_position(9999).await.unwrap(), None);
}

async fn a_claimed_ticket_cannot_be_claimed_by_another_agent(db: &Db) {
    let store = &db.store;
    let id = open(store, 1, Priority::Normal).await;
    let ClaimOutcome::Claimed(t) = store.claim(id, 100).await.unwrap() else {
        panic!("first claim must win")
    };
    assert_eq!((t.status, t.agent), (Status::Claimed, Some(100)));
    assert!(t.claimed_at.is_some());
    assert_eq!(
        store.claim(id, 200).await.unwrap(),
        ClaimOutcome::AlreadyClaimed { by: 100 }
    );
    assert_eq!(
        store.claim(id, 100).await.unwrap(),
        ClaimOutcome::AlreadyClaimed { by: 100 }
    );
    assert_eq!(store.claim(777, 100).await.unwrap(), ClaimOutcome::NotFound);
    assert_eq!(
        store
            .agent_tickets(100)
            .await
            .unwrap()
            .iter()
            .map(|t| t.id)
            .collect::<Vec<_>>(),
        [id]
    );
    assert!(store.agent_tickets(200).await.unwrap().is_empty());
}

async fn claim_next_takes_the_most_urgent_oldest_ticket(db: &Db) {
    let store = &db.store;
    let normal = open(store, 1, Priority::Normal).await;
    let vip = open(store, 2, Priority::Vip).await;
    let urgent = open(store, 3, Priority::Urgent).await;
    let order: Vec<TicketId> = [
        store.claim_next(1).await.unwrap().unwrap(),
        store.claim_next(2).await.unwrap().unwrap(),
        store.claim_next(1).await.unwrap().unwrap(),
    ]
    .iter()
    .map(|t| t.id)
    .collect();
    assert_eq!(order, [urgent, vip, normal]);
    assert!(store.claim_next(3).await.unwrap().is_none());
    assert_eq!(store.agent_tickets(1).await.unwrap().len(), 2);
}

async fn transfer_and_release_move_a_ticket_between_agents_and_the_queue(db: &Db) {
    let store = &db.store;
    let id = open(store, 1, Priority::Normal).await;
    store.claim(id, 1).await.unwrap();
    let claimed_at = store.ticket(id).await.unwrap().unwrap().claimed_at;
    let t = store.transfer(id, 2).await.unwrap().unwrap();
    assert_eq!((t.status, t.agent), (Status::Claimed, Some(2)));
    assert_eq!(
        t.claimed_at, claimed_at,
        "waiting time is measured to the first claim"
    );
    assert!(store.agent_tickets(1).await.unwrap().is_empty());
    let t = store.release(id).await.unwrap().unwrap();
    assert_eq!((t.status, t.agent), (Status::Waiting, None));
    assert!(
        store.release(id).await.unwrap().is_none(),
        "not claimed any more"
    );
    assert_eq!(store.queue_position(id).await.unwrap().unwrap().position, 1);
    assert!(matches!(
        store.claim(id, 3).await.unwrap(),
        ClaimOutcome::Claimed(_)
    ));
    store.close(id).await.unwrap();
    assert!(store.transfer(id, 2).await.unwrap().is_none());
}

async fn a_closed_ticket_leaves_the_queue_and_cannot_be_claimed(db: &Db) {
    let store = &db.store;
    let id = open(store, 1, Priority::Normal).await;
    store.claim(id, 5).await.unwrap();
    let closed = store.close(id).await.unwrap().unwrap();
    assert_eq!(closed.status, Status::Closed);
    assert!(closed.closed_at.is_some());
    assert!(
        store.close(id).await.unwrap().is_none(),
        "closing twice does nothing"
    );
    assert_eq!(
        store.claim(id, 6).await.unwrap(),
        ClaimOutcome::NotOpen(Status::Closed)
    );
    assert!(store.agent_tickets(5).await.unwrap().is_empty());
    assert!(store.queue().await.unwrap().is_empty());
    // What is said after the close is still kept.
    assert!(
        store
            .append(id, NewEntry::text(Author::User, "thanks!"))
            .await
            .unwrap()
    );
}

async fn a_user_who_cancels_leaves_the_queue(db: &Db) {
    let store = &db.store;
    let id = open(store, 1, Priority::Normal).await;
    assert!(store.cancel(id).await.unwrap());
    assert!(!store.cancel(id).await.unwrap());
    let t = store.ticket(id).await.unwrap().unwrap();
    assert_eq!(t.status, Status::Cancelled);
    assert!(store.queue().await.unwrap().is_empty());
    assert!(store.open_ticket_of(1).await.unwrap().is_none());
    assert_eq!(
        store.claim(id, 1).await.unwrap(),
        ClaimOutcome::NotOpen(Status::Cancelled)
    );
    assert!(store.claim_next(1).await.unwrap().is_none());
}

async fn ratings_are_one_to_five_and_only_for_closed_tickets(db: &Db) {
    let store = &db.store;
    let id = open(store, 1, Priority::Normal).await;
    let rating = |score| Rating {
        score,
        comment: None,
    };
    assert!(
        matches!(store.rate(id, rating(5)).await, Err(StoreError::Invalid(_))),
        "still open"
    );
    store.close(id).await.unwrap();
    for bad in [0, 6, 255] {
        assert!(
            matches!(
                store.rate(id, rating(bad)).await,
                Err(StoreError::Invalid(_))
            ),
            "score {bad}"
        );
    }
    store.rate(id, rating(2)).await.unwrap();
    let again = Rating {
        score: 4,
        comment: Some("quick, thanks".into()),
    };
    store.rate(id, again.clone()).await.unwrap();
    assert_eq!(
        store.ticket(id).await.unwrap().unwrap().rating,
        Some(again),
        "rating again replaces"
    );
    assert!(matches!(
        store.rate(999, rating(3)).await,
        Err(StoreError::TicketNotFound(999))
    ));
}

async fn notes_stay_on_the_ticket_in_order(db: &Db) {
    let store = &db.store;
    let id = open(store, 1, Priority::Normal).await;
    store.add_note(id, 7, "user is VIP, be nice").await.unwrap();
    store
        .add_note(id, 8, "checked the chain: 3 confirmations")
        .await
        .unwrap();
    let notes = store.notes(id).await.unwrap();
    assert_eq!(
        notes
            .iter()
            .map(|n| (n.agent, n.text.as_str()))
            .collect::<Vec<_>>(),
        [
            (7, "user is VIP, be nice"),
            (8, "checked the chain: 3 confirmations")
        ]
    );
    assert!(
        store
            .transcript(id)
            .await
            .unwrap()
            .iter()
            .all(|e| !e.text.contains("VIP")),
        "notes are not transcript"
    );
    assert!(matches!(
        store.add_note(4040, 7, "x").await,
        Err(StoreError::TicketNotFound(4040))
    ));
}

async fn conversation_state_roundtrips_and_is_replaced(db: &Db) {
    let store = &db.store;
    assert_eq!(store.load_state("user:42").await.unwrap(), None);
    let state =
        serde_json::json!({"step": "awaiting_details", "language": "zh", "asked": ["uid"], "n": 3});
    store.save_state("user:42", &state).await.unwrap();
    assert_eq!(store.load_state("user:42").await.unwrap(), Some(state));
    let next = serde_json::json!({"step": "idle"});
    store.save_state("user:42", &next).await.unwrap();
    assert_eq!(store.load_state("user:42").await.unwrap(), Some(next));
    assert_eq!(store.load_state("user:43").await.unwrap(), None);
}

async fn a_state_is_reserved_once_until_removed(db: &Db) {
    let store = &db.store;
    let first = serde_json::json!({"by": "a"});
    let second = serde_json::json!({"by": "b"});
    assert!(
        store
            .reserve_state("topic-opening:1:-5", &first)
            .await
            .unwrap()
    );
    assert!(
        !store
            .reserve_state("topic-opening:1:-5", &second)
            .await
            .unwrap()
    );
    assert_eq!(
        store.load_state("topic-opening:1:-5").await.unwrap(),
        Some(first)
    );
    assert!(
        store
            .reserve_state("topic-opening:2:-5", &second)
            .await
            .unwrap()
    );
    store.remove_state("topic-opening:1:-5").await.unwrap();
    assert_eq!(store.load_state("topic-opening:1:-5").await.unwrap(), None);
    assert!(
        store
            .reserve_state("topic-opening:1:-5", &second)
            .await
            .unwrap()
    );
}

async fn a_ticket_keeps_the_key_of_the_event_that_opened_it(db: &Db) {
    let store = &db.store;
    let opened = store
        .open_ticket(NewTicket {
            opened_by: Some("msg:1".into()),
            ..ticket_for(31, Priority::Normal, &["help"])
        })
        .await
        .unwrap();
    assert!(opened.created);
    assert_eq!(opened.ticket.opened_by.as_deref(), Some("msg:1"));
    // Asking again adds to the ticket and leaves who opened it alone.
    let again = store
        .open_ticket(NewTicket {
            opened_by: Some("msg:2".into()),
            ..ticket_for(31, Priority::Normal, &["still there?"])
        })
        .await
        .unwrap();
    assert!(!again.created);
    let ticket = store.open_ticket_of(31).await.unwrap().unwrap();
    assert_eq!(ticket.opened_by.as_deref(), Some("msg:1"));
}

async fn the_state_and_its_questions_are_saved_together(db: &Db) {
    let store = &db.store;
    let from = chrono::Utc::now() - chrono::Duration::seconds(1);
    let record = |text: &str, outcome| QueryRecord {
        user: 42,
        language: "en".into(),
        text: text.into(),
        outcome,
        entry_id: None,
        confidence: None,
    };
    let state = serde_json::json!({"step": "idle", "turns": 2});
    store
        .save_state_and_log(
            "user:42",
            &state,
            &[
                record("how to deposit", QueryOutcome::Answered),
                record("my password is hunter2!", QueryOutcome::NoMatch),
            ],
        )
        .await
        .unwrap();
    assert_eq!(store.load_state("user:42").await.unwrap(), Some(state));
    // No question: the state alone, as `save_state`.
    let next = serde_json::json!({"step": "idle", "turns": 3});
    store
        .save_state_and_log("user:42", &next, &[])
        .await
        .unwrap();
    assert_eq!(store.load_state("user:42").await.unwrap(), Some(next));
    let to = chrono::Utc::now() + chrono::Duration::seconds(1);
    let stats = store.stats(from, to, 5).await.unwrap();
    assert_eq!(stats.questions.answered, 1);
    assert_eq!(stats.questions.no_match, 1);
    assert_eq!(stats.questions.total(), 2);
    // Logged questions are masked like any other.
    assert!(
        stats
            .top_unanswered
            .iter()
            .all(|q| !q.text.contains("hunter2")),
        "{:?}",
        stats.top_unanswered
    );
}

async fn secrets_are_masked_before_they_are_stored(db: &Db) {
    let store = &db.store;
    let opened = store
        .open_ticket(ticket_for(
            1,
            Priority::Normal,
            &["my password is Abc123! and 谷歌验证码 482913"],
        ))
        .await
        .unwrap();
    let id = opened.ticket.id;
    store
        .append(
            id,
            NewEntry::text(Author::User, "密码是abc123456, 订单号 2024051812345678"),
        )
        .await
        .unwrap();
    store
        .add_note(id, 1, "user pasted pwd: hunter2 in chat")
        .await
        .unwrap();
    store
        .record_query(QueryRecord {
            user: 1,
            language: "zh".into(),
            text:
                "助记词 legal winner thank year wave sausage worth useful legal winner thank yellow"
                    .into(),
            outcome: QueryOutcome::NoMatch,
            entry_id: None,
            confidence: None,
        })
        .await
        .unwrap();
    let transcript = store.transcript(id).await.unwrap();
    assert_eq!(
        transcript[0].text,
        "my password is [hidden: password] and 谷歌验证码 [hidden: 2FA code]"
    );
    assert_eq!(
        transcript[1].text,
        "密码是[hidden: password], 订单号 2024051812345678"
    );
    assert_eq!(
        store.notes(id).await.unwrap()[0].text,
        "user pasted pwd: [hidden: password] in chat"
    );
    store.close(id).await.unwrap();
    store
        .rate(
            id,
            Rating {
                score: 5,
                comment: Some("password: hunter2 thanks".into()),
            },
        )
        .await
        .unwrap();
    let comment = store
        .ticket(id)
        .await
        .unwrap()
        .unwrap()
        .rating
        .unwrap()
        .comment
        .unwrap();
    assert_eq!(comment, "password: [hidden: password] thanks");
}

async fn the_query_log_accepts_every_outcome(db: &Db) {
    for (i, outcome) in [
        QueryOutcome::Answered,
        QueryOutcome::Suggested,
        QueryOutcome::NoMatch,
        QueryOutcome::AskedForHuman,
    ]
    .into_iter()
    .enumerate()
    {
        db.store
            .record_query(QueryRecord {
                user: i as i64,
                language: "en".into(),
                text: format!("question {i}"),
                outcome,
                entry_id: Some("deposit-missing".into()),
                confidence: Some(0.25),
            })
            .await
            .unwrap();
    }
    assert!(db.store.check_consistency().await.unwrap().is_empty());
}

fn team_routing() -> Routing {
    Routing {
        teams: HashMap::from([("kyc".to_string(), vec![1]), ("p2p".to_string(), vec![2])]),
        category_teams: HashMap::from([
            ("kyc".to_string(), "kyc".to_string()),
            ("p2p".to_string(), "p2p".to_string()),
        ]),
        ..Routing::default()
    }
}

async fn open_in(store: &Store, user: i64, category: &str, priority: Priority) -> TicketId {
    let mut new = ticket_for(user, priority, &["help"]);
    new.category = Some(category.into());
    store.open_ticket(new).await.unwrap().ticket.id
}

async fn categories_routed_to_a_team_go_only_to_that_team(db: &Db) {
    let store = db.store.clone().with_routing(team_routing());
    let kyc = open_in(&store, 10, "kyc", Priority::Urgent).await;
    let p2p = open_in(&store, 11, "p2p", Priority::Urgent).await;
    let general = open_in(&store, 12, "deposit", Priority::Normal).await;
    assert_eq!(
        store.ticket(kyc).await.unwrap().unwrap().team.as_deref(),
        Some("kyc")
    );
    assert_eq!(store.ticket(general).await.unwrap().unwrap().team, None);
    let ids = |ts: Vec<handoff::Ticket>| ts.into_iter().map(|t| t.id).collect::<Vec<_>>();
    assert_eq!(ids(store.queue_for(1).await.unwrap()), [kyc, general]);
    assert_eq!(
        ids(store.queue_for(3).await.unwrap()),
        [general],
        "an agent in no team takes team-less tickets"
    );
    assert_eq!(store.claim_next(3).await.unwrap().unwrap().id, general);
    assert!(store.claim_next(3).await.unwrap().is_none());
    assert_eq!(store.claim_next(2).await.unwrap().unwrap().id, p2p);
    assert!(
        store.claim_next(2).await.unwrap().is_none(),
        "the kyc ticket is not for the p2p team"
    );
    assert_eq!(store.claim_next(1).await.unwrap().unwrap().id, kyc);
    // Without routing, everything is for everyone (the plain store).
    let other = open_in(&db.store, 13, "kyc", Priority::Normal).await;
    assert_eq!(db.store.claim_next(2).await.unwrap().unwrap().id, other);
}

async fn a_configured_vip_user_is_served_before_normal_users(db: &Db) {
    let store = db.store.clone().with_routing(Routing {
        vip_users: vec![20],
        ..Routing::default()
    });
    let normal = open(&store, 21, Priority::Normal).await;
    let vip = open(&store, 20, Priority::Normal).await;
    assert_eq!(
        store.ticket(vip).await.unwrap().unwrap().priority,
        Priority::Vip
    );
    let queue: Vec<_> = store.queue().await.unwrap().iter().map(|t| t.id).collect();
    assert_eq!(queue, [vip, normal]);
}

async fn a_vip_goes_to_their_account_manager_first_and_to_the_team_after_the_wait(db: &Db) {
    let routing = Routing {
        vip_users: vec![30, 31],
        account_managers: HashMap::from([(30, 7), (31, 8)]),
        manager_wait_secs: 3600,
        ..Routing::default()
    };
    let store = db.store.clone().with_routing(routing.clone());
    let urgent = open(&store, 32, Priority::Urgent).await;
    let vip = open(&store, 30, Priority::Normal).await;
    let t = store.ticket(vip).await.unwrap().unwrap();
    assert_eq!((t.priority, t.preferred_agent), (Priority::Vip, Some(7)));
    // The manager gets their VIP first, before an urgent ticket.
    assert_eq!(store.claim_next(7).await.unwrap().unwrap().id, vip);
    // Another VIP's ticket waits for its manager: others skip it for now.
    let reserved = open(&store, 31, Priority::Normal).await;
    assert_eq!(store.claim_next(9).await.unwrap().unwrap().id, urgent);
    assert!(store.claim_next(9).await.unwrap().is_none());
    assert_eq!(
        store.queue().await.unwrap().len(),
        1,
        "it is still in the queue"
    );
    // After the manager's wait anyone may take it.
    let quick = db.store.clone().with_routing(Routing {
        manager_wait_secs: 1,
        ..routing
    });
    store.cancel(reserved).await.unwrap();
    let reserved = open(&quick, 31, Priority::Normal).await;
    assert!(quick.claim_next(9).await.unwrap().is_none());
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(quick.claim_next(9).await.unwrap().unwrap().id, reserved);
}

async fn tickets_waiting_too_long_are_announced_once_per_limit(db: &Db) {
    let store = &db.store;
    let a = open(store, 1, Priority::Normal).await;
    let b = open(store, 2, Priority::Urgent).await;
    let limit = Duration::from_millis(300);
    assert!(
        store.due_for_realert(limit).await.unwrap().is_empty(),
        "nobody waited long yet"
    );
    tokio::time::sleep(Duration::from_millis(350)).await;
    let due: Vec<_> = store
        .due_for_realert(limit)
        .await
        .unwrap()
        .iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(due, [b, a]);
    assert!(
        store.due_for_realert(limit).await.unwrap().is_empty(),
        "just announced"
    );
    store.claim(b, 1).await.unwrap();
    tokio::time::sleep(Duration::from_millis(350)).await;
    let due: Vec<_> = store
        .due_for_realert(limit)
        .await
        .unwrap()
        .iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(due, [a], "claimed tickets are no longer announced");
}

async fn the_estimated_wait_comes_from_recent_throughput(db: &Db) {
    let store = &db.store;
    let first = open(store, 1, Priority::Normal).await;
    assert_eq!(
        store.estimated_wait(first).await.unwrap(),
        None,
        "no history yet"
    );
    for user in 2..=5 {
        let id = open(store, user, Priority::Normal).await;
        store.claim(id, 1).await.unwrap();
    }
    // 4 claims in the last two hours: 30 minutes a place.
    let wait = store.estimated_wait(first).await.unwrap().unwrap();
    assert_eq!(wait.as_secs(), 1800);
    let second = open(store, 6, Priority::Normal).await;
    assert_eq!(
        store
            .estimated_wait(second)
            .await
            .unwrap()
            .unwrap()
            .as_secs(),
        3600
    );
    store.claim(first, 1).await.unwrap();
    assert_eq!(
        store.estimated_wait(first).await.unwrap(),
        None,
        "not waiting"
    );
}

async fn stats_count_answers_escalations_times_ratings_and_unanswered_questions(db: &Db) {
    let store = &db.store;
    let from = chrono::Utc::now() - chrono::Duration::hours(1);
    let ask = |text: &str, outcome| QueryRecord {
        user: 1,
        language: "en".into(),
        text: text.into(),
        outcome,
        entry_id: None,
        confidence: None,
    };
    for (text, outcome) in [
        ("how to deposit", QueryOutcome::Answered),
        ("how to withdraw", QueryOutcome::Answered),
        ("fees?", QueryOutcome::Answered),
        ("Can I stake DOGE", QueryOutcome::NoMatch),
        ("can i stake doge ", QueryOutcome::NoMatch),
        ("where is my airdrop", QueryOutcome::NoMatch),
        ("deposit or withdraw", QueryOutcome::Suggested),
        ("human please", QueryOutcome::AskedForHuman),
    ] {
        store.record_query(ask(text, outcome)).await.unwrap();
    }
    let a = open(store, 1, Priority::Normal).await;
    let b = open(store, 2, Priority::Normal).await;
    let c = open(store, 3, Priority::Normal).await;
    store.claim(a, 9).await.unwrap();
    store
        .append(a, NewEntry::text(Author::Agent(9), "hi"))
        .await
        .unwrap();
    store.close(a).await.unwrap();
    store
        .rate(
            a,
            Rating {
                score: 5,
                comment: None,
            },
        )
        .await
        .unwrap();
    store.claim(b, 9).await.unwrap();
    store.close(b).await.unwrap();
    store
        .rate(
            b,
            Rating {
                score: 2,
                comment: None,
            },
        )
        .await
        .unwrap();
    store.cancel(c).await.unwrap();
    open(store, 4, Priority::Normal).await;
    let to = chrono::Utc::now() + chrono::Duration::seconds(1);

    let stats = store.stats(from, to, 2).await.unwrap();
    assert_eq!(stats.questions.answered, 3);
    assert_eq!(stats.questions.no_match, 3);
    assert_eq!(stats.questions.total(), 8);
    assert_eq!(stats.auto_answer_rate, Some(3.0 / 8.0));
    assert_eq!(stats.escalated, 4);
    assert_eq!((stats.closed, stats.cancelled), (2, 1));
    assert_eq!(stats.opened_per_day.iter().map(|d| d.count).sum::<u64>(), 4);
    assert_eq!(stats.closed_per_day.iter().map(|d| d.count).sum::<u64>(), 2);
    assert_eq!(stats.waiting.unwrap().count, 2);
    assert_eq!(stats.handling.unwrap().count, 2);
    assert_eq!(stats.first_reply.unwrap().count, 1);
    assert_eq!((stats.ratings, stats.average_rating), (2, Some(3.5)));
    assert_eq!((stats.waiting_now, stats.claimed_now), (1, 0));
    assert_eq!(stats.top_unanswered[0].text, "can i stake doge");
    assert_eq!(stats.top_unanswered[0].count, 2);
    assert_eq!(stats.top_unanswered.len(), 2);
    let empty = store
        .stats(to, to + chrono::Duration::hours(1), 5)
        .await
        .unwrap();
    assert_eq!(
        (empty.escalated, empty.auto_answer_rate, empty.waiting),
        (0, None, None)
    );
}

async fn open_many(store: &Store, n: i64) -> Vec<TicketId> {
    let mut ids = Vec::new();
    for user in 0..n {
        let priority = [Priority::Normal, Priority::Vip, Priority::Urgent][(user % 3) as usize];
        ids.push(open(store, 10_000 + user, priority).await);
    }
    ids
}

async fn fifty_agents_racing_for_a_thousand_tickets_claim_each_exactly_once(db: &Db) {
    const AGENTS: i64 = 50;
    const ATTEMPTS: usize = 10_000;
    let store = &db.store;
    let ids = open_many(store, 1_000).await;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for agent in 0..AGENTS {
        let store = store.clone();
        let ids = ids.clone();
        tasks.push(tokio::spawn(async move {
            let mut outcomes = Vec::new();
            // Attempt k goes to ticket k/10: at any moment about ten agents
            // are after the same ticket, and each ticket sees ten attempts.
            for k in (agent as usize..ATTEMPTS).step_by(AGENTS as usize) {
                let id = ids[k / 10];
                outcomes.push((id, agent, store.claim(id, agent).await.unwrap()));
            }
            outcomes
        }));
    }
    let mut winners: HashMap<TicketId, i64> = HashMap::new();
    let mut attempts = 0;
    let mut refusals = Vec::new();
    for task in tasks {
        for (id, agent, outcome) in task.await.unwrap() {
            attempts += 1;
            match outcome {
                ClaimOutcome::Claimed(t) => {
                    assert_eq!((t.id, t.agent), (id, Some(agent)));
                    assert!(
                        winners.insert(id, agent).is_none(),
                        "ticket {id} claimed twice"
                    );
                }
                ClaimOutcome::AlreadyClaimed { by } => refusals.push((id, by)),
                other => panic!("unexpected {other:?}"),
            }
        }
    }
    let elapsed = started.elapsed();
    assert_eq!(attempts, ATTEMPTS);
    assert_eq!(winners.len(), ids.len(), "every ticket claimed");
    assert_eq!(refusals.len(), ATTEMPTS - ids.len());
    for (id, by) in refusals {
        assert_eq!(winners[&id], by, "a refusal names the winner");
    }
    for id in &ids {
        let t = store.ticket(*id).await.unwrap().unwrap();
        assert_eq!((t.status, t.agent), (Status::Claimed, Some(winners[id])));
    }
    assert!(store.queue().await.unwrap().is_empty());
    assert!(store.check_consistency().await.unwrap().is_empty());
    eprintln!(
        "{:?}: {ATTEMPTS} claim attempts by {AGENTS} agents on {} tickets in {elapsed:?} ({:.0} attempts/s)",
        store.backend(),
        ids.len(),
        ATTEMPTS as f64 / elapsed.as_secs_f64()
    );
}

async fn fifty_agents_draining_the_queue_with_claim_next_never_share_a_ticket(db: &Db) {
    let store = &db.store;
    let ids = open_many(store, 1_000).await;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for agent in 0..50 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut got = Vec::new();
            while let Some(t) = store.claim_next(agent).await.unwrap() {
                assert_eq!(t.agent, Some(agent));
                got.push(t.id);
            }
            got
        }));
    }
    let mut seen = HashSet::new();
    for task in tasks {
        for id in task.await.unwrap() {
            assert!(seen.insert(id), "ticket {id} given twice");
        }
    }
    assert_eq!(seen, ids.iter().copied().collect::<HashSet<_>>());
    eprintln!(
        "{:?}: 1000 tickets drained by 50 agents with claim_next in {:?}",
        store.backend(),
        started.elapsed()
    );
}

// --- crash ---------------------------------------------------------------------

const CRASH_DB: &str = "HELPDESK_CRASH_TEST_DB";
const CRASH_TICKETS: &str = "HELPDESK_CRASH_TEST_TICKETS";

/// The writer of the crash test, run as a child process of the test binary.
/// It appends to its tickets from four tasks as fast as it can and prints
/// `acked TICKET N` each time a call returned, until it is killed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run by the crash test as its child process"]
async fn crash_writer_child() {
    use std::io::Write;
    let (Ok(url), Ok(tickets)) = (std::env::var(CRASH_DB), std::env::var(CRASH_TICKETS)) else {
        return;
    };
    let store = Store::connect(&url).await.expect("child store");
    let mut tasks = Vec::new();
    for ticket in tickets
        .split(',')
        .map(|t| t.parse::<TicketId>().expect("ticket id"))
    {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            for n in 0.. {
                let entry = NewEntry {
                    dedup_key: Some(format!("burst-{n}")),
                    ..NewEntry::text(Author::User, format!("burst {n}"))
                };
                assert!(store.append(ticket, entry).await.expect("append"));
                let mut out = std::io::stdout().lock();
                writeln!(out, "acked {ticket} {n}").expect("stdout");
                out.flush().expect("stdout");
            }
        }));
    }
    for t in tasks {
        t.await.expect("writer task");
    }
}

async fn a_writer_killed_mid_burst_loses_nothing_it_acknowledged(db: &Db) {
    let store = &db.store;
    let tickets: Vec<TicketId> = vec![
        open(store, 1, Priority::Normal).await,
        open(store, 2, Priority::Normal).await,
        open(store, 3, Priority::Vip).await,
        open(store, 4, Priority::Urgent).await,
    ];
    let list = tickets
        .iter()
        .map(|t| t.to_string())
        .collect::<Vec<_>>()
        .join(",");
    let mut child = Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "store::crash_writer_child",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CRASH_DB, &db.url)
        .env(CRASH_TICKETS, &list)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn the writer");
    let stdout = child.stdout.take().expect("child stdout");
    let (tx, rx) = std::sync::mpsc::channel::<(TicketId, i64)>();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let mut parts = line.split_whitespace();
            if parts.next() == Some("acked")
                && let (Some(t), Some(n)) = (parts.next(), parts.next())
            {
                let _ = tx.send((t.parse().unwrap(), n.parse().unwrap()));
            }
        }
    });
    // Let the burst run, then kill it without warning in the middle of it.
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut acked: HashMap<TicketId, i64> = HashMap::new();
    let mut count = 0;
    while count < 400 && Instant::now() < deadline {
        if let Ok((t, n)) = rx.recv_timeout(Duration::from_millis(100)) {
            let max = acked.entry(t).or_insert(-1);
            *max = (*max).max(n);
            count += 1;
        }
    }
    child.kill().expect("SIGKILL the writer");
    child.wait().expect("reap the writer");
    reader.join().expect("reader");
    for (t, n) in rx.try_iter() {
        let max = acked.entry(t).or_insert(-1);
        *max = (*max).max(n);
        count += 1;
    }
    assert!(count >= 400, "the writer acknowledged only {count} appends");

    let reopened = Store::connect(&db.url)
        .await
        .expect("reopen after the crash");
    assert_eq!(
        reopened.check_consistency().await.unwrap(),
        Vec::<String>::new()
    );
    let mut stored_total = 0;
    for ticket in &tickets {
        let transcript = reopened.transcript(*ticket).await.unwrap();
        let texts: HashSet<&str> = transcript.iter().map(|e| e.text.as_str()).collect();
        for n in 0..=acked.get(ticket).copied().unwrap_or(-1) {
            assert!(
                texts.contains(format!("burst {n}").as_str()),
                "ticket {ticket} lost acknowledged burst {n}"
            );
        }
        let seqs: Vec<i64> = transcript.iter().map(|e| e.seq).collect();
        assert_eq!(seqs, (1..=transcript.len() as i64).collect::<Vec<_>>());
        stored_total += transcript.len() - 1;
    }
    eprintln!(
        "{:?}: writer killed after {count} acknowledged appends; {stored_total} found after reopening (acknowledged ⊆ stored)",
        reopened.backend()
    );
    assert!(matches!(
        reopened.backend(),
        BackendKind::Sqlite | BackendKind::Postgres
    ));
}

// --- connecting ------------------------------------------------------------------

#[tokio::test]
async fn an_in_memory_database_serves_a_whole_ticket_for_demos_and_tests() {
    let store = Store::connect("sqlite::memory:").await.unwrap();
    let id = open(&store, 1, Priority::Normal).await;
    assert!(matches!(store.claim_next(2).await.unwrap(), Some(t) if t.id == id));
    store
        .append(id, NewEntry::text(Author::Agent(2), "hello"))
        .await
        .unwrap();
    assert_eq!(store.transcript(id).await.unwrap().len(), 2);
    assert!(store.check_consistency().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_bare_path_is_a_sqlite_file_created_on_first_use_and_found_again() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("helpdesk.db");
    let store = Store::connect(path.to_str().unwrap()).await.unwrap();
    let id = open(&store, 1, Priority::Normal).await;
    store.close_pool().await;
    assert!(path.exists());
    let again = Store::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    assert_eq!(
        again.ticket(id).await.unwrap().unwrap().status,
        Status::Waiting
    );
}

#[tokio::test]
async fn a_url_of_another_database_is_refused_by_name() {
    let err = Store::connect("mysql://root@127.0.0.1/test")
        .await
        .err()
        .unwrap();
    assert!(matches!(err, StoreError::UnsupportedUrl(_)), "{err}");
}

async fn pending_work_is_kept_until_removed_and_taken_over_once_per_kind(db: &Db) {
    let store = &db.store;
    let (post, update) = (PendingKind::StaffPost, PendingKind::Update);
    let first = serde_json::json!({ "text": "first" });
    let second = serde_json::json!({ "text": "second" });
    let a = store.add_pending(post, "crashed", &first).await.unwrap();
    let b = store.add_pending(post, "crashed", &second).await.unwrap();
    let c = store
        .add_pending(post, "alive", &serde_json::json!({ "text": "other" }))
        .await
        .unwrap();
    let u = store
        .add_pending(update, "crashed", &serde_json::json!({ "update_id": 7 }))
        .await
        .unwrap();
    assert!(a < b && b < c && c < u, "ids grow: {a} {b} {c} {u}");
    assert_eq!(
        store.pending_owners(post).await.unwrap(),
        vec!["alive".to_string(), "crashed".to_string()]
    );
    assert_eq!(
        store.pending_owners(update).await.unwrap(),
        vec!["crashed".to_string()]
    );

    // Two processes take over the crashed one's posts at once: one gets
    // both, in order, the other none; its update is not among them.
    let (one, two) = tokio::join!(
        store.take_over_pending(post, "crashed", "new-1"),
        store.take_over_pending(post, "crashed", "new-2"),
    );
    let (one, two) = (one.unwrap(), two.unwrap());
    let taken = if one.is_empty() { &two } else { &one };
    assert!(one.is_empty() || two.is_empty(), "{one:?} {two:?}");
    assert_eq!(
        taken
            .iter()
            .map(|p| (p.id, p.body.clone()))
            .collect::<Vec<_>>(),
        vec![(a, first), (b, second)]
    );
    let updates = store
        .take_over_pending(update, "crashed", "new-1")
        .await
        .unwrap();
    assert_eq!(updates.iter().map(|p| p.id).collect::<Vec<_>>(), vec![u]);

    // Work done is forgotten; the rest stays, also across a reconnect.
    store.remove_pending(&[a, c, u]).await.unwrap();
    let again = Store::connect(&db.url).await.unwrap();
    assert!(again.pending_owners(update).await.unwrap().is_empty());
    let owners = again.pending_owners(post).await.unwrap();
    assert_eq!(owners.len(), 1, "{owners:?}");
    let left = again
        .take_over_pending(post, &owners[0], "later")
        .await
        .unwrap();
    assert_eq!(left.iter().map(|p| p.id).collect::<Vec<_>>(), vec![b]);
    again.remove_pending(&[b]).await.unwrap();
    assert!(again.pending_owners(post).await.unwrap().is_empty());
}
