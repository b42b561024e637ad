//! What the PVWA compatibility API reads and writes, and the translation from and to the native
//! request model: PascalCase names, Unix-second dates, PVWA's numeric codes, `SafeName_N` ids.
//! Nothing here decides anything; every rule stays in the services.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::domain::FieldError;
use crate::domain::access::{
    AccessDetails, AccessType, AdditionalInfo, Confirmer, ConfirmerAction, ConfirmerType,
    OperationType, PersonView, Ticket,
};
use crate::domain::request::{RequestDetail, RequestStatus};
use crate::service::access_requests::AccessInput;

/// Lists answer at most this many requests, the newest.
pub const LIST_CAP: i64 = 100;

/// The operation a request asks for when `OperationType` is not sent: everything.
const DEFAULT_OPERATION: OperationType = OperationType::All;

/// `Logon`'s body. Keys match regardless of case.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"username": "jdoe", "password": "correct horse battery"}))]
pub struct LogonBody {
    pub username: String,
    pub password: String,
    /// Accepted and ignored: sessions are always concurrent.
    #[serde(rename = "concurrentSession")]
    #[schema(rename = "concurrentSession")]
    pub concurrent_session: Option<bool>,
}

/// An account id, as a number or as the text of one.
#[derive(Deserialize, ToSchema)]
#[serde(untagged)]
pub enum AccountId {
    Number(i64),
    Text(String),
}

/// `true`/`false`, also as text.
#[derive(Deserialize, ToSchema)]
#[serde(untagged)]
pub enum Flag {
    Bool(bool),
    Text(String),
}

/// `AdditionalInfo` of a new request.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAdditionalInfo {
    /// An external reference, at most 100 characters.
    #[serde(rename = "Reference No")]
    #[schema(rename = "Reference No")]
    pub reference_no: Option<String>,
    #[serde(rename = "EmergencyIndication")]
    #[schema(rename = "EmergencyIndication")]
    pub emergency_indication: Option<Flag>,
}

/// `POST MyRequests`' body. Keys match regardless of case.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
#[schema(example = json!({
    "AccountId": "12",
    "Reason": "Patch the database server tonight",
    "TicketingSystemName": "ServiceNow",
    "TicketId": "CHG0012345",
    "MultipleAccessRequired": true,
    "FromDate": 1795464000,
    "ToDate": 1795474800,
    "AdditionalInfo": {"Reference No": "CHG-2026-118", "EmergencyIndication": false}
}))]
pub struct NewRequestBody {
    /// The account's id (`AccountDetails.AccountID`), as text or a number.
    pub account_id: AccountId,
    /// Why access is needed: at least 10 characters once trimmed.
    pub reason: String,
    /// Both or neither of `TicketingSystemName` and `TicketId`.
    pub ticketing_system_name: Option<String>,
    pub ticket_id: Option<String>,
    /// Multiple access inside the window (`FromDate` and `ToDate` required), or one-time access
    /// (the default).
    pub multiple_access_required: Option<bool>,
    /// Start of the window, Unix seconds (default now).
    pub from_date: Option<i64>,
    /// End of the window, Unix seconds (default: the longest the safe allows).
    pub to_date: Option<i64>,
    /// 1 open, 2 get file, 4 get password, 7 all (the default). Not a PVWA field.
    pub operation_type: Option<i32>,
    pub additional_info: Option<NewAdditionalInfo>,
}

/// Every key the bodies know, to match incoming keys regardless of case.
pub const BODY_KEYS: &[&str] = &[
    "username",
    "password",
    "concurrentSession",
    "AccountId",
    "Reason",
    "TicketingSystemName",
    "TicketId",
    "MultipleAccessRequired",
    "FromDate",
    "ToDate",
    "OperationType",
    "AdditionalInfo",
    "Reference No",
    "EmergencyIndication",
];

