//! Privileged access requests with dual control: who may ask, the rules a request must meet,
//! who may confirm at which level (a group counts once), whether a safe's confirmers can still
//! decide, and using an approved access inside its window.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, NaiveDateTime, Utc};

use super::Context;
use super::auth::{CurrentUser, VerifiedToken};
use super::requests::{already_decided, parse_reason, record_event, require_request};
use crate::db::requests::{
    self as req_db, DecisionRow, NewAccessColumns, NewRequestRow, PersonRow, RequestRow,
};
use crate::db::safes::{self as safe_db, AccountRow, MemberRow, MemberWithUser, SafeRow};
use crate::db::{self, DbConnection};
use crate::domain::FieldError;
use crate::domain::access::{
    AccessDetails, AccessGrant, AccessType, Account, AdditionalInfo, Confirmer, ConfirmerAction,
    ConfirmerType, InvalidReason, OperationType, PersonView, Ticket,
};
use crate::domain::request::{Decision, EventKind, RequestStatus, RequestType};
use crate::domain::time::utc;
use crate::domain::user::Role;
use crate::error::{AppError, ErrorCode};

/// A reason must say something.
const MIN_REASON_CHARS: usize = 10;
/// How far ahead an access window may start.
const MAX_DAYS_AHEAD: i64 = 365;

/// An access request, as received.
#[derive(Debug, Clone)]
pub struct AccessInput {
    pub account_id: i64,
    pub reason: String,
    pub access_type: AccessType,
    pub access_from: Option<DateTime<Utc>>,
    pub access_to: Option<DateTime<Utc>>,
    pub operation_type: OperationType,
    pub ticketing_system: Option<Ticket>,
    pub additional_info: Option<AdditionalInfo>,
}

/// In which capacity a confirmer acts: for themselves, or for a group (a role) that then counts
/// once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capacity {
    User,
    Group(Role),
}

