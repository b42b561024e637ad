//! `Accounts/{id}/Password/Retrieve`: an account's password, for the requester of an approved
//! access to it, as psPAS's Get-PASAccountPassword reads it.
//!
//! psPAS decodes an `application/json` answer itself and then runs `ConvertFrom-Json` on this
//! one once more (Get-PASAccountPassword.ps1), so the password comes as a JSON string
//! (`"s3cr3t"`) under `text/plain`: psPAS leaves a text answer as it is, and its second decoding
//! gives the plain password.

use actix_web::{HttpRequest, HttpResponse, post, web};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::api::AppState;
use crate::api::caching;
use crate::api::extract::client_address;
use crate::api::pvwa::account_ids::PvwaAccountId;
use crate::api::pvwa::error::{PvwaError, PvwaErrorBody};
use crate::api::pvwa::extract::{BodyKeys, PvwaAuth, PvwaJson};
use crate::error::{AppError, ErrorCode};
use crate::service::requests::{self, UseOrigin};

/// The content type of the answer: not `application/json`, so psPAS decodes it only once.
pub const PASSWORD_CONTENT_TYPE: &str = "text/plain; charset=utf-8";

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct AccountIdPath {
    /// `<safe id>_<account id>`, as PVWA writes account ids; a bare account id is read too.
    #[param(example = "1_1")]
    pub id: String,
}

/// What psPAS sends (Get-PASAccountPassword, its bound parameters as JSON). Every key is
/// optional and matched regardless of case; unknown keys are tolerated. `reason` is written on
/// the request's trail; the others are accepted and not used (one version of a secret is kept,
/// and the request, not the body, says what the caller may do).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[schema(example = json!({"reason": "Monthly patching", "ActionType": "show", "isUse": false}))]
pub struct RetrieveBody {
    pub reason: Option<String>,
    #[serde(rename = "TicketingSystem")]
    #[schema(rename = "TicketingSystem")]
    pub ticketing_system: Option<String>,
    #[serde(rename = "TicketId")]
    #[schema(rename = "TicketId")]
    pub ticket_id: Option<String>,
    /// `show`, `copy` or `connect`.
    #[serde(rename = "ActionType")]
    #[schema(rename = "ActionType")]
    pub action_type: Option<String>,
    #[serde(rename = "isUse")]
    #[schema(rename = "isUse")]
    pub is_use: Option<bool>,
    #[serde(rename = "Machine")]
    #[schema(rename = "Machine")]
    pub machine: Option<String>,
    #[serde(rename = "Version")]
    #[schema(rename = "Version")]
    pub version: Option<i64>,
}

impl BodyKeys for RetrieveBody {
    const KEYS: &'static [&'static str] = &[
        "reason",
        "TicketingSystem",
        "TicketId",
        "ActionType",
        "isUse",
        "Machine",
        "Version",
    ];
}

/// Retrieve an account's password (PVWA).
///
/// For the requester of an approved access request for the account whose window covers now and
/// whose operation type allows it (`get_password` or `all`): the newest such request is used, as
/// the native `use` uses it (a one-time request is spent; of concurrent retrievals exactly one
/// succeeds; a `used` event names the caller's address). The password comes as a JSON string
/// under `text/plain`, as psPAS reads it. An unknown account, one in another safe than the id
/// names, or in a safe the caller is no member of: 404.
#[utoipa::path(
    tag = "pvwa compatibility",
    params(AccountIdPath),
    request_body(
        content = Option<RetrieveBody>,
        description = "Optional: what psPAS sends, every key optional, unknown keys tolerated",
    ),
    security(("pvwa" = [])),
    responses(
        (status = 200, description = "The password as a JSON string (with its quotes) under \
            `text/plain; charset=utf-8`", content_type = "text/plain",
            body = String, headers(("Cache-Control" = String, description = "`no-store`")),
            example = json!("\"Tr0ub4dor&3\"")),
        (status = 400, description = "Invalid body (RQDWS001E, RQDWS002E)", body = PvwaErrorBody),
        (status = 401, description = "No valid token (RQDWS003E)", body = PvwaErrorBody),
        (status = 403, description = "No usable access: no approved request (RQDWS030E), window \
            not open yet (RQDWS031E) or over (RQDWS032E), one-time access already used \
            (RQDWS033E), operation type connect-only (RQDWS034E), no longer allowed to request in \
            the safe (RQDWS009E)", body = PvwaErrorBody,
            example = json!({"ErrorCode": "RQDWS033E", "ErrorMessage": "this one-time access has already been used"})),
        (status = 404, description = "No such account for the caller (RQDWS010E)", body = PvwaErrorBody),
        (status = 409, description = "The account holds no password (RQDWS035E)", body = PvwaErrorBody),
        (status = 413, description = "Body too large (RQDWS017E)", body = PvwaErrorBody),
        (status = 415, description = "Body not JSON (RQDWS018E)", body = PvwaErrorBody),
        (status = 503, description = "Unavailable (RQDWS020E)", body = PvwaErrorBody),
    )
)]
#[post("/accounts/{id}/password/retrieve")]
pub async fn retrieve_pvwa_account_password(
    state: web::Data<AppState>,
    auth: PvwaAuth,
    path: web::Path<AccountIdPath>,
    body: PvwaJson<RetrieveBody>,
    req: HttpRequest,
) -> Result<HttpResponse, PvwaError> {
    let raw = path.into_inner().id;
    let not_found = || AppError::new(ErrorCode::NotFound, format!("no account {raw}"));
    let id = PvwaAccountId::parse(&raw).ok_or_else(not_found)?;
    let address = client_address(&req);
    let reason = body.0.reason;
    let password = state
        .run(move |ctx| {
            let origin = UseOrigin {
                address: address.as_deref(),
                reason: reason.as_deref(),
            };
            let grant = requests::retrieve_secret(ctx, &auth.0, id.account_id, id.safe_id, origin)?;
            let secret = grant.secret.as_ref().ok_or_else(|| {
                AppError::Internal("a retrieval answered without its secret".to_owned())
            })?;
            // The body is built here and the grant dropped with it: the plaintext is wiped.
            serde_json::to_vec(secret).map_err(|e| AppError::Internal(e.to_string()))
        })
        .await
        .map_err(|error| match error.code() {
            ErrorCode::NotFound => not_found(),
            _ => error,
        })?;
    Ok(HttpResponse::Ok()
        .insert_header(caching::NO_STORE)
        .content_type(PASSWORD_CONTENT_TYPE)
        .body(password))
}
