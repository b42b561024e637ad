//! Reading certificates: [`CertificateInfo`] (the facts the service stores
//! about a certificate) from DER, and [`parse_certificate_pem`] for users
//! registering certificates they already hold.

use chrono::{DateTime, Utc};
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::FromDer;

use super::error::ValidationError;
use super::keys::{KeyKind, sha256_hex};
use super::names::ip_from_san_bytes;
use super::serial::serial_to_hex;

/// Largest accepted certificate PEM, in bytes.
const MAX_CERT_PEM_LEN: usize = 64 * 1024;

/// Facts about one certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateInfo {
    /// PEM (label `CERTIFICATE`, LF line ends).
    pub pem: String,
    pub der: Vec<u8>,
    /// Canonical serial hex, see [`crate::pki::serial_to_hex`].
    pub serial_hex: String,
    /// Lowercase hex SHA-256 of the certificate DER.
    pub fingerprint_sha256: String,
    pub not_before: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
    pub common_name: Option<String>,
    /// DNS names as written, IP addresses as strings; other SAN types are omitted.
    pub subject_alt_names: Vec<String>,
    /// Subject DN, e.g. `CN=www.example.com`.
    pub subject: String,
    /// Issuer DN, e.g. `CN=requestdesk CA`.
    pub issuer: String,
    /// `RSA-2048`, `ECDSA-P256`, ... (any key type, no policy applied).
    pub key_algorithm: String,
    /// Lowercase hex SHA-256 of the SubjectPublicKeyInfo DER (same as
    /// [`crate::pki::ParsedCsr::public_key_fingerprint`] for the same key).
    pub public_key_fingerprint: String,
}

/// A certificate issued by [`crate::pki::CertificateAuthority::issue`].
pub type IssuedCertificate = CertificateInfo;

fn pem_error(message: impl Into<String>) -> ValidationError {
    ValidationError::new("pem", message)
}

/// Parses a PEM certificate (the first `CERTIFICATE` block); any failure is
/// a [`ValidationError`] on field `"pem"`. The signature is not checked.
pub fn parse_certificate_pem(pem: &str) -> Result<CertificateInfo, ValidationError> {
    if pem.len() > MAX_CERT_PEM_LEN {
        return Err(pem_error(format!(
            "the certificate is too large: at most {MAX_CERT_PEM_LEN} bytes"
        )));
    }
    let block = pem::parse(pem).map_err(|e| pem_error(format!("not a PEM certificate: {e}")))?;
    if block.tag() != "CERTIFICATE" {
        return Err(pem_error(format!(
            "expected a PEM \"CERTIFICATE\" block, found \"{}\"",
            block.tag()
        )));
    }
    certificate_info_from_der(block.contents())
}

/// Parses a DER certificate (error field `"pem"`).
pub fn certificate_info_from_der(der: &[u8]) -> Result<CertificateInfo, ValidationError> {
    let (rest, cert) = X509Certificate::from_der(der)
        .map_err(|e| pem_error(format!("the certificate is not valid DER: {e}")))?;
    if !rest.is_empty() {
        return Err(pem_error(
            "the certificate has trailing data after its DER structure",
        ));
    }
    let validity = cert.validity();
    let not_before = super::convert::from_asn1(&validity.not_before);
    let not_after = super::convert::from_asn1(&validity.not_after);
    let (Some(not_before), Some(not_after)) = (not_before, not_after) else {
        return Err(pem_error("the certificate validity dates are out of range"));
    };
    let spki = cert.public_key();
    let info = CertificateInfo {
        pem: encode_certificate_pem(der),
        der: der.to_vec(),
        serial_hex: serial_to_hex(cert.raw_serial()),
        fingerprint_sha256: sha256_hex(der),
        not_before,
        not_after,
        common_name: first_common_name(&cert),
        subject_alt_names: subject_alt_names(&cert)?,
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        key_algorithm: KeyKind::identify(spki).label(),
        public_key_fingerprint: sha256_hex(spki.raw),
    };
    refuse_nul_in_names(&info)?;
    Ok(info)
}

/// A NUL inside a name (ASN.1 strings may hold one) is stored by no text column of PostgreSQL's,
/// and shows nowhere as what it is.
fn refuse_nul_in_names(info: &CertificateInfo) -> Result<(), ValidationError> {
    let names = [&info.subject, &info.issuer]
        .into_iter()
        .chain(info.common_name.as_ref())
        .chain(&info.subject_alt_names);
    for name in names {
        if name.contains('\0') {
            return Err(pem_error("the certificate's names contain a NUL character"));
        }
    }
    Ok(())
}

pub(crate) fn encode_certificate_pem(der: &[u8]) -> String {
    let block = pem::Pem::new("CERTIFICATE", der);
    pem::encode_config(
        &block,
        pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
    )
}

fn first_common_name(cert: &X509Certificate<'_>) -> Option<String> {
    cert.subject()
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .map(str::to_string)
}

fn subject_alt_names(cert: &X509Certificate<'_>) -> Result<Vec<String>, ValidationError> {
    let extension = cert
        .subject_alternative_name()
        .map_err(|e| pem_error(format!("the subjectAltName extension is invalid: {e}")))?;
    let Some(extension) = extension else {
        return Ok(Vec::new());
    };
    Ok(extension
        .value
        .general_names
        .iter()
        .filter_map(general_name_text)
        .collect())
}

fn general_name_text(name: &GeneralName<'_>) -> Option<String> {
    match name {
        GeneralName::DNSName(dns) => Some((*dns).to_string()),
        GeneralName::IPAddress(bytes) => ip_from_san_bytes(bytes).map(|ip| ip.to_string()),
        _ => None,
    }
}
