//! Queries on `account_secrets`: the sealed secret of an account, one row per account. The rows
//! hold ciphertext only; sealing and opening happen in `crate::secrets`.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConnection;
use super::schema::{account_secrets, safes};

/// A stored envelope, as the table holds it.
#[derive(Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = account_secrets)]
pub struct SecretRow {
    pub account_id: i64,
    pub key_id: String,
    pub wrapped_key: Vec<u8>,
    pub key_nonce: Vec<u8>,
    pub secret_nonce: Vec<u8>,
    pub ciphertext: Vec<u8>,
    pub secret_type: String,
    pub updated_at: NaiveDateTime,
}

impl std::fmt::Debug for SecretRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretRow")
            .field("account_id", &self.account_id)
            .field("key_id", &self.key_id)
            .field("secret_type", &self.secret_type)
            .finish_non_exhaustive()
    }
}

/// The id of a live safe, by its case-insensitive name.
pub fn find_live_safe(conn: &mut DbConnection, name_key: &str) -> QueryResult<Option<i64>> {
    safes::table
        .filter(safes::name_key.eq(name_key))
        .filter(safes::deleted_at.is_null())
        .select(safes::id)
        .first(conn)
        .optional()
}

/// Writes the account's envelope, replacing any earlier one. Call it inside a write transaction,
/// after `safes::lock_live_account`: the update then the insert cannot race another writer.
pub fn put(conn: &mut DbConnection, row: &SecretRow) -> QueryResult<()> {
    let updated = diesel::update(account_secrets::table.find(row.account_id))
        .set((
            account_secrets::key_id.eq(&row.key_id),
            account_secrets::wrapped_key.eq(&row.wrapped_key),
            account_secrets::key_nonce.eq(&row.key_nonce),
            account_secrets::secret_nonce.eq(&row.secret_nonce),
            account_secrets::ciphertext.eq(&row.ciphertext),
            account_secrets::secret_type.eq(&row.secret_type),
            account_secrets::updated_at.eq(row.updated_at),
        ))
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(account_secrets::table)
            .values(row)
            .execute(conn)?;
    }
    Ok(())
}

/// The account's envelope, if it has one.
pub fn find(conn: &mut DbConnection, account_id: i64) -> QueryResult<Option<SecretRow>> {
    account_secrets::table
        .find(account_id)
        .select(SecretRow::as_select())
        .first(conn)
        .optional()
}

/// Up to `limit` envelopes whose data key is not wrapped by `key_id`, after `after` in account
/// order: the rotation's next batch.
pub fn not_wrapped_by(
    conn: &mut DbConnection,
    key_id: &str,
    after: i64,
    limit: i64,
) -> QueryResult<Vec<SecretRow>> {
    account_secrets::table
        .filter(account_secrets::key_id.ne(key_id))
        .filter(account_secrets::account_id.gt(after))
        .order(account_secrets::account_id.asc())
        .limit(limit)
        .select(SecretRow::as_select())
        .load(conn)
}

/// How many envelopes are not wrapped by `key_id`.
pub fn count_not_wrapped_by(conn: &mut DbConnection, key_id: &str) -> QueryResult<i64> {
    account_secrets::table
        .filter(account_secrets::key_id.ne(key_id))
        .count()
        .get_result(conn)
}

/// Replaces the wrapped data key of `old`'s row with `new`'s, only if the row still holds the
/// wrapped key that was read: a secret replaced meanwhile is left alone. Returns whether it was.
pub fn rewrap(conn: &mut DbConnection, old: &SecretRow, new: &SecretRow) -> QueryResult<bool> {
    diesel::update(
        account_secrets::table
            .filter(account_secrets::account_id.eq(old.account_id))
            .filter(account_secrets::key_id.eq(&old.key_id))
            .filter(account_secrets::wrapped_key.eq(&old.wrapped_key)),
    )
    .set((
        account_secrets::key_id.eq(&new.key_id),
        account_secrets::wrapped_key.eq(&new.wrapped_key),
        account_secrets::key_nonce.eq(&new.key_nonce),
    ))
    .execute(conn)
    .map(|rows| rows == 1)
}

/// How many envelopes each master key wraps.
pub fn count_by_key(conn: &mut DbConnection) -> QueryResult<Vec<(String, i64)>> {
    account_secrets::table
        .group_by(account_secrets::key_id)
        .select((account_secrets::key_id, diesel::dsl::count_star()))
        .load(conn)
}
