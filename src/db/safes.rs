//! Queries on `safes`, `safe_accounts` and `safe_members`. Safes and accounts are deleted softly,
//! so the requests that named them keep their history.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::requests::PersonRow;
use super::schema::{requests, safe_accounts, safe_members, safes, users};
use super::{DbConnection, MultiBackend};
use crate::domain::request::RequestStatus;
use crate::domain::user::{Role, UserStatus};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = safes)]
pub struct SafeRow {
    pub id: i64,
    pub name: String,
    pub name_key: String,
    pub description: String,
    pub level1_confirmations: i32,
    pub level2_confirmations: i32,
    pub request_expiry_hours: i32,
    pub max_access_hours: i32,
    pub ticket_required: bool,
    pub policy_version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub deleted_at: Option<NaiveDateTime>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = safes)]
pub struct NewSafeRow<'a> {
    pub name: &'a str,
    pub name_key: &'a str,
    pub description: &'a str,
    pub level1_confirmations: i32,
    pub level2_confirmations: i32,
    pub request_expiry_hours: i32,
    pub max_access_hours: i32,
    pub ticket_required: bool,
    pub policy_version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = safes)]
pub struct SafeChanges {
    pub description: Option<String>,
    pub level1_confirmations: Option<i32>,
    pub level2_confirmations: Option<i32>,
    pub request_expiry_hours: Option<i32>,
    pub max_access_hours: Option<i32>,
    pub ticket_required: Option<bool>,
    pub policy_version: Option<i32>,
    pub updated_at: Option<NaiveDateTime>,
    pub deleted_at: Option<Option<NaiveDateTime>>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = safe_accounts)]
pub struct AccountRow {
    pub id: i64,
    pub safe_id: i64,
    pub name: String,
    pub folder: String,
    pub address: String,
    pub user_name: String,
    pub last_used_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub deleted_at: Option<NaiveDateTime>,
    pub platform_id: String,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = safe_accounts)]
pub struct NewAccountRow<'a> {
    pub safe_id: i64,
    pub name: &'a str,
    pub folder: &'a str,
    pub address: &'a str,
    pub user_name: &'a str,
    pub platform_id: &'a str,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = safe_members)]
pub struct MemberRow {
    pub id: i64,
    pub safe_id: i64,
    pub user_id: Option<i64>,
    pub group_role: Option<Role>,
    pub can_request: bool,
    pub confirm_level: Option<i32>,
    pub created_at: NaiveDateTime,
}

/// A member entry with the user behind a user entry.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = safe_members)]
pub struct MemberWithUser {
    #[diesel(embed)]
    pub member: MemberRow,
    #[diesel(embed)]
    pub user: Option<PersonRow>,
}

/// Who a member entry is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Principal {
    User(i64),
    Group(Role),
}

/// A user and their role: whom the entries of a safe may name, directly or through the role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemberOf {
    pub user_id: i64,
    pub role: Role,
}

pub fn insert_safe(conn: &mut DbConnection, safe: &NewSafeRow<'_>) -> QueryResult<i64> {
    diesel::insert_into(safes::table)
        .values(safe)
        .returning(safes::id)
        .get_result(conn)
}

/// A safe that has not been deleted, by its case-insensitive name.
pub fn find_safe(conn: &mut DbConnection, name_key: &str) -> QueryResult<Option<SafeRow>> {
    safes::table
        .filter(safes::name_key.eq(name_key))
        .filter(safes::deleted_at.is_null())
        .select(SafeRow::as_select())
        .first(conn)
        .optional()
}

pub fn find_safe_by_id(conn: &mut DbConnection, id: i64) -> QueryResult<SafeRow> {
    safes::table
        .find(id)
        .select(SafeRow::as_select())
        .first(conn)
}