/// The native field names a validation error may name, as PVWA names them.
const FIELD_NAMES: &[(&str, &str)] = &[
    ("account_id", "AccountId"),
    ("reason", "Reason"),
    ("access_type", "MultipleAccessRequired"),
    ("access_from", "FromDate"),
    ("access_to", "ToDate"),
    ("operation_type", "OperationType"),
    ("ticketing_system", "TicketingSystemName"),
    ("ticketing_system.name", "TicketingSystemName"),
    ("ticketing_system.number", "TicketId"),
    ("additional_info", "AdditionalInfo"),
    (
        "additional_info.reference_no",
        "AdditionalInfo.Reference No",
    ),
];

/// A native field name as PVWA clients know it.
pub fn pvwa_field(field: &str) -> &str {
    FIELD_NAMES
        .iter()
        .find(|(native, _)| *native == field)
        .map_or(field, |(_, pvwa)| pvwa)
}

impl NewRequestBody {
    /// The native access request, or the fields at fault (named as PVWA names them).
    pub fn into_input(self) -> Result<AccessInput, Vec<FieldError>> {
        let mut errors = Vec::new();
        let account_id = match self.account_id {
            AccountId::Number(id) => Some(id),
            AccountId::Text(text) => text.trim().parse().ok(),
        };
        if account_id.is_none() {
            errors.push(FieldError::new("AccountId", "must be an account id"));
        }
        let mut date = |field: &str, value: Option<i64>| {
            value.and_then(|secs| {
                let date = DateTime::<Utc>::from_timestamp(secs, 0);
                if date.is_none() {
                    errors.push(FieldError::new(field, "must be a date in Unix seconds"));
                }
                date
            })
        };
        let access_from = date("FromDate", self.from_date);
        let access_to = date("ToDate", self.to_date);
        let ticketing_system = match (self.ticketing_system_name, self.ticket_id) {
            (Some(name), Some(number)) => Some(Ticket { name, number }),
            (None, None) => None,
            (Some(_), None) => {
                errors.push(FieldError::new(
                    "TicketId",
                    "is required with TicketingSystemName",
                ));
                None
            }
            (None, Some(_)) => {
                errors.push(FieldError::new(
                    "TicketingSystemName",
                    "is required with TicketId",
                ));
                None
            }
        };
        let operation_type = match self.operation_type {
            None => Some(DEFAULT_OPERATION),
            Some(code) => OperationType::ALL.into_iter().find(|op| op.code() == code),
        };
        if operation_type.is_none() {
            errors.push(FieldError::new("OperationType", "must be 1, 2, 4 or 7"));
        }
        let additional_info = match self.additional_info {
            None => None,
            Some(info) => {
                let emergency = match info.emergency_indication {
                    None => Some(false),
                    Some(Flag::Bool(value)) => Some(value),
                    Some(Flag::Text(text)) => parse_flag(&text),
                };
                if emergency.is_none() {
                    errors.push(FieldError::new(
                        "AdditionalInfo.EmergencyIndication",
                        "must be true or false",
                    ));
                }
                Some(AdditionalInfo {
                    reference_no: info.reference_no,
                    emergency: emergency.unwrap_or(false),
                })
            }
        };
        match (account_id, operation_type) {
            (Some(account_id), Some(operation_type)) if errors.is_empty() => Ok(AccessInput {
                account_id,
                reason: self.reason,
                access_type: if self.multiple_access_required.unwrap_or(false) {
                    AccessType::Multiple
                } else {
                    AccessType::OneTime
                },
                access_from,
                access_to,
                operation_type,
                ticketing_system,
                additional_info,
            }),
            _ => Err(errors),
        }
    }
}

/// `Confirm`'s and `Reject`'s body (`Reason` is required to reject).
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
#[schema(example = json!({"Reason": "Checked with the service owner"}))]
pub struct DecisionBody {
    pub reason: Option<String>,
}

/// Keys of the decision body.
pub const DECISION_KEYS: &[&str] = &["Reason"];

/// The list filters; names and values match regardless of case.
#[derive(Debug, Default, Clone, Copy, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListFilters {
    /// Only requests waiting for a decision (`true`, `false`, `1`, `0`; default false). In
    /// `IncomingRequests`: only those waiting for the caller.
    #[serde(rename = "onlywaiting")]
    pub only_waiting: Option<bool>,
    /// Whether expired and invalid requests are listed too (default true).
    pub expired: Option<bool>,
}

