-- Tickets: one row per handoff to a human. A user has at most one open
-- (waiting or claimed) ticket, enforced by a partial unique index so that two
-- replicas racing to open one cannot both succeed.
CREATE TABLE tickets (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id         BIGINT      NOT NULL,
    username        TEXT,
    display_name    TEXT,
    language        TEXT        NOT NULL,
    status          TEXT        NOT NULL CHECK (status IN ('waiting', 'claimed', 'closed', 'cancelled')),
    -- 0 urgent, 1 vip, 2 normal: ascending order is queue order.
    priority        BIGINT      NOT NULL CHECK (priority BETWEEN 0 AND 2),
    category        TEXT,
    -- Details (UID, order ids, tx hashes, emails) as JSON text.
    details         TEXT        NOT NULL DEFAULT '{}',
    agent_id        BIGINT,
    opened_at       TIMESTAMPTZ NOT NULL,
    claimed_at      TIMESTAMPTZ,
    first_reply_at  TIMESTAMPTZ,
    closed_at       TIMESTAMPTZ,
    rating_score    BIGINT CHECK (rating_score BETWEEN 1 AND 5),
    rating_comment  TEXT,
    CHECK ((status = 'claimed') = (agent_id IS NOT NULL) OR status IN ('closed', 'cancelled'))
);

CREATE UNIQUE INDEX tickets_one_open_per_user ON tickets (user_id) WHERE status IN ('waiting', 'claimed');
CREATE INDEX tickets_queue ON tickets (priority, opened_at, id) WHERE status = 'waiting';
CREATE INDEX tickets_by_agent ON tickets (agent_id, id) WHERE status = 'claimed';
CREATE INDEX tickets_opened_at ON tickets (opened_at);

-- The conversation of a ticket, in the order it happened (seq from 1).
CREATE TABLE transcript (
    ticket_id    BIGINT      NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    seq          BIGINT      NOT NULL,
    at           TIMESTAMPTZ NOT NULL,
    author_kind  TEXT        NOT NULL CHECK (author_kind IN ('user', 'bot', 'agent', 'system')),
    author_agent BIGINT,
    text         TEXT        NOT NULL,
    attachments  TEXT        NOT NULL DEFAULT '[]',
    candidates   TEXT        NOT NULL DEFAULT '[]',
    -- From Telegram update/message ids: a redelivered update is stored once.
    dedup_key    TEXT,
    PRIMARY KEY (ticket_id, seq)
);

CREATE UNIQUE INDEX transcript_dedup ON transcript (ticket_id, dedup_key) WHERE dedup_key IS NOT NULL;

-- Internal notes by agents, never shown to the user.
CREATE TABLE notes (
    id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ticket_id BIGINT      NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    at        TIMESTAMPTZ NOT NULL,
    agent_id  BIGINT      NOT NULL,
    text      TEXT        NOT NULL
);

CREATE INDEX notes_by_ticket ON notes (ticket_id, id);

-- Per-chat conversation state, opaque JSON owned by the engine.
CREATE TABLE chat_state (
    key        TEXT PRIMARY KEY,
    value      TEXT        NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

-- Every question users asked and what the bot did with it.
CREATE TABLE query_log (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at         TIMESTAMPTZ      NOT NULL,
    user_id    BIGINT           NOT NULL,
    language   TEXT             NOT NULL,
    text       TEXT             NOT NULL,
    outcome    TEXT             NOT NULL CHECK (outcome IN ('answered', 'suggested', 'no_match', 'asked_for_human')),
    entry_id   TEXT,
    confidence DOUBLE PRECISION
);

CREATE INDEX query_log_at ON query_log (at);
