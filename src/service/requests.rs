//! The request engine, whatever the request is for: submitting, listing, showing, cancelling,
//! confirming and rejecting, and the My Requests statistics. Every transition is one conditional
//! update inside one transaction, so a cancel racing a confirmation has exactly one winner.
//! What differs per type lives in `certificate_requests` and `access_requests`.

use std::collections::HashMap;

use chrono::{Duration, NaiveDateTime};

use super::Context;
use super::access_requests::{self, AccessInput, Capacity};
use super::auth::{CurrentUser, VerifiedToken};
use super::certificate_requests;
use super::certificates::to_recent_certificate;
use crate::db::certificates as cert_db;
use crate::db::requests::{
    self as req_db, NewDecision, NewEvent, RejectedBy, RequestFilter, RequestRow,
    RequestWithRequester, Reviewer, SafeAndAccountNames, StatusFilter,
};
use crate::db::{self, DbConnection, safes as safe_db};
use crate::domain::FieldError;
use crate::domain::access::InvalidReason;
use crate::domain::pagination::{Page, PageRequest};
use crate::domain::request::{
    Dashboard, Decision, DecisionView, EventKind, EventView, RecentActivity, RecentRequest,
    RequestDetail, RequestMetadata, RequestStats, RequestStatus, RequestSummary, RequestType,
    Requester,
};
use crate::domain::time::utc;
use crate::error::{AppError, ErrorCode};

/// What the requester writes when cancelling.
pub const CANCELLED_BY_REQUESTER: &str = "Cancelled by requester";
const RECENT_DAYS: i64 = 30;
const RECENT_LIMIT: i64 = 10;
const MAX_REASON_CHARS: usize = 2000;

/// A new request, as received.
#[derive(Debug, Clone)]
pub enum NewRequest {
    Certificate {
        csr: String,
        reason: String,
        validity_days: Option<u32>,
    },
    Access(AccessInput),
}

/// List filters, as received.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestListQuery {
    pub status: Option<RequestStatus>,
    pub request_type: Option<RequestType>,
    pub page: PageRequest,
}

/// Submits a request for the caller.
pub fn submit(
    ctx: &Context,
    token: &VerifiedToken,
    request: NewRequest,
) -> Result<RequestDetail, AppError> {
    let (mut conn, me) = ctx.authenticate(token)?;
    let id = match request {
        NewRequest::Certificate {
            csr,
            reason,
            validity_days,
        } => certificate_requests::submit(ctx, &mut conn, &me, &csr, &reason, validity_days)?,
        NewRequest::Access(input) => access_requests::submit(ctx, &mut conn, &me, input)?,
    };
    load_detail(ctx, &mut conn, id, None)
}

/// A reason that says something: trimmed, `min_chars` to 2000 characters.
pub fn parse_reason(reason: &str, min_chars: usize) -> Result<String, FieldError> {
    let trimmed = reason.trim();
    let length = trimmed.chars().count();
    if length < min_chars || length > MAX_REASON_CHARS {
        return Err(FieldError::new(
            "reason",
            format!("must be {min_chars} to {MAX_REASON_CHARS} characters once trimmed"),
        ));
    }
    Ok(trimmed.to_owned())
}

/// The caller's requests and certificates, each paginated on its own. Without a status filter
/// the totals come from the per-user counters, so a user with 100,000 requests costs what a
/// user with 10 does; a status filter needs an exact count, since statuses change with time.
pub fn dashboard(
    ctx: &Context,
    token: &VerifiedToken,
    query: RequestListQuery,
    certificates_page: PageRequest,
) -> Result<Dashboard, AppError> {
    let (mut conn, me) = ctx.authenticate(token)?;
    let now = ctx.clock.now_naive();
    let filter = RequestFilter {
        requester_id: Some(me.id),
        ..list_filter(query)
    };
    let requests_total = match query.status {
        None => req_db::stored_totals(&mut conn, me.id)?
            .into_iter()
            .filter(|total| {
                filter
                    .request_type
                    .is_none_or(|kind| kind == total.request_type)
            })
            .map(|total| total.n)
            .sum(),
        Some(_) => req_db::count(&mut conn, &filter, now)?,
    };
    let requests = summaries_page(ctx, &mut conn, &filter, query.page, requests_total)?;
    let certificates = super::certificates::owned_page(ctx, &mut conn, me.id, certificates_page)?;
    Ok(Dashboard {
        requests,
        certificates,
    })
}

