//! `GET /api/v3/openapi.json`: the OpenAPI document, served here rather than by Swagger UI's
//! route so it has a strong `ETag` and answers `If-None-Match` with 304.

use actix_web::{HttpRequest, HttpResponse, web};
use utoipa::openapi::OpenApi;

use super::caching::{self, Tagged};
use crate::openapi;

/// The document as served: the bytes of the committed `openapi/openapi.json`, tagged once.
pub struct OpenApiJson(Tagged);

impl OpenApiJson {
    pub fn new(doc: &OpenApi) -> Self {
        Self(Tagged::new(
            openapi::to_pretty_json(doc),
            "application/json",
            caching::PUBLIC,
        ))
    }
}

pub async fn get_openapi_json(req: HttpRequest, doc: web::Data<OpenApiJson>) -> HttpResponse {
    doc.0.respond_to(&req)
}
