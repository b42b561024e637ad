//! Lookups and refusals every part of the engine shares. Leaf module: it imports nothing of the
//! package.

use crate::db::requests::{self as req_db, RequestWithRequester};
use crate::db::{DbConnection, safes as safe_db};
use crate::error::{AppError, ErrorCode};
use crate::service::auth::CurrentUser;

/// The request with its requester; with `requester_id`, only if it is theirs (else not found).
pub(super) fn require_request(
    conn: &mut DbConnection,
    id: i64,
    requester_id: Option<i64>,
) -> Result<RequestWithRequester, AppError> {
    req_db::find(conn, id, requester_id)?.ok_or_else(|| no_request(id))
}

pub(super) fn no_request(id: i64) -> AppError {
    AppError::new(ErrorCode::NotFound, format!("no request {id}"))
}

pub(super) fn not_pending() -> AppError {
    AppError::new(
        ErrorCode::RequestNotPending,
        "the request is no longer pending",
    )
}

pub(super) fn already_decided() -> AppError {
    AppError::new(
        ErrorCode::AlreadyDecided,
        "you, or the group you act for, have already decided this request",
    )
}

pub(super) fn own_request() -> AppError {
    AppError::new(
        ErrorCode::OwnRequest,
        "you cannot decide your own request".to_owned(),
    )
}

/// How a caller names one request: by its id, or as PVWA clients do, `SafeName_N` (the access
/// request `N` of the safe of that name, in any case).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestRef<'a> {
    Id(i64),
    InSafe { id: i64, safe: &'a str },
}

impl From<i64> for RequestRef<'_> {
    fn from(id: i64) -> Self {
        RequestRef::Id(id)
    }
}

impl RequestRef<'_> {
    /// The request's id, once it is known to be what the caller named; anything else, a
    /// certificate request named by a safe included, is not found. Checked right after the
    /// caller is authenticated, on the same connection.
    pub(super) fn resolve(self, conn: &mut DbConnection) -> Result<i64, AppError> {
        let (id, safe) = match self {
            RequestRef::Id(id) => return Ok(id),
            RequestRef::InSafe { id, safe } => (id, safe),
        };
        let not_found = || AppError::new(ErrorCode::NotFound, format!("no request {safe}_{id}"));
        let found = req_db::find(conn, id, None)?.ok_or_else(not_found)?;
        let names = req_db::safe_and_account_names(conn, &[&found.request])?;
        match names.safe(&found.request) {
            Some(name) if name.eq_ignore_ascii_case(safe) => Ok(id),
            _ => Err(not_found()),
        }
    }
}

/// Approvers and administrators review certificate requests; anyone who confirms in some safe
/// reviews access requests.
pub(super) fn is_reviewer(conn: &mut DbConnection, me: &CurrentUser) -> Result<bool, AppError> {
    Ok(me.is_approver() || safe_db::confirms_anywhere(conn, me.id, me.role)?)
}

/// Refuses whoever [`is_reviewer`] is not.
pub(super) fn require_reviewer(conn: &mut DbConnection, me: &CurrentUser) -> Result<(), AppError> {
    if is_reviewer(conn, me)? {
        Ok(())
    } else {
        Err(AppError::new(
            ErrorCode::Forbidden,
            "only approvers, administrators and safe confirmers review requests",
        ))
    }
}
