//! Keeping prepared the `UPDATE`s the hot paths run. diesel never keeps an `UPDATE` in its
//! statement cache: its `UpdateStatement` marks itself unsafe to cache, because a changeset of
//! `Option` fields skips the `None`s and the same Rust type can render different SQL. SQLite
//! then compiles the statement, and every trigger it fires (the per-user counters), again on
//! each call; issue 13's S9 profile found that in every decision.
//!
//! [`cached_update`] writes the same `UPDATE table SET ... WHERE ...` from diesel's own parts
//! without that mark, for a `SET` that is a tuple of `column.eq(value)` (never an
//! `AsChangeset` struct with `Option` fields) and a plain DSL `WHERE`: its SQL is then fixed by
//! its type, and diesel keeps it prepared, keyed by that type. (An earlier wrapper overrode
//! `is_safe_to_cache_prepared` instead; diesel asks that of `&T`, which does not pass it on, so
//! it never took effect.)

use std::marker::PhantomData;

use diesel::backend::Backend;
use diesel::expression::{AppearsOnTable, Expression};
use diesel::query_builder::{AsChangeset, AstPass, Query, QueryFragment, QueryId};
use diesel::query_source::{Column, QuerySource, Table};
use diesel::sql_types::BoolOrNullableBool;
use diesel::{QueryResult, RunQueryDsl};

/// `UPDATE table SET changes WHERE filter`, kept prepared (see the module's documentation).
/// `Id` names its SQL for diesel's cache: the table and the query ids of the filter and of the
/// tuple of assignments it was made from.
#[derive(Debug, Clone)]
pub struct CachedUpdate<T: QuerySource, W, V, Id> {
    from: T::FromClause,
    filter: W,
    changes: V,
    id: PhantomData<Id>,
}

/// The statement-cache key of a [`CachedUpdate`] of `T` filtered by `W` setting `C`.
#[derive(Debug, Clone, Copy)]
pub struct UpdateId<T, W, C>(PhantomData<(T, W, C)>);

impl<T: 'static, W: QueryId, C: QueryId> QueryId for UpdateId<T, W, C> {
    type QueryId = UpdateId<T, W::QueryId, C::QueryId>;
    const HAS_STATIC_QUERY_ID: bool = W::HAS_STATIC_QUERY_ID && C::HAS_STATIC_QUERY_ID;
}

/// An `UPDATE` of the rows of `table` matching `filter`, setting `changes`: a tuple of
/// `column.eq(value)`, whose SQL never depends on the values bound.
pub fn cached_update<T, W, C>(
    table: T,
    filter: W,
    changes: C,
) -> CachedUpdate<T, W, C::Changeset, UpdateId<T, W, C>>
where
    T: Table,
    W: Expression + AppearsOnTable<T> + QueryId,
    W::SqlType: BoolOrNullableBool,
    C: AsChangeset<Target = T> + QueryId,
{
    CachedUpdate {
        from: table.from_clause(),
        filter,
        changes: changes.as_changeset(),
        id: PhantomData,
    }
}

impl<T: QuerySource, W, V, Id: QueryId> QueryId for CachedUpdate<T, W, V, Id> {
    type QueryId = Id::QueryId;
    const HAS_STATIC_QUERY_ID: bool = Id::HAS_STATIC_QUERY_ID;
}

impl<T, W, V, Id, DB> QueryFragment<DB> for CachedUpdate<T, W, V, Id>
where
    DB: Backend,
    T: QuerySource,
    T::FromClause: QueryFragment<DB>,
    W: QueryFragment<DB>,
    V: QueryFragment<DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql("UPDATE ");
        self.from.walk_ast(out.reborrow())?;
        out.push_sql(" SET ");
        self.changes.walk_ast(out.reborrow())?;
        out.push_sql(" WHERE ");
        self.filter.walk_ast(out.reborrow())
    }
}

impl<T: QuerySource, W, V, Id, Conn> RunQueryDsl<Conn> for CachedUpdate<T, W, V, Id> {}

impl<T: QuerySource, W, V, Id> CachedUpdate<T, W, V, Id> {
    /// The same `UPDATE` answering `column` of each row it changed (`RETURNING`), still kept
    /// prepared: one statement where an `UPDATE` and a `SELECT` of the new value were two.
    pub fn returning<R>(self, column: R) -> CachedUpdateReturning<Self, R>
    where
        R: Column<Table = T> + Expression,
    {
        CachedUpdateReturning {
            update: self,
            column,
        }
    }
}

/// A [`CachedUpdate`] with `RETURNING column`.
#[derive(Debug, Clone)]
pub struct CachedUpdateReturning<U, R> {
    update: U,
    column: R,
}

impl<U: QueryId, R: QueryId> QueryId for CachedUpdateReturning<U, R> {
    type QueryId = CachedUpdateReturning<U::QueryId, R::QueryId>;
    const HAS_STATIC_QUERY_ID: bool = U::HAS_STATIC_QUERY_ID && R::HAS_STATIC_QUERY_ID;
}

impl<U, R: Expression> Query for CachedUpdateReturning<U, R> {
    type SqlType = R::SqlType;
}

impl<U, R, DB> QueryFragment<DB> for CachedUpdateReturning<U, R>
where
    DB: Backend,
    U: QueryFragment<DB>,
    R: QueryFragment<DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        self.update.walk_ast(out.reborrow())?;
        out.push_sql(" RETURNING ");
        self.column.walk_ast(out.reborrow())
    }
}

impl<U, R, Conn> RunQueryDsl<Conn> for CachedUpdateReturning<U, R> {}

