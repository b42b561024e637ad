//! Using an approved access inside its window, and retrieving the account's secret with it.
//!
//! The rules (README, "Using an access and retrieving its secret"): only the requester uses a
//! request; it must be approved and its window must cover now; the use is the conditional
//! update `req_db::record_use`, so of concurrent uses of a one-time request exactly one wins and
//! the others see it spent. The secret is handed over only when the operation type allows it
//! (`get_password`, `all`). Every use is a `used` event naming who, when and from which address,
//! and sets the account's last-used date, in the same transaction as the update.
//!
//! Two entry points: the native `use` names the request, and answers without a secret when the
//! operation type or the account has none to give; the PVWA retrieval names the account, uses
//! the caller's newest usable request for it, and refuses when it cannot hand a secret over.

use chrono::NaiveDateTime;

use crate::db::requests::{self as req_db, NewEvent, RequestRow};
use crate::db::safes as safe_db;
use crate::db::{self, DbConnection};
use crate::domain::access::{
    AccessGrant, AccessType, InvalidReason, OperationType, RevealedSecret,
};
use crate::domain::request::{EventKind, RequestStatus};
use crate::domain::time::utc;
use crate::error::{AppError, ErrorCode};
use crate::service::Context;
use crate::service::auth::{CurrentUser, VerifiedToken};
use crate::service::requests::lookups::require_request;
use crate::service::secrets::open_typed;

/// How many of the caller's approved requests for an account a retrieval looks at, newest first
/// (and how many of all their requests for it a refusal reads to say why).
const CANDIDATES: i64 = 50;
/// How often a retrieval tries the next usable request when a concurrent use spent the one it
/// chose.
const ATTEMPTS: usize = 3;
/// The longest retrieval reason written on the trail.
const MAX_TRAIL_REASON: usize = 500;

/// Where a use comes from: the client's address as the HTTP layer saw it, and the reason a PVWA
/// retrieval gives. Both are written on the `used` event.
#[derive(Debug, Clone, Copy, Default)]
pub struct UseOrigin<'a> {
    pub address: Option<&'a str>,
    pub reason: Option<&'a str>,
}

/// Whether a use must hand over the secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Retrieval {
    /// The native `use`: the secret when there is one to give, else none.
    IfAllowed,
    /// The PVWA retrieval: the secret, or a refusal that spends nothing.
    Required,
}

/// Uses an approved access inside its window: records the use and answers how to reach the
/// account, with its secret when the operation type allows retrieval and the account holds one.
/// A one-time request is spent by its first use.
pub fn use_access(
    ctx: &Context,
    token: &VerifiedToken,
    id: i64,
    origin: UseOrigin<'_>,
) -> Result<AccessGrant, AppError> {
    let (mut conn, me) = ctx.authenticate(token)?;
    let now = ctx.clock.now_naive();
    let (grant, account_id) = db::write_transaction(&mut conn, |conn| {
        let request = require_request(conn, id, Some(me.id))?.request;
        match spend(ctx, conn, &me, &request, now, origin, Retrieval::IfAllowed)? {
            Some(spent) => Ok(spent),
            None => Err(refusal_now(conn, id, now)?),
        }
    })?;
    log_use(&me, &grant, account_id);
    Ok(grant)
}

