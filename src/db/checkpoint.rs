//! SQLite's write-ahead log is checkpointed by a thread of its own, not by the writer whose
//! commit crossed the threshold. SQLite's auto-checkpoint runs inside that writer's `COMMIT`,
//! while it still holds the process's write turn (`WriterTurn`): 11.5% of the service's time in
//! S9's profile (copying WAL frames back into the database, and its `fsync`), during which every
//! other writer waited. Here the pool's connections have `wal_autocheckpoint = 0`, and this thread
//! runs a `PASSIVE` checkpoint every [`INTERVAL`]: it takes no write lock, so writers go on.
//!
//! A `PASSIVE` checkpoint copies frames but never starts the log over: SQLite writes from the
//! start of the WAL again only when a write begins while no reader still reads from it, and with
//! requests always reading that moment never comes (checkpoint starvation). S9 grew the WAL to
//! 600 MB in a minute (each page written stays in it, and readers look pages up in its index).
//! So once the log holds more than [`RESTART_PAST_FRAMES`], the thread catches up once more,
//! then takes the process's write turn (our writers queue on its mutex, not in SQLite's polling
//! busy handler) and runs a `RESTART` checkpoint: it copies the last frames, waits at most
//! [`RESTART_WAIT`] for the readers still in the log (new ones read the database file, all of it
//! checkpointed), and the next write starts the log over, at the start of the same file. If
//! readers outlast that wait, it tries again at the next interval.
//!
//! One thread per pool, on a connection outside the pool; it stops within an interval of the
//! pool being dropped. If it cannot open its connection, or a checkpoint fails, it logs and keeps
//! trying: the WAL then grows until the next checkpoint succeeds, as it does behind a long reader
//! with SQLite's own auto-checkpoint.

use std::sync::Weak;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::sql_types::Integer;
use diesel::{Connection, QueryResult, QueryableByName, RunQueryDsl, SqliteConnection};

/// How often the WAL is checkpointed. At S9's 2,000 writes a second a checkpoint copies about
/// 2,000 pages, about what SQLite's default threshold of 1,000 pages lets build up between its
/// own checkpoints.
pub const INTERVAL: Duration = Duration::from_millis(100);

/// The log's length, in frames (pages), past which it is started over: 32 MiB of 4 KiB pages.
/// Each restart holds the write turn for a few milliseconds (S9: 2-28 ms, most 5-8, its copy
/// and `fsync`), which S9 meets about once a second at this length.
pub const RESTART_PAST_FRAMES: i64 = 8192;

/// How long a restarting checkpoint, holding the write turn, waits for readers to leave the log.
pub const RESTART_WAIT: Duration = Duration::from_millis(100);

/// What `PRAGMA wal_checkpoint` answers.
#[derive(Debug, QueryableByName)]
struct Checkpointed {
    /// 1 when it could not finish (a `RESTART` that found readers still in the log).
    #[diesel(sql_type = Integer)]
    busy: i32,
    /// Frames in the log when it ran (-1 when not in WAL mode).
    #[diesel(sql_type = Integer)]
    log: i32,
}

/// Starts the checkpointer of the SQLite file at `path`; it runs while `alive` can be upgraded.
pub fn spawn<T: Send + Sync + 'static>(path: String, busy_timeout: Duration, alive: Weak<T>) {
    let spawned = std::thread::Builder::new()
        .name("sqlite-checkpoint".to_owned())
        .spawn(move || run(&path, busy_timeout, &alive));
    if let Err(error) = spawned {
        tracing::warn!(%error, "could not start the WAL checkpointer");
    }
}

fn run<T>(path: &str, busy_timeout: Duration, alive: &Weak<T>) {
    let mut conn: Option<SqliteConnection> = None;
    loop {
        std::thread::sleep(INTERVAL);
        if alive.strong_count() == 0 {
            return;
        }
        if conn.is_none() {
            conn = open(path, busy_timeout);
        }
        if let Some(sqlite) = conn.as_mut()
            && let Err(error) = checkpoint(sqlite, busy_timeout)
        {
            tracing::warn!(%error, "WAL checkpoint failed");
            conn = None;
        }
    }
}

