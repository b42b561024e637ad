//! `WebServices/PIMServices.svc/Server` and `/User`: the probes `New-PASSession` makes right
//! after logon. `Server` answers the PVWA version whose shapes we implement, so psPAS's version
//! gates take the right branches; it is public, as PVWA's is (it says nothing about anyone).
//! `User` is the caller, so it needs the session.

use actix_web::{HttpResponse, get, web};

use crate::api::AppState;
use crate::api::pvwa::error::{PvwaError, PvwaErrorBody};
use crate::api::pvwa::extract::PvwaAuth;
use crate::api::pvwa::vault_views::{PvwaLoggedOnUser, PvwaServer};
use crate::domain::user::UserStatus;
use crate::service::users;

/// The server and its version (PVWA).
///
/// `ExternalVersion` is the PVWA version whose API shapes are answered (14.6.0). Public, as
/// PVWA's. Paths match regardless of case.
#[utoipa::path(
    tag = "pvwa compatibility",
    security(),
    responses(
        (status = 200, description = "The server", body = PvwaServer),
        (status = "4XX", response = crate::api::problem::MalformedRequest),
    )
)]
#[get("/server")]
pub async fn get_pvwa_server() -> HttpResponse {
    HttpResponse::Ok().json(PvwaServer::this_server())
}

/// The logged-on user (PVWA).
///
/// The caller, as `Get-PASLoggedOnUser` reads it. Paths match regardless of case.
#[utoipa::path(
    tag = "pvwa compatibility",
    security(("pvwa" = [])),
    responses(
        (status = 200, description = "The caller", body = PvwaLoggedOnUser),
        (status = 401, description = "No valid token (RQDWS003E)", body = PvwaErrorBody),
        (status = 503, description = "Unavailable (RQDWS020E)", body = PvwaErrorBody),
    )
)]
#[get("/user")]
pub async fn get_pvwa_logged_on_user(
    state: web::Data<AppState>,
    auth: PvwaAuth,
) -> Result<HttpResponse, PvwaError> {
    let user = state.run(move |ctx| users::me(ctx, &auth.0)).await?;
    Ok(HttpResponse::Ok().json(PvwaLoggedOnUser {
        user_name: user.username,
        first_name: user.name,
        last_name: String::new(),
        email: user.email,
        source: "Internal".to_owned(),
        user_type_name: "EPVUser".to_owned(),
        expired: false,
        disabled: false,
        suspended: user.status == UserStatus::Suspended,
        agent_user: false,
        location: "\\".to_owned(),
    }))
}