/// Retrieves the secret of the account `account_id` (in the safe `safe_id`, when the caller
/// named one) with the caller's newest approved request for it whose window covers now and whose
/// operation type allows retrieval; the use is recorded exactly as `use_access` records it. An
/// account that does not exist, is in another safe than the one named, or is in a safe the
/// caller is not a member of (administrators see every safe) is not found.
pub fn retrieve_secret(
    ctx: &Context,
    token: &VerifiedToken,
    account_id: i64,
    safe_id: Option<i64>,
    origin: UseOrigin<'_>,
) -> Result<AccessGrant, AppError> {
    let (mut conn, me) = ctx.authenticate(token)?;
    let now = ctx.clock.now_naive();
    let not_found = || AppError::new(ErrorCode::NotFound, format!("no account {account_id}"));
    let (grant, account_id) = db::write_transaction(&mut conn, |conn| {
        let account = safe_db::find_account(conn, account_id, safe_id)?.ok_or_else(not_found)?;
        let entries = safe_db::entries_for(conn, account.safe_id, me.id, me.role)?;
        if entries.is_empty() && !me.is_admin() {
            return Err(not_found());
        }
        let newest = |conn: &mut DbConnection| {
            req_db::of_requester_for_account(conn, me.id, account.id, CANDIDATES)
        };
        for _attempt in 0..ATTEMPTS {
            let approved = req_db::approved_of_requester_for_account(
                conn, me.id, account.id, now, CANDIDATES,
            )?;
            let usable: Vec<&RequestRow> = approved.iter().filter(|r| covers(r, now)).collect();
            let Some(request) = usable.iter().find(|r| allows_retrieval(r)) else {
                return Err(match usable.first() {
                    Some(_) => AppError::new(
                        ErrorCode::RetrievalNotAllowed,
                        "your approved request for this account does not allow retrieving its \
                         password (its operation type is connect-only)",
                    ),
                    None => refusal_for_account(&newest(conn)?, now),
                });
            };
            if let Some(spent) = spend(ctx, conn, &me, request, now, origin, Retrieval::Required)? {
                return Ok(spent);
            }
            // A concurrent use spent it first: look again (open requests of one user for one
            // account never overlap, so this is the rare case of one spent just as another
            // window opens).
        }
        Err(refusal_for_account(&newest(conn)?, now))
    })?;
    log_use(&me, &grant, account_id);
    Ok(grant)
}

