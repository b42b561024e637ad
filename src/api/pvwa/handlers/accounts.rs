//! `Accounts`: finding the account to request (`Get-PASAccount`), the properties its search
//! takes, and adding one (`Add-PASAccount`).

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::api::AppState;
use crate::api::pvwa::account_ids::PvwaAccountId;
use crate::api::pvwa::error::{PvwaError, PvwaErrorBody};
use crate::api::pvwa::extract::{PvwaAuth, PvwaJson};
use crate::api::pvwa::vault_bodies::AddAccountBody;
use crate::api::pvwa::vault_query::AccountsQuery;
use crate::api::pvwa::vault_views::{AdvancedSearchProperties, PvwaAccount, PvwaAccountList};
use crate::domain::FieldError;
use crate::error::{AppError, ErrorCode};
use crate::secrets::SecretType;
use crate::service::safes::search::{self, FoundAccount};
use crate::service::safes::{self, AccountInput};
use crate::service::secrets::SecretInput;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct AccountIdPath {
    /// `<safe id>_<account id>`, as the list writes it (a bare account id is read too).
    #[param(example = "3_12")]
    pub account_id: String,
}

/// List and search accounts (PVWA).
///
/// The accounts of the safes the caller belongs to (every account for administrators), as
/// `{"value","count","nextLink"}`: `search` words (each must match the name, address, user
/// name, platform or safe name), `searchType`, `filter=safeName eq <name>`, `offset`, `limit`
/// and `sort`. `count` is the total; `nextLink`, relative to `/PasswordVault`, continues the
/// list. Paths and parameter names match regardless of case.
#[utoipa::path(
    tag = "pvwa compatibility",
    params(AccountsQuery),
    security(("pvwa" = [])),
    responses(
        (status = 200, description = "One page of accounts", body = PvwaAccountList),
        (status = 400, description = "Invalid parameter, named (RQDWS001E)", body = PvwaErrorBody),
        (status = 401, description = "No valid token (RQDWS003E)", body = PvwaErrorBody),
        (status = 503, description = "Unavailable (RQDWS020E)", body = PvwaErrorBody),
    )
)]
#[get("/accounts")]
pub async fn list_pvwa_accounts(
    state: web::Data<AppState>,
    auth: PvwaAuth,
    req: HttpRequest,
) -> Result<HttpResponse, PvwaError> {
    let query = AccountsQuery::parse(req.query_string());
    let wanted = query.to_search().map_err(PvwaError::invalid)?;
    let search = wanted.clone();
    let (found, total) = state
        .run(move |ctx| search::search_accounts(ctx, &auth.0, search))
        .await?;
    Ok(HttpResponse::Ok().json(PvwaAccountList {
        next_link: query.next_link(&wanted, found.len(), total),
        value: found.iter().map(PvwaAccount::from).collect(),
        count: total,
    }))
}

/// The properties the account search filters on (PVWA).
///
/// psPAS 14.4 and later asks this before each account search: `safeName`, with `eq`.
#[utoipa::path(
    tag = "pvwa compatibility",
    security(("pvwa" = [])),
    responses(
        (status = 200, description = "The properties `filter` takes", body = AdvancedSearchProperties),
        (status = 401, description = "No valid token (RQDWS003E)", body = PvwaErrorBody),
        (status = 503, description = "Unavailable (RQDWS020E)", body = PvwaErrorBody),
    )
)]
#[get("/accounts/advancedsearchproperties")]
pub async fn get_pvwa_account_search_properties(
    state: web::Data<AppState>,
    auth: PvwaAuth,
) -> Result<HttpResponse, PvwaError> {
    state
        .run(move |ctx| search::may_search(ctx, &auth.0))
        .await?;
    Ok(HttpResponse::Ok().json(AdvancedSearchProperties::supported()))
}

