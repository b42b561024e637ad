//! [`CertificateAuthority`]: the CA certificate and signing key — generating
//! a new CA, loading one from PEM, and persisting it in a directory
//! (`ca.pem` + `ca-key.pem`, the key created with mode 0600).

use std::fmt;
use std::fs::{self, DirBuilder, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;

use chrono::{DateTime, Duration, Utc};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyIdMethod,
    KeyPair, KeyUsagePurpose, SerialNumber,
};
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::ParsedExtension;
use x509_parser::prelude::FromDer;

use super::cert_info::encode_certificate_pem;
use super::convert::{from_asn1, to_offset, whole_seconds};
use super::error::{PkiError, Result, ValidationError};
use super::policy::CaPolicy;
use super::serial::random_serial;

/// File name of the CA certificate inside the CA directory.
pub const CA_CERT_FILE: &str = "ca.pem";
/// File name of the CA private key inside the CA directory.
pub const CA_KEY_FILE: &str = "ca-key.pem";
/// CN used by [`CertificateAuthority::load_or_generate`] for a new CA.
pub const DEFAULT_CA_COMMON_NAME: &str = "requestdesk CA";
/// Lifetime used by [`CertificateAuthority::load_or_generate`] for a new CA.
pub const DEFAULT_CA_VALIDITY_YEARS: u32 = 10;

const MAX_CA_VALIDITY_YEARS: u32 = 100;

/// A CA able to issue leaf certificates and CRLs.
pub struct CertificateAuthority {
    pub(crate) issuer: Issuer<'static, KeyPair>,
    pub(crate) key_identifier: Option<Vec<u8>>,
    pub(crate) policy: CaPolicy,
    cert_der: Vec<u8>,
    subject: String,
    not_after: DateTime<Utc>,
}

