//! User management: sign-up, listing, profiles, role and status changes, deletion. Admins may act
//! on anyone; everyone else only on themselves. The last active admin can never be removed.

use super::Context;
use super::auth::{CurrentUser, VerifiedToken};
use super::lockout;
use crate::db::users::{NewUserRow, UserChanges, UserFilter, UserRow};
use crate::db::{self, DbConnection, login_attempts, sessions};
use crate::domain::FieldError;
use crate::domain::pagination::{Page, PageRequest};
use crate::domain::user::{
    DisplayName, Email, Password, Role, RoleInfo, User, UserStatus, Username,
};
use crate::error::{AppError, ErrorCode};

/// A sign-up or an admin's creation of a user, as received. No `Debug`: it holds a password.
#[derive(Clone)]
pub struct NewUser {
    pub username: String,
    pub password: String,
    pub name: String,
    pub email: String,
    pub role: Option<Role>,
}

/// Changes to a user, as received; absent fields stay as they are. No `Debug`: it may hold
/// passwords.
#[derive(Clone, Default)]
pub struct UserUpdate {
    pub name: Option<String>,
    pub email: Option<String>,
    pub password: Option<String>,
    pub current_password: Option<String>,
    pub role: Option<Role>,
    pub status: Option<UserStatus>,
}

/// Filters of the admin's user list, as received.
#[derive(Debug, Clone, Default)]
pub struct UserListQuery {
    pub role: Option<Role>,
    pub status: Option<UserStatus>,
    pub q: Option<String>,
    pub page: PageRequest,
}

/// Every role with its description.
pub fn roles() -> Vec<RoleInfo> {
    Role::ALL.into_iter().map(RoleInfo::from).collect()
}

/// Creates a user. Anonymous callers and non-admins may only pick a self-service role.
pub fn create(
    ctx: &Context,
    actor: Option<&VerifiedToken>,
    input: NewUser,
) -> Result<User, AppError> {
    let valid = ValidNewUser::parse(input)?;
    let actor_is_admin = match actor {
        Some(token) => ctx.authenticate(token)?.1.is_admin(),
        None => false,
    };
    if !actor_is_admin && !valid.role.is_self_service() {
        return Err(AppError::new(
            ErrorCode::RoleNotSelfService,
            format!(
                "only an administrator may create a user with the role {}",
                valid.role.as_str()
            ),
        ));
    }
    let password_hash = ctx.passwords.hash(&valid.password)?;
    let now = ctx.clock.now_naive();
    let mut conn = ctx.conn()?;
    let row = db::users::insert(
        &mut conn,
        &NewUserRow {
            username: valid.username.as_str(),
            name: valid.name.as_str(),
            email: valid.email.as_str(),
            password_hash: &password_hash,
            role: valid.role,
            status: UserStatus::Active,
            created_at: now,
            updated_at: now,
        },
    )
    .map_err(|error| {
        match db::users::find_by_username(&mut conn, valid.username.as_str()) {
            Ok(Some(_)) if db::unique_violation(&error).is_some() => AppError::new(
                ErrorCode::UsernameTaken,
                "a user with this username already exists",
            ),
            _ => taken_or_internal(error),
        }
    })?;
    tracing::info!(target.name = %row.username, role = row.role.as_str(), "user created");
    Ok(User::from(row))
}

/// Admins get every user, filtered; anyone else gets a page holding only themselves.
pub fn list(
    ctx: &Context,
    token: &VerifiedToken,
    query: UserListQuery,
) -> Result<Page<User>, AppError> {
    let (mut conn, me) = ctx.authenticate(token)?;
    if !me.is_admin() {
        let row = require_user(&mut conn, &me.username)?;
        let items = if query.page.page == 1 {
            vec![User::from(row)]
        } else {
            vec![]
        };
        return Ok(Page::new(items, query.page, 1));
    }
    let filter = parse_filter(&query)?;
    let (rows, total) =
        db::users::list(&mut conn, &filter, query.page.offset(), query.page.limit())?;
    let users = rows.into_iter().map(User::from).collect();
    Ok(Page::new(users, query.page, total))
}

/// One user: oneself, or anyone for an admin.
pub fn show(ctx: &Context, token: &VerifiedToken, username: &str) -> Result<User, AppError> {
    let (mut conn, me) = ctx.authenticate(token)?;
    ensure_self_or_admin(&me, username)?;
    Ok(User::from(require_user(&mut conn, username)?))
}

/// The caller's own record.
pub fn me(ctx: &Context, token: &VerifiedToken) -> Result<User, AppError> {
    let (mut conn, me) = ctx.authenticate(token)?;
    Ok(User::from(require_user(&mut conn, &me.username)?))
}

