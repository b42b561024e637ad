//! The request engine: submitting, listing, showing, cancelling, confirming and rejecting
//! requests, and the My Requests statistics. Every transition is one conditional update inside
//! one transaction, so a cancel racing a confirmation has exactly one winner.

use chrono::{Duration, NaiveDateTime};

use super::Context;
use super::auth::{CurrentUser, VerifiedToken};
use super::certificates::to_recent_certificate;
use crate::db::certificates::{self as cert_db, CertificateFilter, NewCertificateRow};
use crate::db::requests::{
    self as req_db, NewDecision, NewEvent, NewRequestRow, RequestFilter, RequestRow,
    RequestWithRequester, StatusFilter,
};
use crate::db::{self, DbConnection};
use crate::domain::FieldError;
use crate::domain::pagination::{Page, PageRequest};
use crate::domain::request::{
    Dashboard, Decision, DecisionView, EventView, RecentActivity, RecentRequest, RequestDetail,
    RequestMetadata, RequestStats, RequestStatus, RequestSummary, RequestType, Requester,
};
use crate::domain::time::utc;
use crate::error::AppError;
use crate::pki::{self, ParsedCsr};

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
        } => submit_certificate(ctx, &mut conn, &me, &csr, &reason, validity_days)?,
    };
    load_detail(ctx, &mut conn, id, None)
}

fn submit_certificate(
    ctx: &Context,
    conn: &mut DbConnection,
    me: &CurrentUser,
    csr: &str,
    reason: &str,
    validity_days: Option<u32>,
) -> Result<i64, AppError> {
    let policy = ctx.ca.policy();
    let reason = parse_reason(reason, 1);
    let validity = policy.resolve_validity(validity_days);
    let parsed = pki::parse_csr(csr, policy);
    let (reason, validity, parsed) = match (reason, validity, parsed) {
        (Ok(r), Ok(v), Ok(p)) => (r, v, p),
        (r, v, p) => {
            let errors = [
                r.err(),
                v.err().map(to_field_error),
                p.err().map(to_field_error),
            ];
            return Err(AppError::Validation(errors.into_iter().flatten().collect()));
        }
    };
    let now = ctx.clock.now_naive();
    let names = serde_json::to_string(&parsed.subject_alt_names)
        .map_err(|e| AppError::Internal(e.to_string()))?;
    db::write_transaction(conn, |conn| {
        if cert_db::key_compromised(conn, &parsed.public_key_fingerprint)? {
            return Err(AppError::validation(
                "csr.public_key",
                "this key was revoked for key compromise and is refused from now on",
            ));
        }
        req_db::expire_stale_for_key(conn, &parsed.public_key_fingerprint, now)?;
        if req_db::pending_exists_for_key(conn, &parsed.public_key_fingerprint, now)? {
            return Err(duplicate_key());
        }
        let id = req_db::insert(
            conn,
            &NewRequestRow {
                request_type: RequestType::Certificate.as_str(),
                status: RequestStatus::Pending.as_str(),
                requester_id: me.id,
                reason: &reason,
                created_at: now,
                updated_at: now,
                expires_at: now + ctx.requests.ttl,
                confirmations_required: ctx.requests.certificate_confirmations,
                requester_email: &me.email,
                csr_pem: Some(&parsed.csr_pem),
                common_name: parsed.common_name.as_deref(),
                subject_alt_names: Some(&names),
                key_algorithm: Some(&parsed.key_algorithm),
                public_key_fingerprint: Some(&parsed.public_key_fingerprint),
                validity_days: i32::try_from(validity).ok(),
            },
        )
        .map_err(|e| {
            if db::unique_violation(&e).is_some() {
                duplicate_key()
            } else {
                e.into()
            }
        })?;
        record_event(conn, id, Some(me.id), "submitted", None, now)?;
        tracing::info!(request_id = id, username = %me.username, "certificate request submitted");
        Ok(id)
    })
}

