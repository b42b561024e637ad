//! Requests as clients see them: types, statuses, decisions and the event trail.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::FieldError;

/// What is being asked for.
#[derive(diesel::AsExpression, diesel::FromSqlRow)]
#[diesel(sql_type = diesel::sql_types::Text)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RequestType {
    Certificate,
    Access,
}

impl RequestType {
    pub fn as_str(self) -> &'static str {
        match self {
            RequestType::Certificate => "certificate",
            RequestType::Access => "access",
        }
    }
}

impl FromStr for RequestType {
    type Err = FieldError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value {
            "certificate" => Ok(RequestType::Certificate),
            "access" => Ok(RequestType::Access),
            _ => Err(FieldError::new("type", "must be certificate or access")),
        }
    }
}

/// Where a request stands. It only moves forward: `pending` to `approved`, `rejected`,
/// `expired` or `invalid` (`invalid_reasons` says why). A pending request whose expiry has
/// passed is `expired` everywhere at once; an access request whose window is over is `invalid`.
#[derive(diesel::AsExpression, diesel::FromSqlRow)]
#[diesel(sql_type = diesel::sql_types::Text)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RequestStatus {
    Pending,
    Approved,
    Rejected,
    Expired,
    Invalid,
}

impl RequestStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RequestStatus::Pending => "pending",
            RequestStatus::Approved => "approved",
            RequestStatus::Rejected => "rejected",
            RequestStatus::Expired => "expired",
            RequestStatus::Invalid => "invalid",
        }
    }
}

impl FromStr for RequestStatus {
    type Err = FieldError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value {
            "pending" => Ok(RequestStatus::Pending),
            "approved" => Ok(RequestStatus::Approved),
            "rejected" => Ok(RequestStatus::Rejected),
            "expired" => Ok(RequestStatus::Expired),
            "invalid" => Ok(RequestStatus::Invalid),
            _ => Err(FieldError::new(
                "status",
                "must be pending, approved, rejected, expired or invalid",
            )),
        }
    }
}

/// A confirmer's decision.
#[derive(diesel::AsExpression, diesel::FromSqlRow)]
#[diesel(sql_type = diesel::sql_types::Text)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Confirm,
    Reject,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Confirm => "confirm",
            Decision::Reject => "reject",
        }
    }
}

/// What happened to a request: each entry of its trail is one of these.
#[derive(diesel::AsExpression, diesel::FromSqlRow)]
#[diesel(sql_type = diesel::sql_types::Text)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    Submitted,
    Confirmed,
    /// Level 1 has all it needs; level 2 confirmers decide next.
    Level2Opened,
    Approved,
    /// The certificate of an approved certificate request was signed.
    Issued,
    Rejected,
    Cancelled,
    /// A change to the safe, its accounts or its confirmers ended the request.
    Invalidated,
    /// An approved access was used.
    Used,
    /// The certificate issued for the request was revoked.
    Revoked,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Submitted => "submitted",
            EventKind::Confirmed => "confirmed",
            EventKind::Level2Opened => "level_2_opened",
            EventKind::Approved => "approved",
            EventKind::Issued => "issued",
            EventKind::Rejected => "rejected",
            EventKind::Cancelled => "cancelled",
            EventKind::Invalidated => "invalidated",
            EventKind::Used => "used",
            EventKind::Revoked => "revoked",
        }
    }
}

/// Who asked, as other users see them.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Requester {
    #[schema(example = "jdoe")]
    pub username: String,
    #[schema(example = "Jane Doe")]
    pub name: String,
    #[schema(example = "jane.doe@example.com")]
    pub email: String,
}

/// Where a request came from.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RequestMetadata {
    /// The requester's e-mail address when the request was made.
    #[schema(example = "jane.doe@example.com")]
    pub requester_email: String,
}