/// One page of live safes by name; with `member`, only the safes that user belongs to,
/// directly or through their role.
pub fn list_safes(
    conn: &mut DbConnection,
    member: Option<MemberOf>,
    offset: i64,
    limit: i64,
) -> QueryResult<(Vec<SafeRow>, i64)> {
    let query = || {
        let mut query = safes::table
            .filter(safes::deleted_at.is_null())
            .into_boxed::<MultiBackend>();
        if let Some(MemberOf { user_id, role }) = member {
            query = query.filter(diesel::dsl::exists(
                safe_members::table.filter(
                    safe_members::safe_id.eq(safes::id).and(
                        safe_members::user_id
                            .eq(user_id)
                            .or(safe_members::group_role.eq(role)),
                    ),
                ),
            ));
        }
        query
    };
    let total = query().count().get_result(conn)?;
    let rows = query()
        .order(safes::name_key.asc())
        .offset(offset)
        .limit(limit)
        .select(SafeRow::as_select())
        .load(conn)?;
    Ok((rows, total))
}

pub fn update_safe(
    conn: &mut DbConnection,
    id: i64,
    changes: &SafeChanges,
) -> QueryResult<SafeRow> {
    diesel::update(safes::table.find(id))
        .set(changes)
        .execute(conn)?;
    find_safe_by_id(conn, id)
}

pub fn insert_account(conn: &mut DbConnection, account: &NewAccountRow<'_>) -> QueryResult<i64> {
    diesel::insert_into(safe_accounts::table)
        .values(account)
        .returning(safe_accounts::id)
        .get_result(conn)
}

/// A live account; with `safe_id`, only in that safe.
pub fn find_account(
    conn: &mut DbConnection,
    id: i64,
    safe_id: Option<i64>,
) -> QueryResult<Option<AccountRow>> {
    let mut query = safe_accounts::table
        .filter(safe_accounts::id.eq(id))
        .filter(safe_accounts::deleted_at.is_null())
        .into_boxed();
    if let Some(safe) = safe_id {
        query = query.filter(safe_accounts::safe_id.eq(safe));
    }
    query.select(AccountRow::as_select()).first(conn).optional()
}

pub fn list_accounts(
    conn: &mut DbConnection,
    safe_id: i64,
    offset: i64,
    limit: i64,
) -> QueryResult<(Vec<AccountRow>, i64)> {
    let live = safe_accounts::table
        .filter(safe_accounts::safe_id.eq(safe_id))
        .filter(safe_accounts::deleted_at.is_null());
    let total = live.count().get_result(conn)?;
    let rows = live
        .order((safe_accounts::name.asc(), safe_accounts::id.asc()))
        .offset(offset)
        .limit(limit)
        .select(AccountRow::as_select())
        .load(conn)?;
    Ok((rows, total))
}

/// Marks live accounts deleted: one, or (with `account_id` None) every one in the safe.
pub fn delete_accounts(
    conn: &mut DbConnection,
    safe_id: i64,
    account_id: Option<i64>,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    let live = safe_accounts::table
        .filter(safe_accounts::safe_id.eq(safe_id))
        .filter(safe_accounts::deleted_at.is_null());
    match account_id {
        Some(id) => diesel::update(live.filter(safe_accounts::id.eq(id)))
            .set(safe_accounts::deleted_at.eq(now))
            .execute(conn),
        None => diesel::update(live)
            .set(safe_accounts::deleted_at.eq(now))
            .execute(conn),
    }
}

/// The live account `account_id` of the safe; on PostgreSQL its row stays locked until the
/// transaction ends, so a concurrent deletion, a second write or a second submission for it
/// waits for this one (and a deletion that committed first is seen). SQLite's write
/// transactions already run one at a time.
pub fn lock_live_account(
    conn: &mut DbConnection,
    safe_id: i64,
    account_id: i64,
) -> QueryResult<Option<AccountRow>> {
    // Written inside the macro, so that the row's selection is built for each backend.
    first_locked!(
        conn,
        safe_accounts::table
            .filter(safe_accounts::id.eq(account_id))
            .filter(safe_accounts::safe_id.eq(safe_id))
            .filter(safe_accounts::deleted_at.is_null())
            .select(AccountRow::as_select()),
        for_update
    )
}