/// Applies an update to `target` (oneself when `None`).
pub fn update(
    ctx: &Context,
    token: &VerifiedToken,
    target: Option<&str>,
    input: UserUpdate,
) -> Result<User, AppError> {
    let (mut conn, me) = ctx.authenticate(token)?;
    let target = target.unwrap_or(&me.username).to_owned();
    ensure_self_or_admin(&me, &target)?;
    if !me.is_admin() && (input.role.is_some() || input.status.is_some()) {
        return Err(AppError::new(
            ErrorCode::AdminOnlyField,
            "only an administrator may change a role or status".to_owned(),
        ));
    }
    let is_self = target == me.username;
    let valid = ValidUpdate::parse(input, is_self)?;
    let existing = require_user(&mut conn, &target)?;
    drop(conn);

    let password_hash = hash_new_password(ctx, &valid, &existing)?;
    let changes = UserChanges {
        name: valid.name.map(|n| n.as_str().to_owned()),
        email: valid.email.map(|e| e.as_str().to_owned()),
        password_hash,
        role: valid.role,
        status: valid.status,
        updated_at: Some(ctx.clock.now_naive()),
        deleted_at: None,
    };
    let keep_session = is_self.then_some(me.session_id.as_str());
    let mut conn = ctx.conn()?;
    let row = db::write_transaction(&mut conn, |conn| {
        apply_update(conn, existing.id, &changes, keep_session)
    })?;
    tracing::info!(target.name = %row.username, user.name = %me.username, "user updated");
    Ok(User::from(row))
}

/// Deletes `target` (oneself when `None`): they can no longer log in and their sessions end.
/// The row stays, so what they did stays attributable; the username is never reused.
pub fn delete(ctx: &Context, token: &VerifiedToken, target: Option<&str>) -> Result<(), AppError> {
    let (mut conn, me) = ctx.authenticate(token)?;
    let target = target.unwrap_or(&me.username).to_owned();
    ensure_self_or_admin(&me, &target)?;
    let existing = require_user(&mut conn, &target)?;
    let now = ctx.clock.now_naive();
    let changes = UserChanges {
        status: Some(UserStatus::Deleted),
        updated_at: Some(now),
        deleted_at: Some(Some(now)),
        ..UserChanges::default()
    };
    db::write_transaction(&mut conn, |conn| {
        apply_update(conn, existing.id, &changes, None)
    })?;
    tracing::info!(target.name = %target, user.name = %me.username, "user deleted");
    Ok(())
}

/// Writes `changes` in the caller's transaction, refusing to leave no active admin, and ends the
/// sessions the change invalidates.
fn apply_update(
    conn: &mut DbConnection,
    id: i64,
    changes: &UserChanges,
    keep_session: Option<&str>,
) -> Result<UserRow, AppError> {
    let loses_admin = changes.role.is_some_and(|r| r != Role::Admin)
        || changes.status.is_some_and(|s| s != UserStatus::Active);
    if loses_admin {
        db::users::lock_active_admins(conn)?;
    }
    let current = db::users::find_by_id(conn, id)?;
    if current.status == UserStatus::Deleted {
        return Err(AppError::new(
            ErrorCode::NotFound,
            format!("no user named {}", current.username),
        ));
    }
    if loses_admin
        && current.role == Role::Admin
        && current.status == UserStatus::Active
        && db::users::count_other_active_admins(conn, id)? == 0
    {
        return Err(AppError::new(
            ErrorCode::LastAdmin,
            "the last active administrator cannot be demoted, suspended or deleted",
        ));
    }
    let row = db::users::update(conn, id, changes).map_err(taken_or_internal)?;
    if changes.role.is_some() || changes.status.is_some() {
        let roles = [current.role, row.role];
        super::requests::recheck_for_user(conn, id, &roles, row.updated_at)?;
    }
    let ends_sessions = changes.password_hash.is_some() || changes.status.is_some();
    if ends_sessions {
        let keep = if row.status == UserStatus::Active {
            keep_session
        } else {
            None
        };
        sessions::delete_for_user(conn, id, keep)?;
    }
    if changes.password_hash.is_some() {
        // A new password ends a lock-out: an administrator's reset is how a locked user gets in.
        login_attempts::clear(conn, &row.username)?;
    }
    Ok(row)
}

/// The new password's hash, once the current password has been checked where it must be.
fn hash_new_password(
    ctx: &Context,
    valid: &ValidUpdate,
    existing: &UserRow,
) -> Result<Option<String>, AppError> {
    let Some(password) = &valid.password else {
        return Ok(None);
    };
    if let Some(current) = &valid.current_password {
        // Guesses of the current password count like failed log-ins: a stolen token must not
        // become an unlimited password oracle.
        lockout::refuse_if_locked(ctx, &mut ctx.conn()?, &existing.username)?;
        if !ctx.passwords.verify(current, Some(&existing.password_hash)) {
            lockout::record_failure(
                ctx,
                &mut ctx.conn()?,
                &existing.username,
                lockout::Attempted::KnownUser,
            )?;
            return Err(AppError::validation(
                "current_password",
                "does not match the current password",
            ));
        }
    }
    ctx.passwords.hash(password).map(Some)
}

