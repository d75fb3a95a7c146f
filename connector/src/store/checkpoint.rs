//! Copying the WAL back into the database file, off the writers' path.
//!
//! SQLite's automatic checkpoint runs inside the commit that crosses its threshold, so the process host's
//! writer held its lock while the checkpoint copied pages and waited for two `fsync`s: every change of the
//! connector stood still meanwhile (at 100 concurrent negotiations the two cores were a fifth idle or waiting
//! on the disk, BENCHMARKS.md). Here a thread of its own does the slow part. A first pass copies what the WAL
//! holds while changes go on; when the WAL has grown past [`RESTART_AT`], a second pass with the writers held
//! copies only what was committed during the first, so the WAL is wholly in the database and the next commit
//! starts it again from the beginning. That keeps the WAL bounded, as the automatic checkpoint did.
//!
//! While changes are being written the passes follow each other closely ([`BUSY_TICK`]): each `fsync` then
//! has little to flush, and the held pass little to copy, which is what the writers wait for.

use std::path::Path;
use std::sync::Weak;
use std::time::Duration;

use rusqlite::Connection;

/// WAL frames (pages) past which a pass finishes with the writers held, so the WAL starts again (64 MiB of
/// 4 KiB pages). Every such pass stops the connector's changes for its copy and two `fsync`s, so it sets how
/// often a negotiation meets one. With passes every 100 ms (3–8 ms held) 16,384 beat 4,096 frames (0.9 % of
/// negotiations over 20 ms against 2.8 %); with the [`BUSY_TICK`] pace (1–4 ms held) 4,096, 16,384 and 65,536
/// frames measure alike (BENCHMARKS.md), and this one keeps the WAL file at a moderate size.
pub(crate) const RESTART_AT: i64 = 16_384;
/// The pause between passes while the WAL grows. Shorter than the idle tick because the held pass copies what
/// was committed during the pass before it and both wait for `fsync`s of what they wrote: at 1,000
/// negotiations/s, passes every 100 ms held the writers 3.3–6.3 ms each, every 10 ms 1.1–3.9 ms, and the
/// paced p99 went from 10–21 ms (mean 15) to 7–10 ms (mean 9) (2 ms was worse again: more `fsync`s than the
/// disk keeps up with; BENCHMARKS.md).
const BUSY_TICK: Duration = Duration::from_millis(10);
/// The pause after a pass that found nothing new: an idle connector wakes up ten times a second.
const IDLE_TICK: Duration = Duration::from_millis(100);

/// The pause before the next pass: short while the WAL is being written, long once a pass found it as the pass
/// before left it (no new frame, none more copied: all done, or the rest kept back by a long read).
fn pause(before: Option<Pass>, now: &Pass) -> Duration {
    let unchanged = before.is_some_and(|b| (b.frames, b.copied) == (now.frames, now.copied));
    if unchanged && now.held.is_none() { IDLE_TICK } else { BUSY_TICK }
}

/// What a pass did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Pass {
    /// Frames in the WAL when the last checkpoint of the pass began.
    pub frames: i64,
    /// Frames of those now in the database file.
    pub copied: i64,
    /// How long the pass held the writers, when it finished with them held.
    pub held: Option<Duration>,
}

/// One pass: a checkpoint while writers go on, then, if the WAL holds `restart_at` frames or more
/// ([`RESTART_AT`] on the thread), one inside `hold` (which runs what it is given with every writer of the host
/// held off).
pub(crate) fn pass(db: &Connection, restart_at: i64, hold: &dyn Fn(&mut dyn FnMut())) -> Result<Pass, rusqlite::Error> {
    let (frames, copied) = passive(db)?;
    if frames < restart_at {
        return Ok(Pass { frames, copied, held: None });
    }
    let mut held = None;
    hold(&mut || {
        let began = std::time::Instant::now();
        held = Some((passive(db), began.elapsed()));
    });
    // A `hold` that did not run the pass leaves the WAL as the first checkpoint left it.
    let Some((outcome, held_for)) = held else { return Ok(Pass { frames, copied, held: None }) };
    let (frames, copied) = outcome?;
    Ok(Pass { frames, copied, held: Some(held_for) })
}

/// `PRAGMA wal_checkpoint(PASSIVE)`: (frames in the WAL, frames copied); it never waits for a lock.
fn passive(db: &Connection) -> Result<(i64, i64), rusqlite::Error> {
    db.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| Ok((row.get(1)?, row.get(2)?)))
}

/// A connection for checkpoints of the database at `path`.
pub(crate) fn open(path: &Path) -> Result<Connection, rusqlite::Error> {
    let db = Connection::open(path)?;
    db.execute_batch("PRAGMA wal_autocheckpoint = 0;")?;
    Ok(db)
}

