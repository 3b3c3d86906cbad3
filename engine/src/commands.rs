//! The one command vocabulary: every command a user, an agent or an admin
//! can type, declared once in [`COMMANDS`] with its arguments, who may use
//! it and its help in Chinese and English, and the one parser, [`parse`],
//! that Telegram, the console and any later shell share. Telegram's command
//! menus, the agents' command list and every usage line are read from the
//! declaration, so they cannot drift from what the parser accepts.
//!
//! Adding a staff command takes two places: a [`CommandSpec`] with its
//! parse arm here, and its decision in [`crate::staff`].
//!
//! Who may run a command is checked where it runs (the desk, the admin
//! handler), not here: parsing says what was asked, never that it is
//! allowed.

use handoff::{AgentId, TicketId, UserId};

use crate::reply::{Action, Refusal};

/// Who a command is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Anyone chatting with the bot.
    User,
    /// Configured agents (and admins, who may act as agents).
    Agent,
    /// Configured admins only.
    Admin,
    /// Anyone, in a private chat or a staff group (`/whoami`).
    Anyone,
}

/// Where a line was typed: the same word can mean different things
/// (`/faq` browses the FAQ for a user and sends an answer for an agent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// A user's private chat (or the console's user side).
    User,
    /// A staff member's chat, a staff group, or the console's agent side.
    Staff,
}

/// One declared command.
#[derive(Debug, Clone, Copy)]
pub struct CommandSpec {
    pub name: &'static str,
    /// Other words for it (`/agent` for `/human`).
    pub aliases: &'static [&'static str],
    pub role: Role,
    /// What follows the word, as shown in help (`N`, `ID`, empty: nothing).
    pub args: &'static str,
    /// One line for menus and help: `[zh, en]`.
    pub help: [&'static str; 2],
    /// What a malformed use gets (English; staff messages are English or
    /// Chinese by `staff.language`): `[zh, en]`; empty: the help line.
    pub usage: [&'static str; 2],
}

impl CommandSpec {
    /// The help line in `language` (`zh…` or English).
    pub fn help(&self, language: &str) -> &'static str {
        self.help[usize::from(!language.starts_with("zh"))]
    }

    /// What a malformed use gets, in `language`.
    pub fn usage(&self, language: &str) -> String {
        let text = self.usage[usize::from(!language.starts_with("zh"))];
        if !text.is_empty() {
            return text.to_owned();
        }
        let label = if language.starts_with("zh") {
            "用法"
        } else {
            "Usage"
        };
        format!("{label}: {}", self.synopsis())
    }

    /// `/claim N`.
    pub fn synopsis(&self) -> String {
        if self.args.is_empty() {
            format!("/{}", self.name)
        } else {
            format!("/{} {}", self.name, self.args)
        }
    }

    fn is_called(&self, word: &str) -> bool {
        self.name == word || self.aliases.contains(&word)
    }

    fn is_staff(&self) -> bool {
        matches!(self.role, Role::Agent | Role::Admin)
    }
}

