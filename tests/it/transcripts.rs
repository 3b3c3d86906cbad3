//! Engine stories that read as transcripts, with no database: a script of
//! `user>` and `agent N>` lines is played against the pure engine (the
//! conversation engine for users, the staff engine for agents), and each
//! `bot>`, `staff>`, `agent N<` or `user<` line is checked against what the
//! engine said, rendered as the person would read it (a line matches when
//! the rendered text contains it).
//!
//! The small in-memory [`World`] below stands in for the store: tickets
//! are a vector, a claim is a field set. It is deliberately simple (one
//! replica, no crash): the store's own promises are tested on SQLite and
//! Postgres in `store.rs`, and the same journeys through the real desk and
//! store in `conversations.rs` and `journeys.rs`.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use bot::engine::commands::{self, Command, Side};
use bot::engine::staff::{self, AgentState, Focus, StaffEffect};
use bot::engine::{
    AgentCommand, AgentProfile, Conversation, Effect, Engine, Knowledge, OpenTicketView, Policy,
    QueueInfo, Reply, Staff, UserInput, UserMessage,
};
use bot::render::render;
use chrono::Utc;
use handoff::{
    Author, ClaimOutcome, Opened, QueuePosition, Rating, Status, Ticket, TicketId, TranscriptEntry,
    UserId, UserInfo,
};

use crate::support::FAQ;

const USER: UserId = 7001;
const ALICE: i64 = 7;
const BOB: i64 = 8;
const ADMIN: i64 = 9;

/// The tickets, conversations and agents' states of one story.
struct World {
    knowledge: Arc<Knowledge>,
    policy: Policy,
    staff: Staff,
    conversations: HashMap<UserId, Conversation>,
    tickets: Vec<(Ticket, Vec<TranscriptEntry>)>,
    agents: HashMap<i64, AgentState>,
    user_language: String,
    /// What was said, not yet checked: `(who, text)`.
    said: VecDeque<(String, String)>,
    /// The bot's last reply to the user (its buttons are what `[N]` presses).
    last_to_user: Option<Reply>,
}

fn knowledge() -> Knowledge {
    let dir = tempfile::TempDir::new().unwrap();
    let path = dir.path().join("faq.yaml");
    std::fs::write(&path, FAQ).unwrap();
    let (knowledge, _) = bot::startup::load_knowledge(&path, Default::default()).unwrap();
    knowledge
}

impl World {
    fn new(user_language: &str) -> World {
        World {
            knowledge: Arc::new(knowledge()),
            policy: Policy::default(),
            staff: Staff {
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
                language: "en".into(),
            },
            conversations: HashMap::new(),
            tickets: Vec::new(),
            agents: HashMap::new(),
            user_language: user_language.to_owned(),
            said: VecDeque::new(),
            last_to_user: None,
        }
    }

    fn user_info(&self) -> UserInfo {
        UserInfo {
            id: USER,
            username: Some("traveller".into()),
            display_name: None,
            language: self.user_language.clone(),
        }
    }

    fn open_ticket(&self, user: UserId) -> Option<&Ticket> {
        self.tickets
            .iter()
            .map(|(t, _)| t)
            .find(|t| t.user.id == user && t.status.is_open())
    }

    fn ticket_mut(&mut self, id: TicketId) -> &mut (Ticket, Vec<TranscriptEntry>) {
        &mut self.tickets[(id - 1) as usize]
    }

    fn queue_info(&self, id: TicketId) -> QueueInfo {
        let waiting: Vec<TicketId> = self
            .tickets
            .iter()
            .filter(|(t, _)| t.status == Status::Waiting)
            .map(|(t, _)| t.id)
            .collect();
        QueueInfo {
            position: waiting
                .iter()
                .position(|w| *w == id)
                .map(|i| QueuePosition {
                    position: i + 1,
                    waiting: waiting.len(),
                }),
            estimated_wait_minutes: None,
            back_at: None,
        }
    }

