//! The one place where replies become words, per language.
//!
//! The bot speaks Chinese and English; any other language gets English UI
//! text and the FAQ answer in its own language when the FAQ has it (else the
//! FAQ's default language). Output is plain text (no Markdown), so nothing a
//! user or the FAQ writes can break formatting; the Telegram shell sends it
//! without a parse mode.

use std::fmt::Write;

use handoff::{Author, Details, Priority, QueuePosition, Status};
use matcher::Faq;

use crate::commands::{self, Side};
use crate::{Action, BackAt, PastTicket, QueueLine, Refusal, Reply, TicketCard};

/// A message ready for a shell: text plus rows of buttons.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub text: String,
    pub buttons: Vec<Vec<Button>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Button {
    pub label: String,
    pub action: Action,
}

fn button(label: impl Into<String>, action: Action) -> Button {
    Button {
        label: label.into(),
        action,
    }
}

/// Picks the Chinese or the English text.
fn t<'a>(lang: &str, zh: &'a str, en: &'a str) -> &'a str {
    if lang == "zh" { zh } else { en }
}

const SECURITY_LINE_ZH: &str = "🔒 安全提示：客服绝不会索要您的密码、2FA 验证码或助记词。";
const SECURITY_LINE_EN: &str =
    "🔒 Security: support will never ask for your password, 2FA codes or seed phrase.";

