//! `/PasswordVault/API`: a CyberArk PVWA-compatible face on access requests, so scripts written
//! for PVWA (psPAS, for one) work unchanged. It is a translation only: each handler calls the
//! same services as `/api/v3` and rewrites the answer in PVWA's shape.
//!
//! PVWA's conventions, kept here: paths match regardless of case (the [`normalize`] middleware
//! rewrites the fixed segments to the lowercase routes before routing), the token comes in
//! `Authorization` bare or as `Bearer <token>`, request ids are `SafeName_N`, and every error is
//! `{"ErrorCode","ErrorMessage"}` ([`PvwaError`]), never problem+json.
//!
//! What each file owns: this one the routes; `error` the error body and the code table; `paths`
//! the path normalisation; `middleware` the middleware that applies it and converts native
//! errors; `extract` the token, body and filter extractors; `handlers` the endpoints, by area;
//! `bodies`, `vault_bodies`, `vault_query`, `views` and `vault_views` the wire types read and written;
//! `convert` the translation between them and the native model; `account_ids` PVWA's
//! `<safe id>_<account id>`.

pub mod account_ids;
pub mod bodies;
pub mod convert;
pub mod error;
pub mod extract;
pub mod handlers;
pub mod middleware;
pub mod paths;
pub mod vault_bodies;
pub mod vault_query;
pub mod vault_views;
pub mod views;

use utoipa_actix_web::service_config::ServiceConfig;

pub use self::error::{PvwaError, PvwaErrorBody};
pub use self::middleware::normalize;

/// Where the compatibility API lives, as routed (requests may spell it in any case).
pub const PREFIX: &str = "/passwordvault";

/// The compatibility API's routes, for `api::configure`: lowercase, as [`normalize`] rewrites
/// the paths.
pub fn configure(config: &mut ServiceConfig) {
    config.service(
        utoipa_actix_web::scope("/passwordvault/api")
            .service(handlers::sessions::create_pvwa_session)
            .service(handlers::sessions::delete_pvwa_session)
            .service(handlers::my_requests::list_pvwa_my_requests)
            .service(handlers::my_requests::create_pvwa_my_request)
            .service(handlers::my_requests::get_pvwa_my_request)
            .service(handlers::my_requests::delete_pvwa_my_request)
            .service(handlers::incoming_requests::list_pvwa_incoming_requests)
            .service(handlers::incoming_requests::get_pvwa_incoming_request)
            .service(handlers::incoming_requests::confirm_pvwa_request)
            .service(handlers::incoming_requests::reject_pvwa_request)
            // The calls around a request: accounts and their passwords, safes, bulk decisions.
            .service(handlers::accounts::list_pvwa_accounts)
            .service(handlers::accounts::create_pvwa_account)
            .service(handlers::accounts::get_pvwa_account_search_properties)
            .service(handlers::accounts::get_pvwa_account)
            .service(handlers::passwords::retrieve_pvwa_account_password)
            .service(handlers::safes::list_pvwa_safes)
            .service(handlers::safes::get_pvwa_safe)
            .service(handlers::safes::list_pvwa_safe_members)
            .service(handlers::bulk::confirm_pvwa_requests_in_bulk)
            .service(handlers::bulk::reject_pvwa_requests_in_bulk)
            .service(handlers::bulk::get_pvwa_bulk_action),
    );
    // The version probes `New-PASSession` makes, outside `/API`.
    config.service(
        utoipa_actix_web::scope("/passwordvault/webservices/pimservices.svc")
            .service(handlers::server::get_pvwa_server)
            .service(handlers::server::get_pvwa_logged_on_user),
    );
}
