//! What clients read: a request in detail, pages of summaries, the dashboard and the
//! statistics, and lists in full for the PVWA API. Every page is read in a fixed number of
//! queries whatever its size. Uses `kind` (for the kind's part of a detail) and the leaves.

use std::collections::HashMap;

use chrono::{Duration, NaiveDateTime};

use super::access::AccessData;
use super::kind::Kind;
use super::lookups::{RequestRef, require_request};
use super::status::{confirmations_left, is_waiting};
use crate::db::certificates as cert_db;
use crate::db::requests::{
    self as req_db, RequestFilter, RequestRow, RequestWithRequester, SafeAndAccountNames,
    SummaryRow,
};
use crate::db::{self, DbConnection};
use crate::domain::access::InvalidReason;
use crate::domain::pagination::{Page, PageRequest};
use crate::domain::request::{
    Dashboard, DecisionView, EventView, RecentActivity, RecentRequest, RequestDetail,
    RequestMetadata, RequestStats, RequestStatus, RequestSummary, RequestType, Requester,
};
use crate::domain::time::utc;
use crate::error::AppError;
use crate::service::Context;
use crate::service::auth::VerifiedToken;
use crate::service::certificates::{owned_page, to_recent_certificate};

const RECENT_DAYS: i64 = 30;
const RECENT_LIMIT: i64 = 10;

/// List filters, as received.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestListQuery {
    pub status: Option<RequestStatus>,
    pub request_type: Option<RequestType>,
    pub page: PageRequest,
}

/// The caller's requests and certificates, each paginated on its own. Without a status filter
/// the totals come from the per-user counters, so a user with 100,000 requests costs what a
/// user with 10 does; a status filter needs an exact count, since statuses change with time.
/// Three statements in all on an unfiltered call: the session check with the counters, and
/// the two pages (each left out past its end), which select only what a summary shows.
pub fn dashboard(
    ctx: &Context,
    token: &VerifiedToken,
    query: RequestListQuery,
    certificates_page: PageRequest,
) -> Result<Dashboard, AppError> {
    // The session check reads the counters too: one round trip for both.
    let (mut conn, me, totals) = ctx.authenticate_with_totals(token)?;
    let now = ctx.clock.now_naive();
    let filter = RequestFilter {
        requester_id: Some(me.id),
        ..list_filter(query)
    };
    let requests_total = match query.status {
        None => totals
            .requests
            .iter()
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
    let certificates = owned_page(
        ctx,
        &mut conn,
        me.id,
        certificates_page,
        totals.certificates,
    )?;
    Ok(Dashboard {
        requests,
        certificates,
    })
}

/// One of the caller's own requests; anyone else's is not found.
pub fn show_mine<'r>(
    ctx: &Context,
    token: &VerifiedToken,
    request: impl Into<RequestRef<'r>>,
) -> Result<RequestDetail, AppError> {
    let (mut conn, me) = ctx.authenticate(token)?;
    let id = request.into().resolve(&mut conn)?;
    load_detail(ctx, &mut conn, id, Some(me.id))
}

/// Counts of the caller's requests by what they show, their active certificates, and recent
/// activity: a handful of aggregate queries and two reads of at most 10 rows.
pub fn stats(ctx: &Context, token: &VerifiedToken) -> Result<RequestStats, AppError> {
    let (mut conn, me) = ctx.authenticate(token)?;
    let now = ctx.clock.now_naive();
    store_timed_out_as_expired(&mut conn, me.id, now)?;
    let totals = req_db::shown_totals(&mut conn, me.id, now)?;
    let shown = |status: RequestStatus| totals.get(&status).copied().unwrap_or(0);
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
        pending: shown(RequestStatus::Pending),
        approved: shown(RequestStatus::Approved),
        rejected: shown(RequestStatus::Rejected),
        expired: shown(RequestStatus::Expired),
        invalid: shown(RequestStatus::Invalid),
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

pub(super) fn list_filter(query: RequestListQuery) -> RequestFilter {
    RequestFilter {
        status: query.status,
        request_type: query.request_type,
        ..RequestFilter::default()
    }
}

pub(super) fn list_page(
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
        .map(|row| to_summary(row.request, row.requester, &names, now))
        .collect();
    Ok(Page::new(items, page, total))
}

pub(super) fn load_detail(
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
pub(super) fn load_details(
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
            address: event.client_address,
        });
    }
    let names = req_db::safe_and_account_names(conn, &row_refs)?;
    let access_data = AccessData::load(conn, &row_refs)?;
    rows.into_iter()
        .map(
            |RequestWithRequester {
                 request: row,
                 requester,
             }| {
                let decision_rows = decisions.remove(&row.id).unwrap_or_default();
                let access = Kind::of(&row)?.detail(
                    &access_data,
                    &row,
                    &decision_rows,
                    is_waiting(&row, now),
                )?;
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
                    summary: to_summary(row.into(), requester.username, &names, now),
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

fn alt_names(row: &SummaryRow) -> Vec<String> {
    row.subject_alt_names
        .as_deref()
        .and_then(|json| serde_json::from_str(json).ok())
        .unwrap_or_default()
}

fn to_summary(
    row: SummaryRow,
    requester: String,
    names: &SafeAndAccountNames,
    now: NaiveDateTime,
) -> RequestSummary {
    let shown = req_db::shown(&row, now);
    let (status, flags) = (shown.status, shown.invalid_flags);
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
        expires_at: utc(row.state.expires_at),
        approved_at: row.approved_at.map(utc),
        rejected_at: row.rejected_at.map(utc),
        rejection_reason: row.rejection_reason,
        confirmations_required: row.state.confirmations_required,
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
        status: req_db::shown(&row, now).status,
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

/// The newest `query.limit` requests matching `filter` in one of the asked statuses (one list
/// query per status, merged), loaded in full in a fixed number of queries.
pub(super) fn newest_in_full(
    ctx: &Context,
    conn: &mut DbConnection,
    filter: &RequestFilter,
    query: &FullListQuery,
) -> Result<Vec<RequestDetail>, AppError> {
    let now = ctx.clock.now_naive();
    let statuses: Vec<Option<RequestStatus>> = if query.statuses.is_empty() {
        vec![None]
    } else {
        query.statuses.iter().copied().map(Some).collect()
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
