//! Safes, the accounts they hold, and who may request or confirm in them. Administrators manage
//! them; members see the safes they belong to. Changes that undo a waiting request (a new
//! confirmation policy, a deleted account or safe, confirmers removed) invalidate it at once.

mod rules;
pub mod search;

use chrono::NaiveDateTime;

use self::rules::{Policy, PolicyInput, ValidAccount, parse_safe_name, to_safe};
use crate::db::requests::Ends;
use crate::db::safes::{
    self as safe_db, MemberOf, NewAccountRow, NewSafeRow, Principal, SafeChanges, SafeRow,
};
use crate::db::{self, DbConnection};
use crate::domain::access::{Account, InvalidReason, MemberType, Safe, SafeMember};
use crate::domain::pagination::{Page, PageRequest};
use crate::domain::user::{Role, Username};
use crate::error::{AppError, ErrorCode};
use crate::service::Context;
use crate::service::auth::{CurrentUser, VerifiedToken};
use crate::service::requests::{invalidate_on_safe, recheck_safe, to_account};

/// A new safe, as received; absent policy values take their defaults.
#[derive(Debug, Clone, Default)]
pub struct SafeInput {
    pub name: String,
    pub description: Option<String>,
    pub level1_confirmations: Option<i32>,
    pub level2_confirmations: Option<i32>,
    pub request_expiry_hours: Option<i32>,
    pub max_access_hours: Option<i32>,
    pub ticket_required: Option<bool>,
}

/// Changes to a safe, as received.
#[derive(Debug, Clone, Default)]
pub struct SafeUpdate {
    pub description: Option<String>,
    pub level1_confirmations: Option<i32>,
    pub level2_confirmations: Option<i32>,
    pub request_expiry_hours: Option<i32>,
    pub max_access_hours: Option<i32>,
    pub ticket_required: Option<bool>,
}

/// A new account, as received.
#[derive(Debug, Clone)]
pub struct AccountInput {
    pub name: String,
    pub folder: Option<String>,
    pub address: String,
    pub user_name: String,
    /// The PVWA platform (`platformID` of Add-PASAccount); none natively.
    pub platform_id: Option<String>,
    /// A secret to seal and store with the account, in the same transaction.
    pub secret: Option<crate::service::secrets::store::SecretInput>,
}

pub const DEFAULT_REQUEST_EXPIRY_HOURS: i32 = 72;
pub const DEFAULT_MAX_ACCESS_HOURS: i32 = 8;

/// Creates a safe. Administrators only; names are unique regardless of case.
pub fn create(ctx: &Context, token: &VerifiedToken, input: SafeInput) -> Result<Safe, AppError> {
    let (mut conn, me) = ctx.authenticate(token)?;
    require_admin(&me)?;
    let name = parse_safe_name(&input.name).map_err(|e| AppError::Validation(vec![e]))?;
    let policy = Policy::parse(PolicyInput {
        level1: input.level1_confirmations.unwrap_or(1),
        level2: input.level2_confirmations.unwrap_or(0),
        expiry_hours: input
            .request_expiry_hours
            .unwrap_or(DEFAULT_REQUEST_EXPIRY_HOURS),
        max_access_hours: input.max_access_hours.unwrap_or(DEFAULT_MAX_ACCESS_HOURS),
        description: input.description.as_deref().unwrap_or(""),
    })?;
    let now = ctx.clock.now_naive();
    let id = safe_db::insert_safe(
        &mut conn,
        &NewSafeRow {
            name: &name,
            name_key: &name.to_lowercase(),
            description: &policy.description,
            level1_confirmations: policy.level1,
            level2_confirmations: policy.level2,
            request_expiry_hours: policy.expiry_hours,
            max_access_hours: policy.max_access_hours,
            ticket_required: input.ticket_required.unwrap_or(false),
            policy_version: 1,
            created_at: now,
            updated_at: now,
        },
    )
    .map_err(|e| match db::unique_violation(&e) {
        Some(_) => AppError::new(
            ErrorCode::SafeExists,
            format!("a safe named {name} already exists"),
        ),
        None => e.into(),
    })?;
    tracing::info!(safe.name = %name, user.name = %me.username, "safe created");
    Ok(to_safe(safe_db::find_safe_by_id(&mut conn, id)?))
}