/// The live safe named `name_key`, read inside the caller's transaction to be changed: on
/// PostgreSQL its row stays locked until the transaction ends, so two changes of the same safe
/// run one after the other, each from what the other wrote.
pub fn lock_live_safe_for_update(
    conn: &mut DbConnection,
    name_key: &str,
) -> QueryResult<Option<SafeRow>> {
    // Written inside the macro, so that the row's selection is built for each backend.
    first_locked!(
        conn,
        safes::table
            .filter(safes::name_key.eq(name_key))
            .filter(safes::deleted_at.is_null())
            .select(SafeRow::as_select()),
        for_update
    )
}

/// The live safe's policy version, read inside a submission's transaction: on PostgreSQL the row
/// is share-locked until it ends, so a policy change waits for the submission (and then finds
/// its request to invalidate), or the submission waits for the change (and finds the new
/// version). Submissions do not wait for each other.
pub fn share_policy_version(conn: &mut DbConnection, id: i64) -> QueryResult<Option<i32>> {
    let live = safes::table
        .filter(safes::id.eq(id))
        .filter(safes::deleted_at.is_null())
        .select(safes::policy_version);
    first_locked!(conn, live, for_share)
}

pub fn touch_account(conn: &mut DbConnection, id: i64, now: NaiveDateTime) -> QueryResult<()> {
    diesel::update(safe_accounts::table.find(id))
        .set(safe_accounts::last_used_at.eq(now))
        .execute(conn)
        .map(drop)
}

/// Every member entry of a safe, with the user behind each user entry.
pub fn members(conn: &mut DbConnection, safe_id: i64) -> QueryResult<Vec<MemberWithUser>> {
    safe_members::table
        .left_join(users::table)
        .filter(safe_members::safe_id.eq(safe_id))
        .order(safe_members::id.asc())
        .select(MemberWithUser::as_select())
        .load(conn)
}

/// The entries that can act: groups, and users who are still active. A suspended or deleted
/// confirmer no longer counts.
pub fn active_members(conn: &mut DbConnection, safe_id: i64) -> QueryResult<Vec<MemberWithUser>> {
    safe_members::table
        .left_join(users::table)
        .filter(safe_members::safe_id.eq(safe_id))
        .filter(
            safe_members::user_id
                .is_null()
                .or(users::status.nullable().eq(UserStatus::Active)),
        )
        .order(safe_members::id.asc())
        .select(MemberWithUser::as_select())
        .load(conn)
}

/// The entries that apply to one user in a safe: their own and their role's.
pub fn entries_for(
    conn: &mut DbConnection,
    safe_id: i64,
    user_id: i64,
    role: Role,
) -> QueryResult<Vec<MemberRow>> {
    safe_members::table
        .filter(safe_members::safe_id.eq(safe_id))
        .filter(
            safe_members::user_id
                .eq(user_id)
                .or(safe_members::group_role.eq(role)),
        )
        .select(MemberRow::as_select())
        .load(conn)
}

/// The live safes with waiting requests where the user is a member, directly or through one of
/// these roles.
pub fn safes_with_pending_for(
    conn: &mut DbConnection,
    user_id: i64,
    roles: &[Role],
) -> QueryResult<Vec<SafeRow>> {
    safes::table
        .filter(safes::deleted_at.is_null())
        .filter(diesel::dsl::exists(
            safe_members::table.filter(
                safe_members::safe_id.eq(safes::id).and(
                    safe_members::user_id
                        .eq(user_id)
                        .or(safe_members::group_role.eq_any(roles)),
                ),
            ),
        ))
        .filter(diesel::dsl::exists(
            requests::table
                .filter(requests::safe_id.eq(safes::id.nullable()))
                .filter(requests::status.eq(RequestStatus::Pending)),
        ))
        .select(SafeRow::as_select())
        .load(conn)
}

/// These safes, deleted or not.
pub fn safes_by_ids(conn: &mut DbConnection, ids: &[i64]) -> QueryResult<Vec<SafeRow>> {
    safes::table
        .filter(safes::id.eq_any(ids))
        .select(SafeRow::as_select())
        .load(conn)
}

/// These accounts, deleted or not.
pub fn accounts_by_ids(conn: &mut DbConnection, ids: &[i64]) -> QueryResult<Vec<AccountRow>> {
    safe_accounts::table
        .filter(safe_accounts::id.eq_any(ids))
        .select(AccountRow::as_select())
        .load(conn)
}