/// One of the caller's own requests; anyone else's is not found.
pub fn show_mine(ctx: &Context, token: &VerifiedToken, id: i64) -> Result<RequestDetail, AppError> {
    let (mut conn, me) = ctx.authenticate(token)?;
    load_detail(ctx, &mut conn, id, Some(me.id))
}

/// Cancels one of the caller's pending requests.
pub fn cancel(ctx: &Context, token: &VerifiedToken, id: i64) -> Result<RequestDetail, AppError> {
    let (mut conn, me) = ctx.authenticate(token)?;
    let now = ctx.clock.now_naive();
    db::write_transaction(&mut conn, |conn| {
        let by = RejectedBy::Requester(me.id);
        if !req_db::reject(conn, id, by, CANCELLED_BY_REQUESTER, now)? {
            require_request(conn, id, Some(me.id))?;
            return Err(not_pending());
        }
        record_event(conn, id, Some(me.id), EventKind::Cancelled, None, now)
    })?;
    tracing::info!(request.id = id, user.name = %me.username, "request cancelled");
    load_detail(ctx, &mut conn, id, Some(me.id))
}

/// Counts of the caller's requests by what they show, their active certificates, and recent
/// activity: a handful of aggregate queries and two reads of at most 10 rows.
pub fn stats(ctx: &Context, token: &VerifiedToken) -> Result<RequestStats, AppError> {
    let (mut conn, me) = ctx.authenticate(token)?;
    let now = ctx.clock.now_naive();
    store_timed_out_as_expired(&mut conn, me.id, now)?;
    let counts = req_db::count_by_status(&mut conn, me.id, now)?;
    let stored = |status: RequestStatus| counts.stored.get(&status).copied().unwrap_or(0);
    let since = now - Duration::days(RECENT_DAYS);
    let recent_rows = req_db::recent(&mut conn, me.id, since, RECENT_LIMIT)?;
    let names = req_db::safe_and_account_names(&mut conn, &recent_rows.iter().collect::<Vec<_>>())?;
    let requests = recent_rows
        .into_iter()
        .map(|row| to_recent_request(row, &names, now))
        .collect();
    let certificates = cert_db::recent(&mut conn, me.id, since, RECENT_LIMIT)?
        .into_iter()
        .map(|row| to_recent_certificate(row, now))
        .collect();
    Ok(RequestStats {
        pending: stored(RequestStatus::Pending)
            - counts.pending_timed_out
            - counts.pending_window_over,
        approved: stored(RequestStatus::Approved) - counts.approved_window_over,
        rejected: stored(RequestStatus::Rejected),
        expired: stored(RequestStatus::Expired) + counts.pending_timed_out,
        invalid: stored(RequestStatus::Invalid)
            + counts.pending_window_over
            + counts.approved_window_over,
        active_certificates: cert_db::count_active(&mut conn, me.id, now)?,
        recent_activity: RecentActivity {
            requests,
            certificates,
        },
    })
}

/// Catches the stored status of the user's timed-out pending requests up with what reads show
/// (expired), so that the stats' time-dependent correction stays O(1): a read-only index seek
/// when there is nothing to catch up, which is the common case.
fn store_timed_out_as_expired(
    conn: &mut DbConnection,
    requester_id: i64,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    if req_db::has_timed_out_pending(conn, requester_id, now)? {
        let expired = db::write_transaction(conn, |conn| {
            req_db::expire_timed_out_pending(conn, requester_id, now)
        })?;
        tracing::debug!(
            requester_id,
            expired,
            "timed-out requests stored as expired"
        );
    }
    Ok(())
}

/// The review queue: other users' requests the caller can act on now (certificate requests for
/// approvers; access requests at the level where the caller confirms). Another status shows
/// the requests the caller reviews in that status.
pub fn incoming(
    ctx: &Context,
    token: &VerifiedToken,
    query: RequestListQuery,
) -> Result<Page<RequestSummary>, AppError> {
    let (mut conn, me) = ctx.authenticate(token)?;
    require_reviewer(&mut conn, &me)?;
    let status = query.status.unwrap_or(RequestStatus::Pending);
    let actionable_now = status == RequestStatus::Pending;
    let filter = RequestFilter {
        not_requester_id: Some(me.id),
        undecided_by: actionable_now.then_some(me.id),
        reviewer: Some(Reviewer {
            user_id: me.id,
            role: me.role,
            reviews_certificates: me.is_approver(),
            actionable_now,
        }),
        ..list_filter(RequestListQuery {
            status: Some(status),
            ..query
        })
    };
    list_page(ctx, &mut conn, &filter, query.page)
}

