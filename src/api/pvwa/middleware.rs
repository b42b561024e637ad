//! The middleware in front of every route: it routes PVWA paths in any case, and answers every
//! native error under `/PasswordVault` in PVWA's error body.

use actix_web::ResponseError;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::uri::{PathAndQuery, Uri};
use actix_web::middleware::Next;

use super::error::PvwaError;
use super::paths::canonical_path;
use crate::error::AppError;

/// For paths under `/PasswordVault` in any case: rewrites the fixed segments to the lowercase
/// routes (keeping a request id as sent, and dropping a trailing `/`, which PVWA tolerates)
/// before routing, and turns any native error on the way out (an unknown path, a wrong method,
/// an extractor's refusal) into PVWA's error body. Other paths pass untouched.
pub async fn normalize(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let Some(canonical) = canonical_path(req.path()) else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    if canonical != req.path() {
        let mut parts = req.head().uri.clone().into_parts();
        let path_and_query = match req.query_string() {
            "" => canonical,
            query => format!("{canonical}?{query}"),
        };
        if let Ok(path_and_query) = PathAndQuery::try_from(path_and_query) {
            parts.path_and_query = Some(path_and_query);
            if let Ok(uri) = Uri::from_parts(parts) {
                req.match_info_mut().get_mut().update(&uri);
                req.head_mut().uri = uri;
            }
        }
    }
    let response = next.call(req).await?;
    let converted = response
        .response()
        .error()
        .and_then(|error| error.as_error::<AppError>())
        .map(PvwaError::from);
    Ok(match converted {
        Some(error) => response.into_response(error.error_response()),
        None => response.map_into_boxed_body(),
    })
}