/// A passive checkpoint; then, if the log has grown past its bound, a truncating one.
fn checkpoint(sqlite: &mut SqliteConnection, busy_timeout: Duration) -> QueryResult<()> {
    let passive = wal_checkpoint(sqlite, "PASSIVE")?;
    if i64::from(passive.log) <= RESTART_PAST_FRAMES {
        return Ok(());
    }
    // Again, still without the turn, for what was written while the first one copied, and the
    // database file's `fsync` (a passive checkpoint that readers kept from the end syncs
    // nothing): under the turn, the restart then has only the last few frames to copy and sync.
    wal_checkpoint(sqlite, "PASSIVE")?;
    sync_database_file(sqlite);
    let turn = super::WriterTurn::wait()?;
    let held = std::time::Instant::now();
    set_busy_timeout(sqlite, RESTART_WAIT)?;
    let restarted = wal_checkpoint(sqlite, "RESTART");
    set_busy_timeout(sqlite, busy_timeout)?;
    drop(turn);
    let restarted = restarted?.busy == 0;
    tracing::debug!(
        frames = passive.log,
        restarted,
        turn_held_us = held.elapsed().as_micros(),
        "WAL restart"
    );
    Ok(())
}

/// Flushes the pages checkpoints copied into the database file to disk. Any descriptor's `fsync`
/// syncs the file, so SQLite's own one, under the turn, finds little left to write (with 32 MiB
/// copied since the last, it took up to 28 ms; the writers waited).
fn sync_database_file(sqlite: &mut SqliteConnection) {
    #[derive(QueryableByName)]
    struct MainFile {
        #[diesel(sql_type = diesel::sql_types::Text)]
        file: String,
    }
    let file = diesel::sql_query("SELECT file FROM pragma_database_list WHERE name = 'main'")
        .get_result::<MainFile>(sqlite);
    let synced = match file {
        Ok(MainFile { file }) if !file.is_empty() => {
            std::fs::File::open(&file).and_then(|file| file.sync_data())
        }
        _ => return,
    };
    if let Err(error) = synced {
        tracing::debug!(%error, "could not sync the database file ahead of a WAL restart");
    }
}

fn wal_checkpoint(sqlite: &mut SqliteConnection, mode: &str) -> QueryResult<Checkpointed> {
    diesel::sql_query(format!("PRAGMA wal_checkpoint({mode})")).get_result(sqlite)
}

fn set_busy_timeout(sqlite: &mut SqliteConnection, timeout: Duration) -> QueryResult<()> {
    sqlite.batch_execute(&format!("PRAGMA busy_timeout = {};", timeout.as_millis()))
}