/// One request the caller reviews: never their own.
pub fn show_incoming(
    ctx: &Context,
    token: &VerifiedToken,
    id: i64,
) -> Result<RequestDetail, AppError> {
    let (mut conn, me) = ctx.authenticate(token)?;
    require_reviewer(&mut conn, &me)?;
    let request = require_request(&mut conn, id, None)?.request;
    if request.requester_id == me.id {
        return Err(own_request());
    }
    let allowed = match request.safe_id {
        None => me.is_approver(),
        Some(safe_id) => {
            me.is_admin() || access_requests::confirms_in_safe(&mut conn, safe_id, &me)?
        }
    };
    if !allowed {
        // As if it did not exist: a reviewer of one safe learns nothing of another's requests.
        return Err(AppError::new(
            ErrorCode::NotFound,
            format!("no request {id}"),
        ));
    }
    load_detail(ctx, &mut conn, id, None)
}

/// Every request, for administrators.
pub fn all(
    ctx: &Context,
    token: &VerifiedToken,
    query: RequestListQuery,
) -> Result<Page<RequestSummary>, AppError> {
    let (mut conn, me) = ctx.authenticate(token)?;
    if !me.is_admin() {
        return Err(AppError::new(
            ErrorCode::Forbidden,
            "only administrators see every request",
        ));
    }
    list_page(ctx, &mut conn, &list_filter(query), query.page)
}

