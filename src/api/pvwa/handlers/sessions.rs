//! `Auth/Cyberark/Logon` and `Auth/Logoff`.

use actix_web::{HttpResponse, post, web};

use crate::api::AppState;
use crate::api::pvwa::bodies::LogonBody;
use crate::api::pvwa::error::{PvwaError, PvwaErrorBody};
use crate::api::pvwa::extract::{PvwaAuth, PvwaJson};
use crate::domain::FieldError;
use crate::error::AppError;
use crate::service::users::{self, UserUpdate};
use crate::service::{Context, auth};

/// Log on (PVWA).
///
/// Exchanges a username and password for a session token; with `newPassword`, the password is
/// changed first, under the rules of `PATCH /api/v3/users`. The answer is `application/json`
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
        username,
        password,
        new_password,
        ..
    } = body.0;
    let outcome = state
        .run_hashing(move |ctx| {
            let outcome = auth::log_in(ctx, &username, &password)?;
            if let Some(new_password) = new_password {
                change_password(ctx, &outcome.token, password, new_password)?;
            }
            Ok(outcome)
        })
        .await;
    state.metrics.log_in_answered(&outcome);
    Ok(HttpResponse::Ok().json(outcome?.token))
}

/// `newPassword` at logon: the native self-update with the logon password as the current one
/// (the same length rules; the caller's other sessions end, this one stays). If it is refused,
/// the session just opened is closed again and the refusal names `newPassword`.
fn change_password(
    ctx: &Context,
    token: &str,
    current: String,
    new_password: String,
) -> Result<(), AppError> {
    let token = ctx.tokens.verify(token)?;
    let update = UserUpdate {
        password: Some(new_password),
        current_password: Some(current),
        ..UserUpdate::default()
    };
    users::update(ctx, &token, None, update).map(|_| ()).map_err(|error| {
        if let Err(closing) = auth::log_out(ctx, &token) {
            tracing::warn!(error = %closing, "could not close the session of a refused newPassword");
        }
        match error {
            AppError::Validation(errors) => AppError::Validation(
                errors
                    .into_iter()
                    .map(|e| match e.field.as_str() {
                        "password" => FieldError::new("newPassword", e.message),
                        _ => e,
                    })
                    .collect(),
            ),
            other => other,
        }
    })
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
