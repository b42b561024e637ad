//! PVWA bulk decisions: each item is decided by the caller with the same service calls as a
//! single decision (so the same rules and races), then the outcome, as the API layer writes it,
//! is kept for its author, on the database every instance shares.

use chrono::{DateTime, Utc};

use super::Context;
use super::auth::VerifiedToken;
use crate::db::bulk_actions as bulk_db;
use crate::domain::time::utc;
use crate::error::{AppError, ErrorCode};

/// Keeps the outcome of a bulk action by the caller; returns its id.
pub fn record(ctx: &Context, token: &VerifiedToken, outcome: &str) -> Result<i64, AppError> {
    let (mut conn, me) = ctx.authenticate(token)?;
    let now = ctx.clock.now_naive();
    let id = bulk_db::insert(&mut conn, me.id, now, outcome)?;
    tracing::info!(bulk_action.id = id, user.name = %me.username, "bulk action recorded");
    Ok(id)
}

/// A bulk action of the caller's: when it was made and its outcome; anyone else's, or none:
/// not found.
pub fn find(
    ctx: &Context,
    token: &VerifiedToken,
    id: i64,
) -> Result<(DateTime<Utc>, String), AppError> {
    let (mut conn, me) = ctx.authenticate(token)?;
    bulk_db::find(&mut conn, id, me.id)?
        .map(|(created, outcome)| (utc(created), outcome))
        .ok_or_else(|| AppError::new(ErrorCode::NotFound, format!("no bulk action {id}")))
}