const fn spec(
    name: &'static str,
    role: Role,
    args: &'static str,
    help: [&'static str; 2],
) -> CommandSpec {
    CommandSpec {
        name,
        aliases: &[],
        role,
        args,
        help,
        usage: ["", ""],
    }
}

/// Every command, in menu order within each role.
pub static COMMANDS: &[CommandSpec] = &[
    // --- users ---
    spec("start", Role::User, "", ["开始", "Start over"]),
    CommandSpec {
        aliases: &["browse"],
        ..spec(
            "faq",
            Role::User,
            "",
            ["按分类浏览常见问题", "Browse the FAQ by category"],
        )
    },
    CommandSpec {
        aliases: &["agent"],
        ..spec(
            "human",
            Role::User,
            "",
            ["转人工客服", "Talk to a human agent"],
        )
    },
    spec("cancel", Role::User, "", ["退出排队", "Leave the queue"]),
    spec("help", Role::User, "", ["帮助", "Help"]),
    // --- agents ---
    spec(
        "queue",
        Role::Agent,
        "",
        ["等待中的工单", "Tickets waiting"],
    ),
    spec(
        "next",
        Role::Agent,
        "",
        ["接下一个工单", "Claim the next ticket"],
    ),
    CommandSpec {
        usage: [
            "用法：/claim 编号（/queue 列出等待中的工单）。",
            "Usage: /claim N, the ticket's number (/queue lists them).",
        ],
        ..spec(
            "claim",
            Role::Agent,
            "N",
            ["接工单：/claim 编号", "Claim a ticket: /claim N"],
        )
    },
    spec("mine", Role::Agent, "", ["我的工单", "My tickets"]),
    CommandSpec {
        usage: [
            "用法：/close（手上的工单）或 /close 编号。",
            "Usage: /close (the ticket in hand) or /close N.",
        ],
        ..spec(
            "close",
            Role::Agent,
            "[N]",
            ["关闭工单", "Close the ticket"],
        )
    },
    CommandSpec {
        usage: [
            "用法：/note 内容（手上工单的内部备注）。",
            "Usage: /note TEXT (an internal note on the ticket in hand).",
        ],
        ..spec(
            "note",
            Role::Agent,
            "TEXT",
            [
                "内部备注（用户看不到）",
                "Internal note (the user never sees it)",
            ],
        )
    },
    CommandSpec {
        usage: [
            "用法：/faq 条目ID，把该条目的答案发给手上工单的用户。",
            "Usage: /faq ID sends that FAQ entry's answer to the user of the ticket in hand.",
        ],
        ..spec(
            "faq",
            Role::Agent,
            "ID",
            [
                "发送常见问题答案：/faq 条目ID",
                "Send an FAQ answer: /faq ID",
            ],
        )
    },
    CommandSpec {
        usage: [
            "用法：/link 条目ID，记录本应回答的条目。",
            "Usage: /link ID records which FAQ entry should have answered.",
        ],
        ..spec(
            "link",
            Role::Agent,
            "ID",
            [
                "记录应回答的条目：/link 条目ID",
                "Record which entry should have answered: /link ID",
            ],
        )
    },
    CommandSpec {
        usage: [
            "用法：/transfer 客服ID，另一位客服的 Telegram 数字 ID（/whoami 可查看自己的）。",
            "Usage: /transfer AGENT_ID, the numeric Telegram id of another agent (/whoami tells anyone theirs).",
        ],
        ..spec(
            "transfer",
            Role::Agent,
            "AGENT_ID",
            [
                "转给其他客服：/transfer 客服ID",
                "Hand over: /transfer AGENT_ID",
            ],
        )
    },
    CommandSpec {
        usage: [
            "用法：/whois 用户ID，查看该用户至今的工单。",
            "Usage: /whois USER_ID shows that user's tickets so far.",
        ],
        ..spec(
            "whois",
            Role::Agent,
            "USER_ID",
            [
                "查看用户的工单：/whois 用户ID",
                "A user's tickets: /whois USER_ID",
            ],
        )
    },
    CommandSpec {
        usage: [
            "用法：/ban 用户ID 原因（在工单话题中：/ban 原因）；/unban 用户ID",
            "Usage: /ban USER_ID REASON (in a ticket's topic: /ban REASON); /unban USER_ID",
        ],
        ..spec(
            "ban",
            Role::Agent,
            "USER_ID REASON",
            [
                "封禁用户：/ban 用户ID 原因",
                "Ban a user: /ban USER_ID REASON",
            ],
        )
    },
    spec(
        "unban",
        Role::Agent,
        "USER_ID",
        ["解除封禁：/unban 用户ID", "Lift a ban: /unban USER_ID"],
    ),
    // --- admins ---
    spec(
        "stats",
        Role::Admin,
        "",
        [
            "今天和近 7 天的数据",
            "Today's and the last 7 days' numbers",
        ],
    ),
    spec(
        "reload",
        Role::Admin,
        "",
        ["立即重新加载常见问题", "Reload the FAQ files now"],
    ),
    spec(
        "suggest",
        Role::Admin,
        "",
        ["建议新增的问题", "Suggested questions for the FAQ"],
    ),
    CommandSpec {
        usage: [
            "用法：/unlearn 条目ID 原文（照 /suggest 所列）",
            "Usage: /unlearn ENTRY_ID TEXT (as /suggest lists it)",
        ],
        ..spec(
            "unlearn",
            Role::Admin,
            "ENTRY_ID TEXT",
            ["删除学到的问法", "Forget a learned phrasing"],
        )
    },
    // --- anyone ---
    spec(
        "whoami",
        Role::Anyone,
        "",
        ["我的 Telegram ID", "My Telegram id"],
    ),
];

/// The declaration of `name` on `side`. A staff word typed by a user is
/// found too, so that it is refused rather than taken for a question; a
/// user's word typed by staff is not (`/cancel` is no staff command).
pub fn find(name: &str, side: Side) -> Option<&'static CommandSpec> {
    let mut matching = COMMANDS.iter().filter(|spec| spec.is_called(name));
    let preferred = |spec: &&CommandSpec| match side {
        Side::User => spec.role == Role::User,
        Side::Staff => spec.is_staff(),
    };
    matching.clone().find(preferred).or_else(|| {
        matching.find(|spec| match side {
            Side::User => true,
            Side::Staff => spec.role == Role::Anyone,
        })
    })
}

