//! What the PVWA compatibility API writes about the vault around a request: accounts (as PVWA
//! 10 and later return them), safes and their members (as psPAS 12.2 and later read them), and
//! the version probes. Names are camelCase where PVWA's v2 API writes them so, PascalCase in the
//! older `WebServices` answers.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::account_ids::PvwaAccountId;
use super::error::PvwaErrorBody;
use crate::domain::access::{MemberType, SafeMember};
use crate::secrets::SecretType;
use crate::service::safes::search::{FoundAccount, FoundSafe};

/// The PVWA version whose API shapes this compatibility layer answers; psPAS's version gates
/// take their branches by it (bulk decisions need 14.6, the account search's properties 14.4).
pub const EXTERNAL_VERSION: &str = "14.6.0";

/// How an account's secret is managed: never automatically here.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretManagement {
    /// Always false: requestdesk does not rotate secrets.
    pub automatic_management_enabled: bool,
    #[schema(example = "Managed through requestdesk")]
    pub manual_management_reason: String,
    /// When the account was created, Unix seconds.
    pub last_modified_time: i64,
}

/// An account, as PVWA 10 and later return it.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PvwaAccount {
    /// `<safe id>_<account id>`: what `Get-PASAccount -id`, `New-PASRequest -AccountId` and
    /// the password retrieval take.
    #[schema(example = "3_12")]
    pub id: String,
    #[schema(example = "root-db01")]
    pub name: String,
    #[schema(example = "db01.example.com")]
    pub address: String,
    #[schema(example = "root")]
    pub user_name: String,
    /// The platform given at creation (`platformID`), empty when none was.
    #[schema(example = "UnixSSH")]
    pub platform_id: String,
    #[schema(example = "Finance")]
    pub safe_name: String,
    /// `password` or `key` (`password` when the account holds no secret yet).
    #[schema(example = "password")]
    pub secret_type: String,
    /// Platform properties: none are kept, so always `{}`.
    pub platform_account_properties: BTreeMap<String, String>,
    pub secret_management: SecretManagement,
    /// Unix seconds.
    #[schema(example = 1795464000)]
    pub created_time: i64,
    /// Unix seconds: when the account was created (accounts move to no other category).
    #[schema(example = 1795464000)]
    pub category_modification_time: i64,
}

impl From<&FoundAccount> for PvwaAccount {
    fn from(found: &FoundAccount) -> Self {
        let account = &found.account;
        let created = account.created_at.timestamp();
        Self {
            id: PvwaAccountId::of(account.safe_id, account.id).to_string(),
            name: account.name.clone(),
            address: account.address.clone(),
            user_name: account.user_name.clone(),
            platform_id: account.platform_id.clone(),
            safe_name: account.safe.clone(),
            secret_type: found
                .secret_type
                .unwrap_or(SecretType::Password)
                .as_str()
                .to_owned(),
            platform_account_properties: BTreeMap::new(),
            secret_management: SecretManagement {
                automatic_management_enabled: false,
                manual_management_reason: "Managed through requestdesk".to_owned(),
                last_modified_time: created,
            },
            created_time: created,
            category_modification_time: created,
        }
    }
}

/// One page of accounts: `{"value","count","nextLink"}`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PvwaAccountList {
    pub value: Vec<PvwaAccount>,
    /// How many accounts match in all (not only on this page).
    pub count: i64,
    /// The next page, relative to `/PasswordVault` (`api/Accounts?...&offset=50&limit=50`);
    /// absent after the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_link: Option<String>,
}

/// What one search property accepts.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SearchProperty {
    /// Empty: any value.
    pub valid_values: Vec<String>,
    #[schema(example = json!(["eq"]))]
    pub supported_operators: Vec<String>,
    #[schema(example = json!(["AND"]))]
    pub supported_logical_operators: Vec<String>,
}

/// `{"advancedSearchProperties": {"<property>": {...}}}`: the properties `filter` takes.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AdvancedSearchProperties {
    pub advanced_search_properties: BTreeMap<String, SearchProperty>,
}

