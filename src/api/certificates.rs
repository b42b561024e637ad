//! `/api/v3/certificates` and `/api/v3/ca`: the caller's certificates, downloads, imports and
//! revocations, and the CA's public certificate and revocation list.

use actix_web::http::header::{Accept, Header, Quality};
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::AppState;
use super::caching::{self, Tagged};
use super::extract::{ApiJson, ApiQuery, Authenticated};
use super::problem::{
    BadRequest, Conflict, Forbidden, MalformedRequest, NotFound, PayloadTooLarge,
    ServiceUnavailable, Unauthorized, UnsupportedMediaType,
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

const PEM_FILE: &str = "application/x-pem-file";
const PKIX_CERT: &str = "application/pkix-cert";
const PKIX_CRL: &str = "application/pkix-crl";

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DownloadParams {
    /// `pem`: the certificate followed by the CA certificate; `der`: the certificate alone.
    /// Without it, `Accept` decides (PEM unless `application/pkix-cert` is preferred).
    #[param(inline)]
    pub format: Option<DownloadFormat>,
}

#[derive(Deserialize, ToSchema, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "snake_case")]
pub enum DownloadFormat {
    Pem,
    Der,
}

impl DownloadFormat {
    /// The format `Accept` prefers: DER when it ranks `application/pkix-cert` above
    /// `application/x-pem-file` (or names only the former), PEM otherwise, for `*/*` and for an
    /// `Accept` that cannot be read.
    fn preferred_by(req: &HttpRequest) -> Self {
        let Ok(accept) = Accept::parse(req) else {
            return Self::Pem;
        };
        let quality = |media_type: &str| {
            accept
                .iter()
                .filter(|item| item.item.essence_str() == media_type)
                .map(|item| item.quality)
                .max()
        };
        match (quality(PKIX_CERT), quality(PEM_FILE)) {
            (Some(der), pem) if der > Quality::ZERO && pem.is_none_or(|pem| der > pem) => Self::Der,
            _ => Self::Pem,
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Self::Pem => PEM_FILE,
            Self::Der => PKIX_CERT,
        }
    }
}

/// Raw bytes in the media type's own encoding, such as DER: documented as a binary string so
/// generated clients hand them over as a file, byte for byte.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct Binary(#[expect(dead_code, reason = "exists only to document the body")] Vec<u8>);

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

/// List certificates.
///
/// The caller's certificates, issued or imported, newest first; administrators see anyone's and
/// may filter by `owner`. `expires_within_days` keeps the valid ones that expire soon.
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

/// Import a certificate.
///
/// Registers a certificate the caller already holds (from another CA), so it shows on their
/// dashboard and in their statistics. The same certificate twice is 409 `certificate_exists`;
/// one naming this CA as its issuer is 400 on `pem` (the CA's own are registered as issued).
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

/// Show one certificate.
///
/// The caller's own certificate, with its names, key, validity and status; administrators may
/// see anyone's. Anyone else's id answers 404.
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

/// Download a certificate.
///
/// PEM (`application/x-pem-file`): the certificate with the CA certificate after it; DER
/// (`application/pkix-cert`): the certificate alone. `?format=` chooses; without it, `Accept`
/// does (PEM unless `application/pkix-cert` is preferred), and the answer says `Vary: Accept`.
/// Each encoding has its own strong `ETag`: `If-None-Match` answers 304.
#[utoipa::path(
    tag = "certificates",
    params(CertificatePath, DownloadParams),
    security(("bearer" = [])),
    responses(
        // DER first: a generator that reads one media type per answer then reads bytes, which
        // hold PEM as well, where text would corrupt DER.
        (status = 200, description = "The certificate", content(
            (inline(Binary) = "application/pkix-cert"),
            (String = "application/x-pem-file"),
        )),
        (status = 304, description = "Not modified: the `ETag` sent in `If-None-Match` is current"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 503, response = ServiceUnavailable),
    )
)]
#[get("/certificates/{id}/pem")]
pub async fn download_certificate(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: Authenticated,
    path: web::Path<CertificatePath>,
    query: ApiQuery<DownloadParams>,
) -> Result<HttpResponse, AppError> {
    let id = path.id;
    let format = query
        .0
        .format
        .unwrap_or_else(|| DownloadFormat::preferred_by(&req));
    let encoding = match format {
        DownloadFormat::Pem => Encoding::Pem,
        DownloadFormat::Der => Encoding::Der,
    };
    let bytes = state
        .run(move |ctx| certificates::download(ctx, &auth.0, id, encoding))
        .await?;
    Ok(Tagged::new(bytes, format.content_type(), caching::PRIVATE)
        .vary_on_accept()
        .respond_to(&req))
}

/// Revoke a certificate.
///
/// Its owner or an administrator revokes it with a reason; the serial is on the next CRL. A
/// second revocation is 409 `already_revoked`; `key_compromise` also refuses the key in every
/// later request.
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

/// Download the CA certificate.
///
/// The certificate authority's own certificate in PEM, to trust the certificates it issues.
/// Public. It has a strong `ETag`: `If-None-Match` answers 304.
#[utoipa::path(
    tag = "ca",
    security(),
    responses(
        (status = 200, description = "The CA certificate", content_type = "application/x-pem-file", body = String),
        (status = 304, description = "Not modified: the `ETag` sent in `If-None-Match` is current"),
        (status = "4XX", response = MalformedRequest),
    )
)]
#[get("/ca/certificate")]
pub async fn get_ca_certificate(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let pem = certificates::ca_certificate(&state.ctx);
    Tagged::new(pem, PEM_FILE, caching::PUBLIC).respond_to(&req)
}

/// Download the CRL.
///
/// A current certificate revocation list in DER, signed by the CA, listing every revoked serial
/// it issued with its reason. Public. Its strong `ETag` is its CRL number, which changes with each
/// revocation and each day (UTC): `If-None-Match` answers 304.
#[utoipa::path(
    tag = "ca",
    security(),
    responses(
        (status = 200, description = "The CRL", content_type = "application/pkix-crl", body = inline(Binary)),
        (status = 304, description = "Not modified: the `ETag` sent in `If-None-Match` is current"),
        (status = "4XX", response = MalformedRequest),
        (status = 503, response = ServiceUnavailable),
    )
)]
#[get("/ca/crl")]
pub async fn get_ca_crl(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let crl = state.run(|ctx| certificates::crl(ctx)).await?;
    let etag = format!("crl-{}", crl.number);
    Ok(Tagged::with_etag(crl.der, &etag, PKIX_CRL, caching::PUBLIC).respond_to(&req))
}
