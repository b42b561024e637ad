//! Conversions between the service's `chrono` times and the `time` /
//! ASN.1 times used by rcgen and x509-parser.

use chrono::{DateTime, Utc};
use time::OffsetDateTime;
use x509_parser::time::ASN1Time;

use super::error::PkiError;

/// chrono → time, truncated to whole seconds (certificates carry no fractions).
pub(crate) fn to_offset(at: DateTime<Utc>) -> Result<OffsetDateTime, PkiError> {
    OffsetDateTime::from_unix_timestamp(at.timestamp())
        .map_err(|e| PkiError::TimeOutOfRange(format!("{at}: {e}")))
}

/// ASN.1 time from a parsed certificate → chrono.
pub(crate) fn from_asn1(at: &ASN1Time) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(at.timestamp(), 0)
}

/// `at` truncated to whole seconds.
pub(crate) fn whole_seconds(at: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(at.timestamp(), 0).unwrap_or(at)
}