impl AdvancedSearchProperties {
    /// `safeName`, with `eq`: the one filter the account list takes.
    pub fn supported() -> Self {
        let mut properties = BTreeMap::new();
        properties.insert(
            "safeName".to_owned(),
            SearchProperty {
                valid_values: vec![],
                supported_operators: vec!["eq".to_owned()],
                supported_logical_operators: vec!["AND".to_owned()],
            },
        );
        Self {
            advanced_search_properties: properties,
        }
    }
}

/// An authentication method the server offers.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct AuthenticationMethod {
    #[schema(example = "cyberark")]
    pub id: String,
    pub enabled: bool,
}

/// `WebServices/PIMServices.svc/Server`: what psPAS's `Get-PASServer` returns, and where
/// `New-PASSession` reads `ExternalVersion`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct PvwaServer {
    #[schema(example = "requestdesk")]
    pub server_name: String,
    #[schema(example = "requestdesk")]
    pub server_id: String,
    #[schema(example = "PasswordVault")]
    pub application_name: String,
    /// The PVWA version whose API shapes are answered.
    #[schema(example = "14.6.0")]
    pub external_version: String,
    /// This service's own version.
    #[schema(example = "0.1.0")]
    pub internal_version: String,
    pub authentication_methods: Vec<AuthenticationMethod>,
}

impl PvwaServer {
    pub fn this_server() -> Self {
        Self {
            server_name: "requestdesk".to_owned(),
            server_id: "requestdesk".to_owned(),
            application_name: "PasswordVault".to_owned(),
            external_version: EXTERNAL_VERSION.to_owned(),
            internal_version: env!("CARGO_PKG_VERSION").to_owned(),
            authentication_methods: vec![AuthenticationMethod {
                id: "cyberark".to_owned(),
                enabled: true,
            }],
        }
    }
}

/// `WebServices/PIMServices.svc/User`: the logged-on user, as `Get-PASLoggedOnUser` returns
/// it (`New-PASSession` reads `UserName`).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct PvwaLoggedOnUser {
    #[schema(example = "jdoe")]
    pub user_name: String,
    /// The full name as one text (PVWA splits it; we do not).
    #[schema(example = "Jane Doe")]
    pub first_name: String,
    /// Always empty: see `FirstName`.
    pub last_name: String,
    #[schema(example = "jdoe@example.com")]
    pub email: String,
    /// Always `Internal`.
    #[schema(example = "Internal")]
    pub source: String,
    /// `EPVUser`.
    #[schema(example = "EPVUser")]
    pub user_type_name: String,
    pub expired: bool,
    pub disabled: bool,
    pub suspended: bool,
    pub agent_user: bool,
    /// Always `\`: there are no vault locations.
    #[schema(example = "\\")]
    pub location: String,
}

/// Who made a safe: not recorded, so always empty.
#[derive(Serialize, ToSchema)]
pub struct SafeCreator {
    pub id: String,
    pub name: String,
}

/// A safe, as PVWA 12.2 and later return it (`Get-PASSafe`).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PvwaSafe {
    /// The name, as it goes in a path.
    #[schema(example = "Finance")]
    pub safe_url_id: String,
    #[schema(example = "Finance")]
    pub safe_name: String,
    /// The safe's id: the first part of its accounts' ids.
    #[schema(example = 3)]
    pub safe_number: i64,
    pub description: String,
    /// Always `\`.
    #[schema(example = "\\")]
    pub location: String,
    pub creator: SafeCreator,
    /// Always false.
    #[serde(rename = "olacEnabled")]
    #[schema(rename = "olacEnabled")]
    pub olac_enabled: bool,
    /// Always empty: no CPM manages secrets here.
    #[serde(rename = "managingCPM")]
    #[schema(rename = "managingCPM")]
    pub managing_cpm: String,
    /// Always null.
    pub number_of_versions_retention: Option<i32>,
    /// Always null.
    pub number_of_days_retention: Option<i32>,
    pub auto_purge_enabled: bool,
    /// Unix seconds.
    #[schema(example = 1795464000)]
    pub creation_time: i64,
    /// Unix microseconds, as PVWA writes it.
    #[schema(example = 1795464000000000_i64)]
    pub last_modification_time: i64,
    pub is_expired_member: bool,
}