    fn say(&mut self, who: String, reply: &Reply, language: &str) {
        let text = render(reply, language, &self.knowledge.faq).text;
        self.said.push_back((who, text));
    }

    fn language_of(&self, user: UserId) -> String {
        self.conversations
            .get(&user)
            .and_then(|c| c.language.clone())
            .unwrap_or_else(|| self.user_language.clone())
    }

    /// One user event through the conversation engine; effects applied.
    fn user(&mut self, input: UserInput) {
        let mut conversation = self.conversations.remove(&USER).unwrap_or_default();
        let open = self.open_ticket(USER).map(|t| OpenTicketView {
            id: t.id,
            status: t.status,
            queue: self.queue_info(t.id),
        });
        let knowledge = Arc::clone(&self.knowledge);
        let policy = self.policy.clone();
        let engine = Engine {
            knowledge: &knowledge,
            policy: &policy,
        };
        let message = UserMessage {
            user: self.user_info(),
            input,
            key: None,
        };
        let mut effects: VecDeque<Effect> = engine
            .on_user(&mut conversation, open.as_ref(), &message)
            .into();
        while let Some(effect) = effects.pop_front() {
            let language = conversation.language.clone().unwrap_or_default();
            match effect {
                Effect::Say(reply) => {
                    let text = render(&reply, &language, &knowledge.faq).text;
                    self.said.push_back(("bot".into(), text));
                    self.last_to_user = Some(reply);
                }
                Effect::TellStaff(reply) => {
                    let text = render(&reply, "en", &knowledge.faq).text;
                    let holder = match &reply {
                        Reply::UserWrote { ticket, .. } => {
                            self.tickets[(*ticket - 1) as usize].0.agent
                        }
                        _ => None,
                    };
                    let who = holder.map_or("staff".to_owned(), |a| format!("agent {a}<"));
                    self.said.push_back((who, text));
                }
                Effect::OpenTicket(new) => {
                    let id = self.tickets.len() as TicketId + 1;
                    let transcript = new
                        .transcript
                        .iter()
                        .enumerate()
                        .map(|(i, e)| entry(i as i64 + 1, e.author, &e.text))
                        .collect();
                    let ticket = Ticket {
                        id,
                        user: new.user.clone(),
                        status: Status::Waiting,
                        priority: new.priority,
                        category: new.category.clone(),
                        details: new.details.clone(),
                        agent: None,
                        opened_at: Utc::now(),
                        claimed_at: None,
                        first_reply_at: None,
                        closed_at: None,
                        rating: None,
                        team: None,
                        preferred_agent: None,
                        opened_by: None,
                    };
                    self.tickets.push((ticket.clone(), transcript));
                    let opened = Opened {
                        ticket,
                        created: true,
                    };
                    let queue = self.queue_info(id);
                    let follow = engine.ticket_opened(&mut conversation, &opened, queue);
                    for effect in follow.into_iter().rev() {
                        effects.push_front(effect);
                    }
                }
                Effect::Append { ticket, entry: new } => {
                    let transcript = &mut self.ticket_mut(ticket).1;
                    let seq = transcript.len() as i64 + 1;
                    transcript.push(entry(seq, new.author, &new.text));
                }
                Effect::Cancel(ticket) => self.ticket_mut(ticket).0.status = Status::Cancelled,
                Effect::Rate { ticket, score } => {
                    self.ticket_mut(ticket).0.rating = Some(Rating {
                        score,
                        comment: None,
                    })
                }
                Effect::Record(_) => {}
                Effect::Learn { entry_id, .. } => {
                    self.said.push_back(("learned".into(), entry_id));
                }
            }
        }
        self.conversations.insert(USER, conversation);
    }

