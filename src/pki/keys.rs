//! Public keys: identifying the algorithm of a SubjectPublicKeyInfo,
//! applying the key part of [`CaPolicy`], fingerprinting, and adapting a
//! requester's key to rcgen's `SubjectPublicKeyInfo` for issuance.

use rcgen::PublicKeyData;
use sha2::{Digest, Sha256};
use x509_parser::public_key::PublicKey;
use x509_parser::x509::SubjectPublicKeyInfo;

use super::error::ValidationError;
use super::policy::CaPolicy;

const OID_RSA: &str = "1.2.840.113549.1.1.1";
const OID_EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
const OID_ED25519: &str = "1.3.101.112";
const OID_DSA: &str = "1.2.840.10040.4.1";
const OID_CURVE_P256: &str = "1.2.840.10045.3.1.7";
const OID_CURVE_P384: &str = "1.3.132.0.34";
const OID_CURVE_P521: &str = "1.3.132.0.35";

/// The largest RSA modulus the signature verifier (ring) accepts.
const MAX_RSA_BITS: usize = 8192;

const FIELD: &str = "csr.public_key";

/// The algorithm (and size or curve) of a public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum KeyKind {
    Rsa { bits: usize },
    Ecdsa { curve: String },
    Ed25519,
    Dsa,
    Other { oid: String },
}

impl KeyKind {
    /// Identifies a key without applying any policy.
    pub(crate) fn identify(spki: &SubjectPublicKeyInfo<'_>) -> Self {
        match spki.algorithm.algorithm.to_id_string().as_str() {
            OID_RSA => Self::Rsa {
                bits: rsa_modulus_bits(spki),
            },
            OID_EC_PUBLIC_KEY => Self::Ecdsa {
                curve: curve_name(spki),
            },
            OID_ED25519 => Self::Ed25519,
            OID_DSA => Self::Dsa,
            oid => Self::Other {
                oid: oid.to_string(),
            },
        }
    }

    /// Display label: `RSA-2048`, `ECDSA-P256`, `ECDSA-P384`, `Ed25519`, ...
    pub(crate) fn label(&self) -> String {
        match self {
            Self::Rsa { bits } => format!("RSA-{bits}"),
            Self::Ecdsa { curve } => format!("ECDSA-{}", curve.replace('-', "")),
            Self::Ed25519 => "Ed25519".to_string(),
            Self::Dsa => "DSA".to_string(),
            Self::Other { oid } => format!("unknown ({oid})"),
        }
    }

    /// Checks the key against `policy` (error field `csr.public_key`).
    pub(crate) fn check_policy(&self, policy: &CaPolicy) -> Result<(), ValidationError> {
        match self {
            Self::Rsa { bits } => check_rsa(*bits, policy),
            Self::Ecdsa { curve } => check_curve(curve, policy),
            Self::Ed25519 if policy.allow_ed25519 => Ok(()),
            Self::Ed25519 => Err(refused("Ed25519 keys are not allowed")),
            Self::Dsa => Err(refused("DSA keys are not allowed")),
            Self::Other { oid } => Err(refused(format!(
                "public key algorithm {oid} is not allowed: use RSA, ECDSA or Ed25519"
            ))),
        }
    }

    pub(crate) fn is_rsa(&self) -> bool {
        matches!(self, Self::Rsa { .. })
    }
}

fn refused(message: impl Into<String>) -> ValidationError {
    ValidationError::new(FIELD, message)
}

fn check_rsa(bits: usize, policy: &CaPolicy) -> Result<(), ValidationError> {
    let min = policy.allow_rsa_min_bits as usize;
    if !policy.allow_rsa {
        return Err(refused("RSA keys are not allowed"));
    }
    if bits < min {
        return Err(refused(format!(
            "RSA key of {bits} bits is too weak: at least {min} required"
        )));
    }
    if bits > MAX_RSA_BITS {
        return Err(refused(format!(
            "RSA key of {bits} bits is not supported: at most {MAX_RSA_BITS} bits"
        )));
    }
    Ok(())
}

