//! `/api/v3/safes/{safe}/members` and `/groups`: who belongs to a safe, as a user or through a
//! role, whether each may request and the level at which each confirms. Administrators set them;
//! a change that leaves waiting requests undecidable invalidates them.

use actix_web::{HttpResponse, delete, get, put, web};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::SafePath;
use crate::api::AppState;
use crate::api::extract::{ApiJson, Authenticated};
use crate::api::problem::{
    BadRequest, Forbidden, NotFound, PayloadTooLarge, ServiceUnavailable, Unauthorized,
    UnsupportedMediaType,
};
use crate::domain::access::SafeMember;
use crate::error::AppError;
use crate::service::safes::{self, MemberName};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"can_request": false, "confirm_level": 1}))]
pub struct Membership {
    /// May ask for access to the safe's accounts.
    pub can_request: bool,
    /// Confirms requests at this level (1 or 2), or not at all (null).
    #[schema(minimum = 1, maximum = 2)]
    pub confirm_level: Option<i32>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct MemberPath {
    /// The safe's name.
    pub safe: String,
    /// The user's username.
    pub username: String,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct GroupPath {
    /// The safe's name.
    pub safe: String,
    /// The role acting as a group: admin, approver, developer or customer.
    pub role: String,
}

/// List the members of a safe.
///
/// Its users and groups (roles), with whether each may request and the level at which each
/// confirms, for administrators and the safe's members.
#[utoipa::path(
    tag = "safes",
    params(SafePath),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The members", body = Vec<SafeMember>),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 503, response = ServiceUnavailable),
    )
)]
#[get("/safes/{safe}/members")]
pub async fn list_members(
    state: web::Data<AppState>,
    auth: Authenticated,
    path: web::Path<SafePath>,
) -> Result<HttpResponse, AppError> {
    let name = path.into_inner().safe;
    let members = state
        .run(move |ctx| safes::list_members(ctx, &auth.0, &name))
        .await?;
    Ok(HttpResponse::Ok().json(members))
}

async fn put_member(
    state: web::Data<AppState>,
    auth: Authenticated,
    safe: String,
    who: MemberName,
    body: Membership,
) -> Result<HttpResponse, AppError> {
    let member = state
        .run(move |ctx| {
            safes::put_member(
                ctx,
                &auth.0,
                &safe,
                who,
                body.can_request,
                body.confirm_level,
            )
        })
        .await?;
    Ok(HttpResponse::Ok().json(member))
}

/// Set a user's membership of a safe.
///
/// Whether the user may request, and the level at which they confirm (or none). Waiting requests
/// that can no longer be decided become invalid (`missing_supervisors`). Administrators only.
#[utoipa::path(
    tag = "safes",
    params(MemberPath),
    request_body = Membership,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The membership", body = SafeMember),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 503, response = ServiceUnavailable),
    )
)]
#[put("/safes/{safe}/members/{username}")]
pub async fn put_safe_member(
    state: web::Data<AppState>,
    auth: Authenticated,
    path: web::Path<MemberPath>,
    body: ApiJson<Membership>,
) -> Result<HttpResponse, AppError> {
    let MemberPath { safe, username } = path.into_inner();
    put_member(state, auth, safe, MemberName::User(username), body.0).await
}

/// Remove a user from a safe.
///
/// Waiting requests that can no longer be decided without them become invalid
/// (`missing_supervisors`). Administrators only.
#[utoipa::path(
    tag = "safes",
    params(MemberPath),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 503, response = ServiceUnavailable),
    )
)]
#[delete("/safes/{safe}/members/{username}")]
pub async fn delete_safe_member(
    state: web::Data<AppState>,
    auth: Authenticated,
    path: web::Path<MemberPath>,
) -> Result<HttpResponse, AppError> {
    let MemberPath { safe, username } = path.into_inner();
    state
        .run(move |ctx| safes::delete_member(ctx, &auth.0, &safe, MemberName::User(username)))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Set a group's membership of a safe.
///
/// A group is every active user with the role. A group confirms once: the first member to act
/// does so for the whole group. Administrators only.
#[utoipa::path(
    tag = "safes",
    params(GroupPath),
    request_body = Membership,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The membership", body = SafeMember),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 503, response = ServiceUnavailable),
    )
)]
#[put("/safes/{safe}/groups/{role}")]
pub async fn put_safe_group(
    state: web::Data<AppState>,
    auth: Authenticated,
    path: web::Path<GroupPath>,
    body: ApiJson<Membership>,
) -> Result<HttpResponse, AppError> {
    let GroupPath { safe, role } = path.into_inner();
    put_member(state, auth, safe, MemberName::Group(role), body.0).await
}

/// Remove a group from a safe.
///
/// Waiting requests that can no longer be decided without it become invalid
/// (`missing_supervisors`). Administrators only.
#[utoipa::path(
    tag = "safes",
    params(GroupPath),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 503, response = ServiceUnavailable),
    )
)]
#[delete("/safes/{safe}/groups/{role}")]
pub async fn delete_safe_group(
    state: web::Data<AppState>,
    auth: Authenticated,
    path: web::Path<GroupPath>,
) -> Result<HttpResponse, AppError> {
    let GroupPath { safe, role } = path.into_inner();
    state
        .run(move |ctx| safes::delete_member(ctx, &auth.0, &safe, MemberName::Group(role)))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
