//! The staff rulebook as a table: every agent command and staff button, in
//! every state a ticket can be in, as each role, with the reply it must
//! get (issue #22's journey matrix, desk level, on a real SQLite store).
//! A row reads: in a ticket's topic, `who` sends `command` while the
//! ticket is `state`; the agent must hear `expected` (its first reply to
//! them), and the user must hear something exactly when `reaches_user`.

use bot::desk::{AgentCommand, Desk, Outgoing, Recipient};
use bot::engine::{Action, Refusal, Reply, UserCommand, UserInput, UserMessage};
use bot::settings::Settings;
use handoff::{TicketId, UserInfo};
use tempfile::TempDir;

use crate::support::FAQ;

const ALICE: i64 = 7;
const BOB: i64 = 8;
const STRANGER: i64 = 666;
const ADMIN: i64 = 9;
const USER: i64 = 1;

#[derive(Debug, Clone, Copy, PartialEq)]
enum State {
    Waiting,
    ClaimedByMe,
    ClaimedByOther,
    Closed,
}

/// What the sender must hear first.
#[derive(Clone)]
enum Expect {
    Says(fn(&Reply, TicketId) -> bool),
    Refused(fn(TicketId) -> Refusal),
}

/// A command to send, given the ticket.
type Command = fn(TicketId) -> AgentCommand;
/// A command's name and how to make it.
type Named = (&'static str, Command);
/// A command acting on the ticket: its name, how to make it, what its
/// holder hears, whether the user hears something.
type Act = (&'static str, Command, fn(&Reply, TicketId) -> bool, bool);

struct Row {
    command: Command,
    name: &'static str,
    who: i64,
    state: State,
    expected: Expect,
    reaches_user: bool,
}

fn text(t: &str) -> AgentCommand {
    crate::support::agent_command(t).expect("parses")
}

async fn desk(dir: &TempDir) -> Desk {
    bot::startup::build_desk(&settings(dir), &[]).await.unwrap()
}

/// `ALICE` and `BOB` are agents, `ADMIN` an admin (and no agent).
fn settings(dir: &TempDir) -> Settings {
    let faq = dir.path().join("faq.yaml");
    std::fs::write(&faq, FAQ).unwrap();
    let mut settings = Settings {
        faq_path: faq,
        database_url: format!("sqlite:{}", dir.path().join("helpdesk.db").display()),
        ..Settings::default()
    };
    settings.staff.agents = vec![
        bot::desk::AgentProfile {
            id: ALICE,
            alias: "Alice".into(),
        },
        bot::desk::AgentProfile {
            id: BOB,
            alias: "Bob".into(),
        },
    ];
    settings.staff.admins = vec![ADMIN];
    settings
}

/// A ticket of `USER` brought into `state`.
async fn ticket_in(desk: &Desk, state: State) -> TicketId {
    let out = desk
        .user(UserMessage {
            user: UserInfo {
                id: USER,
                username: Some("user".into()),
                display_name: None,
                language: "en".into(),
            },
            input: UserInput::Command(UserCommand::Human),
            key: Some("journey:1".into()),
        })
        .await
        .unwrap();
    let ticket = out
        .iter()
        .find_map(|o| match o.reply {
            Reply::Queued { ticket, .. } => Some(ticket),
            _ => None,
        })
        .expect("a ticket opens");
    let claim = |agent| desk.agent(agent, AgentCommand::Claim(ticket));
    match state {
        State::Waiting => {}
        State::ClaimedByMe => {
            claim(ALICE).await.unwrap();
        }
        State::ClaimedByOther => {
            claim(BOB).await.unwrap();
        }
        State::Closed => {
            claim(ALICE).await.unwrap();
            desk.agent(ALICE, AgentCommand::Close(Some(ticket)))
                .await
                .unwrap();
        }
    }
    ticket
}

fn first_to(out: &[Outgoing], agent: i64) -> Option<&Reply> {
    out.iter()
        .find(|o| o.to == Recipient::Agent(agent))
        .map(|o| &o.reply)
}

fn rulebook() -> Vec<Row> {
    use State::*;
    let mut rows = Vec::new();
    let not_claimed = Expect::Refused(|ticket| Refusal::NotClaimedYet { ticket });
    let not_yours = Expect::Refused(|ticket| Refusal::NotYours { ticket });
    let not_open = Expect::Refused(|ticket| Refusal::NotOpen { ticket });
    // Commands that act on the ticket of the topic, for its holder only.
    let acts: [Act; 5] = [
        (
            "reply",
            |_| text("we are checking"),
            |r, _| matches!(r, Reply::Delivered { .. }),
            true,
        ),
        (
            "/note",
            |_| text("/note internal"),
            |r, _| matches!(r, Reply::NoteAdded { .. }),
            false,
        ),
        (
            "/faq",
            |_| text("/faq deposit-address"),
            |r, _| matches!(r, Reply::Delivered { .. }),
            true,
        ),
        (
            "/link",
            |_| text("/link deposit-address"),
            |r, _| matches!(r, Reply::Linked { .. }),
            false,
        ),
        (
            "/transfer",
            |_| AgentCommand::Transfer(BOB),
            |r, _| matches!(r, Reply::TransferredTo { .. }),
            true,
        ),
    ];
    for (name, command, done, reaches_user) in acts {
        for (state, expected, reaches) in [
            (Waiting, not_claimed.clone(), false),
            (ClaimedByMe, Expect::Says(done), reaches_user),
            (ClaimedByOther, not_yours.clone(), false),
            (Closed, not_open.clone(), false),
        ] {
            rows.push(Row {
                command,
                name,
                who: ALICE,
                state,
                expected,
                reaches_user: reaches,
            });
        }
    }
    // Claiming: by command and by the card's button alike.
    let claims: [Named; 2] = [
        ("/claim N", AgentCommand::Claim),
        ("[Claim]", |t| AgentCommand::Button(Action::Claim(t))),
    ];
    for (name, command) in claims {
        for (state, expected, reaches) in [
            (
                Waiting,
                Expect::Says(|r, t| matches!(r, Reply::Claimed(card) if card.ticket.id == t)),
                true,
            ),
            (
                ClaimedByOther,
                Expect::Refused(|ticket| Refusal::AlreadyClaimed { ticket, by: BOB }),
                false,
            ),
            (Closed, not_open.clone(), false),
        ] {
            rows.push(Row {
                command,
                name,
                who: ALICE,
                state,
                expected,
                reaches_user: reaches,
            });
        }
    }
    // Closing: by command in the topic, by number, by the card's button.
    let closes: [Named; 3] = [
        ("/close", |_| AgentCommand::Close(None)),
        ("/close N", |t| AgentCommand::Close(Some(t))),
        ("[Close]", |t| AgentCommand::Button(Action::Close(t))),
    ];
    for (name, command) in closes {
        let closed =
            Expect::Says(|r, t| matches!(r, Reply::ClosedByAgent { ticket } if *ticket == t));
        for (state, expected, reaches) in [
            (Waiting, closed.clone(), true),
            (ClaimedByMe, closed.clone(), true),
            (ClaimedByOther, not_yours.clone(), false),
            (Closed, not_open.clone(), false),
        ] {
            rows.push(Row {
                command,
                name,
                who: ALICE,
                state,
                expected,
                reaches_user: reaches,
            });
        }
    }
    // An admin may close any open ticket, whoever holds it.
    for (name, command) in closes {
        rows.push(Row {
            command,
            name,
            who: ADMIN,
            state: ClaimedByOther,
            expected: Expect::Says(
                |r, t| matches!(r, Reply::ClosedByAgent { ticket } if *ticket == t),
            ),
            reaches_user: true,
        });
    }
    // Someone who is not staff can do none of it, in any state.
    let all: [Named; 8] = [
        ("reply", |_| text("hello")),
        ("/note", |_| text("/note x")),
        ("/claim N", AgentCommand::Claim),
        ("[Claim]", |t| AgentCommand::Button(Action::Claim(t))),
        ("/close", |_| AgentCommand::Close(None)),
        ("[Close]", |t| AgentCommand::Button(Action::Close(t))),
        ("/transfer", |_| AgentCommand::Transfer(ALICE)),
        ("/mine", |_| AgentCommand::Mine),
    ];
    for (name, command) in all {
        for state in [Waiting, ClaimedByMe, ClaimedByOther, Closed] {
            rows.push(Row {
                command,
                name,
                who: STRANGER,
                state,
                expected: Expect::Refused(|_| Refusal::NotAllowed),
                reaches_user: false,
            });
        }
    }
    rows
}

#[tokio::test]
async fn every_staff_command_and_button_gets_its_rulebook_answer_in_every_ticket_state() {
    let rows = rulebook();
    assert!(rows.len() >= 50, "the rulebook lost rows: {}", rows.len());
    let mut broken = Vec::new();
    for row in &rows {
        // A fresh desk a row: states never leak from one row to the next.
        let dir = TempDir::new().unwrap();
        let desk = desk(&dir).await;
        let ticket = ticket_in(&desk, row.state).await;
        let out = desk
            .agent_on(row.who, Some(ticket), (row.command)(ticket))
            .await
            .unwrap();
        let heard = first_to(&out, row.who);
        let ok = match (&row.expected, heard) {
            (Expect::Says(check), Some(reply)) => check(reply, ticket),
            (Expect::Refused(refusal), Some(Reply::Refused(got))) => *got == refusal(ticket),
            _ => false,
        };
        let user_heard = out.iter().any(|o| o.to == Recipient::User(USER));
        if !ok || user_heard != row.reaches_user {
            broken.push(format!(
                "{} as {} on a {:?} ticket: heard {heard:?}, user heard something: {user_heard} (expected {})",
                row.name, row.who, row.state, row.reaches_user
            ));
        }
    }
    assert!(
        broken.is_empty(),
        "{} of {} rows broken:\n{}",
        broken.len(),
        rows.len(),
        broken.join("\n")
    );
}

// --- users ---------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq)]
enum UserState {
    NoTicket,
    Waiting,
    Claimed,
    RatingPending,
}

/// `USER` brought into `state`; the ticket, if one was opened.
async fn user_in(desk: &Desk, state: UserState) -> Option<TicketId> {
    if state == UserState::NoTicket {
        return None;
    }
    let ticket = ticket_in(desk, State::Waiting).await;
    match state {
        UserState::Claimed => {
            desk.agent(ALICE, AgentCommand::Claim(ticket))
                .await
                .unwrap();
        }
        UserState::RatingPending => {
            desk.agent(ALICE, AgentCommand::Claim(ticket))
                .await
                .unwrap();
            desk.agent(ALICE, AgentCommand::Close(Some(ticket)))
                .await
                .unwrap();
        }
        _ => {}
    }
    Some(ticket)
}

async fn user_does(desk: &Desk, input: UserInput, key: &str) -> Vec<Outgoing> {
    desk.user(UserMessage {
        user: UserInfo {
            id: USER,
            username: Some("user".into()),
            display_name: None,
            language: "en".into(),
        },
        input,
        key: Some(key.into()),
    })
    .await
    .unwrap()
}

/// What the user must hear first, by the reply's kind.
type Heard = fn(&Reply) -> bool;
/// A user's input, given their ticket if any.
type Input = fn(Option<TicketId>) -> UserInput;
/// An input's name, the input, and per user state what the user hears
/// first and whether staff are told.
type UserRow = (&'static str, Input, [(Heard, bool); 4]);

fn is_queued_new(r: &Reply) -> bool {
    matches!(r, Reply::Queued { created: true, .. })
}
fn is_queued_again(r: &Reply) -> bool {
    matches!(r, Reply::Queued { created: false, .. })
}
fn is_stale(r: &Reply) -> bool {
    matches!(r, Reply::StaleButton)
}

#[tokio::test]
async fn every_user_command_and_button_gets_its_rulebook_answer_in_every_state() {
    use UserState::*;
    let welcome: Heard = |r| matches!(r, Reply::Welcome);
    let help: Heard = |r| matches!(r, Reply::Help);
    let categories: Heard = |r| matches!(r, Reply::Categories);
    let offer_human: Heard = |r| matches!(r, Reply::OfferHuman);
    let answer: Heard = |r| matches!(r, Reply::Answer { .. });
    let glad: Heard = |r| matches!(r, Reply::GladItHelped);
    let entries: Heard = |r| matches!(r, Reply::CategoryEntries { .. });
    let cancelled: Heard = |r| matches!(r, Reply::Cancelled { .. });
    let nothing_to_cancel: Heard = |r| matches!(r, Reply::NothingToCancel);
    let thanks: Heard = |r| matches!(r, Reply::ThanksForRating { score: 5 });
    let noted: Heard = |r| matches!(r, Reply::DetailsNoted);
    let all = [NoTicket, Waiting, Claimed, RatingPending];
    // (input, its name, per state: what the user hears first, and whether
    // staff hear of it)
    let rows: Vec<UserRow> = vec![
        (
            "/start",
            |_| UserInput::Command(UserCommand::Start),
            [(welcome, false); 4],
        ),
        (
            "/help",
            |_| UserInput::Command(UserCommand::Help),
            [(help, false); 4],
        ),
        (
            "/faq",
            |_| UserInput::Command(UserCommand::Browse),
            [(categories, false); 4],
        ),
        (
            "[Browse]",
            |_| UserInput::Button(Action::Browse),
            [(categories, false); 4],
        ),
        (
            "[Category]",
            |_| UserInput::Button(Action::Category("deposit".into())),
            [(entries, false); 4],
        ),
        (
            "[Pick]",
            |_| UserInput::Button(Action::Pick("deposit-address".into())),
            [(answer, false); 4],
        ),
        (
            "[None of these]",
            |_| UserInput::Button(Action::NoneOfThese),
            [(offer_human, false); 4],
        ),
        (
            "[Solved]",
            |_| UserInput::Button(Action::Solved("deposit-address".into())),
            [(glad, false); 4],
        ),
        // A ticket is opened unless one is open; a new one after a close.
        (
            "/human",
            |_| UserInput::Command(UserCommand::Human),
            [
                (is_queued_new, true),
                (is_queued_again, false),
                (is_queued_again, false),
                (is_queued_new, true),
            ],
        ),
        (
            "[Talk to a human]",
            |_| UserInput::Button(Action::Human),
            [
                (is_queued_new, true),
                (is_queued_again, false),
                (is_queued_again, false),
                (is_queued_new, true),
            ],
        ),
        // Cancelling: only an open ticket, and its staff are told.
        (
            "/cancel",
            |_| UserInput::Command(UserCommand::Cancel),
            [
                (nothing_to_cancel, false),
                (cancelled, true),
                (cancelled, true),
                (nothing_to_cancel, false),
            ],
        ),
        // A rating: only for the closed ticket the bot asked about.
        (
            "[Rate 5]",
            |t| {
                UserInput::Button(Action::Rate {
                    ticket: t.unwrap_or(99),
                    score: 5,
                })
            },
            [
                (is_stale, false),
                (is_stale, false),
                (is_stale, false),
                (thanks, true),
            ],
        ),
        // "Skip" answers the details question only while it is asked
        // (asked right after a handoff, so in Waiting here).
        (
            "[Skip]",
            |_| UserInput::Button(Action::SkipDetails),
            [
                (is_stale, false),
                (noted, false),
                (noted, false),
                (is_stale, false),
            ],
        ),
        // A staff button pressed by a user does nothing.
        (
            "[Claim]",
            |t| UserInput::Button(Action::Claim(t.unwrap_or(99))),
            [(is_stale, false); 4],
        ),
        (
            "[Close]",
            |t| UserInput::Button(Action::Close(t.unwrap_or(99))),
            [(is_stale, false); 4],
        ),
    ];
    let mut broken = Vec::new();
    for (name, input, expected) in &rows {
        for (state, (heard_right, staff_told)) in all.iter().zip(expected) {
            let dir = TempDir::new().unwrap();
            let desk = desk(&dir).await;
            let ticket = user_in(&desk, *state).await;
            let out = user_does(&desk, input(ticket), "journey:2").await;
            let first = out
                .iter()
                .find(|o| o.to == Recipient::User(USER))
                .map(|o| &o.reply);
            let staff = out.iter().any(|o| o.to != Recipient::User(USER));
            if !first.is_some_and(heard_right) || staff != *staff_told {
                broken.push(format!(
                    "{name} when {state:?}: heard {first:?}, staff told: {staff} (expected {staff_told})"
                ));
            }
        }
    }
    assert!(
        broken.is_empty(),
        "{} of {} rows broken:\n{}",
        broken.len(),
        rows.len() * all.len(),
        broken.join("\n")
    );
}

// --- admins --------------------------------------------------------------------

#[tokio::test]
async fn admin_commands_answer_admins_and_refuse_agents_and_strangers() {
    use bot::admin::{Admin, AdminReply};
    let dir = TempDir::new().unwrap();
    let settings = settings(&dir);
    let desk = std::sync::Arc::new(bot::startup::build_desk(&settings, &[]).await.unwrap());
    let admin = Admin::new(desk.clone(), &settings);
    let commands = [
        "/stats",
        "/reload",
        "/suggest",
        "/unlearn deposit-address where is it",
    ];
    let mut broken = Vec::new();
    for text in commands {
        for who in [ADMIN, ALICE, STRANGER] {
            let command = crate::support::admin_command(text).expect("an admin command");
            let reply = admin.handle(who, command).await.unwrap();
            let refused = reply == AdminReply::Refused;
            if refused != (who != ADMIN) {
                broken.push(format!("{text} from {who}: {reply:?}"));
            }
        }
    }
    assert!(broken.is_empty(), "{}", broken.join("\n"));
}
