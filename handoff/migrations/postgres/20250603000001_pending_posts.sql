-- Staff-group posts not yet delivered (the Telegram shell's outbox), so a
-- crash loses none: each is removed once posted. `owner` is the process
-- that holds it; a silent owner's posts are taken over by another.
CREATE TABLE pending_posts (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    owner      TEXT        NOT NULL,
    body       TEXT        NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE INDEX pending_posts_owner ON pending_posts (owner, id);
