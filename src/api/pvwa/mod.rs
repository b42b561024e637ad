//! `/PasswordVault/API`: a CyberArk PVWA-compatible face on access requests, so scripts written
//! for PVWA (psPAS, for one) work unchanged. It is a translation only: each handler calls the
//! same services as `/api/v3` and rewrites the answer in PVWA's shape (see `models`).
//!
//! PVWA's conventions, kept here: paths match regardless of case (the [`normalize`] middleware
//! rewrites the fixed segments to the lowercase routes before routing), the token comes in
//! `Authorization` bare or as `Bearer <token>`, request ids are `SafeName_N`, and every error is
//! `{"ErrorCode","ErrorMessage"}` ([`PvwaError`]), never problem+json.

pub mod models;

use std::fmt;
use std::future::{Ready, ready};

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::uri::{PathAndQuery, Uri};
use actix_web::http::{StatusCode, header::ContentType};
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpRequest, HttpResponse, ResponseError, delete, get, post, web};
use futures_util::future::LocalBoxFuture;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use self::models::{
    BODY_KEYS, DECISION_KEYS, DecisionBody, IncomingRequestsList, LIST_CAP, ListFilters, LogonBody,
    MyRequestsList, NewRequestBody, PvwaRequest, parse_request_id, pvwa_field, to_pvwa,
};
use super::AppState;
use super::extract::ApiJson;
use crate::domain::request::{RequestDetail, RequestType};
use crate::error::{AppError, ErrorCode};
use crate::service::auth::{self, VerifiedToken};
use crate::service::requests::{self, FullListQuery, NewRequest};
use crate::service::{Context, access_requests};

/// Where the compatibility API lives, as routed (requests may spell it in any case).
pub const PREFIX: &str = "/passwordvault";

/// The compatibility API's routes, for `api::configure`: lowercase, as [`normalize`] rewrites
/// the paths.
pub fn configure(config: &mut ServiceConfig) {
    config.service(
        utoipa_actix_web::scope("/passwordvault/api")
            .service(create_pvwa_session)
            .service(delete_pvwa_session)
            .service(list_pvwa_my_requests)
            .service(create_pvwa_my_request)
            .service(get_pvwa_my_request)
            .service(delete_pvwa_my_request)
            .service(list_pvwa_incoming_requests)
            .service(get_pvwa_incoming_request)
            .service(confirm_pvwa_request)
            .service(reject_pvwa_request),
    );
}

// ---------------------------------------------------------------------------------------------
// Errors

/// A failure, as PVWA answers it: `{"ErrorCode","ErrorMessage"}` with the HTTP status.
#[derive(Debug)]
pub struct PvwaError {
    status: u16,
    code: &'static str,
    message: String,
    /// `Retry-After` or `Allow`, when the native error carries one.
    header: Option<(header::HeaderName, String)>,
}

/// The error body of every failure under `/PasswordVault/API`.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"ErrorCode": "RQDWS012E", "ErrorMessage": "no request Finance_42"}))]
pub struct PvwaErrorBody {
    /// A stable code to branch on (see the README's table).
    #[serde(rename = "ErrorCode")]
    #[schema(rename = "ErrorCode")]
    pub error_code: String,
    #[serde(rename = "ErrorMessage")]
    #[schema(rename = "ErrorMessage")]
    pub error_message: String,
}

