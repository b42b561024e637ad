//! The rows of `requests`: what is read, what a new request writes, and the people a request
//! names. Leaf module: it imports nothing else of the package.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{requests, users};
use crate::domain::access::{AccessType, OperationType};
use crate::domain::request::{RequestStatus, RequestType};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = requests)]
pub struct RequestRow {
    pub id: i64,
    pub request_type: RequestType,
    /// The status as stored; what the request shows also depends on the time.
    pub status: RequestStatus,
    pub requester_id: i64,
    pub reason: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub approved_at: Option<NaiveDateTime>,
    pub rejected_at: Option<NaiveDateTime>,
    pub rejection_reason: Option<String>,
    pub current_level: i32,
    pub confirmations_required: i32,
    pub confirmations_given: i32,
    pub requester_email: String,
    pub csr_pem: Option<String>,
    pub common_name: Option<String>,
    pub subject_alt_names: Option<String>,
    pub key_algorithm: Option<String>,
    pub public_key_fingerprint: Option<String>,
    pub validity_days: Option<i32>,
    pub certificate_id: Option<i64>,
    pub safe_id: Option<i64>,
    pub account_id: Option<i64>,
    pub access_type: Option<AccessType>,
    pub operation_type: Option<OperationType>,
    pub access_from: Option<NaiveDateTime>,
    pub access_to: Option<NaiveDateTime>,
    pub ticketing_system: Option<String>,
    pub ticket_id: Option<String>,
    pub reference_no: Option<String>,
    pub emergency: Option<bool>,
    pub policy_version: Option<i32>,
    pub level2_required: i32,
    pub level2_given: i32,
    pub invalid_flags: i32,
    pub use_count: i32,
    pub last_used_at: Option<NaiveDateTime>,
    pub pvwa_extras: Option<String>,
}

/// The columns that decide what a request shows ([`shown`](super::status::shown)), the
/// confirmations it still needs and the safe and account it names: the same in a full
/// [`RequestRow`] and in a list's [`SummaryRow`], so each rule is written once for both.
#[derive(Debug, Clone, Copy, Queryable, Selectable)]
#[diesel(table_name = requests)]
pub struct RequestState {
    /// The status as stored; what the request shows also depends on the time.
    pub status: RequestStatus,
    pub expires_at: NaiveDateTime,
    pub access_to: Option<NaiveDateTime>,
    pub invalid_flags: i32,
    pub current_level: i32,
    pub confirmations_required: i32,
    pub confirmations_given: i32,
    pub level2_required: i32,
    pub level2_given: i32,
    pub safe_id: Option<i64>,
    pub account_id: Option<i64>,
}

/// A row the rules of [`RequestState`] read.
pub trait HasState {
    fn state(&self) -> RequestState;
}

impl HasState for RequestState {
    fn state(&self) -> RequestState {
        *self
    }
}

impl HasState for RequestRow {
    fn state(&self) -> RequestState {
        RequestState {
            status: self.status,
            expires_at: self.expires_at,
            access_to: self.access_to,
            invalid_flags: self.invalid_flags,
            current_level: self.current_level,
            confirmations_required: self.confirmations_required,
            confirmations_given: self.confirmations_given,
            level2_required: self.level2_required,
            level2_given: self.level2_given,
            safe_id: self.safe_id,
            account_id: self.account_id,
        }
    }
}

impl<T: HasState> HasState for &T {
    fn state(&self) -> RequestState {
        (*self).state()
    }
}

/// What a list shows of a request: its summary's columns and none of the rest, the CSR (about
/// 1 KB a row) above all. Issue 13's S3 profile found the dashboard's time in copying and
/// freeing columns its answer never shows.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = requests)]
pub struct SummaryRow {
    pub id: i64,
    pub request_type: RequestType,
    pub reason: String,
    pub created_at: NaiveDateTime,
    pub approved_at: Option<NaiveDateTime>,
    pub rejected_at: Option<NaiveDateTime>,
    pub rejection_reason: Option<String>,
    pub common_name: Option<String>,
    pub subject_alt_names: Option<String>,
    pub certificate_id: Option<i64>,
    #[diesel(embed)]
    pub state: RequestState,
}

impl HasState for SummaryRow {
    fn state(&self) -> RequestState {
        self.state
    }
}

impl From<RequestRow> for SummaryRow {
    fn from(row: RequestRow) -> Self {
        Self {
            state: row.state(),
            id: row.id,
            request_type: row.request_type,
            reason: row.reason,
            created_at: row.created_at,
            approved_at: row.approved_at,
            rejected_at: row.rejected_at,
            rejection_reason: row.rejection_reason,
            common_name: row.common_name,
            subject_alt_names: row.subject_alt_names,
            certificate_id: row.certificate_id,
        }
    }
}

/// A request's summary with its requester's username, as a list page reads it.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct SummaryWithRequester {
    #[diesel(embed)]
    pub request: SummaryRow,
    #[diesel(column_name = username)]
    pub requester: String,
}

/// A new request: what every request has, and the columns of each kind (left empty by the other).
#[derive(Debug, Insertable)]
#[diesel(table_name = requests)]
pub struct NewRequestRow<'a> {
    pub request_type: RequestType,
    pub status: RequestStatus,
    pub requester_id: i64,
    pub reason: &'a str,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub confirmations_required: i32,
    pub requester_email: &'a str,
    #[diesel(embed)]
    pub certificate: NewCertificateColumns<'a>,
    #[diesel(embed)]
    pub access: NewAccessColumns<'a>,
}

/// The columns only a certificate request fills.
#[derive(Debug, Default, Insertable)]
#[diesel(table_name = requests)]
pub struct NewCertificateColumns<'a> {
    pub csr_pem: Option<&'a str>,
    pub common_name: Option<&'a str>,
    pub subject_alt_names: Option<&'a str>,
    pub key_algorithm: Option<&'a str>,
    pub public_key_fingerprint: Option<&'a str>,
    pub validity_days: Option<i32>,
}

/// The columns only an access request fills.
#[derive(Debug, Default, Insertable)]
#[diesel(table_name = requests)]
pub struct NewAccessColumns<'a> {
    pub safe_id: Option<i64>,
    pub account_id: Option<i64>,
    pub access_type: Option<AccessType>,
    pub operation_type: Option<OperationType>,
    pub access_from: Option<NaiveDateTime>,
    pub access_to: Option<NaiveDateTime>,
    pub ticketing_system: Option<&'a str>,
    pub ticket_id: Option<&'a str>,
    pub reference_no: Option<&'a str>,
    pub emergency: Option<bool>,
    pub policy_version: Option<i32>,
    pub level2_required: i32,
    pub pvwa_extras: Option<String>,
}

/// A user as others see them on a request, a decision or a safe: username, name and e-mail.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct PersonRow {
    pub username: String,
    pub name: String,
    pub email: String,
}

/// A request with its requester.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = requests)]
pub struct RequestWithRequester {
    #[diesel(embed)]
    pub request: RequestRow,
    #[diesel(embed)]
    pub requester: PersonRow,
}
