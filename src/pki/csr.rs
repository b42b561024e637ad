//! CSR intake: [`parse_csr`] decodes a PEM certificate signing request,
//! verifies its self-signature, and applies [`CaPolicy`] to its key and
//! names, producing a [`ParsedCsr`] that is safe to issue from.

use x509_parser::certification_request::X509CertificationRequest;
use x509_parser::cri_attributes::ParsedCriAttribute;
use x509_parser::error::X509Error;
use x509_parser::extensions::{ParsedExtension, X509Extension};
use x509_parser::prelude::FromDer;

use super::error::{CsrError, ValidationError};
use super::keys::{KeyKind, check_rsa_exponent, requester_key, sha256_hex};
use super::names::{self, CommonNameKind, SubjectName};
use super::policy::CaPolicy;

/// Largest accepted CSR PEM, in bytes.
const MAX_CSR_PEM_LEN: usize = 64 * 1024;
/// Longest common name X.520 allows (ub-common-name).
const MAX_COMMON_NAME_LEN: usize = 64;
/// Most names one certificate may carry.
const MAX_NAMES: usize = 100;
const OID_SUBJECT_ALT_NAME: &str = "2.5.29.17";

/// A CSR that passed [`parse_csr`] (or, stored after passing it, [`recheck_accepted_csr`]).
/// Only these two can build one.
///
/// The public fields are for display and storage; issuance uses private
/// copies of the validated CN, names and key, so editing the public fields
/// cannot change what gets certified.
#[derive(Debug, Clone)]
pub struct ParsedCsr {
    /// The subject CN, lowercased when it is a DNS name.
    pub common_name: Option<String>,
    /// Validated names, deduplicated, in request order (CN first): DNS names
    /// lowercased, IP addresses in their standard string form.
    pub subject_alt_names: Vec<String>,
    /// `RSA-2048`, `ECDSA-P256`, `ECDSA-P384` or `Ed25519`.
    pub key_algorithm: String,
    /// Lowercase hex SHA-256 of the SubjectPublicKeyInfo DER.
    pub public_key_fingerprint: String,
    /// The CSR re-encoded as PEM (label `CERTIFICATE REQUEST`, LF line ends).
    pub csr_pem: String,
    pub(crate) subject_cn: Option<String>,
    pub(crate) names: Vec<SubjectName>,
    pub(crate) key: rcgen::SubjectPublicKeyInfo,
    pub(crate) key_kind: KeyKind,
}

/// Parses, verifies and validates a PEM CSR against `policy`.
///
/// Checks, in order: PEM/DER structure (`csr`), key type and size
/// (`csr.public_key`), self-signature (`csr.signature`), common name
/// (`csr.common_name`) and requested SANs (`csr.subject_alt_names`).
/// Requested extensions other than subjectAltName are ignored: the CA never
/// copies extensions from a CSR.
pub fn parse_csr(pem: &str, policy: &CaPolicy) -> Result<ParsedCsr, CsrError> {
    parse(pem, policy, Signature::Verify)
}

/// Checks again, against `policy` as it is now, a CSR that [`parse_csr`] accepted earlier and
/// whose `csr_pem` was stored: its key and names, as `parse_csr` does. Its self-signature
/// (proof that the requester holds the key) was verified then and the stored bytes are never
/// changed, so it is not verified again; that verification was 5% of each confirmation that
/// issues (issue 13's S9 profile).
pub fn recheck_accepted_csr(pem: &str, policy: &CaPolicy) -> Result<ParsedCsr, CsrError> {
    parse(pem, policy, Signature::VerifiedAtIntake)
}

/// Whether [`parse`] verifies the CSR's self-signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Signature {
    Verify,
    VerifiedAtIntake,
}