fn duplicate_key() -> AppError {
    AppError::conflict(
        "duplicate_pending_request",
        "a pending request for the same public key already exists",
    )
}

fn to_field_error(error: pki::ValidationError) -> FieldError {
    FieldError::new(error.field, error.message)
}

/// A reason that says something: trimmed, at least `min_chars`, at most 2000 characters.
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

/// The caller's requests and certificates, each paginated on its own.
pub fn dashboard(
    ctx: &Context,
    token: &VerifiedToken,
    query: RequestListQuery,
    certificates_page: PageRequest,
) -> Result<Dashboard, AppError> {
    let (mut conn, me) = ctx.authenticate(token)?;
    let filter = RequestFilter {
        requester_id: Some(me.id),
        ..list_filter(query)
    };
    let requests = list_page(ctx, &mut conn, &filter, query.page)?;
    let certificates = super::certificates::list_page(
        ctx,
        &mut conn,
        &CertificateFilter {
            owner_id: Some(me.id),
            ..CertificateFilter::default()
        },
        certificates_page,
    )?;
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
        if !req_db::reject(conn, id, Some(me.id), CANCELLED_BY_REQUESTER, now)? {
            require_request(conn, id, Some(me.id))?;
            return Err(not_pending());
        }
        record_event(conn, id, Some(me.id), "cancelled", None, now)
    })?;
    tracing::info!(request_id = id, username = %me.username, "request cancelled");
    load_detail(ctx, &mut conn, id, Some(me.id))
}

/// Counts of the caller's requests by status, their active certificates, and recent activity.
pub fn stats(ctx: &Context, token: &VerifiedToken) -> Result<RequestStats, AppError> {
    let (mut conn, me) = ctx.authenticate(token)?;
    let now = ctx.clock.now_naive();
    let (by_status, timed_out) = req_db::count_by_status(&mut conn, me.id, now)?;
    let count = |status: &str| {
        by_status
            .iter()
            .find(|(s, _)| s == status)
            .map_or(0, |(_, n)| *n)
    };
    let since = now - Duration::days(RECENT_DAYS);
    let requests = req_db::recent(&mut conn, me.id, since, RECENT_LIMIT)?
        .into_iter()
        .map(|row| to_recent_request(row, now))
        .collect::<Result<_, _>>()?;
    let certificates = cert_db::recent(&mut conn, me.id, since, RECENT_LIMIT)?
        .into_iter()
        .map(|row| to_recent_certificate(row, now))
        .collect();
    Ok(RequestStats {
        pending: count("pending") - timed_out,
        approved: count("approved"),
        rejected: count("rejected"),
        expired: count("expired") + timed_out,
        active_certificates: cert_db::count_active(&mut conn, me.id, now)?,
        recent_activity: RecentActivity {
            requests,
            certificates,
        },
    })
}

/// The review queue: other users' requests the caller may decide (pending and not yet decided
/// by them, unless another status is asked for).
pub fn incoming(
    ctx: &Context,
    token: &VerifiedToken,
    query: RequestListQuery,
) -> Result<Page<RequestSummary>, AppError> {
    let (mut conn, me) = ctx.authenticate(token)?;
    require_approver(&me)?;
    let status = query.status.unwrap_or(RequestStatus::Pending);
    let filter = RequestFilter {
        not_requester_id: Some(me.id),
        undecided_by: (status == RequestStatus::Pending).then_some(me.id),
        ..list_filter(RequestListQuery {
            status: Some(status),
            ..query
        })
    };
    list_page(ctx, &mut conn, &filter, query.page)
}

/// One request from the review queue: any request but the caller's own.
pub fn show_incoming(
    ctx: &Context,
    token: &VerifiedToken,
    id: i64,
) -> Result<RequestDetail, AppError> {
    let (mut conn, me) = ctx.authenticate(token)?;
    require_approver(&me)?;
    let detail = load_detail(ctx, &mut conn, id, None)?;
    if detail.summary.requester == me.username {
        return Err(own_request());
    }
    Ok(detail)
}