/// Renders `reply` in `lang` with the FAQ it may quote.
pub fn render(reply: &Reply, lang: &str, faq: &Faq) -> Message {
    let plain = |text: String| Message {
        text,
        buttons: Vec::new(),
    };
    let human = || button(t(lang, "转人工", "Talk to a human"), Action::Human);
    match reply {
        Reply::Welcome => Message {
            text: format!(
                "{}\n\n{}",
                t(
                    lang,
                    "您好！我是客服助手。直接输入您的问题，我会立即从常见问题中为您解答；解答不了的，我会为您转接人工客服，并附上完整对话，您无需重复描述。",
                    "Hello! I'm the support assistant. Type your question and I'll answer it from our FAQ right away; if I can't, I'll hand you to a human agent with the whole conversation, so you won't have to repeat yourself."
                ),
                t(lang, SECURITY_LINE_ZH, SECURITY_LINE_EN)
            ),
            buttons: vec![vec![button(t(lang, "浏览常见问题", "Browse FAQ"), Action::Browse), human()]],
        },
        Reply::Help => Message {
            text: user_help(lang),
            buttons: vec![vec![button(t(lang, "浏览常见问题", "Browse FAQ"), Action::Browse), human()]],
        },
        Reply::Answer { entry_id } => {
            let text = faq
                .entry(entry_id)
                .map(|e| faq.answer(e, lang).trim_end().to_owned())
                .unwrap_or_default();
            Message {
                text,
                buttons: vec![vec![
                    button(t(lang, "已解决", "Solved"), Action::Solved(entry_id.clone())),
                    button(t(lang, "没帮助", "Not helpful"), Action::NotHelpful(entry_id.clone())),
                    human(),
                ]],
            }
        }
        Reply::DidYouMean { entry_ids } => {
            let mut buttons: Vec<Vec<Button>> = entry_ids
                .iter()
                .filter_map(|id| faq.entry(id))
                .map(|e| vec![button(faq.title(e, lang), Action::Pick(e.id.clone()))])
                .collect();
            let text = if buttons.len() == 1 {
                t(lang, "您是想问这个问题吗？", "Did you mean this?")
            } else {
                t(lang, "您是想问以下哪个问题？", "Did you mean one of these?")
            };
            buttons.push(vec![button(t(lang, "都不是", "None of these"), Action::NoneOfThese)]);
            Message {
                text: text.to_owned(),
                buttons,
            }
        }
        Reply::NoMatch => Message {
            text: t(
                lang,
                "抱歉，我没有找到能回答这个问题的内容。您可以换个说法再问，或者转人工客服。",
                "Sorry, I couldn't find an answer to that. You can rephrase it, or talk to a human agent.",
            )
            .to_owned(),
            buttons: vec![vec![human(), button(t(lang, "浏览常见问题", "Browse FAQ"), Action::Browse)]],
        },
        Reply::OfferHuman => Message {
            text: t(
                lang,
                "抱歉没能帮到您。要转接人工客服吗？对话记录会一并转给客服。",
                "Sorry that didn't help. Shall I hand you to a human agent? They'll see this conversation.",
            )
            .to_owned(),
            buttons: vec![vec![human()]],
        },
        Reply::GladItHelped => plain(t(lang, "很高兴能帮到您！还有其他问题随时问我。", "Glad that helped! Ask me anything else any time.").into()),
        Reply::Greeting => plain(t(lang, "您好！请直接描述您的问题。", "Hi! Please tell me your question.").into()),
        Reply::YouAreWelcome => plain(t(lang, "不客气！", "You're welcome!").into()),
        Reply::Categories => Message {
            text: t(lang, "请选择分类：", "Pick a category:").to_owned(),
            buttons: faq
                .categories
                .chunks(2)
                .map(|row| {
                    row.iter()
                        .map(|c| button(faq.category_title(c, lang), Action::Category(c.id.clone())))
                        .collect()
                })
                .collect(),
        },
        Reply::CategoryEntries { category } => {
            let title = faq.category(category).map(|c| faq.category_title(c, lang)).unwrap_or(category);
            let mut buttons: Vec<Vec<Button>> = faq
                .entries
                .iter()
                .filter(|e| e.category.as_deref() == Some(category.as_str()))
                .map(|e| vec![button(faq.title(e, lang), Action::Pick(e.id.clone()))])
                .collect();
            buttons.push(vec![button(t(lang, "« 返回分类", "« Categories"), Action::Browse)]);
            Message {
                text: title.to_owned(),
                buttons,
            }
        }
        Reply::SecretWarning => plain(
            t(
                lang,
                "⚠️ 您的消息中似乎包含密码、验证码、助记词或私钥，我们已将其隐藏，不会保存或展示给任何人。客服绝不会索要这些信息，请勿发送给任何人。如果已经泄露，请立即修改密码并重置 2FA。",
                "⚠️ Your message seemed to contain a password, code, seed phrase or private key. We hid it: it is not stored or shown to anyone. Support will never ask for these; never send them to anyone. If it may have leaked, change your password and reset 2FA now.",
            )
            .into(),
        ),
        Reply::Queued { ticket, queue, created } => {
            let zh = lang == "zh";
            let mut text = match (created, zh) {
                (true, true) => format!("已为您转接人工客服，工单号 #{ticket}。"),
                (true, false) => format!("I've handed you to a human agent, ticket #{ticket}."),
                (false, true) => format!("您的消息已加入工单 #{ticket}。"),
                (false, false) => format!("Added to your ticket #{ticket}."),
            };
            match queue.position {
                Some(QueuePosition { position, .. }) => {
                    let place = match (zh, position <= 1) {
                        (true, true) => "您是下一位。".to_owned(),
                        (true, false) => format!("您前面还有 {} 位用户。", position - 1),
                        (false, true) => "You are next in the queue.".to_owned(),
                        (false, false) => format!("You are number {position} in the queue."),
                    };
                    text.push_str(t(lang, "", " "));
                    text.push_str(&place);
                    if let Some(minutes) = queue.estimated_wait_minutes {
                        let _ = if zh {
                            write!(text, "预计等待约 {minutes} 分钟。")
                        } else {
                            write!(text, " Estimated wait: about {minutes} min.")
                        };
                    }
                    text.push_str(t(lang, "输入 /cancel 可退出排队。", " Send /cancel to leave the queue."));
                }
                None => text.push_str(t(lang, " 客服正在处理。", " An agent is on it.")),
            }
            if let Some(back) = &queue.back_at {
                let back = back_at_text(back, lang);
                let _ = if zh {
                    write!(text, "\n现在是非工作时间，客服将于{back}回来处理，您的消息不会丢失。")
                } else {
                    write!(text, "\nOur agents are away right now and will be back {back}; nothing you send is lost.")
                };
            }
            plain(text)
        }
        Reply::AskDetails { .. } => Message {
            text: t(
                lang,
                "为了更快处理，如方便请发送您的 UID、订单号或交易哈希（不要发送密码或验证码）。没有的话点“跳过”。",
                "To speed things up, send your UID, order id or transaction hash if you have one (never a password or code). Otherwise tap Skip.",
            )
            .to_owned(),
            buttons: vec![vec![button(t(lang, "跳过", "Skip"), Action::SkipDetails)]],
        },
        Reply::DetailsNoted => plain(t(lang, "好的，已记录。客服会尽快回复您。", "Thanks, noted. An agent will reply soon.").into()),
        Reply::AgentJoined { alias } => plain(if lang == "zh" {
            format!("客服 {alias} 已接入，正在为您处理。")
        } else {
            format!("{alias} from support has joined and is looking into it.")
        }),
        Reply::AgentChanged { alias } => plain(if lang == "zh" {
            format!("您的工单已转交给客服 {alias}，由他/她继续为您处理。")
        } else {
            format!("Your ticket is now with {alias} from support, who will carry on.")
        }),
        Reply::FromAgent { alias, text, attachments } => {
            let mut out = format!("{alias}: {text}");
            for a in attachments {
                let _ = write!(out, "\n[{}]", a.kind);
            }
            plain(out)
        }
        Reply::FaqFromAgent { alias, entry_id } => {
            let answer = faq.entry(entry_id).map(|e| faq.answer(e, lang).trim_end()).unwrap_or_default();
            plain(format!("{alias}: {answer}"))
        }
        Reply::TicketClosed { ticket } => Message {
            text: if lang == "zh" {
                format!("工单 #{ticket} 已关闭。请为本次服务打分（1–5 分）：")
            } else {
                format!("Ticket #{ticket} is closed. How would you rate the help you got (1–5)?")
            },
            buttons: rating_buttons(*ticket),
        },
        Reply::ChooseRating { ticket } => Message {
            text: t(lang, "请选择 1–5 分：", "Please choose a rating from 1 to 5:").to_owned(),
            buttons: rating_buttons(*ticket),
        },
        Reply::ThanksForRating { score } => plain(if lang == "zh" {
            format!("感谢您的评分（{score} 分）！")
        } else {
            format!("Thank you for your rating ({score}/5)!")
        }),
        Reply::Cancelled { ticket } => plain(if lang == "zh" {
            format!("已退出排队，工单 #{ticket} 已取消。")
        } else {
            format!("You've left the queue; ticket #{ticket} is cancelled.")
        }),
        Reply::NothingToCancel => plain(t(lang, "您目前没有排队中的工单。", "You have no open ticket to cancel.").into()),
        Reply::StaleButton => plain(
            t(lang, "这个按钮已经用过了。", "That button has already been used.").to_owned(),
        ),
        Reply::CannotHandle => Message {
            text: t(
                lang,
                "抱歉，这类消息我处理不了。请用文字描述您的问题，或转人工客服。",
                "Sorry, I can't handle that kind of message. Please describe your question in words, or talk to a human.",
            )
            .to_owned(),
            buttons: vec![vec![human()]],
        },
        // --- staff ---
        Reply::NewTicket(card) => Message {
            text: format!("🆕 {}", ticket_card(card, faq)),
            buttons: vec![vec![button("Claim", Action::Claim(card.ticket.id)), button("Close", Action::Close(card.ticket.id))]],
        },
        Reply::Claimed(card) => plain(format!("✅ You claimed {}", ticket_card(card, faq))),
        Reply::ClaimedBy { ticket, agent } => plain(format!("#{ticket} claimed by {agent}")),
        Reply::TransferredToYou { card, from } => {
            plain(format!("↪️ {from} transferred to you {}", ticket_card(card, faq)))
        }
        Reply::TransferredTo { ticket, agent } => plain(format!("#{ticket} transferred to {agent}; the user is told.")),
        Reply::UserWrote { ticket, user, text, attachments } => {
            let mut out = format!("#{ticket} {}: {text}", user_name(user));
            for a in attachments {
                let _ = write!(out, "\n[{}: {}]", a.kind, a.file_id);
            }
            plain(out)
        }
        Reply::UserCancelled { ticket } => plain(format!("#{ticket} was cancelled by the user.")),
        Reply::UserRated { ticket, score } => plain(format!("#{ticket} rated {score}/5 by the user.")),
        Reply::StillWaiting { ticket, user, minutes } => Message {
            text: format!("⏰ #{ticket} ({}) has waited {minutes} min and is still unclaimed.", user_name(user)),
            buttons: vec![vec![button("Claim", Action::Claim(*ticket))]],
        },
        Reply::Queue(lines) if lines.is_empty() => plain("The queue is empty.".into()),
        Reply::Queue(lines) => plain(queue_text(lines)),
        Reply::Mine(lines) if lines.is_empty() => plain("You hold no open ticket: /queue, then /claim N or /next.".into()),
        Reply::Mine(lines) => plain(mine_text(lines)),
        Reply::BanRecorded { user, reason } => plain(if lang == "zh" {
            format!("用户 {user} 已被封禁。原因：{reason}")
        } else {
            format!("User {user} is banned. Reason: {reason}")
        }),
        Reply::Unbanned { user, was_banned: true } => plain(if lang == "zh" {
            format!("用户 {user} 已解除封禁。")
        } else {
            format!("User {user} is unbanned.")
        }),
        Reply::Unbanned { user, was_banned: false } => plain(if lang == "zh" {
            format!("用户 {user} 未被封禁。")
        } else {
            format!("User {user} is not banned.")
        }),
        Reply::UserTickets { user, tickets } if tickets.is_empty() => plain(format!("User {user} has no tickets.")),
        Reply::UserTickets { user, tickets } => plain(user_tickets_text(*user, tickets)),
        Reply::ClosedByAgent { ticket } => plain(format!("#{ticket} closed; the user is asked for a rating.")),
        Reply::NoteAdded { ticket } => plain(format!("Note added to #{ticket} (internal, not sent to the user).")),
        Reply::Linked { ticket, entry_id } => plain(format!("#{ticket}: recorded that `{entry_id}` should have answered.")),
        Reply::Delivered { ticket } => plain(format!("→ sent to #{ticket}")),
        Reply::Refused(refusal @ Refusal::Usage { command }) if command == "faq" || command == "link" => {
            // The ids to choose from: agents have no other way to see them
            // from a chat.
            let ids: Vec<&str> = faq.entries.iter().map(|e| e.id.as_str()).collect();
            plain(format!("{}\nFAQ ids: {}", refusal_text(refusal), ids.join(", ")))
        }
        Reply::Refused(refusal @ Refusal::NotClaimedYet { ticket }) => Message {
            text: refusal_text(refusal),
            buttons: vec![vec![button("Claim", Action::Claim(*ticket))]],
        },
        Reply::Refused(refusal) => plain(refusal_text(refusal)),
    }
}