    /// One agent's typed line through the vocabulary and the staff engine.
    fn agent(&mut self, agent: i64, line: &str) {
        let command = match commands::parse(line, Side::Staff) {
            Ok(Some(Command::Agent(command))) => command,
            Ok(None) => AgentCommand::Reply {
                text: line.to_owned(),
                attachments: Vec::new(),
            },
            Ok(Some(other)) => panic!("not an agent command here: {other:?}"),
            Err(refusal) => {
                self.say(format!("agent {agent}<"), &Reply::Refused(refusal), "en");
                return;
            }
        };
        let mut state = self.agents.remove(&agent).unwrap_or_default();
        let focus_id = staff::focus_of(&command, None, &state);
        let ticket =
            focus_id.and_then(|id| self.tickets.get((id - 1) as usize).map(|(t, _)| t.clone()));
        let focus = Focus {
            id: focus_id,
            user_language: ticket
                .as_ref()
                .map(|t| self.language_of(t.user.id))
                .unwrap_or_default(),
            ticket,
        };
        let decided = staff::decide(
            &self.staff,
            &self.knowledge.faq,
            agent,
            &mut state,
            command,
            None,
            focus,
        );
        match decided {
            Err(refusal) => self.say(format!("agent {agent}<"), &Reply::Refused(refusal), "en"),
            Ok(effect) => self.run(agent, &mut state, effect),
        }
        self.agents.insert(agent, state);
    }