impl ListFilters {
    /// Reads `onlywaiting` and `expired` from a query string; other parameters are ignored.
    pub fn parse(query: &str) -> Result<Self, FieldError> {
        let mut filters = ListFilters::default();
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            let slot = match key.to_ascii_lowercase().as_str() {
                "onlywaiting" => &mut filters.only_waiting,
                "expired" => &mut filters.expired,
                _ => continue,
            };
            *slot =
                Some(parse_flag(&value).ok_or_else(|| {
                    FieldError::new(key.into_owned(), "must be true, false, 1 or 0")
                })?);
        }
        Ok(filters)
    }

    /// The statuses to list: only waiting ones (1) with `onlywaiting`; with `expired=false`
    /// none that PVWA shows as invalid (7: expired, invalid, rejected or cancelled); else all.
    pub fn statuses(self) -> Vec<RequestStatus> {
        if self.only_waiting.unwrap_or(false) {
            vec![RequestStatus::Pending]
        } else if self.expired.unwrap_or(true) {
            vec![]
        } else {
            vec![RequestStatus::Pending, RequestStatus::Approved]
        }
    }
}

fn parse_flag(value: &str) -> Option<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => None,
    }
}

/// A request id as PVWA writes it: the safe's name and our id, `SafeName_N`.
pub fn request_id(safe: &str, id: i64) -> String {
    format!("{safe}_{id}")
}

/// The safe name and numeric id in `SafeName_N` (safe names may hold `_`: the id is after the
/// last one), or `None`.
pub fn parse_request_id(value: &str) -> Option<(&str, i64)> {
    let (safe, id) = value.rsplit_once('_')?;
    if safe.is_empty() || id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((safe, id.parse().ok()?))
}

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

/// Extra facts about the request.
#[derive(Serialize, ToSchema)]
pub struct PvwaAdditionalInfo {
    /// Empty when none was given.
    #[serde(rename = "Reference No")]
    #[schema(rename = "Reference No", example = "CHG-2026-118")]
    pub reference_no: String,
    #[serde(rename = "EmergencyIndication")]
    #[schema(rename = "EmergencyIndication")]
    pub emergency_indication: bool,
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
    /// Our account id, as text: send it back as `AccountId` to request it.
    #[serde(rename = "AccountID")]
    #[schema(rename = "AccountID", example = "12")]
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
}

/// PVWA's status code and title.
pub fn status_code(status: RequestStatus) -> (i32, &'static str) {
    match status {
        RequestStatus::Pending => (1, "Waiting"),
        RequestStatus::Approved => (2, "Confirmed"),
        RequestStatus::Rejected | RequestStatus::Expired | RequestStatus::Invalid => (7, "Invalid"),
    }
}

fn operation_words(operation: OperationType) -> &'static str {
    match operation {
        OperationType::Open => "Open",
        OperationType::GetFile => "Get file of",
        OperationType::GetPassword => "Get password of",
        OperationType::All => "Use",
    }
}

fn secs(date: Option<DateTime<Utc>>) -> i64 {
    date.map_or(0, |d| d.timestamp())
}

fn member(person: &PersonView) -> PvwaMember {
    PvwaMember {
        user_id: person.id,
        user_name: person.username.clone(),
        additional_details: PersonDetails {
            fullname: person.name.clone(),
            email: person.email.clone(),
            phone: String::new(),
        },
    }
}

fn confirmer(confirmer: &Confirmer) -> PvwaConfirmer {
    let additional_details = match confirmer.confirmer_type {
        ConfirmerType::User => confirmer.members.first().map(member).map_or(
            PersonDetails {
                fullname: String::new(),
                email: String::new(),
                phone: String::new(),
            },
            |m| m.additional_details,
        ),
        ConfirmerType::Group => PersonDetails {
            fullname: confirmer.name.clone(),
            email: String::new(),
            phone: String::new(),
        },
    };
    PvwaConfirmer {
        confirmer_type: match confirmer.confirmer_type {
            ConfirmerType::User => 1,
            ConfirmerType::Group => 2,
        },
        id: confirmer.id,
        name: confirmer.name.clone(),
        action: match confirmer.action {
            ConfirmerAction::Reject => 0,
            ConfirmerAction::Confirm => 1,
            ConfirmerAction::None => 2,
        },
        reason: confirmer.reason.clone().unwrap_or_default(),
        action_date: secs(confirmer.action_date),
        additional_details,
        members: confirmer.members.iter().map(member).collect(),
    }
}

