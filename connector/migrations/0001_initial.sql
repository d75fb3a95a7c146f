-- Passerelle store, version 1.
-- Media records keep their full JSON document (the serde form of passerelle-media)
-- in `doc`, plus the columns we filter, join or sort on. `revision` starts at 1 and
-- grows on every real change (an identical re-import leaves it alone), which lets
-- imports tell inserted / updated / unchanged apart and gives later feeds a change
-- counter. Timestamps are RFC 3339 UTC text.
--
-- Versions and rights windows reference their work by `work_id` without a foreign
-- key on purpose: MAM exports arrive in any order (Avails before MEC), and a window
-- whose work has not been imported yet must be kept, not lost.

CREATE TABLE works (
    id           TEXT PRIMARY KEY NOT NULL,
    kind         TEXT NOT NULL,
    title        TEXT NOT NULL,
    eidr         TEXT,
    isan         TEXT,
    release_year INTEGER,
    parent_id    TEXT,
    doc          TEXT NOT NULL,
    revision     INTEGER NOT NULL DEFAULT 1,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);
CREATE INDEX works_eidr ON works (eidr);
CREATE INDEX works_kind ON works (kind, id);
CREATE INDEX works_parent ON works (parent_id);

CREATE TABLE versions (
    id         TEXT PRIMARY KEY NOT NULL,
    work_id    TEXT NOT NULL,
    kind       TEXT NOT NULL,
    eidr       TEXT,
    doc        TEXT NOT NULL,
    revision   INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX versions_work ON versions (work_id, id);

CREATE TABLE rights_windows (
    id           TEXT PRIMARY KEY NOT NULL,
    work_id      TEXT NOT NULL,
    license_type TEXT NOT NULL,
    -- space-separated ISO codes with a leading and trailing space, so `LIKE '% FR %'` finds a territory
    territories  TEXT NOT NULL,
    start_at     TEXT,
    end_at       TEXT,
    doc          TEXT NOT NULL,
    revision     INTEGER NOT NULL DEFAULT 1,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);
CREATE INDEX rights_windows_work ON rights_windows (work_id, id);
CREATE INDEX rights_windows_license ON rights_windows (license_type);

CREATE TABLE policies (
    id         TEXT PRIMARY KEY NOT NULL,
    doc        TEXT NOT NULL,
    revision   INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- An offer definition is also a collection dataset (its selector picks the works).
CREATE TABLE offer_definitions (
    id          TEXT PRIMARY KEY NOT NULL,
    title       TEXT NOT NULL,
    description TEXT,
    selector    TEXT NOT NULL,
    policy_id   TEXT NOT NULL REFERENCES policies (id) ON DELETE RESTRICT ON UPDATE RESTRICT,
    revision    INTEGER NOT NULL DEFAULT 1,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX offer_definitions_policy ON offer_definitions (policy_id);

CREATE TABLE import_runs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    file        TEXT NOT NULL,
    format      TEXT,
    outcome     TEXT NOT NULL,
    started_at  TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    -- the full per-file report (counts and every rejection) as JSON
    report      TEXT NOT NULL
);
CREATE INDEX import_runs_file ON import_runs (file);