fn parse(pem: &str, policy: &CaPolicy, signature: Signature) -> Result<ParsedCsr, CsrError> {
    let der = decode_pem(pem)?;
    let csr = parse_der(&der)?;
    let spki = &csr.certification_request_info.subject_pki;
    let key_kind = KeyKind::identify(spki);
    key_kind.check_policy(policy)?;
    check_rsa_exponent(spki)?;
    let key = requester_key(spki, &key_kind)?;
    if signature == Signature::Verify {
        verify_signature(&csr)?;
    }
    let (common_name, cn_name) = classify_common_name(common_name(&csr)?, policy)?;
    let names = collect_names(&csr, cn_name, policy)?;
    Ok(ParsedCsr {
        subject_cn: common_name.clone(),
        common_name,
        subject_alt_names: names.iter().map(ToString::to_string).collect(),
        key_algorithm: key_kind.label(),
        public_key_fingerprint: sha256_hex(spki.raw),
        csr_pem: encode_pem(&der),
        names,
        key,
        key_kind,
    })
}

fn csr_error(message: impl Into<String>) -> ValidationError {
    ValidationError::new("csr", message)
}

fn decode_pem(pem: &str) -> Result<Vec<u8>, ValidationError> {
    if pem.len() > MAX_CSR_PEM_LEN {
        return Err(csr_error(format!(
            "the CSR is too large: at most {MAX_CSR_PEM_LEN} bytes"
        )));
    }
    let block = pem::parse(pem)
        .map_err(|e| csr_error(format!("not a PEM certificate signing request: {e}")))?;
    match block.tag() {
        "CERTIFICATE REQUEST" | "NEW CERTIFICATE REQUEST" => Ok(block.into_contents()),
        other => Err(csr_error(format!(
            "expected a PEM \"CERTIFICATE REQUEST\" block, found \"{other}\""
        ))),
    }
}

fn parse_der(der: &[u8]) -> Result<X509CertificationRequest<'_>, ValidationError> {
    let (rest, csr) = X509CertificationRequest::from_der(der)
        .map_err(|e| csr_error(format!("the CSR is not valid DER: {e}")))?;
    if !rest.is_empty() {
        return Err(csr_error(
            "the CSR has trailing data after its DER structure",
        ));
    }
    Ok(csr)
}

fn encode_pem(der: &[u8]) -> String {
    let block = pem::Pem::new("CERTIFICATE REQUEST", der);
    pem::encode_config(
        &block,
        pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
    )
}

/// Signature algorithms whose hash no longer proves possession of the key: MD2, MD5 and SHA-1
/// with RSA, ECDSA or DSA (x509-parser would verify SHA-1 ones, through ring's legacy mode).
const WEAK_SIGNATURES: &[&str] = &[
    "1.2.840.113549.1.1.2",
    "1.2.840.113549.1.1.4",
    "1.2.840.113549.1.1.5",
    "1.2.840.10045.4.1",
    "1.2.840.10040.4.3",
];

fn verify_signature(csr: &X509CertificationRequest<'_>) -> Result<(), ValidationError> {
    let field = "csr.signature";
    let algorithm = csr.signature_algorithm.algorithm.to_id_string();
    if WEAK_SIGNATURES.contains(&algorithm.as_str()) {
        return Err(ValidationError::new(
            field,
            format!(
                "the CSR is signed with {algorithm}, a hash too weak to prove possession of \
                 the key: sign it with SHA-256 or stronger"
            ),
        ));
    }
    match csr.verify_signature() {
        Ok(()) => Ok(()),
        Err(X509Error::SignatureUnsupportedAlgorithm) => Err(ValidationError::new(
            field,
            format!(
                "the CSR signature algorithm {} is not supported",
                csr.signature_algorithm.algorithm.to_id_string()
            ),
        )),
        Err(_) => Err(ValidationError::new(
            field,
            "the CSR signature does not verify: it was altered or not made with the CSR's key",
        )),
    }
}

fn common_name(csr: &X509CertificationRequest<'_>) -> Result<Option<String>, ValidationError> {
    let field = "csr.common_name";
    let subject = &csr.certification_request_info.subject;
    let mut values = subject.iter_common_name();
    let Some(first) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(ValidationError::new(
            field,
            "the subject has more than one CN",
        ));
    }
    let cn = first
        .as_str()
        .map_err(|_| ValidationError::new(field, "the CN is not a readable string"))?;
    check_common_name_text(cn)?;
    Ok(Some(cn.to_string()))
}