/// The PVWA `ErrorCode` of each native code; the README documents this table.
fn pvwa_code(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::ValidationFailed => "RQDWS001E",
        ErrorCode::MalformedJson | ErrorCode::UnreadableBody => "RQDWS002E",
        ErrorCode::Unauthorized => "RQDWS003E",
        ErrorCode::InvalidCredentials => "RQDWS004E",
        ErrorCode::UserSuspended => "RQDWS005E",
        ErrorCode::Forbidden
        | ErrorCode::RoleNotSelfService
        | ErrorCode::AdminOnlyField
        | ErrorCode::CorsRefused => "RQDWS006E",
        ErrorCode::NotAConfirmer => "RQDWS007E",
        ErrorCode::OwnRequest => "RQDWS008E",
        ErrorCode::NotAllowedToRequest => "RQDWS009E",
        ErrorCode::NotFound => "RQDWS010E",
        ErrorCode::MethodNotAllowed => "RQDWS011E",
        ErrorCode::RequestNotPending => "RQDWS012E",
        ErrorCode::AlreadyDecided => "RQDWS013E",
        ErrorCode::OverlappingRequest => "RQDWS014E",
        ErrorCode::MissingSupervisors => "RQDWS015E",
        ErrorCode::UsernameTaken
        | ErrorCode::EmailTaken
        | ErrorCode::LastAdmin
        | ErrorCode::DuplicatePendingRequest
        | ErrorCode::KeyCompromised
        | ErrorCode::PolicyRefuses
        | ErrorCode::AlreadyRevoked
        | ErrorCode::CertificateExists
        | ErrorCode::SafeExists
        | ErrorCode::ConfirmationSettingsChanged
        | ErrorCode::AccessNotUsable
        | ErrorCode::NotAnAccessRequest => "RQDWS016E",
        ErrorCode::PayloadTooLarge => "RQDWS017E",
        ErrorCode::UnsupportedMediaType => "RQDWS018E",
        ErrorCode::TooManyRequests => "RQDWS019E",
        ErrorCode::ServiceUnavailable => "RQDWS020E",
        ErrorCode::InternalError => "RQDWS021E",
    }
}

impl PvwaError {
    fn invalid(errors: Vec<crate::domain::FieldError>) -> Self {
        Self::from(AppError::Validation(errors))
    }
}

impl From<&AppError> for PvwaError {
    fn from(error: &AppError) -> Self {
        let status = error.status();
        let code = pvwa_code(error.code());
        let message = match error {
            AppError::Validation(errors) => errors
                .iter()
                .map(|e| format!("{}: {}", pvwa_field(&e.field), e.message))
                .collect::<Vec<_>>()
                .join("; "),
            other => other.detail(),
        };
        let header = match error {
            AppError::TooManyRequests { retry_after_secs } => {
                Some((header::RETRY_AFTER, retry_after_secs.to_string()))
            }
            AppError::Unavailable(_) => Some((header::RETRY_AFTER, "1".to_owned())),
            AppError::MethodNotAllowed { allow } => Some((header::ALLOW, allow.join(", "))),
            _ => None,
        };
        if status >= 500 {
            tracing::error!(%error, code, "request failed");
        }
        Self {
            status,
            code,
            message,
            header,
        }
    }
}

impl From<AppError> for PvwaError {
    fn from(error: AppError) -> Self {
        Self::from(&error)
    }
}

impl fmt::Display for PvwaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.code, self.message)
    }
}

impl ResponseError for PvwaError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header(ContentType::json());
        if let Some((name, value)) = &self.header
            && let Ok(value) = HeaderValue::from_str(value)
        {
            response.insert_header((name.clone(), value));
        }
        response.json(PvwaErrorBody {
            error_code: self.code.to_owned(),
            error_message: self.message.clone(),
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Middleware

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

/// The routed form of a path under `/PasswordVault`, or `None` for any other path.
fn canonical_path(path: &str) -> Option<String> {
    let head = path.get(..PREFIX.len())?;
    let rest = &path[PREFIX.len()..];
    if !head.eq_ignore_ascii_case(PREFIX) || !(rest.is_empty() || rest.starts_with('/')) {
        return None;
    }
    let mut canonical = String::with_capacity(path.len());
    let mut previous = String::new();
    for segment in path.trim_end_matches('/').split('/').skip(1) {
        canonical.push('/');
        let is_request_id = previous == "myrequests" || previous == "incomingrequests";
        let lower = segment.to_ascii_lowercase();
        canonical.push_str(if is_request_id { segment } else { &lower });
        previous = if is_request_id { String::new() } else { lower };
    }
    Some(canonical)
}

// ---------------------------------------------------------------------------------------------
// Extractors

/// The caller's token, from `Authorization: <token>` or `Authorization: Bearer <token>`.
#[derive(Debug)]
pub struct PvwaAuth(pub VerifiedToken);

impl FromRequest for PvwaAuth {
    type Error = PvwaError;
    type Future = Ready<Result<Self, PvwaError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(pvwa_token(req).map(PvwaAuth))
    }
}

fn pvwa_token(req: &HttpRequest) -> Result<VerifiedToken, PvwaError> {
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or(AppError::new(
            ErrorCode::Unauthorized,
            "a session token is required in the Authorization header: log on first",
        ))?;
    let token = match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
        _ => value,
    };
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| AppError::Internal("application state is missing".to_owned()))?;
    Ok(state.ctx.tokens.verify(token)?)
}

