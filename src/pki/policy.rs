//! [`CaPolicy`]: the configurable rules a CSR and an issuance request must
//! satisfy (key types, name types, DNS suffixes, validity bounds).

use super::error::ValidationError;

/// What the CA is willing to sign. All fields are public and configurable;
/// [`Default`] gives the service's standard policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaPolicy {
    /// Accept RSA keys at all.
    pub allow_rsa: bool,
    /// Smallest accepted RSA modulus, in bits.
    pub allow_rsa_min_bits: u32,
    /// Accept ECDSA keys on NIST P-256.
    pub allow_ecdsa_p256: bool,
    /// Accept ECDSA keys on NIST P-384.
    pub allow_ecdsa_p384: bool,
    /// Accept Ed25519 keys.
    pub allow_ed25519: bool,
    /// Accept IP address names (in the CN or as IP SANs).
    pub allow_ip_sans: bool,
    /// When non-empty, every DNS name must equal one of these or end with
    /// `.` + one of these. Compared case-insensitively.
    pub allowed_dns_suffixes: Vec<String>,
    /// Accept `*.example.com` style names (the `*` only as the whole leftmost label).
    pub allow_wildcards: bool,
    /// Validity used when the requester does not ask for one.
    pub default_validity_days: u32,
    /// Longest validity that may be issued.
    pub max_validity_days: u32,
}

impl Default for CaPolicy {
    fn default() -> Self {
        Self {
            allow_rsa: true,
            allow_rsa_min_bits: 2048,
            allow_ecdsa_p256: true,
            allow_ecdsa_p384: true,
            allow_ed25519: true,
            allow_ip_sans: false,
            allowed_dns_suffixes: Vec::new(),
            allow_wildcards: false,
            default_validity_days: 90,
            max_validity_days: 397,
        }
    }
}

impl CaPolicy {
    /// Checks that `days` is within `1..=max_validity_days`
    /// (error field: `"validity_days"`).
    pub fn validate_validity(&self, days: u32) -> Result<(), ValidationError> {
        if (1..=self.max_validity_days).contains(&days) {
            return Ok(());
        }
        Err(ValidationError::new(
            "validity_days",
            format!(
                "a validity of {days} days is not allowed: it must be between 1 and {} days",
                self.max_validity_days
            ),
        ))
    }

    /// `requested` if given, else `default_validity_days`; then validated.
    pub fn resolve_validity(&self, requested: Option<u32>) -> Result<u32, ValidationError> {
        let days = requested.unwrap_or(self.default_validity_days);
        self.validate_validity(days)?;
        Ok(days)
    }

    /// Whether `dns_name` (already lowercased) is under an allowed suffix.
    pub(crate) fn dns_suffix_allowed(&self, dns_name: &str) -> bool {
        if self.allowed_dns_suffixes.is_empty() {
            return true;
        }
        self.allowed_dns_suffixes.iter().any(|suffix| {
            let suffix = normalize_suffix(suffix);
            !suffix.is_empty()
                && (dns_name == suffix
                    || dns_name
                        .strip_suffix(suffix.as_str())
                        .is_some_and(|rest| rest.ends_with('.')))
        })
    }

    /// The configured suffixes, normalized, for error messages.
    pub(crate) fn describe_suffixes(&self) -> String {
        let suffixes: Vec<String> = self
            .allowed_dns_suffixes
            .iter()
            .map(|s| normalize_suffix(s))
            .collect();
        suffixes.join(", ")
    }
}

/// Lowercases and strips a leading `*.` or `.` so `.example.com`,
/// `*.example.com` and `Example.COM` all mean `example.com`.
fn normalize_suffix(suffix: &str) -> String {
    let lower = suffix.trim().to_ascii_lowercase();
    let stripped = lower.strip_prefix("*.").unwrap_or(&lower);
    stripped.trim_start_matches('.').to_string()
}
