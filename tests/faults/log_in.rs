//! A log-in checks the password against the user's row as it read it before hashing, then opens
//! its session: a password change or a suspension committed in between must win, on both
//! databases (`db::users::lock_if_unchanged`).

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};
use requestdesk::db::users;

use crate::held::lock_waits;
use crate::helpers::{Backend, TestDatabase, postgres_url};
use crate::pool::one_connection_pool;

/// On PostgreSQL the log-in's check locks the user's row, so it waits for a password change in
/// progress and then finds the new hash. Without the lock it read the old row at once and opened
/// a session the change never ended.
#[test]
fn a_log_in_racing_a_password_change_waits_for_it_and_opens_no_session() {
    if postgres_url().is_none() {
        eprintln!("skipped: TEST_DATABASE_URL is not set");
        return;
    }
    let database = TestDatabase::new(Backend::Postgres);
    let pool = one_connection_pool(&database, Duration::from_secs(10));
    let mut change = PgConnection::establish(&database.url).expect("a second connection");
    change
        .batch_execute(
            "INSERT INTO users (username, name, email, password_hash, role, status, created_at,
                 updated_at)
             VALUES ('amy', 'Amy', 'amy@example.com', 'old', 'developer', 'active', now(), now())",
        )
        .expect("amy");
    change
        .batch_execute("BEGIN; UPDATE users SET password_hash = 'new' WHERE username = 'amy';")
        .expect("a password change, not yet committed");
    let log_in = std::thread::spawn(move || {
        let mut conn = pool.get().expect("a connection");
        let id = users::find_by_username(&mut conn, "amy")
            .expect("amy")
            .expect("amy exists")
            .id;
        conn.transaction(|conn| users::lock_if_unchanged(conn, id, "old"))
    });
    let started = std::time::Instant::now();
    while lock_waits(&database.url) == 0 {
        assert!(
            !log_in.is_finished(),
            "the log-in did not wait for the password change: {:?}",
            log_in.join()
        );
        assert!(started.elapsed() < Duration::from_secs(10), "never waited");
        std::thread::sleep(Duration::from_millis(20));
    }
    change.batch_execute("COMMIT").expect("commit the change");
    let unchanged = log_in.join().expect("log-in thread");
    assert_eq!(
        unchanged,
        Ok(false),
        "the old password no longer opens a session"
    );
}

#[test]
fn on_sqlite_a_changed_password_or_a_suspension_opens_no_session() {
    let database = TestDatabase::new(Backend::Sqlite);
    let pool = one_connection_pool(&database, Duration::from_secs(5));
    let mut conn = pool.get().expect("a connection");
    conn.batch_execute(
        "INSERT INTO users (username, name, email, password_hash, role, status, created_at,
             updated_at)
         VALUES ('amy', 'Amy', 'amy@example.com', 'old', 'developer', 'active',
             '2026-12-03 00:00:00', '2026-12-03 00:00:00')",
    )
    .expect("amy");
    let id = users::find_by_username(&mut conn, "amy")
        .expect("amy")
        .expect("amy exists")
        .id;
    assert_eq!(users::lock_if_unchanged(&mut conn, id, "old"), Ok(true));
    assert_eq!(users::lock_if_unchanged(&mut conn, id, "other"), Ok(false));
    conn.batch_execute("UPDATE users SET status = 'suspended'")
        .expect("suspend");
    assert_eq!(users::lock_if_unchanged(&mut conn, id, "old"), Ok(false));
}
