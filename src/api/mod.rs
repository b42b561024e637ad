//! The HTTP layer: routes, extractors, request and response types. Handlers translate HTTP into a
//! service call run on a blocking thread, and its result back into HTTP; no rule lives here.

pub mod account_secrets;
pub mod caching;
pub mod certificates;
pub mod docs;
pub mod extract;
pub mod fallback;
pub mod health;
pub mod incoming_requests;
pub mod metrics;
pub mod middleware;
pub mod my_requests;
pub mod problem;
pub mod pvwa;
pub mod safes;
pub mod sessions;
pub mod users;

use std::sync::Arc;
use std::time::Duration;

use actix_web::web;
use tokio::sync::Semaphore;
use utoipa_actix_web::service_config::ServiceConfig;

use self::metrics::Metrics;
use crate::error::AppError;
use crate::service::Context;

/// How long a log-in or sign-up waits for a hashing slot before it is answered 503: 1.5 s, so a
/// refused log-in is answered within 2 s even on a loaded machine (at 2 s, the refusals of a
/// log-in storm arrived at 2.05 to 2.1 s), and an admitted one ends within about 2 s (a cost-12
/// hash is ~0.25 s).
const HASHING_WAIT: Duration = Duration::from_millis(1500);

/// What every handler shares.
pub struct AppState {
    pub ctx: Arc<Context>,
    /// Bounds how many bcrypt hashes run at once, so a log-in storm cannot take every thread.
    pub hashing_slots: Arc<Semaphore>,
    pub hashing_capacity: usize,
    /// This instance's metrics registry.
    pub metrics: Arc<Metrics>,
}

impl AppState {
    pub fn new(ctx: Arc<Context>, hashing_slots: usize) -> Self {
        let hashing_capacity = hashing_slots.max(1);
        Self {
            ctx,
            hashing_slots: Arc::new(Semaphore::new(hashing_capacity)),
            hashing_capacity,
            metrics: Arc::new(Metrics::new()),
        }
    }

    /// Runs one service call, with its connection checkout and every statement, on a blocking
    /// thread: never on the async workers. The call runs inside the request's span, so every
    /// line it logs carries the HTTP request id, and with this instance's metrics recorder.
    pub async fn run<T, F>(&self, work: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&Arc<Context>) -> Result<T, AppError> + Send + 'static,
    {
        let ctx = Arc::clone(&self.ctx);
        let metrics = Arc::clone(&self.metrics);
        let span = tracing::Span::current();
        let queued = metrics.blocking_queued();
        web::block(move || {
            let _entered = span.enter();
            metrics.in_scope(|| {
                metrics.blocking_started(queued);
                work(&ctx)
            })
        })
        .await
        .map_err(|e| AppError::Internal(format!("blocking task failed: {e}")))?
    }

    /// Like [`AppState::run`] for calls that hash or verify a password: at most one per core runs
    /// at once; a call that cannot start within `HASHING_WAIT` (1.5 s) is answered 503.
    pub async fn run_hashing<T, F>(&self, work: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&Arc<Context>) -> Result<T, AppError> + Send + 'static,
    {
        let slot = tokio::time::timeout(
            HASHING_WAIT,
            Arc::clone(&self.hashing_slots).acquire_owned(),
        )
        .await
        .map_err(|_| {
            tracing::warn!(
                wait_ms = HASHING_WAIT.as_millis() as u64,
                "no hashing slot free in time"
            );
            self.metrics.hashing_refused();
            AppError::Unavailable("too many log-ins in progress; retry shortly".to_owned())
        })?
        .map_err(|_| AppError::Internal("hashing slots closed".to_owned()))?;
        self.run(move |ctx| {
            let result = work(ctx);
            drop(slot);
            result
        })
        .await
    }
}

/// Registers every endpoint. Handlers go through `.service(..)` so each one is in the OpenAPI
/// document. Order matters: a fixed path comes before the parameter it could be taken for
/// (`/users/roles` and `/users/sessions` before `/users/{username}`, `/myrequests/stats` before
/// `/myrequests/{id}`). Any other method on `/users/roles` or `/users/sessions` is answered 405
/// rather than taken for a username (both words are reserved, so no user can be named so).
pub fn configure(config: &mut ServiceConfig) {
    config
        .service(health::healthz)
        .service(health::readyz)
        .service(
            utoipa_actix_web::scope("/api/v3")
                .service(users::list_roles)
                .route("/users/roles", web::route().to(fallback::unmatched))
                .service(sessions::create_session)
                .service(sessions::delete_session)
                .route("/users/sessions", web::route().to(fallback::unmatched))
                .service(users::create_user)
                .service(users::list_users)
                .service(users::update_me)
                .service(users::delete_me)
                .service(users::get_user)
                .service(users::update_user)
                .service(users::delete_user)
                .service(my_requests::submit_request)
                .service(my_requests::get_dashboard)
                .service(my_requests::get_request_stats)
                .service(my_requests::get_my_request)
                .service(my_requests::cancel_request)
                .service(my_requests::use_request)
                .service(incoming_requests::list_incoming_requests)
                .service(incoming_requests::get_incoming_request)
                .service(incoming_requests::confirm_request)
                .service(incoming_requests::reject_request)
                .service(incoming_requests::list_requests)
                .service(certificates::list_certificates)
                .service(certificates::import_certificate)
                .service(certificates::get_certificate)
                .service(certificates::download_certificate)
                .service(certificates::revoke_certificate)
                .service(certificates::get_ca_certificate)
                .service(certificates::get_ca_crl)
                .service(safes::create_safe)
                .service(safes::list_safes)
                .service(safes::get_safe)
                .service(safes::update_safe)
                .service(safes::delete_safe)
                .service(safes::accounts::create_account)
                .service(safes::accounts::list_accounts)
                .service(safes::accounts::get_account)
                .service(safes::accounts::delete_account)
                .service(account_secrets::put_account_secret)
                .service(safes::members::list_members)
                .service(safes::members::put_safe_member)
                .service(safes::members::delete_safe_member)
                .service(safes::members::put_safe_group)
                .service(safes::members::delete_safe_group),
        )
        .configure(pvwa::configure);
}