/// Show one account (PVWA).
///
/// By its id as the list writes it (`<safe id>_<account id>`). An account of a safe the caller
/// does not belong to answers the same 404 as one that does not exist.
#[utoipa::path(
    tag = "pvwa compatibility",
    params(AccountIdPath),
    security(("pvwa" = [])),
    responses(
        (status = 200, description = "The account", body = PvwaAccount),
        (status = 401, description = "No valid token (RQDWS003E)", body = PvwaErrorBody),
        (status = 404, description = "No such account for the caller (RQDWS010E)", body = PvwaErrorBody),
        (status = 503, description = "Unavailable (RQDWS020E)", body = PvwaErrorBody),
    )
)]
#[get("/accounts/{account_id}")]
pub async fn get_pvwa_account(
    state: web::Data<AppState>,
    auth: PvwaAuth,
    path: web::Path<AccountIdPath>,
) -> Result<HttpResponse, PvwaError> {
    let shown = path.into_inner().account_id;
    let id = PvwaAccountId::parse(&shown)
        .ok_or_else(|| AppError::new(ErrorCode::NotFound, format!("no account {shown}")))?;
    let found = state
        .run(move |ctx| search::find_account(ctx, &auth.0, id.safe_id, id.account_id, &shown))
        .await?;
    Ok(HttpResponse::Ok().json(PvwaAccount::from(&found)))
}

/// Add an account (PVWA).
///
/// Adds an account to the safe `safeName`, with its secret sealed as it is stored, as
/// `Add-PASAccount` sends it; answers 201 with the account. `platformAccountProperties`,
/// `secretManagement` and `remoteMachinesAccess` are accepted and not kept. Administrators only.
/// Paths and keys match regardless of case.
#[utoipa::path(
    tag = "pvwa compatibility",
    request_body = AddAccountBody,
    security(("pvwa" = [])),
    responses(
        (status = 201, description = "The account", body = PvwaAccount),
        (status = 400, description = "Invalid field, named (RQDWS001E, RQDWS002E)", body = PvwaErrorBody),
        (status = 401, description = "No valid token (RQDWS003E)", body = PvwaErrorBody),
        (status = 403, description = "Not an administrator (RQDWS006E)", body = PvwaErrorBody),
        (status = 404, description = "No such safe (RQDWS010E)", body = PvwaErrorBody),
        (status = 413, description = "Body too large (RQDWS017E)", body = PvwaErrorBody),
        (status = 415, description = "Body not JSON (RQDWS018E)", body = PvwaErrorBody),
        (status = 503, description = "Unavailable (RQDWS020E)", body = PvwaErrorBody),
    )
)]
#[post("/accounts")]
pub async fn create_pvwa_account(
    state: web::Data<AppState>,
    auth: PvwaAuth,
    body: PvwaJson<AddAccountBody>,
) -> Result<HttpResponse, PvwaError> {
    let body = body.0;
    let secret_type = match body.secret_type.as_deref().map(str::to_ascii_lowercase) {
        None => SecretType::Password,
        Some(kind) => SecretType::parse(&kind).ok_or_else(|| {
            PvwaError::invalid(vec![FieldError::new(
                "secretType",
                "must be password or key",
            )])
        })?,
    };
    if body.secret.is_none() && body.secret_type.is_some() {
        return Err(PvwaError::invalid(vec![FieldError::new(
            "secretType",
            "is given without a secret",
        )]));
    }
    let name = body.name.unwrap_or_else(|| {
        format!("{}-{}-{}", body.platform_id, body.address, body.user_name)
            .chars()
            .take(128)
            .collect()
    });
    let input = AccountInput {
        name,
        folder: None,
        address: body.address,
        user_name: body.user_name,
        platform_id: Some(body.platform_id),
        secret: body.secret.map(|secret| SecretInput {
            secret,
            secret_type,
        }),
    };
    let has_secret = input.secret.is_some();
    let safe_name = body.safe_name;
    let account = state
        .run(move |ctx| safes::create_account(ctx, &auth.0, &safe_name, input))
        .await?;
    let found = FoundAccount {
        account,
        secret_type: has_secret.then_some(secret_type),
    };
    Ok(HttpResponse::Created().json(PvwaAccount::from(&found)))
}
