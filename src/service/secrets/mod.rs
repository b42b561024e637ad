//! Account secrets: administrators set and replace them; no call here returns one. The secret is
//! sealed (see `crate::secrets`) before the transaction that stores it, under the key ring the
//! [`Context`] holds; the plaintext is wiped when the input is dropped. `rotate` re-wraps every
//! data key under a new master key, in small conditional transactions, while the service serves.

pub mod store;

pub use self::store::SecretInput;

use self::store::{to_row, to_sealed, validate};
use super::Context;
use crate::db::account_secrets as secret_db;
use crate::db::safes as safe_db;
use crate::db::{self, DbConnection};
use crate::error::{AppError, ErrorCode};
use crate::secrets::{self, KeyRing, MasterKey, SecretText, SecretType};

/// Sets or replaces the secret of an account. Administrators only; an unknown safe or account,
/// or one in another safe, is not found.
pub fn put_secret(
    ctx: &Context,
    token: &super::auth::VerifiedToken,
    safe: &str,
    account_id: i64,
    input: SecretInput,
) -> Result<(), AppError> {
    let (mut conn, me) = ctx.authenticate(token)?;
    if !me.is_admin() {
        return Err(AppError::new(
            ErrorCode::Forbidden,
            "only administrators set account secrets",
        ));
    }
    let safe_id = secret_db::find_live_safe(&mut conn, &safe.to_lowercase())?
        .ok_or_else(|| AppError::new(ErrorCode::NotFound, format!("no safe named {safe}")))?;
    validate(&input.secret)?;
    let sealed = secrets::seal(&ctx.secrets, account_id, input.secret_type, &input.secret)
        .map_err(|e| AppError::Internal(format!("sealing a secret: {e}")))?;
    drop(input);
    let row = to_row(account_id, sealed, ctx.clock.now_naive());
    db::write_transaction(&mut conn, |conn| {
        if safe_db::lock_live_account(conn, safe_id, account_id)?.is_none() {
            return Err(AppError::new(
                ErrorCode::NotFound,
                format!("no account {account_id} in safe {safe}"),
            ));
        }
        secret_db::put(conn, &row)?;
        Ok(())
    })?;
    tracing::info!(
        account.id = account_id,
        safe.name = %safe,
        user.name = %me.username,
        key.id = %row.key_id,
        secret_type = %row.secret_type,
        "account secret set"
    );
    Ok(())
}

/// Opens the stored secret of an account: for the tests. `None` when the account has no secret.
pub fn open_secret(
    ring: &KeyRing,
    conn: &mut db::DbConnection,
    account_id: i64,
) -> Result<Option<SecretText>, AppError> {
    Ok(open_typed(ring, conn, account_id)?.map(|(secret, _)| secret))
}

/// Opens the stored secret of an account with its type: for the retrieval rules, on the
/// caller's connection (inside its transaction). `None` when the account has no secret; an
/// envelope that does not open is a 500 whose cause is logged, never garbage.
pub fn open_typed(
    ring: &KeyRing,
    conn: &mut db::DbConnection,
    account_id: i64,
) -> Result<Option<(SecretText, SecretType)>, AppError> {
    let Some(row) = secret_db::find(conn, account_id)? else {
        return Ok(None);
    };
    let sealed = to_sealed(&row).map_err(|e| AppError::Internal(e.to_string()))?;
    secrets::open(ring, account_id, &sealed)
        .map(|secret| Some((secret, sealed.secret_type)))
        .map_err(|e| AppError::Internal(format!("opening a secret: {e}")))
}

/// What a rotation did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Rotation {
    /// Data keys re-wrapped under the new key.
    pub rewrapped: u64,
    /// Envelopes the rotation could not open: account ids and why (a key missing from the ring).
    pub failed: Vec<(i64, String)>,
    /// Envelopes still not under the new key when it ended (failed ones included).
    pub remaining: i64,
}

/// Re-wraps every data key not yet under `to`, `batch` rows per transaction. Each update is
/// conditional on the row still holding the wrapped key that was read, so a secret replaced
/// meanwhile is left as its writer stored it; a later pass takes it if it is still under an old
/// key. `ring` opens the old data keys. It runs on one connection of its own (the command opens
/// it with `db::connect_one`), beside a serving instance's pool.
pub fn rotate(
    conn: &mut DbConnection,
    ring: &KeyRing,
    to: &MasterKey,
    batch: i64,
) -> Result<Rotation, AppError> {
    let mut rotation = Rotation::default();
    let to_id = to.id().to_string();
    for _pass in 0..5 {
        let mut after = 0_i64;
        let mut progressed = false;
        loop {
            let (seen, last) = db::write_transaction(conn, |conn| {
                let rows = secret_db::not_wrapped_by(conn, &to_id, after, batch)?;
                let mut last = after;
                for row in &rows {
                    last = row.account_id;
                    if rotation.failed.iter().any(|(id, _)| *id == row.account_id) {
                        continue;
                    }
                    let rewrapped = to_sealed(row)
                        .and_then(|sealed| secrets::rewrap(ring, row.account_id, &sealed, to));
                    match rewrapped {
                        Ok(sealed) => {
                            let new = to_row(row.account_id, sealed, row.updated_at);
                            if secret_db::rewrap(conn, row, &new)? {
                                rotation.rewrapped += 1;
                                progressed = true;
                            }
                        }
                        Err(error) => rotation.failed.push((row.account_id, error.to_string())),
                    }
                }
                Ok::<_, AppError>((rows.len(), last))
            })?;
            after = last;
            if i64::try_from(seen).unwrap_or(i64::MAX) < batch {
                break;
            }
        }
        rotation.remaining = secret_db::count_not_wrapped_by(conn, &to_id)?;
        let failed = i64::try_from(rotation.failed.len()).unwrap_or(i64::MAX);
        if rotation.remaining <= failed || !progressed {
            break;
        }
    }
    Ok(rotation)
}
