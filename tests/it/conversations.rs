//! Conversations through the desk (engine + a real SQLite store): what a
//! user says, what the bot answers, what agents do. Each test is one story.

use bot::desk::{AgentCommand, AgentProfile, Desk, Outgoing, Recipient};
use bot::engine::{Action, Reply, UserCommand, UserInput, UserMessage};
use bot::render::render;
use bot::settings::Settings;
use handoff::{Author, Priority, Status, TicketId, UserInfo};
use tempfile::TempDir;

use crate::support::FAQ;

const ALICE: i64 = 7;
const BOB: i64 = 8;
const MALLORY: i64 = 666;
const VIP: i64 = 4242;

struct Scene {
    desk: Desk,
    dir: TempDir,
    next_key: std::cell::Cell<u64>,
}

fn settings(dir: &TempDir) -> Settings {
    let faq = dir.path().join("faq.yaml");
    if !faq.exists() {
        std::fs::write(&faq, FAQ).unwrap();
    }
    let mut settings = Settings {
        faq_path: faq,
        database_url: format!("sqlite:{}", dir.path().join("helpdesk.db").display()),
        ..Settings::default()
    };
    settings.staff.agents = vec![
        AgentProfile {
            id: ALICE,
            alias: "Alice".into(),
        },
        AgentProfile {
            id: BOB,
            alias: "Bob".into(),
        },
    ];
    settings.staff.vip_users = vec![VIP];
    settings
}

impl Scene {
    async fn new() -> Scene {
        Scene::configured(|_| {}).await
    }

    /// A scene whose settings `configure` changes first.
    async fn configured(configure: impl FnOnce(&mut Settings)) -> Scene {
        let dir = TempDir::new().unwrap();
        let mut settings = settings(&dir);
        configure(&mut settings);
        let desk = bot::startup::build_desk(&settings, &[]).await.unwrap();
        Scene {
            desk,
            dir,
            next_key: 0.into(),
        }
    }

    /// The same database and FAQ, as after a restart of the bot.
    async fn restart(self) -> Scene {
        let Scene {
            desk,
            dir,
            next_key,
        } = self;
        drop(desk);
        let desk = bot::startup::build_desk(&settings(&dir), &[])
            .await
            .unwrap();
        Scene {
            desk,
            dir,
            next_key,
        }
    }

    fn user(id: i64) -> UserInfo {
        UserInfo {
            id,
            username: Some(format!("user{id}")),
            display_name: None,
            language: String::new(),
        }
    }

    async fn send(&self, user: i64, input: UserInput) -> Vec<Outgoing> {
        self.next_key.set(self.next_key.get() + 1);
        let key = Some(format!("msg:{}", self.next_key.get()));
        self.desk
            .user(UserMessage {
                user: Self::user(user),
                input,
                key,
            })
            .await
            .unwrap()
    }

    async fn says(&self, user: i64, text: &str) -> Vec<Outgoing> {
        match crate::support::user_command(text) {
            Some(command) => self.send(user, UserInput::Command(command)).await,
            None => self.send(user, UserInput::Text(text.into())).await,
        }
    }

    async fn presses(&self, user: i64, action: Action) -> Vec<Outgoing> {
        self.send(user, UserInput::Button(action)).await
    }

    async fn agent(&self, agent: i64, text: &str) -> Vec<Outgoing> {
        let command = crate::support::agent_command(text).expect("a valid agent command");
        self.desk.agent(agent, command).await.unwrap()
    }

    fn text(&self, out: &Outgoing) -> String {
        render(&out.reply, &out.language, &self.desk.knowledge().faq).text
    }
}

fn to_user(out: &[Outgoing], user: i64) -> Vec<&Reply> {
    out.iter()
        .filter(|o| o.to == Recipient::User(user))
        .map(|o| &o.reply)
        .collect()
}

fn to_agent(out: &[Outgoing], agent: i64) -> Vec<&Reply> {
    out.iter()
        .filter(|o| o.to == Recipient::Agent(agent))
        .map(|o| &o.reply)
        .collect()
}

fn to_staff(out: &[Outgoing]) -> Vec<&Reply> {
    out.iter()
        .filter(|o| o.to == Recipient::Staff)
        .map(|o| &o.reply)
        .collect()
}

fn opened_ticket(out: &[Outgoing]) -> TicketId {
    out.iter()
        .find_map(|o| match o.reply {
            Reply::Queued {
                ticket,
                created: true,
                ..
            } => Some(ticket),
            _ => None,
        })
        .expect("a ticket was opened")
}

#[tokio::test]
async fn start_greets_in_the_users_language_with_buttons_and_the_security_line() {
    let scene = Scene::new().await;
    let mut user = Scene::user(1);
    user.language = "en-US".into();
    let out = scene
        .desk
        .user(UserMessage {
            user,
            input: UserInput::Command(UserCommand::Start),
            key: None,
        })
        .await
        .unwrap();
    assert_eq!(to_user(&out, 1), vec![&Reply::Welcome]);
    let message = render(&out[0].reply, &out[0].language, &scene.desk.knowledge().faq);
    assert!(
        message.text.contains("never ask for your password"),
        "{}",
        message.text
    );
    let actions: Vec<&Action> = message
        .buttons
        .iter()
        .flatten()
        .map(|b| &b.action)
        .collect();
    assert_eq!(actions, vec![&Action::Browse, &Action::Human]);
}

#[tokio::test]
async fn a_clear_question_is_answered_in_the_language_it_was_asked_in() {
    let scene = Scene::new().await;
    let out = scene.says(1, "充币没有到账怎么办").await;
    assert_eq!(
        to_user(&out, 1),
        vec![&Reply::Answer {
            entry_id: "deposit-not-credited".into()
        }]
    );
    assert_eq!(scene.text(&out[0]), "请先确认区块确认数已足够。");

    let out = scene.says(2, "My deposit has not arrived").await;
    assert_eq!(
        to_user(&out, 2),
        vec![&Reply::Answer {
            entry_id: "deposit-not-credited".into()
        }]
    );
    assert_eq!(
        scene.text(&out[0]),
        "First check that the transaction has enough confirmations."
    );
}

#[tokio::test]
async fn solved_is_acknowledged_and_not_helpful_offers_a_human_when_nothing_else_fits() {
    let scene = Scene::new().await;
    scene.says(1, "充币没有到账怎么办").await;
    let out = scene
        .presses(1, Action::Solved("deposit-not-credited".into()))
        .await;
    assert_eq!(to_user(&out, 1), vec![&Reply::GladItHelped]);

    scene.says(1, "谷歌验证器丢了怎么办").await;
    let out = scene
        .presses(1, Action::NotHelpful("reset-2fa".into()))
        .await;
    let replies = to_user(&out, 1);
    assert!(
        matches!(
            replies[..],
            [Reply::OfferHuman] | [Reply::DidYouMean { .. }]
        ),
        "{replies:?}"
    );
    if let [Reply::DidYouMean { entry_ids }] = &replies[..] {
        assert!(
            !entry_ids.contains(&"reset-2fa".to_owned()),
            "the rejected answer is not offered again"
        );
    }
}