/// The PVWA view of a request, or `None` for a request that is not an access request (those are
/// not visible through this API).
pub fn to_pvwa(detail: &RequestDetail) -> Option<PvwaRequest> {
    let access: &AccessDetails = detail.access.as_ref()?;
    let summary = &detail.summary;
    let account = &access.account;
    let (status, status_title) = status_code(summary.status);
    let mut seen = HashSet::new();
    let members = access
        .confirmers
        .iter()
        .flat_map(|c| c.members.iter())
        .filter(|person| seen.insert(person.id))
        .map(member)
        .collect();
    Some(PvwaRequest {
        request_id: request_id(&account.safe, summary.id),
        safe_name: account.safe.clone(),
        requestor_user_name: detail.requester_details.username.clone(),
        requestor_full_name: detail.requester_details.name.clone(),
        requestor_reason: summary.reason.clone(),
        user_reason: summary.reason.clone(),
        creation_date: summary.requested_at.timestamp(),
        operation: format!(
            "{} account {} in safe {}",
            operation_words(access.operation_type),
            account.name,
            account.safe
        ),
        expiration_date: summary.expires_at.timestamp(),
        operation_type: access.operation_type.code(),
        access_type: match access.access_type {
            AccessType::OneTime => "OneTime",
            AccessType::Multiple => "Multiple",
        }
        .to_owned(),
        confirmations_left: summary.confirmations_left,
        access_from: access.access_from.timestamp(),
        access_to: access.access_to.timestamp(),
        status,
        status_title: status_title.to_owned(),
        invalid_request_reason: summary
            .invalid_reasons
            .iter()
            .fold(0, |flags, reason| flags | reason.flag()),
        current_confirmation_level: access.current_confirmation_level,
        required_confirmers_count_level2: access.required_confirmers_count_level2,
        ticketing_system_properties: match &access.ticketing_system {
            Some(ticket) => TicketingSystemProperties {
                name: ticket.name.clone(),
                number: ticket.number.clone(),
                status: 2,
            },
            None => TicketingSystemProperties {
                name: String::new(),
                number: String::new(),
                status: 3,
            },
        },
        additional_info: PvwaAdditionalInfo {
            reference_no: access
                .additional_info
                .reference_no
                .clone()
                .unwrap_or_default(),
            emergency_indication: access.additional_info.emergency,
        },
        account_details: AccountDetails {
            account_id: account.id.to_string(),
            properties: AccountProperties {
                name: account.name.clone(),
                folder: account.folder.clone(),
                safe: account.safe.clone(),
                address: account.address.clone(),
                user_name: account.user_name.clone(),
                last_used_date: secs(account.last_used_at),
            },
        },
        confirmers: access.confirmers.iter().map(confirmer).collect(),
        members,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_split_at_the_last_underscore() {
        assert_eq!(parse_request_id("Finance_42"), Some(("Finance", 42)));
        assert_eq!(parse_request_id("My_Safe_7"), Some(("My_Safe", 7)));
        for bad in [
            "42",
            "_42",
            "Finance_",
            "Finance_+4",
            "Finance_4a",
            "Finance_-1",
        ] {
            assert_eq!(parse_request_id(bad), None, "{bad}");
        }
    }

    #[test]
    fn list_filters_read_names_and_values_regardless_of_case() {
        let filters = ListFilters::parse("OnlyWaiting=TRUE&Expired=0&other=x").expect("valid");
        assert_eq!(filters.only_waiting, Some(true));
        assert_eq!(filters.expired, Some(false));
        assert_eq!(filters.statuses(), vec![RequestStatus::Pending]);
        let error = ListFilters::parse("expired=maybe").expect_err("invalid");
        assert_eq!(error.field, "expired");
    }
}
