//! Lookups and refusals every part of the engine shares. Leaf module: it imports nothing of the
//! package.

use crate::db::DbConnection;
use crate::db::requests::{self as req_db, RequestWithRequester};
use crate::error::{AppError, ErrorCode};

/// The request with its requester; with `requester_id`, only if it is theirs (else not found).
pub(super) fn require_request(
    conn: &mut DbConnection,
    id: i64,
    requester_id: Option<i64>,
) -> Result<RequestWithRequester, AppError> {
    req_db::find(conn, id, requester_id)?
        .ok_or_else(|| AppError::new(ErrorCode::NotFound, format!("no request {id}")))
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