/// When agents are back, in the reader's language: `Wed 09:00 (UTC+08:00)`,
/// `周三 09:00（UTC+08:00）`.
fn back_at_text(back: &BackAt, lang: &str) -> String {
    const EN: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const ZH: [&str; 7] = ["周一", "周二", "周三", "周四", "周五", "周六", "周日"];
    let day = back.weekday as usize % 7;
    let minutes = back.utc_offset_minutes.unsigned_abs();
    let sign = if back.utc_offset_minutes < 0 {
        '-'
    } else {
        '+'
    };
    let zone = format!("UTC{sign}{:02}:{:02}", minutes / 60, minutes % 60);
    let time = format!("{:02}:{:02}", back.hour, back.minute);
    if lang == "zh" {
        format!("{} {time}（{zone}）", ZH[day])
    } else {
        format!("{} {time} ({zone})", EN[day])
    }
}

fn user_name(user: &handoff::UserInfo) -> String {
    match (&user.display_name, &user.username) {
        (Some(name), Some(username)) => format!("{name} (@{username})"),
        (Some(name), None) => name.clone(),
        (None, Some(username)) => format!("@{username}"),
        (None, None) => format!("user {}", user.id),
    }
}

fn priority_label(priority: Priority) -> &'static str {
    match priority {
        Priority::Urgent => "URGENT",
        Priority::Vip => "VIP",
        Priority::Normal => "normal",
    }
}