/// A JSON body whose keys match the known ones regardless of case (as PVWA's do); an empty body
/// reads as `{}`. Size and media type are checked as for every JSON body.
pub struct PvwaJson<T>(pub T);

/// The keys a body type knows, in their canonical spelling.
pub trait BodyKeys {
    const KEYS: &'static [&'static str];
}

impl BodyKeys for LogonBody {
    const KEYS: &'static [&'static str] = BODY_KEYS;
}

impl BodyKeys for NewRequestBody {
    const KEYS: &'static [&'static str] = BODY_KEYS;
}

impl BodyKeys for DecisionBody {
    const KEYS: &'static [&'static str] = DECISION_KEYS;
}

impl<T: DeserializeOwned + BodyKeys + 'static> FromRequest for PvwaJson<T> {
    type Error = PvwaError;
    type Future = LocalBoxFuture<'static, Result<Self, PvwaError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let headers = req.headers();
        let empty = match headers.get(header::CONTENT_LENGTH) {
            Some(length) => length.as_bytes() == b"0",
            None => !headers.contains_key(header::TRANSFER_ENCODING),
        };
        let body = (!empty).then(|| ApiJson::<Value>::from_request(req, payload));
        Box::pin(async move {
            let value = match body {
                Some(body) => body.await?.0,
                None => Value::Object(serde_json::Map::new()),
            };
            serde_path_to_error::deserialize(canonical_keys(value, T::KEYS))
                .map(PvwaJson)
                .map_err(|error| {
                    let path = error.path().to_string();
                    let field = if path == "." { "body".to_owned() } else { path };
                    PvwaError::invalid(vec![crate::domain::FieldError::new(
                        field,
                        error.inner().to_string(),
                    )])
                })
        })
    }
}

/// `value` with each object key that matches a known key regardless of case spelled as known.
fn canonical_keys(value: Value, keys: &[&str]) -> Value {
    match value {
        Value::Object(object) => Value::Object(
            object
                .into_iter()
                .map(|(key, value)| {
                    let key = keys
                        .iter()
                        .find(|known| known.eq_ignore_ascii_case(&key))
                        .map_or(key, |known| (*known).to_owned());
                    (key, canonical_keys(value, keys))
                })
                .collect(),
        ),
        other => other,
    }
}

/// `onlywaiting` and `expired`, names and values regardless of case.
pub struct PvwaFilters(pub ListFilters);

impl FromRequest for PvwaFilters {
    type Error = PvwaError;
    type Future = Ready<Result<Self, PvwaError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(
            ListFilters::parse(req.query_string())
                .map(PvwaFilters)
                .map_err(|e| PvwaError::invalid(vec![e])),
        )
    }
}

// ---------------------------------------------------------------------------------------------
// Handlers

#[derive(serde::Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct RequestIdPath {
    /// `SafeName_N`: the safe's name (any case) and the request's number.
    #[param(example = "Finance_42")]
    pub request_id: String,
}

/// The numeric id in a `SafeName_N` path, once the service has said it names an access request
/// of that safe; anything else is 404.
fn resolve(ctx: &Context, token: &VerifiedToken, request_id: &str) -> Result<i64, AppError> {
    let (safe, id) = parse_request_id(request_id)
        .ok_or_else(|| AppError::new(ErrorCode::NotFound, format!("no request {request_id}")))?;
    access_requests::require_in_safe(ctx, token, id, safe)?;
    Ok(id)
}

