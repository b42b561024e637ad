//! Revocation: [`RevocationReason`], [`RevokedEntry`] and
//! [`CertificateAuthority::crl_der`], which signs a CRL listing them.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Duration, Utc};
use rcgen::{CertificateRevocationListParams, RevokedCertParams, SerialNumber};

use super::ca::CertificateAuthority;
use super::convert::{to_offset, whole_seconds};
use super::error::{PkiError, Result, ValidationError};
use super::serial::serial_from_hex;

/// How long a CRL is valid: nextUpdate = thisUpdate + this many days.
pub const CRL_VALIDITY_DAYS: i64 = 7;

/// When the CRL listing `revoked` was issued, and its number: a function of what it lists and of
/// the day, never of the moment it is asked for, so every request (on every instance) until the
/// next revocation or midnight UTC gets the same CRL number, the `ETag` the CRL is served with.
///
/// thisUpdate is the later of the last revocation and today's midnight (UTC): reissued at least
/// daily, a CRL always has six of its [`CRL_VALIDITY_DAYS`] left. The number is thisUpdate in
/// microseconds plus how many serials it lists; neither ever goes down (revocations are never
/// undone), and any change raises one of them, so a CRL with other content always has a higher
/// number: even a revocation committed late with an earlier timestamp raises the count.
pub fn crl_issue(revoked: &[RevokedEntry], now: DateTime<Utc>) -> (DateTime<Utc>, u64) {
    let midnight = now
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .map_or(now, |at| at.and_utc());
    let this_update = revoked
        .iter()
        .map(|entry| entry.revoked_at)
        .filter(|at| *at <= now)
        .fold(midnight, DateTime::max);
    let micros = u64::try_from(this_update.timestamp_micros()).unwrap_or_default();
    let count = u64::try_from(revoked.len()).unwrap_or(u64::MAX);
    (this_update, micros.saturating_add(count))
}

/// Why a certificate was revoked (RFC 5280 §5.3.1 subset).
#[derive(diesel::AsExpression, diesel::FromSqlRow)]
#[diesel(sql_type = diesel::sql_types::Text)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RevocationReason {
    KeyCompromise,
    Superseded,
    AffiliationChanged,
    CessationOfOperation,
    Unspecified,
}

impl RevocationReason {
    pub const ALL: [Self; 5] = [
        Self::KeyCompromise,
        Self::Superseded,
        Self::AffiliationChanged,
        Self::CessationOfOperation,
        Self::Unspecified,
    ];

    /// snake_case name: `key_compromise`, `superseded`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            Self::KeyCompromise => "key_compromise",
            Self::Superseded => "superseded",
            Self::AffiliationChanged => "affiliation_changed",
            Self::CessationOfOperation => "cessation_of_operation",
            Self::Unspecified => "unspecified",
        }
    }

    fn to_rcgen(self) -> rcgen::RevocationReason {
        match self {
            Self::KeyCompromise => rcgen::RevocationReason::KeyCompromise,
            Self::Superseded => rcgen::RevocationReason::Superseded,
            Self::AffiliationChanged => rcgen::RevocationReason::AffiliationChanged,
            Self::CessationOfOperation => rcgen::RevocationReason::CessationOfOperation,
            Self::Unspecified => rcgen::RevocationReason::Unspecified,
        }
    }
}

impl fmt::Display for RevocationReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RevocationReason {
    type Err = ValidationError;

    /// Parses the snake_case name (error field `reason`).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|reason| reason.as_str() == text)
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|r| r.as_str()).collect();
                ValidationError::new(
                    "reason",
                    format!(
                        "unknown revocation reason \"{text}\": expected one of {}",
                        names.join(", ")
                    ),
                )
            })
    }
}

/// One revoked certificate to list in a CRL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevokedEntry {
    /// Serial in hex (canonical form preferred; see [`crate::pki::serial_from_hex`]).
    pub serial_hex: String,
    pub revoked_at: DateTime<Utc>,
    /// `Unspecified` is written without a reasonCode extension (RFC 5280 §5.3.1).
    pub reason: RevocationReason,
}

impl CertificateAuthority {
    /// A DER CRL signed by this CA listing `revoked`, with
    /// nextUpdate = `this_update` + [`CRL_VALIDITY_DAYS`], the given CRL
    /// number, and an authority key identifier equal to the CA's SKI.
    pub fn crl_der(
        &self,
        revoked: &[RevokedEntry],
        this_update: DateTime<Utc>,
        crl_number: u64,
    ) -> Result<Vec<u8>> {
        let this_update = whole_seconds(this_update);
        let params = CertificateRevocationListParams {
            this_update: to_offset(this_update)?,
            next_update: to_offset(this_update + Duration::days(CRL_VALIDITY_DAYS))?,
            crl_number: SerialNumber::from(crl_number),
            issuing_distribution_point: None,
            revoked_certs: revoked
                .iter()
                .map(revoked_cert_params)
                .collect::<Result<_>>()?,
            key_identifier_method: self.key_identifier_method(),
        };
        Ok(params.signed_by(&self.issuer)?.der().to_vec())
    }
}

fn revoked_cert_params(entry: &RevokedEntry) -> Result<RevokedCertParams> {
    let serial = serial_from_hex(&entry.serial_hex).map_err(PkiError::from)?;
    Ok(RevokedCertParams {
        serial_number: SerialNumber::from_slice(&serial),
        revocation_time: to_offset(whole_seconds(entry.revoked_at))?,
        reason_code: Some(entry.reason.to_rcgen()),
        invalidity_date: None,
    })
}