/// The context card agents see: who, what, and the whole conversation.
pub fn ticket_card(card: &TicketCard, faq: &Faq) -> String {
    let mut out = format!(
        "ticket #{} · {} · {} · {}\nlanguage: {}",
        card.ticket.id,
        priority_label(card.ticket.priority),
        card.ticket.category.as_deref().unwrap_or("uncategorised"),
        user_name(&card.ticket.user),
        card.ticket.user.language,
    );
    let details = details_text(&card.ticket.details);
    if !details.is_empty() {
        let _ = write!(out, "\n{details}");
    }
    if !card.transcript.is_empty() {
        // Times in the desk's zone (the business hours' offset), labelled.
        let offset = chrono::FixedOffset::east_opt(card.utc_offset_minutes * 60)
            .unwrap_or_else(|| chrono::Offset::fix(&chrono::Utc));
        let zone = if card.utc_offset_minutes == 0 {
            "UTC".to_owned()
        } else {
            format!("UTC{offset}")
        };
        let _ = write!(out, "\n— transcript (times {zone}) —");
        for entry in &card.transcript {
            let who = match entry.author {
                Author::User => "user".to_owned(),
                Author::Bot => "bot".to_owned(),
                Author::Agent(id) => match card.aliases.iter().find(|(known, _)| *known == id) {
                    Some((_, alias)) => format!("agent {alias}"),
                    None => format!("agent {id}"),
                },
                Author::System => "system".to_owned(),
            };
            let _ = write!(
                out,
                "\n[{}] {who}: {}",
                entry.at.with_timezone(&offset).format("%H:%M"),
                entry.text
            );
            for a in &entry.attachments {
                let _ = write!(out, " [{}]", a.kind);
            }
            if !entry.candidates.is_empty() {
                let list: Vec<String> = entry
                    .candidates
                    .iter()
                    .take(3)
                    .map(|c| format!("{} {:.2}", c.entry_id, c.confidence))
                    .collect();
                let _ = write!(out, "\n    candidates: {}", list.join(", "));
            }
        }
    }
    let _ = faq;
    out
}

