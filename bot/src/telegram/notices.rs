//! Words only the Telegram shell needs: flood and ban notices, the answer
//! in a chat where the bot was added by mistake, `/whoami`, and the
//! command menus (generated from the command vocabulary). They belong in `render` with the rest of the words (the
//! engine has no `Reply` for them yet); kept here, in one place, until it
//! does. Chinese and English like everything else; staff get
//! `staff.language`.

use engine::commands::{self, Role};
use teloxide::types::BotCommand;

/// Something the shell itself says.
#[derive(Debug, Clone, PartialEq)]
pub enum Notice {
    /// Too many messages in the flood window: said once per window.
    Paused { seconds: u64 },
    /// The user is banned: said once per ban.
    Banned,
    /// In a group or channel that is not a staff group.
    PrivateOnly,
    /// Plain text (or a file) from someone who is not staff in a ticket's
    /// topic: not a command, and not sent to the user. Said once a person.
    NotSentFromTopic,
    /// `/whoami`: the sender's user id, and the group's chat id in a group.
    WhoAmI { user: i64, group: Option<i64> },
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
    }
}

/// The menu of `role` in `lang`, from the one command vocabulary.
fn menu(role: Role, lang: &str) -> Vec<BotCommand> {
    commands::menu(role)
        .map(|spec| BotCommand::new(spec.name, spec.help(lang)))
        .collect()
}

/// The menu users see in a private chat.
pub fn user_commands(lang: &str) -> Vec<BotCommand> {
    menu(Role::User, lang)
}

/// The menu agents see in the staff group and their private chat.
pub fn agent_commands(lang: &str) -> Vec<BotCommand> {
    menu(Role::Agent, lang)
}
