//! A request's life: submitted, then cancelled by its requester, or confirmed level by level
//! and approved, or rejected. Every transition is one conditional update inside one
//! transaction, so a cancel racing a confirmation has exactly one winner. Uses `views` (to
//! answer with the detail), `kind`, and the leaves.

use std::sync::Arc;

use chrono::NaiveDateTime;

use super::access::Capacity;
use super::events::record_event;
use super::kind::{Kind, NewRequest, Presigned};
use super::lookups::{
    RequestRef, already_decided, no_request, not_pending, own_request, require_request,
    require_reviewer,
};
use super::reason::parse_reason;
use super::status::{AfterConfirmation, after_confirmation, is_waiting};
use super::views::load_detail;
use crate::db::requests::{self as req_db, NewDecision, RejectedBy, RequestRow};
use crate::db::{self, DbConnection};
use crate::domain::request::{Decision, EventKind, RequestDetail};
use crate::error::AppError;
use crate::service::Context;
use crate::service::auth::{CurrentUser, VerifiedToken};

/// What the requester writes when cancelling.
pub const CANCELLED_BY_REQUESTER: &str = "Cancelled by requester";

/// Submits a request for the caller.
pub fn submit(
    ctx: &Context,
    token: &VerifiedToken,
    request: NewRequest,
) -> Result<RequestDetail, AppError> {
    let (mut conn, me) = ctx.authenticate(token)?;
    let id = Kind::submit(ctx, &mut conn, &me, request)?;
    load_detail(ctx, &mut conn, id, None)
}

/// Cancels one of the caller's pending requests.
pub fn cancel<'r>(
    ctx: &Arc<Context>,
    token: &VerifiedToken,
    request: impl Into<RequestRef<'r>>,
) -> Result<RequestDetail, AppError> {
    let (mut conn, me) = ctx.authenticate(token)?;
    let id = request.into().resolve(&mut conn)?;
    let now = ctx.clock.now_naive();
    let me_id = me.id;
    ctx.pool.grouped_write(&mut conn, move |conn| {
        let by = RejectedBy::Requester(me_id);
        if !req_db::reject(conn, id, by, CANCELLED_BY_REQUESTER, now)? {
            require_request(conn, id, Some(me_id))?;
            return Err(not_pending());
        }
        Ok(record_event(
            conn,
            id,
            Some(me_id),
            EventKind::Cancelled,
            None,
            now,
        )?)
    })?;
    tracing::info!(request.id = id, user.name = %me.username, "request cancelled");
    load_detail(ctx, &mut conn, id, Some(me.id))
}

/// Records the caller's confirmation at the request's current level. When a level has all it
/// needs, level 2 opens or the request is approved (and its certificate issued) in the same
/// transaction. A certificate this confirmation is expected to issue is signed before the
/// transaction (see [`presign`]); the transaction decides everything again.
pub fn confirm<'r>(
    ctx: &Arc<Context>,
    token: &VerifiedToken,
    request: impl Into<RequestRef<'r>>,
    reason: Option<String>,
) -> Result<RequestDetail, AppError> {
    let (mut conn, me) = ctx.authenticate(token)?;
    let id = request.into().resolve(&mut conn)?;
    require_reviewer(&mut conn, &me)?;
    // A confirmation needs no reason, so an empty one is none: psPAS's bulk approval sends
    // `"Reason": ""` for each request when no -Reason is given.
    let reason = reason
        .filter(|r| !r.trim().is_empty())
        .map(|r| parse_reason(&r, 1))
        .transpose()
        .map_err(|e| AppError::Validation(vec![e]))?;
    let now = ctx.clock.now_naive();
    let presigned = presign(ctx, &mut conn, &me, id, now)?;
    // Grouped with the confirmations queued beside it (one commit for them all on SQLite);
    // another writer's thread may run it, so it owns what it uses.
    let (job_ctx, job_me) = (Arc::clone(ctx), me.clone());
    ctx.pool.grouped_write(&mut conn, move |conn| {
        let (ctx, me) = (&job_ctx, &job_me);
        let (request, capacity) = decidable(conn, me, id, now)?;
        Kind::of(&request)?.lock_for_decision(conn, &request)?;
        let level = request.current_level;
        record_decision(
            conn,
            me,
            &request,
            &capacity,
            Decision::Confirm,
            reason.as_deref(),
            now,
        )?;
        let given = req_db::add_confirmation(conn, id, level, now)?.ok_or_else(not_pending)?;
        record_event(
            conn,
            id,
            Some(me.id),
            EventKind::Confirmed,
            reason.as_deref(),
            now,
        )?;
        match after_confirmation(&request, level, given) {
            AfterConfirmation::Wait => Ok(()),
            AfterConfirmation::OpenLevelTwo => {
                req_db::advance_to_level_two(conn, id, now)?;
                Ok(record_event(
                    conn,
                    id,
                    None,
                    EventKind::Level2Opened,
                    None,
                    now,
                )?)
            }
            AfterConfirmation::Approve => approve(ctx, conn, &request, now, presigned),
        }
    })?;
    load_detail(ctx, &mut conn, id, None)
}

