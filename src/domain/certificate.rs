//! Certificates as clients see them.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::FieldError;

/// Whether a certificate can still be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CertificateStatus {
    Active,
    Revoked,
    Expired,
}

impl FromStr for CertificateStatus {
    type Err = FieldError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value {
            "active" => Ok(Self::Active),
            "revoked" => Ok(Self::Revoked),
            "expired" => Ok(Self::Expired),
            _ => Err(FieldError::new(
                "status",
                "must be active, revoked or expired",
            )),
        }
    }
}

/// How a certificate got here: signed by this CA for a request, or registered by its holder.
#[derive(diesel::AsExpression, diesel::FromSqlRow)]
#[diesel(sql_type = diesel::sql_types::Text)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertificateSource {
    Issued,
    Imported,
}

impl CertificateSource {
    pub fn as_str(self) -> &'static str {
        match self {
            CertificateSource::Issued => "issued",
            CertificateSource::Imported => "imported",
        }
    }
}

/// Who a certificate belongs to and how it got here.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CertificateMetadata {
    /// Set on certificates the CA issued: the requester's e-mail address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requester_email: Option<String>,
    /// Set on imported certificates: who registered it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uploaded_by: Option<String>,
}

/// A certificate on its owner's dashboard.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Certificate {
    #[schema(example = 7)]
    pub id: i64,
    /// Lowercase hex, without leading zero bytes.
    #[schema(example = "5f1c0a9e3b7d4c21a8e6f0b2d4c6e8a1")]
    pub serial_number: String,
    #[schema(example = "build.example.com")]
    pub common_name: Option<String>,
    #[schema(example = json!(["build.example.com"]))]
    pub subject_alt_names: Vec<String>,
    #[schema(example = "CN=requestdesk CA")]
    pub issuer: String,
    #[schema(example = "jdoe")]
    pub owner: String,
    #[serde(serialize_with = "crate::domain::time::rfc3339")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "crate::domain::time::rfc3339")]
    pub valid_from: DateTime<Utc>,
    #[serde(serialize_with = "crate::domain::time::rfc3339")]
    pub valid_until: DateTime<Utc>,
    pub status: CertificateStatus,
    #[serde(serialize_with = "crate::domain::time::rfc3339_opt")]
    pub revoked_at: Option<DateTime<Utc>>,
    #[schema(example = "superseded")]
    pub revocation_reason: Option<String>,
    /// SHA-256 of the DER encoding, lowercase hex.
    pub fingerprint_sha256: String,
    pub request_id: Option<i64>,
    pub metadata: CertificateMetadata,
}