/// The commands of `role` (with those for anyone, for staff), in menu order.
pub fn menu(role: Role) -> impl Iterator<Item = &'static CommandSpec> {
    COMMANDS
        .iter()
        .filter(move |spec| spec.role == role || (role != Role::User && spec.role == Role::Anyone))
}

/// The agents' command list, one line: `Agent commands: /queue /next …`.
pub fn agent_command_list(language: &str) -> String {
    let list: Vec<String> = menu(Role::Agent).map(CommandSpec::synopsis).collect();
    let label = if language.starts_with("zh") {
        "客服命令："
    } else {
        "Agent commands: "
    };
    format!("{label}{}", list.join(" "))
}

/// A command a user can type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserCommand {
    Start,
    Help,
    Human,
    Cancel,
    Browse,
}

/// A command from an agent (typed in a private chat, the staff group, or
/// the console's agent side), or what their plain text and buttons mean.
#[derive(Debug, Clone, PartialEq)]
pub enum AgentCommand {
    Queue,
    Mine,
    Next,
    Claim(TicketId),
    Close(Option<TicketId>),
    Note(String),
    Faq(String),
    Link(String),
    Transfer(AgentId),
    /// A user's tickets so far, newest first.
    Whois(UserId),
    /// `/ban`, `/unban`.
    Ban(BanCommand),
    /// Plain text (and files) for the user of the ticket in hand.
    Reply {
        text: String,
        attachments: Vec<handoff::Attachment>,
    },
    Button(Action),
}

/// A command only admins may use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminCommand {
    /// Today's and the last 7 days' numbers.
    Stats,
    /// Reload the FAQ files now.
    Reload,
    /// New questions for entries and clusters of unanswered questions.
    Suggest,
    /// Forget a phrasing learned from traffic (`/unlearn ENTRY_ID TEXT`, as
    /// `/suggest` lists it); empty parts get the usage.
    Unlearn { entry_id: String, text: String },
}

impl AdminCommand {
    /// The command's name, for logs (never its arguments: a learned
    /// phrasing is a user's text).
    pub fn name(&self) -> &'static str {
        match self {
            AdminCommand::Stats => "stats",
            AdminCommand::Reload => "reload",
            AdminCommand::Suggest => "suggest",
            AdminCommand::Unlearn { .. } => "unlearn",
        }
    }
}

/// Whom `/ban` and `/unban` name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BanTarget {
    User(UserId),
    Ticket(TicketId),
}

/// `/ban` and `/unban`; without a target they mean the ticket of the topic
/// they were typed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BanCommand {
    Ban {
        target: Option<BanTarget>,
        reason: String,
    },
    Unban {
        target: Option<BanTarget>,
    },
}

impl BanCommand {
    /// Whom it names, if anyone.
    pub fn target(&self) -> Option<BanTarget> {
        match self {
            BanCommand::Ban { target, .. } | BanCommand::Unban { target } => *target,
        }
    }
}

/// What a typed command asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    User(UserCommand),
    Agent(AgentCommand),
    Admin(AdminCommand),
    /// Anyone's own Telegram id.
    WhoAmI,
}

impl Command {
    /// Who may use it.
    pub fn role(&self) -> Role {
        match self {
            Command::User(_) => Role::User,
            Command::Agent(_) => Role::Agent,
            Command::Admin(_) => Role::Admin,
            Command::WhoAmI => Role::Anyone,
        }
    }
}

/// The command word of `text` (`/claim@bot 3` → `claim`) and the rest.
pub fn split_command(text: &str) -> Option<(String, &str)> {
    let rest = text.trim().strip_prefix('/')?;
    let (word, arg) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    let word = word.split('@').next().unwrap_or(word).to_ascii_lowercase();
    (!word.is_empty()).then_some((word, arg.trim()))
}