fn check_common_name_text(cn: &str) -> Result<(), ValidationError> {
    let field = "csr.common_name";
    if cn.is_empty() || cn.chars().count() > MAX_COMMON_NAME_LEN {
        return Err(ValidationError::new(
            field,
            format!("CN \"{cn}\" must be 1 to {MAX_COMMON_NAME_LEN} characters long"),
        ));
    }
    if cn.chars().any(char::is_control) {
        return Err(ValidationError::new(
            field,
            format!("CN {cn:?} contains control characters"),
        ));
    }
    // What an approver reads must be what a relying party matches: a name ending in a
    // no-break space is free text to the DNS check (`www.evil.org\u{a0}` escaped the suffix
    // policy), and bidi or zero-width characters show one name and hold another.
    if cn.chars().any(hides_text) || cn.trim() != cn {
        return Err(ValidationError::new(
            field,
            format!(
                "CN {cn:?} has leading or trailing spaces, whitespace other than a space, or \
                 invisible or direction-changing characters"
            ),
        ));
    }
    Ok(())
}

/// Whitespace other than U+0020, and the format characters that change how text shows
/// (soft hyphen, zero-width, bidi controls, word joiners, the BOM, interlinear annotations).
fn hides_text(c: char) -> bool {
    (c.is_whitespace() && c != ' ')
        || matches!(
            c,
            '\u{ad}'
                | '\u{61c}'
                | '\u{180e}'
                | '\u{200b}'..='\u{200f}'
                | '\u{202a}'..='\u{202e}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{206f}'
                | '\u{feff}'
                | '\u{fff9}'..='\u{fffb}'
        )
}

/// The CN to put in the certificate (normalized when it is a name) and the
/// name it contributes, if any.
fn classify_common_name(
    cn: Option<String>,
    policy: &CaPolicy,
) -> Result<(Option<String>, Option<SubjectName>), ValidationError> {
    let Some(cn) = cn else {
        return Ok((None, None));
    };
    match names::classify_common_name(&cn, policy)? {
        CommonNameKind::Name(name) => Ok((Some(name.to_string()), Some(name))),
        CommonNameKind::FreeText => Ok((Some(cn), None)),
    }
}

/// The CN's name (if any) first, then requested SANs; deduplicated.
fn collect_names(
    csr: &X509CertificationRequest<'_>,
    common_name: Option<SubjectName>,
    policy: &CaPolicy,
) -> Result<Vec<SubjectName>, ValidationError> {
    let mut names: Vec<SubjectName> = common_name.into_iter().collect();
    for name in requested_san_names(csr, policy)? {
        if !names.contains(&name) {
            names.push(name);
        }
    }
    check_name_count(names.len())?;
    Ok(names)
}

fn check_name_count(count: usize) -> Result<(), ValidationError> {
    let field = "csr.subject_alt_names";
    if count == 0 {
        return Err(ValidationError::new(
            field,
            "the CSR names no host: put a DNS name in the CN or the subjectAltName extension",
        ));
    }
    if count > MAX_NAMES {
        return Err(ValidationError::new(
            field,
            format!("the CSR requests {count} names: at most {MAX_NAMES} are allowed"),
        ));
    }
    Ok(())
}

/// Validated names from every subjectAltName in every extensionRequest.
fn requested_san_names(
    csr: &X509CertificationRequest<'_>,
    policy: &CaPolicy,
) -> Result<Vec<SubjectName>, ValidationError> {
    let mut names = Vec::new();
    for extension in requested_extensions(csr) {
        if extension.oid.to_id_string() != OID_SUBJECT_ALT_NAME {
            continue;
        }
        let ParsedExtension::SubjectAlternativeName(san) = extension.parsed_extension() else {
            return Err(ValidationError::new(
                "csr.subject_alt_names",
                "the requested subjectAltName extension is malformed",
            ));
        };
        for general_name in &san.general_names {
            names.push(names::validate_general_name(general_name, policy)?);
        }
    }
    Ok(names)
}

fn requested_extensions<'a>(
    csr: &'a X509CertificationRequest<'_>,
) -> impl Iterator<Item = &'a X509Extension<'a>> {
    csr.certification_request_info
        .iter_attributes()
        .filter_map(|attribute| match attribute.parsed_attribute() {
            ParsedCriAttribute::ExtensionRequest(request) => Some(&request.extensions),
            _ => None,
        })
        .flatten()
}
