//! `/api/v3/myrequests`: the caller's own requests. Anything not theirs answers 404.

use actix_web::http::header::ContentType;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::AppState;
use super::caching;
use super::extract::client_address;
use super::extract::{ApiJson, ApiQuery, Authenticated, from_value};
use super::problem::{
    AccessRefused, BadRequest, Conflict, Forbidden, NotFound, PayloadTooLarge, ServiceUnavailable,
    Unauthorized, UnsupportedMediaType,
};
use chrono::{DateTime, Utc};

use crate::domain::access::{AccessGrant, AccessType, AdditionalInfo, OperationType, Ticket};
use crate::domain::pagination::PageRequest;
use crate::domain::request::{Dashboard, RequestDetail, RequestStats, RequestStatus, RequestType};
use crate::error::AppError;
use crate::service::requests::{self, NewRequest, RequestListQuery};
use crate::service::requests::{AccessInput, UseOrigin};

/// The documented certificate request: a real CSR (ECDSA P-256, made once with openssl) for
/// `build.example.com`, a name the default CA policy accepts, so Swagger UI's "Try it out" works.
fn certificate_request_example() -> serde_json::Value {
    serde_json::json!({
        "type": "certificate",
        "csr": concat!(
            "-----BEGIN CERTIFICATE REQUEST-----\n",
            "MIIBBTCBrQIBADAcMRowGAYDVQQDDBFidWlsZC5leGFtcGxlLmNvbTBZMBMGByqG\n",
            "SM49AgEGCCqGSM49AwEHA0IABHKAdB5w8BlyvI1y7Pkk0Sp2QHDh6P3WLqeZL5SQ\n",
            "ortIxNDy1rRt5dzIqLK+rKJ6KeH6DYzNuiWXKr2wYN/0vjSgLzAtBgkqhkiG9w0B\n",
            "CQ4xIDAeMBwGA1UdEQQVMBOCEWJ1aWxkLmV4YW1wbGUuY29tMAoGCCqGSM49BAMC\n",
            "A0cAMEQCIDDSnsXeTLtkiurHD/QEeSz/2OZRaKkr9HpWkvu11F5HAiBEAF1zOlZR\n",
            "TrRMwSPJg9u/OniAasrO33xjb9JxSJ0KuQ==\n",
            "-----END CERTIFICATE REQUEST-----\n",
        ),
        "reason": "TLS for the build server",
        "validity_days": 90
    })
}

/// The documented access request: one-time, so it names no window that could lie in the past,
/// for the first account an administrator adds.
fn access_request_example() -> serde_json::Value {
    serde_json::json!({
        "type": "access",
        "account_id": 1,
        "reason": "Patch the database server tonight",
        "access_type": "one_time",
        "operation_type": "open",
        "ticketing_system": {"name": "ServiceNow", "number": "CHG0012345"},
        "additional_info": {"reference_no": "CHG-2026-118", "emergency": false}
    })
}

/// A new request. `type` says which kind; each kind has its own fields.
#[derive(Deserialize, ToSchema)]
#[serde(untagged)]
#[schema(discriminator(property_name = "type", mapping(
    ("certificate" = "#/components/schemas/CertificateRequestBody"),
    ("access" = "#/components/schemas/AccessRequestBody"),
)))]
pub enum SubmitRequest {
    Certificate(CertificateRequestBody),
    Access(AccessRequestBody),
}

impl SubmitRequest {
    /// Reads the body for its `type`, so an invalid field is named even inside a variant.
    fn parse(body: serde_json::Value) -> Result<Self, AppError> {
        match body.get("type").and_then(serde_json::Value::as_str) {
            Some("certificate") => Ok(Self::Certificate(from_value(body)?)),
            Some("access") => Ok(Self::Access(from_value(body)?)),
            _ => Err(AppError::validation(
                "type",
                "must be certificate or access",
            )),
        }
    }

    fn into_new_request(self) -> NewRequest {
        match self {
            Self::Certificate(body) => NewRequest::Certificate {
                csr: body.csr,
                reason: body.reason,
                validity_days: body.validity_days,
            },
            Self::Access(body) => NewRequest::Access(AccessInput {
                account_id: body.account_id,
                safe_id: None,
                reason: body.reason,
                access_type: body.access_type,
                access_from: body.access_from,
                access_to: body.access_to,
                operation_type: body.operation_type,
                ticketing_system: body.ticketing_system,
                additional_info: body.additional_info,
                extras: Default::default(),
            }),
        }
    }
}

