//! SQLite's write-ahead log is checkpointed by a thread of its own, not by the writer whose
//! commit crossed the threshold. SQLite's auto-checkpoint runs inside that writer's `COMMIT`,
//! while it still holds the process's write turn (`WriterTurn`): 11.5% of the service's time in
//! S9's profile (copying WAL frames back into the database, and its `fsync`), during which every
//! other writer waited. Here the pool's connections have `wal_autocheckpoint = 0`, and this thread
//! runs a `PASSIVE` checkpoint every [`INTERVAL`]: it takes no write lock, so writers go on.
//!
//! One thread per pool, on a connection outside the pool; it stops within an interval of the
//! pool being dropped. If it cannot open its connection, or a checkpoint fails, it logs and keeps
//! trying: the WAL then grows until the next checkpoint succeeds, as it does behind a long reader
//! with SQLite's own auto-checkpoint.

use std::sync::Weak;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::{Connection, SqliteConnection};

/// How often the WAL is checkpointed. At S9's 2,000 writes a second a checkpoint copies about
/// 2,000 pages, about what SQLite's default threshold of 1,000 pages lets build up between its
/// own checkpoints.
pub const INTERVAL: Duration = Duration::from_millis(100);

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
            && let Err(error) = sqlite.batch_execute("PRAGMA wal_checkpoint(PASSIVE)")
        {
            tracing::warn!(%error, "WAL checkpoint failed");
            conn = None;
        }
    }
}

fn open(path: &str, busy_timeout: Duration) -> Option<SqliteConnection> {
    let opened = SqliteConnection::establish(path).and_then(|mut conn| {
        conn.batch_execute(&format!(
            "PRAGMA busy_timeout = {};",
            busy_timeout.as_millis()
        ))
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
    use std::time::Instant;

    use diesel::connection::SimpleConnection;

    use crate::db::{PoolOptions, connect};

    #[test]
    fn the_checkpointer_copies_the_wal_into_the_database_while_writers_do_not() {
        let dir = tempfile::tempdir().expect("dir");
        let file = dir.path().join("checkpoint.db");
        let options = PoolOptions {
            max_size: 2,
            connection_timeout: std::time::Duration::from_secs(5),
            database_timeout: std::time::Duration::from_secs(5),
        };
        let pool = connect(&format!("sqlite://{}", file.display()), options).expect("pool");
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
            std::thread::sleep(super::INTERVAL / 4);
        }
    }
}
