//! `/api/v3/users/sessions`: log in and log out.

use actix_web::{HttpResponse, delete, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::AppState;
use super::caching;
use super::extract::{ApiJson, Authenticated};
use super::problem::{
    BadRequest, InvalidCredentials, PayloadTooLarge, ServiceUnavailable, TooManyRequests,
    Unauthorized, UnsupportedMediaType, UserSuspended,
};
use crate::domain::user::User;
use crate::error::AppError;
use crate::service::auth;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"username": "jdoe", "password": "correct horse battery"}))]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

#[derive(Serialize, ToSchema)]
pub struct LoginResponse {
    /// Send as `Authorization: Bearer <token>`.
    #[schema(example = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9...")]
    pub token: String,
    #[schema(example = "Bearer")]
    pub token_type: &'static str,
    pub expires_at: DateTime<Utc>,
    pub user: User,
}

/// Log in.
///
/// Exchanges a username and password for an access token, to send as
/// `Authorization: Bearer <token>`. An unknown user and a wrong password get the same 401
/// `invalid_credentials`; a suspended user gets 403 `user_suspended`. After 5 consecutive
/// failures the username is locked for 15 minutes (429 with `Retry-After`). The answer carries a
/// token, so it is never cached (`Cache-Control: no-store`).
#[utoipa::path(
    tag = "sessions",
    request_body = LoginRequest,
    security(),
    responses(
        (status = 201, description = "Logged in", body = LoginResponse),
        (status = 400, response = BadRequest),
        (status = 401, response = InvalidCredentials),
        (status = 403, response = UserSuspended),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 429, response = TooManyRequests),
        (status = 503, response = ServiceUnavailable),
    )
)]
#[post("/users/sessions")]
pub async fn create_session(
    state: web::Data<AppState>,
    body: ApiJson<LoginRequest>,
) -> Result<HttpResponse, AppError> {
    let LoginRequest { username, password } = body.0;
    let outcome = state
        .run_hashing(move |ctx| auth::log_in(ctx, &username, &password))
        .await;
    state.metrics.log_in_answered(&outcome);
    let outcome = outcome?;
    Ok(HttpResponse::Created()
        .insert_header(caching::NO_STORE)
        .json(LoginResponse {
            token: outcome.token,
            token_type: "Bearer",
            expires_at: outcome.expires_at,
            user: outcome.user,
        }))
}

/// Log out.
///
/// Ends the caller's session: the same token is refused from then on, here and on the PVWA API.
#[utoipa::path(
    tag = "sessions",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Logged out"),
        (status = 401, response = Unauthorized),
        (status = 503, response = ServiceUnavailable),
    )
)]
#[delete("/users/sessions")]
pub async fn delete_session(
    state: web::Data<AppState>,
    auth: Authenticated,
) -> Result<HttpResponse, AppError> {
    state.run(move |ctx| auth::log_out(ctx, &auth.0)).await?;
    Ok(HttpResponse::NoContent().finish())
}
