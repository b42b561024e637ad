//! Queries on `bulk_actions`: the kept outcome of PVWA bulk decisions.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConnection;
use super::schema::bulk_actions;

/// Stores an outcome and returns its id.
pub fn insert(
    conn: &mut DbConnection,
    user_id: i64,
    created_at: NaiveDateTime,
    outcome: &str,
) -> QueryResult<i64> {
    diesel::insert_into(bulk_actions::table)
        .values((
            bulk_actions::user_id.eq(user_id),
            bulk_actions::created_at.eq(created_at),
            bulk_actions::outcome.eq(outcome),
        ))
        .returning(bulk_actions::id)
        .get_result(conn)
}

/// The outcome with this id, if `user_id` is its author: when it was made, and the document.
pub fn find(
    conn: &mut DbConnection,
    id: i64,
    user_id: i64,
) -> QueryResult<Option<(NaiveDateTime, String)>> {
    bulk_actions::table
        .filter(bulk_actions::id.eq(id))
        .filter(bulk_actions::user_id.eq(user_id))
        .select((bulk_actions::created_at, bulk_actions::outcome))
        .first(conn)
        .optional()
}
