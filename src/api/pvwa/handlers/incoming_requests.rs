//! `IncomingRequests`: the access requests the caller confirms, and their decisions.

use actix_web::{HttpResponse, get, post, web};

use super::{RequestIdPath, in_full, on_request, pvwa_view};
use crate::api::AppState;
use crate::api::metrics::Decision;
use crate::api::pvwa::bodies::{DecisionBody, ListFilters};
use crate::api::pvwa::convert::to_pvwa;
use crate::api::pvwa::error::{PvwaError, PvwaErrorBody};
use crate::api::pvwa::extract::{PvwaAuth, PvwaFilters, PvwaJson};
use crate::api::pvwa::views::{IncomingRequestsList, PvwaRequest};
use crate::service::requests;

/// List the requests the caller confirms (PVWA).
///
/// The access requests the caller confirms, newest first, at most 100; with `onlywaiting=true`
/// only those waiting for the caller's decision now. Paths and parameters match regardless of
/// case.
#[utoipa::path(
    tag = "pvwa compatibility",
    params(ListFilters),
    security(("pvwa" = [])),
    responses(
        (status = 200, description = "The requests", body = IncomingRequestsList),
        (status = 400, description = "Invalid parameter (RQDWS001E)", body = PvwaErrorBody),
        (status = 401, description = "No valid token (RQDWS003E)", body = PvwaErrorBody),
        (status = 503, description = "Unavailable (RQDWS020E)", body = PvwaErrorBody),
    )
)]
#[get("/incomingrequests")]
pub async fn list_pvwa_incoming_requests(
    state: web::Data<AppState>,
    auth: PvwaAuth,
    filters: PvwaFilters,
) -> Result<HttpResponse, PvwaError> {
    let waiting = filters.0.only_waiting.unwrap_or(false);
    let query = in_full(filters.0, waiting);
    let details = state
        .run(move |ctx| requests::incoming_in_full(ctx, &auth.0, &query))
        .await?;
    Ok(HttpResponse::Ok().json(IncomingRequestsList {
        incoming_requests: details.iter().filter_map(to_pvwa).collect(),
    }))
}

/// Show a request the caller confirms (PVWA).
///
/// One access request the caller confirms, in full. Paths match regardless of case.
#[utoipa::path(
    tag = "pvwa compatibility",
    params(RequestIdPath),
    security(("pvwa" = [])),
    responses(
        (status = 200, description = "The request", body = PvwaRequest),
        (status = 401, description = "No valid token (RQDWS003E)", body = PvwaErrorBody),
        (status = 403, description = "Not a confirmer of it, or one's own (RQDWS006E, RQDWS008E)", body = PvwaErrorBody),
        (status = 404, description = "No such request (RQDWS010E)", body = PvwaErrorBody),
        (status = 503, description = "Unavailable (RQDWS020E)", body = PvwaErrorBody),
    )
)]
#[get("/incomingrequests/{request_id}")]
pub async fn get_pvwa_incoming_request(
    state: web::Data<AppState>,
    auth: PvwaAuth,
    path: web::Path<RequestIdPath>,
) -> Result<HttpResponse, PvwaError> {
    let request_id = path.into_inner().request_id;
    let detail = state
        .run(move |ctx| {
            on_request(&request_id, |request| {
                requests::show_incoming(ctx, &auth.0, request)
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(pvwa_view(&detail)?))
}

/// Confirm a request (PVWA).
///
/// Confirms a request at its current level, with an optional `Reason`: answers it in full. Paths
/// and keys match regardless of case.
#[utoipa::path(
    tag = "pvwa compatibility",
    params(RequestIdPath),
    request_body = DecisionBody,
    security(("pvwa" = [])),
    responses(
        (status = 200, description = "The request after the confirmation", body = PvwaRequest),
        (status = 400, description = "Invalid body (RQDWS001E, RQDWS002E)", body = PvwaErrorBody),
        (status = 401, description = "No valid token (RQDWS003E)", body = PvwaErrorBody),
        (status = 403, description = "Not a confirmer at this level, or one's own (RQDWS007E, RQDWS008E)", body = PvwaErrorBody),
        (status = 404, description = "No such request (RQDWS010E)", body = PvwaErrorBody),
        (status = 409, description = "Not waiting, or already decided (RQDWS012E, RQDWS013E)", body = PvwaErrorBody),
        (status = 413, description = "Body too large (RQDWS017E)", body = PvwaErrorBody),
        (status = 415, description = "Body not JSON (RQDWS018E)", body = PvwaErrorBody),
        (status = 503, description = "Unavailable (RQDWS020E)", body = PvwaErrorBody),
    )
)]
#[post("/incomingrequests/{request_id}/confirm")]
pub async fn confirm_pvwa_request(
    state: web::Data<AppState>,
    auth: PvwaAuth,
    path: web::Path<RequestIdPath>,
    body: PvwaJson<DecisionBody>,
) -> Result<HttpResponse, PvwaError> {
    let request_id = path.into_inner().request_id;
    let reason = body.0.reason;
    let detail = state
        .run(move |ctx| {
            on_request(&request_id, |request| {
                requests::confirm(ctx, &auth.0, request, reason)
            })
        })
        .await?;
    state
        .metrics
        .request_decided(detail.summary.request_type, Decision::Confirmed);
    Ok(HttpResponse::Ok().json(pvwa_view(&detail)?))
}

/// Reject a request (PVWA).
///
/// Rejects a request with a `Reason` (required): answers it in full. Paths and keys match
/// regardless of case.
#[utoipa::path(
    tag = "pvwa compatibility",
    params(RequestIdPath),
    request_body = DecisionBody,
    security(("pvwa" = [])),
    responses(
        (status = 200, description = "The rejected request", body = PvwaRequest),
        (status = 400, description = "Missing or invalid reason (RQDWS001E, RQDWS002E)", body = PvwaErrorBody),
        (status = 401, description = "No valid token (RQDWS003E)", body = PvwaErrorBody),
        (status = 403, description = "Not a confirmer at this level, or one's own (RQDWS007E, RQDWS008E)", body = PvwaErrorBody),
        (status = 404, description = "No such request (RQDWS010E)", body = PvwaErrorBody),
        (status = 409, description = "Not waiting, or already decided (RQDWS012E, RQDWS013E)", body = PvwaErrorBody),
        (status = 413, description = "Body too large (RQDWS017E)", body = PvwaErrorBody),
        (status = 415, description = "Body not JSON (RQDWS018E)", body = PvwaErrorBody),
        (status = 503, description = "Unavailable (RQDWS020E)", body = PvwaErrorBody),
    )
)]
#[post("/incomingrequests/{request_id}/reject")]
pub async fn reject_pvwa_request(
    state: web::Data<AppState>,
    auth: PvwaAuth,
    path: web::Path<RequestIdPath>,
    body: PvwaJson<DecisionBody>,
) -> Result<HttpResponse, PvwaError> {
    let request_id = path.into_inner().request_id;
    let reason = body.0.reason.unwrap_or_default();
    let detail = state
        .run(move |ctx| {
            on_request(&request_id, |request| {
                requests::reject(ctx, &auth.0, request, &reason)
            })
        })
        .await?;
    state
        .metrics
        .request_decided(detail.summary.request_type, Decision::Rejected);
    Ok(HttpResponse::Ok().json(pvwa_view(&detail)?))
}
