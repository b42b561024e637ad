//! Validation and normalization of the names a certificate may carry: DNS
//! names (LDH labels, wildcards, allowed suffixes) and IP addresses, taken
//! from the CSR's common name and its requested subjectAltName extension.

use std::fmt;
use std::net::IpAddr;

use x509_parser::extensions::GeneralName;

use super::error::ValidationError;
use super::policy::CaPolicy;

const MAX_DNS_NAME_LEN: usize = 253;
const MAX_LABEL_LEN: usize = 63;

/// A validated, normalized subject name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SubjectName {
    /// Lowercased DNS name, possibly a wildcard.
    Dns(String),
    Ip(IpAddr),
}

impl fmt::Display for SubjectName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Dns(name) => f.write_str(name),
            Self::Ip(ip) => write!(f, "{ip}"),
        }
    }
}

/// How a common name is to be treated.
pub(crate) enum CommonNameKind {
    /// The CN is an IP address or DNS-looking: it is validated as a name.
    Name(SubjectName),
    /// Free text (e.g. "John Smith"): kept as the CN only.
    FreeText,
}

/// Classifies and validates a CSR common name (error field `csr.common_name`).
pub(crate) fn classify_common_name(
    cn: &str,
    policy: &CaPolicy,
) -> Result<CommonNameKind, ValidationError> {
    const FIELD: &str = "csr.common_name";
    if let Ok(ip) = cn.parse::<IpAddr>() {
        return validate_ip(ip, policy, FIELD).map(CommonNameKind::Name);
    }
    if looks_like_dns_name(cn) {
        let dns = validate_dns_name(cn, policy, FIELD)?;
        return Ok(CommonNameKind::Name(SubjectName::Dns(dns)));
    }
    Ok(CommonNameKind::FreeText)
}

/// A CN "looks like" a DNS name when it has no whitespace and either contains
/// a dot or consists only of hostname characters.
fn looks_like_dns_name(cn: &str) -> bool {
    let no_space = !cn.chars().any(char::is_whitespace);
    let host_chars = cn
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '*'));
    no_space && (cn.contains('.') || host_chars)
}

/// Validates one requested subjectAltName entry
/// (error field `csr.subject_alt_names`).
pub(crate) fn validate_general_name(
    name: &GeneralName<'_>,
    policy: &CaPolicy,
) -> Result<SubjectName, ValidationError> {
    const FIELD: &str = "csr.subject_alt_names";
    match name {
        GeneralName::DNSName(dns) => validate_dns_name(dns, policy, FIELD).map(SubjectName::Dns),
        GeneralName::IPAddress(bytes) => validate_ip(ip_from_bytes(bytes)?, policy, FIELD),
        other => Err(ValidationError::new(
            FIELD,
            format!(
                "{} is not allowed: only {} may be requested",
                describe_unsupported(other),
                allowed_kinds(policy)
            ),
        )),
    }
}

fn allowed_kinds(policy: &CaPolicy) -> &'static str {
    if policy.allow_ip_sans {
        "DNS names and IP addresses"
    } else {
        "DNS names"
    }
}

fn describe_unsupported(name: &GeneralName<'_>) -> String {
    match name {
        GeneralName::RFC822Name(email) => format!("email SAN \"{email}\""),
        GeneralName::URI(uri) => format!("URI SAN \"{uri}\""),
        GeneralName::DirectoryName(dn) => format!("directoryName SAN \"{dn}\""),
        GeneralName::OtherName(oid, _) => format!("otherName SAN ({oid})"),
        GeneralName::RegisteredID(oid) => format!("registeredID SAN ({oid})"),
        GeneralName::X400Address(_) => "x400Address SAN".to_string(),
        GeneralName::EDIPartyName(_) => "ediPartyName SAN".to_string(),
        GeneralName::Invalid(tag, _) => format!("malformed SAN (tag {})", tag.0),
        GeneralName::DNSName(_) | GeneralName::IPAddress(_) => "SAN".to_string(),
    }
}