    fn run(&mut self, agent: i64, state: &mut AgentState, effect: StaffEffect) {
        let to_agent = format!("agent {agent}<");
        match effect {
            StaffEffect::Claim(id) => {
                let outcome = match self.tickets.get((id - 1) as usize) {
                    None => ClaimOutcome::NotFound,
                    Some((t, _)) if t.status == Status::Waiting => {
                        let mut t = t.clone();
                        t.status = Status::Claimed;
                        t.agent = Some(agent);
                        self.ticket_mut(id).0 = t.clone();
                        ClaimOutcome::Claimed(t)
                    }
                    Some((t, _)) if t.status == Status::Claimed => ClaimOutcome::AlreadyClaimed {
                        by: t.agent.unwrap(),
                    },
                    Some((t, _)) => ClaimOutcome::NotOpen(t.status),
                };
                match staff::claimed(state, id, outcome) {
                    Ok(ticket) => {
                        let alias = self.staff.alias(agent);
                        self.said
                            .push_back((to_agent, format!("claimed #{}", ticket.id)));
                        let language = self.language_of(ticket.user.id);
                        self.say("user<".into(), &Reply::AgentJoined { alias }, &language);
                    }
                    Err(refusal) => self.say(to_agent, &Reply::Refused(refusal), "en"),
                }
            }
            StaffEffect::Relay {
                ticket,
                entry: new,
                reply,
                language,
            } => {
                let transcript = &mut self.ticket_mut(ticket.id).1;
                let seq = transcript.len() as i64 + 1;
                transcript.push(entry(seq, new.author, &new.text));
                self.say("user<".into(), &reply, &language);
                self.say(to_agent, &Reply::Delivered { ticket: ticket.id }, "en");
            }
            StaffEffect::Note { ticket, .. } => {
                self.say(to_agent, &Reply::NoteAdded { ticket }, "en")
            }
            StaffEffect::Link { ticket, entry_id } => {
                self.say(to_agent, &Reply::Linked { ticket, entry_id }, "en")
            }
            StaffEffect::Transfer {
                ticket,
                to,
                language,
            } => {
                self.ticket_mut(ticket.id).0.agent = Some(to);
                self.agents.entry(to).or_default().in_hand = Some(ticket.id);
                let alias = self.staff.alias(to);
                self.said.push_back((
                    format!("agent {to}<"),
                    format!("transferred #{}", ticket.id),
                ));
                self.say(
                    "user<".into(),
                    &Reply::AgentChanged {
                        alias: alias.clone(),
                    },
                    &language,
                );
                let reply = Reply::TransferredTo {
                    ticket: ticket.id,
                    agent: alias,
                };
                self.say(to_agent, &reply, "en");
            }
            StaffEffect::Close { ticket } => {
                self.ticket_mut(ticket.id).0.status = Status::Closed;
                let mut conversation = self
                    .conversations
                    .remove(&ticket.user.id)
                    .unwrap_or_default();
                let knowledge = Arc::clone(&self.knowledge);
                let engine = Engine {
                    knowledge: &knowledge,
                    policy: &self.policy,
                };
                let effects = engine.ticket_closed(&mut conversation, ticket.id);
                let language = conversation.language.clone().unwrap_or_default();
                self.conversations.insert(ticket.user.id, conversation);
                for effect in effects {
                    if let Effect::Say(reply) = effect {
                        self.say("user<".into(), &reply, &language);
                    }
                }
                self.say(to_agent, &Reply::ClosedByAgent { ticket: ticket.id }, "en");
            }
            StaffEffect::Ban { user, reason } => {
                self.say(to_agent, &Reply::BanRecorded { user, reason }, "en")
            }
            StaffEffect::Unban { user } => {
                let reply = Reply::Unbanned {
                    user,
                    was_banned: false,
                };
                self.say(to_agent, &reply, "en")
            }
            StaffEffect::ShowUser(user) => {
                let tickets = self
                    .tickets
                    .iter()
                    .rev()
                    .filter(|(t, _)| t.user.id == user)
                    .map(|(t, _)| bot::engine::PastTicket {
                        id: t.id,
                        status: t.status,
                        category: t.category.clone(),
                        opened_at: t.opened_at,
                        rating: t.rating.as_ref().map(|r| r.score),
                    })
                    .collect();
                self.say(to_agent, &Reply::UserTickets { user, tickets }, "en");
            }
            StaffEffect::ShowQueue | StaffEffect::ShowMine => {
                let open: Vec<String> = self
                    .tickets
                    .iter()
                    .filter(|(t, _)| match &effect {
                        StaffEffect::ShowQueue => t.status == Status::Waiting,
                        StaffEffect::ShowMine => t.status.is_open() && t.agent == Some(agent),
                        _ => unreachable!(),
                    })
                    .map(|(t, _)| format!("#{}", t.id))
                    .collect();
                self.said
                    .push_back((to_agent, format!("tickets: {}", open.join(" "))));
            }
            StaffEffect::ClaimNext => {
                match self
                    .tickets
                    .iter()
                    .find(|(t, _)| t.status == Status::Waiting)
                {
                    Some((t, _)) => {
                        let id = t.id;
                        self.run(agent, state, StaffEffect::Claim(id));
                    }
                    None => {
                        let reply = Reply::Refused(bot::engine::Refusal::NoWaitingTickets);
                        self.say(to_agent, &reply, "en")
                    }
                }
            }
        }
    }

