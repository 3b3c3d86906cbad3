//! A user's conversation: the state kept between messages, the events a
//! user sends, and [`Engine`], which turns one event into [`Effect`]s.

use std::collections::HashSet;

use handoff::{
    Attachment, Author, CandidateRecord, NewEntry, NewTicket, Opened, Priority, QueryOutcome,
    QueryRecord, Status, TicketId, UserId, UserInfo,
};
use matcher::{Candidate, Decision, Faq, Matcher, Outcome};
use serde::{Deserialize, Serialize};

use crate::commands::UserCommand;
use crate::language::{detect_language, english_words, normalize_language_code};
use crate::reply::{Action, QueueInfo, Reply, TicketCard};
use crate::understand::{Understanding, understand};

/// How many turns of a conversation the bot keeps before a handoff; the
/// oldest go first. A ticket gets them all.
pub const MAX_TURNS: usize = 40;

/// The FAQ and its index: one immutable version, swapped whole on reload.
pub struct Knowledge {
    pub faq: Faq,
    /// The index of the FAQ and of the phrasings learned from traffic.
    pub matcher: Matcher,
    /// Those phrasings (entry id, text), which the FAQ files do not have.
    pub learned: Vec<(String, String)>,
}

/// Who is special: read from settings, fixed while the bot runs.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    pub vip_users: HashSet<UserId>,
}

/// What the bot remembers of a chat with one user between messages.
/// Stored as JSON by the desk; unknown or missing fields default, so the
/// shape can grow without a migration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Conversation {
    /// The language the bot last spoke with this user.
    pub language: Option<String>,
    /// The exchange so far, kept for the ticket if there is a handoff.
    pub turns: Vec<NewEntry>,
    /// The last question the matcher saw and what it ranked.
    pub last_question: Option<String>,
    pub last_candidates: Vec<Candidate>,
    /// Entries already shown for the last question ("not helpful" skips them).
    pub shown: Vec<String>,
    /// What the bot waits for from the user besides questions: details
    /// of a new ticket, a rating of a closed one, or both.
    #[serde(flatten)]
    pub awaiting: Awaiting,
    /// Entries whose answer got its "Solved" or "Not helpful" since it was
    /// last given: a second press on the same answer is stale.
    pub feedback_given: Vec<String>,
    /// `language` is the one the user wrote in (not only Telegram's
    /// `language_code`, as after a bare `/start`): only then do a word or
    /// two in another language keep it.
    pub language_written: bool,
}

/// What the bot waits for from the user, besides any question: the states
/// a conversation can really be in. Both at once is real: a user rates a
/// closed ticket with its buttons while a new one waits for details.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "AwaitingFields", into = "AwaitingFields")]
pub enum Awaiting {
    #[default]
    Nothing,
    /// The bot asked once for details of this new ticket; the next text
    /// (or the Skip button) answers it.
    Details(TicketId),
    /// This closed ticket waits for the user's rating.
    Rating(TicketId),
    /// A rating of the closed ticket `rating`, while the new ticket
    /// `details` waits for details.
    RatingAndDetails { rating: TicketId, details: TicketId },
}

impl Awaiting {
    /// The ticket whose details the bot asked for.
    pub fn details(self) -> Option<TicketId> {
        match self {
            Awaiting::Details(ticket)
            | Awaiting::RatingAndDetails {
                details: ticket, ..
            } => Some(ticket),
            _ => None,
        }
    }

    /// The closed ticket waiting for a rating.
    pub fn rating(self) -> Option<TicketId> {
        match self {
            Awaiting::Rating(ticket) | Awaiting::RatingAndDetails { rating: ticket, .. } => {
                Some(ticket)
            }
            _ => None,
        }
    }

    fn from_parts(rating: Option<TicketId>, details: Option<TicketId>) -> Awaiting {
        match (rating, details) {
            (None, None) => Awaiting::Nothing,
            (None, Some(details)) => Awaiting::Details(details),
            (Some(rating), None) => Awaiting::Rating(rating),
            (Some(rating), Some(details)) => Awaiting::RatingAndDetails { rating, details },
        }
    }

    /// Asks for details of the new ticket `ticket` (a pending rating stays).
    fn ask_details(&mut self, ticket: TicketId) {
        *self = Awaiting::from_parts(self.rating(), Some(ticket));
    }

    /// The details question is answered, skipped, or moot.
    fn details_done(&mut self) {
        *self = Awaiting::from_parts(self.rating(), None);
    }

