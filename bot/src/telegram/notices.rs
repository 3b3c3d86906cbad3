//! Words only the Telegram shell needs: flood and ban notices, the answer
//! in a chat where the bot was added by mistake, ban confirmations, and the
//! command menus. They belong in `render` with the rest of the words (the
//! engine has no `Reply` for them yet); kept here, in one place, until it
//! does. Chinese and English like everything else; staff get
//! `staff.language`.

use teloxide::types::BotCommand;

/// Something the shell itself says.
#[derive(Debug, Clone, PartialEq)]
pub enum Notice {
    /// Too many messages in the flood window: said once per window.
    Paused {
        seconds: u64,
    },
    /// The user is banned: said once per ban.
    Banned,
    /// In a group or channel that is not a staff group.
    PrivateOnly,
    /// Plain text (or a file) from someone who is not staff in a ticket's
    /// topic: not a command, and not sent to the user. Said once a person.
    NotSentFromTopic,
    /// `/whoami`: the sender's user id, and the group's chat id in a group.
    WhoAmI {
        user: i64,
        group: Option<i64>,
    },
    // --- to staff ---
    BanRecorded {
        user: i64,
        reason: String,
    },
    Unbanned {
        user: i64,
    },
    NotBanned {
        user: i64,
    },
    BanUsage,
    StaffCannotBeBanned,
}

fn t<'a>(lang: &str, zh: &'a str, en: &'a str) -> &'a str {
    if lang == "zh" { zh } else { en }
}

/// The text of `notice` in `lang`.
pub fn text(notice: &Notice, lang: &str) -> String {
    match notice {
        Notice::Paused { seconds } => {
            if lang == "zh" {
                format!("您发送消息太快了，我先暂停处理，{seconds} 秒后再继续。之前的消息都已收到。")
            } else {
                format!(
                    "You're sending messages very quickly, so I'll pause for {seconds} seconds. Everything before this was received."
                )
            }
        }
        Notice::Banned => t(
            lang,
            "您已被限制使用本客服机器人。",
            "You can no longer use this support chat.",
        )
        .to_owned(),
        Notice::PrivateOnly => "这个客服机器人只在私聊中提供服务，请直接私聊我。\nThis support bot only works in a private chat: please message me directly.".to_owned(),
        Notice::NotSentFromTopic => t(
            lang,
            "您在工单话题中发的消息没有转给用户：只有客服人员在话题中的消息会转给用户。",
            "Your message in a ticket's topic was not sent to the user: only support agents' messages in a topic reach the user.",
        )
        .to_owned(),
        Notice::WhoAmI { user, group } => {
            let mut text = if lang == "zh" {
                format!("您的 Telegram 用户 ID：{user}")
            } else {
                format!("Your Telegram user id: {user}")
            };
            if let Some(group) = group {
                if lang == "zh" {
                    text.push_str(&format!("\n本群的 chat ID：{group}"));
                } else {
                    text.push_str(&format!("\nThis group's chat id: {group}"));
                }
            }
            text
        }
        Notice::BanRecorded { user, reason } => {
            if lang == "zh" {
                format!("用户 {user} 已被封禁。原因：{reason}")
            } else {
                format!("User {user} is banned. Reason: {reason}")
            }
        }
        Notice::Unbanned { user } => {
            if lang == "zh" {
                format!("用户 {user} 已解除封禁。")
            } else {
                format!("User {user} is unbanned.")
            }
        }
        Notice::NotBanned { user } => {
            if lang == "zh" {
                format!("用户 {user} 未被封禁。")
            } else {
                format!("User {user} is not banned.")
            }
        }
        Notice::BanUsage => t(
            lang,
            "用法：/ban 用户ID 原因（在工单话题中：/ban 原因）；/unban 用户ID",
            "Usage: /ban USER_ID REASON (in a ticket's topic: /ban REASON); /unban USER_ID",
        )
        .to_owned(),
        Notice::StaffCannotBeBanned => t(lang, "不能封禁客服人员。", "Staff cannot be banned.").to_owned(),
    }
}

fn command(name: &str, description: &str) -> BotCommand {
    BotCommand::new(name, description)
}

/// The menu users see in a private chat.
pub fn user_commands(lang: &str) -> Vec<BotCommand> {
    vec![
        command("start", t(lang, "开始", "Start over")),
        command(
            "faq",
            t(lang, "按分类浏览常见问题", "Browse the FAQ by category"),
        ),
        command("human", t(lang, "转人工客服", "Talk to a human agent")),
        command("cancel", t(lang, "退出排队", "Leave the queue")),
        command("help", t(lang, "帮助", "Help")),
    ]
}

/// The menu agents see in the staff group and their private chat.
pub fn agent_commands(lang: &str) -> Vec<BotCommand> {
    vec![
        command("queue", t(lang, "等待中的工单", "Tickets waiting")),
        command("next", t(lang, "接下一个工单", "Claim the next ticket")),
        command(
            "claim",
            t(lang, "接工单：/claim 编号", "Claim a ticket: /claim N"),
        ),
        command("mine", t(lang, "我的工单", "My tickets")),
        command("close", t(lang, "关闭工单", "Close the ticket")),
        command(
            "note",
            t(
                lang,
                "内部备注（用户看不到）",
                "Internal note (the user never sees it)",
            ),
        ),
        command(
            "faq",
            t(
                lang,
                "发送常见问题答案：/faq 条目ID",
                "Send an FAQ answer: /faq ID",
            ),
        ),
        command(
            "link",
            t(
                lang,
                "记录应回答的条目：/link 条目ID",
                "Record which entry should have answered: /link ID",
            ),
        ),
        command(
            "transfer",
            t(
                lang,
                "转给其他客服：/transfer 客服ID",
                "Hand over: /transfer AGENT_ID",
            ),
        ),
        command(
            "ban",
            t(
                lang,
                "封禁用户：/ban 用户ID 原因",
                "Ban a user: /ban USER_ID REASON",
            ),
        ),
        command(
            "unban",
            t(
                lang,
                "解除封禁：/unban 用户ID",
                "Lift a ban: /unban USER_ID",
            ),
        ),
    ]
}
