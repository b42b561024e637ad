//! A transaction held open on PostgreSQL, and calls to the service that wait for its locks: how
//! the race tests put two writers in the order they want.

use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection, RunQueryDsl};

use crate::helpers::{Reply, TestApp};
use crate::pool::Number;

/// A change in progress: a transaction begun on a connection of its own, not yet committed.
pub struct Held(PgConnection);

impl Held {
    pub fn begin(app: &TestApp, sql: &str) -> Self {
        let mut conn = PgConnection::establish(&app.database.url).expect("a connection");
        conn.batch_execute(&format!("BEGIN; {sql}"))
            .expect("the held change");
        Self(conn)
    }

    pub fn run(&mut self, sql: &str) -> diesel::QueryResult<()> {
        tokio::task::block_in_place(|| self.0.batch_execute(sql))
    }

    pub fn commit(mut self) {
        self.run("COMMIT").expect("commit the held change");
    }
}

/// Starts `call` and waits until it waits for a lock; a call that answers first fails the test,
/// with its answer.
pub async fn blocked(
    app: &TestApp,
    call: impl Future<Output = Reply> + Send + 'static,
) -> tokio::task::JoinHandle<Reply> {
    blocked_behind(app, 1, call).await
}

/// As [`blocked`], once `waiting` calls in all wait for a lock (this one behind the others).
pub async fn blocked_behind(
    app: &TestApp,
    waiting: i32,
    call: impl Future<Output = Reply> + Send + 'static,
) -> tokio::task::JoinHandle<Reply> {
    let task = tokio::spawn(call);
    let started = Instant::now();
    while locks_waited_for(app) < waiting {
        if task.is_finished() {
            panic!("the call did not wait for the change: {:?}", task.await);
        }
        assert!(started.elapsed() < Duration::from_secs(10), "never waited");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    task
}

fn locks_waited_for(app: &TestApp) -> i32 {
    tokio::task::block_in_place(|| lock_waits(&app.database.url))
}

/// How many sessions of the database at `url` wait for a lock now.
pub fn lock_waits(url: &str) -> i32 {
    let mut conn = PgConnection::establish(url).expect("a connection");
    diesel::sql_query(
        "SELECT count(*)::int AS value FROM pg_stat_activity
         WHERE wait_event_type = 'Lock' AND datname = current_database()",
    )
    .get_result::<Number>(&mut conn)
    .expect("activity")
    .value
}
