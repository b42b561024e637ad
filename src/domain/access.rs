//! Privileged access requests and the safes that hold the accounts: access types, operations,
//! invalid reasons (PVWA's bit flags), confirmers, and the safe, account and member views.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::secrets::{SecretText, SecretType};

/// Once, or as often as needed inside the window.
#[derive(diesel::AsExpression, diesel::FromSqlRow)]
#[diesel(sql_type = diesel::sql_types::Text)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AccessType {
    OneTime,
    Multiple,
}

impl AccessType {
    pub fn as_str(self) -> &'static str {
        match self {
            AccessType::OneTime => "one_time",
            AccessType::Multiple => "multiple",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "one_time" => Some(AccessType::OneTime),
            "multiple" => Some(AccessType::Multiple),
            _ => None,
        }
    }
}

/// What the requester wants to do with the account. PVWA codes: 1, 2, 4, 7.
#[derive(diesel::AsExpression, diesel::FromSqlRow)]
#[diesel(sql_type = diesel::sql_types::Text)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OperationType {
    Open,
    GetFile,
    GetPassword,
    All,
}

impl OperationType {
    pub const ALL: [OperationType; 4] = [
        OperationType::Open,
        OperationType::GetFile,
        OperationType::GetPassword,
        OperationType::All,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OperationType::Open => "open",
            OperationType::GetFile => "get_file",
            OperationType::GetPassword => "get_password",
            OperationType::All => "all",
        }
    }

    /// PVWA's `OperationType` code.
    pub fn code(self) -> i32 {
        match self {
            OperationType::Open => 1,
            OperationType::GetFile => 2,
            OperationType::GetPassword => 4,
            OperationType::All => 7,
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|op| op.as_str() == value)
    }

    /// Whether a request for this operation may retrieve the account's secret: `get_password`
    /// and `all` may; `open` and `get_file` (connect-only) may not.
    pub fn allows_retrieval(self) -> bool {
        matches!(self, OperationType::GetPassword | OperationType::All)
    }
}

/// Why a request can no longer be used. Each is one of PVWA's `InvalidRequestReason` bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InvalidReason {
    /// It waited longer than the safe allows (1).
    Expired,
    /// A one-time access was spent (2).
    AlreadyUsed,
    /// Not enough eligible confirmers remain (4).
    MissingSupervisors,
    /// The safe's confirmation policy changed while it waited (8).
    ConfirmationSettingsChanged,
    /// The account or its safe was deleted (16).
    ObjectDeleted,
    /// The access window is over (64).
    AccessTimeExpired,
    /// A confirmer rejected it (128).
    Rejected,
}

impl InvalidReason {
    pub const ALL: [InvalidReason; 7] = [
        InvalidReason::Expired,
        InvalidReason::AlreadyUsed,
        InvalidReason::MissingSupervisors,
        InvalidReason::ConfirmationSettingsChanged,
        InvalidReason::ObjectDeleted,
        InvalidReason::AccessTimeExpired,
        InvalidReason::Rejected,
    ];

    /// PVWA's bit for this reason.
    pub fn flag(self) -> i32 {
        match self {
            InvalidReason::Expired => 1,
            InvalidReason::AlreadyUsed => 2,
            InvalidReason::MissingSupervisors => 4,
            InvalidReason::ConfirmationSettingsChanged => 8,
            InvalidReason::ObjectDeleted => 16,
            InvalidReason::AccessTimeExpired => 64,
            InvalidReason::Rejected => 128,
        }
    }

    /// The snake_case name clients see, also written on the trail of a request it ends.
    pub fn as_str(self) -> &'static str {
        match self {
            InvalidReason::Expired => "expired",
            InvalidReason::AlreadyUsed => "already_used",
            InvalidReason::MissingSupervisors => "missing_supervisors",
            InvalidReason::ConfirmationSettingsChanged => "confirmation_settings_changed",
            InvalidReason::ObjectDeleted => "object_deleted",
            InvalidReason::AccessTimeExpired => "access_time_expired",
            InvalidReason::Rejected => "rejected",
        }
    }

    /// The reasons whose bits are set in `flags`.
    pub fn from_flags(flags: i32) -> Vec<InvalidReason> {
        Self::ALL
            .into_iter()
            .filter(|reason| flags & reason.flag() != 0)
            .collect()
    }
}

/// A ticket that justifies the request.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Ticket {
    #[schema(example = "ServiceNow")]
    pub name: String,
    #[schema(example = "INC0012345")]
    pub number: String,
}

/// Extra facts about the request.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdditionalInfo {
    #[schema(example = "CHG-2026-118")]
    pub reference_no: Option<String>,
    #[serde(default)]
    pub emergency: bool,
}

/// What a PVWA client sent with an access request beyond the native fields, kept as sent and
/// shown back in the request's details (PVWA's API only: the native one neither takes nor shows
/// it).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ClientExtras {
    /// `AdditionalInfo` keys other than `Reference No` and `EmergencyIndication`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub additional_info: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub use_connect: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_component: Option<String>,
    /// As sent: an object of PSM connection settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_params: Option<serde_json::Value>,
}