#[cfg(test)]
mod tests {
    use chrono::NaiveDateTime;
    use diesel::prelude::*;
    use diesel::sqlite::Sqlite;

    use super::*;
    use crate::db::DbConnection;
    use crate::db::schema::requests;
    use crate::db::testing::{scratch_sqlite, sent_by};
    use crate::domain::request::RequestStatus;

    // The same filter and assignments for both statements, as concrete types.
    macro_rules! filter {
        ($id:expr) => {
            requests::id
                .eq($id)
                .and(requests::status.eq(RequestStatus::Pending))
        };
    }
    macro_rules! changes {
        ($now:expr) => {
            (
                requests::status.eq(RequestStatus::Approved),
                requests::certificate_id.eq(None::<i64>),
                requests::updated_at.eq($now),
            )
        };
    }

    #[test]
    fn renders_what_diesels_update_renders() {
        let now = NaiveDateTime::default();
        let ours = diesel::debug_query::<Sqlite, _>(&cached_update(
            requests::table,
            filter!(7),
            changes!(now),
        ))
        .to_string();
        let diesels = diesel::debug_query::<Sqlite, _>(
            &diesel::update(requests::table.filter(filter!(7))).set(changes!(now)),
        )
        .to_string();
        assert_eq!(ours, diesels);
    }

    /// Each `UPDATE` the connection keeps prepared, by its SQL, while running `run` three times.
    fn kept_prepared(run: impl Fn(&mut DbConnection)) -> Vec<String> {
        let (_dir, mut conn) = scratch_sqlite();
        let sent = sent_by(&mut conn, |conn| {
            for _ in 0..3 {
                run(conn);
            }
        });
        sent.kept
            .into_iter()
            .filter(|sql| sql.starts_with("UPDATE"))
            .collect()
    }

    #[test]
    fn a_cached_update_is_prepared_once_where_diesels_is_prepared_on_every_call() {
        let now = NaiveDateTime::default();
        let ours = kept_prepared(|conn| {
            cached_update(requests::table, filter!(7), changes!(now))
                .execute(conn)
                .expect("update");
        });
        assert_eq!(ours.len(), 1, "{ours:?}");
        let diesels = kept_prepared(|conn| {
            diesel::update(requests::table.filter(filter!(7)))
                .set(changes!(now))
                .execute(conn)
                .expect("update");
        });
        assert!(diesels.is_empty(), "{diesels:?}");
    }

    #[test]
    fn a_returning_update_answers_the_new_value_and_is_prepared_once() {
        let (_dir, mut conn) = scratch_sqlite();
        diesel::sql_query(
            "INSERT INTO users (id, username, email, name, password_hash, role, status, \
             created_at, updated_at) VALUES (1, 'u', 'u@example.com', 'U', 'x', 'customer', \
             'active', '2026-01-01 00:00:00', '2026-01-01 00:00:00')",
        )
        .execute(&mut conn)
        .expect("user");
        diesel::sql_query(
            "INSERT INTO requests (id, request_type, status, requester_id, reason, created_at, \
             updated_at, expires_at, confirmations_required, requester_email) VALUES (7, \
             'certificate', 'pending', 1, 'r', '2026-01-01 00:00:00', '2026-01-01 00:00:00', \
             '2027-01-01 00:00:00', 3, 'u@example.com')",
        )
        .execute(&mut conn)
        .expect("request");
        let bump = |conn: &mut DbConnection, id: i64| {
            cached_update(
                requests::table,
                requests::id.eq(id),
                (requests::confirmations_given.eq(requests::confirmations_given + 1),),
            )
            .returning(requests::confirmations_given)
            .get_result::<i32>(conn)
            .optional()
            .expect("update")
        };
        let cached = sent_by(&mut conn, |conn| {
            assert_eq!(bump(conn, 7), Some(1));
            assert_eq!(bump(conn, 7), Some(2));
            assert_eq!(bump(conn, 8), None, "no row, no value");
        })
        .kept;
        assert_eq!(cached.len(), 1, "{cached:?}");
        assert!(
            cached[0].ends_with("RETURNING `requests`.`confirmations_given`"),
            "{cached:?}"
        );
    }

    /// A query that counts the times its AST is walked (to render SQL, to collect binds, or to
    /// ask whether it may be cached).
    #[derive(Debug, Clone, Copy, QueryId)]
    struct Walked<Q>(Q);

    static WALKS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

    impl<Q: QueryFragment<DB>, DB: Backend> QueryFragment<DB> for Walked<Q> {
        fn walk_ast<'b>(&'b self, pass: AstPass<'_, 'b, DB>) -> QueryResult<()> {
            WALKS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            self.0.walk_ast(pass)
        }
    }

    impl<Q, Conn> RunQueryDsl<Conn> for Walked<Q> {}

    /// Through `DbConnection` (diesel's `MultiConnection`), an execution of a prepared statement
    /// walks its AST three times. The unpatched derive walked it five times: twice more, to build
    /// SQL text nobody read (vendor/diesel_derives/PATCH.md).
    #[test]
    fn a_prepared_statement_is_walked_three_times_per_execution_not_five() {
        let (_dir, mut conn) = scratch_sqlite();
        let now = NaiveDateTime::default();
        let update = || Walked(cached_update(requests::table, filter!(7), changes!(now)));
        update().execute(&mut conn).expect("first, prepared");
        let before = WALKS.load(std::sync::atomic::Ordering::Relaxed);
        for _ in 0..3 {
            update().execute(&mut conn).expect("update");
        }
        let walks = WALKS.load(std::sync::atomic::Ordering::Relaxed) - before;
        assert_eq!(walks, 3 * 3);
    }
}
