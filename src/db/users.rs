//! Queries on `users`.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::users;
use super::{DbConnection, MultiBackend};
use crate::domain::time::utc;
use crate::domain::user::{Role, User, UserStatus};

/// A stored user, password hash included: it never leaves the service layer. No `Debug`, so no
/// log line can print the hash.
#[derive(Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct UserRow {
    pub id: i64,
    pub username: String,
    pub name: String,
    pub email: String,
    pub password_hash: String,
    pub role: Role,
    pub status: UserStatus,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub deleted_at: Option<NaiveDateTime>,
}

/// No `Debug`: it holds the password hash.
#[derive(Insertable)]
#[diesel(table_name = users)]
pub struct NewUserRow<'a> {
    pub username: &'a str,
    pub name: &'a str,
    pub email: &'a str,
    pub password_hash: &'a str,
    pub role: Role,
    pub status: UserStatus,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// The columns an update may set; `None` leaves a column as it is. No `Debug`: it may hold the
/// password hash.
#[derive(Default, AsChangeset)]
#[diesel(table_name = users)]
pub struct UserChanges {
    pub name: Option<String>,
    pub email: Option<String>,
    pub password_hash: Option<String>,
    pub role: Option<Role>,
    pub status: Option<UserStatus>,
    pub updated_at: Option<NaiveDateTime>,
    pub deleted_at: Option<Option<NaiveDateTime>>,
}

/// Filters of the user list. `status: None` means every status but `deleted`.
#[derive(Debug, Default, Clone)]
pub struct UserFilter {
    pub role: Option<Role>,
    pub status: Option<UserStatus>,
    /// Matched case-insensitively against username, name and e-mail.
    pub q: Option<String>,
}

diesel::define_sql_function!(fn lower(value: diesel::sql_types::Text) -> diesel::sql_types::Text);

/// Inserts a user and reads it back. (`RETURNING` with a `Selectable` does not build for the
/// two-backend connection, and the username is unique.)
pub fn insert(conn: &mut DbConnection, user: &NewUserRow<'_>) -> QueryResult<UserRow> {
    diesel::insert_into(users::table)
        .values(user)
        .execute(conn)?;
    users::table
        .filter(users::username.eq(user.username))
        .select(UserRow::as_select())
        .first(conn)
}

/// The user with this username, whatever their status.
pub fn find_by_username(conn: &mut DbConnection, username: &str) -> QueryResult<Option<UserRow>> {
    users::table
        .filter(users::username.eq(username))
        .select(UserRow::as_select())
        .first(conn)
        .optional()
}

/// The user with this username unless they were deleted.
pub fn find_existing(conn: &mut DbConnection, username: &str) -> QueryResult<Option<UserRow>> {
    users::table
        .filter(users::username.eq(username))
        .filter(users::status.ne(UserStatus::Deleted))
        .select(UserRow::as_select())
        .first(conn)
        .optional()
}

fn filtered<'a>(filter: &'a UserFilter) -> users::BoxedQuery<'a, MultiBackend> {
    let mut query = users::table.into_boxed();
    query = match &filter.status {
        Some(status) => query.filter(users::status.eq(*status)),
        None => query.filter(users::status.ne(UserStatus::Deleted)),
    };
    if let Some(role) = &filter.role {
        query = query.filter(users::role.eq(*role));
    }
    if let Some(q) = &filter.q {
        let pattern = format!("%{}%", escape_like(&q.to_lowercase()));
        query = query.filter(
            users::username
                .like(pattern.clone())
                .escape('\\')
                .or(users::email.like(pattern.clone()).escape('\\'))
                .or(lower(users::name).like(pattern).escape('\\')),
        );
    }
    query
}

/// One page of users ordered by username, and how many match in all.
pub fn list(
    conn: &mut DbConnection,
    filter: &UserFilter,
    offset: i64,
    limit: i64,
) -> QueryResult<(Vec<UserRow>, i64)> {
    let total = filtered(filter).count().get_result(conn)?;
    let rows = filtered(filter)
        .order(users::username.asc())
        .offset(offset)
        .limit(limit)
        .select(UserRow::as_select())
        .load(conn)?;
    Ok((rows, total))
}

/// Applies `changes` and reads the row back.
pub fn update(conn: &mut DbConnection, id: i64, changes: &UserChanges) -> QueryResult<UserRow> {
    diesel::update(users::table.find(id))
        .set(changes)
        .execute(conn)?;
    find_by_id(conn, id)
}

/// The administrators who can act: the ones the last-admin rule counts.
fn active_admins() -> diesel::dsl::Filter<
    diesel::dsl::Filter<users::table, diesel::dsl::Eq<users::role, Role>>,
    diesel::dsl::Eq<users::status, UserStatus>,
> {
    users::table
        .filter(users::role.eq(Role::Admin))
        .filter(users::status.eq(UserStatus::Active))
}

/// How many active administrators there are besides `except_id`.
pub fn count_other_active_admins(conn: &mut DbConnection, except_id: i64) -> QueryResult<i64> {
    active_admins()
        .filter(users::id.ne(except_id))
        .count()
        .get_result(conn)
}

pub fn any_active_admin(conn: &mut DbConnection) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(active_admins())).get_result(conn)
}

/// Locks the active administrators' rows until the transaction ends, so two transactions that
/// each demote a different admin cannot both see the other as the one that remains. SQLite needs
/// nothing: its write transactions already run one at a time.
pub fn lock_active_admins(conn: &mut DbConnection) -> QueryResult<()> {
    if let DbConnection::Postgres(pg) = conn {
        active_admins()
            .select(users::id)
            .for_update()
            .load::<i64>(pg)?;
    }
    Ok(())
}

/// Whether the user is still active with this password hash, read inside the caller's
/// transaction. On PostgreSQL the row stays locked until it ends: a password change or a
/// suspension racing it either committed first (this finds the new row and answers false) or
/// waits for it, and then ends the session it opened. SQLite's write transactions already run
/// one at a time.
pub fn lock_if_unchanged(
    conn: &mut DbConnection,
    id: i64,
    password_hash: &str,
) -> QueryResult<bool> {
    let unchanged = users::table
        .filter(users::id.eq(id))
        .filter(users::password_hash.eq(password_hash))
        .filter(users::status.eq(UserStatus::Active))
        .select(users::id);
    let found: Option<i64> = first_locked!(conn, unchanged, for_update)?;
    Ok(found.is_some())
}

fn escape_like(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

pub fn find_by_id(conn: &mut DbConnection, id: i64) -> QueryResult<UserRow> {
    users::table
        .find(id)
        .select(UserRow::as_select())
        .first(conn)
}

/// A stored user as clients see it: the password hash stays behind.
impl From<UserRow> for User {
    fn from(row: UserRow) -> Self {
        User {
            role: row.role.into(),
            status: row.status,
            created_at: utc(row.created_at),
            updated_at: utc(row.updated_at),
            username: row.username,
            name: row.name,
            email: row.email,
        }
    }
}
