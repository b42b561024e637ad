//! `Safes`: the safes the caller belongs to (`Get-PASSafe`), one by name, and its members
//! (`Get-PASSafeMember`), in the shapes psPAS 12.2 and later read.

use actix_web::{HttpRequest, HttpResponse, get, web};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::api::AppState;
use crate::api::pvwa::error::{PvwaError, PvwaErrorBody};
use crate::api::pvwa::extract::PvwaAuth;
use crate::api::pvwa::vault_query::{MembersFilter, MembersQuery, SafesQuery};
use crate::api::pvwa::vault_views::{PvwaSafe, PvwaSafeList, PvwaSafeMember, PvwaSafeMemberList};
use crate::service::safes::search;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct SafeNamePath {
    /// The safe's name (any case).
    #[param(example = "Finance")]
    pub safe_name: String,
}

/// List safes (PVWA).
///
/// The safes the caller belongs to, as a user or through their role (every safe for
/// administrators), by name, as `{"value","count","nextLink"}`; `search` words must each appear
/// in the name or description. Paths and parameter names match regardless of case.
#[utoipa::path(
    tag = "pvwa compatibility",
    params(SafesQuery),
    security(("pvwa" = [])),
    responses(
        (status = 200, description = "One page of safes", body = PvwaSafeList),
        (status = 400, description = "Invalid parameter, named (RQDWS001E)", body = PvwaErrorBody),
        (status = 401, description = "No valid token (RQDWS003E)", body = PvwaErrorBody),
        (status = 503, description = "Unavailable (RQDWS020E)", body = PvwaErrorBody),
    )
)]
#[get("/safes")]
pub async fn list_pvwa_safes(
    state: web::Data<AppState>,
    auth: PvwaAuth,
    req: HttpRequest,
) -> Result<HttpResponse, PvwaError> {
    let query = SafesQuery::parse(req.query_string());
    let (words, window) = query.to_window().map_err(PvwaError::invalid)?;
    let (found, total) = state
        .run(move |ctx| search::search_safes(ctx, &auth.0, words, window.offset, window.limit))
        .await?;
    Ok(HttpResponse::Ok().json(PvwaSafeList {
        next_link: query.next_link(window, found.len(), total),
        value: found.iter().map(PvwaSafe::from).collect(),
        count: total,
    }))
}

/// Show one safe (PVWA).
///
/// For administrators and its members; for anyone else it does not exist (404). The name
/// matches regardless of case.
#[utoipa::path(
    tag = "pvwa compatibility",
    params(SafeNamePath),
    security(("pvwa" = [])),
    responses(
        (status = 200, description = "The safe", body = PvwaSafe),
        (status = 401, description = "No valid token (RQDWS003E)", body = PvwaErrorBody),
        (status = 404, description = "No such safe for the caller (RQDWS010E)", body = PvwaErrorBody),
        (status = 503, description = "Unavailable (RQDWS020E)", body = PvwaErrorBody),
    )
)]
#[get("/safes/{safe_name}")]
pub async fn get_pvwa_safe(
    state: web::Data<AppState>,
    auth: PvwaAuth,
    path: web::Path<SafeNamePath>,
) -> Result<HttpResponse, PvwaError> {
    let name = path.into_inner().safe_name;
    let (found, _) = state
        .run(move |ctx| search::find_safe(ctx, &auth.0, &name, false))
        .await?;
    Ok(HttpResponse::Ok().json(PvwaSafe::from(&found)))
}

/// List a safe's members (PVWA).
///
/// Its users and groups (roles) with PVWA's permission names, as `{"value","count"}`, paged by
/// `offset` and `limit` (default 25) as psPAS pages them. `search` keeps members whose name
/// holds every word; `filter` takes Get-PASSafeMember's clauses (`memberType eq User`, ...), and
/// `count` counts what they keep. For administrators and the safe's
/// members; for anyone else the safe does not exist (404).
#[utoipa::path(
    tag = "pvwa compatibility",
    params(SafeNamePath, MembersQuery),
    security(("pvwa" = [])),
    responses(
        (status = 200, description = "The members", body = PvwaSafeMemberList),
        (status = 400, description = "Invalid parameter, named (RQDWS001E)", body = PvwaErrorBody),
        (status = 401, description = "No valid token (RQDWS003E)", body = PvwaErrorBody),
        (status = 404, description = "No such safe for the caller (RQDWS010E)", body = PvwaErrorBody),
        (status = 503, description = "Unavailable (RQDWS020E)", body = PvwaErrorBody),
    )
)]
#[get("/safes/{safe_name}/members")]
pub async fn list_pvwa_safe_members(
    state: web::Data<AppState>,
    auth: PvwaAuth,
    path: web::Path<SafeNamePath>,
    req: HttpRequest,
) -> Result<HttpResponse, PvwaError> {
    let name = path.into_inner().safe_name;
    let (_, window) = SafesQuery::parse(req.query_string())
        .to_window()
        .map_err(PvwaError::invalid)?;
    let filter = MembersFilter::parse(req.query_string()).map_err(PvwaError::invalid)?;
    let (safe, members) = state
        .run(move |ctx| search::find_safe(ctx, &auth.0, &name, true))
        .await?;
    let kept: Vec<_> = members
        .iter()
        .filter(|member| filter.keeps(member))
        .collect();
    let skip = usize::try_from(window.offset).unwrap_or(usize::MAX);
    let take = usize::try_from(window.limit).unwrap_or(0);
    Ok(HttpResponse::Ok().json(PvwaSafeMemberList {
        count: i64::try_from(kept.len()).unwrap_or(i64::MAX),
        value: kept
            .into_iter()
            .skip(skip)
            .take(take)
            .map(|member| PvwaSafeMember::of(&safe, member))
            .collect(),
    }))
}