/// Every request, for administrators.
pub fn all(
    ctx: &Context,
    token: &VerifiedToken,
    query: RequestListQuery,
) -> Result<Page<RequestSummary>, AppError> {
    let (mut conn, me) = ctx.authenticate(token)?;
    if !me.is_admin() {
        return Err(AppError::forbidden("only administrators see every request"));
    }
    list_page(ctx, &mut conn, &list_filter(query), query.page)
}

/// Records the caller's confirmation. When it is the last one needed, the request is approved
/// and its certificate issued in the same transaction.
pub fn confirm(
    ctx: &Context,
    token: &VerifiedToken,
    id: i64,
    reason: Option<String>,
) -> Result<RequestDetail, AppError> {
    let (mut conn, me) = ctx.authenticate(token)?;
    require_approver(&me)?;
    let reason = reason
        .map(|r| parse_reason(&r, 1))
        .transpose()
        .map_err(|e| AppError::Validation(vec![e]))?;
    let now = ctx.clock.now_naive();
    db::write_transaction(&mut conn, |conn| {
        let request = decidable(conn, &me, id, now)?;
        record_decision(
            conn,
            &me,
            &request,
            Decision::Confirm,
            reason.as_deref(),
            now,
        )?;
        let given = req_db::add_confirmation(conn, id, now)?.ok_or_else(not_pending)?;
        record_event(conn, id, Some(me.id), "confirmed", reason.as_deref(), now)?;
        if given >= request.confirmations_required {
            approve_and_issue(ctx, conn, &request, now)?;
        }
        Ok::<_, AppError>(())
    })?;
    load_detail(ctx, &mut conn, id, None)
}

/// Rejects a request; the reason is required.
pub fn reject(
    ctx: &Context,
    token: &VerifiedToken,
    id: i64,
    reason: &str,
) -> Result<RequestDetail, AppError> {
    let (mut conn, me) = ctx.authenticate(token)?;
    require_approver(&me)?;
    let reason = parse_reason(reason, 1).map_err(|e| AppError::Validation(vec![e]))?;
    let now = ctx.clock.now_naive();
    db::write_transaction(&mut conn, |conn| {
        let request = decidable(conn, &me, id, now)?;
        record_decision(conn, &me, &request, Decision::Reject, Some(&reason), now)?;
        if !req_db::reject(conn, id, None, &reason, now)? {
            return Err(not_pending());
        }
        record_event(conn, id, Some(me.id), "rejected", Some(&reason), now)
    })?;
    tracing::info!(request_id = id, by = %me.username, "request rejected");
    load_detail(ctx, &mut conn, id, None)
}

/// The request, if the caller may decide it now: it exists (404), is not theirs (403), is
/// pending (409) and they have not decided it yet (409).
fn decidable(
    conn: &mut DbConnection,
    me: &CurrentUser,
    id: i64,
    now: NaiveDateTime,
) -> Result<RequestRow, AppError> {
    let (request, _) = require_request(conn, id, None)?;
    if request.requester_id == me.id {
        return Err(own_request());
    }
    if effective_status(&request, now) != RequestStatus::Pending {
        return Err(not_pending());
    }
    Ok(request)
}

fn record_decision(
    conn: &mut DbConnection,
    me: &CurrentUser,
    request: &RequestRow,
    decision: Decision,
    reason: Option<&str>,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    req_db::insert_decision(
        conn,
        &NewDecision {
            request_id: request.id,
            user_id: me.id,
            decision: decision.as_str(),
            reason,
            level: request.current_level,
            created_at: now,
        },
    )
    .map_err(|e| match db::unique_violation(&e) {
        Some(_) => AppError::conflict("already_decided", "you have already decided this request"),
        None => e.into(),
    })
}