/// A request in a list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RequestSummary {
    #[schema(example = 42)]
    pub id: i64,
    #[serde(rename = "type")]
    pub request_type: RequestType,
    pub status: RequestStatus,
    /// Why the request can no longer be used (empty while it can).
    pub invalid_reasons: Vec<super::access::InvalidReason>,
    #[schema(example = "jdoe")]
    pub requester: String,
    #[schema(example = "Certificate for the build server")]
    pub reason: String,
    #[schema(example = "build.example.com")]
    pub common_name: Option<String>,
    #[schema(example = json!(["build.example.com"]))]
    pub subject_alt_names: Vec<String>,
    #[serde(serialize_with = "crate::domain::time::rfc3339")]
    pub requested_at: DateTime<Utc>,
    #[serde(serialize_with = "crate::domain::time::rfc3339")]
    pub expires_at: DateTime<Utc>,
    #[serde(serialize_with = "crate::domain::time::rfc3339_opt")]
    pub approved_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "crate::domain::time::rfc3339_opt")]
    pub rejected_at: Option<DateTime<Utc>>,
    pub rejection_reason: Option<String>,
    /// Confirmations needed at level 1.
    pub confirmations_required: i32,
    /// Confirmations still needed at the current level.
    pub confirmations_left: i32,
    pub certificate_id: Option<i64>,
    /// For an access request: the safe and account it names.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub safe: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
}

/// One decision taken on a request.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DecisionView {
    #[schema(example = "alice")]
    pub username: String,
    pub decision: Decision,
    pub reason: Option<String>,
    #[schema(example = 1)]
    pub level: i32,
    #[serde(serialize_with = "crate::domain::time::rfc3339")]
    pub decided_at: DateTime<Utc>,
}

/// One entry of a request's append-only trail.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EventView {
    /// `submitted`, `confirmed`, `level_2_opened`, `approved`, `issued`, `rejected`, `cancelled`,
    /// `invalidated`, `used`, `revoked`.
    #[schema(example = "submitted")]
    pub event: String,
    /// Who did it; absent for what the service did itself.
    #[schema(example = "jdoe")]
    pub actor: Option<String>,
    pub detail: Option<String>,
    #[serde(serialize_with = "crate::domain::time::rfc3339")]
    pub at: DateTime<Utc>,
    /// The client's address, on the entries that record one (every `used`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "192.0.2.10")]
    pub address: Option<String>,
}

/// Everything about one request.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RequestDetail {
    #[serde(flatten)]
    pub summary: RequestSummary,
    pub requester_details: Requester,
    #[serde(serialize_with = "crate::domain::time::rfc3339")]
    pub updated_at: DateTime<Utc>,
    /// The certificate signing request, in PEM.
    pub csr: Option<String>,
    #[schema(example = "ECDSA-P256")]
    pub key_algorithm: Option<String>,
    #[schema(example = 90)]
    pub validity_days: Option<i32>,
    pub metadata: RequestMetadata,
    pub decisions: Vec<DecisionView>,
    pub events: Vec<EventView>,
    /// For an access request: the account, window, levels and confirmers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access: Option<super::access::AccessDetails>,
}

/// The caller's requests and certificates, each paginated on its own.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Dashboard {
    pub requests: super::pagination::Page<RequestSummary>,
    pub certificates: super::pagination::Page<super::certificate::Certificate>,
}

/// A request in recent activity.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RecentRequest {
    pub id: i64,
    #[serde(rename = "type")]
    pub request_type: RequestType,
    pub common_name: Option<String>,
    pub status: RequestStatus,
    #[serde(serialize_with = "crate::domain::time::rfc3339")]
    pub requested_at: DateTime<Utc>,
    #[serde(serialize_with = "crate::domain::time::rfc3339_opt")]
    pub approved_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "crate::domain::time::rfc3339_opt")]
    pub rejected_at: Option<DateTime<Utc>>,
    /// For an access request: the safe and account it names.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub safe: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
}

/// A certificate in recent activity.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RecentCertificate {
    pub id: i64,
    pub common_name: Option<String>,
    pub status: super::certificate::CertificateStatus,
    #[serde(serialize_with = "crate::domain::time::rfc3339")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "crate::domain::time::rfc3339")]
    pub valid_until: DateTime<Utc>,
}

/// The last 30 days: at most 10 requests and 10 certificates, newest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RecentActivity {
    pub requests: Vec<RecentRequest>,
    pub certificates: Vec<RecentCertificate>,
}

/// A summary of the caller's requests and certificates.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "pending": 2, "approved": 5, "rejected": 1, "expired": 0, "invalid": 0, "active_certificates": 4,
    "recent_activity": {"requests": [], "certificates": []}
}))]
pub struct RequestStats {
    pub pending: i64,
    pub approved: i64,
    pub rejected: i64,
    pub expired: i64,
    pub invalid: i64,
    pub active_certificates: i64,
    pub recent_activity: RecentActivity,
}