impl From<&FoundSafe> for PvwaSafe {
    fn from(found: &FoundSafe) -> Self {
        let safe = &found.safe;
        Self {
            safe_url_id: safe.name.clone(),
            safe_name: safe.name.clone(),
            safe_number: found.number,
            description: safe.description.clone(),
            location: "\\".to_owned(),
            creator: SafeCreator {
                id: String::new(),
                name: String::new(),
            },
            olac_enabled: false,
            managing_cpm: String::new(),
            number_of_versions_retention: None,
            number_of_days_retention: None,
            auto_purge_enabled: false,
            creation_time: safe.created_at.timestamp(),
            last_modification_time: safe.updated_at.timestamp_micros(),
            is_expired_member: false,
        }
    }
}

/// One page of safes: `{"value","count","nextLink"}`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PvwaSafeList {
    pub value: Vec<PvwaSafe>,
    /// How many safes match in all.
    pub count: i64,
    /// The next page, relative to `/PasswordVault` (`api/Safes?offset=25&limit=25`); absent
    /// after the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_link: Option<String>,
}

/// What a member may do, in PVWA's permission names: members list and use the accounts, those
/// who may request use and retrieve them (through a request), confirmers authorize requests at
/// their level. Every other permission is false.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MemberPermissions {
    pub use_accounts: bool,
    pub retrieve_accounts: bool,
    pub list_accounts: bool,
    pub add_accounts: bool,
    pub update_account_content: bool,
    pub update_account_properties: bool,
    #[serde(rename = "initiateCPMAccountManagementOperations")]
    #[schema(rename = "initiateCPMAccountManagementOperations")]
    pub initiate_cpm_account_management_operations: bool,
    pub specify_next_account_content: bool,
    pub rename_accounts: bool,
    pub delete_accounts: bool,
    pub unlock_accounts: bool,
    pub manage_safe: bool,
    pub manage_safe_members: bool,
    pub backup_safe: bool,
    pub view_audit_log: bool,
    pub view_safe_members: bool,
    pub access_without_confirmation: bool,
    pub create_folders: bool,
    pub delete_folders: bool,
    pub move_accounts_and_folders: bool,
    pub requests_authorization_level1: bool,
    pub requests_authorization_level2: bool,
}

impl MemberPermissions {
    fn of(member: &SafeMember) -> Self {
        Self {
            use_accounts: member.can_request,
            retrieve_accounts: member.can_request,
            list_accounts: true,
            add_accounts: false,
            update_account_content: false,
            update_account_properties: false,
            initiate_cpm_account_management_operations: false,
            specify_next_account_content: false,
            rename_accounts: false,
            delete_accounts: false,
            unlock_accounts: false,
            manage_safe: false,
            manage_safe_members: false,
            backup_safe: false,
            view_audit_log: false,
            view_safe_members: true,
            access_without_confirmation: false,
            create_folders: false,
            delete_folders: false,
            move_accounts_and_folders: false,
            requests_authorization_level1: member.confirm_level == Some(1),
            requests_authorization_level2: member.confirm_level == Some(2),
        }
    }
}

/// A safe member, as PVWA 12.2 and later return it (`Get-PASSafeMember`).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PvwaSafeMember {
    #[schema(example = "Finance")]
    pub safe_url_id: String,
    #[schema(example = "Finance")]
    pub safe_name: String,
    #[schema(example = 3)]
    pub safe_number: i64,
    /// The username, or the role acting as a group.
    #[schema(example = "jdoe")]
    pub member_id: String,
    #[schema(example = "jdoe")]
    pub member_name: String,
    /// `User` or `Group` (a role).
    #[schema(example = "User")]
    pub member_type: String,
    /// Always null: memberships do not expire.
    pub membership_expiration_date: Option<i64>,
    pub is_expired_membership_enable: bool,
    pub is_predefined_user: bool,
    pub is_read_only: bool,
    pub permissions: MemberPermissions,
}

