//! Lock-out after failed log-ins, kept in the database so it holds across instances: five
//! consecutive failures, each within 15 minutes of the one before, lock a username for 15
//! minutes. Log-in and a password change that checks the current password both count here; a
//! new password set for the user ends a lock-out.

use chrono::Duration;

use super::Context;
use crate::db::{self, PooledDb, login_attempts};
use crate::error::AppError;

/// Consecutive failures after which a username is locked out.
pub const MAX_FAILED_LOGINS: i32 = 5;
/// How long a lock-out lasts.
pub const LOCKOUT_MINUTES: i64 = 15;

/// Refuses (429) while the username is locked out; clears a lock-out that has ended.
pub(super) fn refuse_if_locked(
    ctx: &Context,
    conn: &mut PooledDb,
    username: &str,
) -> Result<(), AppError> {
    let now = ctx.clock.now_naive();
    let Some(attempts) = login_attempts::find(conn, username)? else {
        return Ok(());
    };
    match attempts.locked_until {
        Some(until) if until > now => Err(AppError::TooManyRequests {
            retry_after_secs: u64::try_from((until - now).num_seconds().max(1)).unwrap_or(1),
        }),
        Some(_) => Ok(login_attempts::clear(conn, username)?),
        None => Ok(()),
    }
}

/// Whose failure is counted: a known user's name is logged; any other name is not, since it
/// may be a password typed into the wrong field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Attempted {
    KnownUser,
    UnknownName,
}

/// Counts one failure, locking the username at the threshold.
pub(super) fn record_failure(
    ctx: &Context,
    conn: &mut PooledDb,
    username: &str,
    attempted: Attempted,
) -> Result<(), AppError> {
    let now = ctx.clock.now_naive();
    let window = Duration::minutes(LOCKOUT_MINUTES);
    db::write_transaction(conn, |conn| {
        login_attempts::record_failure(
            conn,
            username,
            now,
            now - window,
            MAX_FAILED_LOGINS,
            now + window,
        )
    })?;
    match attempted {
        Attempted::KnownUser => tracing::info!(user.name = %username, "failed log-in"),
        Attempted::UnknownName => tracing::info!("failed log-in under an unknown name"),
    }
    Ok(())
}
