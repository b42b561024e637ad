//! Helpers for the unit tests of the `db` layer: a scratch SQLite database, what a call sent to
//! it, and how SQLite plans it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use diesel::connection::{Connection, InstrumentationEvent};
use diesel::prelude::*;
use diesel::sql_types::Text;

use super::DbConnection;
use super::pool::connect_one;

/// A migrated SQLite database of its own, in a temporary directory (kept alive by the first
/// half), and one connection to it.
pub(crate) fn scratch_sqlite() -> (tempfile::TempDir, DbConnection) {
    let dir = tempfile::tempdir().expect("dir");
    let url = format!("sqlite://{}", dir.path().join("scratch.db").display());
    let conn = connect_one(&url, Duration::from_secs(5)).expect("connection");
    (dir, conn)
}

/// The SQL of each statement `run` sent (binds left out), and of each one diesel prepared to
/// keep in its statement cache, in order.
pub(crate) struct Sent {
    pub started: Vec<String>,
    pub kept: Vec<String>,
}

pub(crate) fn sent_by(conn: &mut DbConnection, run: impl FnOnce(&mut DbConnection)) -> Sent {
    let seen = Arc::new(Mutex::new(Sent {
        started: Vec::new(),
        kept: Vec::new(),
    }));
    let log = Arc::clone(&seen);
    conn.set_instrumentation(move |event: InstrumentationEvent<'_>| {
        let mut log = log.lock().expect("lock");
        match event {
            InstrumentationEvent::StartQuery { query, .. } => {
                let sql = query.to_string();
                let sql = sql.split(" -- binds:").next().unwrap_or_default();
                log.started.push(sql.to_owned());
            }
            InstrumentationEvent::CacheQuery { sql, .. } => log.kept.push(sql.to_owned()),
            _ => {}
        }
    });
    run(conn);
    conn.set_instrumentation(|_: InstrumentationEvent<'_>| {});
    let mut sent = seen.lock().expect("lock");
    Sent {
        started: std::mem::take(&mut sent.started),
        kept: std::mem::take(&mut sent.kept),
    }
}

#[derive(QueryableByName)]
struct PlanStep {
    #[diesel(sql_type = Text)]
    detail: String,
}

/// SQLite's plan for the one statement `run` sends on `conn`, its steps joined by `; `.
pub(crate) fn plan_on(conn: &mut DbConnection, run: impl FnOnce(&mut DbConnection)) -> String {
    let sent = sent_by(conn, run).started;
    let [sql] = sent.as_slice() else {
        panic!("one statement expected: {sent:?}");
    };
    diesel::sql_query(format!("EXPLAIN QUERY PLAN {sql}"))
        .load::<PlanStep>(conn)
        .expect("plan")
        .into_iter()
        .map(|step| step.detail)
        .collect::<Vec<_>>()
        .join("; ")
}

/// [`plan_on`] a scratch database.
pub(crate) fn plan_of(run: impl FnOnce(&mut DbConnection)) -> String {
    let (_dir, mut conn) = scratch_sqlite();
    plan_on(&mut conn, run)
}

/// Whether diesel keeps `query` in its statement cache by its type, with no SQL text built per
/// call to look it up (an insert of `Option` fields that skips the `None`s is keyed by its text).
pub(crate) fn keyed_by_type<Q: diesel::query_builder::QueryId>(_query: &Q) -> bool {
    Q::HAS_STATIC_QUERY_ID
}
