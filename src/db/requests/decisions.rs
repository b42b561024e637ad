//! The decisions confirmers take on requests: one per user (or per group and level), kept for
//! the record and for deciding who may still act.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::{request_decisions, users};
use crate::domain::request::Decision;
use crate::domain::user::Role;

/// A `None` is inserted as `NULL`, so the SQL is fixed and kept prepared by type (`NewEvent`).
#[derive(Debug, Insertable)]
#[diesel(table_name = request_decisions, treat_none_as_default_value = false)]
pub struct NewDecision<'a> {
    pub request_id: i64,
    pub user_id: i64,
    pub decision: Decision,
    pub reason: Option<&'a str>,
    pub level: i32,
    pub group_role: Option<Role>,
    pub created_at: NaiveDateTime,
}

pub fn insert_decision(conn: &mut DbConnection, decision: &NewDecision<'_>) -> QueryResult<()> {
    diesel::insert_into(request_decisions::table)
        .values(decision)
        .execute(conn)
        .map(drop)
}

/// A decision on a request: who, what, why, at which level, for which group, when.
#[derive(Debug, Clone, Queryable)]
pub struct DecisionRow {
    pub request_id: i64,
    pub user_id: i64,
    pub username: String,
    pub name: String,
    pub email: String,
    pub decision: Decision,
    pub reason: Option<String>,
    pub level: i32,
    pub group_role: Option<Role>,
    pub created_at: NaiveDateTime,
}

/// The decisions taken on these requests, oldest first. One request (a detail) is read with
/// `=`, which diesel keeps prepared; `IN (...)` is compiled again on every call on SQLite.
pub fn decisions(conn: &mut DbConnection, request_ids: &[i64]) -> QueryResult<Vec<DecisionRow>> {
    let columns = (
        request_decisions::request_id,
        users::id,
        users::username,
        users::name,
        users::email,
        request_decisions::decision,
        request_decisions::reason,
        request_decisions::level,
        request_decisions::group_role,
        request_decisions::created_at,
    );
    let all = request_decisions::table
        .inner_join(users::table)
        .order(request_decisions::id.asc());
    match request_ids {
        [one] => all
            .filter(request_decisions::request_id.eq(*one))
            .select(columns)
            .load(conn),
        many => all
            .filter(request_decisions::request_id.eq_any(many))
            .select(columns)
            .load(conn),
    }
}

/// Whether the group (a role) has already decided the request at this level.
pub fn group_decided(
    conn: &mut DbConnection,
    request_id: i64,
    level: i32,
    role: Role,
) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        request_decisions::table
            .filter(request_decisions::request_id.eq(request_id))
            .filter(request_decisions::level.eq(level))
            .filter(request_decisions::group_role.eq(role)),
    ))
    .get_result(conn)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::testing::keyed_by_type;

    #[test]
    fn a_decisions_insert_is_kept_prepared_by_its_type() {
        let decision = NewDecision {
            request_id: 1,
            user_id: 2,
            decision: Decision::Confirm,
            reason: None,
            level: 1,
            group_role: None,
            created_at: NaiveDateTime::default(),
        };
        assert!(keyed_by_type(
            &diesel::insert_into(request_decisions::table).values(&decision)
        ));
    }
}
