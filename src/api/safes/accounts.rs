//! `/api/v3/safes/{safe}/accounts`: the privileged accounts of a safe. Administrators add and
//! delete them; the safe's members see them.

use actix_web::{HttpResponse, delete, get, post, web};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::{PageParams, SafePath};
use crate::api::AppState;
use crate::api::extract::{ApiJson, ApiQuery, Authenticated};
use crate::api::problem::{
    BadRequest, Forbidden, NotFound, PayloadTooLarge, ServiceUnavailable, Unauthorized,
    UnsupportedMediaType,
};
use crate::domain::access::Account;
use crate::domain::pagination::Page;
use crate::error::AppError;
use crate::secrets::{SecretText, SecretType};
use crate::service::safes::{self, AccountInput};
use crate::service::secrets::SecretInput;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "root-db01", "folder": "Root", "address": "db01.example.com", "user_name": "root"}))]
pub struct CreateAccount {
    #[schema(min_length = 1, max_length = 128)]
    pub name: String,
    /// Default `Root`.
    #[schema(max_length = 128)]
    pub folder: Option<String>,
    /// Host name or IP address of the target.
    #[schema(min_length = 1, max_length = 253)]
    pub address: String,
    /// The user name on the target.
    #[schema(min_length = 1, max_length = 128)]
    pub user_name: String,
    /// Optional: the account's password or key, 1 to 8192 bytes, sealed in the same transaction
    /// (as `PUT .../accounts/{id}/secret` does). Never returned.
    #[schema(write_only, value_type = Option<String>, min_length = 1, max_length = 8192)]
    pub secret: Option<SecretText>,
    /// What `secret` is (default `password`).
    pub secret_type: Option<SecretType>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct AccountPath {
    /// The safe's name.
    pub safe: String,
    /// The account's id.
    pub id: i64,
}

/// Add an account to a safe.
///
/// A privileged account (its address and user name on the target) that members may request
/// access to; with `secret`, its secret is sealed and stored with it. Administrators only.
#[utoipa::path(
    tag = "safes",
    params(SafePath),
    request_body = CreateAccount,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The account", body = Account),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 503, response = ServiceUnavailable),
    )
)]
#[post("/safes/{safe}/accounts")]
pub async fn create_account(
    state: web::Data<AppState>,
    auth: Authenticated,
    path: web::Path<SafePath>,
    body: ApiJson<CreateAccount>,
) -> Result<HttpResponse, AppError> {
    let name = path.into_inner().safe;
    let body = body.0;
    if body.secret.is_none() && body.secret_type.is_some() {
        return Err(AppError::validation(
            "secret_type",
            "is given without a secret",
        ));
    }
    let input = AccountInput {
        name: body.name,
        folder: body.folder,
        address: body.address,
        user_name: body.user_name,
        platform_id: None,
        secret: body.secret.map(|secret| SecretInput {
            secret,
            secret_type: body.secret_type.unwrap_or(SecretType::Password),
        }),
    };
    let account = state
        .run(move |ctx| safes::create_account(ctx, &auth.0, &name, input))
        .await?;
    Ok(HttpResponse::Created().json(account))
}

/// List the accounts of a safe.
///
/// For administrators and the safe's members, paginated; for anyone else the safe does not exist
/// (404).
#[utoipa::path(
    tag = "safes",
    params(SafePath, PageParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of accounts", body = Page<Account>),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 503, response = ServiceUnavailable),
    )
)]
#[get("/safes/{safe}/accounts")]
pub async fn list_accounts(
    state: web::Data<AppState>,
    auth: Authenticated,
    path: web::Path<SafePath>,
    query: ApiQuery<PageParams>,
) -> Result<HttpResponse, AppError> {
    let name = path.into_inner().safe;
    let page = query.0.page()?;
    let accounts = state
        .run(move |ctx| safes::list_accounts(ctx, &auth.0, &name, page))
        .await?;
    Ok(HttpResponse::Ok().json(accounts))
}

/// Show one account of a safe.
///
/// For administrators and the safe's members; an id from another safe answers 404.
#[utoipa::path(
    tag = "safes",
    params(AccountPath),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The account", body = Account),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 503, response = ServiceUnavailable),
    )
)]
#[get("/safes/{safe}/accounts/{id}")]
pub async fn get_account(
    state: web::Data<AppState>,
    auth: Authenticated,
    path: web::Path<AccountPath>,
) -> Result<HttpResponse, AppError> {
    let AccountPath { safe, id } = path.into_inner();
    let account = state
        .run(move |ctx| safes::show_account(ctx, &auth.0, &safe, id))
        .await?;
    Ok(HttpResponse::Ok().json(account))
}

/// Delete an account.
///
/// The account goes; requests naming it become invalid (`object_deleted`). Administrators only.
#[utoipa::path(
    tag = "safes",
    params(AccountPath),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 503, response = ServiceUnavailable),
    )
)]
#[delete("/safes/{safe}/accounts/{id}")]
pub async fn delete_account(
    state: web::Data<AppState>,
    auth: Authenticated,
    path: web::Path<AccountPath>,
) -> Result<HttpResponse, AppError> {
    let AccountPath { safe, id } = path.into_inner();
    state
        .run(move |ctx| safes::delete_account(ctx, &auth.0, &safe, id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
