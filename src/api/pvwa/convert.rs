//! The translation between PVWA's wire types and the native request model: PascalCase names,
//! Unix-second dates, PVWA's numeric codes, `SafeName_N` ids. Nothing here decides anything;
//! every rule stays in the services.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Utc};

use super::account_ids::PvwaAccountId;
use super::bodies::{AccountId, Flag, NewRequestBody, UnixSeconds, parse_flag};
use super::views::{
    AccountDetails, AccountProperties, PersonDetails, PvwaAdditionalInfo, PvwaConfirmer,
    PvwaMember, PvwaRequest, TicketingSystemProperties,
};
use crate::domain::FieldError;
use crate::domain::access::{
    AccessDetails, AccessType, AdditionalInfo, ClientExtras, Confirmer, ConfirmerAction,
    ConfirmerType, OperationType, PersonView, Ticket,
};
use crate::domain::request::{RequestDetail, RequestStatus};
use crate::service::requests::AccessInput;

/// The operation a request asks for when `OperationType` is not sent: everything.
const DEFAULT_OPERATION: OperationType = OperationType::All;

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
    ("connection_component", "ConnectionComponent"),
    ("connection_params", "ConnectionParams"),
    ("user_name", "userName"),
    ("platform_id", "platformId"),
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
            AccountId::Number(id) => (id > 0).then_some(PvwaAccountId {
                safe_id: None,
                account_id: id,
            }),
            AccountId::Text(text) => PvwaAccountId::parse(&text),
        };
        if account_id.is_none() {
            errors.push(FieldError::new(
                "AccountId",
                "must be an account id (<safe id>_<account id>)",
            ));
        }
        let mut date = |field: &str, value: Option<UnixSeconds>| {
            value.and_then(|secs| {
                let date = secs
                    .whole()
                    .and_then(|secs| DateTime::<Utc>::from_timestamp(secs, 0));
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
        let mut extras = ClientExtras {
            additional_info: BTreeMap::new(),
            use_connect: self.use_connect,
            connection_component: self.connection_component,
            connection_params: self.connection_params,
        };
        let additional_info = match self.additional_info {
            None => None,
            Some(info) => {
                for (key, value) in info.other {
                    match value {
                        serde_json::Value::String(text) => {
                            extras.additional_info.insert(key, text);
                        }
                        _ => errors.push(FieldError::new(
                            format!("AdditionalInfo.{key}"),
                            "must be text",
                        )),
                    }
                }
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
                account_id: account_id.account_id,
                safe_id: account_id.safe_id,
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
                extras,
            }),
            _ => Err(errors),
        }
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
            other: access.extras.additional_info.clone(),
        },
        account_details: AccountDetails {
            account_id: PvwaAccountId::of(account.safe_id, account.id).to_string(),
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
        use_connect: access.extras.use_connect.unwrap_or(false),
        connection_component: access
            .extras
            .connection_component
            .clone()
            .unwrap_or_default(),
        connection_params: access
            .extras
            .connection_params
            .clone()
            .unwrap_or_else(|| serde_json::Value::Object(serde_json::Map::new())),
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
}
