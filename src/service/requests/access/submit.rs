//! Asking for access: who may ask, and the rules a request must meet (reason, window, ticket),
//! each field at fault named.

use chrono::{DateTime, Duration, NaiveDateTime, Utc};

use super::confirmers::can_still_be_decided;
use crate::db::requests::{self as req_db, NewAccessColumns, NewRequestRow};
use crate::db::safes::{self as safe_db, SafeRow};
use crate::db::{self, DbConnection};
use crate::domain::FieldError;
use crate::domain::access::{AccessType, AdditionalInfo, ClientExtras, OperationType, Ticket};
use crate::domain::request::{EventKind, RequestStatus, RequestType};
use crate::error::{AppError, ErrorCode};
use crate::service::Context;
use crate::service::auth::CurrentUser;
use crate::service::requests::events::record_event;
use crate::service::requests::reason::parse_reason;
use crate::service::requests::status::Remaining;

/// Bounds on what a PVWA client may send beyond the native fields.
const MAX_EXTRA_KEYS: usize = 20;
const MAX_EXTRA_KEY_CHARS: usize = 100;
const MAX_EXTRA_VALUE_CHARS: usize = 1000;
const MAX_CONNECTION_PARAMS_BYTES: usize = 4000;

/// The extras as stored (a JSON object, `None` when there are none), the limits checked.
fn check_extras(extras: &ClientExtras, errors: &mut Vec<FieldError>) -> Option<String> {
    if extras.additional_info.len() > MAX_EXTRA_KEYS {
        errors.push(FieldError::new(
            "additional_info",
            format!("may hold at most {MAX_EXTRA_KEYS} keys"),
        ));
    }
    for (key, value) in &extras.additional_info {
        if key.chars().count() > MAX_EXTRA_KEY_CHARS
            || value.chars().count() > MAX_EXTRA_VALUE_CHARS
        {
            errors.push(FieldError::new(
                format!("additional_info.{key}"),
                format!(
                    "keys may have at most {MAX_EXTRA_KEY_CHARS} characters and values {MAX_EXTRA_VALUE_CHARS}"
                ),
            ));
        }
    }
    if extras
        .connection_component
        .as_ref()
        .is_some_and(|c| c.chars().count() > MAX_EXTRA_KEY_CHARS)
    {
        errors.push(FieldError::new(
            "connection_component",
            format!("must be at most {MAX_EXTRA_KEY_CHARS} characters"),
        ));
    }
    if let Some(params) = &extras.connection_params
        && (!params.is_object() || params.to_string().len() > MAX_CONNECTION_PARAMS_BYTES)
    {
        errors.push(FieldError::new(
            "connection_params",
            format!("must be an object of at most {MAX_CONNECTION_PARAMS_BYTES} bytes"),
        ));
    }
    if extras.is_empty() {
        None
    } else {
        serde_json::to_string(extras).ok()
    }
}

/// A reason must say something.
const MIN_REASON_CHARS: usize = 10;
/// How far ahead an access window may start.
const MAX_DAYS_AHEAD: i64 = 365;

/// An access request, as received.
#[derive(Debug, Clone)]
pub struct AccessInput {
    pub account_id: i64,
    /// The safe the client named with the account (PVWA's `<safe id>_<account id>`): the
    /// account must be in it. `None`: any safe.
    pub safe_id: Option<i64>,
    pub reason: String,
    pub access_type: AccessType,
    pub access_from: Option<DateTime<Utc>>,
    pub access_to: Option<DateTime<Utc>>,
    pub operation_type: OperationType,
    pub ticketing_system: Option<Ticket>,
    pub additional_info: Option<AdditionalInfo>,
    /// What a PVWA client sent beyond the native fields; kept as sent.
    pub extras: ClientExtras,
}