/// Approves the request and, for a certificate request, issues the certificate.
fn approve_and_issue(
    ctx: &Context,
    conn: &mut DbConnection,
    request: &RequestRow,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    let certificate_id = match request.request_type.as_str() {
        "certificate" => Some(issue_certificate(ctx, conn, request, now)?),
        _ => None,
    };
    if !req_db::approve(conn, request.id, certificate_id, now)? {
        return Err(not_pending());
    }
    record_event(conn, request.id, None, "approved", None, now)?;
    if let Some(certificate_id) = certificate_id {
        let detail = format!("certificate {certificate_id}");
        record_event(conn, request.id, None, "issued", Some(&detail), now)?;
    }
    tracing::info!(request_id = request.id, ?certificate_id, "request approved");
    Ok(())
}

fn issue_certificate(
    ctx: &Context,
    conn: &mut DbConnection,
    request: &RequestRow,
    now: NaiveDateTime,
) -> Result<i64, AppError> {
    let csr_pem = request
        .csr_pem
        .as_deref()
        .ok_or_else(|| AppError::Internal(format!("request {} has no CSR", request.id)))?;
    let parsed: ParsedCsr = pki::parse_csr(csr_pem, ctx.ca.policy()).map_err(|e| {
        AppError::conflict(
            "policy_refuses",
            format!("the CA policy no longer accepts this request: {e}"),
        )
    })?;
    if cert_db::key_compromised(conn, &parsed.public_key_fingerprint)? {
        return Err(AppError::conflict(
            "key_compromised",
            "this key was revoked for key compromise",
        ));
    }
    let days = request
        .validity_days
        .and_then(|d| u32::try_from(d).ok())
        .unwrap_or(ctx.ca.policy().default_validity_days);
    let issued = ctx.ca.issue(&parsed, days, utc(now))?;
    let names = serde_json::to_string(&issued.subject_alt_names)
        .map_err(|e| AppError::Internal(e.to_string()))?;
    let id = cert_db::insert(
        conn,
        &NewCertificateRow {
            owner_id: request.requester_id,
            request_id: Some(request.id),
            source: "issued",
            serial_number: &issued.serial_hex,
            common_name: issued.common_name.as_deref(),
            subject_alt_names: &names,
            issuer: &issued.issuer,
            pem: &issued.pem,
            fingerprint_sha256: &issued.fingerprint_sha256,
            public_key_fingerprint: &issued.public_key_fingerprint,
            created_at: now,
            valid_from: issued.not_before.naive_utc(),
            valid_until: issued.not_after.naive_utc(),
            requester_email: Some(&request.requester_email),
            uploaded_by: None,
        },
    )?;
    Ok(id)
}