fn pvwa_view(detail: &RequestDetail) -> Result<PvwaRequest, AppError> {
    to_pvwa(detail).ok_or_else(|| {
        AppError::new(
            ErrorCode::NotFound,
            format!("no request {}", detail.summary.id),
        )
    })
}

fn in_full(query: ListFilters, actionable_now: bool) -> FullListQuery {
    FullListQuery {
        request_type: Some(RequestType::Access),
        statuses: query.statuses(),
        actionable_now,
        limit: LIST_CAP,
    }
}

/// Log on with a username and password: the session token, as a JSON string. Send it back in
/// `Authorization`, bare or as `Bearer <token>`. Paths match regardless of case.
#[utoipa::path(
    tag = "pvwa compatibility",
    request_body = LogonBody,
    responses(
        (status = 200, description = "The session token", body = String, example = json!("eyJhbGciOiJIUzI1NiJ9...")),
        (status = 400, description = "Invalid body (RQDWS001E, RQDWS002E)", body = PvwaErrorBody),
        (status = 401, description = "Wrong username or password (RQDWS004E)", body = PvwaErrorBody),
        (status = 403, description = "Suspended user (RQDWS005E)", body = PvwaErrorBody),
        (status = 413, description = "Body too large (RQDWS017E)", body = PvwaErrorBody),
        (status = 415, description = "Body not JSON (RQDWS018E)", body = PvwaErrorBody),
        (status = 429, description = "Too many failures (RQDWS019E)", body = PvwaErrorBody),
        (status = 503, description = "Unavailable (RQDWS020E)", body = PvwaErrorBody),
    )
)]
#[post("/auth/cyberark/logon")]
pub async fn create_pvwa_session(
    state: web::Data<AppState>,
    body: PvwaJson<LogonBody>,
) -> Result<HttpResponse, PvwaError> {
    let LogonBody {
        username, password, ..
    } = body.0;
    let outcome = state
        .run_hashing(move |ctx| auth::log_in(ctx, &username, &password))
        .await?;
    Ok(HttpResponse::Ok().json(outcome.token))
}

/// Log off: the token is refused from then on. Paths match regardless of case.
#[utoipa::path(
    tag = "pvwa compatibility",
    security(("pvwa" = [])),
    responses(
        (status = 200, description = "Logged off"),
        (status = 401, description = "No valid token (RQDWS003E)", body = PvwaErrorBody),
        (status = 503, description = "Unavailable (RQDWS020E)", body = PvwaErrorBody),
    )
)]
#[post("/auth/logoff")]
pub async fn delete_pvwa_session(
    state: web::Data<AppState>,
    auth: PvwaAuth,
) -> Result<HttpResponse, PvwaError> {
    state.run(move |ctx| auth::log_out(ctx, &auth.0)).await?;
    Ok(HttpResponse::Ok().finish())
}

/// The caller's access requests, newest first, at most 100. Paths and parameters match
/// regardless of case.
#[utoipa::path(
    tag = "pvwa compatibility",
    params(ListFilters),
    security(("pvwa" = [])),
    responses(
        (status = 200, description = "The requests", body = MyRequestsList),
        (status = 400, description = "Invalid parameter (RQDWS001E)", body = PvwaErrorBody),
        (status = 401, description = "No valid token (RQDWS003E)", body = PvwaErrorBody),
        (status = 503, description = "Unavailable (RQDWS020E)", body = PvwaErrorBody),
    )
)]
#[get("/myrequests")]
pub async fn list_pvwa_my_requests(
    state: web::Data<AppState>,
    auth: PvwaAuth,
    filters: PvwaFilters,
) -> Result<HttpResponse, PvwaError> {
    let query = in_full(filters.0, false);
    let details = state
        .run(move |ctx| requests::mine_in_full(ctx, &auth.0, &query))
        .await?;
    Ok(HttpResponse::Ok().json(MyRequestsList {
        my_requests: details.iter().filter_map(to_pvwa).collect(),
    }))
}