fn check_curve(curve: &str, policy: &CaPolicy) -> Result<(), ValidationError> {
    let allowed = match curve {
        "P-256" => policy.allow_ecdsa_p256,
        "P-384" => policy.allow_ecdsa_p384,
        _ => false,
    };
    if allowed {
        return Ok(());
    }
    Err(refused(format!(
        "ECDSA key on curve {curve} is not allowed: allowed curves are {}",
        allowed_curves(policy)
    )))
}

fn allowed_curves(policy: &CaPolicy) -> String {
    let curves: Vec<&str> = [
        (policy.allow_ecdsa_p256, "P-256"),
        (policy.allow_ecdsa_p384, "P-384"),
    ]
    .into_iter()
    .filter_map(|(allowed, name)| allowed.then_some(name))
    .collect();
    if curves.is_empty() {
        "none".to_string()
    } else {
        curves.join(" and ")
    }
}

/// An RSA key's public exponent must be odd and at least 65537 (a small exponent such as 3
/// invites the attacks on unpadded or badly padded messages that 65537 avoids). Other keys
/// pass (error field `csr.public_key`).
pub(crate) fn check_rsa_exponent(spki: &SubjectPublicKeyInfo<'_>) -> Result<(), ValidationError> {
    let Ok(PublicKey::RSA(rsa)) = spki.parsed() else {
        return Ok(());
    };
    let exponent: &[u8] = rsa.exponent;
    let start = exponent
        .iter()
        .position(|b| *b != 0)
        .unwrap_or(exponent.len());
    let significant = &exponent[start..];
    let at_least_65537 =
        significant.len() > 3 || (significant.len() == 3 && significant >= &[1, 0, 1][..]);
    let odd = significant.last().is_some_and(|last| last & 1 == 1);
    if at_least_65537 && odd {
        return Ok(());
    }
    Err(refused(
        "the RSA public exponent must be odd and at least 65537",
    ))
}

/// Exact bit length of the RSA modulus, or 0 if the key does not parse.
/// (x509-parser's own `key_size()` assumes a leading zero byte.)
fn rsa_modulus_bits(spki: &SubjectPublicKeyInfo<'_>) -> usize {
    let Ok(PublicKey::RSA(rsa)) = spki.parsed() else {
        return 0;
    };
    let modulus: &[u8] = rsa.modulus;
    let start = modulus
        .iter()
        .position(|b| *b != 0)
        .unwrap_or(modulus.len());
    let significant = &modulus[start..];
    match significant.first() {
        Some(first) => significant.len() * 8 - first.leading_zeros() as usize,
        None => 0,
    }
}

fn curve_name(spki: &SubjectPublicKeyInfo<'_>) -> String {
    let curve_oid = spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|params| params.as_oid().ok())
        .map(|oid| oid.to_id_string());
    match curve_oid.as_deref() {
        Some(OID_CURVE_P256) => "P-256".to_string(),
        Some(OID_CURVE_P384) => "P-384".to_string(),
        Some(OID_CURVE_P521) => "P-521".to_string(),
        Some(other) => other.to_string(),
        None => "(unspecified)".to_string(),
    }
}

/// Lowercase hex SHA-256 of `bytes`.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Converts the CSR key to rcgen's form and checks that rcgen re-encodes it
/// byte-for-byte, so the certificate carries exactly the key of the CSR.
pub(crate) fn requester_key(
    spki: &SubjectPublicKeyInfo<'_>,
    kind: &KeyKind,
) -> Result<rcgen::SubjectPublicKeyInfo, ValidationError> {
    let key = rcgen::SubjectPublicKeyInfo::from_der(spki.raw)
        .map_err(|_| refused(format!("{} keys cannot be certified", kind.label())))?;
    if key.subject_public_key_info() != spki.raw {
        return Err(refused(format!(
            "the {} public key uses a non-standard encoding",
            kind.label()
        )));
    }
    Ok(key)
}