/// Reads one typed line on `side`.
///
/// - `Ok(None)`: not a command. Plain text, or on the user side a word no
///   command has (`/什么`), which is then a question like any other text.
/// - `Err(Refusal::UnknownCommand)`: a staff member's unknown `/word`.
/// - `Err(Refusal::Usage { .. })`: a known command whose argument is
///   missing or malformed (`/claim abc`); `help` for `/help` and `/start`
///   on the staff side, which list the commands.
pub fn parse(text: &str, side: Side) -> Result<Option<Command>, Refusal> {
    let Some((word, arg)) = split_command(text) else {
        return Ok(None);
    };
    if side == Side::Staff && (word == "help" || word == "start") {
        return Err(Refusal::Usage {
            command: "help".to_owned(),
        });
    }
    let Some(spec) = find(&word, side) else {
        return match side {
            Side::User => Ok(None),
            Side::Staff => Err(Refusal::UnknownCommand),
        };
    };
    let usage = || Refusal::Usage {
        command: spec.name.to_owned(),
    };
    let ticket = || {
        arg.trim_start_matches('#')
            .parse::<TicketId>()
            .map_err(|_| usage())
    };
    let text_arg = || (!arg.is_empty()).then(|| arg.to_owned()).ok_or_else(usage);
    let agent = |command| Ok(Some(Command::Agent(command)));
    match (spec.role, spec.name) {
        (Role::User, "start") => Ok(Some(Command::User(UserCommand::Start))),
        (Role::User, "help") => Ok(Some(Command::User(UserCommand::Help))),
        (Role::User, "human") => Ok(Some(Command::User(UserCommand::Human))),
        (Role::User, "cancel") => Ok(Some(Command::User(UserCommand::Cancel))),
        (Role::User, "faq") => Ok(Some(Command::User(UserCommand::Browse))),
        (Role::Agent, "queue") => agent(AgentCommand::Queue),
        (Role::Agent, "mine") => agent(AgentCommand::Mine),
        (Role::Agent, "next") => agent(AgentCommand::Next),
        (Role::Agent, "claim") => agent(AgentCommand::Claim(ticket()?)),
        (Role::Agent, "close") if arg.is_empty() => agent(AgentCommand::Close(None)),
        (Role::Agent, "close") => agent(AgentCommand::Close(Some(ticket()?))),
        (Role::Agent, "note") => agent(AgentCommand::Note(text_arg()?)),
        (Role::Agent, "faq") => agent(AgentCommand::Faq(text_arg()?)),
        (Role::Agent, "link") => agent(AgentCommand::Link(text_arg()?)),
        (Role::Agent, "transfer") => {
            agent(AgentCommand::Transfer(arg.parse().map_err(|_| usage())?))
        }
        (Role::Agent, "whois") => agent(AgentCommand::Whois(arg.parse().map_err(|_| usage())?)),
        (Role::Agent, "ban" | "unban") => agent(AgentCommand::Ban(parse_ban(spec.name, arg))),
        (Role::Admin, "stats") => Ok(Some(Command::Admin(AdminCommand::Stats))),
        (Role::Admin, "reload") => Ok(Some(Command::Admin(AdminCommand::Reload))),
        (Role::Admin, "suggest") => Ok(Some(Command::Admin(AdminCommand::Suggest))),
        (Role::Admin, "unlearn") => {
            let (entry_id, text) = arg.split_once(char::is_whitespace).unwrap_or((arg, ""));
            Ok(Some(Command::Admin(AdminCommand::Unlearn {
                entry_id: entry_id.to_owned(),
                text: text.trim().to_owned(),
            })))
        }
        (Role::Anyone, "whoami") => Ok(Some(Command::WhoAmI)),
        _ => unreachable!("/{} is declared but has no parse arm", spec.name),
    }
}

/// `/ban [USER_ID | #TICKET] [REASON]`, `/unban [USER_ID | #TICKET]`.
fn parse_ban(word: &str, arg: &str) -> BanCommand {
    let (first, after) = arg.split_once(char::is_whitespace).unwrap_or((arg, ""));
    let target = if let Some(ticket) = first.strip_prefix('#').and_then(|t| t.parse().ok()) {
        Some(BanTarget::Ticket(ticket))
    } else {
        first.parse().ok().map(BanTarget::User)
    };
    let reason = if target.is_some() { after.trim() } else { arg };
    if word == "ban" {
        BanCommand::Ban {
            target,
            reason: reason.to_owned(),
        }
    } else {
        BanCommand::Unban { target }
    }
}

#[cfg(test)]
mod tests;
