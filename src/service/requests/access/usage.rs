//! Using an approved access inside its window, and finding a request by the name PVWA clients
//! give it (`SafeName_N`).

use chrono::NaiveDateTime;

use crate::db::requests::{self as req_db, RequestRow};
use crate::db::safes::{self as safe_db};
use crate::db::{self};
use crate::domain::access::{AccessGrant, AccessType, InvalidReason, OperationType};
use crate::domain::request::{EventKind, RequestStatus};
use crate::domain::time::utc;
use crate::error::{AppError, ErrorCode};
use crate::service::Context;
use crate::service::auth::VerifiedToken;
use crate::service::requests::events::record_event;
use crate::service::requests::lookups::require_request;

/// Uses an approved access inside its window: records the use and answers how to reach the
/// account. A one-time request is spent by its first use.
pub fn use_access(ctx: &Context, token: &VerifiedToken, id: i64) -> Result<AccessGrant, AppError> {
    let (mut conn, me) = ctx.authenticate(token)?;
    let now = ctx.clock.now_naive();
    let (request, account, safe) = db::write_transaction(&mut conn, |conn| {
        let request = require_request(conn, id, Some(me.id))?.request;
        let Some(safe_id) = request.safe_id else {
            return Err(AppError::new(
                ErrorCode::NotAnAccessRequest,
                "only access requests can be used",
            ));
        };
        let entries = safe_db::entries_for(conn, safe_id, me.id, me.role)?;
        if !entries.iter().any(|entry| entry.can_request) {
            return Err(AppError::new(
                ErrorCode::NotAllowedToRequest,
                "you are no longer allowed to use accounts of this safe".to_owned(),
            ));
        }
        if !req_db::record_use(conn, id, me.id, now)? {
            return Err(not_usable(&request, now));
        }
        let account = safe_db::find_account(conn, request.account_id.unwrap_or_default(), None)?
            .ok_or_else(|| AppError::new(ErrorCode::AccessNotUsable, "the account was deleted"))?;
        safe_db::touch_account(conn, account.id, now)?;
        let safe = safe_db::find_safe_by_id(conn, account.safe_id)?;
        record_event(conn, id, Some(me.id), EventKind::Used, None, now)?;
        Ok((request, account, safe))
    })?;
    tracing::info!(request.id = id, user.name = %me.username, account.id = account.id, "access used");
    Ok(AccessGrant {
        request_id: id,
        address: account.address,
        user_name: account.user_name,
        safe: safe.name,
        name: account.name,
        operation_type: request.operation_type.unwrap_or(OperationType::All),
        access_to: utc(request.access_to.unwrap_or(now)),
        spent: request.access_type == Some(AccessType::OneTime),
    })
}

fn not_usable(request: &RequestRow, now: NaiveDateTime) -> AppError {
    let detail = match (request.status, request.access_from, request.access_to) {
        (RequestStatus::Approved, Some(from), _) if now < from => {
            "the access window has not started yet"
        }
        (RequestStatus::Approved, _, Some(to)) if now >= to => "the access window is over",
        (RequestStatus::Approved, _, _) => "the access cannot be used",
        (RequestStatus::Invalid, _, _)
            if request.invalid_flags & InvalidReason::AlreadyUsed.flag() != 0 =>
        {
            "this one-time access has already been used"
        }
        (RequestStatus::Pending, _, _) => "the request is not approved yet",
        _ => "the request is not approved",
    };
    AppError::new(ErrorCode::AccessNotUsable, detail)
}
