//! What the PVWA compatibility API writes: a request field by field, as PVWA describes it, and
//! the lists of them.

use serde::Serialize;
use utoipa::ToSchema;

/// `{"MyRequests": [...]}`.
#[derive(Serialize, ToSchema)]
pub struct MyRequestsList {
    #[serde(rename = "MyRequests")]
    #[schema(rename = "MyRequests")]
    pub my_requests: Vec<PvwaRequest>,
}

/// `{"IncomingRequests": [...]}`.
#[derive(Serialize, ToSchema)]
pub struct IncomingRequestsList {
    #[serde(rename = "IncomingRequests")]
    #[schema(rename = "IncomingRequests")]
    pub incoming_requests: Vec<PvwaRequest>,
}

/// A ticket and whether it was validated: 1 validated, 2 not validated, 3 not needed.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct TicketingSystemProperties {
    #[schema(example = "ServiceNow")]
    pub name: String,
    /// Text: ticket numbers such as `INC0012345` are not numbers.
    #[schema(example = "INC0012345")]
    pub number: String,
    /// 2 when a ticket was given (tickets are not validated), 3 when none was.
    #[schema(example = 2)]
    pub status: i32,
}

/// Extra facts about the request: `Reference No`, `EmergencyIndication`, and any other key the
/// request was sent with.
#[derive(Serialize, ToSchema)]
pub struct PvwaAdditionalInfo {
    /// Empty when none was given.
    #[serde(rename = "Reference No")]
    #[schema(rename = "Reference No", example = "CHG-2026-118")]
    pub reference_no: String,
    #[serde(rename = "EmergencyIndication")]
    #[schema(rename = "EmergencyIndication")]
    pub emergency_indication: bool,
    /// Every other key sent with the request, as sent.
    #[serde(flatten)]
    #[schema(ignore)]
    pub other: std::collections::BTreeMap<String, String>,
}

/// The account's properties.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct AccountProperties {
    #[schema(example = "root-db01")]
    pub name: String,
    #[schema(example = "Root")]
    pub folder: String,
    #[schema(example = "Finance")]
    pub safe: String,
    #[schema(example = "db01.example.com")]
    pub address: String,
    #[schema(example = "root")]
    pub user_name: String,
    /// Unix seconds; 0 when never used.
    pub last_used_date: i64,
}

/// The account the request is for.
#[derive(Serialize, ToSchema)]
pub struct AccountDetails {
    /// The account's id as PVWA writes it, `<safe id>_<account id>`: send it back as
    /// `AccountId` to request it.
    #[serde(rename = "AccountID")]
    #[schema(rename = "AccountID", example = "3_12")]
    pub account_id: String,
    #[serde(rename = "Properties")]
    #[schema(rename = "Properties")]
    pub properties: AccountProperties,
}

/// A person's details (we keep no phone numbers: `phone` is empty).
#[derive(Serialize, ToSchema)]
pub struct PersonDetails {
    pub fullname: String,
    pub email: String,
    pub phone: String,
}

/// A user behind a confirmer.
#[derive(Serialize, ToSchema)]
pub struct PvwaMember {
    #[serde(rename = "UserID")]
    #[schema(rename = "UserID")]
    pub user_id: i64,
    #[serde(rename = "UserName")]
    #[schema(rename = "UserName", example = "alice")]
    pub user_name: String,
    #[serde(rename = "AdditionalDetails")]
    #[schema(rename = "AdditionalDetails")]
    pub additional_details: PersonDetails,
}

/// A confirmer: 1 user or 2 group; action 0 reject, 1 confirm, 2 none.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct PvwaConfirmer {
    #[serde(rename = "Type")]
    #[schema(rename = "Type", example = 1)]
    pub confirmer_type: i32,
    /// The user's id, or for a group the id of the safe's group entry.
    #[serde(rename = "ID")]
    #[schema(rename = "ID")]
    pub id: i64,
    /// The username, or the role acting as a group.
    pub name: String,
    #[schema(example = 2)]
    pub action: i32,
    /// Empty when none.
    pub reason: String,
    /// Unix seconds; 0 when it has not acted.
    pub action_date: i64,
    /// The user's, or for a group its name only.
    pub additional_details: PersonDetails,
    /// The users behind it.
    pub members: Vec<PvwaMember>,
}

/// A request as PVWA describes it, field by field.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct PvwaRequest {
    /// `SafeName_N`.
    #[serde(rename = "RequestID")]
    #[schema(rename = "RequestID", example = "Finance_42")]
    pub request_id: String,
    pub safe_name: String,
    pub requestor_user_name: String,
    pub requestor_full_name: String,
    pub requestor_reason: String,
    /// The same reason: requests carry one.
    pub user_reason: String,
    /// Unix seconds.
    pub creation_date: i64,
    /// What is asked for, in words.
    #[schema(example = "Open account root-db01 in safe Finance")]
    pub operation: String,
    /// Unix seconds: a waiting request expires then.
    pub expiration_date: i64,
    /// 1 open, 2 get file, 4 get password, 7 all.
    pub operation_type: i32,
    /// `OneTime` or `Multiple`.
    #[schema(example = "OneTime")]
    pub access_type: String,
    /// Confirmations still needed at the current level.
    pub confirmations_left: i32,
    /// Unix seconds.
    pub access_from: i64,
    /// Unix seconds.
    pub access_to: i64,
    /// 1 waiting, 2 confirmed, 7 invalid (rejected, cancelled, expired or invalid).
    pub status: i32,
    /// `Waiting`, `Confirmed` or `Invalid`.
    pub status_title: String,
    /// Bits: 1 expired, 2 already used, 4 missing supervisors, 8 confirmation settings changed,
    /// 16 object deleted, 64 access time expired, 128 rejected.
    pub invalid_request_reason: i32,
    pub current_confirmation_level: i32,
    /// Level 2 confirmations still needed.
    pub required_confirmers_count_level2: i32,
    pub ticketing_system_properties: TicketingSystemProperties,
    pub additional_info: PvwaAdditionalInfo,
    pub account_details: AccountDetails,
    pub confirmers: Vec<PvwaConfirmer>,
    /// Every user behind the confirmers, once each.
    pub members: Vec<PvwaMember>,
    /// As sent with the request (false when not sent).
    pub use_connect: bool,
    /// As sent with the request (empty when not sent).
    pub connection_component: String,
    /// As sent with the request (`{}` when not sent).
    #[schema(value_type = Object)]
    pub connection_params: serde_json::Value,
}
