//! What the bot says, as values. Wording lives in one place, `render`; the
//! engine only picks a [`Reply`] and the buttons it carries ([`Action`]).

use handoff::{
    AgentId, Attachment, Priority, QueuePosition, Status, Ticket, TicketId, TranscriptEntry,
    UserId, UserInfo,
};
use serde::{Deserialize, Serialize};

/// A button press, as carried in Telegram's callback data (≤ 64 bytes) and
/// typed by number in the console.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Action {
    Solved(String),
    NotHelpful(String),
    Human,
    Pick(String),
    NoneOfThese,
    Browse,
    Category(String),
    Rate { ticket: TicketId, score: u8 },
    SkipDetails,
    Claim(TicketId),
    Close(TicketId),
}

impl Action {
    /// The compact text form used as callback data.
    pub fn to_data(&self) -> String {
        match self {
            Action::Solved(id) => format!("ok:{id}"),
            Action::NotHelpful(id) => format!("no:{id}"),
            Action::Human => "human".into(),
            Action::Pick(id) => format!("pick:{id}"),
            Action::NoneOfThese => "none".into(),
            Action::Browse => "browse".into(),
            Action::Category(id) => format!("cat:{id}"),
            Action::Rate { ticket, score } => format!("rate:{ticket}:{score}"),
            Action::SkipDetails => "skip".into(),
            Action::Claim(t) => format!("claim:{t}"),
            Action::Close(t) => format!("close:{t}"),
        }
    }

    /// Parses callback data; `None` for anything malformed (never trusted).
    pub fn parse(data: &str) -> Option<Action> {
        let (head, rest) = data.split_once(':').unwrap_or((data, ""));
        let id = || (!rest.is_empty()).then(|| rest.to_owned());
        Some(match head {
            "ok" => Action::Solved(id()?),
            "no" => Action::NotHelpful(id()?),
            "human" if rest.is_empty() => Action::Human,
            "pick" => Action::Pick(id()?),
            "none" if rest.is_empty() => Action::NoneOfThese,
            "browse" if rest.is_empty() => Action::Browse,
            "cat" => Action::Category(id()?),
            "rate" => {
                let (ticket, score) = rest.split_once(':')?;
                let score: u8 = score.parse().ok()?;
                if !(1..=5).contains(&score) {
                    return None;
                }
                Action::Rate {
                    ticket: ticket.parse().ok()?,
                    score,
                }
            }
            "skip" if rest.is_empty() => Action::SkipDetails,
            "claim" => Action::Claim(rest.parse().ok()?),
            "close" => Action::Close(rest.parse().ok()?),
            _ => return None,
        })
    }
}

/// Where a waiting user stands, as the desk found it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct QueueInfo {
    /// `None` once an agent has the ticket.
    pub position: Option<QueuePosition>,
    /// From recent throughput; `None` without enough history.
    pub estimated_wait_minutes: Option<u64>,
    /// Outside business hours: when agents are back, in the desk's local
    /// time (rendered `Mon 09:00 (UTC+08:00)`, `周一 09:00（UTC+08:00）`).
    pub back_at: Option<BackAt>,
}

/// A moment in the desk's local time: weekday, time of day and the offset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackAt {
    /// 0 for Monday … 6 for Sunday.
    pub weekday: u32,
    pub hour: u32,
    pub minute: u32,
    /// The local time's offset from UTC in minutes (480 for UTC+8).
    pub utc_offset_minutes: i32,
}

/// Everything staff see about a ticket when it opens or is claimed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TicketCard {
    /// The ticket as stored, its details completed from the whole
    /// transcript (details a user sent later are included).
    pub ticket: Ticket,
    pub transcript: Vec<TranscriptEntry>,
    /// The aliases of the agents who wrote in the transcript, from the
    /// staff configuration (an agent missing here is shown by id).
    #[serde(default)]
    pub aliases: Vec<(AgentId, String)>,
    /// The transcript's times are shown at this offset from UTC, in minutes
    /// (the business hours' offset; 0 without business hours).
    #[serde(default)]
    pub utc_offset_minutes: i32,
}

/// A line of the agents' queue listing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueueLine {
    pub id: TicketId,
    pub priority: Priority,
    pub category: Option<String>,
    pub user: UserInfo,
    pub waiting_minutes: i64,
}

/// One of a user's tickets, as `/whois` lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PastTicket {
    pub id: TicketId,
    pub status: Status,
    pub category: Option<String>,
    pub opened_at: chrono::DateTime<chrono::Utc>,
    pub rating: Option<u8>,
}

