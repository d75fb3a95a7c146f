-- Passerelle store, version 6: deliveries of subtitle orders (issue 7).
--
-- One row per Delivered event of an order, on both sides. The lab keeps the folder it delivered from (never sent:
-- the distributor fetches the files through the lab's protocol listener) and, once the distributor answers, its
-- signed receipt and whether that receipt verified against the distributor's DID document. The distributor keeps
-- its verification of the downloaded copy, the receipt it signed and the QC reports of the subtitle files.

CREATE TABLE order_deliveries (
    order_key        TEXT NOT NULL REFERENCES orders (id),
    -- 1 for the first delivery of the order, 2 after a redelivery request…
    seq              INTEGER NOT NULL CHECK (seq >= 1),
    -- the number of the Delivered event in the order's log
    event_seq        INTEGER NOT NULL,
    -- the passerelle-delivery manifest (JSON) and its digest, `sha256:<hex>` of its canonical JSON
    manifest         TEXT NOT NULL,
    manifest_ref     TEXT NOT NULL,
    -- lab: the local folder the files are served from
    folder           TEXT,
    -- where the lab serves the files (shown to people; the distributor builds the address from its order endpoint)
    location         TEXT,
    -- distributor: the VerificationReport (JSON) and its verdict; lab: the refusal's problems (JSON)
    verification     TEXT,
    intact           INTEGER,
    -- why the distributor could not verify yet (download failed…), retried at the next start
    intake_error     TEXT,
    -- the compact JWS receipt
    receipt          TEXT,
    -- lab: whether the receipt verified against the distributor's DID document, and why not
    receipt_verified INTEGER,
    receipt_error    TEXT,
    -- distributor: [{file, report, passed}] (JSON)
    qc               TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    PRIMARY KEY (order_key, seq)
);