/// Request access to an account: answers 201 with the new request in full, as PVWA does.
/// `FromDate` and `ToDate` are Unix seconds. Paths and keys match regardless of case.
#[utoipa::path(
    tag = "pvwa compatibility",
    request_body = NewRequestBody,
    security(("pvwa" = [])),
    responses(
        (status = 201, description = "The request, waiting", body = PvwaRequest),
        (status = 400, description = "Invalid field, named (RQDWS001E, RQDWS002E)", body = PvwaErrorBody),
        (status = 401, description = "No valid token (RQDWS003E)", body = PvwaErrorBody),
        (status = 403, description = "May not request in this safe (RQDWS009E)", body = PvwaErrorBody),
        (status = 409, description = "Overlapping request or too few confirmers (RQDWS014E, RQDWS015E)", body = PvwaErrorBody),
        (status = 413, description = "Body too large (RQDWS017E)", body = PvwaErrorBody),
        (status = 415, description = "Body not JSON (RQDWS018E)", body = PvwaErrorBody),
        (status = 503, description = "Unavailable (RQDWS020E)", body = PvwaErrorBody),
    )
)]
#[post("/myrequests")]
pub async fn create_pvwa_my_request(
    state: web::Data<AppState>,
    auth: PvwaAuth,
    body: PvwaJson<NewRequestBody>,
) -> Result<HttpResponse, PvwaError> {
    let input = body.0.into_input().map_err(PvwaError::invalid)?;
    let detail = state
        .run(move |ctx| requests::submit(ctx, &auth.0, NewRequest::Access(input)))
        .await?;
    Ok(HttpResponse::Created().json(pvwa_view(&detail)?))
}

/// One of the caller's access requests, in full. Paths match regardless of case; the id's safe
/// name too.
#[utoipa::path(
    tag = "pvwa compatibility",
    params(RequestIdPath),
    security(("pvwa" = [])),
    responses(
        (status = 200, description = "The request", body = PvwaRequest),
        (status = 401, description = "No valid token (RQDWS003E)", body = PvwaErrorBody),
        (status = 404, description = "No such request of the caller's (RQDWS010E)", body = PvwaErrorBody),
        (status = 503, description = "Unavailable (RQDWS020E)", body = PvwaErrorBody),
    )
)]
#[get("/myrequests/{request_id}")]
pub async fn get_pvwa_my_request(
    state: web::Data<AppState>,
    auth: PvwaAuth,
    path: web::Path<RequestIdPath>,
) -> Result<HttpResponse, PvwaError> {
    let request_id = path.into_inner().request_id;
    let detail = state
        .run(move |ctx| {
            let id = resolve(ctx, &auth.0, &request_id)?;
            requests::show_mine(ctx, &auth.0, id)
        })
        .await?;
    Ok(HttpResponse::Ok().json(pvwa_view(&detail)?))
}