/// Validates an access request and stores it, pending. Returns its id.
pub(in crate::service::requests) fn submit(
    ctx: &Context,
    conn: &mut DbConnection,
    me: &CurrentUser,
    input: AccessInput,
) -> Result<i64, AppError> {
    let no_such_account = || AppError::validation("account_id", "no such account");
    let account = safe_db::find_account(conn, input.account_id, input.safe_id)?
        .ok_or_else(no_such_account)?;
    let entries = safe_db::entries_for(conn, account.safe_id, me.id, me.role)?;
    // A safe the caller may not see is as if it did not exist: its accounts too.
    if entries.is_empty() && !me.is_admin() {
        return Err(no_such_account());
    }
    let safe = safe_db::find_safe_by_id(conn, account.safe_id)?;
    if !entries.iter().any(|entry| entry.can_request) {
        return Err(AppError::new(
            ErrorCode::NotAllowedToRequest,
            format!(
                "you may not request access to accounts in safe {}",
                safe.name
            ),
        ));
    }
    let now = ctx.clock.now();
    let valid = ValidAccess::parse(&input, &safe, now)?;
    let members = safe_db::active_members(conn, safe.id)?;
    let fresh = Remaining {
        level: 1,
        level1: safe.level1_confirmations,
        level2: safe.level2_confirmations,
    };
    if !can_still_be_decided(conn, &members, me.id, fresh, &[])? {
        return Err(AppError::new(
            ErrorCode::MissingSupervisors,
            format!(
                "safe {} does not have enough confirmers to satisfy its own policy",
                safe.name
            ),
        ));
    }
    let now = now.naive_utc();
    db::write_transaction(conn, |conn| {
        // The safe's row, then the account's: the order a safe's deletion locks them in.
        let no_account = || AppError::validation("account_id", "no such account");
        match safe_db::share_policy_version(conn, safe.id)? {
            None => return Err(no_account()),
            Some(version) if version != safe.policy_version => {
                return Err(AppError::new(
                    ErrorCode::ConfirmationSettingsChanged,
                    "the safe's confirmation policy changed while the request was made: submit again",
                ));
            }
            Some(_) => {}
        }
        if safe_db::lock_live_account(conn, safe.id, account.id)?.is_none() {
            return Err(no_account());
        }
        if req_db::overlapping_open_request(conn, me.id, account.id, valid.from, valid.to, now)? {
            return Err(AppError::new(
                ErrorCode::OverlappingRequest,
                "you already have an open request for this account in an overlapping window",
            ));
        }
        let id = req_db::insert(
            conn,
            &NewRequestRow {
                request_type: RequestType::Access,
                status: RequestStatus::Pending,
                requester_id: me.id,
                reason: &valid.reason,
                created_at: now,
                updated_at: now,
                expires_at: now + Duration::hours(i64::from(safe.request_expiry_hours)),
                confirmations_required: safe.level1_confirmations,
                requester_email: &me.email,
                certificate: Default::default(),
                access: NewAccessColumns {
                    safe_id: Some(safe.id),
                    account_id: Some(account.id),
                    access_type: Some(input.access_type),
                    operation_type: Some(input.operation_type),
                    access_from: Some(valid.from),
                    access_to: Some(valid.to),
                    ticketing_system: input.ticketing_system.as_ref().map(|t| t.name.as_str()),
                    ticket_id: input.ticketing_system.as_ref().map(|t| t.number.as_str()),
                    reference_no: input
                        .additional_info
                        .as_ref()
                        .and_then(|i| i.reference_no.as_deref()),
                    emergency: Some(input.additional_info.as_ref().is_some_and(|i| i.emergency)),
                    policy_version: Some(safe.policy_version),
                    level2_required: safe.level2_confirmations,
                    pvwa_extras: valid.extras.clone(),
                },
            },
        )?;
        record_event(conn, id, Some(me.id), EventKind::Submitted, None, now)?;
        tracing::info!(request.id = id, user.name = %me.username, safe.name = %safe.name, "access request submitted");
        Ok(id)
    })
}

struct ValidAccess {
    reason: String,
    from: NaiveDateTime,
    to: NaiveDateTime,
    /// The extras as stored.
    extras: Option<String>,
}

impl ValidAccess {
    /// Checks every rule and names each field at fault.
    fn parse(input: &AccessInput, safe: &SafeRow, now: DateTime<Utc>) -> Result<Self, AppError> {
        let mut errors = Vec::new();
        let reason = parse_reason(&input.reason, MIN_REASON_CHARS)
            .map_err(|e| errors.push(e))
            .ok();
        let longest = Duration::hours(i64::from(safe.max_access_hours));
        if input.access_type == AccessType::Multiple {
            for (field, value) in [
                ("access_from", input.access_from),
                ("access_to", input.access_to),
            ] {
                if value.is_none() {
                    errors.push(FieldError::new(field, "is required for multiple access"));
                }
            }
        }
        let from = input.access_from.unwrap_or(now);
        if from > now + Duration::days(MAX_DAYS_AHEAD) {
            errors.push(FieldError::new(
                "access_from",
                format!("must be within {MAX_DAYS_AHEAD} days from now"),
            ));
            return Err(AppError::Validation(errors));
        }
        let to = match input.access_to {
            Some(to) => to,
            None => from.checked_add_signed(longest).unwrap_or(from),
        };
        if to <= from {
            errors.push(FieldError::new("access_to", "must be after access_from"));
        } else if to <= now {
            errors.push(FieldError::new("access_to", "must be in the future"));
        } else if to.signed_duration_since(from) > longest {
            errors.push(FieldError::new(
                "access_to",
                format!(
                    "the window may last at most {} hours in safe {}",
                    safe.max_access_hours, safe.name
                ),
            ));
        }
        check_ticket(input.ticketing_system.as_ref(), safe, &mut errors);
        if let Some(info) = &input.additional_info
            && info
                .reference_no
                .as_ref()
                .is_some_and(|r| r.chars().count() > 100)
        {
            errors.push(FieldError::new(
                "additional_info.reference_no",
                "must be at most 100 characters",
            ));
        }
        let extras = check_extras(&input.extras, &mut errors);
        match reason {
            Some(reason) if errors.is_empty() => Ok(Self {
                reason,
                from: from.naive_utc(),
                to: to.naive_utc(),
                extras,
            }),
            _ => Err(AppError::Validation(errors)),
        }
    }
}

fn check_ticket(ticket: Option<&Ticket>, safe: &SafeRow, errors: &mut Vec<FieldError>) {
    let blank = |value: &str| value.trim().is_empty();
    match ticket {
        None if safe.ticket_required => errors.push(FieldError::new(
            "ticketing_system",
            format!("a ticket is required by safe {}", safe.name),
        )),
        None => {}
        Some(ticket) => {
            for (field, value) in [
                ("ticketing_system.name", &ticket.name),
                ("ticketing_system.number", &ticket.number),
            ] {
                if blank(value) || value.chars().count() > 100 {
                    errors.push(FieldError::new(field, "must be 1 to 100 characters"));
                }
            }
        }
    }
}
