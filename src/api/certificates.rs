//! `/api/v3/certificates` and `/api/v3/ca`: the caller's certificates, downloads, imports and
//! revocations, and the CA's public certificate and revocation list.

use actix_web::http::header;
use actix_web::{HttpResponse, get, post, web};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::AppState;
use super::extract::{ApiJson, ApiQuery, Authenticated};
use super::problem::{
    BadRequest, Conflict, Forbidden, NotFound, PayloadTooLarge, ServiceUnavailable, Unauthorized,
    UnsupportedMediaType,
};
use crate::domain::certificate::{Certificate, CertificateStatus};
use crate::domain::pagination::{Page, PageRequest};
use crate::error::AppError;
use crate::pki::RevocationReason;
use crate::service::certificates::{self, CertificateListQuery, Encoding};

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CertificateListParams {
    /// Administrators only: the owner's username.
    pub owner: Option<String>,
    pub status: Option<CertificateStatus>,
    /// Only certificates still valid that expire within this many days.
    #[param(minimum = 0, maximum = 3650)]
    pub expires_within_days: Option<u32>,
    #[param(minimum = 1, maximum = 1000000)]
    pub page: Option<i64>,
    #[param(minimum = 1, maximum = 100)]
    pub per_page: Option<i64>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct CertificatePath {
    /// The certificate's id.
    pub id: i64,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DownloadParams {
    /// `pem` (default): the certificate followed by the CA certificate; `der`: the certificate
    /// alone.
    #[param(inline)]
    pub format: Option<DownloadFormat>,
}

#[derive(Deserialize, ToSchema, Clone, Copy)]
#[serde(rename_all = "snake_case")]
pub enum DownloadFormat {
    Pem,
    Der,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportCertificate {
    /// A PEM-encoded X.509 certificate.
    #[schema(example = "-----BEGIN CERTIFICATE-----\nMIIB...\n-----END CERTIFICATE-----\n")]
    pub pem: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevokeCertificate {
    /// `key_compromise` also refuses the key in every later request.
    pub reason: RevocationReasonName,
}

/// Why a certificate is revoked.
#[derive(Deserialize, ToSchema, Clone, Copy)]
#[serde(rename_all = "snake_case")]
pub enum RevocationReasonName {
    KeyCompromise,
    Superseded,
    AffiliationChanged,
    CessationOfOperation,
    Unspecified,
}

impl From<RevocationReasonName> for RevocationReason {
    fn from(name: RevocationReasonName) -> Self {
        match name {
            RevocationReasonName::KeyCompromise => Self::KeyCompromise,
            RevocationReasonName::Superseded => Self::Superseded,
            RevocationReasonName::AffiliationChanged => Self::AffiliationChanged,
            RevocationReasonName::CessationOfOperation => Self::CessationOfOperation,
            RevocationReasonName::Unspecified => Self::Unspecified,
        }
    }
}

/// The caller's certificates (administrators: anyone's, with `owner`), newest first.
#[utoipa::path(
    tag = "certificates",
    params(CertificateListParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of certificates", body = Page<Certificate>),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 503, response = ServiceUnavailable),
    )
)]
#[get("/certificates")]
pub async fn list_certificates(
    state: web::Data<AppState>,
    auth: Authenticated,
    query: ApiQuery<CertificateListParams>,
) -> Result<HttpResponse, AppError> {
    let params = query.0;
    let query = CertificateListQuery {
        owner: params.owner,
        status: params.status,
        expires_within_days: params.expires_within_days,
        page: PageRequest::new(params.page, params.per_page).map_err(AppError::Validation)?,
    };
    if query.expires_within_days.is_some_and(|days| days > 3650) {
        return Err(AppError::validation(
            "expires_within_days",
            "must be between 0 and 3650",
        ));
    }
    let page = state
        .run(move |ctx| certificates::list(ctx, &auth.0, query))
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Register a certificate the caller already holds, so it shows on their dashboard and in their
/// statistics.
#[utoipa::path(
    tag = "certificates",
    request_body = ImportCertificate,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The registered certificate", body = Certificate),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 503, response = ServiceUnavailable),
    )
)]
#[post("/certificates")]
pub async fn import_certificate(
    state: web::Data<AppState>,
    auth: Authenticated,
    body: ApiJson<ImportCertificate>,
) -> Result<HttpResponse, AppError> {
    let pem = body.0.pem;
    let certificate = state
        .run(move |ctx| certificates::import(ctx, &auth.0, &pem))
        .await?;
    Ok(HttpResponse::Created().json(certificate))
}

