//! The review queue: the requests a caller reviews (never their own), what they can act on
//! now, and every request for administrators. Uses `views`, `kind`, and the leaves.

use super::kind::Kind;
use super::lookups::{RequestRef, is_reviewer, own_request, require_request, require_reviewer};
use super::views::{
    FullListQuery, RequestListQuery, list_filter, list_page, load_detail, newest_in_full,
};
use crate::db::requests::{RequestFilter, Reviewer};
use crate::domain::pagination::Page;
use crate::domain::request::{RequestDetail, RequestStatus, RequestSummary};
use crate::error::{AppError, ErrorCode};
use crate::service::Context;
use crate::service::auth::{CurrentUser, VerifiedToken};

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
        status: Some(status),
        ..reviewer_filter(&me, list_filter(query), actionable_now)
    };
    list_page(ctx, &mut conn, &filter, query.page)
}

/// One request the caller reviews: never their own.
pub fn show_incoming<'r>(
    ctx: &Context,
    token: &VerifiedToken,
    request: impl Into<RequestRef<'r>>,
) -> Result<RequestDetail, AppError> {
    let (mut conn, me) = ctx.authenticate(token)?;
    let id = request.into().resolve(&mut conn)?;
    require_reviewer(&mut conn, &me)?;
    let request = require_request(&mut conn, id, None)?.request;
    if request.requester_id == me.id {
        return Err(own_request());
    }
    if !Kind::of(&request)?.may_review(&mut conn, &me)? {
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

/// The requests the caller reviews (never their own), in full: none for a caller who reviews
/// nothing, as PVWA answers an ordinary user (psPAS's `Get-PASRequest -RequestType
/// IncomingRequests` reads the empty list; a refusal would throw).
pub fn incoming_in_full(
    ctx: &Context,
    token: &VerifiedToken,
    query: &FullListQuery,
) -> Result<Vec<RequestDetail>, AppError> {
    let (mut conn, me) = ctx.authenticate(token)?;
    if !is_reviewer(&mut conn, &me)? {
        return Ok(Vec::new());
    }
    let filter = RequestFilter {
        request_type: query.request_type,
        ..RequestFilter::default()
    };
    let filter = reviewer_filter(&me, filter, query.actionable_now);
    newest_in_full(ctx, &mut conn, &filter, query)
}

/// `filter` narrowed to what `me` reviews (never their own requests); with `actionable_now`,
/// only what they can act on now.
fn reviewer_filter(me: &CurrentUser, filter: RequestFilter, actionable_now: bool) -> RequestFilter {
    RequestFilter {
        not_requester_id: Some(me.id),
        undecided_by: actionable_now.then_some(me.id),
        reviewer: Some(Reviewer {
            user_id: me.id,
            role: me.role,
            reviews_certificates: me.is_approver(),
            actionable_now,
        }),
        ..filter
    }
}
