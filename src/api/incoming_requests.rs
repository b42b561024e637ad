//! `/api/v3/incoming-requests` and `/api/v3/requests`: the approvers' review queue, their
//! decisions, and the administrators' view of every request.

use actix_web::{HttpResponse, get, post, web};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::AppState;
use super::extract::{ApiJson, ApiQuery, Authenticated, OptionalJson};
use super::metrics::Decision;
use super::my_requests::RequestPath;
use super::problem::{
    BadRequest, Conflict, Forbidden, NotFound, PayloadTooLarge, ServiceUnavailable, Unauthorized,
    UnsupportedMediaType,
};
use crate::domain::pagination::{Page, PageRequest};
use crate::domain::request::{RequestDetail, RequestStatus, RequestSummary, RequestType};
use crate::error::AppError;
use crate::service::requests::{self, RequestListQuery};

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RequestListParams {
    /// Only requests in this status (the review queue defaults to `pending`).
    pub status: Option<RequestStatus>,
    /// Only requests of this type.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub request_type: Option<RequestType>,
    #[param(minimum = 1, maximum = 1000000)]
    pub page: Option<i64>,
    #[param(minimum = 1, maximum = 100)]
    pub per_page: Option<i64>,
}

impl RequestListParams {
    fn into_query(self) -> Result<RequestListQuery, AppError> {
        Ok(RequestListQuery {
            status: self.status,
            request_type: self.request_type,
            page: PageRequest::new(self.page, self.per_page).map_err(AppError::Validation)?,
        })
    }
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "Checked with the service owner"}))]
pub struct ConfirmBody {
    /// Optional note kept with the decision.
    pub reason: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "The host name is not ours"}))]
pub struct RejectBody {
    /// Why the request is rejected (required).
    #[schema(min_length = 1, max_length = 2000)]
    pub reason: String,
}

/// List the review queue.
///
/// Other users' requests the caller may decide, newest first, `pending` unless `status` says
/// otherwise. Approvers, administrators and safe confirmers only (403 for anyone else).
#[utoipa::path(
    tag = "incoming requests",
    params(RequestListParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of requests", body = Page<RequestSummary>),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 503, response = ServiceUnavailable),
    )
)]
#[get("/incoming-requests")]
pub async fn list_incoming_requests(
    state: web::Data<AppState>,
    auth: Authenticated,
    query: ApiQuery<RequestListParams>,
) -> Result<HttpResponse, AppError> {
    let query = query.0.into_query()?;
    let page = state
        .run(move |ctx| requests::incoming(ctx, &auth.0, query))
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Show one request from the review queue.
///
/// The request in full, with its confirmers and their decisions, for someone who may decide it
/// (or an administrator).
#[utoipa::path(
    tag = "incoming requests",
    params(RequestPath),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The request", body = RequestDetail),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 503, response = ServiceUnavailable),
    )
)]
#[get("/incoming-requests/{id}")]
pub async fn get_incoming_request(
    state: web::Data<AppState>,
    auth: Authenticated,
    path: web::Path<RequestPath>,
) -> Result<HttpResponse, AppError> {
    let id = path.id;
    let detail = state
        .run(move |ctx| requests::show_incoming(ctx, &auth.0, id))
        .await?;
    Ok(HttpResponse::Ok().json(detail))
}

/// Confirm a request.
///
/// The body is optional: send none, or a `reason` to keep with the decision. One decision per
/// person (and per group); the requester cannot decide their own (403 `own_request`). The last
/// confirmation needed approves the request and issues its certificate at once.
#[utoipa::path(
    tag = "incoming requests",
    params(RequestPath),
    request_body(
        content = Option<ConfirmBody>,
        description = "Optional: leave the body out to confirm without a note",
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The request after the confirmation", body = RequestDetail),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 503, response = ServiceUnavailable),
    )
)]
#[post("/incoming-requests/{id}/confirm")]
pub async fn confirm_request(
    state: web::Data<AppState>,
    auth: Authenticated,
    path: web::Path<RequestPath>,
    body: OptionalJson<ConfirmBody>,
) -> Result<HttpResponse, AppError> {
    let id = path.id;
    let reason = body.0.reason;
    let detail = state
        .run(move |ctx| requests::confirm(ctx, &auth.0, id, reason))
        .await?;
    let request_type = detail.summary.request_type;
    state
        .metrics
        .request_decided(request_type, Decision::Confirmed);
    Ok(HttpResponse::Ok().json(detail))
}

/// Reject a request.
///
/// Ends the request with the reason given (required). Any eligible confirmer's rejection ends
/// it, at any level.
#[utoipa::path(
    tag = "incoming requests",
    params(RequestPath),
    request_body = RejectBody,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The rejected request", body = RequestDetail),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 503, response = ServiceUnavailable),
    )
)]
#[post("/incoming-requests/{id}/reject")]
pub async fn reject_request(
    state: web::Data<AppState>,
    auth: Authenticated,
    path: web::Path<RequestPath>,
    body: ApiJson<RejectBody>,
) -> Result<HttpResponse, AppError> {
    let id = path.id;
    let reason = body.0.reason;
    let detail = state
        .run(move |ctx| requests::reject(ctx, &auth.0, id, &reason))
        .await?;
    let request_type = detail.summary.request_type;
    state
        .metrics
        .request_decided(request_type, Decision::Rejected);
    Ok(HttpResponse::Ok().json(detail))
}

/// List every request.
///
/// Every request of every user, newest first, filtered by status and type. Administrators only.
#[utoipa::path(
    tag = "incoming requests",
    params(RequestListParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of requests", body = Page<RequestSummary>),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 503, response = ServiceUnavailable),
    )
)]
#[get("/requests")]
pub async fn list_requests(
    state: web::Data<AppState>,
    auth: Authenticated,
    query: ApiQuery<RequestListParams>,
) -> Result<HttpResponse, AppError> {
    let query = query.0.into_query()?;
    let page = state
        .run(move |ctx| requests::all(ctx, &auth.0, query))
        .await?;
    Ok(HttpResponse::Ok().json(page))
}
