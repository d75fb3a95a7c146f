-- Passerelle store, version 7: indexes the operator console needs on large stores (issue 8). Measured with
-- 100,000 agreements, negotiations, transfers and orders (benches/console.rs): without them the overview's counts
-- by state and a contract's transfers and orders scan whole tables. The partial indexes hold only the rows with a
-- counter-party error, which the overview's alerts list.
CREATE INDEX negotiations_state ON negotiations (state);
CREATE INDEX transfers_state ON transfers (state);
CREATE INDEX transfers_agreement ON transfers (agreement_id, pid);
CREATE INDEX negotiations_erring ON negotiations (pid) WHERE last_error IS NOT NULL;
CREATE INDEX transfers_erring ON transfers (pid) WHERE last_error IS NOT NULL;
CREATE INDEX orders_by_agreement ON orders (agreement_id, id);
CREATE INDEX orders_by_state ON orders (json_extract(state, '$.state'));
CREATE INDEX orders_by_update ON orders (updated_at);
