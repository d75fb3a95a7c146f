-- Passerelle store, version 8: the services a lab offers (issue 7). Each is a ServiceDataset in the catalog
-- (`service:<id>`), offered under a stored policy; `doc` is the whole definition as the operator gave it
-- (languages, kinds, formats, turnaround, price), read back by `crate::services`.
CREATE TABLE services (
    id          TEXT PRIMARY KEY NOT NULL,
    doc         TEXT NOT NULL,
    policy_id   TEXT NOT NULL REFERENCES policies (id) ON DELETE RESTRICT ON UPDATE RESTRICT,
    revision    INTEGER NOT NULL DEFAULT 1,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX services_policy ON services (policy_id);