/// Cancel one of the caller's waiting requests. Paths match regardless of case.
#[utoipa::path(
    tag = "pvwa compatibility",
    params(RequestIdPath),
    security(("pvwa" = [])),
    responses(
        (status = 204, description = "Cancelled"),
        (status = 401, description = "No valid token (RQDWS003E)", body = PvwaErrorBody),
        (status = 404, description = "No such request of the caller's (RQDWS010E)", body = PvwaErrorBody),
        (status = 409, description = "No longer waiting (RQDWS012E)", body = PvwaErrorBody),
        (status = 503, description = "Unavailable (RQDWS020E)", body = PvwaErrorBody),
    )
)]
#[delete("/myrequests/{request_id}")]
pub async fn delete_pvwa_my_request(
    state: web::Data<AppState>,
    auth: PvwaAuth,
    path: web::Path<RequestIdPath>,
) -> Result<HttpResponse, PvwaError> {
    let request_id = path.into_inner().request_id;
    state
        .run(move |ctx| {
            let id = resolve(ctx, &auth.0, &request_id)?;
            requests::cancel(ctx, &auth.0, id)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The access requests the caller confirms, newest first, at most 100; with `onlywaiting=true`
/// only those waiting for the caller's decision now. Paths and parameters match regardless of
/// case.
#[utoipa::path(
    tag = "pvwa compatibility",
    params(ListFilters),
    security(("pvwa" = [])),
    responses(
        (status = 200, description = "The requests", body = IncomingRequestsList),
        (status = 400, description = "Invalid parameter (RQDWS001E)", body = PvwaErrorBody),
        (status = 401, description = "No valid token (RQDWS003E)", body = PvwaErrorBody),
        (status = 403, description = "Not a confirmer anywhere (RQDWS006E)", body = PvwaErrorBody),
        (status = 503, description = "Unavailable (RQDWS020E)", body = PvwaErrorBody),
    )
)]
#[get("/incomingrequests")]
pub async fn list_pvwa_incoming_requests(
    state: web::Data<AppState>,
    auth: PvwaAuth,
    filters: PvwaFilters,
) -> Result<HttpResponse, PvwaError> {
    let waiting = filters.0.only_waiting.unwrap_or(false);
    let query = in_full(filters.0, waiting);
    let details = state
        .run(move |ctx| requests::incoming_in_full(ctx, &auth.0, &query))
        .await?;
    Ok(HttpResponse::Ok().json(IncomingRequestsList {
        incoming_requests: details.iter().filter_map(to_pvwa).collect(),
    }))
}

/// One access request the caller confirms, in full. Paths match regardless of case.
#[utoipa::path(
    tag = "pvwa compatibility",
    params(RequestIdPath),
    security(("pvwa" = [])),
    responses(
        (status = 200, description = "The request", body = PvwaRequest),
        (status = 401, description = "No valid token (RQDWS003E)", body = PvwaErrorBody),
        (status = 403, description = "Not a confirmer of it, or one's own (RQDWS006E, RQDWS008E)", body = PvwaErrorBody),
        (status = 404, description = "No such request (RQDWS010E)", body = PvwaErrorBody),
        (status = 503, description = "Unavailable (RQDWS020E)", body = PvwaErrorBody),
    )
)]
#[get("/incomingrequests/{request_id}")]
pub async fn get_pvwa_incoming_request(
    state: web::Data<AppState>,
    auth: PvwaAuth,
    path: web::Path<RequestIdPath>,
) -> Result<HttpResponse, PvwaError> {
    let request_id = path.into_inner().request_id;
    let detail = state
        .run(move |ctx| {
            let id = resolve(ctx, &auth.0, &request_id)?;
            requests::show_incoming(ctx, &auth.0, id)
        })
        .await?;
    Ok(HttpResponse::Ok().json(pvwa_view(&detail)?))
}

/// Confirm a request at its current level, with an optional `Reason`: answers it in full. Paths
/// and keys match regardless of case.
#[utoipa::path(
    tag = "pvwa compatibility",
    params(RequestIdPath),
    request_body = DecisionBody,
    security(("pvwa" = [])),
    responses(
        (status = 200, description = "The request after the confirmation", body = PvwaRequest),
        (status = 400, description = "Invalid body (RQDWS001E, RQDWS002E)", body = PvwaErrorBody),
        (status = 401, description = "No valid token (RQDWS003E)", body = PvwaErrorBody),
        (status = 403, description = "Not a confirmer at this level, or one's own (RQDWS007E, RQDWS008E)", body = PvwaErrorBody),
        (status = 404, description = "No such request (RQDWS010E)", body = PvwaErrorBody),
        (status = 409, description = "Not waiting, or already decided (RQDWS012E, RQDWS013E)", body = PvwaErrorBody),
        (status = 413, description = "Body too large (RQDWS017E)", body = PvwaErrorBody),
        (status = 415, description = "Body not JSON (RQDWS018E)", body = PvwaErrorBody),
        (status = 503, description = "Unavailable (RQDWS020E)", body = PvwaErrorBody),
    )
)]
#[post("/incomingrequests/{request_id}/confirm")]
pub async fn confirm_pvwa_request(
    state: web::Data<AppState>,
    auth: PvwaAuth,
    path: web::Path<RequestIdPath>,
    body: PvwaJson<DecisionBody>,
) -> Result<HttpResponse, PvwaError> {
    let request_id = path.into_inner().request_id;
    let reason = body.0.reason;
    let detail = state
        .run(move |ctx| {
            let id = resolve(ctx, &auth.0, &request_id)?;
            requests::confirm(ctx, &auth.0, id, reason)
        })
        .await?;
    Ok(HttpResponse::Ok().json(pvwa_view(&detail)?))
}

