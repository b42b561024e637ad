//! Each request's append-only trail of what happened to it.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::{request_events, users};
use crate::domain::request::EventKind;

/// A `None` is inserted as `NULL` (the columns' default), so the statement's SQL is fixed and
/// diesel keeps it prepared by its type (see docs/ARCHITECTURE.md, "Statements SQLite keeps
/// compiled"); so for the other inserts of an approval.
#[derive(Debug, Insertable)]
#[diesel(table_name = request_events, treat_none_as_default_value = false)]
pub struct NewEvent<'a> {
    pub request_id: i64,
    pub actor_id: Option<i64>,
    pub event: EventKind,
    pub detail: Option<&'a str>,
    pub created_at: NaiveDateTime,
    /// The client's address, for what a user did over HTTP and the service records it for (the
    /// uses of an access).
    pub client_address: Option<&'a str>,
}

pub fn insert_event(conn: &mut DbConnection, event: &NewEvent<'_>) -> QueryResult<()> {
    diesel::insert_into(request_events::table)
        .values(event)
        .execute(conn)
        .map(drop)
}

/// One entry of a request's trail, with its actor's username if a user did it.
#[derive(Debug, Clone, Queryable)]
pub struct EventRow {
    pub request_id: i64,
    pub event: EventKind,
    pub actor: Option<String>,
    pub detail: Option<String>,
    pub created_at: NaiveDateTime,
    pub client_address: Option<String>,
}

/// The trails of these requests, oldest first. One request (a detail) is read with `=`, which
/// diesel keeps prepared; `IN (...)` is compiled again on every call on SQLite.
pub fn events(conn: &mut DbConnection, request_ids: &[i64]) -> QueryResult<Vec<EventRow>> {
    let columns = (
        request_events::request_id,
        request_events::event,
        users::username.nullable(),
        request_events::detail,
        request_events::created_at,
        request_events::client_address,
    );
    let all = request_events::table
        .left_join(users::table)
        .order(request_events::id.asc());
    match request_ids {
        [one] => all
            .filter(request_events::request_id.eq(*one))
            .select(columns)
            .load(conn),
        many => all
            .filter(request_events::request_id.eq_any(many))
            .select(columns)
            .load(conn),
    }
}

/// Writes one entry on a request's trail; `actor_id` is absent for what the service did itself.
pub fn record_event(
    conn: &mut DbConnection,
    request_id: i64,
    actor_id: Option<i64>,
    event: EventKind,
    detail: Option<&str>,
    now: NaiveDateTime,
) -> QueryResult<()> {
    insert_event(
        conn,
        &NewEvent {
            request_id,
            actor_id,
            event,
            detail,
            created_at: now,
            client_address: None,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::testing::keyed_by_type;

    #[test]
    fn an_events_insert_is_kept_prepared_by_its_type() {
        let event = NewEvent {
            request_id: 1,
            actor_id: None,
            event: EventKind::Submitted,
            detail: None,
            created_at: NaiveDateTime::default(),
            client_address: None,
        };
        assert!(keyed_by_type(
            &diesel::insert_into(request_events::table).values(&event)
        ));
    }
}
