-- Passerelle store, version 9: versions-and-rights feeds pushed to their consumers (issue 7). One row per
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