    /// The rating is given.
    fn rating_done(&mut self) {
        *self = Awaiting::from_parts(None, self.details());
    }
}

/// How [`Awaiting`] is stored: the two fields conversations were saved with
/// before it existed, so stored conversations read the same.
#[derive(Serialize, Deserialize)]
struct AwaitingFields {
    awaiting_details: Option<TicketId>,
    awaiting_rating: Option<TicketId>,
}

impl From<AwaitingFields> for Awaiting {
    fn from(fields: AwaitingFields) -> Awaiting {
        Awaiting::from_parts(fields.awaiting_rating, fields.awaiting_details)
    }
}

impl From<Awaiting> for AwaitingFields {
    fn from(awaiting: Awaiting) -> AwaitingFields {
        AwaitingFields {
            awaiting_details: awaiting.details(),
            awaiting_rating: awaiting.rating(),
        }
    }
}

/// At most this many answers remember their feedback.
const FEEDBACK_MEMORY: usize = 20;

/// What a user sent.
#[derive(Debug, Clone, PartialEq)]
pub enum UserInput {
    Text(String),
    Command(UserCommand),
    Button(Action),
    Attachment {
        attachment: Attachment,
        caption: Option<String>,
    },
    /// A text message the user edited, with its new text: a new question
    /// outside a handoff, relayed to staff (marked ✏️) in one.
    Edited(String),
    /// Something the bot does not handle (a sticker outside a handoff, a
    /// poll, an edited photo, ...).
    Unsupported,
}

/// One event from a user.
#[derive(Debug, Clone, PartialEq)]
pub struct UserMessage {
    /// `language` holds Telegram's `language_code` (may be empty).
    pub user: UserInfo,
    pub input: UserInput,
    /// From Telegram's message id: a message delivered twice is kept once.
    pub key: Option<String>,
}

/// What the desk knows of the user's open ticket when a message arrives.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenTicketView {
    pub id: TicketId,
    pub status: Status,
    pub queue: QueueInfo,
}

/// What to do; executed in order by the desk.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Say this to the user of the event.
    Say(Reply),
    /// Tell the agents (the staff group, or every agent in private mode).
    TellStaff(Reply),
    /// Open a ticket (or add to the user's open one); the desk then calls
    /// [`Engine::ticket_opened`].
    OpenTicket(NewTicket),
    Append {
        ticket: TicketId,
        entry: NewEntry,
    },
    Cancel(TicketId),
    Rate {
        ticket: TicketId,
        score: u8,
    },
    Record(QueryRecord),
    /// The user confirmed that this entry answers their last question
    /// ("Solved", or a pick among the choices): a phrasing to learn.
    Learn {
        entry_id: String,
        text: String,
        from: handoff::LearnedFrom,
    },
}

/// The engine for one FAQ version and policy.
pub struct Engine<'a> {
    pub knowledge: &'a Knowledge,
    pub policy: &'a Policy,
}