/// `certificate`.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CertificateKind {
    Certificate,
}

/// `access`.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AccessKind {
    Access,
}

/// A certificate from the built-in CA for the key in a PKCS#10 CSR.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(title = "Certificate request", example = certificate_request_example)]
pub struct CertificateRequestBody {
    #[serde(rename = "type")]
    pub kind: CertificateKind,
    /// PEM-encoded PKCS#10 certificate signing request.
    pub csr: String,
    /// Why the certificate is needed.
    pub reason: String,
    /// 1 to the CA's maximum (397 by default); default 90.
    #[schema(minimum = 1, maximum = 397)]
    pub validity_days: Option<u32>,
}

/// Access to a privileged account kept in a safe, for a reason and a time window.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(title = "Access request", example = access_request_example)]
pub struct AccessRequestBody {
    #[serde(rename = "type")]
    pub kind: AccessKind,
    pub account_id: i64,
    /// Why access is needed: at least 10 characters once trimmed.
    #[schema(min_length = 10, max_length = 2000)]
    pub reason: String,
    pub access_type: AccessType,
    /// Start of the window (required for `multiple`; default now).
    pub access_from: Option<DateTime<Utc>>,
    /// End of the window (required for `multiple`; default: the longest the safe allows).
    pub access_to: Option<DateTime<Utc>>,
    pub operation_type: OperationType,
    /// Required when the safe says so.
    pub ticketing_system: Option<Ticket>,
    pub additional_info: Option<AdditionalInfo>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DashboardQuery {
    /// Only requests in this status.
    pub status: Option<RequestStatus>,
    /// Only requests of this type.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub request_type: Option<RequestType>,
    /// Page of requests, from 1.
    #[param(minimum = 1, maximum = 1000000)]
    pub requests_page: Option<i64>,
    /// Page of certificates, from 1.
    #[param(minimum = 1, maximum = 1000000)]
    pub certificates_page: Option<i64>,
    /// Items per page of each list, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub per_page: Option<i64>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct RequestPath {
    /// The request's id.
    pub id: i64,
}

/// Submit a request.
///
/// `type` says which kind. For a certificate, the names and key are read from the CSR and checked
/// against the CA's policy; for access, the safe's rules apply (who may ask, the reason, the
/// window, a ticket). Each refusal names the field, name or key at fault. The request then waits
/// for its confirmations.
#[utoipa::path(
    tag = "my requests",
    request_body(content = SubmitRequest, examples(
        ("certificate" = (
            summary = "A certificate for build.example.com",
            description = "A real CSR (ECDSA P-256) for a name the default CA policy accepts",
            value = json!(certificate_request_example()),
        )),
        ("access" = (
            summary = "One-time access to account 1",
            description = "For the first account an administrator adds to a safe the caller may request in",
            value = json!(access_request_example()),
        )),
    )),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The request, pending", body = RequestDetail),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 503, response = ServiceUnavailable),
    )
)]
#[post("/myrequests")]
pub async fn submit_request(
    state: web::Data<AppState>,
    auth: Authenticated,
    body: ApiJson<serde_json::Value>,
) -> Result<HttpResponse, AppError> {
    let request = SubmitRequest::parse(body.0)?.into_new_request();
    let detail = state
        .run(move |ctx| requests::submit(ctx, &auth.0, request))
        .await?;
    state.metrics.request_submitted(detail.summary.request_type);
    Ok(HttpResponse::Created().json(detail))
}

/// Show the dashboard.
///
/// The My Requests dashboard: the caller's requests (newest first) and certificates, each
/// paginated on its own, with their totals.
#[utoipa::path(
    tag = "my requests",
    params(DashboardQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The dashboard", body = Dashboard),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 503, response = ServiceUnavailable),
    )
)]
#[get("/myrequests")]
pub async fn get_dashboard(
    state: web::Data<AppState>,
    auth: Authenticated,
    query: ApiQuery<DashboardQuery>,
) -> Result<HttpResponse, AppError> {
    let query = query.0;
    let requests_page = PageRequest::named(
        query.requests_page,
        query.per_page,
        "requests_page",
        "per_page",
    )
    .map_err(AppError::Validation)?;
    let certificates_page = PageRequest::named(
        query.certificates_page,
        query.per_page,
        "certificates_page",
        "per_page",
    )
    .map_err(AppError::Validation)?;
    let list = RequestListQuery {
        status: query.status,
        request_type: query.request_type,
        page: requests_page,
    };
    let dashboard = state
        .run(move |ctx| requests::dashboard(ctx, &auth.0, list, certificates_page))
        .await?;
    Ok(HttpResponse::Ok().json(dashboard))
}

