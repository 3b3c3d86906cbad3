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
    AgentCommand::parse(t).expect("parses")
}

async fn desk(dir: &TempDir) -> Desk {
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
    bot::startup::build_desk(&settings, &[]).await.unwrap()
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
                Expect::Says(|r, t| matches!(r, Reply::Claimed(card) if card.id == t)),
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
