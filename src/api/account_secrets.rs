//! `PUT /api/v3/safes/{safe}/accounts/{id}/secret`: administrators set or replace an account's
//! secret. The secret is write-only: no endpoint returns it, and the OpenAPI document says so.

use actix_web::{HttpResponse, put, web};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::AppState;
use super::extract::{ApiJson, Authenticated};
use super::problem::{
    BadRequest, Forbidden, NotFound, PayloadTooLarge, ServiceUnavailable, Unauthorized,
    UnsupportedMediaType,
};
use crate::error::AppError;
use crate::secrets::{SecretText, SecretType};
use crate::service::secrets::{self, SecretInput};

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct SecretPath {
    /// The safe's name.
    pub safe: String,
    /// The account's id.
    pub id: i64,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"secret": "n3w-r00t-Passw0rd", "secret_type": "password"}))]
pub struct PutSecret {
    /// The password or private key: 1 to 8192 bytes, no NUL. Stored encrypted; never returned.
    #[schema(write_only, value_type = String, min_length = 1, max_length = 8192)]
    pub secret: SecretText,
    /// What the secret is (default `password`).
    pub secret_type: Option<SecretType>,
}

/// Set or replace an account's secret.
///
/// The secret is sealed with AES-256-GCM under a data key of its own, wrapped by the service's
/// master key; it is write-only, and no endpoint returns it. Replacing it discards the old one.
/// Administrators only.
#[utoipa::path(
    tag = "safes",
    params(SecretPath),
    request_body = PutSecret,
    security(("bearer" = [])),
    responses(
        (status = 204, description = "The secret is stored"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 503, response = ServiceUnavailable),
    )
)]
#[put("/safes/{safe}/accounts/{id}/secret")]
pub async fn put_account_secret(
    state: web::Data<AppState>,
    auth: Authenticated,
    path: web::Path<SecretPath>,
    body: ApiJson<PutSecret>,
) -> Result<HttpResponse, AppError> {
    let SecretPath { safe, id } = path.into_inner();
    let input = SecretInput {
        secret: body.0.secret,
        secret_type: body.0.secret_type.unwrap_or(SecretType::Password),
    };
    state
        .run(move |ctx| secrets::put_secret(ctx, &auth.0, &safe, id, input))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
