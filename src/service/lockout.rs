//! Lock-out after failed log-ins, kept in the database so it holds across instances: five
//! consecutive failures lock a username for 15 minutes. Log-in and a password change that
//! checks the current password both count here.

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

/// Counts one failure, locking the username at the threshold.
pub(super) fn record_failure(
    ctx: &Context,
    conn: &mut PooledDb,
    username: &str,
) -> Result<(), AppError> {
    let now = ctx.clock.now_naive();
    let lock_until = now + Duration::minutes(LOCKOUT_MINUTES);
    db::write_transaction(conn, |conn| {
        login_attempts::record_failure(conn, username, now, MAX_FAILED_LOGINS, lock_until)
    })?;
    tracing::info!(user.name = %username, "failed log-in");
    Ok(())
}