#[tokio::test]
async fn small_talk_gets_a_friendly_reply_and_nothing_is_handed_off() {
    let scene = Scene::new().await;
    assert_eq!(
        to_user(&scene.says(1, "你好").await, 1),
        vec![&Reply::Greeting]
    );
    assert_eq!(
        to_user(&scene.says(1, "thanks!").await, 1),
        vec![&Reply::YouAreWelcome]
    );
    assert!(
        scene
            .desk
            .store()
            .open_ticket_of(1)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn asking_for_a_human_in_words_opens_a_ticket_with_the_whole_conversation() {
    let scene = Scene::new().await;
    scene.says(1, "充币没有到账怎么办").await;
    let out = scene.says(1, "转人工").await;
    let ticket = opened_ticket(&out);
    assert!(to_user(&out, 1).contains(&&Reply::AskDetails { ticket }));
    let card = to_staff(&out)
        .into_iter()
        .find_map(|r| match r {
            Reply::NewTicket(card) => Some(card.clone()),
            _ => None,
        })
        .expect("staff see a new-ticket card");
    assert_eq!(card.ticket.id, ticket);
    assert_eq!(card.ticket.category.as_deref(), Some("deposit"));
    assert_eq!(card.ticket.user.language, "zh");
    let said: Vec<(&Author, &str)> = card
        .transcript
        .iter()
        .map(|e| (&e.author, e.text.as_str()))
        .collect();
    assert_eq!(said[0], (&Author::User, "充币没有到账怎么办"));
    assert_eq!(said[1].0, &Author::Bot);
    assert_eq!(said.last().unwrap(), &(&Author::User, "转人工"));
    assert_eq!(
        card.transcript[0].candidates[0].entry_id, "deposit-not-credited",
        "agents see what the bot considered"
    );
}

#[tokio::test]
async fn details_sent_when_asked_are_lifted_onto_the_ticket() {
    let scene = Scene::new().await;
    let ticket = opened_ticket(&scene.says(1, "/human").await);
    let out = scene.says(1, "my UID is 12345678").await;
    assert_eq!(to_user(&out, 1), vec![&Reply::DetailsNoted]);
    let card = scene.desk.card(ticket).await.unwrap().unwrap();
    assert_eq!(card.ticket.details.uids, vec!["12345678".to_owned()]);
}

#[tokio::test]
async fn a_whole_handoff_claim_relay_close_and_rating() {
    let scene = Scene::new().await;
    scene.says(1, "my deposit has not arrived").await;
    let ticket = opened_ticket(&scene.says(1, "I want to talk to a human").await);
    scene.presses(1, Action::SkipDetails).await;

    let out = scene.agent(ALICE, &format!("/claim {ticket}")).await;
    assert!(
        matches!(to_agent(&out, ALICE)[..], [Reply::Claimed(card)] if card.ticket.id == ticket)
    );
    assert_eq!(
        to_user(&out, 1),
        vec![&Reply::AgentJoined {
            alias: "Alice".into()
        }]
    );

    let out = scene
        .agent(ALICE, "Could you send the transaction hash?")
        .await;
    let relayed = to_user(&out, 1);
    assert_eq!(
        relayed,
        vec![&Reply::FromAgent {
            alias: "Alice".into(),
            text: "Could you send the transaction hash?".into(),
            attachments: vec![]
        }]
    );
    let shown = scene.text(out.iter().find(|o| o.to == Recipient::User(1)).unwrap());
    assert!(
        shown.starts_with("Alice: "),
        "the agent appears under the alias: {shown}"
    );

    let hash = format!("0x{}", "ab".repeat(32));
    let out = scene.says(1, &format!("here it is {hash}")).await;
    assert!(
        matches!(to_agent(&out, ALICE)[..], [Reply::UserWrote { ticket: t, text, .. }] if *t == ticket && text.contains(&hash)),
        "the claimed ticket's user messages go to its agent: {out:?}"
    );

    let out = scene.agent(ALICE, "/close").await;
    assert_eq!(to_user(&out, 1), vec![&Reply::TicketClosed { ticket }]);
    let out = scene.presses(1, Action::Rate { ticket, score: 5 }).await;
    assert_eq!(to_user(&out, 1), vec![&Reply::ThanksForRating { score: 5 }]);

    let stored = scene.desk.store().ticket(ticket).await.unwrap().unwrap();
    assert_eq!(stored.status, Status::Closed);
    assert_eq!(stored.rating.map(|r| r.score), Some(5));
    assert_eq!(stored.agent, Some(ALICE));
    let transcript = scene.desk.store().transcript(ticket).await.unwrap();
    assert!(transcript.iter().any(|e| e.author == Author::Agent(ALICE)));
}

#[tokio::test]
async fn a_typed_rating_out_of_range_asks_for_one_to_five_and_is_not_an_unanswered_question() {
    let scene = Scene::new().await;
    let ticket = opened_ticket(&scene.says(1, "I want to talk to a human").await);
    scene.presses(1, Action::SkipDetails).await;
    scene.agent(ALICE, &format!("/claim {ticket}")).await;
    let out = scene.agent(ALICE, "/close").await;
    assert_eq!(to_user(&out, 1), vec![&Reply::TicketClosed { ticket }]);

    for typed in ["9", "0", " 12 ", "-3"] {
        let out = scene.says(1, typed).await;
        assert_eq!(
            to_user(&out, 1),
            vec![&Reply::ChooseRating { ticket }],
            "typed {typed:?} while a rating is pending"
        );
        let shown = render(&out[0].reply, "en", &scene.desk.knowledge().faq);
        assert_eq!(shown.text, "Please choose a rating from 1 to 5:");
        assert_eq!(shown.buttons[0].len(), 5, "the five rating buttons again");
        let shown = render(&out[0].reply, "zh", &scene.desk.knowledge().faq);
        assert!(shown.text.contains("1–5"), "{}", shown.text);
    }
    // The rating is still pending: a 4 rates the ticket.
    let out = scene.says(1, "4").await;
    assert_eq!(to_user(&out, 1), vec![&Reply::ThanksForRating { score: 4 }]);
    let stored = scene.desk.store().ticket(ticket).await.unwrap().unwrap();
    assert_eq!(stored.rating.map(|r| r.score), Some(4));

    let now = chrono::Utc::now();
    let stats = scene
        .desk
        .store()
        .stats(
            now - chrono::Duration::days(1),
            now + chrono::Duration::days(1),
            10,
        )
        .await
        .unwrap();
    assert_eq!(
        stats.top_unanswered,
        vec![],
        "out-of-range ratings are not unanswered questions"
    );
    assert_eq!(stats.questions.no_match, 0);
}

#[tokio::test]
async fn a_long_number_or_a_number_inside_a_new_ticket_is_not_taken_for_a_rating() {
    let scene = Scene::new().await;
    let first = opened_ticket(&scene.says(1, "I want to talk to a human").await);
    scene.presses(1, Action::SkipDetails).await;
    scene.agent(ALICE, &format!("/claim {first}")).await;
    scene.agent(ALICE, "/close").await;
    // The rating is pending; a UID alone is not a rating out of range.
    let out = scene.says(1, "12345678").await;
    assert!(
        !to_user(&out, 1)
            .iter()
            .any(|r| matches!(r, Reply::ChooseRating { .. })),
        "{out:?}"
    );
    // Inside a new ticket, a number goes on the ticket like any text.
    let second = opened_ticket(&scene.says(1, "/human").await);
    let out = scene.says(1, "42").await;
    assert!(
        !to_user(&out, 1)
            .iter()
            .any(|r| matches!(r, Reply::ChooseRating { .. })),
        "{out:?}"
    );
    // Even a digit from 1 to 5: it is for the new ticket's agent, and the
    // closed ticket stays unrated (its buttons still rate it).
    let out = scene.says(1, "3").await;
    assert!(
        !to_user(&out, 1)
            .iter()
            .any(|r| matches!(r, Reply::ThanksForRating { .. })),
        "{out:?}"
    );
    let transcript = scene.desk.store().transcript(second).await.unwrap();
    assert!(transcript.iter().any(|e| e.text == "42"), "{transcript:?}");
    assert!(transcript.iter().any(|e| e.text == "3"), "{transcript:?}");
    let closed = scene.desk.store().ticket(first).await.unwrap().unwrap();
    assert_eq!(closed.rating, None);
    let out = scene
        .presses(
            1,
            Action::Rate {
                ticket: first,
                score: 4,
            },
        )
        .await;
    assert_eq!(to_user(&out, 1), vec![&Reply::ThanksForRating { score: 4 }]);
}

#[tokio::test]
async fn a_did_you_mean_with_one_option_asks_about_that_one() {
    let scene = Scene::new().await;
    let faq = &scene.desk.knowledge().faq;
    let one = Reply::DidYouMean {
        entry_ids: vec!["reset-2fa".into()],
    };
    assert_eq!(render(&one, "en", faq).text, "Did you mean this?");
    assert_eq!(render(&one, "zh", faq).text, "您是想问这个问题吗？");
    // Two options, or one that a reload removed beside one that exists.
    let two = Reply::DidYouMean {
        entry_ids: vec!["reset-2fa".into(), "deposit-address".into()],
    };
    assert_eq!(render(&two, "en", faq).text, "Did you mean one of these?");
    assert_eq!(render(&two, "zh", faq).text, "您是想问以下哪个问题？");
    let one_left = Reply::DidYouMean {
        entry_ids: vec!["reset-2fa".into(), "removed-entry".into()],
    };
    assert_eq!(render(&one_left, "en", faq).text, "Did you mean this?");
    assert_eq!(
        render(&one_left, "en", faq).buttons.len(),
        2,
        "the option and None of these"
    );
}

#[tokio::test]
async fn an_agent_command_without_its_argument_gets_its_usage_not_unknown_command() {
    let scene = Scene::new().await;
    let faq = &scene.desk.knowledge().faq;
    for (typed, usage) in [
        ("/claim abc", "Usage: /claim N"),
        ("/claim", "Usage: /claim N"),
        ("/close x", "Usage: /close"),
        ("/faq", "Usage: /faq ID"),
        ("/link", "Usage: /link ID"),
        ("/note", "Usage: /note TEXT"),
        ("/transfer", "Usage: /transfer AGENT_ID"),
        ("/transfer Mei", "Usage: /transfer AGENT_ID"),
        ("/help", "Agent commands: /queue"),
        ("/start", "Agent commands: /queue"),
    ] {
        let refusal = crate::support::agent_command(typed).expect_err(typed);
        let text = render(&Reply::Refused(refusal), "en", faq).text;
        assert!(text.starts_with(usage), "{typed}: {text}");
        assert!(!text.contains("Unknown command"), "{typed}: {text}");
    }
    // /faq and /link without an id also list the ids to choose from.
    let text = render(
        &Reply::Refused(crate::support::agent_command("/faq").unwrap_err()),
        "en",
        faq,
    )
    .text;
    assert!(
        text.ends_with("FAQ ids: deposit-not-credited, deposit-address, account-stolen, reset-2fa"),
        "{text}"
    );
    let unknown = crate::support::agent_command("/frobnicate").expect_err("not a command");
    assert!(
        render(&Reply::Refused(unknown), "en", faq)
            .text
            .starts_with("Unknown command. Agent commands:")
    );
}

#[tokio::test]
async fn a_claimed_ticket_cannot_be_claimed_by_a_second_agent() {
    let scene = Scene::new().await;
    let ticket = opened_ticket(&scene.says(1, "/human").await);
    scene.agent(ALICE, &format!("/claim {ticket}")).await;
    let out = scene.agent(BOB, &format!("/claim {ticket}")).await;
    assert_eq!(
        to_agent(&out, BOB),
        vec![&Reply::Refused(bot::engine::Refusal::AlreadyClaimed {
            ticket,
            by: ALICE
        })]
    );
    let out = scene.agent(BOB, "hello from bob").await;
    assert_eq!(
        to_agent(&out, BOB),
        vec![&Reply::Refused(bot::engine::Refusal::NoTicketInHand)]
    );
    assert!(to_user(&out, 1).is_empty());
}

#[tokio::test]
async fn someone_who_is_not_an_agent_can_use_no_staff_command() {
    let scene = Scene::new().await;
    let ticket = opened_ticket(&scene.says(1, "/human").await);
    for command in [
        "/queue".to_owned(),
        "/next".to_owned(),
        format!("/claim {ticket}"),
        format!("/close {ticket}"),
        "/note sneaky".to_owned(),
        "/faq deposit-address".to_owned(),
        "/link deposit-address".to_owned(),
        "/mine".to_owned(),
        "/transfer 7".to_owned(),
        "hello user".to_owned(),
    ] {
        let out = scene.agent(MALLORY, &command).await;
        assert_eq!(
            to_agent(&out, MALLORY),
            vec![&Reply::Refused(bot::engine::Refusal::NotAllowed)],
            "{command}"
        );
        assert_eq!(out.len(), 1, "{command}: nothing else happens");
    }
    let out = scene
        .desk
        .agent(MALLORY, AgentCommand::Button(Action::Claim(ticket)))
        .await
        .unwrap();
    assert_eq!(
        to_agent(&out, MALLORY),
        vec![&Reply::Refused(bot::engine::Refusal::NotAllowed)]
    );
    let stored = scene.desk.store().ticket(ticket).await.unwrap().unwrap();
    assert_eq!(stored.status, Status::Waiting);
}

#[tokio::test]
async fn a_user_cannot_rate_or_claim_through_buttons_that_are_not_theirs() {
    let scene = Scene::new().await;
    let ticket = opened_ticket(&scene.says(1, "/human").await);
    scene.agent(ALICE, &format!("/claim {ticket}")).await;
    scene.agent(ALICE, "/close").await;
    let out = scene.presses(2, Action::Rate { ticket, score: 1 }).await;
    assert_eq!(to_user(&out, 2), vec![&Reply::StaleButton]);
    let out = scene.presses(2, Action::Claim(ticket)).await;
    assert_eq!(to_user(&out, 2), vec![&Reply::StaleButton]);
    let stored = scene.desk.store().ticket(ticket).await.unwrap().unwrap();
    assert_eq!(stored.rating, None);
}

#[tokio::test]
async fn a_pasted_password_is_masked_before_anyone_sees_it_and_the_user_is_warned() {
    let scene = Scene::new().await;
    let ticket = opened_ticket(&scene.says(1, "/human").await);
    scene.presses(1, Action::SkipDetails).await;
    let out = scene
        .says(1, "my password is Hunter2!xyz please check")
        .await;
    assert!(to_user(&out, 1).contains(&&Reply::SecretWarning));
    for o in &out {
        assert!(
            !format!("{:?}", o.reply).contains("Hunter2"),
            "leaked: {o:?}"
        );
    }
    let transcript = scene.desk.store().transcript(ticket).await.unwrap();
    assert!(transcript.iter().all(|e| !e.text.contains("Hunter2")));
}

#[tokio::test]
async fn an_escalating_entry_answers_and_opens_an_urgent_ticket() {
    let scene = Scene::new().await;
    let out = scene.says(1, "我的账号被黑了").await;
    let replies = to_user(&out, 1);
    assert_eq!(
        replies[0],
        &Reply::Answer {
            entry_id: "account-stolen".into()
        }
    );
    let ticket = opened_ticket(&out);
    let stored = scene.desk.store().ticket(ticket).await.unwrap().unwrap();
    assert_eq!(stored.priority, Priority::Urgent);
    assert_eq!(stored.category.as_deref(), Some("security"));
}

#[tokio::test]
async fn vip_users_are_queued_ahead_of_earlier_normal_users() {
    let scene = Scene::new().await;
    let normal = opened_ticket(&scene.says(1, "/human").await);
    let vip = opened_ticket(&scene.says(VIP, "/human").await);
    let queue = scene.desk.store().queue().await.unwrap();
    let order: Vec<TicketId> = queue.iter().map(|t| t.id).collect();
    assert_eq!(order, vec![vip, normal]);
    let out = scene.agent(ALICE, "/next").await;
    assert!(matches!(to_agent(&out, ALICE)[..], [Reply::Claimed(card)] if card.ticket.id == vip));
}

#[tokio::test]
async fn cancel_leaves_the_queue_and_tells_the_staff() {
    let scene = Scene::new().await;
    let ticket = opened_ticket(&scene.says(1, "/human").await);
    let out = scene.says(1, "/cancel").await;
    assert_eq!(to_user(&out, 1), vec![&Reply::Cancelled { ticket }]);
    assert!(to_staff(&out).contains(&&Reply::UserCancelled { ticket }));
    assert_eq!(
        scene
            .desk
            .store()
            .ticket(ticket)
            .await
            .unwrap()
            .unwrap()
            .status,
        Status::Cancelled
    );
    assert_eq!(
        to_user(&scene.says(1, "/cancel").await, 1),
        vec![&Reply::NothingToCancel]
    );
}

#[tokio::test]
async fn a_second_request_while_waiting_adds_to_the_same_ticket() {
    let scene = Scene::new().await;
    let ticket = opened_ticket(&scene.says(1, "/human").await);
    let out = scene.says(1, "/human").await;
    assert!(
        matches!(to_user(&out, 1)[..], [Reply::Queued { ticket: t, created: false, .. }] if *t == ticket)
    );
    assert_eq!(scene.desk.store().queue().await.unwrap().len(), 1);
}

#[tokio::test]
async fn browsing_lists_categories_then_entries_and_picking_one_answers_it() {
    let scene = Scene::new().await;
    assert_eq!(
        to_user(&scene.says(1, "/faq").await, 1),
        vec![&Reply::Categories]
    );
    let out = scene.presses(1, Action::Category("security".into())).await;
    let message = render(&out[0].reply, "zh", &scene.desk.knowledge().faq);
    let picks: Vec<&Action> = message
        .buttons
        .iter()
        .flatten()
        .map(|b| &b.action)
        .collect();
    assert!(
        picks.contains(&&Action::Pick("reset-2fa".into())),
        "{picks:?}"
    );
    let out = scene.presses(1, Action::Pick("reset-2fa".into())).await;
    assert_eq!(
        to_user(&out, 1),
        vec![&Reply::Answer {
            entry_id: "reset-2fa".into()
        }]
    );
}

#[tokio::test]
async fn a_file_outside_a_handoff_gets_a_polite_answer_and_inside_one_is_relayed() {
    let scene = Scene::new().await;
    let sticker = UserInput::Attachment {
        attachment: handoff::Attachment {
            kind: "sticker".into(),
            file_id: "CAACAg".into(),
        },
        caption: None,
    };
    assert_eq!(
        to_user(&scene.send(1, sticker).await, 1),
        vec![&Reply::CannotHandle]
    );

    let ticket = opened_ticket(&scene.says(1, "/human").await);
    scene.presses(1, Action::SkipDetails).await;
    scene.agent(ALICE, &format!("/claim {ticket}")).await;
    let photo = UserInput::Attachment {
        attachment: handoff::Attachment {
            kind: "photo".into(),
            file_id: "AgACPhoto".into(),
        },
        caption: Some("screenshot of the error".into()),
    };
    let out = scene.send(1, photo).await;
    assert!(
        matches!(to_agent(&out, ALICE)[..], [Reply::UserWrote { attachments, .. }] if attachments[0].file_id == "AgACPhoto")
    );
    let transcript = scene.desk.store().transcript(ticket).await.unwrap();
    assert_eq!(transcript.last().unwrap().attachments[0].kind, "photo");
}

#[tokio::test]
async fn an_edited_question_is_asked_again_and_an_edit_in_a_handoff_reaches_the_agent() {
    let scene = Scene::new().await;
    // A question fixed after sending: the new text is answered.
    scene.says(1, "asdf").await;
    let out = scene
        .send(1, UserInput::Edited("充币没有到账怎么办".into()))
        .await;
    assert_eq!(
        to_user(&out, 1),
        vec![&Reply::Answer {
            entry_id: "deposit-not-credited".into()
        }]
    );

    // In a handoff the agent sees the correction, marked as an edit, and
    // so does the transcript.
    let ticket = opened_ticket(&scene.says(1, "/human").await);
    scene.presses(1, Action::SkipDetails).await;
    scene.agent(ALICE, &format!("/claim {ticket}")).await;
    scene.says(1, "order 1111").await;
    let out = scene.send(1, UserInput::Edited("order 2222".into())).await;
    assert!(
        matches!(to_agent(&out, ALICE)[..], [Reply::UserWrote { ticket: t, text, .. }] if *t == ticket && text == "✏️ order 2222"),
        "{out:?}"
    );
    let transcript = scene.desk.store().transcript(ticket).await.unwrap();
    let last = transcript.last().unwrap();
    assert_eq!(
        (&last.author, last.text.as_str()),
        (&Author::User, "✏️ order 2222")
    );
}

#[tokio::test]
async fn a_restart_in_the_middle_of_a_handoff_loses_nothing() {
    let scene = Scene::new().await;
    scene.says(1, "充币没有到账怎么办").await;
    let ticket = opened_ticket(&scene.says(1, "转人工").await);
    scene.agent(ALICE, &format!("/claim {ticket}")).await;
    let scene = scene.restart().await;

    let out = scene.agent(ALICE, "我来帮您查一下").await;
    assert!(
        matches!(to_user(&out, 1)[..], [Reply::FromAgent { text, .. }] if text == "我来帮您查一下")
    );
    let out = scene.says(1, "好的谢谢").await;
    assert!(
        matches!(to_agent(&out, ALICE)[..], [Reply::UserWrote { .. }]),
        "after a restart the user still reaches the agent"
    );
    assert_eq!(
        out.iter()
            .find(|o| o.to == Recipient::Agent(ALICE))
            .unwrap()
            .language,
        "en"
    );
    scene.agent(ALICE, "/close").await;
    let scene = scene.restart().await;
    let out = scene.says(1, "5").await;
    assert_eq!(to_user(&out, 1), vec![&Reply::ThanksForRating { score: 5 }]);
    assert_eq!(
        scene
            .desk
            .store()
            .ticket(ticket)
            .await
            .unwrap()
            .unwrap()
            .rating
            .map(|r| r.score),
        Some(5)
    );
}

#[tokio::test]
async fn a_message_delivered_twice_is_kept_once() {
    let scene = Scene::new().await;
    let ticket = opened_ticket(&scene.says(1, "/human").await);
    scene.presses(1, Action::SkipDetails).await;
    let message = UserMessage {
        user: Scene::user(1),
        input: UserInput::Text("the same update twice".into()),
        key: Some("update:99".into()),
    };
    scene.desk.user(message.clone()).await.unwrap();
    scene.desk.user(message).await.unwrap();
    let transcript = scene.desk.store().transcript(ticket).await.unwrap();
    assert_eq!(
        transcript
            .iter()
            .filter(|e| e.text == "the same update twice")
            .count(),
        1
    );
}

#[tokio::test]
async fn agent_notes_stay_internal_and_faq_answers_reach_the_user_in_their_language() {
    let scene = Scene::new().await;
    scene.says(1, "where is my deposit address").await;
    let ticket = opened_ticket(&scene.says(1, "/human").await);
    scene.agent(ALICE, &format!("/claim {ticket}")).await;
    let out = scene
        .agent(ALICE, "/note user seems confused about networks")
        .await;
    assert!(to_user(&out, 1).is_empty());
    assert_eq!(scene.desk.store().notes(ticket).await.unwrap().len(), 1);
    let out = scene.agent(ALICE, "/faq deposit-address").await;
    let message = out.iter().find(|o| o.to == Recipient::User(1)).unwrap();
    assert_eq!(
        scene.text(message),
        "Alice: Open Assets and tap Deposit to see your address."
    );
    let out = scene.agent(ALICE, "/faq no-such-entry").await;
    assert_eq!(
        to_agent(&out, ALICE),
        vec![&Reply::Refused(bot::engine::Refusal::UnknownEntry(
            "no-such-entry".into()
        ))]
    );
}

#[tokio::test]
async fn the_console_plays_both_sides_of_a_whole_handoff_on_the_bundled_faq() {
    let dir = TempDir::new().unwrap();
    let settings = Settings {
        faq_path: std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../faq-data"),
        database_url: format!("sqlite:{}", dir.path().join("chat.db").display()),
        ..Settings::default()
    };
    let mut console = bot::console::Console::new(&settings).await.unwrap();
    let mut say = async |line: &str| console.handle_line(line).await.unwrap();

    let shown = say("/start").await;
    assert!(
        shown.contains("[1] 浏览常见问题") || shown.contains("[1] Browse FAQ"),
        "{shown}"
    );
    let shown = say("充币没有到账怎么办").await;
    assert!(
        shown.contains("[1] 已解决  [2] 没帮助  [3] 转人工"),
        "answered with buttons: {shown}"
    );
    let shown = say("3").await;
    assert!(
        shown.contains("工单号 #1"),
        "the third button hands off: {shown}"
    );
    assert!(shown.contains("bot → staff: 🆕 ticket #1"), "{shown}");
    say("1").await; // skip the details question
    assert!(say("/agent").await.contains("you are now agent"));
    assert!(say("/queue").await.contains("#1 · normal · deposit"));
    let shown = say("/claim 1").await;
    assert!(
        shown.contains("bot → user: 客服 Agent Lin 已接入"),
        "{shown}"
    );
    let shown = say("请提供交易哈希").await;
    assert!(
        shown.contains("bot → user: Agent Lin: 请提供交易哈希"),
        "{shown}"
    );
    say("/user").await;
    let shown = say(&format!("0x{}", "ab".repeat(32))).await;
    assert!(shown.contains("bot → agent: #1"), "{shown}");
    say("/agent").await;
    let shown = say("/close").await;
    assert!(
        shown.contains("bot → user: 工单 #1 已关闭"),
        "still in Chinese after a pasted hash: {shown}"
    );
    say("/user").await;
    let shown = say("5").await;
    assert!(shown.contains("感谢您的评分（5 分）"), "{shown}");
}

/// The README's "A first session", replayed through the console on the
/// bundled FAQ and a new database: every line it shows the bot saying
/// (`bot → …`, and the button rows under it) must be printed by the step
/// it follows; a line ending in `…` is the start of one.
#[tokio::test]
async fn the_readmes_first_session_is_what_the_console_shows_today() {
    let readme = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md"),
    )
    .unwrap();
    let section = &readme[readme.find("### A first session").expect("the section")..];
    let block = section
        .split("```")
        .nth(1)
        .expect("the session's code block");

    let dir = TempDir::new().unwrap();
    let settings = Settings {
        faq_path: std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../faq-data"),
        database_url: format!("sqlite:{}", dir.path().join("helpdesk.db").display()),
        ..Settings::default()
    };
    let mut console = bot::console::Console::new(&settings).await.unwrap();
    let mut shown = String::new();
    let mut typed = String::new();
    let (mut steps, mut checked) = (0, 0);
    for line in block.lines().filter(|l| !l.trim().is_empty()) {
        let input = line
            .strip_prefix("user> ")
            .or_else(|| line.strip_prefix("agent> "));
        if let Some(input) = input {
            let input = input.split('←').next().unwrap().trim();
            let prompt = line.split('>').next().unwrap();
            assert_eq!(
                console.prompt().trim_end().trim_end_matches('>'),
                prompt,
                "the README types {input:?} on the {prompt} side"
            );
            shown = console.handle_line(input).await.unwrap();
            typed = input.to_owned();
            steps += 1;
            continue;
        }
        let found = match line.strip_suffix('…') {
            Some(start) => shown.lines().any(|l| l.starts_with(start)),
            None => shown.lines().any(|l| l == line),
        };
        assert!(
            found,
            "after {typed:?} the README shows\n{line}\nbut the console printed\n{shown}"
        );
        checked += 1;
    }
    assert!(
        steps >= 12 && checked >= 15,
        "{steps} steps, {checked} lines"
    );
}

#[tokio::test]
async fn outside_business_hours_the_ticket_opens_and_the_user_learns_when_agents_are_back() {
    use chrono::{Datelike, Timelike};
    let opens = chrono::Utc::now() + chrono::Duration::hours(2);
    let open = chrono::NaiveTime::from_hms_opt(opens.hour(), opens.minute(), 0).unwrap();
    let scene = Scene::configured(|s| {
        s.staff.business_hours = Some(handoff::BusinessHours {
            utc_offset_minutes: 0,
            periods: vec![handoff::hours::Period {
                day: opens.weekday(),
                open,
                close: open + chrono::Duration::minutes(30),
            }],
            holidays: vec![],
        })
    })
    .await;
    let out = scene.says(1, "/human").await;
    let queued = out
        .iter()
        .find(|o| matches!(o.reply, Reply::Queued { .. }))
        .unwrap();
    let Reply::Queued { queue, .. } = &queued.reply else {
        unreachable!()
    };
    let back = queue
        .back_at
        .as_ref()
        .expect("the away notice says when agents are back");
    assert_eq!(
        (back.weekday, back.hour, back.minute),
        (
            opens.weekday().num_days_from_monday(),
            open.hour(),
            open.minute()
        )
    );
    // Said in the user's language (issue #22, item 11): a Chinese weekday,
    // not `Wed 09:00`.
    let zh_day = ["周一", "周二", "周三", "周四", "周五", "周六", "周日"]
        [opens.weekday().num_days_from_monday() as usize];
    let text = scene.text(queued);
    assert!(text.contains("现在是非工作时间"), "{text}");
    assert!(
        text.contains(&format!("{zh_day} {}（UTC+00:00）", open.format("%H:%M"))),
        "{text}"
    );
    let en_day = opens.weekday().to_string();
    assert!(!text.contains(&en_day), "{text}");
    let english = render(&queued.reply, "en", &scene.desk.knowledge().faq).text;
    assert!(
        english.contains(&format!(
            "back {en_day} {} (UTC+00:00)",
            open.format("%H:%M")
        )),
        "{english}"
    );
}

#[tokio::test]
async fn a_category_routed_to_a_team_is_taken_only_by_that_team() {
    let scene = Scene::configured(|s| {
        s.staff.teams.insert("security-team".into(), vec![BOB]);
        s.staff
            .category_teams
            .insert("security".into(), "security-team".into());
    })
    .await;
    let out = scene.says(1, "我的账号被黑了").await;
    let ticket = opened_ticket(&out);
    let out = scene.agent(ALICE, "/next").await;
    assert_eq!(
        to_agent(&out, ALICE),
        vec![&Reply::Refused(bot::engine::Refusal::NoWaitingTickets)]
    );
    let out = scene.agent(BOB, "/next").await;
    assert!(matches!(to_agent(&out, BOB)[..], [Reply::Claimed(card)] if card.ticket.id == ticket));
}

#[tokio::test]
async fn unclaimed_tickets_past_the_limit_are_announced_again_and_claimed_ones_are_not() {
    let scene = Scene::configured(|s| s.staff.realert_after_secs = 0).await;
    let waiting = opened_ticket(&scene.says(1, "/human").await);
    let claimed = opened_ticket(&scene.says(2, "/human").await);
    scene.agent(ALICE, &format!("/claim {claimed}")).await;
    let alerts = scene.desk.realerts().await.unwrap();
    let tickets: Vec<TicketId> = alerts
        .iter()
        .map(|o| match &o.reply {
            Reply::StillWaiting { ticket, .. } => *ticket,
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(tickets, vec![waiting]);
    assert!(alerts.iter().all(|o| o.to == Recipient::Staff));
}

#[tokio::test]
async fn an_agent_with_two_tickets_reaches_the_right_user_from_each_tickets_topic() {
    let scene = Scene::new().await;
    let first = opened_ticket(&scene.says(1, "/human").await);
    let second = opened_ticket(&scene.says(2, "/human").await);
    scene.agent(ALICE, &format!("/claim {first}")).await;
    scene.agent(ALICE, &format!("/claim {second}")).await; // now in hand
    let reply = |text: &str| AgentCommand::Reply {
        text: text.into(),
        attachments: vec![],
    };

    let out = scene
        .desk
        .agent_on(ALICE, Some(first), reply("for the first user"))
        .await
        .unwrap();
    assert_eq!(to_user(&out, 1).len(), 1, "{out:?}");
    assert!(to_user(&out, 2).is_empty());
    let out = scene.agent(ALICE, "for whoever is in hand").await;
    assert_eq!(
        to_user(&out, 2).len(),
        1,
        "the topic did not change the ticket in hand: {out:?}"
    );

    let out = scene
        .desk
        .agent_on(BOB, Some(first), reply("not mine"))
        .await
        .unwrap();
    assert_eq!(
        to_agent(&out, BOB),
        vec![&Reply::Refused(bot::engine::Refusal::NotYours {
            ticket: first
        })]
    );
    assert!(to_user(&out, 1).is_empty());
}

/// The confidence the desk's matcher gives `entry_id` for `query`.
fn confidence_of(desk: &Desk, query: &str, entry_id: &str) -> f32 {
    desk.knowledge()
        .matcher
        .decide(query)
        .candidates
        .iter()
        .find(|c| c.entry_id == entry_id)
        .map_or(0.0, |c| c.confidence)
}

#[tokio::test]
async fn a_users_pick_among_the_choices_is_learned_and_matched_after_a_restart() {
    let scene = Scene::new().await;
    // Questions this FAQ is unsure about; the first one it offers choices
    // for is the one the user answers by picking.
    let unsure = [
        "充的币怎么还看不到",
        "币转进来没显示",
        "coins I sent are not showing up",
        "where do I send coins to top up",
        "地址在哪看",
    ];
    let mut picked = None;
    for query in unsure {
        let out = scene.says(1, query).await;
        if let [Reply::DidYouMean { entry_ids }] = &to_user(&out, 1)[..] {
            picked = Some((query, entry_ids[0].clone()));
            break;
        }
    }
    let (query, entry_id) = picked.expect("one of the unsure questions gets choices");
    let before = confidence_of(&scene.desk, query, &entry_id);
    let out = scene.presses(1, Action::Pick(entry_id.clone())).await;
    assert!(
        matches!(to_user(&out, 1)[..], [Reply::Answer { .. }, ..]),
        "{out:?}"
    );
    let learned = scene.desk.store().learned().await.unwrap();
    assert_eq!(learned.len(), 1, "{learned:?}");
    assert_eq!(
        (learned[0].entry_id.as_str(), learned[0].text.as_str()),
        (entry_id.as_str(), query)
    );
    assert_eq!(learned[0].from, handoff::LearnedFrom::Picked);

    // "Solved" under an answer to an older question teaches nothing.
    scene.says(1, "谷歌验证器丢了怎么办").await;
    scene
        .presses(1, Action::Solved("deposit-address".into()))
        .await;
    assert_eq!(scene.desk.store().learned().await.unwrap().len(), 1);

    let scene = scene.restart().await;
    let after = confidence_of(&scene.desk, query, &entry_id);
    assert!(
        after > before,
        "{entry_id}: {before} before learning, {after} after"
    );
    assert_eq!(
        scene.desk.knowledge().learned,
        vec![(entry_id.clone(), query.to_owned())]
    );
}

#[tokio::test]
async fn solved_under_the_answer_to_the_last_question_teaches_that_wording() {
    let scene = Scene::new().await;
    let out = scene.says(1, "充值一直不到账啊").await;
    let Some(Reply::Answer { entry_id }) = to_user(&out, 1).into_iter().next() else {
        panic!("an answer expected: {out:?}");
    };
    let entry_id = entry_id.clone();
    scene.presses(1, Action::Solved(entry_id.clone())).await;
    let learned = scene.desk.store().learned().await.unwrap();
    assert_eq!(learned.len(), 1, "{learned:?}");
    assert_eq!(learned[0].entry_id, entry_id);
    assert_eq!(learned[0].text, "充值一直不到账啊");
    assert_eq!(learned[0].from, handoff::LearnedFrom::Solved);
    // A second press on the same answer is stale and teaches nothing more.
    scene.presses(1, Action::Solved(entry_id)).await;
    assert_eq!(scene.desk.store().learned().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_transfer_tells_the_receiver_the_sender_and_the_user_each_what_happened() {
    let scene = Scene::new().await;
    let ticket = opened_ticket(&scene.says(1, "/human").await);
    scene.agent(ALICE, &format!("/claim {ticket}")).await;

    let out = scene.agent(ALICE, &format!("/transfer {BOB}")).await;
    assert!(
        matches!(
            to_agent(&out, BOB)[..],
            [Reply::TransferredToYou { card, from }] if card.ticket.id == ticket && from == "Alice"
        ),
        "{out:?}"
    );
    assert_eq!(
        to_agent(&out, ALICE),
        vec![&Reply::TransferredTo {
            ticket,
            agent: "Bob".into()
        }]
    );
    assert_eq!(
        to_user(&out, 1),
        vec![&Reply::AgentChanged {
            alias: "Bob".into()
        }]
    );
    // Bob holds it now: his reply goes out, and /mine lists it for him only.
    let out = scene.agent(BOB, "we are on it").await;
    assert_eq!(to_user(&out, 1).len(), 1, "{out:?}");
    let out = scene.agent(BOB, "/mine").await;
    assert!(
        matches!(to_agent(&out, BOB)[..], [Reply::Mine(lines)] if lines.len() == 1 && lines[0].id == ticket),
        "{out:?}"
    );
    let out = scene.agent(ALICE, "/mine").await;
    assert!(
        matches!(to_agent(&out, ALICE)[..], [Reply::Mine(lines)] if lines.is_empty()),
        "{out:?}"
    );
    let text = render(&Reply::Mine(Vec::new()), "en", &scene.desk.knowledge().faq).text;
    assert!(text.starts_with("You hold no open ticket"), "{text}");
}

#[tokio::test]
async fn a_transfer_to_oneself_or_to_someone_who_is_not_an_agent_is_refused_with_the_reason() {
    let scene = Scene::new().await;
    let ticket = opened_ticket(&scene.says(1, "/human").await);
    scene.agent(ALICE, &format!("/claim {ticket}")).await;
    let out = scene.agent(ALICE, &format!("/transfer {ALICE}")).await;
    assert_eq!(
        to_agent(&out, ALICE),
        vec![&Reply::Refused(bot::engine::Refusal::TransferToSelf)]
    );
    let out = scene.agent(ALICE, "/transfer 12345").await;
    assert_eq!(
        to_agent(&out, ALICE),
        vec![&Reply::Refused(bot::engine::Refusal::NotAnAgent(12345))]
    );
    // Still Alice's: her reply goes out.
    let out = scene.agent(ALICE, "still here").await;
    assert_eq!(to_user(&out, 1).len(), 1, "{out:?}");
}

#[tokio::test]
async fn an_agent_writing_in_an_unclaimed_tickets_topic_is_told_to_claim_it_first_with_a_button() {
    let scene = Scene::new().await;
    let ticket = opened_ticket(&scene.says(1, "/human").await);
    let out = scene
        .desk
        .agent_on(
            ALICE,
            Some(ticket),
            crate::support::agent_command("hello, looking into it").unwrap(),
        )
        .await
        .unwrap();
    let refusal = Reply::Refused(bot::engine::Refusal::NotClaimedYet { ticket });
    assert_eq!(to_agent(&out, ALICE), vec![&refusal]);
    assert!(to_user(&out, 1).is_empty(), "nothing reaches the user");
    let shown = render(&refusal, "en", &scene.desk.knowledge().faq);
    assert!(shown.text.contains("claim it first"), "{}", shown.text);
    assert_eq!(shown.buttons[0][0].action, Action::Claim(ticket));
    // /close typed in that topic closes it, as its [Close] button does.
    let out = scene
        .desk
        .agent_on(
            ALICE,
            Some(ticket),
            crate::support::agent_command("/close").unwrap(),
        )
        .await
        .unwrap();
    assert!(
        to_agent(&out, ALICE).contains(&&Reply::ClosedByAgent { ticket }),
        "{out:?}"
    );
}

#[tokio::test]
async fn a_transferred_card_names_agents_by_alias_with_times_in_the_desks_labelled_zone() {
    use chrono::Timelike;
    let scene = Scene::configured(|s| {
        s.staff.business_hours = Some(handoff::BusinessHours {
            utc_offset_minutes: 480,
            periods: Vec::new(),
            holidays: vec![],
        })
    })
    .await;
    let ticket = opened_ticket(&scene.says(1, "/human").await);
    scene.agent(ALICE, &format!("/claim {ticket}")).await;
    scene.agent(ALICE, "Hello, I am looking into it").await;
    let out = scene.agent(ALICE, &format!("/transfer {BOB}")).await;
    let card = out
        .iter()
        .find(|o| o.to == Recipient::Agent(BOB))
        .expect("the receiver gets the card");
    let text = scene.text(card);
    assert!(
        text.contains("agent Alice: Hello, I am looking into it"),
        "{text}"
    );
    assert!(!text.contains(&format!("agent {ALICE}:")), "{text}");
    assert!(text.contains("(times UTC+08:00)"), "{text}");
    let transcript = scene.desk.store().transcript(ticket).await.unwrap();
    let said = transcript
        .iter()
        .find(|e| e.author == Author::Agent(ALICE))
        .unwrap();
    let local = said.at + chrono::Duration::hours(8);
    let stamp = format!("[{:02}:{:02}] agent Alice", local.hour(), local.minute());
    assert!(text.contains(&stamp), "{stamp} in {text}");
}

#[tokio::test]
async fn a_card_without_business_hours_labels_its_times_utc() {
    let scene = Scene::new().await;
    let ticket = opened_ticket(&scene.says(1, "/human").await);
    scene.says(1, "still waiting for my order").await;
    let out = scene.agent(ALICE, &format!("/claim {ticket}")).await;
    let card = out
        .iter()
        .find(|o| matches!(o.reply, Reply::Claimed(_)))
        .expect("the claimer gets the card");
    let text = scene.text(card);
    assert!(text.contains("— transcript (times UTC) —"), "{text}");
}

/// Issue #22, item 11: small talk is answered in the language the user
/// wrote in, not in Telegram's `language_code` (which only the bare
/// `/start` before it had to go by); a word or two of English from someone
/// who wrote Chinese still keeps Chinese.
#[tokio::test]
async fn small_talk_follows_the_written_language_not_the_language_code() {
    let scene = Scene::new().await;
    let as_zh_client = |id: i64, input: UserInput| UserMessage {
        user: UserInfo {
            language: "zh-hans".into(),
            ..Scene::user(id)
        },
        input,
        key: None,
    };
    let said = |out: &[Outgoing], user: i64| -> Vec<String> {
        out.iter()
            .filter(|o| o.to == Recipient::User(user))
            .map(|o| scene.text(o))
            .collect()
    };
    let out = scene
        .desk
        .user(as_zh_client(
            1,
            UserInput::Command(crate::support::user_command("/start").unwrap()),
        ))
        .await
        .unwrap();
    assert!(
        said(&out, 1).iter().any(|t| t.contains("您好")),
        "{:?}",
        said(&out, 1)
    );
    let out = scene
        .desk
        .user(as_zh_client(1, UserInput::Text("hi".into())))
        .await
        .unwrap();
    assert_eq!(said(&out, 1), vec!["Hi! Please tell me your question."]);
    let out = scene
        .desk
        .user(as_zh_client(1, UserInput::Text("thanks".into())))
        .await
        .unwrap();
    assert_eq!(said(&out, 1), vec!["You're welcome!"]);

    // Someone who wrote Chinese keeps it for a short English "ok".
    scene
        .desk
        .user(as_zh_client(2, UserInput::Text("你好".into())))
        .await
        .unwrap();
    let out = scene
        .desk
        .user(as_zh_client(2, UserInput::Text("thanks".into())))
        .await
        .unwrap();
    assert_eq!(said(&out, 2), vec!["不客气！"]);
}

/// The update that opened a ticket handled again (the inbox hands it out
/// once more after a crash), on the real store: either the crash came after
/// the user's conversation was saved, or between the ticket's commit and
/// that save (the saved conversation is put back as it was before). Either
/// way the same update gets what it got the first time: the confirmation of
/// a new ticket, the details prompt and the card, for the same ticket and
/// nothing added to it.
#[tokio::test]
async fn the_update_that_opened_a_ticket_handled_again_gets_the_handoff_again() {
    for (words, state_saved) in [
        ("转人工", true),
        ("转人工", false),
        ("/human", true),
        ("/human", false),
        // Answered, and the entry escalates: the answer comes again too.
        ("我的账号被黑了", true),
        ("我的账号被黑了", false),
    ] {
        let scene = Scene::new().await;
        scene.says(1, "充币没有到账怎么办").await;
        let before = scene.desk.store().load_state("user:1").await.unwrap();
        let input = match crate::support::user_command(words) {
            Some(command) => UserInput::Command(command),
            None => UserInput::Text(words.into()),
        };
        let message = UserMessage {
            user: Scene::user(1),
            input,
            key: Some("1:42".into()),
        };
        let first = scene.desk.user(message.clone()).await.unwrap();
        let ticket = opened_ticket(&first);
        let transcript = scene.desk.store().transcript(ticket).await.unwrap();
        if !state_saved {
            let before = before.clone().expect("a conversation was saved");
            scene
                .desk
                .store()
                .save_state("user:1", &before)
                .await
                .unwrap();
        }
        let again = scene.desk.user(message).await.unwrap();
        let case = format!("{words:?}, conversation saved before the crash: {state_saved}");
        assert_eq!(again, first, "{case}");
        assert!(
            to_user(&again, 1).contains(&&Reply::AskDetails { ticket }),
            "{case}"
        );
        assert_eq!(
            scene.desk.store().transcript(ticket).await.unwrap(),
            transcript,
            "{case}: nothing added to the ticket"
        );
        // The next message is the answer to the details prompt, as after
        // the first handling.
        let next = scene.says(1, "UID 12345678").await;
        assert_eq!(
            to_user(&next, 1),
            vec![&Reply::DetailsNoted],
            "{case}: {next:?}"
        );
    }
}

#[tokio::test]
async fn the_desk_forgets_a_chats_lock_once_its_events_are_handled() {
    let scene = Scene::new().await;
    for user in 100..120 {
        scene.says(user, "充币没有到账怎么办").await;
    }
    let ticket = opened_ticket(&scene.says(1, "/human").await);
    scene.agent(ALICE, &format!("/claim {ticket}")).await;
    scene.agent(ALICE, "/close").await;
    assert_eq!(scene.desk.busy_chats(), 0);
}
