-- Tickets: one row per handoff to a human. A user has at most one open
-- (waiting or claimed) ticket, enforced by a partial unique index so that two
-- racing writers cannot both open one.
CREATE TABLE tickets (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id         INTEGER NOT NULL,
    username        TEXT,
    display_name    TEXT,
    language        TEXT    NOT NULL,
    status          TEXT    NOT NULL CHECK (status IN ('waiting', 'claimed', 'closed', 'cancelled')),
    -- 0 urgent, 1 vip, 2 normal: ascending order is queue order.
    priority        INTEGER NOT NULL CHECK (priority BETWEEN 0 AND 2),
    category        TEXT,
    -- Details (UID, order ids, tx hashes, emails) as JSON.
    details         TEXT    NOT NULL DEFAULT '{}',
    agent_id        INTEGER,
    -- RFC 3339 UTC text written by the store (sorts in time order).
    opened_at       TEXT    NOT NULL,
    claimed_at      TEXT,
    first_reply_at  TEXT,
    closed_at       TEXT,
    rating_score    INTEGER CHECK (rating_score BETWEEN 1 AND 5),
    rating_comment  TEXT,
    CHECK ((status = 'claimed') = (agent_id IS NOT NULL) OR status IN ('closed', 'cancelled'))
);

CREATE UNIQUE INDEX tickets_one_open_per_user ON tickets (user_id) WHERE status IN ('waiting', 'claimed');
CREATE INDEX tickets_queue ON tickets (priority, opened_at, id) WHERE status = 'waiting';
CREATE INDEX tickets_by_agent ON tickets (agent_id, id) WHERE status = 'claimed';
CREATE INDEX tickets_opened_at ON tickets (opened_at);

-- The conversation of a ticket, in the order it happened (seq from 1).
CREATE TABLE transcript (
    ticket_id    INTEGER NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    seq          INTEGER NOT NULL,
    at           TEXT    NOT NULL,
    -- 'user', 'bot', 'agent', 'system'; author_agent is set for 'agent'.
    author_kind  TEXT    NOT NULL CHECK (author_kind IN ('user', 'bot', 'agent', 'system')),
    author_agent INTEGER,
    text         TEXT    NOT NULL,
    attachments  TEXT    NOT NULL DEFAULT '[]',
    candidates   TEXT    NOT NULL DEFAULT '[]',
    -- From Telegram update/message ids: a redelivered update is stored once.
    dedup_key    TEXT,
    PRIMARY KEY (ticket_id, seq)
);

CREATE UNIQUE INDEX transcript_dedup ON transcript (ticket_id, dedup_key) WHERE dedup_key IS NOT NULL;

-- Internal notes by agents, never shown to the user.
CREATE TABLE notes (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id INTEGER NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    at        TEXT    NOT NULL,
    agent_id  INTEGER NOT NULL,
    text      TEXT    NOT NULL
);

CREATE INDEX notes_by_ticket ON notes (ticket_id, id);

-- Per-chat conversation state, opaque JSON owned by the engine.
CREATE TABLE chat_state (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- Every question users asked and what the bot did with it.
CREATE TABLE query_log (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    at         TEXT    NOT NULL,
    user_id    INTEGER NOT NULL,
    language   TEXT    NOT NULL,
    text       TEXT    NOT NULL,
    outcome    TEXT    NOT NULL CHECK (outcome IN ('answered', 'suggested', 'no_match', 'asked_for_human')),
    entry_id   TEXT,
    confidence REAL
);

CREATE INDEX query_log_at ON query_log (at);
