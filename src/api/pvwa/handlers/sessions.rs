//! `Auth/Cyberark/Logon` and `Auth/Logoff`.

use actix_web::{HttpResponse, post, web};

use crate::api::AppState;
use crate::api::pvwa::bodies::LogonBody;
use crate::api::pvwa::error::{PvwaError, PvwaErrorBody};
use crate::api::pvwa::extract::{PvwaAuth, PvwaJson};
use crate::service::auth;

/// Log on (PVWA).
///
/// Exchanges a username and password for a session token. The answer is `application/json`
/// holding the token as one JSON string (`"eyJ..."`), as PVWA answers and psPAS reads it: parse
/// it as JSON, then send the string back in `Authorization`, bare or as `Bearer <token>`. Public.
/// Paths match regardless of case.
#[utoipa::path(
    tag = "pvwa compatibility",
    request_body = LogonBody,
    security(),
    responses(
        (status = 200, description = "The session token, as a JSON string", content_type = "application/json", body = String, example = json!("eyJhbGciOiJIUzI1NiJ9...")),
        (status = 400, description = "Invalid body (RQDWS001E, RQDWS002E)", body = PvwaErrorBody),
        (status = 401, description = "Wrong username or password (RQDWS004E)", body = PvwaErrorBody),
        (status = 403, description = "Suspended user (RQDWS005E)", body = PvwaErrorBody),
        (status = 413, description = "Body too large (RQDWS017E)", body = PvwaErrorBody),
        (status = 415, description = "Body not JSON (RQDWS018E)", body = PvwaErrorBody),
        (status = 429, description = "Too many failures (RQDWS019E)", body = PvwaErrorBody),
        (status = 503, description = "Unavailable (RQDWS020E)", body = PvwaErrorBody),
    )
)]
#[post("/auth/cyberark/logon")]
pub async fn create_pvwa_session(
    state: web::Data<AppState>,
    body: PvwaJson<LogonBody>,
) -> Result<HttpResponse, PvwaError> {
    let LogonBody {
        username, password, ..
    } = body.0;
    let outcome = state
        .run_hashing(move |ctx| auth::log_in(ctx, &username, &password))
        .await;
    state.metrics.log_in_answered(&outcome);
    Ok(HttpResponse::Ok().json(outcome?.token))
}

/// Log off (PVWA).
///
/// Ends the session: the token is refused from then on, here and on `/api/v3`. Paths match
/// regardless of case.
#[utoipa::path(
    tag = "pvwa compatibility",
    security(("pvwa" = [])),
    responses(
        (status = 200, description = "Logged off"),
        (status = 401, description = "No valid token (RQDWS003E)", body = PvwaErrorBody),
        (status = 503, description = "Unavailable (RQDWS020E)", body = PvwaErrorBody),
    )
)]
#[post("/auth/logoff")]
pub async fn delete_pvwa_session(
    state: web::Data<AppState>,
    auth: PvwaAuth,
) -> Result<HttpResponse, PvwaError> {
    state.run(move |ctx| auth::log_out(ctx, &auth.0)).await?;
    Ok(HttpResponse::Ok().finish())
}
