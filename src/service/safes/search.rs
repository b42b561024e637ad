//! Finding accounts and safes as PVWA clients do (the account list and get by id, the safe list,
//! a safe with its number, its members): a caller sees the safes they belong to and their
//! accounts, administrators everything; what they may not see is not found, exactly as what
//! does not exist.

use std::collections::HashMap;

use super::rules::to_safe;
use super::{members_of, visible_safe};
use crate::db::safes::{self as safe_db, MemberOf, SafeRow};
use crate::db::vault_search::{self, AccountQuery};
use crate::domain::access::{Account, Safe, SafeMember};
use crate::error::{AppError, ErrorCode};
use crate::secrets::SecretType;
use crate::service::Context;
use crate::service::auth::VerifiedToken;
use crate::service::requests::to_account;

pub use crate::db::vault_search::{AccountOrder as SortBy, WordMatch as SearchType};

/// An account as found, with the type of its secret when it holds one.
#[derive(Debug, Clone)]
pub struct FoundAccount {
    pub account: Account,
    pub secret_type: Option<SecretType>,
}

/// A search, as received (already parsed by the caller).
#[derive(Debug, Clone)]
pub struct AccountSearch {
    pub words: Vec<String>,
    pub search_type: SearchType,
    pub safe_name: Option<String>,
    pub sort: SortBy,
    pub descending: bool,
    pub offset: i64,
    pub limit: i64,
}

/// One page of the accounts the caller may see that match, and how many match in all.
pub fn search_accounts(
    ctx: &Context,
    token: &VerifiedToken,
    search: AccountSearch,
) -> Result<(Vec<FoundAccount>, i64), AppError> {
    let (mut conn, me) = ctx.authenticate(token)?;
    let query = AccountQuery {
        member: (!me.is_admin()).then_some(MemberOf {
            user_id: me.id,
            role: me.role,
        }),
        words: search.words,
        word_match: search.search_type,
        safe_name_key: search.safe_name.map(|name| name.trim().to_lowercase()),
        order: search.sort,
        descending: search.descending,
        offset: search.offset,
        limit: search.limit,
    };
    let (rows, total) = vault_search::search_accounts(&mut conn, &query)?;
    let ids: Vec<i64> = rows.iter().map(|(row, _)| row.id).collect();
    let types: HashMap<i64, String> = vault_search::secret_types(&mut conn, &ids)?
        .into_iter()
        .collect();
    let found = rows
        .into_iter()
        .map(|(row, safe)| FoundAccount {
            secret_type: types.get(&row.id).and_then(|t| SecretType::parse(t)),
            account: to_account(row, &safe),
        })
        .collect();
    Ok((found, total))
}

/// Whether the caller's session is live: the search's properties are the same for everyone,
/// but only for a session.
pub fn may_search(ctx: &Context, token: &VerifiedToken) -> Result<(), AppError> {
    ctx.authenticate(token).map(|_| ())
}

/// One account by id, optionally required to be in the safe with id `safe_id`, if the caller
/// may see it; otherwise not found, saying `no account <shown_id>`.
pub fn find_account(
    ctx: &Context,
    token: &VerifiedToken,
    safe_id: Option<i64>,
    account_id: i64,
    shown_id: &str,
) -> Result<FoundAccount, AppError> {
    let (mut conn, me) = ctx.authenticate(token)?;
    let not_found = || AppError::new(ErrorCode::NotFound, format!("no account {shown_id}"));
    let row = safe_db::find_account(&mut conn, account_id, safe_id)?.ok_or_else(not_found)?;
    let safe = safe_db::find_safe_by_id(&mut conn, row.safe_id)?;
    let visible = safe.deleted_at.is_none()
        && (me.is_admin() || !safe_db::entries_for(&mut conn, safe.id, me.id, me.role)?.is_empty());
    if !visible {
        return Err(not_found());
    }
    let secret_type = vault_search::secret_types(&mut conn, &[row.id])?
        .into_iter()
        .next()
        .and_then(|(_, t)| SecretType::parse(&t));
    Ok(FoundAccount {
        account: to_account(row, &safe.name),
        secret_type,
    })
}

/// A safe, with its number (PVWA's `safeNumber`).
#[derive(Debug, Clone)]
pub struct FoundSafe {
    pub number: i64,
    pub safe: Safe,
}

fn found_safe(row: SafeRow) -> FoundSafe {
    FoundSafe {
        number: row.id,
        safe: to_safe(row),
    }
}

/// One page of the safes the caller may see (every safe for administrators) whose name or
/// description holds every word, by name; and how many match in all.
pub fn search_safes(
    ctx: &Context,
    token: &VerifiedToken,
    words: Vec<String>,
    offset: i64,
    limit: i64,
) -> Result<(Vec<FoundSafe>, i64), AppError> {
    let (mut conn, me) = ctx.authenticate(token)?;
    let member = (!me.is_admin()).then_some(MemberOf {
        user_id: me.id,
        role: me.role,
    });
    let (rows, total) = vault_search::search_safes(&mut conn, member, &words, offset, limit)?;
    Ok((rows.into_iter().map(found_safe).collect(), total))
}

/// One safe by name (any case), with its members when `with_members`, for administrators and
/// its members; anyone else: not found.
pub fn find_safe(
    ctx: &Context,
    token: &VerifiedToken,
    name: &str,
    with_members: bool,
) -> Result<(FoundSafe, Vec<SafeMember>), AppError> {
    let (mut conn, me) = ctx.authenticate(token)?;
    let row = visible_safe(&mut conn, &me, name)?;
    let members = if with_members {
        members_of(&mut conn, &row)?
    } else {
        Vec::new()
    };
    Ok((found_safe(row), members))
}