/// Every safe for administrators; the safes they belong to for everyone else.
pub fn list(
    ctx: &Context,
    token: &VerifiedToken,
    page: PageRequest,
) -> Result<Page<Safe>, AppError> {
    let (mut conn, me) = ctx.authenticate(token)?;
    let member = (!me.is_admin()).then_some(MemberOf {
        user_id: me.id,
        role: me.role,
    });
    let (rows, total) = safe_db::list_safes(&mut conn, member, page.offset(), page.limit())?;
    Ok(Page::new(
        rows.into_iter().map(to_safe).collect(),
        page,
        total,
    ))
}

/// One safe, for administrators and its members; anyone else: not found.
pub fn show(ctx: &Context, token: &VerifiedToken, name: &str) -> Result<Safe, AppError> {
    let (mut conn, me) = ctx.authenticate(token)?;
    Ok(to_safe(visible_safe(&mut conn, &me, name)?))
}

/// Changes a safe. A new confirmation policy invalidates the requests waiting under the old one.
pub fn update(
    ctx: &Context,
    token: &VerifiedToken,
    name: &str,
    input: SafeUpdate,
) -> Result<Safe, AppError> {
    let (mut conn, me) = ctx.authenticate(token)?;
    require_admin(&me)?;
    let now = ctx.clock.now_naive();
    // Read and written in one transaction, the row locked on PostgreSQL: a change racing this
    // one is applied before or after it, never overwritten by fields read before it committed.
    let (safe, confirmation_changed) = db::write_transaction(&mut conn, |conn| {
        let safe = safe_db::lock_live_safe_for_update(conn, &name.to_lowercase())?
            .ok_or_else(|| AppError::new(ErrorCode::NotFound, format!("no safe named {name}")))?;
        let (changes, confirmation_changed) = changes_to(&safe, &input, now)?;
        let updated = safe_db::update_safe(conn, safe.id, &changes)?;
        if confirmation_changed {
            let reason = InvalidReason::ConfirmationSettingsChanged;
            invalidate_on_safe(conn, safe.id, None, reason, Ends::Waiting, now)?;
        }
        Ok::<_, AppError>((updated, confirmation_changed))
    })?;
    tracing::info!(safe.name = %safe.name, user.name = %me.username, confirmation_changed, "safe updated");
    Ok(to_safe(safe))
}

/// What `input` changes in `safe`, and whether its confirmation policy is among it (a new policy
/// version).
fn changes_to(
    safe: &SafeRow,
    input: &SafeUpdate,
    now: NaiveDateTime,
) -> Result<(SafeChanges, bool), AppError> {
    let policy = Policy::parse(PolicyInput {
        level1: input
            .level1_confirmations
            .unwrap_or(safe.level1_confirmations),
        level2: input
            .level2_confirmations
            .unwrap_or(safe.level2_confirmations),
        expiry_hours: input
            .request_expiry_hours
            .unwrap_or(safe.request_expiry_hours),
        max_access_hours: input.max_access_hours.unwrap_or(safe.max_access_hours),
        description: input.description.as_deref().unwrap_or(&safe.description),
    })?;
    let confirmation_changed =
        policy.level1 != safe.level1_confirmations || policy.level2 != safe.level2_confirmations;
    let changes = SafeChanges {
        description: Some(policy.description),
        level1_confirmations: Some(policy.level1),
        level2_confirmations: Some(policy.level2),
        request_expiry_hours: Some(policy.expiry_hours),
        max_access_hours: Some(policy.max_access_hours),
        ticket_required: input.ticket_required,
        policy_version: confirmation_changed.then_some(safe.policy_version + 1),
        updated_at: Some(now),
        deleted_at: None,
    };
    Ok((changes, confirmation_changed))
}

/// Deletes a safe and its accounts; requests naming them become invalid (`object_deleted`).
pub fn delete(ctx: &Context, token: &VerifiedToken, name: &str) -> Result<(), AppError> {
    let (mut conn, me) = ctx.authenticate(token)?;
    require_admin(&me)?;
    let safe = require_safe(&mut conn, name)?;
    let now = ctx.clock.now_naive();
    db::write_transaction(&mut conn, |conn| {
        safe_db::update_safe(
            conn,
            safe.id,
            &SafeChanges {
                deleted_at: Some(Some(now)),
                updated_at: Some(now),
                ..SafeChanges::default()
            },
        )?;
        safe_db::delete_accounts(conn, safe.id, None, now)?;
        let reason = InvalidReason::ObjectDeleted;
        invalidate_on_safe(conn, safe.id, None, reason, Ends::WaitingAndApproved, now)
    })?;
    tracing::info!(safe.name = %safe.name, user.name = %me.username, "safe deleted");
    Ok(())
}

