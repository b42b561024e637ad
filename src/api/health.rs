//! Liveness and readiness probes.

use actix_web::{HttpResponse, get, web};
use serde::Serialize;
use utoipa::ToSchema;

use super::AppState;
use crate::error::AppError;

#[derive(Serialize, ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    pub status: &'static str,
}

/// Liveness.
///
/// Says the process is alive and answering HTTP, and touches nothing else: a failing database
/// does not fail it, so an orchestrator does not restart the service for what a restart cannot
/// fix. Public.
#[utoipa::path(
    tag = "health",
    operation_id = "get_health",
    security(),
    responses(
        (status = 200, description = "Alive", body = Health),
        (status = "4XX", response = super::problem::MalformedRequest),
    )
)]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health { status: "ok" })
}

/// Readiness.
///
/// Says the service can reach its database (one `SELECT 1` through the connection pool), so a
/// load balancer sends it traffic; 503 while the database is unreachable, within the connection
/// timeout. Public.
#[utoipa::path(
    tag = "health",
    operation_id = "get_readiness",
    security(),
    responses(
        (status = 200, description = "Ready", body = Health, example = json!({"status": "ready"})),
        (status = "4XX", response = super::problem::MalformedRequest),
        (status = 503, response = super::problem::ServiceUnavailable),
    )
)]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    state
        .run(|ctx| {
            use diesel::connection::SimpleConnection;
            ctx.conn()?.batch_execute("SELECT 1")?;
            Ok(())
        })
        .await?;
    Ok(HttpResponse::Ok().json(Health { status: "ready" }))
}
