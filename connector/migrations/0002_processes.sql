-- Passerelle store, version 2: contract negotiations, agreements, transfer processes,
-- the outbox of protocol messages still to deliver, data-plane tokens and pushed data.
--
-- A process is keyed by this connector's pid; `side` is the role this connector plays.
-- `history` is a JSON array of applied messages (message, sender, state, at). Every
-- change is written before the message that caused it is acknowledged, so a restart
-- resumes every process from here.

CREATE TABLE negotiations (
    pid                  TEXT PRIMARY KEY NOT NULL,
    side                 TEXT NOT NULL CHECK (side IN ('provider', 'consumer')),
    counterparty_pid     TEXT,
    state                TEXT NOT NULL,
    -- the verified participant id of the counter-party ('' when no authentication was in place)
    counterparty_id      TEXT NOT NULL DEFAULT '',
    -- where messages to the counter-party go (its callbackAddress or protocol address)
    counterparty_address TEXT,
    dataset_id           TEXT,
    offer                TEXT,
    agreement_id         TEXT,
    termination          TEXT,
    history              TEXT NOT NULL,
    last_error           TEXT,
    created_at           TEXT NOT NULL,
    updated_at           TEXT NOT NULL
);
-- A creating message repeated by the same participant with the same pid finds its process.
CREATE UNIQUE INDEX negotiations_counterparty ON negotiations (side, counterparty_id, counterparty_pid)
    WHERE counterparty_pid IS NOT NULL;

-- Agreements are immutable: written once, never updated or deleted.
CREATE TABLE agreements (
    id              TEXT NOT NULL,
    side            TEXT NOT NULL CHECK (side IN ('provider', 'consumer')),
    negotiation_pid TEXT NOT NULL,
    target          TEXT NOT NULL,
    assigner        TEXT NOT NULL,
    assignee        TEXT NOT NULL,
    timestamp       TEXT NOT NULL,
    doc             TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    PRIMARY KEY (id, side)
);
CREATE TRIGGER agreements_immutable_update BEFORE UPDATE ON agreements
BEGIN
    SELECT RAISE(ABORT, 'agreements are immutable: an agreement is never changed once made');
END;
CREATE TRIGGER agreements_immutable_delete BEFORE DELETE ON agreements
BEGIN
    SELECT RAISE(ABORT, 'agreements are immutable: an agreement is never deleted');
END;

CREATE TABLE transfers (
    pid                  TEXT PRIMARY KEY NOT NULL,
    side                 TEXT NOT NULL CHECK (side IN ('provider', 'consumer')),
    counterparty_pid     TEXT,
    state                TEXT NOT NULL,
    counterparty_id      TEXT NOT NULL DEFAULT '',
    counterparty_address TEXT,
    -- the participant id tokens for the counter-party are made out to, when not verified
    audience             TEXT,
    agreement_id         TEXT NOT NULL,
    format               TEXT NOT NULL,
    -- consumer: the provider's pull address (EDR) or our push inbox; provider: the consumer's push address
    data_address         TEXT,
    termination          TEXT,
    history              TEXT NOT NULL,
    last_error           TEXT,
    created_at           TEXT NOT NULL,
    updated_at           TEXT NOT NULL
);
CREATE UNIQUE INDEX transfers_counterparty ON transfers (side, counterparty_id, counterparty_pid)
    WHERE counterparty_pid IS NOT NULL;

-- Messages (and pushes) to deliver, in order per process; kept after delivery as the process's log.
CREATE TABLE outbox (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    process          TEXT NOT NULL CHECK (process IN ('negotiation', 'transfer')),
    process_pid      TEXT NOT NULL,
    kind             TEXT NOT NULL,
    recipient        TEXT NOT NULL CHECK (recipient IN ('provider', 'consumer')),
    address          TEXT NOT NULL,
    participant_id   TEXT,
    body             TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    -- unix milliseconds (compared numerically)
    next_attempt_ms  INTEGER NOT NULL,
    last_error       TEXT,
    created_at       TEXT NOT NULL,
    done_at          TEXT
);
CREATE INDEX outbox_pending ON outbox (status, next_attempt_ms);
CREATE INDEX outbox_process ON outbox (process_pid, id);

-- Access tokens of the data plane (provider side), bound to one transfer and its agreement.
CREATE TABLE data_tokens (
    token          TEXT PRIMARY KEY NOT NULL,
    refresh_token  TEXT NOT NULL,
    transfer_pid   TEXT NOT NULL,
    agreement_id   TEXT NOT NULL,
    dataset_id     TEXT NOT NULL,
    -- unix milliseconds
    issued_ms      INTEGER NOT NULL,
    expires_ms     INTEGER NOT NULL
);
CREATE INDEX data_tokens_refresh ON data_tokens (refresh_token, issued_ms);

-- Documents a provider pushed to us (consumer side, HttpData-PUSH).
CREATE TABLE received_data (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    transfer_pid TEXT NOT NULL,
    body         TEXT NOT NULL,
    received_at  TEXT NOT NULL
);
CREATE INDEX received_data_transfer ON received_data (transfer_pid, id);
