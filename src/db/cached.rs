//! Keeping prepared the `UPDATE`s the hot paths run. diesel never keeps an `UPDATE` in its
//! statement cache: a changeset of `Option` fields skips the `None`s, so the same Rust type can
//! render different SQL. SQLite then compiles the statement, and every trigger it fires (the
//! per-user counters), again on each call; issue 13's S9 profile found that in every decision.
//!
//! [`Cached`] marks a statement whose SQL its type alone determines (an `UPDATE` whose `SET` is a
//! tuple of `column.eq(value)`, never an `AsChangeset` struct with `Option` fields, and whose
//! `WHERE` is plain DSL): diesel then keeps it prepared, keyed by that type.

use diesel::backend::Backend;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::{QueryResult, RunQueryDsl};

/// A statement whose SQL its type alone determines, to be kept prepared. Wrap only statements
/// that render the same SQL for every value they bind: the cache is keyed by the type.
#[derive(Debug, Clone, Copy)]
pub struct Cached<Q>(pub Q);

impl<Q: 'static> QueryId for Cached<Q> {
    type QueryId = Cached<Q>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<Q, DB> QueryFragment<DB> for Cached<Q>
where
    DB: Backend,
    Q: QueryFragment<DB>,
{
    fn walk_ast<'b>(&'b self, pass: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        self.0.walk_ast(pass)
    }

    fn is_safe_to_cache_prepared(&self, _backend: &DB) -> QueryResult<bool> {
        Ok(true)
    }
}

impl<Q, Conn> RunQueryDsl<Conn> for Cached<Q> {}

/// `query LIMIT n OFFSET m` with the two numbers written into the SQL text, for a boxed list
/// query (which diesel compiles on every call anyway). Bound, as diesel's `limit` binds it,
/// SQLite would compile the statement twice per call: once to prepare it, and again because a
/// bound `LIMIT` marks it for recompiling when bound.
#[derive(Debug, Clone, Copy)]
pub struct Paged<Q> {
    query: Q,
    limit: i64,
    offset: i64,
}

impl<Q> Paged<Q> {
    pub fn new(query: Q, offset: i64, limit: i64) -> Self {
        Self {
            query,
            limit,
            offset,
        }
    }
}

impl<Q> QueryId for Paged<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q: Query> Query for Paged<Q> {
    type SqlType = Q::SqlType;
}

impl<Q, DB> QueryFragment<DB> for Paged<Q>
where
    DB: Backend,
    Q: QueryFragment<DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        // The numbers are in the text, so the text differs per page: never cache it.
        out.unsafe_to_cache_prepared();
        self.query.walk_ast(out.reborrow())?;
        out.push_sql(&format!(" LIMIT {} OFFSET {}", self.limit, self.offset));
        Ok(())
    }
}

impl<Q, Conn> RunQueryDsl<Conn> for Paged<Q> {}