/// An IPv4 (4 bytes) or IPv6 (16 bytes) address from its SAN encoding.
pub(crate) fn ip_from_san_bytes(bytes: &[u8]) -> Option<IpAddr> {
    if let Ok(v4) = <[u8; 4]>::try_from(bytes) {
        return Some(IpAddr::from(v4));
    }
    <[u8; 16]>::try_from(bytes).ok().map(IpAddr::from)
}

fn ip_from_bytes(bytes: &[u8]) -> Result<IpAddr, ValidationError> {
    ip_from_san_bytes(bytes).ok_or_else(|| {
        ValidationError::new(
            "csr.subject_alt_names",
            format!("IP address SAN of {} bytes is malformed", bytes.len()),
        )
    })
}

fn validate_ip(
    ip: IpAddr,
    policy: &CaPolicy,
    field: &'static str,
) -> Result<SubjectName, ValidationError> {
    if policy.allow_ip_sans {
        return Ok(SubjectName::Ip(ip));
    }
    Err(ValidationError::new(
        field,
        format!("IP address \"{ip}\": IP address names are not allowed"),
    ))
}

/// Validates a DNS name against syntax and policy; returns it lowercased.
pub(crate) fn validate_dns_name(
    raw: &str,
    policy: &CaPolicy,
    field: &'static str,
) -> Result<String, ValidationError> {
    let fail =
        |reason: String| ValidationError::new(field, format!("DNS name \"{raw}\": {reason}"));
    let name = raw.to_ascii_lowercase();
    check_dns_syntax(&name).map_err(fail)?;
    check_wildcard(&name, policy).map_err(fail)?;
    if !policy.dns_suffix_allowed(&name) {
        return Err(fail(format!(
            "is not under an allowed domain (allowed: {})",
            policy.describe_suffixes()
        )));
    }
    Ok(name)
}

fn check_dns_syntax(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("is empty".into());
    }
    if !name.is_ascii() {
        return Err("contains non-ASCII characters (use the xn-- punycode form)".into());
    }
    if name.len() > MAX_DNS_NAME_LEN {
        return Err(format!("is longer than {MAX_DNS_NAME_LEN} characters"));
    }
    if name.ends_with('.') {
        return Err("must not end with a dot".into());
    }
    let labels: Vec<&str> = name.split('.').collect();
    for (index, label) in labels.iter().enumerate() {
        let is_wildcard_label = index == 0 && labels.len() > 1 && *label == "*";
        if !is_wildcard_label {
            check_label(label)?;
        }
    }
    check_last_label(labels.last().copied().unwrap_or_default())
}

fn check_label(label: &str) -> Result<(), String> {
    if label.is_empty() {
        return Err("has an empty label".into());
    }
    if label.len() > MAX_LABEL_LEN {
        return Err(format!(
            "label \"{label}\" is longer than {MAX_LABEL_LEN} characters"
        ));
    }
    if label.contains('*') {
        return Err("'*' is only allowed as the whole leftmost label".into());
    }
    if let Some(bad) = label
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
    {
        return Err(format!(
            "label \"{label}\" contains the invalid character '{bad}' \
             (only letters, digits and '-' are allowed)"
        ));
    }
    if label.starts_with('-') || label.ends_with('-') {
        return Err(format!("label \"{label}\" must not start or end with '-'"));
    }
    Ok(())
}

fn check_last_label(label: &str) -> Result<(), String> {
    if label.chars().all(|c| c.is_ascii_digit()) {
        return Err(
            "the last label must not be all digits (request IP addresses as IP names)".into(),
        );
    }
    Ok(())
}

fn check_wildcard(name: &str, policy: &CaPolicy) -> Result<(), String> {
    let Some(base) = name.strip_prefix("*.") else {
        return Ok(());
    };
    if !policy.allow_wildcards {
        return Err("wildcards are not allowed".into());
    }
    if base.split('.').count() < 2 {
        return Err("a wildcard must be followed by at least two labels".into());
    }
    Ok(())
}
