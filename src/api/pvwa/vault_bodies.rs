//! What the PVWA vault calls read: `Add-PASAccount`'s body and the bulk decisions' (keys
//! regardless of case).

use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::secrets::SecretText;

/// `POST Accounts`' body, as `Add-PASAccount` sends it. Keys match regardless of case
/// (psPAS writes `platformID` and `SafeName`).
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({
    "name": "root-db01",
    "address": "db01.example.com",
    "userName": "root",
    "platformId": "UnixSSH",
    "safeName": "Finance",
    "secretType": "password",
    "secret": "correct horse battery staple"
}))]
pub struct AddAccountBody {
    /// 1 to 128 characters; when left out, `<platformId>-<address>-<userName>`, as PVWA names
    /// an account.
    pub name: Option<String>,
    /// Host name or IP address of the target.
    pub address: String,
    /// The user name on the target.
    pub user_name: String,
    /// The platform (`platformID` as psPAS writes it), up to 100 characters.
    pub platform_id: String,
    /// The safe to add it to (any case).
    pub safe_name: String,
    /// `password` (the default) or `key`.
    pub secret_type: Option<String>,
    /// The password or key, 1 to 8192 bytes, sealed as it is stored. Never returned.
    #[schema(write_only, value_type = Option<String>)]
    pub secret: Option<SecretText>,
    /// Accepted and not kept: no platform properties are stored.
    #[schema(value_type = Option<Object>)]
    pub platform_account_properties: Option<Value>,
    /// Accepted and not kept: secrets are never managed automatically here.
    #[schema(value_type = Option<Object>)]
    pub secret_management: Option<Value>,
    /// Accepted and not kept.
    #[schema(value_type = Option<Object>)]
    pub remote_machines_access: Option<Value>,
}

/// The keys of [`AddAccountBody`], to match incoming keys regardless of case.
pub const ADD_ACCOUNT_KEYS: &[&str] = &[
    "name",
    "address",
    "userName",
    "platformId",
    "safeName",
    "secretType",
    "secret",
    "platformAccountProperties",
    "secretManagement",
    "remoteMachinesAccess",
];

/// One item of a bulk decision.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct BulkItem {
    /// `SafeName_N`, as in the single calls.
    pub request_id: String,
    /// Required to reject.
    pub reason: Option<String>,
}

/// `IncomingRequests/Confirm/Bulk`'s and `/Reject/Bulk`'s body, as `Approve-PASRequest` and
/// `Deny-PASRequest` send it for several requests. Keys match regardless of case.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
#[schema(example = json!({"BulkItems": [
    {"RequestId": "Finance_42", "Reason": "Checked with the service owner"},
    {"RequestId": "Finance_43", "Reason": "Checked with the service owner"}
]}))]
pub struct BulkDecisionBody {
    /// 1 to 100 items, each decided on its own.
    pub bulk_items: Vec<BulkItem>,
}

/// The keys of [`BulkDecisionBody`].
pub const BULK_KEYS: &[&str] = &["BulkItems", "RequestId", "Reason"];
