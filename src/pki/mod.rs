//! Certificate authority for requestdesk: CSR validation against a
//! [`CaPolicy`], certificate issuance, import of existing certificates, and
//! CRL generation. Knows nothing of HTTP or databases.
//!
//! Times at the boundary are `chrono::DateTime<Utc>`; input problems are
//! [`ValidationError`]s carrying the offending field name.

mod ca;
mod cert_info;
mod convert;
mod crl;
mod csr;
mod error;
mod issue;
mod keys;
mod names;
mod policy;
mod serial;

#[cfg(test)]
mod tests;

pub use ca::{
    CA_CERT_FILE, CA_KEY_FILE, CertificateAuthority, DEFAULT_CA_COMMON_NAME,
    DEFAULT_CA_VALIDITY_YEARS,
};
pub use cert_info::{
    CertificateInfo, IssuedCertificate, certificate_info_from_der, parse_certificate_pem,
};
pub use crl::{CRL_VALIDITY_DAYS, RevocationReason, RevokedEntry, crl_issue};
pub use csr::{ParsedCsr, parse_csr, recheck_accepted_csr};
pub use error::{CsrError, PkiError, Result, ValidationError};
pub use policy::CaPolicy;
pub use serial::{serial_from_hex, serial_to_hex};