    /// Plays `script`: `user> …` (a message; `[N]` presses the Nth button
    /// of the bot's last message; `[photo]` sends a photo, any other word
    /// in brackets an attachment of that kind; `/…` is a user command),
    /// `agent N> …` (a line an agent types);
    /// every other line says what someone heard (`bot>`, `staff>`,
    /// `user<`, `agent N<`, `learned>`), in order, by a part of the text
    /// (`\\n` in it stands for a line break).
    fn play(&mut self, script: &str) {
        let mut buttons: Vec<bot::engine::Action> = Vec::new();
        for (number, line) in script.lines().map(str::trim).enumerate() {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mark = line.find(['>', '<']).expect("`who> text` or `who< text`");
            let (who, acts, text) = (
                &line[..mark],
                &line[mark..=mark] == ">",
                line[mark + 1..].trim(),
            );
            if who == "user" && acts {
                self.expect_silence(number, line);
                let bracketed = text.strip_prefix('[').and_then(|t| t.strip_suffix(']'));
                let input = if let Some(n) = bracketed.and_then(|n| n.parse::<usize>().ok()) {
                    let pressed = buttons.get(n - 1);
                    let pressed =
                        pressed.unwrap_or_else(|| panic!("line {}: no button {n}", number + 1));
                    UserInput::Button(pressed.clone())
                } else if let Some(kind) = bracketed {
                    UserInput::Attachment {
                        attachment: handoff::Attachment {
                            kind: kind.to_owned(),
                            file_id: format!("file-{}", number + 1),
                        },
                        caption: None,
                    }
                } else if let Ok(Some(Command::User(command))) = commands::parse(text, Side::User) {
                    UserInput::Command(command)
                } else {
                    UserInput::Text(text.to_owned())
                };
                self.user(input);
                buttons = self.last_buttons();
            } else if let Some(agent) = who.strip_prefix("agent ").filter(|_| acts) {
                self.expect_silence(number, line);
                self.agent(agent.trim().parse().unwrap(), text);
            } else {
                let Some((heard_by, heard)) = self.said.pop_front() else {
                    panic!(
                        "line {}: expected `{line}`, nothing more was said",
                        number + 1
                    );
                };
                assert!(
                    heard_by.trim_end_matches('<') == who.trim()
                        && heard.contains(&text.replace("\\n", "\n")),
                    "line {}: expected `{line}`, got {heard_by}: {heard}",
                    number + 1
                );
            }
        }
        self.expect_silence(script.lines().count(), "the end");
    }

    fn expect_silence(&self, number: usize, line: &str) {
        assert!(
            self.said.is_empty(),
            "before line {} (`{line}`), unchecked: {:?}",
            number + 1,
            self.said
        );
    }

    /// The buttons of the bot's last reply to the user, in order.
    fn last_buttons(&self) -> Vec<bot::engine::Action> {
        let Some(reply) = &self.last_to_user else {
            return Vec::new();
        };
        let language = self.language_of(USER);
        render(reply, &language, &self.knowledge.faq)
            .buttons
            .into_iter()
            .flatten()
            .map(|b| b.action)
            .collect()
    }
}

fn entry(seq: i64, author: Author, text: &str) -> TranscriptEntry {
    TranscriptEntry {
        seq,
        at: Utc::now(),
        author,
        text: text.to_owned(),
        attachments: Vec::new(),
        candidates: Vec::new(),
    }
}

// --- The user's journey (design.md, "User journey") ---

#[test]
fn a_newcomer_is_greeted_and_a_clear_question_is_answered_at_once() {
    World::new("en").play(
        "
        user> /start
        bot> Hello! I'm the support assistant
        user> How do I reset 2FA
        bot> Tap \"Can't verify\" on the login page
        user> [1]
        learned> reset-2fa
        bot> Glad that helped
        ",
    );
}

#[test]
fn a_chinese_speaker_is_answered_in_chinese_whatever_the_app_language() {
    World::new("en").play(
        "
        user> 谷歌验证器丢了怎么办
        bot> 请在登录页点击“无法验证”
        ",
    );
}

#[test]
fn an_answer_that_did_not_help_offers_a_human() {
    World::new("en").play(
        "
        user> How do I reset 2FA
        bot> Tap \"Can't verify\"
        user> [2]
        bot> Sorry that didn't help. Shall I hand you to a human agent?
        user> [1]
        bot> I've handed you to a human agent, ticket #1.
        staff> 🆕
        bot> To speed things up, send your UID
        ",
    );
}

#[test]
fn a_question_the_faq_does_not_cover_gets_a_plain_no_and_a_way_to_a_human() {
    World::new("en").play(
        "
        user> Can I bring my cat to the office party tomorrow
        bot> Sorry, I couldn't find an answer to that.
        user> [1]
        bot> I've handed you to a human agent, ticket #1. You are next in the queue.
        staff> 🆕
        bot> To speed things up
        ",
    );
}

