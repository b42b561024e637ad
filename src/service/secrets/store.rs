//! The leaf of the secrets rules: what a secret to store is, its validation, and sealing it into
//! a row inside the caller's transaction. It imports no other service file, so the services that
//! store a secret with their own writes (an account's creation) can use it without a cycle.

use crate::db::DbConnection;
use crate::db::account_secrets::{self as secret_db, SecretRow};
use crate::error::AppError;
use crate::secrets::{self, MAX_SECRET_BYTES, SealedSecret, SecretText, SecretType, SecretsError};
use crate::service::Context;

/// A secret to store, as received.
#[derive(Debug, Clone)]
pub struct SecretInput {
    pub secret: SecretText,
    pub secret_type: SecretType,
}

/// Seals and stores the secret of an account written in the caller's transaction `conn`.
pub(in crate::service) fn store_in(
    ctx: &Context,
    conn: &mut DbConnection,
    account_id: i64,
    input: &SecretInput,
) -> Result<(), AppError> {
    let sealed = secrets::seal(&ctx.secrets, account_id, input.secret_type, &input.secret)
        .map_err(|e| AppError::Internal(format!("sealing a secret: {e}")))?;
    let row = to_row(account_id, sealed, ctx.clock.now_naive());
    secret_db::put(conn, &row)?;
    tracing::info!(
        account.id = account_id,
        key.id = %row.key_id,
        secret_type = %row.secret_type,
        "account secret set"
    );
    Ok(())
}

/// 1 byte to [`MAX_SECRET_BYTES`], no NUL.
pub(in crate::service) fn validate(secret: &SecretText) -> Result<(), AppError> {
    let length = secret.expose().len();
    if length == 0 || length > MAX_SECRET_BYTES {
        return Err(AppError::validation(
            "secret",
            format!("must be 1 to {MAX_SECRET_BYTES} bytes"),
        ));
    }
    if secret.expose().contains('\0') {
        return Err(AppError::validation("secret", "must not contain NUL"));
    }
    Ok(())
}

pub(super) fn to_row(
    account_id: i64,
    sealed: SealedSecret,
    now: chrono::NaiveDateTime,
) -> SecretRow {
    SecretRow {
        account_id,
        key_id: sealed.key_id,
        wrapped_key: sealed.wrapped_key,
        key_nonce: sealed.key_nonce,
        secret_nonce: sealed.secret_nonce,
        ciphertext: sealed.ciphertext,
        secret_type: sealed.secret_type.as_str().to_owned(),
        updated_at: now,
    }
}

pub(super) fn to_sealed(row: &SecretRow) -> Result<SealedSecret, SecretsError> {
    let secret_type = SecretType::parse(&row.secret_type).ok_or(SecretsError::Malformed {
        account_id: row.account_id,
        detail: "unknown secret type",
    })?;
    Ok(SealedSecret {
        key_id: row.key_id.clone(),
        wrapped_key: row.wrapped_key.clone(),
        key_nonce: row.key_nonce.clone(),
        secret_nonce: row.secret_nonce.clone(),
        ciphertext: row.ciphertext.clone(),
        secret_type,
    })
}
