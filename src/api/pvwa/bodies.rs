//! What the PVWA compatibility API reads: the bodies (PascalCase keys, matched regardless of
//! case) and the list filters.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::domain::FieldError;
use crate::domain::request::RequestStatus;

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
    /// A new password to set at logon (`New-PASSession -newPassword`), under the same rules as
    /// `PATCH /api/v3/users` with `current_password`; the session answered is kept.
    #[serde(rename = "newPassword")]
    #[schema(rename = "newPassword", write_only)]
    pub new_password: Option<String>,
}

/// An account id, as a number or as the text of one.
#[derive(Deserialize, ToSchema)]
#[serde(untagged)]
pub enum AccountId {
    Number(i64),
    Text(String),
}

/// A date in Unix seconds. psPAS on PowerShell 7 writes whole numbers as floats
/// (`1796139298.0`), so a float is taken when it has no fraction; the conversion refuses any
/// other, naming the field.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(untagged)]
pub enum UnixSeconds {
    Whole(i64),
    Float(f64),
}

impl UnixSeconds {
    /// The whole number of seconds, if it is one that fits.
    pub fn whole(self) -> Option<i64> {
        match self {
            Self::Whole(secs) => Some(secs),
            // i64::MAX as f64 rounds up to 2^63, so the upper bound is exclusive.
            Self::Float(secs)
                if secs.fract() == 0.0 && secs >= -(2f64.powi(63)) && secs < 2f64.powi(63) =>
            {
                Some(secs as i64)
            }
            Self::Float(_) => None,
        }
    }
}

/// `true`/`false`, also as text.
#[derive(Deserialize, ToSchema)]
#[serde(untagged)]
pub enum Flag {
    Bool(bool),
    Text(String),
}

/// `AdditionalInfo` of a new request: PVWA's map of configured keys. `Reference No` and
/// `EmergencyIndication` are read as such; any other key with a text value is kept as sent and
/// shown back in the details.
#[derive(Deserialize, ToSchema)]
pub struct NewAdditionalInfo {
    /// An external reference, at most 100 characters.
    #[serde(rename = "Reference No")]
    #[schema(rename = "Reference No")]
    pub reference_no: Option<String>,
    #[serde(rename = "EmergencyIndication")]
    #[schema(rename = "EmergencyIndication")]
    pub emergency_indication: Option<Flag>,
    /// Every other key: text values, at most 20 keys of 100 characters, values of 1000.
    #[serde(flatten)]
    #[schema(ignore)]
    pub other: BTreeMap<String, Value>,
}

/// `POST MyRequests`' body. Keys match regardless of case.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
#[schema(example = json!({
    "AccountId": "3_12",
    "Reason": "Patch the database server tonight",
    "TicketingSystemName": "ServiceNow",
    "TicketId": "CHG0012345",
    "MultipleAccessRequired": true,
    "FromDate": 1795464000,
    "ToDate": 1795474800,
    "AdditionalInfo": {"Reference No": "CHG-2026-118", "EmergencyIndication": false}
}))]
pub struct NewRequestBody {
    /// The account's id as the account list writes it (`<safe id>_<account id>`, also in
    /// `AccountDetails.AccountID`); a bare account id, as text or a number, is read too.
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
    #[schema(value_type = Option<i64>)]
    pub from_date: Option<UnixSeconds>,
    /// End of the window, Unix seconds (default: the longest the safe allows).
    #[schema(value_type = Option<i64>)]
    pub to_date: Option<UnixSeconds>,
    /// 1 open, 2 get file, 4 get password, 7 all (the default). Not a PVWA field.
    pub operation_type: Option<i32>,
    pub additional_info: Option<NewAdditionalInfo>,
    /// Whether the access is to connect through PSM: kept and shown back.
    pub use_connect: Option<bool>,
    /// The PSM connection component (`PSM-SSH`), at most 100 characters: kept and shown back.
    pub connection_component: Option<String>,
    /// PSM connection settings, an object as psPAS nests them (at most 4000 bytes): kept and
    /// shown back.
    #[schema(value_type = Option<Object>)]
    pub connection_params: Option<Value>,
}

/// Every key the bodies know, to match incoming keys regardless of case.
pub const BODY_KEYS: &[&str] = &[
    "username",
    "password",
    "concurrentSession",
    "newPassword",
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
    "UseConnect",
    "ConnectionComponent",
    "ConnectionParams",
];

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

pub(super) fn parse_flag(value: &str) -> Option<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