#[test]
fn browsing_by_category_reaches_an_answer() {
    World::new("en").play(
        "
        user> /browse
        bot> Pick a category:
        user> [2]
        bot> Security
        user> [2]
        bot> Tap \"Can't verify\"
        ",
    );
}

#[test]
fn a_pasted_password_is_masked_and_the_user_warned() {
    let mut world = World::new("en");
    world.play(
        "
        user> /human
        bot> I've handed you to a human agent, ticket #1.
        staff> 🆕
        bot> To speed things up
        user> my password is hunter2secret
        bot> ⚠️ Your message seemed to contain a password
        staff> #1 @traveller: my password is [hidden: password]
        bot> Thanks, noted.
        ",
    );
    let (_, transcript) = &world.tickets[0];
    let last = transcript.last().unwrap();
    assert!(!last.text.contains("hunter2secret"), "{last:?}");
}

#[test]
fn asking_for_a_human_in_words_opens_a_ticket_and_details_are_noted() {
    let mut world = World::new("zh");
    world.play(
        "
        user> 转人工
        bot> 已为您转接人工客服，工单号 #1。您是下一位。
        staff> 🆕 ticket #1
        bot> 为了更快处理
        user> 我的UID是 12345678
        staff> #1 @traveller: 我的UID是 12345678
        bot> 好的，已记录。
        ",
    );
    assert_eq!(world.tickets.len(), 1);
}

#[test]
fn the_user_can_skip_the_details_and_leave_the_queue() {
    World::new("en").play(
        "
        user> human
        bot> I've handed you to a human agent, ticket #1.
        staff> 🆕
        bot> To speed things up
        user> [1]
        bot> Thanks, noted.
        user> /cancel
        bot> You've left the queue; ticket #1 is cancelled.
        staff> #1 was cancelled by the user.
        user> /cancel
        bot> You have no open ticket to cancel.
        ",
    );
}

#[test]
fn a_photo_with_no_ticket_open_gets_a_polite_answer() {
    World::new("en").play(
        "
        user> [photo]
        bot> Sorry, I can't handle that kind of message.
        ",
    );
}

// --- With an agent, and the agent's journey (design.md, "Agent journey") ---

#[test]
fn an_agent_claims_replies_notes_and_closes_and_the_user_rates() {
    let mut world = World::new("zh");
    world.play(
        "
        user> 转人工
        bot> 工单号 #1
        staff> 🆕 ticket #1
        bot> 为了更快处理
        user> [1]
        bot> 好的，已记录。
        agent 7> /queue
        agent 7< tickets: #1
        agent 7> /claim 1
        agent 7< claimed #1
        user< 客服 Alice 已接入
        agent 7> 您好，请问充值的币种是什么？
        user< Alice: 您好，请问充值的币种是什么？
        agent 7< → sent to #1
        user> USDT，两个小时了
        agent 7< #1 @traveller: USDT，两个小时了
        agent 7> /note 链上已确认
        agent 7< Note added to #1
        agent 7> /faq deposit-not-credited
        user< Alice: 请先确认区块确认数已足够。
        agent 7< → sent to #1
        agent 7> /close
        user< 工单 #1 已关闭
        agent 7< #1 closed; the user is asked for a rating.
        user> 5
        bot> 感谢您的评分（5 分）！
        staff> #1 rated 5/5 by the user.
        ",
    );
    let (ticket, transcript) = &world.tickets[0];
    assert_eq!(ticket.status, Status::Closed);
    assert_eq!(ticket.rating.as_ref().map(|r| r.score), Some(5));
    assert!(
        transcript
            .iter()
            .any(|e| e.author == Author::Agent(ALICE) && e.text.contains("币种")),
        "{transcript:?}"
    );
}

