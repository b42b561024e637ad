//! Request identity and access logging: every response carries an `X-Request-Id` (the caller's,
//! when it sent a sensible one), and every request is logged once with its status and latency.
//! Only the path is logged, never headers or bodies, so tokens and passwords never reach the log.
//! Paths holding U+0000 are refused before routing. A CORS refusal is worded as every other
//! error is. A request refused before its service call ran has its session checked first, so a
//! caller without a live session is told 401 rather than what was wrong with its input.

use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, web};
use tracing::Instrument;

use super::AppState;
use super::extract::{NUL_MESSAGE, PresentedToken};
use crate::error::{AppError, ErrorCode};
use crate::service::auth;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

pub async fn request_id(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let id = req
        .headers()
        .get(&REQUEST_ID)
        .filter(|value| is_sensible(value))
        .cloned()
        .unwrap_or_else(new_request_id);
    let span = tracing::info_span!(
        "request",
        http.request_id = id.to_str().unwrap_or_default(),
        http.method = %req.method(),
        http.path = req.path(),
    );
    let started = Instant::now();
    let mut response = next.call(req).instrument(span.clone()).await?;
    response.headers_mut().insert(REQUEST_ID, id);
    span.in_scope(|| {
        tracing::info!(
            status = response.status().as_u16(),
            latency_us = started.elapsed().as_micros() as u64,
            "handled"
        );
    });
    Ok(response)
}

fn is_sensible(value: &HeaderValue) -> bool {
    let bytes = value.as_bytes();
    (1..=128).contains(&bytes.len())
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(b))
}

fn new_request_id() -> HeaderValue {
    HeaderValue::from_str(&uuid::Uuid::new_v4().to_string())
        .unwrap_or_else(|_| HeaderValue::from_static("unknown"))
}

/// Answers 404 for a path holding U+0000 (`%00`): no resource is named so, and PostgreSQL could
/// not even look the name up (it cannot store the character; SQLite can). A query parameter
/// holding it is a 400 naming the parameter, before any handler reads the query (PVWA's lists
/// read theirs raw). The error travels as an [`AppError`], so under `/PasswordVault` PVWA's
/// middleware words it as PVWA does.
pub async fn refuse_nul_in_url(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    if req.path().contains("%00") || req.path().contains('\0') {
        let error = AppError::new(
            ErrorCode::NotFound,
            format!("no resource at {}", req.path()),
        );
        return Ok(req.error_response(error));
    }
    if let Some(parameter) = nul_in_query(req.query_string()) {
        return Ok(req.error_response(AppError::validation(parameter, NUL_MESSAGE)));
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}

/// The name of the first query parameter whose name or value holds U+0000 (`%00`), if any.
fn nul_in_query(query: &str) -> Option<String> {
    if !query.contains("%00") {
        return None;
    }
    form_urlencoded::parse(query.as_bytes())
        .find(|(name, value)| name.contains('\0') || value.contains('\0'))
        .map(|(name, _)| name.into_owned())
}

/// Outside the CORS middleware: the preflight it refuses (an origin not in
/// `REQUESTDESK_CORS_ORIGINS`, a method or header the API does not take) leaves it as a
/// plain-text 400; this answers 403 `cors_refused` in problem+json instead, still without any
/// `Access-Control-Allow-*` header, so the browser keeps the call from being made.
pub async fn problem_for_cors_refusals(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let response = next.call(req).await?;
    let refusal = response
        .response()
        .error()
        .and_then(|error| error.as_error::<actix_cors::CorsError>())
        .map(ToString::to_string);
    let Some(refusal) = refusal else {
        return Ok(response.map_into_boxed_body());
    };
    tracing::info!(%refusal, "CORS preflight refused");
    let error = AppError::new(ErrorCode::CorsRefused, refusal.to_lowercase());
    let (request, _) = response.into_parts();
    Ok(ServiceResponse::new(
        request,
        actix_web::ResponseError::error_response(&error),
    ))
}

/// Every protected endpoint needs a live session, and the service call checks it; but a request
/// can be refused before that call: a body, query string or path that does not parse, a body
/// that is not JSON (415) or too large (413), or a check a handler makes before calling the
/// service. So when a request presented a verified token (the extractors leave it in the
/// request: [`PresentedToken`]) and is answered with any client error other than 401, and no
/// service call found its session live, the session is checked once, on a blocking thread
/// ([`auth::require_live_session`], one query): if it has ended (logged out, the user deleted
/// or suspended) the answer is 401 `unauthorized` instead, so a caller without a live session
/// learns nothing about what it sent; a lost database is the usual 503. Successes, and refusals
/// made after the service call found the session live, pass untouched: the happy path makes no
/// extra query. Innermost, so what it answers reaches PVWA's middleware as an [`AppError`] and
/// is worded as PVWA does (`RQDWS003E`).
pub async fn dead_session_first(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let response = next.call(req).await?;
    let status = response.status();
    if !status.is_client_error() || status == StatusCode::UNAUTHORIZED {
        return Ok(response.map_into_boxed_body());
    }
    let unchecked = response
        .request()
        .extensions()
        .get::<PresentedToken>()
        .filter(|presented| !presented.0.found_live())
        .map(|presented| presented.0.clone());
    let state = response
        .request()
        .app_data::<web::Data<AppState>>()
        .cloned();
    let (Some(token), Some(state)) = (unchecked, state) else {
        return Ok(response.map_into_boxed_body());
    };
    match state
        .run(move |ctx| auth::require_live_session(ctx, &token))
        .await
    {
        Ok(()) => Ok(response.map_into_boxed_body()),
        Err(refusal) => {
            let (request, _) = response.into_parts();
            Ok(ServiceResponse::from_err(refusal, request))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nul_is_found_in_query_parameter_names_and_values() {
        assert_eq!(nul_in_query("page=1&q=ali%00ce").as_deref(), Some("q"));
        assert_eq!(nul_in_query("st%00atus=x").as_deref(), Some("st\u{0}atus"));
        assert_eq!(nul_in_query("q=%2500"), None);
        assert_eq!(nul_in_query("q=alice"), None);
    }
}