impl fmt::Debug for CertificateAuthority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertificateAuthority")
            .field("subject", &self.subject)
            .field("not_after", &self.not_after)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl CertificateAuthority {
    /// A new self-signed ECDSA P-256 CA: basicConstraints CA:TRUE
    /// (pathlen 0), keyUsage keyCertSign + cRLSign, subject key identifier.
    pub fn generate(common_name: &str, validity_years: u32) -> Result<Self> {
        check_ca_params(common_name, validity_years)?;
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
        let now = whole_seconds(Utc::now());
        let years = i64::from(validity_years);
        let params = ca_params(common_name, now, now + Duration::days(365 * years))?;
        let cert = params.self_signed(&key)?;
        Self::from_parts(cert.der(), key)
    }

    /// Loads a CA from its PEM certificate and PEM (PKCS#8) private key.
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<Self> {
        let block = pem::parse(cert_pem)
            .map_err(|e| PkiError::InvalidCa(format!("CA certificate is not PEM: {e}")))?;
        if block.tag() != "CERTIFICATE" {
            return Err(PkiError::InvalidCa(format!(
                "expected a PEM \"CERTIFICATE\" block, found \"{}\"",
                block.tag()
            )));
        }
        let key = KeyPair::from_pem(key_pem)
            .map_err(|e| PkiError::InvalidCa(format!("CA key is unusable: {e}")))?;
        Self::from_parts(block.contents(), key)
    }

    /// Loads `dir/ca.pem` + `dir/ca-key.pem`, or, when neither exists,
    /// generates a CA ([`DEFAULT_CA_COMMON_NAME`], [`DEFAULT_CA_VALIDITY_YEARS`])
    /// and writes them (directory 0700, key 0600, never overwriting).
    pub fn load_or_generate(dir: &Path) -> Result<Self> {
        Self::load_or_generate_with(dir, DEFAULT_CA_COMMON_NAME, DEFAULT_CA_VALIDITY_YEARS)
    }

    /// [`Self::load_or_generate`] with an explicit CN and lifetime for a new CA.
    pub fn load_or_generate_with(
        dir: &Path,
        common_name: &str,
        validity_years: u32,
    ) -> Result<Self> {
        let cert_path = dir.join(CA_CERT_FILE);
        let key_path = dir.join(CA_KEY_FILE);
        let cert_exists = exists(&cert_path)?;
        let key_exists = exists(&key_path)?;
        match (cert_exists, key_exists) {
            (true, true) => Self::from_pem(&read(&cert_path)?, &read(&key_path)?),
            (false, false) => Self::create_in(dir, common_name, validity_years),
            _ => Err(PkiError::InvalidCa(format!(
                "only one of {} and {} exists: restore the missing file or remove both",
                cert_path.display(),
                key_path.display()
            ))),
        }
    }

    fn create_in(dir: &Path, common_name: &str, validity_years: u32) -> Result<Self> {
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| PkiError::io(dir, e))?;
        let ca = Self::generate(common_name, validity_years)?;
        let key_path = dir.join(CA_KEY_FILE);
        write_new_file(&key_path, &ca.key_pem(), 0o600)?;
        if let Err(e) = write_new_file(&dir.join(CA_CERT_FILE), &ca.cert_pem(), 0o644) {
            let _ = fs::remove_file(&key_path);
            return Err(e);
        }
        Ok(ca)
    }

    /// Replaces the issuance policy (default: [`CaPolicy::default`]).
    pub fn with_policy(mut self, policy: CaPolicy) -> Self {
        self.policy = policy;
        self
    }

    pub fn policy(&self) -> &CaPolicy {
        &self.policy
    }

    /// The CA certificate as PEM.
    pub fn cert_pem(&self) -> String {
        encode_certificate_pem(&self.cert_der)
    }

    /// The CA private key as PKCS#8 PEM. Secret: store it with mode 0600.
    pub fn key_pem(&self) -> String {
        self.issuer.key().serialize_pem()
    }

    pub fn cert_der(&self) -> &[u8] {
        &self.cert_der
    }

    pub fn not_after(&self) -> DateTime<Utc> {
        self.not_after
    }

    /// The CA subject DN, e.g. `CN=requestdesk CA`.
    pub fn subject(&self) -> String {
        self.subject.clone()
    }

    fn from_parts(cert_der: &[u8], key: KeyPair) -> Result<Self> {
        let cert = parse_ca_certificate(cert_der)?;
        check_key_matches(&cert, &key)?;
        let not_after = from_asn1(&cert.validity().not_after)
            .ok_or_else(|| PkiError::InvalidCa("CA expiry is out of range".into()))?;
        let subject = cert.subject().to_string();
        let key_identifier = subject_key_identifier(&cert);
        let issuer = Issuer::from_ca_cert_pem(&encode_certificate_pem(cert_der), key)?;
        Ok(Self {
            issuer,
            key_identifier,
            policy: CaPolicy::default(),
            cert_der: cert_der.to_vec(),
            subject,
            not_after,
        })
    }

    /// How CRLs identify this CA's key: the CA certificate's own SKI.
    pub(crate) fn key_identifier_method(&self) -> KeyIdMethod {
        match &self.key_identifier {
            Some(ski) => KeyIdMethod::PreSpecified(ski.clone()),
            None => KeyIdMethod::Sha256,
        }
    }
}

fn check_ca_params(common_name: &str, validity_years: u32) -> Result<()> {
    if common_name.trim().is_empty() || common_name.chars().count() > 64 {
        return Err(ValidationError::new(
            "common_name",
            format!("CA CN \"{common_name}\" must be 1 to 64 characters long"),
        )
        .into());
    }
    if !(1..=MAX_CA_VALIDITY_YEARS).contains(&validity_years) {
        return Err(ValidationError::new(
            "validity_years",
            format!(
                "a CA validity of {validity_years} years is not allowed: \
                 it must be between 1 and {MAX_CA_VALIDITY_YEARS}"
            ),
        )
        .into());
    }
    Ok(())
}

