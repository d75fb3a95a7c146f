-- Passerelle store, version 4: the log of media changes behind the versions-and-rights feed.
--
-- Every insert, real update (the upserts touch a row only when its document changed) and
-- delete of a work, version or rights window appends one row here, in the same transaction,
-- by trigger: whatever path wrote the change (import, management API), the feed sees it, in
-- commit order (SQLite has one writer; AUTOINCREMENT never reuses a number).

CREATE TABLE media_changes (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    entity    TEXT NOT NULL CHECK (entity IN ('work', 'version', 'rights')),
    entity_id TEXT NOT NULL,
    work_id   TEXT NOT NULL,
    op        TEXT NOT NULL CHECK (op IN ('upsert', 'delete')),
    at        TEXT NOT NULL
);
CREATE INDEX media_changes_work ON media_changes (work_id, seq);

-- What is stored already is where a new subscriber starts: one upsert per existing row.
INSERT INTO media_changes (entity, entity_id, work_id, op, at) SELECT 'work', id, id, 'upsert', updated_at FROM works;
INSERT INTO media_changes (entity, entity_id, work_id, op, at)
    SELECT 'version', id, work_id, 'upsert', updated_at FROM versions;
INSERT INTO media_changes (entity, entity_id, work_id, op, at)
    SELECT 'rights', id, work_id, 'upsert', updated_at FROM rights_windows;

CREATE TRIGGER works_changed_insert AFTER INSERT ON works BEGIN
    INSERT INTO media_changes (entity, entity_id, work_id, op, at) VALUES ('work', NEW.id, NEW.id, 'upsert', NEW.updated_at);
END;
CREATE TRIGGER works_changed_update AFTER UPDATE ON works BEGIN
    INSERT INTO media_changes (entity, entity_id, work_id, op, at) VALUES ('work', NEW.id, NEW.id, 'upsert', NEW.updated_at);
END;
CREATE TRIGGER works_changed_delete AFTER DELETE ON works BEGIN
    INSERT INTO media_changes (entity, entity_id, work_id, op, at)
        VALUES ('work', OLD.id, OLD.id, 'delete', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
END;
CREATE TRIGGER versions_changed_insert AFTER INSERT ON versions BEGIN
    INSERT INTO media_changes (entity, entity_id, work_id, op, at)
        VALUES ('version', NEW.id, NEW.work_id, 'upsert', NEW.updated_at);
END;
CREATE TRIGGER versions_changed_update AFTER UPDATE ON versions BEGIN
    INSERT INTO media_changes (entity, entity_id, work_id, op, at)
        VALUES ('version', NEW.id, NEW.work_id, 'upsert', NEW.updated_at);
END;
CREATE TRIGGER versions_changed_delete AFTER DELETE ON versions BEGIN
    INSERT INTO media_changes (entity, entity_id, work_id, op, at)
        VALUES ('version', OLD.id, OLD.work_id, 'delete', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
END;
CREATE TRIGGER rights_changed_insert AFTER INSERT ON rights_windows BEGIN
    INSERT INTO media_changes (entity, entity_id, work_id, op, at)
        VALUES ('rights', NEW.id, NEW.work_id, 'upsert', NEW.updated_at);
END;
CREATE TRIGGER rights_changed_update AFTER UPDATE ON rights_windows BEGIN
    INSERT INTO media_changes (entity, entity_id, work_id, op, at)
        VALUES ('rights', NEW.id, NEW.work_id, 'upsert', NEW.updated_at);
END;
CREATE TRIGGER rights_changed_delete AFTER DELETE ON rights_windows BEGIN
    INSERT INTO media_changes (entity, entity_id, work_id, op, at)
        VALUES ('rights', OLD.id, OLD.work_id, 'delete', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
END;

-- Consumer side: how far each feed we follow has been read (changes are stored in received_data).
CREATE TABLE feed_cursors (
    transfer_pid TEXT PRIMARY KEY NOT NULL,
    after_seq    INTEGER NOT NULL,
    updated_at   TEXT NOT NULL
);
