//! Queries on `sessions`: one row per issued token, so revocation bites at once on every instance.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConnection;
use super::schema::{sessions, users};
use super::users::UserRow;
use crate::domain::user::UserStatus;

#[derive(Debug, Insertable)]
#[diesel(table_name = sessions)]
pub struct NewSession<'a> {
    pub id: &'a str,
    pub user_id: i64,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
}

pub fn insert(conn: &mut DbConnection, session: &NewSession<'_>) -> QueryResult<()> {
    diesel::insert_into(sessions::table)
        .values(session)
        .execute(conn)
        .map(drop)
}

/// The active user behind a live session, in one indexed lookup. The session id is the key, so
/// there is no `LIMIT`: a bound `LIMIT` makes SQLite recompile the statement on every call.
pub fn find_live_user(
    conn: &mut DbConnection,
    session_id: &str,
    username: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<UserRow>> {
    sessions::table
        .inner_join(users::table)
        .filter(sessions::id.eq(session_id))
        .filter(sessions::expires_at.gt(now))
        .filter(users::username.eq(username))
        .filter(users::status.eq(UserStatus::Active))
        .select(UserRow::as_select())
        .get_result(conn)
        .optional()
}

/// Deletes one session; returns whether it existed.
pub fn delete(conn: &mut DbConnection, session_id: &str) -> QueryResult<bool> {
    diesel::delete(sessions::table.find(session_id))
        .execute(conn)
        .map(|deleted| deleted > 0)
}

/// Deletes every session of a user except `keep` (the caller's own, when they stay logged in).
pub fn delete_for_user(
    conn: &mut DbConnection,
    user_id: i64,
    keep: Option<&str>,
) -> QueryResult<usize> {
    let mine = sessions::table.filter(sessions::user_id.eq(user_id));
    match keep {
        Some(keep) => diesel::delete(mine.filter(sessions::id.ne(keep))).execute(conn),
        None => diesel::delete(mine).execute(conn),
    }
}

/// Deletes a user's sessions that have expired, so the table does not grow without bound.
pub fn delete_expired_for_user(
    conn: &mut DbConnection,
    user_id: i64,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::delete(
        sessions::table
            .filter(sessions::user_id.eq(user_id))
            .filter(sessions::expires_at.le(now)),
    )
    .execute(conn)
}