/// Records the caller's confirmation at the request's current level. When a level has all it
/// needs, level 2 opens or the request is approved (and its certificate issued) in the same
/// transaction.
pub fn confirm(
    ctx: &Context,
    token: &VerifiedToken,
    id: i64,
    reason: Option<String>,
) -> Result<RequestDetail, AppError> {
    let (mut conn, me) = ctx.authenticate(token)?;
    let reason = reason
        .map(|r| parse_reason(&r, 1))
        .transpose()
        .map_err(|e| AppError::Validation(vec![e]))?;
    let now = ctx.clock.now_naive();
    db::write_transaction(&mut conn, |conn| {
        let (request, capacity) = decidable(conn, &me, id, now)?;
        let level = request.current_level;
        record_decision(
            conn,
            &me,
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
        let needed = if level == 1 {
            request.confirmations_required
        } else {
            request.level2_required
        };
        if given < needed {
            Ok(())
        } else if level == 1 && request.level2_required > 0 {
            req_db::advance_to_level_two(conn, id, now)?;
            record_event(conn, id, None, EventKind::Level2Opened, None, now)
        } else {
            approve(ctx, conn, &request, now)
        }
    })?;
    load_detail(ctx, &mut conn, id, None)
}

/// Rejects a request with a reason; any eligible confirmer's rejection ends it.
pub fn reject(
    ctx: &Context,
    token: &VerifiedToken,
    id: i64,
    reason: &str,
) -> Result<RequestDetail, AppError> {
    let (mut conn, me) = ctx.authenticate(token)?;
    let reason = parse_reason(reason, 1).map_err(|e| AppError::Validation(vec![e]))?;
    let now = ctx.clock.now_naive();
    db::write_transaction(&mut conn, |conn| {
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
        if !req_db::reject(conn, id, RejectedBy::Confirmer, &reason, now)? {
            return Err(not_pending());
        }
        record_event(
            conn,
            id,
            Some(me.id),
            EventKind::Rejected,
            Some(&reason),
            now,
        )
    })?;
    tracing::info!(request.id = id, user.name = %me.username, "request rejected");
    load_detail(ctx, &mut conn, id, None)
}

/// The request and the capacity in which the caller may decide it now: it exists (404), is not
/// theirs (403), is pending (409), and they may decide it at its current level (403), as a user
/// or for a group that has not acted yet (409).
fn decidable(
    conn: &mut DbConnection,
    me: &CurrentUser,
    id: i64,
    now: NaiveDateTime,
) -> Result<(RequestRow, Capacity), AppError> {
    let request = require_request(conn, id, None)?.request;
    if request.requester_id == me.id {
        return Err(own_request());
    }
    if effective_status(&request, now).0 != RequestStatus::Pending {
        return Err(not_pending());
    }
    if req_db::decided_by(conn, id, me.id)? {
        return Err(already_decided());
    }
    let capacity = match request.safe_id {
        None if me.is_approver() => Capacity::User,
        None => {
            return Err(AppError::new(
                ErrorCode::Forbidden,
                "only approvers and administrators decide certificate requests",
            ));
        }
        Some(_) => access_requests::capacity(conn, &request, me)?,
    };
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

/// Approves the request and, for a certificate request, issues the certificate.
fn approve(
    ctx: &Context,
    conn: &mut DbConnection,
    request: &RequestRow,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    let certificate_id = match request.safe_id {
        None => Some(certificate_requests::issue(ctx, conn, request, now)?),
        Some(_) => None,
    };
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

pub(super) fn record_event(
    conn: &mut DbConnection,
    request_id: i64,
    actor_id: Option<i64>,
    event: EventKind,
    detail: Option<&str>,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    req_db::insert_event(
        conn,
        &NewEvent {
            request_id,
            actor_id,
            event,
            detail,
            created_at: now,
        },
    )?;
    Ok(())
}

/// Approvers and administrators review certificate requests; anyone who confirms in some safe
/// reviews access requests. Everyone else is refused.
fn require_reviewer(conn: &mut DbConnection, me: &CurrentUser) -> Result<(), AppError> {
    if me.is_approver() || safe_db::confirms_anywhere(conn, me.id, me.role)? {
        Ok(())
    } else {
        Err(AppError::new(
            ErrorCode::Forbidden,
            "only approvers, administrators and safe confirmers review requests",
        ))
    }
}

pub(super) fn require_request(
    conn: &mut DbConnection,
    id: i64,
    requester_id: Option<i64>,
) -> Result<RequestWithRequester, AppError> {
    req_db::find(conn, id, requester_id)?
        .ok_or_else(|| AppError::new(ErrorCode::NotFound, format!("no request {id}")))
}

pub(super) fn not_pending() -> AppError {
    AppError::new(
        ErrorCode::RequestNotPending,
        "the request is no longer pending",
    )
}

pub(super) fn already_decided() -> AppError {
    AppError::new(
        ErrorCode::AlreadyDecided,
        "you, or the group you act for, have already decided this request",
    )
}

fn own_request() -> AppError {
    AppError::new(
        ErrorCode::OwnRequest,
        "you cannot decide your own request".to_owned(),
    )
}

fn list_filter(query: RequestListQuery) -> RequestFilter {
    RequestFilter {
        status: query.status.map(|status| match status {
            RequestStatus::Pending => StatusFilter::Pending,
            RequestStatus::Approved => StatusFilter::Approved,
            RequestStatus::Rejected => StatusFilter::Rejected,
            RequestStatus::Expired => StatusFilter::Expired,
            RequestStatus::Invalid => StatusFilter::Invalid,
        }),
        request_type: query.request_type,
        ..RequestFilter::default()
    }
}

fn list_page(
    ctx: &Context,
    conn: &mut DbConnection,
    filter: &RequestFilter,
    page: PageRequest,
) -> Result<Page<RequestSummary>, AppError> {
    let total = req_db::count(conn, filter, ctx.clock.now_naive())?;
    summaries_page(ctx, conn, filter, page, total)
}

/// One page of summaries, the total being known already.
fn summaries_page(
    ctx: &Context,
    conn: &mut DbConnection,
    filter: &RequestFilter,
    page: PageRequest,
    total: i64,
) -> Result<Page<RequestSummary>, AppError> {
    let now = ctx.clock.now_naive();
    // Past the end nothing is read: an OFFSET walks every row it skips.
    let rows = if page.offset() >= total {
        Vec::new()
    } else {
        req_db::page(conn, filter, now, page.offset(), page.limit())?
    };
    let names =
        req_db::safe_and_account_names(conn, &rows.iter().map(|r| &r.request).collect::<Vec<_>>())?;
    let items = rows
        .into_iter()
        .map(|row| to_summary(row.request, row.requester.username, &names, now))
        .collect();
    Ok(Page::new(items, page, total))
}

fn load_detail(
    ctx: &Context,
    conn: &mut DbConnection,
    id: i64,
    requester_id: Option<i64>,
) -> Result<RequestDetail, AppError> {
    let row = require_request(conn, id, requester_id)?;
    load_details(ctx, conn, vec![row])?
        .pop()
        .ok_or_else(|| AppError::Internal(format!("request {id} vanished")))
}

/// Full details of several requests in a fixed number of queries: decisions, events, names,
/// and what their access parts need are each loaded once for the whole set.
fn load_details(
    ctx: &Context,
    conn: &mut DbConnection,
    rows: Vec<RequestWithRequester>,
) -> Result<Vec<RequestDetail>, AppError> {
    let now = ctx.clock.now_naive();
    let ids: Vec<i64> = rows.iter().map(|r| r.request.id).collect();
    let row_refs: Vec<&RequestRow> = rows.iter().map(|r| &r.request).collect();
    let mut decisions: HashMap<i64, Vec<req_db::DecisionRow>> = HashMap::new();
    for decision in req_db::decisions(conn, &ids)? {
        decisions
            .entry(decision.request_id)
            .or_default()
            .push(decision);
    }
    let mut events: HashMap<i64, Vec<EventView>> = HashMap::new();
    for event in req_db::events(conn, &ids)? {
        events.entry(event.request_id).or_default().push(EventView {
            event: event.event.as_str().to_owned(),
            actor: event.actor,
            detail: event.detail,
            at: utc(event.created_at),
        });
    }
    let names = req_db::safe_and_account_names(conn, &row_refs)?;
    let access_data = access_requests::AccessData::load(conn, &row_refs)?;
    rows.into_iter()
        .map(
            |RequestWithRequester {
                 request: row,
                 requester,
             }| {
                let decision_rows = decisions.remove(&row.id).unwrap_or_default();
                let access = match row.safe_id {
                    Some(_) => {
                        let still_pending = effective_status(&row, now).0 == RequestStatus::Pending;
                        Some(access_data.details(&row, &decision_rows, still_pending)?)
                    }
                    None => None,
                };
                Ok(RequestDetail {
                    requester_details: Requester {
                        username: requester.username.clone(),
                        name: requester.name,
                        email: requester.email,
                    },
                    updated_at: utc(row.updated_at),
                    csr: row.csr_pem.clone(),
                    key_algorithm: row.key_algorithm.clone(),
                    validity_days: row.validity_days,
                    metadata: RequestMetadata {
                        requester_email: row.requester_email.clone(),
                    },
                    decisions: decision_rows.iter().map(decision_view).collect(),
                    events: events.remove(&row.id).unwrap_or_default(),
                    access,
                    summary: to_summary(row, requester.username, &names, now),
                })
            },
        )
        .collect()
}

fn decision_view(decision: &req_db::DecisionRow) -> DecisionView {
    DecisionView {
        username: decision.username.clone(),
        decision: decision.decision,
        reason: decision.reason.clone(),
        level: decision.level,
        decided_at: utc(decision.created_at),
    }
}

/// What a request shows and why it can no longer be used: a pending request past its expiry is
/// expired; an access request whose window is over is invalid (`access_time_expired`); reasons
/// recorded by events (a one-time use, a deleted account, ...) are kept in `invalid_flags`.
pub fn effective_status(row: &RequestRow, now: NaiveDateTime) -> (RequestStatus, i32) {
    let window_over = row.access_to.is_some_and(|to| to <= now);
    let window_flag = if window_over {
        InvalidReason::AccessTimeExpired.flag()
    } else {
        0
    };
    match row.status {
        RequestStatus::Pending if row.expires_at <= now => {
            (RequestStatus::Expired, InvalidReason::Expired.flag())
        }
        RequestStatus::Pending | RequestStatus::Approved if window_over => {
            (RequestStatus::Invalid, window_flag)
        }
        RequestStatus::Pending => (RequestStatus::Pending, 0),
        RequestStatus::Approved => (RequestStatus::Approved, 0),
        RequestStatus::Rejected => (RequestStatus::Rejected, row.invalid_flags),
        RequestStatus::Expired => (RequestStatus::Expired, InvalidReason::Expired.flag()),
        RequestStatus::Invalid => (RequestStatus::Invalid, row.invalid_flags | window_flag),
    }
}

fn alt_names(row: &RequestRow) -> Vec<String> {
    row.subject_alt_names
        .as_deref()
        .and_then(|json| serde_json::from_str(json).ok())
        .unwrap_or_default()
}

/// Confirmations still needed at the current level of a pending request.
pub fn confirmations_left(row: &RequestRow, status: RequestStatus) -> i32 {
    if status != RequestStatus::Pending {
        return 0;
    }
    if row.current_level == 2 {
        (row.level2_required - row.level2_given).max(0)
    } else {
        (row.confirmations_required - row.confirmations_given).max(0)
    }
}

fn to_summary(
    row: RequestRow,
    requester: String,
    names: &SafeAndAccountNames,
    now: NaiveDateTime,
) -> RequestSummary {
    let (status, flags) = effective_status(&row, now);
    RequestSummary {
        id: row.id,
        request_type: row.request_type,
        status,
        invalid_reasons: InvalidReason::from_flags(flags),
        requester,
        subject_alt_names: alt_names(&row),
        confirmations_left: confirmations_left(&row, status),
        safe: names.safe(&row),
        account: names.account(&row),
        reason: row.reason,
        common_name: row.common_name,
        requested_at: utc(row.created_at),
        expires_at: utc(row.expires_at),
        approved_at: row.approved_at.map(utc),
        rejected_at: row.rejected_at.map(utc),
        rejection_reason: row.rejection_reason,
        confirmations_required: row.confirmations_required,
        certificate_id: row.certificate_id,
    }
}

fn to_recent_request(
    row: RequestRow,
    names: &SafeAndAccountNames,
    now: NaiveDateTime,
) -> RecentRequest {
    RecentRequest {
        id: row.id,
        request_type: row.request_type,
        status: effective_status(&row, now).0,
        safe: names.safe(&row),
        account: names.account(&row),
        common_name: row.common_name,
        requested_at: utc(row.created_at),
        approved_at: row.approved_at.map(utc),
        rejected_at: row.rejected_at.map(utc),
    }
}

/// A list of requests in full, newest first, for clients that want every field of each listed
/// request at once (the PVWA compatibility API).
#[derive(Debug, Clone, Default)]
pub struct FullListQuery {
    pub request_type: Option<RequestType>,
    /// Requests showing any of these statuses; any status when empty.
    pub statuses: Vec<RequestStatus>,
    /// For the review queue: only what the caller can act on now, as [`incoming`] lists pending
    /// requests; otherwise every request the caller confirms, at any level.
    pub actionable_now: bool,
    /// At most this many, the newest.
    pub limit: i64,
}

/// The caller's own requests, in full.
pub fn mine_in_full(
    ctx: &Context,
    token: &VerifiedToken,
    query: &FullListQuery,
) -> Result<Vec<RequestDetail>, AppError> {
    let (mut conn, me) = ctx.authenticate(token)?;
    let filter = RequestFilter {
        requester_id: Some(me.id),
        request_type: query.request_type,
        ..RequestFilter::default()
    };
    newest_in_full(ctx, &mut conn, &filter, query)
}

/// The requests the caller reviews (never their own), in full.
pub fn incoming_in_full(
    ctx: &Context,
    token: &VerifiedToken,
    query: &FullListQuery,
) -> Result<Vec<RequestDetail>, AppError> {
    let (mut conn, me) = ctx.authenticate(token)?;
    require_reviewer(&mut conn, &me)?;
    let filter = RequestFilter {
        request_type: query.request_type,
        not_requester_id: Some(me.id),
        undecided_by: query.actionable_now.then_some(me.id),
        reviewer: Some(Reviewer {
            user_id: me.id,
            role: me.role,
            reviews_certificates: me.is_approver(),
            actionable_now: query.actionable_now,
        }),
        ..RequestFilter::default()
    };
    newest_in_full(ctx, &mut conn, &filter, query)
}

/// The newest `query.limit` requests matching `filter` in one of the asked statuses (one list
/// query per status, merged), loaded in full in a fixed number of queries.
fn newest_in_full(
    ctx: &Context,
    conn: &mut DbConnection,
    filter: &RequestFilter,
    query: &FullListQuery,
) -> Result<Vec<RequestDetail>, AppError> {
    let now = ctx.clock.now_naive();
    let statuses: Vec<Option<StatusFilter>> = if query.statuses.is_empty() {
        vec![None]
    } else {
        query
            .statuses
            .iter()
            .map(|&status| {
                list_filter(RequestListQuery {
                    status: Some(status),
                    ..RequestListQuery::default()
                })
                .status
            })
            .collect()
    };
    let mut newest: Vec<RequestWithRequester> = Vec::new();
    for status in statuses {
        let filter = RequestFilter {
            status,
            ..filter.clone()
        };
        let (rows, _) = req_db::list(conn, &filter, now, 0, query.limit)?;
        newest.extend(rows);
    }
    newest.sort_unstable_by_key(|r| std::cmp::Reverse((r.request.created_at, r.request.id)));
    newest.dedup_by_key(|r| r.request.id);
    newest.truncate(usize::try_from(query.limit).unwrap_or(0));
    load_details(ctx, conn, newest)
}