impl ClientExtras {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// A privileged account kept in a safe. No secret is ever shown.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Account {
    #[schema(example = 12)]
    pub id: i64,
    /// The safe's id, for the PVWA account id (`<safe id>_<account id>`); not shown natively.
    #[serde(skip)]
    pub safe_id: i64,
    /// The PVWA platform (`platformId`), empty when none was given; not shown natively.
    #[serde(skip)]
    pub platform_id: String,
    #[schema(example = "Finance")]
    pub safe: String,
    #[schema(example = "root-db01")]
    pub name: String,
    #[schema(example = "Root")]
    pub folder: String,
    /// Host name or IP address of the target.
    #[schema(example = "db01.example.com")]
    pub address: String,
    /// The user name on the target.
    #[schema(example = "root")]
    pub user_name: String,
    pub last_used_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// Set once the account was deleted (only shown inside requests that name it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<DateTime<Utc>>,
}

/// A user behind a confirmer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PersonView {
    pub id: i64,
    #[schema(example = "alice")]
    pub username: String,
    pub name: String,
    pub email: String,
}

/// Whether a confirmer is one user or a group (a role).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConfirmerType {
    User,
    Group,
}

/// What a confirmer did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConfirmerAction {
    Confirm,
    Reject,
    None,
}

/// One confirmer of an access request, user or group, with what it did.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Confirmer {
    #[serde(rename = "type")]
    pub confirmer_type: ConfirmerType,
    /// The user's id, or for a group the id of the safe's group entry.
    pub id: i64,
    /// The username, or the role acting as a group.
    #[schema(example = "approver")]
    pub name: String,
    #[schema(example = 1)]
    pub level: i32,
    pub action: ConfirmerAction,
    pub reason: Option<String>,
    pub action_date: Option<DateTime<Utc>>,
    /// Who acted, for a group; the user themselves, for a user.
    pub acted_by: Option<PersonView>,
    /// The users behind a group (for a user: just them).
    pub members: Vec<PersonView>,
}

/// The access part of a request's detail.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AccessDetails {
    pub account: Account,
    pub access_type: AccessType,
    pub operation_type: OperationType,
    pub access_from: DateTime<Utc>,
    pub access_to: DateTime<Utc>,
    pub ticketing_system: Option<Ticket>,
    pub additional_info: AdditionalInfo,
    /// What a PVWA client sent beyond the native fields (not shown natively).
    #[serde(skip)]
    pub extras: ClientExtras,
    /// 1, or 2 once level 1 has all it needs.
    pub current_confirmation_level: i32,
    /// Confirmations still needed at level 2.
    pub required_confirmers_count_level2: i32,
    pub use_count: i32,
    pub last_used_at: Option<DateTime<Utc>>,
    pub confirmers: Vec<Confirmer>,
}

/// What `use` answers: how to reach the account and, when the request's operation type allows
/// retrieval (`get_password`, `all`) and the account holds one, its secret.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AccessGrant {
    pub request_id: i64,
    #[schema(example = "db01.example.com")]
    pub address: String,
    #[schema(example = "root")]
    pub user_name: String,
    #[schema(example = "Finance")]
    pub safe: String,
    #[schema(example = "root-db01")]
    pub name: String,
    pub operation_type: OperationType,
    /// The access ends then.
    pub access_to: DateTime<Utc>,
    /// Whether this was the one use of a one-time request.
    pub spent: bool,
    /// The account's secret, in the clear. Omitted (never null) when the operation type does not
    /// allow retrieval (`open`, `get_file`) or the account holds no secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String, required = false, example = "Tr0ub4dor&3")]
    pub secret: Option<RevealedSecret>,
    /// What the secret is; present with `secret`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = SecretType, required = false)]
    pub secret_type: Option<SecretType>,
}

/// A secret handed to the requester of an approved access: the one value that serializes a
/// secret in the clear, so only an answer that means to show it holds one. `Debug` redacts it,
/// and the plaintext is wiped when it is dropped.
#[derive(Debug, Clone)]
pub struct RevealedSecret(pub SecretText);

impl Serialize for RevealedSecret {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0.expose())
    }
}

/// A safe and its confirmation policy.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Safe {
    #[schema(example = "Finance")]
    pub name: String,
    pub description: String,
    /// Confirmations needed at level 1.
    #[schema(example = 1)]
    pub level1_confirmations: i32,
    /// Confirmations needed at level 2 (0: no second level).
    #[schema(example = 0)]
    pub level2_confirmations: i32,
    /// How long a request may wait for its decision, in hours.
    #[schema(example = 72)]
    pub request_expiry_hours: i32,
    /// The longest access window allowed, in hours.
    #[schema(example = 8)]
    pub max_access_hours: i32,
    pub ticket_required: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Who a safe member entry is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MemberType {
    User,
    Group,
}

/// What a user or group may do in a safe.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SafeMember {
    #[serde(rename = "type")]
    pub member_type: MemberType,
    /// The username, or the role acting as a group.
    #[schema(example = "jdoe")]
    pub name: String,
    pub can_request: bool,
    /// The level at which this member confirms, if any.
    pub confirm_level: Option<i32>,
}

#[cfg(test)]
mod tests {
    use super::InvalidReason;

    #[test]
    fn invalid_reasons_are_named_as_clients_see_them() {
        for reason in InvalidReason::ALL {
            assert_eq!(
                serde_json::to_value(reason).ok(),
                Some(serde_json::Value::from(reason.as_str())),
                "{reason:?}"
            );
        }
    }
}
