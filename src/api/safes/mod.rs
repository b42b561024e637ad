//! `/api/v3/safes`: safes, their accounts and their members. Administrators manage them; members
//! see the safes they belong to. This file holds the safes themselves and what the others share
//! (the `{safe}` path and paging); [`accounts`] and [`members`] hold the rest.

pub mod accounts;
pub mod members;

use actix_web::{HttpResponse, delete, get, patch, post, web};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::AppState;
use super::extract::{ApiJson, ApiQuery, Authenticated};
use super::problem::{
    BadRequest, Conflict, Forbidden, NotFound, PayloadTooLarge, ServiceUnavailable, Unauthorized,
    UnsupportedMediaType,
};
use crate::domain::access::Safe;
use crate::domain::pagination::{Page, PageRequest};
use crate::error::AppError;
use crate::service::safes::{self, SafeInput, SafeUpdate};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "name": "Finance", "description": "Finance production databases",
    "level1_confirmations": 1, "level2_confirmations": 1,
    "request_expiry_hours": 72, "max_access_hours": 8, "ticket_required": true
}))]
pub struct CreateSafe {
    /// 1 to 28 letters, digits, spaces, `.`, `_` or `-`; unique regardless of case.
    #[schema(min_length = 1, max_length = 28)]
    pub name: String,
    #[schema(max_length = 500)]
    pub description: Option<String>,
    /// Confirmations needed at level 1 (1 to 10, default 1).
    #[schema(minimum = 1, maximum = 10)]
    pub level1_confirmations: Option<i32>,
    /// Confirmations needed at level 2 (0 to 10, default 0: no second level).
    #[schema(minimum = 0, maximum = 10)]
    pub level2_confirmations: Option<i32>,
    /// How long a request may wait for its decision, in hours (default 72).
    #[schema(minimum = 1, maximum = 8760)]
    pub request_expiry_hours: Option<i32>,
    /// The longest access window allowed, in hours (default 8).
    #[schema(minimum = 1, maximum = 8760)]
    pub max_access_hours: Option<i32>,
    /// Whether requests must name a ticket (default false).
    pub ticket_required: Option<bool>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"level2_confirmations": 2}))]
pub struct UpdateSafe {
    #[schema(max_length = 500)]
    pub description: Option<String>,
    /// Changing a confirmation count invalidates the requests waiting under the old policy.
    #[schema(minimum = 1, maximum = 10)]
    pub level1_confirmations: Option<i32>,
    #[schema(minimum = 0, maximum = 10)]
    pub level2_confirmations: Option<i32>,
    #[schema(minimum = 1, maximum = 8760)]
    pub request_expiry_hours: Option<i32>,
    #[schema(minimum = 1, maximum = 8760)]
    pub max_access_hours: Option<i32>,
    pub ticket_required: Option<bool>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    #[param(minimum = 1, maximum = 1000000)]
    pub page: Option<i64>,
    #[param(minimum = 1, maximum = 100)]
    pub per_page: Option<i64>,
}

impl PageParams {
    pub(super) fn page(&self) -> Result<PageRequest, AppError> {
        PageRequest::new(self.page, self.per_page).map_err(AppError::Validation)
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct SafePath {
    /// The safe's name (case does not matter).
    pub safe: String,
}

/// Create a safe.
///
/// A safe holds privileged accounts and its confirmation policy: confirmations at level 1 and 2,
/// how long a request may wait, the longest access window, whether a ticket is required.
/// Names are unique regardless of case (409 `safe_exists`). Administrators only.
#[utoipa::path(
    tag = "safes",
    request_body = CreateSafe,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The safe", body = Safe),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 503, response = ServiceUnavailable),
    )
)]
#[post("/safes")]
pub async fn create_safe(
    state: web::Data<AppState>,
    auth: Authenticated,
    body: ApiJson<CreateSafe>,
) -> Result<HttpResponse, AppError> {
    let body = body.0;
    let input = SafeInput {
        name: body.name,
        description: body.description,
        level1_confirmations: body.level1_confirmations,
        level2_confirmations: body.level2_confirmations,
        request_expiry_hours: body.request_expiry_hours,
        max_access_hours: body.max_access_hours,
        ticket_required: body.ticket_required,
    };
    let safe = state
        .run(move |ctx| safes::create(ctx, &auth.0, input))
        .await?;
    Ok(HttpResponse::Created().json(safe))
}

/// List safes.
///
/// Every safe for administrators; the safes they belong to, as a user or through their role,
/// for everyone else.
#[utoipa::path(
    tag = "safes",
    params(PageParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of safes", body = Page<Safe>),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 503, response = ServiceUnavailable),
    )
)]
#[get("/safes")]
pub async fn list_safes(
    state: web::Data<AppState>,
    auth: Authenticated,
    query: ApiQuery<PageParams>,
) -> Result<HttpResponse, AppError> {
    let page = query.0.page()?;
    let safes = state
        .run(move |ctx| safes::list(ctx, &auth.0, page))
        .await?;
    Ok(HttpResponse::Ok().json(safes))
}

/// Show one safe.
///
/// The safe and its policy, for administrators and its members; for anyone else it does not
/// exist (404).
#[utoipa::path(
    tag = "safes",
    params(SafePath),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The safe", body = Safe),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 503, response = ServiceUnavailable),
    )
)]
#[get("/safes/{safe}")]
pub async fn get_safe(
    state: web::Data<AppState>,
    auth: Authenticated,
    path: web::Path<SafePath>,
) -> Result<HttpResponse, AppError> {
    let name = path.into_inner().safe;
    let safe = state
        .run(move |ctx| safes::show(ctx, &auth.0, &name))
        .await?;
    Ok(HttpResponse::Ok().json(safe))
}

/// Update a safe.
///
/// Changes its description or policy. A new confirmation count invalidates the requests waiting
/// under the old policy (`confirmation_settings_changed`). Administrators only.
#[utoipa::path(
    tag = "safes",
    params(SafePath),
    request_body = UpdateSafe,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The safe", body = Safe),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 503, response = ServiceUnavailable),
    )
)]
#[patch("/safes/{safe}")]
pub async fn update_safe(
    state: web::Data<AppState>,
    auth: Authenticated,
    path: web::Path<SafePath>,
    body: ApiJson<UpdateSafe>,
) -> Result<HttpResponse, AppError> {
    let name = path.into_inner().safe;
    let body = body.0;
    let input = SafeUpdate {
        description: body.description,
        level1_confirmations: body.level1_confirmations,
        level2_confirmations: body.level2_confirmations,
        request_expiry_hours: body.request_expiry_hours,
        max_access_hours: body.max_access_hours,
        ticket_required: body.ticket_required,
    };
    let safe = state
        .run(move |ctx| safes::update(ctx, &auth.0, &name, input))
        .await?;
    Ok(HttpResponse::Ok().json(safe))
}

/// Delete a safe.
///
/// The safe and its accounts go; requests naming them become invalid (`object_deleted`).
/// Administrators only.
#[utoipa::path(
    tag = "safes",
    params(SafePath),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 503, response = ServiceUnavailable),
    )
)]
#[delete("/safes/{safe}")]
pub async fn delete_safe(
    state: web::Data<AppState>,
    auth: Authenticated,
    path: web::Path<SafePath>,
) -> Result<HttpResponse, AppError> {
    let name = path.into_inner().safe;
    state
        .run(move |ctx| safes::delete(ctx, &auth.0, &name))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