impl PvwaSafeMember {
    pub fn of(safe: &FoundSafe, member: &SafeMember) -> Self {
        Self {
            safe_url_id: safe.safe.name.clone(),
            safe_name: safe.safe.name.clone(),
            safe_number: safe.number,
            member_id: member.name.clone(),
            member_name: member.name.clone(),
            member_type: match member.member_type {
                MemberType::User => "User",
                MemberType::Group => "Group",
            }
            .to_owned(),
            membership_expiration_date: None,
            is_expired_membership_enable: false,
            is_predefined_user: false,
            is_read_only: false,
            permissions: MemberPermissions::of(member),
        }
    }
}

/// A safe's members: `{"value","count"}` (psPAS keeps the members only when `count` is there).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PvwaSafeMemberList {
    pub value: Vec<PvwaSafeMember>,
    /// How many members the safe has in all.
    pub count: i64,
}

/// How many items a bulk action had, and how they went.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct BulkResult {
    pub total: usize,
    pub succeeded: usize,
    pub failed: usize,
}

/// One item of a bulk action and, when it failed, why (PVWA's error body for that item).
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct BulkItemOutcome {
    /// The item's place in `BulkItems`, from 0.
    pub index: usize,
    #[schema(example = "Finance_42")]
    pub request_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<PvwaErrorBody>,
}

/// The items that succeeded or failed.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct BulkItems {
    pub total: usize,
    pub items: Vec<BulkItemOutcome>,
}

/// `GET /API/bulkactions/{id}`: a bulk decision, decided when it was posted.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct PvwaBulkAction {
    /// The id the bulk call answered.
    #[schema(example = 7)]
    pub id: i64,
    /// Always `IncomingRequests`.
    #[schema(example = "IncomingRequests")]
    pub source: String,
    /// `Confirm` or `Reject`.
    #[schema(example = "Confirm")]
    pub action: String,
    /// Unix seconds.
    #[schema(example = 1795464000)]
    pub creation_time: i64,
    /// `Completed` (every item succeeded), `CompletedWithErrors` or `Failed` (none did).
    #[schema(example = "Completed")]
    pub status: String,
    pub result: BulkResult,
    pub succeeded_items: BulkItems,
    pub failed_items: BulkItems,
}

impl PvwaBulkAction {
    /// The action over its items' outcomes (`Err` holding why an item failed); its id and
    /// creation time are set once it is stored.
    pub fn decided(action: &str, outcomes: Vec<(String, Result<(), PvwaErrorBody>)>) -> Self {
        let mut succeeded = Vec::new();
        let mut failed = Vec::new();
        for (index, (request_id, outcome)) in outcomes.into_iter().enumerate() {
            match outcome {
                Ok(()) => succeeded.push(BulkItemOutcome {
                    index,
                    request_id,
                    error: None,
                }),
                Err(error) => failed.push(BulkItemOutcome {
                    index,
                    request_id,
                    error: Some(error),
                }),
            }
        }
        let status = match (succeeded.is_empty(), failed.is_empty()) {
            (_, true) => "Completed",
            (true, false) => "Failed",
            (false, false) => "CompletedWithErrors",
        };
        Self {
            id: 0,
            source: "IncomingRequests".to_owned(),
            action: action.to_owned(),
            creation_time: 0,
            status: status.to_owned(),
            result: BulkResult {
                total: succeeded.len() + failed.len(),
                succeeded: succeeded.len(),
                failed: failed.len(),
            },
            succeeded_items: BulkItems {
                total: succeeded.len(),
                items: succeeded,
            },
            failed_items: BulkItems {
                total: failed.len(),
                items: failed,
            },
        }
    }
}