/// Validates an access request and stores it, pending. Returns its id.
pub fn submit(
    ctx: &Context,
    conn: &mut DbConnection,
    me: &CurrentUser,
    input: AccessInput,
) -> Result<i64, AppError> {
    let account = safe_db::find_account(conn, input.account_id, None)?
        .ok_or_else(|| AppError::validation("account_id", "no such account"))?;
    let safe = safe_db::find_safe_by_id(conn, account.safe_id)?;
    let entries = safe_db::entries_for(conn, safe.id, me.id, me.role)?;
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
    let fresh = Pending {
        level: 1,
        level1_left: safe.level1_confirmations,
        level2_left: safe.level2_confirmations,
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
        safe_db::lock_account(conn, account.id)?;
        if safe_db::find_safe_by_id(conn, safe.id)?.policy_version != safe.policy_version {
            return Err(AppError::new(
                ErrorCode::ConfirmationSettingsChanged,
                "the safe's confirmation policy changed while the request was made: submit again",
            ));
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
        match reason {
            Some(reason) if errors.is_empty() => Ok(Self {
                reason,
                from: from.naive_utc(),
                to: to.naive_utc(),
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

/// In which capacity `me` may decide the request at its current level: as a user member who
/// confirms at that level, or for their role's group if it has not acted yet at that level.
pub fn capacity(
    conn: &mut DbConnection,
    request: &RequestRow,
    me: &CurrentUser,
) -> Result<Capacity, AppError> {
    let safe_id = request
        .safe_id
        .ok_or_else(|| AppError::Internal("access request without a safe".to_owned()))?;
    let level = request.current_level;
    let entries = safe_db::entries_for(conn, safe_id, me.id, me.role)?;
    let at_level = |entry: &&MemberRow| entry.confirm_level == Some(level);
    if entries
        .iter()
        .filter(at_level)
        .any(|e| e.user_id == Some(me.id))
    {
        return Ok(Capacity::User);
    }
    if entries
        .iter()
        .filter(at_level)
        .any(|e| e.group_role.is_some())
    {
        if safe_db::group_decided(conn, request.id, level, me.role)? {
            return Err(already_decided());
        }
        return Ok(Capacity::Group(me.role));
    }
    Err(AppError::new(
        ErrorCode::NotAConfirmer,
        format!("you do not confirm requests of this safe at level {level}"),
    ))
}

/// Whether the user confirms at some level in the safe, directly or through their role.
pub fn confirms_in_safe(
    conn: &mut DbConnection,
    safe_id: i64,
    me: &CurrentUser,
) -> Result<bool, AppError> {
    Ok(safe_db::entries_for(conn, safe_id, me.id, me.role)?
        .iter()
        .any(|entry| entry.confirm_level.is_some()))
}

/// What a pending request still needs.
#[derive(Debug, Clone, Copy)]
pub struct Pending {
    pub level: i32,
    pub level1_left: i32,
    pub level2_left: i32,
}

impl Pending {
    pub fn of(request: &RequestRow) -> Self {
        Self {
            level: request.current_level,
            level1_left: (request.confirmations_required - request.confirmations_given).max(0),
            level2_left: (request.level2_required - request.level2_given).max(0),
        }
    }
}

/// Whether enough eligible confirmers remain to give a request what it still needs: at each
/// level still to come, the user members (not the requester, not having acted) and the groups
/// (not having acted, with an active member other than the requester) that confirm there.
pub fn can_still_be_decided(
    conn: &mut DbConnection,
    members: &[MemberWithUser],
    requester_id: i64,
    pending: Pending,
    decisions: &[DecisionRow],
) -> Result<bool, AppError> {
    let roles: Vec<Role> = members.iter().filter_map(|m| m.member.group_role).collect();
    let role_members = safe_db::active_users_with_roles(conn, &roles)?;
    let acted_users: HashSet<i64> = decisions.iter().map(|d| d.user_id).collect();
    let available = |level: i32| {
        members
            .iter()
            .filter(|m| m.member.confirm_level == Some(level))
            .filter(|m| match (m.member.user_id, m.member.group_role) {
                (Some(user_id), _) => {
                    user_id != requester_id && m.user.is_some() && !acted_users.contains(&user_id)
                }
                (None, Some(role)) => {
                    let acted = decisions
                        .iter()
                        .any(|d| d.level == level && d.group_role == Some(role));
                    !acted
                        && role_members
                            .iter()
                            .any(|m| m.role == role && m.id != requester_id)
                }
                (None, None) => false,
            })
            .count()
    };
    let enough =
        |level: i32, left: i32| usize::try_from(left).map_or(true, |left| available(level) >= left);
    Ok(match pending.level {
        1 => enough(1, pending.level1_left) && enough(2, pending.level2_left),
        _ => enough(2, pending.level2_left),
    })
}

/// What the access part of a page of details needs, loaded in four queries whatever the size
/// of the page.
pub struct AccessData {
    safes: HashMap<i64, SafeRow>,
    accounts: HashMap<i64, AccountRow>,
    members: Vec<MemberWithUser>,
    role_members: Vec<safe_db::RoleMember>,
}

impl AccessData {
    pub fn load(conn: &mut DbConnection, rows: &[&RequestRow]) -> Result<Self, AppError> {
        let safe_ids: Vec<i64> = rows.iter().filter_map(|r| r.safe_id).collect();
        let account_ids: Vec<i64> = rows.iter().filter_map(|r| r.account_id).collect();
        if safe_ids.is_empty() {
            return Ok(Self {
                safes: HashMap::new(),
                accounts: HashMap::new(),
                members: vec![],
                role_members: vec![],
            });
        }
        let members = safe_db::active_members_of(conn, &safe_ids)?;
        let mut roles: Vec<Role> = members.iter().filter_map(|m| m.member.group_role).collect();
        roles.sort_unstable_by_key(|role| role.as_str());
        roles.dedup();
        Ok(Self {
            safes: safe_db::safes_by_ids(conn, &safe_ids)?
                .into_iter()
                .map(|s| (s.id, s))
                .collect(),
            accounts: safe_db::accounts_by_ids(conn, &account_ids)?
                .into_iter()
                .map(|a| (a.id, a))
                .collect(),
            role_members: safe_db::active_users_with_roles(conn, &roles)?,
            members,
        })
    }

    /// The access part of a request's detail: account, window, levels and every confirmer with
    /// what it did and the users behind it.
    pub fn details(
        &self,
        request: &RequestRow,
        decisions: &[DecisionRow],
        still_pending: bool,
    ) -> Result<AccessDetails, AppError> {
        let missing = || AppError::Internal(format!("access request {} is incomplete", request.id));
        let safe = request
            .safe_id
            .and_then(|id| self.safes.get(&id))
            .ok_or_else(missing)?;
        let account = request
            .account_id
            .and_then(|id| self.accounts.get(&id))
            .ok_or_else(missing)?;
        let confirmers = self
            .members
            .iter()
            .filter(|m| m.member.safe_id == safe.id)
            .filter_map(|m| {
                let level = m.member.confirm_level?;
                Some(confirmer(
                    &m.member,
                    m.user.as_ref(),
                    level,
                    decisions,
                    &self.role_members,
                ))
            })
            .collect();
        Ok(AccessDetails {
            account: to_account(account.clone(), &safe.name),
            access_type: request.access_type.ok_or_else(missing)?,
            operation_type: request.operation_type.ok_or_else(missing)?,
            access_from: utc(request.access_from.ok_or_else(missing)?),
            access_to: utc(request.access_to.ok_or_else(missing)?),
            ticketing_system: match (&request.ticketing_system, &request.ticket_id) {
                (Some(name), Some(number)) => Some(Ticket {
                    name: name.clone(),
                    number: number.clone(),
                }),
                _ => None,
            },
            additional_info: AdditionalInfo {
                reference_no: request.reference_no.clone(),
                emergency: request.emergency.unwrap_or(false),
            },
            current_confirmation_level: request.current_level,
            required_confirmers_count_level2: if still_pending {
                (request.level2_required - request.level2_given).max(0)
            } else {
                0
            },
            use_count: request.use_count,
            last_used_at: request.last_used_at.map(utc),
            confirmers,
        })
    }
}

fn confirmer(
    member: &MemberRow,
    user: Option<&PersonRow>,
    level: i32,
    decisions: &[DecisionRow],
    role_members: &[safe_db::RoleMember],
) -> Confirmer {
    let person = |d: &DecisionRow| PersonView {
        id: d.user_id,
        username: d.username.clone(),
        name: d.name.clone(),
        email: d.email.clone(),
    };
    let (confirmer_type, id, name, decision, members) =
        match (member.user_id, member.group_role, user) {
            (Some(user_id), _, Some(person)) => {
                let decision = decisions
                    .iter()
                    .find(|d| d.user_id == user_id && d.group_role.is_none());
                let me = PersonView {
                    id: user_id,
                    username: person.username.clone(),
                    name: person.name.clone(),
                    email: person.email.clone(),
                };
                (
                    ConfirmerType::User,
                    user_id,
                    person.username.clone(),
                    decision,
                    vec![me],
                )
            }
            (_, Some(role), _) => {
                let decision = decisions
                    .iter()
                    .find(|d| d.group_role == Some(role) && d.level == level);
                let people = role_members
                    .iter()
                    .filter(|m| m.role == role)
                    .map(|m| PersonView {
                        id: m.id,
                        username: m.username.clone(),
                        name: m.name.clone(),
                        email: m.email.clone(),
                    })
                    .collect();
                (
                    ConfirmerType::Group,
                    member.id,
                    role.as_str().to_owned(),
                    decision,
                    people,
                )
            }
            _ => (ConfirmerType::User, member.id, String::new(), None, vec![]),
        };
    Confirmer {
        confirmer_type,
        id,
        name,
        level,
        action: match decision.map(|d| d.decision) {
            Some(Decision::Confirm) => ConfirmerAction::Confirm,
            Some(Decision::Reject) => ConfirmerAction::Reject,
            None => ConfirmerAction::None,
        },
        reason: decision.and_then(|d| d.reason.clone()),
        action_date: decision.map(|d| utc(d.created_at)),
        acted_by: decision.map(person),
        members,
    }
}

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

/// An account as clients see it.
pub fn to_account(row: AccountRow, safe: &str) -> Account {
    Account {
        id: row.id,
        safe: safe.to_owned(),
        name: row.name,
        folder: row.folder,
        address: row.address,
        user_name: row.user_name,
        last_used_at: row.last_used_at.map(utc),
        created_at: utc(row.created_at),
        deleted_at: row.deleted_at.map(utc),
    }
}

/// Succeeds when request `id` is an access request of the safe named `safe` (regardless of
/// case), for clients that name requests as PVWA does (`SafeName_N`); anything else, a
/// certificate request included, is not found.
pub fn require_in_safe(
    ctx: &Context,
    token: &VerifiedToken,
    id: i64,
    safe: &str,
) -> Result<(), AppError> {
    let (mut conn, _) = ctx.authenticate(token)?;
    let not_found = || AppError::new(ErrorCode::NotFound, format!("no request {safe}_{id}"));
    let Some(found) = req_db::find(&mut conn, id, None)? else {
        return Err(not_found());
    };
    let names = req_db::safe_and_account_names(&mut conn, &[&found.request])?;
    match names.safe(&found.request) {
        Some(name) if name.eq_ignore_ascii_case(safe) => Ok(()),
        _ => Err(not_found()),
    }
}