/// Why an agent's command did nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Refusal {
    /// Not a configured agent or admin.
    NotAllowed,
    NoSuchTicket(TicketId),
    AlreadyClaimed {
        ticket: TicketId,
        by: AgentId,
    },
    NotOpen {
        ticket: TicketId,
    },
    /// The agent has no ticket in hand to reply to or close.
    NoTicketInHand,
    /// The ticket is claimed by another agent.
    NotYours {
        ticket: TicketId,
    },
    UnknownEntry(String),
    UnknownCommand,
    /// A known command without its argument, or with a malformed one
    /// (`/claim abc`, `/faq`); `help` for `/help` and `/start`: the list.
    Usage {
        command: String,
    },
    NoWaitingTickets,
    /// `/transfer` to oneself.
    TransferToSelf,
    /// A reply (or note, FAQ answer, link) on a ticket nobody claimed yet.
    NotClaimedYet {
        ticket: TicketId,
    },
    /// `/transfer` to an id that is not a configured agent.
    NotAnAgent(AgentId),
    /// `/ban` naming an agent or admin.
    StaffCannotBeBanned,
}

/// One thing the bot says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Reply {
    // --- to users ---
    Welcome,
    Help,
    Answer {
        entry_id: String,
    },
    DidYouMean {
        entry_ids: Vec<String>,
    },
    NoMatch,
    /// After "none of these" or "not helpful" with nothing better to offer.
    OfferHuman,
    GladItHelped,
    Greeting,
    YouAreWelcome,
    Categories,
    CategoryEntries {
        category: String,
    },
    SecretWarning,
    /// A ticket opened (or the user's open one got this message).
    Queued {
        ticket: TicketId,
        queue: QueueInfo,
        created: bool,
    },
    AskDetails {
        ticket: TicketId,
    },
    DetailsNoted,
    AgentJoined {
        alias: String,
    },
    /// The user's ticket went to another agent (`/transfer`).
    AgentChanged {
        alias: String,
    },
    FromAgent {
        alias: String,
        text: String,
        attachments: Vec<Attachment>,
    },
    FaqFromAgent {
        alias: String,
        entry_id: String,
    },
    TicketClosed {
        ticket: TicketId,
    },
    ThanksForRating {
        score: u8,
    },
    /// A typed rating outside 1–5 while a rating is pending: the buttons
    /// again.
    ChooseRating {
        ticket: TicketId,
    },
    Cancelled {
        ticket: TicketId,
    },
    NothingToCancel,
    /// Something the bot cannot handle here (e.g. a sticker outside a handoff).
    CannotHandle,
    /// A button that no longer does anything (its choice was made, its
    /// rating given, its entry removed): Telegram shows it as a short toast
    /// on the button, the console as a line.
    StaleButton,
    // --- to staff ---
    NewTicket(TicketCard),
    UserWrote {
        ticket: TicketId,
        user: UserInfo,
        text: String,
        attachments: Vec<Attachment>,
    },
    UserCancelled {
        ticket: TicketId,
    },
    UserRated {
        ticket: TicketId,
        score: u8,
    },
    /// An unclaimed ticket has waited past the configured limit.
    StillWaiting {
        ticket: TicketId,
        user: UserInfo,
        minutes: i64,
    },
    Queue(Vec<QueueLine>),
    /// `/mine`: the open tickets the agent holds.
    Mine(Vec<QueueLine>),
    /// `/ban`: recorded.
    BanRecorded {
        user: UserId,
        reason: String,
    },
    /// `/unban`: lifted, or there was no ban to lift.
    Unbanned {
        user: UserId,
        was_banned: bool,
    },
    /// `/whois`: a user's tickets so far, newest first.
    UserTickets {
        user: UserId,
        tickets: Vec<PastTicket>,
    },
    Claimed(TicketCard),
    /// To the agent a ticket was transferred to, with its card.
    TransferredToYou {
        card: TicketCard,
        from: String,
    },
    /// To the agent who transferred it (and the ticket's topic).
    TransferredTo {
        ticket: TicketId,
        agent: String,
    },
    /// Told to the other agents when one claims.
    ClaimedBy {
        ticket: TicketId,
        agent: String,
    },
    ClosedByAgent {
        ticket: TicketId,
    },
    NoteAdded {
        ticket: TicketId,
    },
    Linked {
        ticket: TicketId,
        entry_id: String,
    },
    Delivered {
        ticket: TicketId,
    },
    Refused(Refusal),
}

impl Reply {
    /// The attachments a relayed message carries (a user's to staff, an
    /// agent's to the user); none for any other reply.
    pub fn attachments(&self) -> &[Attachment] {
        match self {
            Reply::FromAgent { attachments, .. } | Reply::UserWrote { attachments, .. } => {
                attachments
            }
            _ => &[],
        }
    }

    /// The same reply without its attachments: the caption of a relayed
    /// photo or document, which travels as a copy of the original message.
    pub fn without_attachments(&self) -> Reply {
        let mut bare = self.clone();
        if let Reply::FromAgent { attachments, .. } | Reply::UserWrote { attachments, .. } =
            &mut bare
        {
            attachments.clear();
        }
        bare
    }
}