fn ca_params(
    common_name: &str,
    not_before: DateTime<Utc>,
    not_after: DateTime<Utc>,
) -> Result<CertificateParams> {
    let mut distinguished_name = DistinguishedName::new();
    distinguished_name.push(DnType::CommonName, common_name);
    let mut params = CertificateParams::default();
    params.distinguished_name = distinguished_name;
    params.not_before = to_offset(not_before)?;
    params.not_after = to_offset(not_after)?;
    params.serial_number = Some(SerialNumber::from_slice(&random_serial()));
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    Ok(params)
}

fn parse_ca_certificate(der: &[u8]) -> Result<X509Certificate<'_>> {
    let (rest, cert) = X509Certificate::from_der(der)
        .map_err(|e| PkiError::InvalidCa(format!("CA certificate is not valid DER: {e}")))?;
    if !rest.is_empty() {
        return Err(PkiError::InvalidCa(
            "CA certificate has trailing data".into(),
        ));
    }
    if !cert.is_ca() {
        return Err(PkiError::InvalidCa(
            "the certificate is not a CA (basicConstraints CA:TRUE is missing)".into(),
        ));
    }
    // A CA whose key usage leaves out certificate or CRL signing: nothing it signs would chain
    // or be accepted, and rcgen refuses to sign its CRL (every `GET /ca/crl` a 500).
    let usage = cert
        .key_usage()
        .map_err(|e| PkiError::InvalidCa(format!("CA keyUsage does not parse: {e}")))?;
    if let Some(usage) = usage
        && !(usage.value.key_cert_sign() && usage.value.crl_sign())
    {
        return Err(PkiError::InvalidCa(
            "the CA's keyUsage must include keyCertSign and cRLSign".into(),
        ));
    }
    // rcgen's DN conversion panics on an empty RDN and rejects multi-valued ones.
    if cert.subject().iter().any(|rdn| rdn.iter().count() != 1) {
        return Err(PkiError::InvalidCa(
            "the CA subject must have exactly one attribute per RDN".into(),
        ));
    }
    // rcgen keeps one value per attribute type when it writes the issuer of what it signs:
    // `DC=com, DC=example, CN=Root` would come out as `DC=example, CN=Root`, a name no CA has,
    // so nothing it signs would chain.
    if let Some(repeated) = repeated_attribute_type(&cert) {
        return Err(PkiError::InvalidCa(format!(
            "the CA subject names the attribute {repeated} more than once, which this CA \
             cannot write as the issuer of what it signs"
        )));
    }
    Ok(cert)
}

/// The first attribute type (its OID, dotted) the certificate's subject holds twice.
fn repeated_attribute_type(cert: &X509Certificate<'_>) -> Option<String> {
    let mut seen = Vec::new();
    for attribute in cert.subject().iter_attributes() {
        let oid = attribute.attr_type().to_id_string();
        if seen.contains(&oid) {
            return Some(oid);
        }
        seen.push(oid);
    }
    None
}

fn check_key_matches(cert: &X509Certificate<'_>, key: &KeyPair) -> Result<()> {
    use rcgen::PublicKeyData;
    if key.subject_public_key_info() == cert.public_key().raw {
        return Ok(());
    }
    Err(PkiError::InvalidCa(
        "the CA key does not match the CA certificate".into(),
    ))
}

fn subject_key_identifier(cert: &X509Certificate<'_>) -> Option<Vec<u8>> {
    cert.iter_extensions()
        .find_map(|ext| match ext.parsed_extension() {
            ParsedExtension::SubjectKeyIdentifier(ski) => Some(ski.0.to_vec()),
            _ => None,
        })
}

fn exists(path: &Path) -> Result<bool> {
    path.try_exists().map_err(|e| PkiError::io(path, e))
}

fn read(path: &Path) -> Result<String> {
    fs::read_to_string(path).map_err(|e| PkiError::io(path, e))
}

/// Creates `path` (failing if it exists) with `mode`, writes and syncs it.
fn write_new_file(path: &Path, contents: &str, mode: u32) -> Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(|e| PkiError::io(path, e))?;
    file.write_all(contents.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| PkiError::io(path, e))
}