/// Reject a request with a `Reason` (required): answers it in full. Paths and keys match
/// regardless of case.
#[utoipa::path(
    tag = "pvwa compatibility",
    params(RequestIdPath),
    request_body = DecisionBody,
    security(("pvwa" = [])),
    responses(
        (status = 200, description = "The rejected request", body = PvwaRequest),
        (status = 400, description = "Missing or invalid reason (RQDWS001E, RQDWS002E)", body = PvwaErrorBody),
        (status = 401, description = "No valid token (RQDWS003E)", body = PvwaErrorBody),
        (status = 403, description = "Not a confirmer at this level, or one's own (RQDWS007E, RQDWS008E)", body = PvwaErrorBody),
        (status = 404, description = "No such request (RQDWS010E)", body = PvwaErrorBody),
        (status = 409, description = "Not waiting, or already decided (RQDWS012E, RQDWS013E)", body = PvwaErrorBody),
        (status = 413, description = "Body too large (RQDWS017E)", body = PvwaErrorBody),
        (status = 415, description = "Body not JSON (RQDWS018E)", body = PvwaErrorBody),
        (status = 503, description = "Unavailable (RQDWS020E)", body = PvwaErrorBody),
    )
)]
#[post("/incomingrequests/{request_id}/reject")]
pub async fn reject_pvwa_request(
    state: web::Data<AppState>,
    auth: PvwaAuth,
    path: web::Path<RequestIdPath>,
    body: PvwaJson<DecisionBody>,
) -> Result<HttpResponse, PvwaError> {
    let request_id = path.into_inner().request_id;
    let reason = body.0.reason.unwrap_or_default();
    let detail = state
        .run(move |ctx| {
            let id = resolve(ctx, &auth.0, &request_id)?;
            requests::reject(ctx, &auth.0, id, &reason)
        })
        .await?;
    Ok(HttpResponse::Ok().json(pvwa_view(&detail)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_segments_are_lowercased_and_request_ids_kept() {
        let cases = [
            (
                "/PasswordVault/API/MyRequests",
                Some("/passwordvault/api/myrequests"),
            ),
            (
                "/passwordvault/api/MyRequests/My_Safe_4/",
                Some("/passwordvault/api/myrequests/My_Safe_4"),
            ),
            (
                "/PASSWORDVAULT/Api/IncomingRequests/Fin_2/Confirm",
                Some("/passwordvault/api/incomingrequests/Fin_2/confirm"),
            ),
            ("/PasswordVaultX/api", None),
            ("/api/v3/myrequests", None),
            ("/pass", None),
        ];
        for (path, expected) in cases {
            assert_eq!(canonical_path(path).as_deref(), expected, "{path}");
        }
    }

    /// Every native code maps to a PVWA code that README's PVWA table lists with the same status.
    #[test]
    fn every_native_error_code_has_a_documented_pvwa_code() {
        let readme = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"));
        let documented: Vec<(u16, &str)> = readme
            .lines()
            .filter_map(|line| {
                let cells: Vec<&str> = line.split('|').map(str::trim).collect();
                let code = cells.get(2)?.strip_prefix("`RQDWS")?.strip_suffix('`')?;
                Some((cells[1].parse().ok()?, &line[line.find("RQDWS")?..][..9]))
                    .filter(|_| !code.is_empty())
            })
            .collect();
        for code in ErrorCode::ALL {
            let error = PvwaError::from(AppError::new(code, "x"));
            assert_eq!(error.status, code.status(), "{code}");
            assert!(
                documented.contains(&(error.status, error.code)),
                "{code} answers {} {}, which README's PVWA table does not list",
                error.status,
                error.code
            );
        }
    }
}
