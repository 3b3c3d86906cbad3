-- Work a process holds until it is done, so a crash loses none: staff-group
-- posts not yet delivered (kind 'staff-post', the Telegram shell's outbox)
-- and Telegram updates received but not yet handled (kind 'update'). Each
-- row is removed once done; `owner` is the process holding it, and a silent
-- owner's rows are taken over by another. Replaces `pending_posts`.
CREATE TABLE pending_work (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind       TEXT NOT NULL,
    owner      TEXT NOT NULL,
    body       TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE INDEX pending_work_owner ON pending_work (kind, owner, id);

INSERT INTO pending_work (kind, owner, body, created_at)
SELECT 'staff-post', owner, body, created_at FROM pending_posts ORDER BY id;

DROP TABLE pending_posts;