fn ensure_self_or_admin(me: &CurrentUser, target: &str) -> Result<(), AppError> {
    if me.is_admin() || me.username == target {
        Ok(())
    } else {
        Err(AppError::new(
            ErrorCode::Forbidden,
            "you may only act on your own account",
        ))
    }
}

fn require_user(conn: &mut DbConnection, username: &str) -> Result<UserRow, AppError> {
    db::users::find_existing(conn, username)?
        .ok_or_else(|| AppError::new(ErrorCode::NotFound, format!("no user named {username}")))
}

fn parse_filter(query: &UserListQuery) -> Result<UserFilter, AppError> {
    if query.q.as_ref().is_some_and(|q| q.chars().count() > 100) {
        return Err(AppError::validation("q", "must be at most 100 characters"));
    }
    Ok(UserFilter {
        role: query.role,
        status: query.status,
        q: query.q.clone().filter(|q| !q.trim().is_empty()),
    })
}

/// Turns a unique violation into the 409 naming what is taken.
fn taken_or_internal(error: diesel::result::Error) -> AppError {
    match db::unique_violation(&error) {
        Some(what) if what.contains("email") => AppError::new(
            ErrorCode::EmailTaken,
            "a user with this e-mail address already exists",
        ),
        Some(_) => AppError::new(
            ErrorCode::UsernameTaken,
            "a user with this username already exists",
        ),
        None => error.into(),
    }
}

struct ValidNewUser {
    username: Username,
    password: Password,
    name: DisplayName,
    email: Email,
    role: Role,
}

impl ValidNewUser {
    fn parse(input: NewUser) -> Result<Self, AppError> {
        let username = Username::parse(&input.username);
        let password = Password::parse("password", &input.password);
        let name = DisplayName::parse(&input.name);
        let email = Email::parse(&input.email);
        let role: Result<Role, FieldError> = Ok(input.role.unwrap_or(Role::Developer));
        match (username, password, name, email, role) {
            (Ok(username), Ok(password), Ok(name), Ok(email), Ok(role)) => Ok(Self {
                username,
                password,
                name,
                email,
                role,
            }),
            (username, password, name, email, role) => Err(AppError::Validation(
                [
                    username.err(),
                    password.err(),
                    name.err(),
                    email.err(),
                    role.err(),
                ]
                .into_iter()
                .flatten()
                .collect(),
            )),
        }
    }
}

struct ValidUpdate {
    name: Option<DisplayName>,
    email: Option<Email>,
    password: Option<Password>,
    current_password: Option<String>,
    role: Option<Role>,
    status: Option<UserStatus>,
}

impl ValidUpdate {
    /// Validates every given field; changing one's own password needs the current one.
    fn parse(input: UserUpdate, is_self: bool) -> Result<Self, AppError> {
        let mut errors = Vec::new();
        let name = keep(&mut errors, input.name.as_deref().map(DisplayName::parse));
        let email = keep(&mut errors, input.email.as_deref().map(Email::parse));
        let password = keep(
            &mut errors,
            input
                .password
                .as_deref()
                .map(|v| Password::parse("password", v)),
        );
        let role = input.role;
        let status = keep(&mut errors, input.status.map(settable_status));
        if input.password.is_some() && is_self && input.current_password.is_none() {
            errors.push(FieldError::new(
                "current_password",
                "is required to change your own password",
            ));
        }
        if input.current_password.is_some() && input.password.is_none() {
            errors.push(FieldError::new(
                "current_password",
                "is only accepted together with password",
            ));
        }
        let nothing_given = input.name.is_none()
            && input.email.is_none()
            && input.password.is_none()
            && input.role.is_none()
            && input.status.is_none();
        if nothing_given && errors.is_empty() {
            errors.push(FieldError::new(
                "body",
                "must change at least one of name, email, password, role, status",
            ));
        }
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
        Ok(Self {
            name,
            email,
            password,
            current_password: input.current_password,
            role,
            status,
        })
    }
}

/// The valid value, or `None` with its error recorded.
fn keep<T>(errors: &mut Vec<FieldError>, parsed: Option<Result<T, FieldError>>) -> Option<T> {
    match parsed? {
        Ok(value) => Some(value),
        Err(error) => {
            errors.push(error);
            None
        }
    }
}

fn settable_status(status: UserStatus) -> Result<UserStatus, FieldError> {
    match status {
        UserStatus::Active | UserStatus::Suspended => Ok(status),
        UserStatus::Deleted => Err(FieldError::new(
            "status",
            "must be active or suspended: delete a user with DELETE",
        )),
    }
}
