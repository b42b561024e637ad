//! The pool never hands out a connection whose server went away, even one that had not yet run
//! the statement that found it gone (diesel marks a connection broken only when a statement it
//! had already prepared fails).

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::sql_types::Integer;
use diesel::{Connection, PgConnection, QueryableByName, RunQueryDsl, SqliteConnection};
use requestdesk::db::{self, DbPool, PoolOptions, PooledDb, users};

use crate::helpers::{Backend, TestDatabase, postgres_url, spawn_app};

#[derive(QueryableByName)]
pub(crate) struct Number {
    #[diesel(sql_type = Integer)]
    pub(crate) value: i32,
}

/// The integer a one-row query names `value`.
fn number(conn: &mut PooledDb, sql: &str) -> i32 {
    diesel::sql_query(sql)
        .get_result::<Number>(conn)
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .value
}

pub(crate) fn one_connection_pool(database: &TestDatabase, database_timeout: Duration) -> DbPool {
    let options = PoolOptions {
        max_size: 1,
        connection_timeout: Duration::from_secs(5),
        database_timeout,
    };
    db::connect(&database.url, options).expect("a pool")
}

#[test]
fn a_connection_whose_server_ended_it_is_not_handed_out_again() {
    if postgres_url().is_none() {
        eprintln!("skipped: TEST_DATABASE_URL is not set");
        return;
    }
    let database = TestDatabase::new(Backend::Postgres);
    let pool = one_connection_pool(&database, Duration::from_secs(2));
    let mut conn = pool.get().expect("a connection");
    let backend = number(&mut conn, "SELECT pg_backend_pid() AS value");
    let mut admin = PgConnection::establish(&database.url).expect("a second connection");
    diesel::sql_query(format!("SELECT pg_terminate_backend({backend})"))
        .execute(&mut admin)
        .expect("terminate the pooled connection's backend");

    let Err(error) = users::find_by_username(&mut conn, "admin") else {
        panic!("its server is gone, and the user was found");
    };
    assert!(
        db::is_unavailable(&error),
        "a statement on a terminated connection is not classed as unavailable: {error:?}"
    );
    drop(conn);

    let mut conn = pool.get().expect("a new connection");
    assert_eq!(
        users::find_by_username(&mut conn, "admin").map(|user| user.is_none()),
        Ok(true),
        "the pool handed out the terminated connection again"
    );
}

#[test]
fn sqlite_waits_for_a_lock_as_long_as_the_database_timeout() {
    let database = TestDatabase::new(Backend::Sqlite);
    let pool = one_connection_pool(&database, Duration::from_secs(7));
    let mut conn = pool.get().expect("a connection");
    let busy_timeout_ms = number(
        &mut conn,
        "SELECT timeout AS value FROM pragma_busy_timeout",
    );
    assert_eq!(busy_timeout_ms, 7000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_write_kept_waiting_past_the_database_timeout_is_503() {
    let app = spawn_app(Backend::Sqlite).await;
    let mut lock = SqliteConnection::establish(&app.database.url).expect("a second connection");
    lock.batch_execute("BEGIN IMMEDIATE")
        .expect("take the write lock");

    let refused = app.sign_up("bob", None).await;
    assert_eq!(
        (refused.status, refused.problem_code()),
        (503, "service_unavailable"),
        "{refused:?}"
    );
    assert_eq!(refused.header("retry-after"), Some("1"));

    lock.batch_execute("ROLLBACK")
        .expect("release the write lock");
    let accepted = app.sign_up("bob", None).await;
    assert_eq!(accepted.status, 201, "{accepted:?}");
}