pub(super) fn record_event(
    conn: &mut DbConnection,
    request_id: i64,
    actor_id: Option<i64>,
    event: &str,
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

fn require_approver(me: &CurrentUser) -> Result<(), AppError> {
    if me.is_approver() {
        Ok(())
    } else {
        Err(AppError::forbidden(
            "only approvers and administrators review requests",
        ))
    }
}

fn require_request(
    conn: &mut DbConnection,
    id: i64,
    requester_id: Option<i64>,
) -> Result<RequestWithRequester, AppError> {
    req_db::find(conn, id, requester_id)?
        .ok_or_else(|| AppError::not_found(format!("no request {id}")))
}

fn not_pending() -> AppError {
    AppError::conflict("request_not_pending", "the request is no longer pending")
}

fn own_request() -> AppError {
    AppError::Forbidden {
        code: "own_request",
        detail: "you cannot decide your own request".to_owned(),
    }
}

fn list_filter(query: RequestListQuery) -> RequestFilter {
    RequestFilter {
        status: query.status.map(|status| match status {
            RequestStatus::Pending => StatusFilter::Pending,
            RequestStatus::Approved => StatusFilter::Approved,
            RequestStatus::Rejected => StatusFilter::Rejected,
            RequestStatus::Expired => StatusFilter::Expired,
        }),
        request_type: query.request_type.map(|t| t.as_str().to_owned()),
        ..RequestFilter::default()
    }
}

fn list_page(
    ctx: &Context,
    conn: &mut DbConnection,
    filter: &RequestFilter,
    page: PageRequest,
) -> Result<Page<RequestSummary>, AppError> {
    let now = ctx.clock.now_naive();
    let (rows, total) = req_db::list(conn, filter, now, page.offset(), page.limit())?;
    let items = rows
        .into_iter()
        .map(|(row, (username, _, _))| to_summary(row, username, now))
        .collect::<Result<_, _>>()?;
    Ok(Page::new(items, page, total))
}

fn load_detail(
    ctx: &Context,
    conn: &mut DbConnection,
    id: i64,
    requester_id: Option<i64>,
) -> Result<RequestDetail, AppError> {
    let now = ctx.clock.now_naive();
    let (row, (username, name, email)) = require_request(conn, id, requester_id)?;
    let decisions = req_db::decisions(conn, id)?
        .into_iter()
        .map(|(username, decision, reason, level, at)| {
            Ok(DecisionView {
                username,
                decision: if decision == "confirm" {
                    Decision::Confirm
                } else {
                    Decision::Reject
                },
                reason,
                level,
                decided_at: utc(at),
            })
        })
        .collect::<Result<_, AppError>>()?;
    let events = req_db::events(conn, id)?
        .into_iter()
        .map(|(event, actor, detail, at)| EventView {
            event,
            actor,
            detail,
            at: utc(at),
        })
        .collect();
    Ok(RequestDetail {
        requester_details: Requester {
            username: username.clone(),
            name,
            email,
        },
        updated_at: utc(row.updated_at),
        csr: row.csr_pem.clone(),
        key_algorithm: row.key_algorithm.clone(),
        validity_days: row.validity_days,
        metadata: RequestMetadata {
            requester_email: row.requester_email.clone(),
        },
        decisions,
        events,
        summary: to_summary(row, username, now)?,
    })
}

/// The status a request shows: a pending one whose time has run out is expired.
pub fn effective_status(row: &RequestRow, now: NaiveDateTime) -> RequestStatus {
    match row.status.as_str() {
        "pending" if row.expires_at <= now => RequestStatus::Expired,
        "pending" => RequestStatus::Pending,
        "approved" => RequestStatus::Approved,
        "rejected" => RequestStatus::Rejected,
        _ => RequestStatus::Expired,
    }
}

fn request_type(row: &RequestRow) -> Result<RequestType, AppError> {
    row.request_type
        .parse()
        .map_err(|_| AppError::Internal(format!("request {} has an unknown type", row.id)))
}

fn names(row: &RequestRow) -> Vec<String> {
    row.subject_alt_names
        .as_deref()
        .and_then(|json| serde_json::from_str(json).ok())
        .unwrap_or_default()
}

fn to_summary(
    row: RequestRow,
    requester: String,
    now: NaiveDateTime,
) -> Result<RequestSummary, AppError> {
    let status = effective_status(&row, now);
    let left = if status == RequestStatus::Pending {
        (row.confirmations_required - row.confirmations_given).max(0)
    } else {
        0
    };
    Ok(RequestSummary {
        id: row.id,
        request_type: request_type(&row)?,
        status,
        requester,
        subject_alt_names: names(&row),
        reason: row.reason,
        common_name: row.common_name,
        requested_at: utc(row.created_at),
        expires_at: utc(row.expires_at),
        approved_at: row.approved_at.map(utc),
        rejected_at: row.rejected_at.map(utc),
        rejection_reason: row.rejection_reason,
        confirmations_required: row.confirmations_required,
        confirmations_left: left,
        certificate_id: row.certificate_id,
    })
}

fn to_recent_request(row: RequestRow, now: NaiveDateTime) -> Result<RecentRequest, AppError> {
    Ok(RecentRequest {
        id: row.id,
        request_type: request_type(&row)?,
        status: effective_status(&row, now),
        common_name: row.common_name,
        requested_at: utc(row.created_at),
        approved_at: row.approved_at.map(utc),
        rejected_at: row.rejected_at.map(utc),
    })
}