#[test]
fn nobody_but_staff_can_use_agent_commands() {
    World::new("en").play(
        "
        user> /human
        bot> ticket #1
        staff> 🆕
        bot> To speed things up
        agent 4242> /claim 1
        agent 4242< that command is for support staff only
        # A user's `/claim` inside their ticket is only words for its agent.
        user> /claim 1
        staff> #1 @traveller: /claim 1
        bot> Thanks, noted.
        ",
    );
}

#[test]
fn a_reply_before_claiming_is_refused_and_sends_nothing() {
    World::new("en").play(
        "
        user> /human
        bot> ticket #1
        staff> 🆕
        bot> To speed things up
        agent 7> hello there
        agent 7< You have no ticket in hand
        agent 7> /close 2
        agent 7< There is no ticket #2.
        agent 7> /frobnicate
        agent 7< Unknown command.
        ",
    );
}

#[test]
fn the_next_ticket_goes_to_whoever_asks_first_and_not_twice() {
    World::new("en").play(
        "
        user> /human
        bot> ticket #1
        staff> 🆕
        bot> To speed things up
        agent 7> /next
        agent 7< claimed #1
        user< Alice from support has joined
        agent 8> /claim 1
        agent 8< #1 is already claimed
        agent 8> /next
        agent 8< No ticket is waiting.
        agent 7> /mine
        agent 7< tickets: #1
        ",
    );
}

#[test]
fn a_ticket_transferred_to_another_agent_carries_on_under_the_new_alias() {
    let mut world = World::new("en");
    world.play(
        "
        user> /human
        bot> ticket #1
        staff> 🆕
        bot> To speed things up
        agent 7> /claim 1
        agent 7< claimed #1
        user< Alice from support has joined
        agent 7> /transfer 7
        agent 7< That is you
        agent 7> /transfer 8
        agent 8< transferred #1
        user< Your ticket is now with Bob
        agent 7< #1 transferred to Bob
        agent 8> I'll take it from here
        user< Bob: I'll take it from here
        agent 8< → sent to #1
        ",
    );
    assert_eq!(world.tickets[0].0.agent, Some(BOB));
}

#[test]
fn an_agent_links_the_entry_that_should_have_answered() {
    World::new("en").play(
        "
        user> /human
        bot> ticket #1
        staff> 🆕
        bot> To speed things up
        agent 7> /claim 1
        agent 7< claimed #1
        user< Alice
        agent 7> /link deposit-address
        agent 7< #1: recorded that `deposit-address` should have answered.
        agent 7> /link no-such-entry
        agent 7< There is no FAQ entry `no-such-entry`.
        ",
    );
}

#[test]
fn an_agent_looks_up_a_users_tickets_and_bans_them() {
    World::new("en").play(
        "
        user> /human
        bot> ticket #1
        staff> 🆕
        bot> To speed things up
        agent 7> /whois 7001
        agent 7< User 7001: 1 ticket, newest first:\\n#1 · waiting
        agent 7> /whois 4242
        agent 7< User 4242 has no tickets.
        agent 7> /ban 7001 spam links
        agent 7< User 7001 is banned. Reason: spam links
        agent 7> /ban 8 no reason
        agent 7< Staff cannot be banned.
        agent 7> /whois
        agent 7< /whois
        ",
    );
}

#[test]
fn a_vague_question_offers_choices_and_a_pick_is_answered_and_learned() {
    World::new("en").play(
        "
        user> deposit
        bot> Did you mean one of these?
        user> [1]
        learned> deposit-not-credited
        bot> First check that the transaction has enough confirmations.
        ",
    );
}

#[test]
fn none_of_the_choices_leads_to_a_human() {
    World::new("en").play(
        "
        user> deposit
        bot> Did you mean one of these?
        user> [3]
        bot> Sorry that didn't help. Shall I hand you to a human agent?
        user> [1]
        bot> I've handed you to a human agent, ticket #1.
        staff> 🆕 ticket #1
        bot> To speed things up
        ",
    );
}