fn open(path: &str, busy_timeout: Duration) -> Option<SqliteConnection> {
    let opened = SqliteConnection::establish(path).and_then(|mut conn| {
        set_busy_timeout(&mut conn, busy_timeout)
            .map_err(|e| diesel::ConnectionError::BadConnection(e.to_string()))?;
        Ok(conn)
    });
    match opened {
        Ok(conn) => Some(conn),
        Err(error) => {
            tracing::warn!(%error, "the WAL checkpointer could not open the database");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Instant;

    use diesel::connection::SimpleConnection;

    use crate::db::{DbPool, PoolOptions, connect};

    fn pool_on(file: &std::path::Path, max_size: u32) -> DbPool {
        let options = PoolOptions {
            max_size,
            connection_timeout: std::time::Duration::from_secs(5),
            database_timeout: std::time::Duration::from_secs(5),
        };
        connect(&format!("sqlite://{}", file.display()), options).expect("pool")
    }

    /// The checkpoint sequence number in the WAL's header (bytes 12..16, big-endian): SQLite
    /// raises it each time a writer starts the log over, and only then.
    fn wal_restarts(wal: &std::path::Path) -> u32 {
        use std::io::Read;
        let mut header = [0u8; 16];
        let read = std::fs::File::open(wal).and_then(|mut f| f.read_exact(&mut header));
        read.map_or(0, |()| {
            u32::from_be_bytes([header[12], header[13], header[14], header[15]])
        })
    }

    fn write_pages(writer: &mut crate::db::DbConnection, pages: u32) {
        let _turn = crate::db::WriterTurn::wait().expect("turn");
        writer
            .batch_execute(&format!(
                "BEGIN IMMEDIATE;
                 WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {pages})
                 INSERT INTO blobs SELECT randomblob(4000) FROM n;
                 COMMIT;"
            ))
            .expect("writes");
    }

    /// Two readers take turns so that one of them is always inside a read transaction, and the
    /// writer commits every few milliseconds: a passive checkpoint alone then never gets to start
    /// the log over (some reader always reads a frame of it), and the WAL grows by every page
    /// written (180 MB in this test's minute). The writer fills the log past
    /// `RESTART_PAST_FRAMES`, then goes on writing a page at a time until the log has been
    /// started over, however long the disk takes to sync what the checkpointer copied (CI's once
    /// took longer than a fixed run of writes), and then writes half the bound again: from the
    /// start of the file, so the file does not grow.
    #[test]
    fn the_wal_starts_over_while_readers_never_stop() {
        let dir = tempfile::tempdir().expect("dir");
        let file = dir.path().join("bounded.db");
        let pool = pool_on(&file, 4);
        let mut writer = pool.get().expect("conn");
        writer
            .batch_execute("CREATE TABLE blobs (b BLOB NOT NULL)")
            .expect("table");
        let done = Arc::new(AtomicBool::new(false));
        let readers: Vec<_> = [0, 3]
            .into_iter()
            .map(|offset_ms| {
                let (pool, done) = (pool.clone(), Arc::clone(&done));
                std::thread::spawn(move || {
                    let mut conn = pool.get().expect("conn");
                    std::thread::sleep(std::time::Duration::from_millis(offset_ms));
                    while !done.load(Ordering::Relaxed) {
                        conn.batch_execute("BEGIN; SELECT count(*) FROM sqlite_master;")
                            .expect("read");
                        std::thread::sleep(std::time::Duration::from_millis(6));
                        conn.batch_execute("COMMIT").expect("end of read");
                    }
                })
            })
            .collect();
        let wal = file.with_extension("db-wal");
        let bound = u32::try_from(super::RESTART_PAST_FRAMES).expect("frames");
        write_pages(&mut writer, bound + bound / 4);
        let restarts = wal_restarts(&wal);
        let started = Instant::now();
        while wal_restarts(&wal) == restarts {
            assert!(
                started.elapsed() < std::time::Duration::from_secs(60),
                "the WAL was not started over in a minute: {} bytes",
                std::fs::metadata(&wal).map_or(0, |m| m.len())
            );
            write_pages(&mut writer, 1);
            std::thread::sleep(super::INTERVAL / 20);
        }
        let restarted_at = std::fs::metadata(&wal).expect("wal").len();
        write_pages(&mut writer, bound / 2);
        let after = std::fs::metadata(&wal).expect("wal").len();
        done.store(true, Ordering::Relaxed);
        readers.into_iter().for_each(|r| r.join().expect("reader"));
        assert!(
            after <= restarted_at,
            "the writes after the restart grew the WAL from {restarted_at} to {after} bytes"
        );
    }

    #[test]
    fn the_checkpointer_copies_the_wal_into_the_database_while_writers_do_not() {
        let dir = tempfile::tempdir().expect("dir");
        let file = dir.path().join("checkpoint.db");
        let pool = pool_on(&file, 2);
        let size = || std::fs::metadata(&file).expect("file").len();
        let mut conn = pool.get().expect("conn");
        // 8 MiB through the WAL, in one transaction, far past SQLite's 1,000-page threshold.
        conn.batch_execute(
            "CREATE TABLE blobs (b BLOB NOT NULL);
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2048)
             INSERT INTO blobs SELECT randomblob(4096) FROM n;",
        )
        .expect("writes");
        let written = size();
        assert!(
            written < 4 << 20,
            "the writer's commit did not checkpoint: {written} bytes"
        );
        let started = Instant::now();
        while size() < 8 << 20 {
            assert!(
                started.elapsed() < super::INTERVAL * 50,
                "no checkpoint: the database file is still {} bytes",
                size()
            );
            std::thread::sleep(super::INTERVAL / 20);
        }
    }
}
