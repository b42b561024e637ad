//! Queries on `sessions`: one row per issued token, so revocation bites at once on every instance.

use chrono::NaiveDateTime;
use diesel::dsl;
use diesel::prelude::*;

use super::DbConnection;
use super::requests::StoredTotal;
use super::schema::{certificate_counts, request_counts, sessions, users};
use crate::domain::user::{Role, UserStatus};

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

/// A session that has not expired, of an active user with that username: the session check,
/// written once for [`find_live_user`] and [`find_live_user_with_totals`].
type Live<'a> = dsl::And<
    dsl::And<
        dsl::And<dsl::Eq<sessions::id, &'a str>, dsl::Gt<sessions::expires_at, NaiveDateTime>>,
        dsl::Eq<users::username, &'a str>,
    >,
    dsl::Eq<users::status, UserStatus>,
>;

fn live<'a>(session_id: &'a str, username: &'a str, now: NaiveDateTime) -> Live<'a> {
    sessions::id
        .eq(session_id)
        .and(sessions::expires_at.gt(now))
        .and(users::username.eq(username))
        .and(users::status.eq(UserStatus::Active))
}

/// What a session check reads of its user: who they are and their role. Not the password hash,
/// which only a log-in needs, nor the rest of the profile: every protected call reads this row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct SessionUserRow {
    pub id: i64,
    pub username: String,
    pub email: String,
    pub role: Role,
}

/// The active user behind a live session, in one indexed lookup. The session id is the key, so
/// there is no `LIMIT`.
pub fn find_live_user(
    conn: &mut DbConnection,
    session_id: &str,
    username: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<SessionUserRow>> {
    sessions::table
        .inner_join(users::table)
        .filter(live(session_id, username, now))
        .select(SessionUserRow::as_select())
        .get_result(conn)
        .optional()
}

/// What the triggers keep counted for a user: their requests by type and stored status, and
/// the certificates they own.
#[derive(Debug, Clone, Default)]
pub struct OwnedTotals {
    pub requests: Vec<StoredTotal>,
    pub certificates: i64,
}

/// [`find_live_user`] and the user's [`OwnedTotals`] in one statement: the session row joined
/// with the user and, by the user's id, their counter rows (left joins: a user may have none).
/// One row per request counter (at most one per type and status), or one with no counter. The
/// dashboard reads its totals here, so it checks the session and counts in one round trip
/// instead of three. Unboxed, with no `LIMIT`, so diesel keeps it prepared on both backends.
pub fn find_live_user_with_totals(
    conn: &mut DbConnection,
    session_id: &str,
    username: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<(SessionUserRow, OwnedTotals)>> {
    let rows: Vec<(SessionUserRow, Option<i64>, Option<StoredTotal>)> = sessions::table
        .inner_join(users::table)
        .left_join(certificate_counts::table.on(certificate_counts::owner_id.eq(users::id)))
        .left_join(request_counts::table.on(request_counts::requester_id.eq(users::id)))
        .filter(live(session_id, username, now))
        .select((
            SessionUserRow::as_select(),
            certificate_counts::n.nullable(),
            Option::<StoredTotal>::as_select(),
        ))
        .load(conn)?;
    let mut rows = rows.into_iter();
    let Some((user, certificates, first)) = rows.next() else {
        return Ok(None);
    };
    let requests = first
        .into_iter()
        .chain(rows.filter_map(|(_, _, total)| total))
        .collect();
    Ok(Some((
        user,
        OwnedTotals {
            requests,
            certificates: certificates.unwrap_or(0),
        },
    )))
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
