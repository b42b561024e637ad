//! Changes to a safe that undo its waiting requests (a new confirmation policy, a deleted account
//! or safe, confirmers removed, suspended or given another role) invalidate them at once, each
//! with its reason on its trail.

use chrono::NaiveDateTime;

use super::confirmers::can_still_be_decided;
use crate::db::DbConnection;
use crate::db::requests::Ends;
use crate::db::requests::{self as req_db};
use crate::db::safes::{self as safe_db, SafeRow};
use crate::domain::access::InvalidReason;
use crate::domain::request::EventKind;
use crate::domain::user::Role;
use crate::error::AppError;
use crate::service::requests::events::record_event;
use crate::service::requests::status::Remaining;

/// Invalidates the live requests on a safe (or on one of its accounts) and records why on each
/// one's trail.
pub fn invalidate_on_safe(
    conn: &mut DbConnection,
    safe_id: i64,
    account_id: Option<i64>,
    reason: InvalidReason,
    ends: Ends,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    for id in req_db::invalidate_on_safe(conn, safe_id, account_id, reason, ends, now)? {
        record_invalidated(conn, id, reason, now)?;
    }
    Ok(())
}

/// Writes on the request's trail that it was invalidated, and why.
fn record_invalidated(
    conn: &mut DbConnection,
    request_id: i64,
    reason: InvalidReason,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    let kind = EventKind::Invalidated;
    Ok(record_event(
        conn,
        request_id,
        None,
        kind,
        Some(reason.as_str()),
        now,
    )?)
}

/// After a user was suspended, deleted or given another role: re-checks the waiting requests of
/// every safe where they confirm, directly or through their old or new role.
pub fn recheck_for_user(
    conn: &mut DbConnection,
    user_id: i64,
    roles: &[Role],
    now: NaiveDateTime,
) -> Result<(), AppError> {
    for safe in safe_db::safes_with_pending_for(conn, user_id, roles)? {
        recheck_safe(conn, &safe, now)?;
    }
    Ok(())
}

/// Marks `missing_supervisors` on every waiting request of the safe that its remaining
/// confirmers can no longer decide.
pub fn recheck_safe(
    conn: &mut DbConnection,
    safe: &SafeRow,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    let members = safe_db::active_members(conn, safe.id)?;
    for request in req_db::pending_in_safe(conn, safe.id)? {
        let decisions = req_db::decisions(conn, &[request.id])?;
        if !can_still_be_decided(
            conn,
            &members,
            request.requester_id,
            Remaining::of(&request),
            &decisions,
        )? {
            let reason = InvalidReason::MissingSupervisors;
            if req_db::invalidate(conn, request.id, reason, now)? {
                record_invalidated(conn, request.id, reason, now)?;
            }
        }
    }
    Ok(())
}
