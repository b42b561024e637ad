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

/// Whether the process is alive. Touches nothing else.
#[utoipa::path(tag = "health", operation_id = "get_health", responses((status = 200, body = Health)))]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health { status: "ok" })
}

/// Whether the service can reach its database.
#[utoipa::path(
    tag = "health",
    operation_id = "get_readiness",
    responses(
        (status = 200, body = Health, example = json!({"status": "ready"})),
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