impl Engine<'_> {
    /// Handles one user event.
    pub fn on_user(
        &self,
        conversation: &mut Conversation,
        open: Option<&OpenTicketView>,
        message: &UserMessage,
    ) -> Vec<Effect> {
        let mut out = Vec::new();
        let text = match &message.input {
            UserInput::Text(t) | UserInput::Edited(t) => Some(t.as_str()),
            UserInput::Attachment { caption, .. } => caption.as_deref(),
            _ => None,
        };
        let masked = text.map(handoff::redact::mask);
        // A message masked before (kept so, and handled again after a
        // crash) still gets the warning.
        if let Some(m) = &masked
            && (m.any() || handoff::redact::holds_marker(&m.text))
        {
            out.push(Effect::Say(Reply::SecretWarning));
        }
        let text = masked.map(|m| m.text);
        let language = self.language(conversation, &message.user, text.as_deref());
        if text.as_deref().and_then(detect_language) == Some(language.as_str()) {
            conversation.language_written = true;
        }
        conversation.language = Some(language);

        // Rating a closed ticket by typing the digit. Another number of one
        // or two digits then is a rating out of range, not a question (nor
        // an unanswered one for the stats): ask again for 1–5. Not inside
        // a new ticket (the number is for its agent; the rating buttons
        // still work), and not a longer number (a UID, an order id): those
        // go where any text goes.
        if let (Some(ticket), Some(t), None) =
            (conversation.awaiting.rating(), text.as_deref(), open)
            && let Ok(number) = t.trim().parse::<i64>()
        {
            match u8::try_from(number) {
                Ok(score @ 1..=5) => {
                    self.rate(conversation, ticket, score, &mut out);
                    return out;
                }
                _ if number.abs() < 100 => {
                    out.push(Effect::Say(Reply::ChooseRating { ticket }));
                    return out;
                }
                _ => {}
            }
        }

        match (&message.input, open) {
            (UserInput::Command(command), _) => {
                self.command(conversation, open, message, *command, &mut out)
            }
            (UserInput::Button(action), _) => {
                self.button(conversation, open, message, action, &mut out)
            }
            (UserInput::Text(_), Some(ticket)) | (UserInput::Attachment { .. }, Some(ticket)) => {
                self.to_ticket(
                    conversation,
                    ticket,
                    message,
                    text.unwrap_or_default(),
                    &mut out,
                )
            }
            // Staff see that an earlier message changed, and how.
            (UserInput::Edited(_), Some(ticket)) => self.to_ticket(
                conversation,
                ticket,
                message,
                format!("✏️ {}", text.unwrap_or_default()),
                &mut out,
            ),
            (UserInput::Text(_) | UserInput::Edited(_), None) => {
                self.question(conversation, message, &text.unwrap_or_default(), &mut out)
            }
            (UserInput::Attachment { .. }, None) | (UserInput::Unsupported, _) => {
                out.push(Effect::Say(Reply::CannotHandle))
            }
        }
        out
    }

    /// After the desk opened (or added to) a ticket for this user.
    pub fn ticket_opened(
        &self,
        conversation: &mut Conversation,
        opened: &Opened,
        queue: QueueInfo,
    ) -> Vec<Effect> {
        let ticket = &opened.ticket;
        let mut out = vec![Effect::Say(Reply::Queued {
            ticket: ticket.id,
            queue,
            created: opened.created,
        })];
        if opened.created {
            out.push(Effect::TellStaff(Reply::NewTicket(TicketCard {
                ticket: ticket.clone(),
                transcript: Vec::new(),
                aliases: Vec::new(),
                utc_offset_minutes: 0,
            })));
            if ticket.details.is_empty() {
                conversation.awaiting.ask_details(ticket.id);
                out.push(Effect::Say(Reply::AskDetails { ticket: ticket.id }));
            }
        }
        out
    }

    /// After an agent closed the user's ticket: ask for a rating.
    pub fn ticket_closed(&self, conversation: &mut Conversation, ticket: TicketId) -> Vec<Effect> {
        // The ticket that closed is the one any details were for.
        conversation.awaiting = Awaiting::Rating(ticket);
        vec![Effect::Say(Reply::TicketClosed { ticket })]
    }

    fn language(&self, conversation: &Conversation, user: &UserInfo, text: Option<&str>) -> String {
        match text.and_then(detect_language) {
            Some("zh") => return "zh".to_owned(),
            // A word or two of English ("ok", "USDT pending") from someone
            // the bot speaks Chinese with does not switch languages.
            Some(lang)
                if conversation.language.is_none()
                    || !conversation.language_written
                    || english_words(text.unwrap_or_default()) >= 3 =>
            {
                return lang.to_owned();
            }
            _ => {}
        }
        if let Some(lang) = &conversation.language {
            return lang.clone();
        }
        normalize_language_code(&user.language)
            .unwrap_or_else(|| self.knowledge.faq.default_language.clone())
    }

    fn command(
        &self,
        conversation: &mut Conversation,
        open: Option<&OpenTicketView>,
        message: &UserMessage,
        command: UserCommand,
        out: &mut Vec<Effect>,
    ) {
        match command {
            UserCommand::Start => out.push(Effect::Say(Reply::Welcome)),
            UserCommand::Help => out.push(Effect::Say(Reply::Help)),
            UserCommand::Browse => out.push(Effect::Say(Reply::Categories)),
            UserCommand::Human => self.handoff(conversation, open, message, None, None, out),
            UserCommand::Cancel => match open {
                Some(ticket) => {
                    conversation.awaiting.details_done();
                    out.push(Effect::Cancel(ticket.id));
                    out.push(Effect::Say(Reply::Cancelled { ticket: ticket.id }));
                    out.push(Effect::TellStaff(Reply::UserCancelled {
                        ticket: ticket.id,
                    }));
                }
                None => out.push(Effect::Say(Reply::NothingToCancel)),
            },
        }
    }

    fn button(
        &self,
        conversation: &mut Conversation,
        open: Option<&OpenTicketView>,
        message: &UserMessage,
        action: &Action,
        out: &mut Vec<Effect>,
    ) {
        let faq = &self.knowledge.faq;
        match action {
            // One answer, one verdict: "Solved" then "Not helpful" (or the
            // same twice) on the same answer is a stale press.
            Action::Solved(entry_id) | Action::NotHelpful(entry_id)
                if conversation.feedback_given.contains(entry_id) =>
            {
                out.push(Effect::Say(Reply::StaleButton))
            }
            Action::Solved(entry_id) => {
                remember_feedback(conversation, entry_id);
                // Only for the answer to the last question: a press under
                // an older answer confirms nothing about it.
                if conversation.shown.contains(entry_id)
                    && let Some(text) = &conversation.last_question
                {
                    out.push(Effect::Learn {
                        entry_id: entry_id.clone(),
                        text: text.clone(),
                        from: handoff::LearnedFrom::Solved,
                    });
                }
                out.push(Effect::Say(Reply::GladItHelped))
            }
            Action::NotHelpful(entry_id) => {
                remember_feedback(conversation, entry_id);
                if !conversation.shown.contains(entry_id) {
                    conversation.shown.push(entry_id.clone());
                }
                let others: Vec<String> = conversation
                    .last_candidates
                    .iter()
                    .filter(|c| !conversation.shown.contains(&c.entry_id))
                    .filter(|c| c.confidence >= self.knowledge.matcher.config().suggest_threshold)
                    .take(self.knowledge.matcher.config().max_suggestions)
                    .map(|c| c.entry_id.clone())
                    .collect();
                if others.is_empty() {
                    out.push(Effect::Say(Reply::OfferHuman));
                } else {
                    out.push(Effect::Say(Reply::DidYouMean { entry_ids: others }));
                }
            }
            Action::Human => self.handoff(conversation, open, message, None, None, out),
            Action::Pick(entry_id) if faq.entry(entry_id).is_some() => {
                // A pick among the choices offered for the last question.
                if conversation
                    .last_candidates
                    .iter()
                    .any(|c| &c.entry_id == entry_id)
                    && !conversation.shown.contains(entry_id)
                    && let Some(text) = &conversation.last_question
                {
                    out.push(Effect::Learn {
                        entry_id: entry_id.clone(),
                        text: text.clone(),
                        from: handoff::LearnedFrom::Picked,
                    });
                }
                self.answer(conversation, message, entry_id, out)
            }
            Action::NoneOfThese => out.push(Effect::Say(Reply::OfferHuman)),
            Action::Browse => out.push(Effect::Say(Reply::Categories)),
            Action::Category(id) if faq.category(id).is_some() => {
                out.push(Effect::Say(Reply::CategoryEntries {
                    category: id.clone(),
                }))
            }
            Action::Rate { ticket, score } if conversation.awaiting.rating() == Some(*ticket) => {
                self.rate(conversation, *ticket, *score, out)
            }
            // "Skip" answers the details question only while it is asked:
            // pressed later, "an agent will reply soon" would not be true.
            Action::SkipDetails if conversation.awaiting.details().is_some() => {
                conversation.awaiting.details_done();
                out.push(Effect::Say(Reply::DetailsNoted));
            }
            // Stale buttons (an entry removed by a reload, a rating already
            // given) and staff buttons pressed by a user.
            _ => out.push(Effect::Say(Reply::StaleButton)),
        }
    }

    fn rate(
        &self,
        conversation: &mut Conversation,
        ticket: TicketId,
        score: u8,
        out: &mut Vec<Effect>,
    ) {
        conversation.awaiting.rating_done();
        out.push(Effect::Rate { ticket, score });
        out.push(Effect::Say(Reply::ThanksForRating { score }));
        out.push(Effect::TellStaff(Reply::UserRated { ticket, score }));
    }

    /// A message while the user has an open ticket: it goes on the ticket.
    fn to_ticket(
        &self,
        conversation: &mut Conversation,
        ticket: &OpenTicketView,
        message: &UserMessage,
        text: String,
        out: &mut Vec<Effect>,
    ) {
        let attachments: Vec<Attachment> = match &message.input {
            UserInput::Attachment { attachment, .. } => vec![attachment.clone()],
            _ => Vec::new(),
        };
        out.push(Effect::Append {
            ticket: ticket.id,
            entry: NewEntry {
                author: Author::User,
                text: text.clone(),
                attachments: attachments.clone(),
                candidates: Vec::new(),
                dedup_key: message.key.clone(),
            },
        });
        out.push(Effect::TellStaff(Reply::UserWrote {
            ticket: ticket.id,
            user: message.user.clone(),
            text: text.clone(),
            attachments,
        }));
        // Details the user sends are on the transcript; the desk lifts them
        // from there whenever it shows the ticket to staff.
        if conversation.awaiting.details() == Some(ticket.id) {
            conversation.awaiting.details_done();
            out.push(Effect::Say(Reply::DetailsNoted));
        } else if ticket.status == Status::Waiting {
            out.push(Effect::Say(Reply::Queued {
                ticket: ticket.id,
                queue: ticket.queue.clone(),
                created: false,
            }));
        }
    }

    fn question(
        &self,
        conversation: &mut Conversation,
        message: &UserMessage,
        text: &str,
        out: &mut Vec<Effect>,
    ) {
        let user_turn = NewEntry {
            dedup_key: message.key.clone(),
            ..NewEntry::text(Author::User, text)
        };
        let understanding = understand(&self.knowledge.matcher, text);
        let language = conversation.language.clone().unwrap_or_default();
        let record = |outcome, decision: Option<&Decision>| {
            Effect::Record(QueryRecord {
                user: message.user.id,
                language: language.clone(),
                text: text.to_owned(),
                outcome,
                entry_id: decision.and_then(|d| d.best()).map(|c| c.entry_id.clone()),
                confidence: decision.and_then(|d| d.best()).map(|c| c.confidence),
            })
        };
        match understanding {
            Understanding::Empty => out.push(Effect::Say(Reply::CannotHandle)),
            Understanding::Greeting => out.push(Effect::Say(Reply::Greeting)),
            Understanding::Thanks => out.push(Effect::Say(Reply::YouAreWelcome)),
            Understanding::Human => {
                out.push(record(QueryOutcome::AskedForHuman, None));
                self.handoff(conversation, None, message, Some(user_turn), None, out);
            }
            Understanding::Question(decision) => {
                conversation.last_question = Some(text.to_owned());
                conversation.last_candidates = decision.candidates.clone();
                conversation.shown.clear();
                let mut user_turn = user_turn;
                user_turn.candidates = records(&decision.candidates);
                push_turn(conversation, user_turn);
                match &decision.outcome {
                    Outcome::Answer { entry_id } => {
                        out.push(record(QueryOutcome::Answered, Some(&decision)));
                        self.answer(conversation, message, entry_id, out);
                    }
                    Outcome::Suggest { entry_ids } => {
                        out.push(record(QueryOutcome::Suggested, Some(&decision)));
                        push_turn(
                            conversation,
                            bot_turn(format!("did you mean: {}", entry_ids.join(", "))),
                        );
                        out.push(Effect::Say(Reply::DidYouMean {
                            entry_ids: entry_ids.clone(),
                        }));
                    }
                    Outcome::NoMatch => {
                        out.push(record(QueryOutcome::NoMatch, Some(&decision)));
                        push_turn(conversation, bot_turn("no FAQ entry matched".to_owned()));
                        out.push(Effect::Say(Reply::NoMatch));
                    }
                }
            }
        }
    }

    fn answer(
        &self,
        conversation: &mut Conversation,
        message: &UserMessage,
        entry_id: &str,
        out: &mut Vec<Effect>,
    ) {
        let Some(entry) = self.knowledge.faq.entry(entry_id) else {
            out.push(Effect::Say(Reply::CannotHandle));
            return;
        };
        if !conversation.shown.iter().any(|s| s == entry_id) {
            conversation.shown.push(entry_id.to_owned());
        }
        // Answered again: its new buttons are live.
        conversation.feedback_given.retain(|e| e != entry_id);
        // The candidates the matcher ranked are on the user's turn.
        push_turn(
            conversation,
            bot_turn(format!("answered with FAQ entry `{entry_id}`")),
        );
        out.push(Effect::Say(Reply::Answer {
            entry_id: entry_id.to_owned(),
        }));
        if entry.escalate {
            self.handoff(conversation, None, message, None, Some(entry_id), out);
        }
    }

    /// Opens a ticket with everything known, or tells the user where they
    /// stand if one is open already.
    fn handoff(
        &self,
        conversation: &mut Conversation,
        open: Option<&OpenTicketView>,
        message: &UserMessage,
        last_turn: Option<NewEntry>,
        escalated_by: Option<&str>,
        out: &mut Vec<Effect>,
    ) {
        if let Some(ticket) = open {
            out.push(Effect::Say(Reply::Queued {
                ticket: ticket.id,
                queue: ticket.queue.clone(),
                created: false,
            }));
            return;
        }
        if let Some(turn) = last_turn {
            push_turn(conversation, turn);
        }
        let faq = &self.knowledge.faq;
        // The entry that escalated decides the category; else the best
        // candidate of the latest question that had one.
        let top_entry = escalated_by.and_then(|id| faq.entry(id)).or_else(|| {
            conversation
                .turns
                .iter()
                .rev()
                .find_map(|t| t.candidates.first())
                .and_then(|c| faq.entry(&c.entry_id))
        });
        let priority = if escalated_by.is_some() {
            Priority::Urgent
        } else if self.policy.vip_users.contains(&message.user.id) {
            Priority::Vip
        } else {
            Priority::Normal
        };
        let user_text: Vec<&str> = conversation
            .turns
            .iter()
            .filter(|t| t.author == Author::User)
            .map(|t| t.text.as_str())
            .collect();
        let details = handoff::details::extract(&user_text.join("\n"));
        let mut user = message.user.clone();
        user.language = conversation.language.clone().unwrap_or(user.language);
        out.push(Effect::OpenTicket(NewTicket {
            user,
            category: top_entry.and_then(|e| e.category.clone()),
            priority,
            details,
            transcript: std::mem::take(&mut conversation.turns),
            opened_by: message.key.clone(),
        }));
    }
}

