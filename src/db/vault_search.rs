//! The searches behind PVWA's account and safe lists: live accounts of live safes (or live
//! safes), optionally only those of the safes a user belongs to, matched by words, filtered,
//! sorted and paged.

use diesel::expression_methods::EscapeExpressionMethods;
use diesel::prelude::*;

use super::safes::{AccountRow, MemberOf, SafeRow};
use super::schema::{account_secrets, safe_accounts, safe_members, safes};
use super::{DbConnection, MultiBackend};

diesel::define_sql_function!(fn lower(value: diesel::sql_types::Text) -> diesel::sql_types::Text);

/// How each search word must match a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WordMatch {
    Contains,
    StartsWith,
}

/// What the list is sorted by (then by id, so pages never overlap).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountOrder {
    Name,
    Address,
    UserName,
    SafeName,
    PlatformId,
    CreatedTime,
}

/// One search, as the service built it.
#[derive(Debug, Clone)]
pub struct AccountQuery {
    /// With `Some`, only the accounts of safes this user belongs to, directly or by role.
    pub member: Option<MemberOf>,
    /// Every word must match the name, address, user name, platform or safe name (any case).
    pub words: Vec<String>,
    pub word_match: WordMatch,
    /// Only the safe with this name key (lowercased name).
    pub safe_name_key: Option<String>,
    pub order: AccountOrder,
    pub descending: bool,
    pub offset: i64,
    pub limit: i64,
}

/// An account found, with its safe's name.
pub type FoundRow = (AccountRow, String);

/// `value` with `\`, `%` and `_` escaped for a `LIKE ... ESCAPE '\'` pattern, lowercased.
fn escaped(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.to_lowercase().chars() {
        if matches!(c, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// One page of the accounts the query finds, and how many it finds in all.
pub fn search_accounts(
    conn: &mut DbConnection,
    query: &AccountQuery,
) -> QueryResult<(Vec<FoundRow>, i64)> {
    let filtered = || {
        let mut boxed = safe_accounts::table
            .inner_join(safes::table)
            .filter(safe_accounts::deleted_at.is_null())
            .filter(safes::deleted_at.is_null())
            .into_boxed::<MultiBackend>();
        if let Some(MemberOf { user_id, role }) = query.member {
            boxed = boxed.filter(diesel::dsl::exists(
                safe_members::table.filter(
                    safe_members::safe_id.eq(safe_accounts::safe_id).and(
                        safe_members::user_id
                            .eq(user_id)
                            .or(safe_members::group_role.eq(role)),
                    ),
                ),
            ));
        }
        if let Some(key) = &query.safe_name_key {
            boxed = boxed.filter(safes::name_key.eq(key.clone()));
        }
        for word in &query.words {
            let pattern = match query.word_match {
                WordMatch::Contains => format!("%{}%", escaped(word)),
                WordMatch::StartsWith => format!("{}%", escaped(word)),
            };
            boxed = boxed.filter(
                lower(safe_accounts::name)
                    .like(pattern.clone())
                    .escape('\\')
                    .or(lower(safe_accounts::address)
                        .like(pattern.clone())
                        .escape('\\'))
                    .or(lower(safe_accounts::user_name)
                        .like(pattern.clone())
                        .escape('\\'))
                    .or(lower(safe_accounts::platform_id)
                        .like(pattern.clone())
                        .escape('\\'))
                    .or(safes::name_key.like(pattern).escape('\\')),
            );
        }
        boxed
    };
    let total = filtered().count().get_result(conn)?;
    let mut rows = filtered();
    rows = match (query.order, query.descending) {
        (AccountOrder::Name, false) => rows.order(safe_accounts::name.asc()),
        (AccountOrder::Name, true) => rows.order(safe_accounts::name.desc()),
        (AccountOrder::Address, false) => rows.order(safe_accounts::address.asc()),
        (AccountOrder::Address, true) => rows.order(safe_accounts::address.desc()),
        (AccountOrder::UserName, false) => rows.order(safe_accounts::user_name.asc()),
        (AccountOrder::UserName, true) => rows.order(safe_accounts::user_name.desc()),
        (AccountOrder::SafeName, false) => rows.order(safes::name_key.asc()),
        (AccountOrder::SafeName, true) => rows.order(safes::name_key.desc()),
        (AccountOrder::PlatformId, false) => rows.order(safe_accounts::platform_id.asc()),
        (AccountOrder::PlatformId, true) => rows.order(safe_accounts::platform_id.desc()),
        (AccountOrder::CreatedTime, false) => rows.order(safe_accounts::created_at.asc()),
        (AccountOrder::CreatedTime, true) => rows.order(safe_accounts::created_at.desc()),
    };
    let found = rows
        .then_order_by(safe_accounts::id.asc())
        .offset(query.offset)
        .limit(query.limit)
        .select((AccountRow::as_select(), safes::name))
        .load(conn)?;
    Ok((found, total))
}

/// The stored secret type (`password`, `key`) of each of these accounts that has a secret.
pub fn secret_types(conn: &mut DbConnection, ids: &[i64]) -> QueryResult<Vec<(i64, String)>> {
    account_secrets::table
        .filter(account_secrets::account_id.eq_any(ids))
        .select((account_secrets::account_id, account_secrets::secret_type))
        .load(conn)
}

/// One page of live safes by name whose name or description holds every word (any case); with
/// `member`, only the safes that user belongs to. And how many match in all.
pub fn search_safes(
    conn: &mut DbConnection,
    member: Option<MemberOf>,
    words: &[String],
    offset: i64,
    limit: i64,
) -> QueryResult<(Vec<SafeRow>, i64)> {
    let filtered = || {
        let mut boxed = safes::table
            .filter(safes::deleted_at.is_null())
            .into_boxed::<MultiBackend>();
        if let Some(MemberOf { user_id, role }) = member {
            boxed = boxed.filter(diesel::dsl::exists(
                safe_members::table.filter(
                    safe_members::safe_id.eq(safes::id).and(
                        safe_members::user_id
                            .eq(user_id)
                            .or(safe_members::group_role.eq(role)),
                    ),
                ),
            ));
        }
        for word in words {
            let pattern = format!("%{}%", escaped(word));
            boxed = boxed.filter(
                safes::name_key
                    .like(pattern.clone())
                    .escape('\\')
                    .or(lower(safes::description).like(pattern).escape('\\')),
            );
        }
        boxed
    };
    let total = filtered().count().get_result(conn)?;
    let rows = filtered()
        .order((safes::name_key.asc(), safes::id.asc()))
        .offset(offset)
        .limit(limit)
        .select(SafeRow::as_select())
        .load(conn)?;
    Ok((rows, total))
}
