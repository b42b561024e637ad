//! `MyRequests`: the caller's own access requests.

use actix_web::{HttpResponse, delete, get, post, web};

use super::{RequestIdPath, in_full, on_request, pvwa_view};
use crate::api::AppState;
use crate::api::pvwa::bodies::{ListFilters, NewRequestBody};
use crate::api::pvwa::convert::to_pvwa;
use crate::api::pvwa::error::{PvwaError, PvwaErrorBody};
use crate::api::pvwa::extract::{PvwaAuth, PvwaFilters, PvwaJson};
use crate::api::pvwa::views::{MyRequestsList, PvwaRequest};
use crate::service::requests::{self, NewRequest};

/// List the caller's requests (PVWA).
///
/// The caller's access requests, newest first, at most 100. Paths and parameters match
/// regardless of case.
#[utoipa::path(
    tag = "pvwa compatibility",
    params(ListFilters),
    security(("pvwa" = [])),
    responses(
        (status = 200, description = "The requests", body = MyRequestsList),
        (status = 400, description = "Invalid parameter (RQDWS001E)", body = PvwaErrorBody),
        (status = 401, description = "No valid token (RQDWS003E)", body = PvwaErrorBody),
        (status = 503, description = "Unavailable (RQDWS020E)", body = PvwaErrorBody),
    )
)]
#[get("/myrequests")]
pub async fn list_pvwa_my_requests(
    state: web::Data<AppState>,
    auth: PvwaAuth,
    filters: PvwaFilters,
) -> Result<HttpResponse, PvwaError> {
    let query = in_full(filters.0, false);
    let details = state
        .run(move |ctx| requests::mine_in_full(ctx, &auth.0, &query))
        .await?;
    Ok(HttpResponse::Ok().json(MyRequestsList {
        my_requests: details.iter().filter_map(to_pvwa).collect(),
    }))
}

/// Request access to an account (PVWA).
///
/// Answers 201 with the new request in full, as PVWA does. `FromDate` and `ToDate` are Unix
/// seconds. Paths and keys match regardless of case.
#[utoipa::path(
    tag = "pvwa compatibility",
    request_body = NewRequestBody,
    security(("pvwa" = [])),
    responses(
        (status = 201, description = "The request, waiting", body = PvwaRequest),
        (status = 400, description = "Invalid field, named (RQDWS001E, RQDWS002E)", body = PvwaErrorBody),
        (status = 401, description = "No valid token (RQDWS003E)", body = PvwaErrorBody),
        (status = 403, description = "May not request in this safe (RQDWS009E)", body = PvwaErrorBody),
        (status = 409, description = "Overlapping request or too few confirmers (RQDWS014E, RQDWS015E)", body = PvwaErrorBody),
        (status = 413, description = "Body too large (RQDWS017E)", body = PvwaErrorBody),
        (status = 415, description = "Body not JSON (RQDWS018E)", body = PvwaErrorBody),
        (status = 503, description = "Unavailable (RQDWS020E)", body = PvwaErrorBody),
    )
)]
#[post("/myrequests")]
pub async fn create_pvwa_my_request(
    state: web::Data<AppState>,
    auth: PvwaAuth,
    body: PvwaJson<NewRequestBody>,
) -> Result<HttpResponse, PvwaError> {
    let input = body.0.into_input().map_err(PvwaError::invalid)?;
    let detail = state
        .run(move |ctx| requests::submit(ctx, &auth.0, NewRequest::Access(input)))
        .await?;
    state.metrics.request_submitted(detail.summary.request_type);
    Ok(HttpResponse::Created().json(pvwa_view(&detail)?))
}

/// Show one of the caller's requests (PVWA).
///
/// One of the caller's access requests, in full. Paths match regardless of case; the id's safe
/// name too.
#[utoipa::path(
    tag = "pvwa compatibility",
    params(RequestIdPath),
    security(("pvwa" = [])),
    responses(
        (status = 200, description = "The request", body = PvwaRequest),
        (status = 401, description = "No valid token (RQDWS003E)", body = PvwaErrorBody),
        (status = 404, description = "No such request of the caller's (RQDWS010E)", body = PvwaErrorBody),
        (status = 503, description = "Unavailable (RQDWS020E)", body = PvwaErrorBody),
    )
)]
#[get("/myrequests/{request_id}")]
pub async fn get_pvwa_my_request(
    state: web::Data<AppState>,
    auth: PvwaAuth,
    path: web::Path<RequestIdPath>,
) -> Result<HttpResponse, PvwaError> {
    let request_id = path.into_inner().request_id;
    let detail = state
        .run(move |ctx| {
            on_request(&request_id, |request| {
                requests::show_mine(ctx, &auth.0, request)
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(pvwa_view(&detail)?))
}

/// Cancel one of the caller's requests (PVWA).
///
/// Cancels one of the caller's waiting requests: 204. Paths match regardless of case.
#[utoipa::path(
    tag = "pvwa compatibility",
    params(RequestIdPath),
    security(("pvwa" = [])),
    responses(
        (status = 204, description = "Cancelled"),
        (status = 401, description = "No valid token (RQDWS003E)", body = PvwaErrorBody),
        (status = 404, description = "No such request of the caller's (RQDWS010E)", body = PvwaErrorBody),
        (status = 409, description = "No longer waiting (RQDWS012E)", body = PvwaErrorBody),
        (status = 503, description = "Unavailable (RQDWS020E)", body = PvwaErrorBody),
    )
)]
#[delete("/myrequests/{request_id}")]
pub async fn delete_pvwa_my_request(
    state: web::Data<AppState>,
    auth: PvwaAuth,
    path: web::Path<RequestIdPath>,
) -> Result<HttpResponse, PvwaError> {
    let request_id = path.into_inner().request_id;
    state
        .run(move |ctx| {
            on_request(&request_id, |request| {
                requests::cancel(ctx, &auth.0, request)
            })
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
