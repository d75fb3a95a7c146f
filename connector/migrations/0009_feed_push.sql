-- Passerelle store, version 9: versions-and-rights feeds pushed to their consumers, and collection membership (issue 7). One row per
-- HttpData-PUSH feed transfer we provide: how far the consumer has acknowledged (`after_seq`, a `media_changes`
-- seq) and the retry state. The consumer's own cursor is `feed_cursors`, as for a pulled feed.
CREATE TABLE feed_pushes (
    transfer_pid     TEXT PRIMARY KEY NOT NULL,
    dataset_id       TEXT NOT NULL,
    after_seq        INTEGER NOT NULL DEFAULT 0,
    attempts         INTEGER NOT NULL DEFAULT 0,
    -- unix milliseconds (compared numerically)
    next_attempt_ms  INTEGER NOT NULL DEFAULT 0,
    last_error       TEXT,
    updated_at       TEXT NOT NULL
);

-- Collection feeds: whether a work was in the collection when a change of it was first served to a transfer's
-- consumer, so that a page served again reads the same, and a work leaving the collection is announced once.
CREATE TABLE feed_membership (
    transfer_pid  TEXT NOT NULL,
    seq           INTEGER NOT NULL,
    work_id       TEXT NOT NULL,
    member        INTEGER NOT NULL CHECK (member IN (0, 1)),
    PRIMARY KEY (transfer_pid, seq)
);
CREATE INDEX feed_membership_work ON feed_membership (transfer_pid, work_id, seq);