/// Runs passes every [`TICK`] on a thread of its own for as long as `writers` lives; `hold` locks them.
/// Whether the thread runs: when it does not, the commits must checkpoint themselves.
pub(crate) fn start<W: Send + Sync + 'static>(
    path: &Path,
    writers: Weak<W>,
    hold: impl Fn(&W, &mut dyn FnMut()) + Send + 'static,
) -> bool {
    let db = match open(path) {
        Ok(db) => db,
        Err(e) => {
            tracing::warn!(error = %e, path = %path.display(), "no checkpoint thread: the commits checkpoint");
            return false;
        }
    };
    let spawned = std::thread::Builder::new().name("passerelle-checkpoint".into()).spawn(move || {
        let (mut wait, mut last) = (IDLE_TICK, None);
        loop {
            std::thread::sleep(wait);
            let Some(live) = writers.upgrade() else { return };
            let began = std::time::Instant::now();
            match pass(&db, RESTART_AT, &|run: &mut dyn FnMut()| hold(&live, run)) {
                Ok(done) => {
                    if let Some(held_for) = done.held {
                        // How long changes stood still: what a latency tail is to be lined up against.
                        tracing::debug!(
                            frames = done.frames,
                            copied = done.copied,
                            pass_us = began.elapsed().as_micros() as u64,
                            held_us = held_for.as_micros() as u64,
                            "WAL copied with the writers held; it starts again"
                        );
                    }
                    wait = pause(last, &done);
                    last = Some(done);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "checkpoint failed; the next pass tries again");
                    (wait, last) = (IDLE_TICK, None);
                }
            }
        }
    });
    if let Err(e) = &spawned {
        tracing::warn!(error = %e, "no checkpoint thread: the commits checkpoint");
    }
    spawned.is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    fn wal_database() -> (tempfile::TempDir, Connection) {
        let dir = tempfile::tempdir().unwrap();
        let db = Connection::open(dir.path().join("store.db")).unwrap();
        db.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0; CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB);",
        )
        .unwrap();
        (dir, db)
    }

    fn write_pages(db: &Connection, pages: usize) {
        for _ in 0..pages {
            db.execute("INSERT INTO t (v) VALUES (zeroblob(4000))", []).unwrap();
        }
    }

    #[test]
    fn passes_follow_closely_while_the_wal_grows_and_slowly_once_it_is_still() {
        let seen = |frames, copied, held: bool| Pass { frames, copied, held: held.then_some(Duration::ZERO) };
        // The first pass, or one that found new frames: the WAL is being written.
        assert_eq!(pause(None, &seen(0, 0, false)), BUSY_TICK);
        assert_eq!(pause(Some(seen(100, 100, false)), &seen(140, 140, false)), BUSY_TICK);
        // A reader kept some frames from being copied: go again soon to finish.
        assert_eq!(pause(Some(seen(140, 120, false)), &seen(140, 130, false)), BUSY_TICK);
        // The WAL just started again: the writers were busy enough to fill it.
        assert_eq!(pause(Some(seen(16_400, 16_400, false)), &seen(16_400, 16_400, true)), BUSY_TICK);
        // Nothing written since the pass before, and all of it copied: idle.
        assert_eq!(pause(Some(seen(140, 140, false)), &seen(140, 140, false)), IDLE_TICK);
        // Nothing written, and a long read still keeps the same frames back: no use trying every 10 ms.
        assert_eq!(pause(Some(seen(140, 130, false)), &seen(140, 130, false)), IDLE_TICK);
    }

    #[test]
    fn a_small_wal_is_copied_without_holding_the_writers() {
        let (dir, writer) = wal_database();
        write_pages(&writer, 100);
        let checkpoints = open(&dir.path().join("store.db")).unwrap();
        let held = Cell::new(0);
        let done = pass(&checkpoints, RESTART_AT, &|run: &mut dyn FnMut()| {
            held.set(held.get() + 1);
            run();
        })
        .unwrap();
        assert!(done.held.is_none() && held.get() == 0, "{done:?}");
        assert!(done.frames >= 100 && done.copied == done.frames, "{done:?}");
    }

    #[test]
    fn a_grown_wal_is_finished_with_the_writers_held_and_then_starts_again() {
        let (dir, writer) = wal_database();
        // A small threshold: the thread's would take a 64 MiB WAL here.
        let restart_at = 1024;
        write_pages(&writer, restart_at as usize + 100);
        let checkpoints = open(&dir.path().join("store.db")).unwrap();
        let held = Cell::new(0);
        let done = pass(&checkpoints, restart_at, &|run: &mut dyn FnMut()| {
            held.set(held.get() + 1);
            // What commits just before the writers are held is copied by the held pass too.
            write_pages(&writer, 10);
            run();
        })
        .unwrap();
        assert_eq!(held.get(), 1);
        // The held pass copied what was committed after the first (which had copied everything before).
        assert!(done.held.is_some() && done.frames >= 10 && done.copied == done.frames, "{done:?}");
        // Everything was copied, so the next commit writes the WAL from its first frame again.
        write_pages(&writer, 1);
        let (frames, _) = passive(&checkpoints).unwrap();
        assert!(frames < 10, "the WAL started again: {frames} frames");
        let rows: i64 = writer.query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0)).unwrap();
        assert_eq!(rows, restart_at + 111);
    }
}