/// The entries of these safes that can act (see [`active_members`]).
pub fn active_members_of(
    conn: &mut DbConnection,
    safe_ids: &[i64],
) -> QueryResult<Vec<MemberWithUser>> {
    safe_members::table
        .left_join(users::table)
        .filter(safe_members::safe_id.eq_any(safe_ids))
        .filter(
            safe_members::user_id
                .is_null()
                .or(users::status.nullable().eq(UserStatus::Active)),
        )
        .order(safe_members::id.asc())
        .select(MemberWithUser::as_select())
        .load(conn)
}

/// Whether the user confirms at some level in any live safe, directly or through their role.
pub fn confirms_anywhere(conn: &mut DbConnection, user_id: i64, role: Role) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        safe_members::table
            .inner_join(safes::table)
            .filter(safes::deleted_at.is_null())
            .filter(safe_members::confirm_level.is_not_null())
            .filter(
                safe_members::user_id
                    .eq(user_id)
                    .or(safe_members::group_role.eq(role)),
            ),
    ))
    .get_result(conn)
}

/// Creates or replaces the entry of a user or group.
pub fn put_member(
    conn: &mut DbConnection,
    safe_id: i64,
    principal: &Principal,
    can_request: bool,
    confirm_level: Option<i32>,
    now: NaiveDateTime,
) -> QueryResult<()> {
    let existing = entry(conn, safe_id, principal)?;
    let changes = (
        safe_members::can_request.eq(can_request),
        safe_members::confirm_level.eq(confirm_level),
    );
    match (existing, principal) {
        (Some(id), _) => diesel::update(safe_members::table.find(id))
            .set(changes)
            .execute(conn),
        (None, Principal::User(user_id)) => diesel::insert_into(safe_members::table)
            .values((
                safe_members::safe_id.eq(safe_id),
                safe_members::user_id.eq(Some(*user_id)),
                safe_members::can_request.eq(can_request),
                safe_members::confirm_level.eq(confirm_level),
                safe_members::created_at.eq(now),
            ))
            .execute(conn),
        (None, Principal::Group(role)) => diesel::insert_into(safe_members::table)
            .values((
                safe_members::safe_id.eq(safe_id),
                safe_members::group_role.eq(Some(*role)),
                safe_members::can_request.eq(can_request),
                safe_members::confirm_level.eq(confirm_level),
                safe_members::created_at.eq(now),
            ))
            .execute(conn),
    }
    .map(drop)
}

fn entry(conn: &mut DbConnection, safe_id: i64, principal: &Principal) -> QueryResult<Option<i64>> {
    let in_safe = safe_members::table.filter(safe_members::safe_id.eq(safe_id));
    match principal {
        Principal::User(user_id) => in_safe
            .filter(safe_members::user_id.eq(*user_id))
            .select(safe_members::id)
            .first(conn)
            .optional(),
        Principal::Group(role) => in_safe
            .filter(safe_members::group_role.eq(*role))
            .select(safe_members::id)
            .first(conn)
            .optional(),
    }
}

/// Removes an entry; returns whether there was one.
pub fn delete_member(
    conn: &mut DbConnection,
    safe_id: i64,
    principal: &Principal,
) -> QueryResult<bool> {
    match entry(conn, safe_id, principal)? {
        Some(id) => diesel::delete(safe_members::table.find(id))
            .execute(conn)
            .map(|n| n > 0),
        None => Ok(false),
    }
}

/// An active user behind a group entry.
#[derive(Debug, Clone, Queryable)]
pub struct RoleMember {
    pub id: i64,
    pub username: String,
    pub name: String,
    pub email: String,
    pub role: Role,
}

/// Active users with one of these roles: the members behind group entries.
pub fn active_users_with_roles(
    conn: &mut DbConnection,
    roles: &[Role],
) -> QueryResult<Vec<RoleMember>> {
    users::table
        .filter(users::role.eq_any(roles))
        .filter(users::status.eq(UserStatus::Active))
        .order(users::username.asc())
        .select((
            users::id,
            users::username,
            users::name,
            users::email,
            users::role,
        ))
        .load(conn)
}