/// Show the statistics.
///
/// Counts of the caller's requests by status, their active certificates, and their activity of
/// the last 30 days (10 requests and 10 certificates at most, newest first).
#[utoipa::path(
    tag = "my requests",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The statistics", body = RequestStats),
        (status = 401, response = Unauthorized),
        (status = 503, response = ServiceUnavailable),
    )
)]
#[get("/myrequests/stats")]
pub async fn get_request_stats(
    state: web::Data<AppState>,
    auth: Authenticated,
) -> Result<HttpResponse, AppError> {
    let stats = state.run(move |ctx| requests::stats(ctx, &auth.0)).await?;
    Ok(HttpResponse::Ok().json(stats))
}

/// Show one of the caller's requests.
///
/// The request in full: CSR, names, decisions and the event trail. Anyone else's id answers 404.
#[utoipa::path(
    tag = "my requests",
    params(RequestPath),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The request", body = RequestDetail),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 503, response = ServiceUnavailable),
    )
)]
#[get("/myrequests/{id}")]
pub async fn get_my_request(
    state: web::Data<AppState>,
    auth: Authenticated,
    path: web::Path<RequestPath>,
) -> Result<HttpResponse, AppError> {
    let id = path.id;
    let detail = state
        .run(move |ctx| requests::show_mine(ctx, &auth.0, id))
        .await?;
    Ok(HttpResponse::Ok().json(detail))
}

/// Cancel a request.
///
/// One of the caller's pending requests becomes `rejected` with the reason
/// `Cancelled by requester`. Not pending: 409 `request_not_pending`, and nothing changes.
#[utoipa::path(
    tag = "my requests",
    params(RequestPath),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The cancelled request", body = RequestDetail),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 503, response = ServiceUnavailable),
    )
)]
#[post("/myrequests/{id}/cancel")]
pub async fn cancel_request(
    state: web::Data<AppState>,
    auth: Authenticated,
    path: web::Path<RequestPath>,
) -> Result<HttpResponse, AppError> {
    let id = path.id;
    let detail = state
        .run(move |ctx| requests::cancel(ctx, &auth.0, id))
        .await?;
    Ok(HttpResponse::Ok().json(detail))
}

/// Use an access request, and retrieve the account's secret.
///
/// An approved access request, inside its window, answers how to reach the account (address,
/// user name, safe, name) and records the use: a `used` event naming the caller's address, and
/// the account's last-used date. When the request's operation type allows retrieval
/// (`get_password`, `all`) and the account holds a secret, the answer also carries `secret` and
/// `secret_type`; a connect-only request (`open`, `get_file`), or an account with no secret,
/// answers without them (omitted, never null). Only the requester uses a request; another
/// user's is 404. A one-time request is spent by its first use: of concurrent uses exactly one
/// succeeds. The answer is `Cache-Control: no-store`. Not usable: 403 with a code saying why; a
/// certificate request: 409 `not_an_access_request`.
#[utoipa::path(
    tag = "my requests",
    params(RequestPath),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "How to reach the account, with its secret when the operation type allows it", body = AccessGrant,
            headers(("Cache-Control" = String, description = "`no-store`"))),
        (status = 401, response = Unauthorized),
        (status = 403, response = AccessRefused),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 503, response = ServiceUnavailable),
    )
)]
#[post("/myrequests/{id}/use")]
pub async fn use_request(
    state: web::Data<AppState>,
    auth: Authenticated,
    path: web::Path<RequestPath>,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let id = path.id;
    let address = client_address(&req);
    let body = state
        .run(move |ctx| {
            let origin = UseOrigin {
                address: address.as_deref(),
                reason: None,
            };
            let grant = requests::use_access(ctx, &auth.0, id, origin)?;
            // The body is built here and the grant dropped with it: the plaintext is wiped.
            serde_json::to_vec(&grant).map_err(|e| AppError::Internal(e.to_string()))
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(caching::NO_STORE)
        .content_type(ContentType::json())
        .body(body))
}