/// Adds an account to a safe, with its secret if one is given (in the same transaction).
/// Administrators only.
pub fn create_account(
    ctx: &Context,
    token: &VerifiedToken,
    safe: &str,
    mut input: AccountInput,
) -> Result<Account, AppError> {
    let (mut conn, me) = ctx.authenticate(token)?;
    require_admin(&me)?;
    let safe = require_safe(&mut conn, safe)?;
    let secret = input.secret.take();
    let valid = ValidAccount::parse(input)?;
    if let Some(secret) = &secret {
        crate::service::secrets::store::validate(&secret.secret)?;
    }
    let id = db::write_transaction(&mut conn, |conn| {
        let id = safe_db::insert_account(
            conn,
            &NewAccountRow {
                safe_id: safe.id,
                name: &valid.name,
                folder: &valid.folder,
                address: &valid.address,
                user_name: &valid.user_name,
                platform_id: &valid.platform_id,
                created_at: ctx.clock.now_naive(),
            },
        )?;
        if let Some(secret) = &secret {
            crate::service::secrets::store::store_in(ctx, conn, id, secret)?;
        }
        Ok::<_, AppError>(id)
    })?;
    let account = safe_db::find_account(&mut conn, id, Some(safe.id))?
        .ok_or_else(|| AppError::Internal("account vanished".to_owned()))?;
    Ok(to_account(account, &safe.name))
}

/// The accounts of a safe, for administrators and its members.
pub fn list_accounts(
    ctx: &Context,
    token: &VerifiedToken,
    safe: &str,
    page: PageRequest,
) -> Result<Page<Account>, AppError> {
    let (mut conn, me) = ctx.authenticate(token)?;
    let safe = visible_safe(&mut conn, &me, safe)?;
    let (rows, total) = safe_db::list_accounts(&mut conn, safe.id, page.offset(), page.limit())?;
    Ok(Page::new(
        rows.into_iter()
            .map(|row| to_account(row, &safe.name))
            .collect(),
        page,
        total,
    ))
}

/// One account of a safe, for administrators and its members.
pub fn show_account(
    ctx: &Context,
    token: &VerifiedToken,
    safe: &str,
    id: i64,
) -> Result<Account, AppError> {
    let (mut conn, me) = ctx.authenticate(token)?;
    let safe = visible_safe(&mut conn, &me, safe)?;
    let account = safe_db::find_account(&mut conn, id, Some(safe.id))?.ok_or_else(|| {
        AppError::new(
            ErrorCode::NotFound,
            format!("no account {id} in safe {}", safe.name),
        )
    })?;
    Ok(to_account(account, &safe.name))
}

/// Deletes an account; requests naming it become invalid (`object_deleted`).
pub fn delete_account(
    ctx: &Context,
    token: &VerifiedToken,
    safe: &str,
    id: i64,
) -> Result<(), AppError> {
    let (mut conn, me) = ctx.authenticate(token)?;
    require_admin(&me)?;
    let safe = require_safe(&mut conn, safe)?;
    let now = ctx.clock.now_naive();
    db::write_transaction(&mut conn, |conn| {
        if safe_db::delete_accounts(conn, safe.id, Some(id), now)? == 0 {
            return Err(AppError::new(
                ErrorCode::NotFound,
                format!("no account {id} in safe {}", safe.name),
            ));
        }
        let reason = InvalidReason::ObjectDeleted;
        invalidate_on_safe(
            conn,
            safe.id,
            Some(id),
            reason,
            Ends::WaitingAndApproved,
            now,
        )
    })
}

/// Who a membership change is about, as received.
#[derive(Debug, Clone)]
pub enum MemberName {
    User(String),
    Group(String),
}

/// Sets what a user or group may do in a safe. Requests that can no longer be decided become
/// invalid (`missing_supervisors`).
pub fn put_member(
    ctx: &Context,
    token: &VerifiedToken,
    safe: &str,
    who: MemberName,
    can_request: bool,
    confirm_level: Option<i32>,
) -> Result<SafeMember, AppError> {
    let (mut conn, me) = ctx.authenticate(token)?;
    require_admin(&me)?;
    if confirm_level.is_some_and(|level| !(1..=2).contains(&level)) {
        return Err(AppError::validation(
            "confirm_level",
            "must be null, 1 or 2",
        ));
    }
    let safe = require_safe(&mut conn, safe)?;
    let (principal, name, member_type) = resolve(&mut conn, &who)?;
    if let Principal::Group(role) = principal
        && confirm_level.is_some()
        && !role.may_confirm_as_group()
    {
        return Err(AppError::validation(
            "confirm_level",
            format!(
                "must be null for the {} group: anyone may sign up with that role; name its \
                 confirmers as users",
                role.as_str()
            ),
        ));
    }
    let now = ctx.clock.now_naive();
    db::write_transaction(&mut conn, |conn| {
        safe_db::put_member(conn, safe.id, &principal, can_request, confirm_level, now)?;
        recheck_safe(conn, &safe, now)
    })?;
    Ok(SafeMember {
        member_type,
        name,
        can_request,
        confirm_level,
    })
}

