//! The names of the safes and accounts a page of requests names, looked up once for the page.

use std::collections::HashMap;

use diesel::prelude::*;

use super::rows::HasState;
use crate::db::DbConnection;
use crate::db::schema::{safe_accounts, safes};

/// The names of the safes and accounts a set of requests names.
#[derive(Debug, Clone, Default)]
pub struct SafeAndAccountNames {
    safes: HashMap<i64, String>,
    accounts: HashMap<i64, String>,
}

impl SafeAndAccountNames {
    /// The name of the safe the request names, if it names one.
    pub fn safe(&self, request: &impl HasState) -> Option<String> {
        request
            .state()
            .safe_id
            .and_then(|id| self.safes.get(&id).cloned())
    }

    /// The name of the account the request names, if it names one.
    pub fn account(&self, request: &impl HasState) -> Option<String> {
        request
            .state()
            .account_id
            .and_then(|id| self.accounts.get(&id).cloned())
    }
}

/// The names of the safes and accounts that requests name, in two queries for a whole page.
pub fn safe_and_account_names(
    conn: &mut DbConnection,
    rows: &[impl HasState],
) -> QueryResult<SafeAndAccountNames> {
    let safe_ids: Vec<i64> = rows.iter().filter_map(|r| r.state().safe_id).collect();
    let account_ids: Vec<i64> = rows.iter().filter_map(|r| r.state().account_id).collect();
    if safe_ids.is_empty() && account_ids.is_empty() {
        return Ok(SafeAndAccountNames::default());
    }
    let safes = safes::table
        .filter(safes::id.eq_any(&safe_ids))
        .select((safes::id, safes::name))
        .load::<(i64, String)>(conn)?;
    let accounts = safe_accounts::table
        .filter(safe_accounts::id.eq_any(&account_ids))
        .select((safe_accounts::id, safe_accounts::name))
        .load::<(i64, String)>(conn)?;
    Ok(SafeAndAccountNames {
        safes: safes.into_iter().collect(),
        accounts: accounts.into_iter().collect(),
    })
}
