-- Passerelle store, version 3: subtitle orders between a distributor and a lab (issue 7).
--
-- Both parties keep the same numbered log of an order's events (`passerelle-exchange`'s OrderLog); the state is
-- derived from it and kept on the order row only for listing. An event we wrote is delivered to the other party
-- by `connector/src/exchange/delivery.rs` (pending → sent, or failed with the peer's refusal); an event the other
-- party wrote is stored as `received`. Every event is stored before it is acknowledged.

CREATE TABLE orders (
    -- our own id for the order (urn:uuid); the management API's `{id}`
    id               TEXT PRIMARY KEY NOT NULL,
    -- the party this connector is in the order
    side             TEXT NOT NULL CHECK (side IN ('distributor', 'lab')),
    -- the distributor's order reference (Order.id), the id both parties use on the wire
    order_id         TEXT NOT NULL,
    agreement_id     TEXT NOT NULL,
    -- our transfer process under the agreement (consumer pid at the distributor, provider pid at the lab)
    transfer_pid     TEXT NOT NULL,
    -- lab: the order's number under the agreement (its place in the agreement's count of orders)
    ordinal          INTEGER,
    -- where our events go: the lab's order endpoint, or the distributor's callback address
    peer_address     TEXT NOT NULL,
    -- the bearer token we present there (lab's data-plane token, or the distributor's callback token); a secret
    peer_token       TEXT NOT NULL,
    -- distributor: the token the lab must present on our callback; a secret
    callback_token   TEXT,
    -- the derived state (JSON, as OrderState serialises), for listing only: the log is the truth
    state            TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);
-- A lab knows an order by its reference within the agreement it was placed under (two distributors may both
-- have a PO-1); a repeated placement finds it again.
CREATE UNIQUE INDEX orders_lab_reference ON orders (agreement_id, order_id) WHERE side = 'lab';
CREATE INDEX orders_agreement ON orders (side, agreement_id);

CREATE TABLE order_events (
    order_key        TEXT NOT NULL REFERENCES orders (id),
    seq              INTEGER NOT NULL CHECK (seq >= 1),
    sender           TEXT NOT NULL CHECK (sender IN ('distributor', 'lab')),
    -- the event as exchanged (JSON)
    event            TEXT NOT NULL,
    -- the state it led to (JSON)
    state            TEXT NOT NULL,
    -- received: written by the other party; pending/sent/failed: ours, and how its delivery stands
    delivery         TEXT NOT NULL CHECK (delivery IN ('received', 'pending', 'sent', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    -- unix milliseconds (compared numerically)
    next_attempt_ms  INTEGER NOT NULL DEFAULT 0,
    last_error       TEXT,
    created_at       TEXT NOT NULL,
    done_at          TEXT,
    PRIMARY KEY (order_key, seq)
);
CREATE INDEX order_events_pending ON order_events (delivery, next_attempt_ms);