/// Removes a user or group from a safe.
pub fn delete_member(
    ctx: &Context,
    token: &VerifiedToken,
    safe: &str,
    who: MemberName,
) -> Result<(), AppError> {
    let (mut conn, me) = ctx.authenticate(token)?;
    require_admin(&me)?;
    let safe = require_safe(&mut conn, safe)?;
    let (principal, name, _) = resolve(&mut conn, &who)?;
    let now = ctx.clock.now_naive();
    db::write_transaction(&mut conn, |conn| {
        if !safe_db::delete_member(conn, safe.id, &principal)? {
            return Err(AppError::new(
                ErrorCode::NotFound,
                format!("{name} is not a member of safe {}", safe.name),
            ));
        }
        recheck_safe(conn, &safe, now)
    })
}

/// The members of a safe, for administrators and its members.
pub fn list_members(
    ctx: &Context,
    token: &VerifiedToken,
    safe: &str,
) -> Result<Vec<SafeMember>, AppError> {
    let (mut conn, me) = ctx.authenticate(token)?;
    let safe = visible_safe(&mut conn, &me, safe)?;
    members_of(&mut conn, &safe)
}

/// The members of a safe, users and groups.
fn members_of(conn: &mut DbConnection, safe: &SafeRow) -> Result<Vec<SafeMember>, AppError> {
    Ok(safe_db::members(conn, safe.id)?
        .into_iter()
        .map(|entry| SafeMember {
            member_type: if entry.member.user_id.is_some() {
                MemberType::User
            } else {
                MemberType::Group
            },
            name: entry
                .user
                .map(|person| person.username)
                .or(entry.member.group_role.map(|role| role.as_str().to_owned()))
                .unwrap_or_default(),
            can_request: entry.member.can_request,
            confirm_level: entry.member.confirm_level,
        })
        .collect())
}

fn resolve(
    conn: &mut DbConnection,
    who: &MemberName,
) -> Result<(Principal, String, MemberType), AppError> {
    match who {
        MemberName::User(username) => {
            let username = Username::parse(username).map_err(|_| {
                AppError::new(ErrorCode::NotFound, format!("no user named {username}"))
            })?;
            let user = db::users::find_existing(conn, username.as_str())?.ok_or_else(|| {
                AppError::new(
                    ErrorCode::NotFound,
                    format!("no user named {}", username.as_str()),
                )
            })?;
            Ok((Principal::User(user.id), user.username, MemberType::User))
        }
        MemberName::Group(role) => {
            let role: Role = role
                .parse()
                .map_err(|_| AppError::new(ErrorCode::NotFound, format!("no role named {role}")))?;
            Ok((
                Principal::Group(role),
                role.as_str().to_owned(),
                MemberType::Group,
            ))
        }
    }
}

fn require_admin(me: &CurrentUser) -> Result<(), AppError> {
    if me.is_admin() {
        Ok(())
    } else {
        Err(AppError::new(
            ErrorCode::Forbidden,
            "only administrators manage safes",
        ))
    }
}

fn require_safe(conn: &mut DbConnection, name: &str) -> Result<SafeRow, AppError> {
    safe_db::find_safe(conn, &name.to_lowercase())?
        .ok_or_else(|| AppError::new(ErrorCode::NotFound, format!("no safe named {name}")))
}

/// The safe, if the caller is an administrator or belongs to it; otherwise not found.
fn visible_safe(
    conn: &mut DbConnection,
    me: &CurrentUser,
    name: &str,
) -> Result<SafeRow, AppError> {
    let safe = require_safe(conn, name)?;
    if me.is_admin() || !safe_db::entries_for(conn, safe.id, me.id, me.role)?.is_empty() {
        Ok(safe)
    } else {
        Err(AppError::new(
            ErrorCode::NotFound,
            format!("no safe named {name}"),
        ))
    }
}