/// One certificate: the caller's own (administrators: anyone's).
#[utoipa::path(
    tag = "certificates",
    params(CertificatePath),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The certificate", body = Certificate),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 503, response = ServiceUnavailable),
    )
)]
#[get("/certificates/{id}")]
pub async fn get_certificate(
    state: web::Data<AppState>,
    auth: Authenticated,
    path: web::Path<CertificatePath>,
) -> Result<HttpResponse, AppError> {
    let id = path.id;
    let certificate = state
        .run(move |ctx| certificates::show(ctx, &auth.0, id))
        .await?;
    Ok(HttpResponse::Ok().json(certificate))
}

/// Download a certificate: PEM with the CA certificate after it, or `?format=der` for the
/// certificate alone in DER.
#[utoipa::path(
    tag = "certificates",
    params(CertificatePath, DownloadParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The certificate", content(
            (String = "application/x-pem-file"),
            (Vec<u8> = "application/pkix-cert"),
        )),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 503, response = ServiceUnavailable),
    )
)]
#[get("/certificates/{id}/pem")]
pub async fn download_certificate(
    state: web::Data<AppState>,
    auth: Authenticated,
    path: web::Path<CertificatePath>,
    query: ApiQuery<DownloadParams>,
) -> Result<HttpResponse, AppError> {
    let id = path.id;
    let (encoding, content_type) = match query.0.format.unwrap_or(DownloadFormat::Pem) {
        DownloadFormat::Pem => (Encoding::Pem, "application/x-pem-file"),
        DownloadFormat::Der => (Encoding::Der, "application/pkix-cert"),
    };
    let bytes = state
        .run(move |ctx| certificates::download(ctx, &auth.0, id, encoding))
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, content_type))
        .body(bytes))
}

/// Revoke a certificate: its owner or an administrator. A second revocation is 409.
#[utoipa::path(
    tag = "certificates",
    params(CertificatePath),
    request_body = RevokeCertificate,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The revoked certificate", body = Certificate),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 503, response = ServiceUnavailable),
    )
)]
#[post("/certificates/{id}/revoke")]
pub async fn revoke_certificate(
    state: web::Data<AppState>,
    auth: Authenticated,
    path: web::Path<CertificatePath>,
    body: ApiJson<RevokeCertificate>,
) -> Result<HttpResponse, AppError> {
    let id = path.id;
    let reason = RevocationReason::from(body.0.reason);
    let certificate = state
        .run(move |ctx| certificates::revoke(ctx, &auth.0, id, reason))
        .await?;
    Ok(HttpResponse::Ok().json(certificate))
}

/// The CA certificate, in PEM. Public.
#[utoipa::path(
    tag = "ca",
    responses((status = 200, description = "The CA certificate", content_type = "application/x-pem-file", body = String))
)]
#[get("/ca/certificate")]
pub async fn get_ca_certificate(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "application/x-pem-file"))
        .body(certificates::ca_certificate(&state.ctx))
}

/// A current certificate revocation list in DER, signed by the CA, listing every revoked serial
/// it issued with its reason. Public.
#[utoipa::path(
    tag = "ca",
    responses(
        (status = 200, description = "The CRL", content_type = "application/pkix-crl", body = Vec<u8>),
        (status = 503, response = ServiceUnavailable),
    )
)]
#[get("/ca/crl")]
pub async fn get_ca_crl(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let der = state.run(certificates::crl).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "application/pkix-crl"))
        .body(der))
}