/// One row of ★ … ★★★★★ rating the closed `ticket`.
fn rating_buttons(ticket: handoff::TicketId) -> Vec<Vec<Button>> {
    vec![
        (1..=5)
            .map(|score| button("★".repeat(score as usize), Action::Rate { ticket, score }))
            .collect(),
    ]
}

fn details_text(details: &Details) -> String {
    let mut parts = Vec::new();
    for (label, values) in [
        ("UID", &details.uids),
        ("order", &details.order_ids),
        ("tx", &details.tx_hashes),
        ("email", &details.emails),
    ] {
        if !values.is_empty() {
            parts.push(format!("{label}: {}", values.join(", ")));
        }
    }
    parts.join(" · ")
}

/// `/help` for users: the user commands of the vocabulary.
fn user_help(lang: &str) -> String {
    let mut out = t(lang, "直接输入问题即可。", "Just type your question.").to_owned();
    for spec in commands::menu(commands::Role::User).filter(|spec| spec.name != "help") {
        let _ = write!(out, "\n/{} {}", spec.name, spec.help(lang));
    }
    out
}

fn user_tickets_text(user: handoff::UserId, tickets: &[PastTicket]) -> String {
    let count = match tickets.len() {
        1 => "1 ticket".to_owned(),
        n => format!("{n} tickets"),
    };
    let mut out = format!("User {user}: {count}, newest first:");
    for ticket in tickets {
        let status = match ticket.status {
            Status::Waiting => "waiting",
            Status::Claimed => "claimed",
            Status::Closed => "closed",
            Status::Cancelled => "cancelled",
        };
        let _ = write!(
            out,
            "\n#{} · {status} · {} · {}",
            ticket.id,
            ticket.category.as_deref().unwrap_or("uncategorised"),
            ticket.opened_at.format("%Y-%m-%d"),
        );
        if let Some(score) = ticket.rating {
            let _ = write!(out, " · {}", "★".repeat(usize::from(score)));
        }
    }
    out
}

fn mine_text(lines: &[QueueLine]) -> String {
    ticket_list(format!("You hold {}:", lines.len()), lines, false)
}

fn queue_text(lines: &[QueueLine]) -> String {
    ticket_list(format!("{} waiting:", lines.len()), lines, true)
}

/// A header, then a line per ticket (with how long it has waited, for the
/// queue).
fn ticket_list(mut out: String, lines: &[QueueLine], waiting: bool) -> String {
    for line in lines {
        let _ = write!(
            out,
            "\n#{} · {} · {} · {}",
            line.id,
            priority_label(line.priority),
            line.category.as_deref().unwrap_or("uncategorised"),
            user_name(&line.user),
        );
        if waiting {
            let _ = write!(out, " · waiting {} min", line.waiting_minutes);
        }
    }
    out
}

fn refusal_text(refusal: &Refusal) -> String {
    match refusal {
        Refusal::NotAllowed => "Sorry, that command is for support staff only.".into(),
        Refusal::NoSuchTicket(id) => format!("There is no ticket #{id}."),
        Refusal::AlreadyClaimed { ticket, by } => {
            format!("#{ticket} is already claimed by agent {by}.")
        }
        Refusal::NotOpen { ticket } => format!("#{ticket} is not open."),
        Refusal::NoTicketInHand => {
            "You have no ticket in hand: /queue, then /claim N or /next.".into()
        }
        Refusal::NotYours { ticket } => format!("#{ticket} is claimed by another agent."),
        Refusal::UnknownEntry(id) => format!("There is no FAQ entry `{id}`."),
        Refusal::UnknownCommand => {
            format!("Unknown command. {}", commands::agent_command_list("en"))
        }
        Refusal::Usage { command } => match commands::find(command, Side::Staff) {
            Some(spec) if command != "help" => spec.usage("en"),
            _ => commands::agent_command_list("en"),
        },
        Refusal::NoWaitingTickets => "No ticket is waiting.".into(),
        Refusal::NotClaimedYet { ticket } => format!(
            "#{ticket} is not claimed yet: claim it first (/claim {ticket}), then write; nothing was sent."
        ),
        Refusal::TransferToSelf => {
            "That is you: /transfer AGENT_ID hands the ticket to another agent.".into()
        }
        Refusal::StaffCannotBeBanned => "Staff cannot be banned.".into(),
        Refusal::NotAnAgent(id) => format!(
            "{id} is not an agent here: /transfer takes the numeric Telegram id of a configured agent."
        ),
    }
}
