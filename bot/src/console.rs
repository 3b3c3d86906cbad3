//! The console shell: the whole product in a terminal, no token needed.
//!
//! One person plays both sides of the same engine and database: the user
//! (id 1) and an agent (the first configured agent, else a built-in console
//! agent). `/agent` and `/user` switch sides; a number presses a button of
//! the last message shown to the current side; `/quit` leaves. On the agent
//! side an admin also has `/stats`, `/reload` and `/suggest`; with no staff
//! configured at all, the console agent is an admin.

use std::sync::Arc;

use anyhow::Result;
use handoff::{UserId, UserInfo};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::admin::Admin;
use crate::desk::{AgentCommand, AgentProfile, Desk, Outgoing, Recipient};
use crate::engine::Refusal;
use crate::engine::commands::{self, Command, Role};
use crate::engine::{UserInput, UserMessage};
use crate::render::{Button, render};
use crate::settings::Settings;
use crate::startup;

/// The console user's id (Telegram ids are never this small for real users).
pub const CONSOLE_USER: UserId = 1;
/// The agent id the console plays when no agent is configured.
pub const CONSOLE_AGENT: handoff::AgentId = 1000;

fn default_agent() -> AgentProfile {
    AgentProfile {
        id: CONSOLE_AGENT,
        alias: "Agent Lin".to_owned(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    User,
    Agent,
}

/// The console's state: which side is typing and the buttons each side saw last.
pub struct Console {
    desk: Arc<Desk>,
    admin: Admin,
    pub side: Side,
    user: UserInfo,
    agent: AgentProfile,
    user_buttons: Vec<Button>,
    agent_buttons: Vec<Button>,
    next_message_id: u64,
}

/// What `helpdesk chat` says first; the commands are read from the one
/// vocabulary, so the list cannot drift from what the console accepts.
pub fn banner() -> String {
    let list = |role| {
        crate::engine::commands::menu(role)
            .filter(|spec| spec.role == role)
            .map(|spec| spec.synopsis())
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "helpdesk chat: the bot offline. You are the user; type a question.
  /agent  switch to the agent side: plain text goes to the user;
          agents: {}
          admins: {}
  /user   switch back to the user side ({})
  1, 2 …  press a button of the last message shown to your side
  /quit   leave",
        list(Role::Agent),
        list(Role::Admin),
        list(Role::User),
    )
}

impl Console {
    pub async fn new(settings: &Settings) -> Result<Console> {
        let agent = settings
            .staff
            .agents
            .first()
            .cloned()
            .unwrap_or_else(default_agent);
        let extra = if settings.staff.agents.is_empty() {
            vec![agent.clone()]
        } else {
            Vec::new()
        };
        // Nobody configured: the console agent runs the desk alone, admin too.
        let mut settings = settings.clone();
        if settings.staff.agents.is_empty() && settings.staff.admins.is_empty() {
            settings.staff.admins.push(agent.id);
        }
        let desk = Arc::new(startup::build_desk(&settings, &extra).await?);
        let admin = Admin::new(desk.clone(), &settings);
        let language = std::env::var("LANG")
            .ok()
            .and_then(|l| crate::engine::normalize_language_code(&l))
            .unwrap_or_default();
        Ok(Console {
            desk,
            admin,
            side: Side::User,
            user: UserInfo {
                id: CONSOLE_USER,
                username: Some("console".to_owned()),
                display_name: Some("Console User".to_owned()),
                language,
            },
            agent,
            user_buttons: Vec::new(),
            agent_buttons: Vec::new(),
            next_message_id: 1,
        })
    }

    /// The admin side of this console's desk (reloads, metrics).
    pub fn admin(&self) -> &Admin {
        &self.admin
    }

    pub fn prompt(&self) -> &'static str {
        match self.side {
            Side::User => "user> ",
            Side::Agent => "agent> ",
        }
    }

    /// Handles one typed line and returns what to print.
    pub async fn handle_line(&mut self, line: &str) -> Result<String> {
        let line = line.trim();
        match line {
            "" => return Ok(String::new()),
            "/agent" => {
                self.side = Side::Agent;
                return Ok(format!(
                    "(you are now agent {} \"{}\")\n",
                    self.agent.id, self.agent.alias
                ));
            }
            "/user" => {
                self.side = Side::User;
                return Ok("(you are now the user)\n".to_owned());
            }
            _ => {}
        }
        let pressed = line.parse::<usize>().ok().and_then(|n| {
            let buttons = match self.side {
                Side::User => &self.user_buttons,
                Side::Agent => &self.agent_buttons,
            };
            n.checked_sub(1)
                .and_then(|i| buttons.get(i))
                .map(|b| b.action.clone())
        });
        let side = match self.side {
            Side::User => commands::Side::User,
            Side::Agent => commands::Side::Staff,
        };
        let parsed = match pressed {
            Some(action) if self.side == Side::User => {
                return self.user_says(UserInput::Button(action)).await;
            }
            Some(action) => Ok(Some(Command::Agent(AgentCommand::Button(action)))),
            None => commands::parse(line, side),
        };
        let me = match self.side {
            Side::User => self.user.id,
            Side::Agent => self.agent.id,
        };
        let outgoing = match parsed {
            Ok(None) if self.side == Side::User => {
                return self.user_says(UserInput::Text(line.to_owned())).await;
            }
            Ok(None) => {
                let command = AgentCommand::Reply {
                    text: line.to_owned(),
                    attachments: Vec::new(),
                };
                self.desk.agent(me, command).await?
            }
            Ok(Some(Command::User(command))) => {
                return self.user_says(UserInput::Command(command)).await;
            }
            Ok(Some(command)) if self.side == Side::User && command.role() != Role::Anyone => {
                tracing::warn!(chat_id = me, "staff command from a non-agent refused");
                vec![Outgoing {
                    card: None,
                    to: Recipient::User(me),
                    ticket: None,
                    language: self.user.language.clone(),
                    reply: crate::engine::Reply::Refused(Refusal::NotAllowed),
                }]
            }
            Ok(Some(Command::Agent(command))) => self.desk.agent(me, command).await?,
            Ok(Some(Command::Admin(command))) => {
                let reply = self.admin.handle(me, command).await?;
                let text = reply.render(&self.desk.staff().language);
                let mut lines = text.lines();
                let mut printed = format!("bot → admin: {}\n", lines.next().unwrap_or_default());
                for line in lines {
                    printed.push_str(&format!("    {line}\n"));
                }
                return Ok(printed);
            }
            Ok(Some(Command::WhoAmI)) => return Ok(format!("(your id is {me})\n")),
            Err(refusal) => vec![self.desk.refusal(me, refusal)],
        };
        Ok(self.show(&outgoing))
    }

    /// The user side's message to the desk.
    async fn user_says(&mut self, input: UserInput) -> Result<String> {
        self.next_message_id += 1;
        let outgoing = self
            .desk
            .user(UserMessage {
                user: self.user.clone(),
                input,
                key: Some(format!("console:{}", self.next_message_id)),
            })
            .await?;
        Ok(self.show(&outgoing))
    }

    fn show(&mut self, outgoing: &[Outgoing]) -> String {
        let knowledge = self.desk.knowledge();
        let mut printed = String::new();
        for out in outgoing {
            let message = render(&out.reply, &out.language, &knowledge.faq);
            let (label, buttons) = match out.to {
                Recipient::User(_) => ("bot → user", &mut self.user_buttons),
                Recipient::Agent(id) if id == self.agent.id => {
                    ("bot → agent", &mut self.agent_buttons)
                }
                Recipient::Agent(_) => ("bot → other agent", &mut Vec::new()),
                Recipient::Staff => ("bot → staff", &mut self.agent_buttons),
            };
            let flat: Vec<Button> = message.buttons.iter().flatten().cloned().collect();
            if !flat.is_empty() {
                *buttons = flat.clone();
            }
            let mut lines = message.text.lines();
            printed.push_str(&format!("{label}: {}\n", lines.next().unwrap_or_default()));
            for line in lines {
                printed.push_str(&format!("    {line}\n"));
            }
            if !flat.is_empty() {
                let labels: Vec<String> = flat
                    .iter()
                    .enumerate()
                    .map(|(i, b)| format!("[{}] {}", i + 1, b.label))
                    .collect();
                printed.push_str(&format!("    {}\n", labels.join("  ")));
            }
        }
        printed
    }
}

/// Runs the console on stdin/stdout until `/quit` or end of input.
pub async fn run(settings: &Settings) -> Result<()> {
    let mut console = Console::new(settings).await?;
    // The FAQ watcher and the metrics server, as the settings say.
    let _admin = console.admin().start(settings).await?;
    let mut outcomes = console.admin().reloader().subscribe();
    let language = console.desk.staff().language.clone();
    tokio::spawn(async move {
        while let Ok(outcome) = outcomes.recv().await {
            if outcome.trigger == crate::admin::reload::Trigger::FileChange {
                let text = crate::admin::render_reload(&outcome, &language);
                let mut stdout = tokio::io::stdout();
                let _ = stdout
                    .write_all(format!("\n(file change) {text}\n").as_bytes())
                    .await;
                let _ = stdout.flush().await;
            }
        }
    });
    let mut stdout = tokio::io::stdout();
    stdout
        .write_all(format!("{}\n", banner()).as_bytes())
        .await?;
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    loop {
        stdout.write_all(console.prompt().as_bytes()).await?;
        stdout.flush().await?;
        let Some(line) = lines.next_line().await? else {
            break;
        };
        if matches!(line.trim(), "/quit" | "/exit") {
            break;
        }
        let printed = match console.handle_line(&line).await {
            Ok(printed) => printed,
            Err(error) => {
                tracing::error!("{error:#}");
                format!("(something went wrong: {error:#})\n")
            }
        };
        stdout.write_all(printed.as_bytes()).await?;
    }
    stdout.flush().await?;
    Ok(())
}