/// Records the use of `request` inside the caller's transaction and builds the answer, with the
/// secret as `retrieval` asks, and the account's id. `None` when the conditional update changed
/// nothing: the request is not usable now (a concurrent use may just have spent it). A refusal
/// returned from here rolls the use back with the transaction.
fn spend(
    ctx: &Context,
    conn: &mut DbConnection,
    me: &CurrentUser,
    request: &RequestRow,
    now: NaiveDateTime,
    origin: UseOrigin<'_>,
    retrieval: Retrieval,
) -> Result<Option<(AccessGrant, i64)>, AppError> {
    let (Some(safe_id), Some(account_id)) = (request.safe_id, request.account_id) else {
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
    let allowed = allows_retrieval(request);
    if retrieval == Retrieval::Required && !allowed {
        return Err(AppError::new(
            ErrorCode::RetrievalNotAllowed,
            "the request's operation type does not allow retrieving the password",
        ));
    }
    // The account's row first, then the request's: the order a deletion takes them in, so the
    // two wait for each other on PostgreSQL instead of deadlocking.
    let Some(account) = safe_db::lock_live_account(conn, safe_id, account_id)? else {
        return Err(AppError::new(
            ErrorCode::AccessNotApproved,
            "the account was deleted",
        ));
    };
    if !req_db::record_use(conn, request.id, me.id, now)? {
        return Ok(None);
    }
    let secret = if allowed {
        open_typed(&ctx.secrets, conn, account.id)?
    } else {
        None
    };
    if retrieval == Retrieval::Required && secret.is_none() {
        return Err(AppError::new(
            ErrorCode::NoSecretStored,
            "the account holds no password to retrieve",
        ));
    }
    safe_db::touch_account(conn, account.id, now)?;
    let safe = safe_db::find_safe_by_id(conn, account.safe_id)?;
    let detail = secret.as_ref().map(|_| trail_detail(origin.reason));
    req_db::insert_event(
        conn,
        &NewEvent {
            request_id: request.id,
            actor_id: Some(me.id),
            event: EventKind::Used,
            detail: detail.as_deref(),
            created_at: now,
            client_address: origin.address,
        },
    )?;
    let grant = AccessGrant {
        request_id: request.id,
        address: account.address,
        user_name: account.user_name,
        safe: safe.name,
        name: account.name,
        operation_type: request.operation_type.unwrap_or(OperationType::All),
        access_to: utc(request.access_to.unwrap_or(now)),
        spent: request.access_type == Some(AccessType::OneTime),
        secret_type: secret.as_ref().map(|(_, secret_type)| *secret_type),
        secret: secret.map(|(secret, _)| RevealedSecret(secret)),
    };
    Ok(Some((grant, account.id)))
}

/// What the trail says of a retrieval: that the secret was handed over, and the caller's reason.
fn trail_detail(reason: Option<&str>) -> String {
    match reason.map(str::trim).filter(|r| !r.is_empty()) {
        Some(reason) => {
            let reason: String = reason.chars().take(MAX_TRAIL_REASON).collect();
            format!("secret retrieved: {reason}")
        }
        None => "secret retrieved".to_owned(),
    }
}

fn log_use(me: &CurrentUser, grant: &AccessGrant, account_id: i64) {
    tracing::info!(
        request.id = grant.request_id,
        user.name = %me.username,
        account.id = account_id,
        secret_retrieved = grant.secret.is_some(),
        "access used"
    );
}

/// Approved, with a window that covers now (as `record_use` requires).
fn covers(request: &RequestRow, now: NaiveDateTime) -> bool {
    request.status == RequestStatus::Approved
        && request.access_from.is_some_and(|from| from <= now)
        && request.access_to.is_some_and(|to| now < to)
}

fn allows_retrieval(request: &RequestRow) -> bool {
    request
        .operation_type
        .is_some_and(OperationType::allows_retrieval)
}

/// Why the request `id` cannot be used now, read again after the update changed nothing: on
/// PostgreSQL the row read before it may predate the concurrent use that spent it.
fn refusal_now(conn: &mut DbConnection, id: i64, now: NaiveDateTime) -> Result<AppError, AppError> {
    let request = req_db::find(conn, id, None)?
        .ok_or_else(|| AppError::new(ErrorCode::NotFound, format!("no request {id}")))?
        .request;
    Ok(refusal(&request, now))
}

/// Why none of the caller's requests for an account can be used: a window still to open, else
/// what became of the newest request that was approved, else that none was.
fn refusal_for_account(mine: &[RequestRow], now: NaiveDateTime) -> AppError {
    if let Some(waiting) = mine.iter().find(|r| {
        r.status == RequestStatus::Approved && r.access_from.is_some_and(|from| now < from)
    }) {
        return refusal(waiting, now);
    }
    match mine.iter().find(|r| r.approved_at.is_some()) {
        Some(approved) => refusal(approved, now),
        None => AppError::new(
            ErrorCode::AccessNotApproved,
            "you have no approved request for this account",
        ),
    }
}

/// Why `request` cannot be used at `now`, with the code that says so.
fn refusal(request: &RequestRow, now: NaiveDateTime) -> AppError {
    let flagged = |reason: InvalidReason| request.invalid_flags & reason.flag() != 0;
    let (code, detail) = match (request.status, request.access_from, request.access_to) {
        (RequestStatus::Approved, Some(from), _) if now < from => (
            ErrorCode::AccessNotStarted,
            "the access window has not started yet",
        ),
        (RequestStatus::Approved, _, Some(to)) if now >= to => {
            (ErrorCode::AccessWindowOver, "the access window is over")
        }
        (RequestStatus::Invalid, _, _) if flagged(InvalidReason::AlreadyUsed) => (
            ErrorCode::AccessAlreadyUsed,
            "this one-time access has already been used",
        ),
        (RequestStatus::Invalid, _, _) if flagged(InvalidReason::AccessTimeExpired) => {
            (ErrorCode::AccessWindowOver, "the access window is over")
        }
        (RequestStatus::Approved, _, _) => {
            (ErrorCode::AccessNotApproved, "the access cannot be used")
        }
        (RequestStatus::Pending, _, _) => (
            ErrorCode::AccessNotApproved,
            "the request is not approved yet",
        ),
        _ => (ErrorCode::AccessNotApproved, "the request is not approved"),
    };
    AppError::new(code, detail)
}