fn bot_turn(text: String) -> NewEntry {
    NewEntry::text(Author::Bot, text)
}

fn remember_feedback(conversation: &mut Conversation, entry_id: &str) {
    conversation.feedback_given.push(entry_id.to_owned());
    if conversation.feedback_given.len() > FEEDBACK_MEMORY {
        conversation.feedback_given.remove(0);
    }
}

fn push_turn(conversation: &mut Conversation, turn: NewEntry) {
    conversation.turns.push(turn);
    if conversation.turns.len() > MAX_TURNS {
        let excess = conversation.turns.len() - MAX_TURNS;
        conversation.turns.drain(..excess);
    }
}

fn records(candidates: &[Candidate]) -> Vec<CandidateRecord> {
    candidates
        .iter()
        .map(|c| CandidateRecord {
            entry_id: c.entry_id.clone(),
            confidence: c.confidence,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callback_data_round_trips_and_rejects_garbage() {
        for action in [
            Action::Solved("deposit-x".into()),
            Action::Rate {
                ticket: 12,
                score: 5,
            },
            Action::Human,
            Action::Claim(3),
        ] {
            assert_eq!(Action::parse(&action.to_data()), Some(action));
        }
        for bad in [
            "",
            "rate:1:9",
            "rate:x:1",
            "claim:",
            "ok:",
            "human:1",
            "drop table",
        ] {
            assert_eq!(Action::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_stored_conversation_reads_and_writes_the_same_fields_as_before() {
        let stored = serde_json::json!({
            "language": "zh",
            "awaiting_details": 8,
            "awaiting_rating": 7,
        });
        let conversation: Conversation = serde_json::from_value(stored).unwrap();
        assert_eq!(
            conversation.awaiting,
            Awaiting::RatingAndDetails {
                rating: 7,
                details: 8
            }
        );
        let written = serde_json::to_value(&conversation).unwrap();
        assert_eq!(written["awaiting_details"], 8);
        assert_eq!(written["awaiting_rating"], 7);
        let fresh: Conversation = serde_json::from_value(serde_json::json!({})).unwrap();
        assert_eq!(fresh.awaiting, Awaiting::Nothing);
    }

    #[test]
    fn a_rating_given_keeps_a_new_tickets_details_question_and_the_reverse() {
        let mut awaiting = Awaiting::Rating(7);
        awaiting.ask_details(8);
        assert_eq!(awaiting.rating(), Some(7));
        assert_eq!(awaiting.details(), Some(8));
        awaiting.rating_done();
        assert_eq!(awaiting, Awaiting::Details(8));
        awaiting.details_done();
        assert_eq!(awaiting, Awaiting::Nothing);
    }
}
