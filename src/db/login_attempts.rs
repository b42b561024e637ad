//! Queries on `login_attempts`: consecutive failed log-ins per username, kept in the database so
//! the lock-out holds across instances. Unknown usernames are counted too, so the lock-out says
//! nothing about which accounts exist.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConnection;
use super::schema::login_attempts;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = login_attempts)]
pub struct LoginAttempts {
    pub username: String,
    pub failed_count: i32,
    pub last_failed_at: NaiveDateTime,
    pub locked_until: Option<NaiveDateTime>,
}

pub fn find(conn: &mut DbConnection, username: &str) -> QueryResult<Option<LoginAttempts>> {
    login_attempts::table
        .find(username)
        .select(LoginAttempts::as_select())
        .first(conn)
        .optional()
}

/// Counts one more failure and, at `threshold`, locks the username until `lock_until`; failures
/// counted before `forget_before` (and no lock-out) are forgotten first. Runs inside the
/// caller's write transaction.
pub fn record_failure(
    conn: &mut DbConnection,
    username: &str,
    now: NaiveDateTime,
    forget_before: NaiveDateTime,
    threshold: i32,
    lock_until: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(
        login_attempts::table
            .find(username)
            .filter(login_attempts::locked_until.is_null())
            .filter(login_attempts::last_failed_at.lt(forget_before)),
    )
    .set(login_attempts::failed_count.eq(0))
    .execute(conn)?;
    let updated = diesel::update(login_attempts::table.find(username))
        .set((
            login_attempts::failed_count.eq(login_attempts::failed_count + 1),
            login_attempts::last_failed_at.eq(now),
        ))
        .execute(conn)?;
    if updated == 0 {
        // In a savepoint: on PostgreSQL a failed insert would otherwise abort the transaction.
        let inserted = conn.transaction(|conn| {
            diesel::insert_into(login_attempts::table)
                .values((
                    login_attempts::username.eq(username),
                    login_attempts::failed_count.eq(1),
                    login_attempts::last_failed_at.eq(now),
                ))
                .execute(conn)
        });
        // Another failure for the same name inserted the row first: count on it instead.
        if let Err(error) = inserted {
            if super::unique_violation(&error).is_none() {
                return Err(error);
            }
            diesel::update(login_attempts::table.find(username))
                .set(login_attempts::failed_count.eq(login_attempts::failed_count + 1))
                .execute(conn)?;
        }
    }
    diesel::update(
        login_attempts::table
            .find(username)
            .filter(login_attempts::failed_count.ge(threshold))
            .filter(login_attempts::locked_until.is_null()),
    )
    .set(login_attempts::locked_until.eq(lock_until))
    .execute(conn)
    .map(drop)
}

/// Forgets a username's failures: after a successful log-in, once a lock-out has run out, or
/// when the user's password is set anew (an administrator's reset ends a lock-out).
pub fn clear(conn: &mut DbConnection, username: &str) -> QueryResult<()> {
    diesel::delete(login_attempts::table.find(username))
        .execute(conn)
        .map(drop)
}
