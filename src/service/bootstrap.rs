//! Administrators from outside the API: the first one on first start, and `requestdesk
//! create-admin` for creating or resetting one from the command line.

use rand::Rng;
use rand::distr::Alphanumeric;

use super::Context;
use crate::db::users::{NewUserRow, UserChanges};
use crate::db::{self, login_attempts, sessions};
use crate::domain::user::{DisplayName, Email, Password, Role, UserStatus, Username};
use crate::error::AppError;

/// How an administrator's password was chosen. No `Debug`: it may hold the password.
pub enum AdminPassword {
    /// Given by configuration.
    Given,
    /// Generated; shown once to the operator, never stored in clear.
    Generated(String),
}

/// A random password of 24 letters and digits.
pub fn random_password() -> String {
    rand::rng()
        .sample_iter(Alphanumeric)
        .take(24)
        .map(char::from)
        .collect()
}

/// Creates `admin` when no active administrator exists. Returns the password used, or `None`
/// when an administrator already exists.
pub fn ensure_admin(
    ctx: &Context,
    password: Option<&str>,
) -> Result<Option<AdminPassword>, AppError> {
    if db::users::any_active_admin(&mut *ctx.conn()?)? {
        return Ok(None);
    }
    create_or_reset_admin(ctx, "admin", None, password).map(Some)
}

/// Creates `username` as an active administrator, or turns an existing user of that name into
/// one with a new password, ending their sessions.
pub fn create_or_reset_admin(
    ctx: &Context,
    username: &str,
    email: Option<&str>,
    password: Option<&str>,
) -> Result<AdminPassword, AppError> {
    let (password, shown) = match password {
        Some(given) => (given.to_owned(), AdminPassword::Given),
        None => {
            let generated = random_password();
            (generated.clone(), AdminPassword::Generated(generated))
        }
    };
    let username = Username::parse(username).map_err(|e| AppError::Validation(vec![e]))?;
    let email = Email::parse(email.unwrap_or(&format!("{}@requestdesk.local", username.as_str())))
        .map_err(|e| AppError::Validation(vec![e]))?;
    let password =
        Password::parse("admin_password", &password).map_err(|e| AppError::Validation(vec![e]))?;
    let name = DisplayName::parse("Administrator").map_err(|e| AppError::Validation(vec![e]))?;
    let hash = ctx.passwords.hash(&password)?;
    let now = ctx.clock.now_naive();
    let mut conn = ctx.conn()?;
    db::write_transaction(&mut conn, |conn| {
        match db::users::find_by_username(conn, username.as_str())? {
            Some(existing) => {
                let changes = UserChanges {
                    password_hash: Some(hash.clone()),
                    role: Some(Role::Admin),
                    status: Some(UserStatus::Active),
                    updated_at: Some(now),
                    deleted_at: Some(None),
                    ..UserChanges::default()
                };
                db::users::update(conn, existing.id, &changes)?;
                sessions::delete_for_user(conn, existing.id, None)?;
            }
            None => {
                db::users::insert(
                    conn,
                    &NewUserRow {
                        username: username.as_str(),
                        name: name.as_str(),
                        email: email.as_str(),
                        password_hash: &hash,
                        role: Role::Admin,
                        status: UserStatus::Active,
                        created_at: now,
                        updated_at: now,
                    },
                )?;
            }
        }
        // Whatever failures were counted against the name, its new password opens a session.
        login_attempts::clear(conn, username.as_str())?;
        Ok::<_, AppError>(())
    })?;
    Ok(shown)
}