/// Before the write transaction, and only when this caller's confirmation would approve the
/// request as it reads now (it is pending, not theirs, theirs to decide as a reviewer of its
/// kind, and this is the last confirmation it needs): its kind's slow part of approval, the
/// signing of its certificate. Nothing is decided or written here. If the request changes
/// meanwhile, the transaction sees it: a certificate it does not need is dropped, one it needs
/// but was not prepared is signed inside it, as before.
fn presign(
    ctx: &Context,
    conn: &mut DbConnection,
    me: &CurrentUser,
    id: i64,
    now: NaiveDateTime,
) -> Result<Option<Presigned>, AppError> {
    let Some(found) = req_db::find(conn, id, None)? else {
        return Ok(None);
    };
    let request = found.request;
    let Ok(kind) = Kind::of(&request) else {
        return Ok(None);
    };
    if request.requester_id == me.id || !is_waiting(&request, now) {
        return Ok(None);
    }
    let level = request.current_level;
    let given = if level == 2 {
        request.level2_given
    } else {
        request.confirmations_given
    };
    if after_confirmation(&request, level, given + 1) != AfterConfirmation::Approve
        || !kind.may_presign_for(me)
    {
        return Ok(None);
    }
    Ok(kind.presign(ctx, &request, now))
}

/// Rejects a request with a reason; any eligible confirmer's rejection ends it.
pub fn reject<'r>(
    ctx: &Arc<Context>,
    token: &VerifiedToken,
    request: impl Into<RequestRef<'r>>,
    reason: &str,
) -> Result<RequestDetail, AppError> {
    let (mut conn, me) = ctx.authenticate(token)?;
    let id = request.into().resolve(&mut conn)?;
    require_reviewer(&mut conn, &me)?;
    let reason = parse_reason(reason, 1).map_err(|e| AppError::Validation(vec![e]))?;
    let now = ctx.clock.now_naive();
    ctx.pool.grouped_write(&mut conn, {
        let me = me.clone();
        let reason = reason.clone();
        move |conn| {
            let (request, capacity) = decidable(conn, &me, id, now)?;
            record_decision(
                conn,
                &me,
                &request,
                &capacity,
                Decision::Reject,
                Some(&reason),
                now,
            )?;
            let by = RejectedBy::Confirmer {
                level: request.current_level,
            };
            if !req_db::reject(conn, id, by, &reason, now)? {
                return Err(not_pending());
            }
            Ok(record_event(
                conn,
                id,
                Some(me.id),
                EventKind::Rejected,
                Some(&reason),
                now,
            )?)
        }
    })?;
    tracing::info!(request.id = id, user.name = %me.username, "request rejected");
    load_detail(ctx, &mut conn, id, None)
}

/// The request and the capacity in which the caller, a reviewer (`require_reviewer`, before),
/// may decide it now: it exists and they review its kind or safe (404 either way, as
/// `show_incoming` answers: nothing tells an outsider which ids exist, or how far a request
/// has gone), is not theirs (403), is pending
/// (409), and they may decide it at its current level (403), as a user or for a group that has
/// not acted yet (409).
fn decidable(
    conn: &mut DbConnection,
    me: &CurrentUser,
    id: i64,
    now: NaiveDateTime,
) -> Result<(RequestRow, Capacity), AppError> {
    let (request, decided) =
        req_db::find_for_decision(conn, id, me.id)?.ok_or_else(|| no_request(id))?;
    if request.requester_id == me.id {
        return Err(own_request());
    }
    if !Kind::of(&request)?.may_review(conn, me)? {
        return Err(no_request(id));
    }
    if !is_waiting(&request, now) {
        return Err(not_pending());
    }
    if decided {
        return Err(already_decided());
    }
    let capacity = Kind::of(&request)?.capacity(conn, &request, me)?;
    Ok((request, capacity))
}

fn record_decision(
    conn: &mut DbConnection,
    me: &CurrentUser,
    request: &RequestRow,
    capacity: &Capacity,
    decision: Decision,
    reason: Option<&str>,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    req_db::insert_decision(
        conn,
        &NewDecision {
            request_id: request.id,
            user_id: me.id,
            decision,
            reason,
            level: request.current_level,
            group_role: match capacity {
                Capacity::User => None,
                Capacity::Group(role) => Some(*role),
            },
            created_at: now,
        },
    )
    .map_err(|e| match db::unique_violation(&e) {
        Some(_) => already_decided(),
        None => e.into(),
    })
}

/// Approves the request, with what its kind's approval does (a certificate request's
/// certificate is issued).
fn approve(
    ctx: &Context,
    conn: &mut DbConnection,
    request: &RequestRow,
    now: NaiveDateTime,
    presigned: Option<Presigned>,
) -> Result<(), AppError> {
    let certificate_id = Kind::of(request)?.on_approval(ctx, conn, request, now, presigned)?;
    if !req_db::approve(conn, request.id, certificate_id, now)? {
        return Err(not_pending());
    }
    record_event(conn, request.id, None, EventKind::Approved, None, now)?;
    if let Some(certificate_id) = certificate_id {
        let detail = format!("certificate {certificate_id}");
        record_event(
            conn,
            request.id,
            None,
            EventKind::Issued,
            Some(&detail),
            now,
        )?;
    }
    tracing::info!(request.id = request.id, certificate.id = ?certificate_id, "request approved");
    Ok(())
}
