//! Lists of requests: the filters (owner, type, what a request shows, who reviews it), one page,
//! its count, and single lookups.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::rows::{RequestRow, RequestWithRequester, SummaryWithRequester};
use super::status::{Condition, shows, shows_approved, stored};
use crate::db::schema::{request_decisions, requests, safe_members, users};
use crate::db::{DbConnection, MultiBackend};
use crate::domain::request::{RequestStatus, RequestType};
use crate::domain::user::Role;

type Boxed<'a> =
    diesel::dsl::IntoBoxed<'a, diesel::dsl::InnerJoin<requests::table, users::table>, MultiBackend>;

/// Who is reviewing: certificate requests are for approvers; access requests for the confirmers
/// their safe names, directly or through their role.
#[derive(Debug, Clone)]
pub struct Reviewer {
    pub user_id: i64,
    pub role: Role,
    pub reviews_certificates: bool,
    /// Only what the reviewer can act on now (the request's current level, their group not
    /// having acted yet); otherwise anything the reviewer confirms at any level.
    pub actionable_now: bool,
}

/// Filters of a request list.
#[derive(Debug, Clone, Default)]
pub struct RequestFilter {
    /// Requests that show this status now.
    pub status: Option<RequestStatus>,
    pub request_type: Option<RequestType>,
    pub requester_id: Option<i64>,
    /// Leave out requests of this user (an approver never decides their own).
    pub not_requester_id: Option<i64>,
    /// Leave out requests this user has already decided.
    pub undecided_by: Option<i64>,
    pub reviewer: Option<Reviewer>,
}

/// What a reviewer may see: certificate requests if they review those; access requests of safes
/// where they confirm (at the request's current level and not yet acted for their group, when
/// only what is actionable now is asked for).
fn reviewer_condition(reviewer: &Reviewer) -> Condition {
    let Reviewer {
        user_id,
        role,
        reviews_certificates,
        actionable_now,
    } = reviewer.clone();
    let group_acted = diesel::dsl::exists(
        request_decisions::table
            .filter(request_decisions::request_id.eq(requests::id))
            .filter(request_decisions::level.eq(requests::current_level))
            .filter(request_decisions::group_role.eq(role)),
    );
    let confirms_now = diesel::dsl::exists(
        safe_members::table
            .filter(safe_members::safe_id.nullable().eq(requests::safe_id))
            .filter(safe_members::confirm_level.eq(requests::current_level.nullable()))
            .filter(
                safe_members::user_id
                    .eq(user_id)
                    .or(safe_members::group_role
                        .eq(role)
                        .and(diesel::dsl::not(group_acted))),
            ),
    );
    let confirms_at_all = diesel::dsl::exists(
        safe_members::table
            .filter(safe_members::safe_id.nullable().eq(requests::safe_id))
            .filter(safe_members::confirm_level.is_not_null())
            .filter(
                safe_members::user_id
                    .eq(user_id)
                    .or(safe_members::group_role.eq(role)),
            ),
    );
    let access: Condition = if actionable_now {
        Box::new(
            requests::request_type
                .eq(RequestType::Access)
                .and(confirms_now),
        )
    } else {
        Box::new(
            requests::request_type
                .eq(RequestType::Access)
                .and(confirms_at_all),
        )
    };
    if reviews_certificates {
        Box::new(
            requests::request_type
                .eq(RequestType::Certificate)
                .or(access),
        )
    } else {
        access
    }
}

fn filtered(filter: &RequestFilter, now: NaiveDateTime) -> Boxed<'_> {
    let mut query = requests::table.inner_join(users::table).into_boxed();
    if let Some(id) = filter.requester_id {
        query = query.filter(requests::requester_id.eq(id));
    }
    if let Some(id) = filter.not_requester_id {
        query = query.filter(requests::requester_id.ne(id));
    }
    if let Some(kind) = filter.request_type {
        query = query.filter(requests::request_type.eq(kind));
    }
    if let Some(status) = filter.status {
        query = query.filter(shows(status, now));
    }
    if let Some(user) = filter.undecided_by {
        query = query.filter(diesel::dsl::not(diesel::dsl::exists(
            request_decisions::table
                .filter(request_decisions::request_id.eq(requests::id))
                .filter(request_decisions::user_id.eq(user)),
        )));
    }
    if let Some(reviewer) = &filter.reviewer {
        query = query.filter(reviewer_condition(reviewer));
    }
    query
}

/// One page of requests matching `filter`, newest first, each read as `$row` (a `Selectable` of
/// requests joined with users): in full, or as a summary. The dashboard's page, unfiltered, is
/// one plain statement, which diesel keeps prepared by its type (parsed and planned once per
/// connection: S3 went from 0.3 to 0.59 of pgbench); a filtered page is boxed, kept prepared by
/// its SQL text. Both bind `LIMIT` and `OFFSET`: the bundled SQLite's planner stability
/// guarantee (`.cargo/config.toml`) keeps it from compiling a statement again when its `LIMIT`
/// is bound. A macro, as the two selections make two statement types.
macro_rules! newest_first {
    ($conn:expr, $filter:expr, $now:expr, $offset:expr, $limit:expr, $row:ty) => {{
        let (conn, filter, offset, limit): (&mut DbConnection, &RequestFilter, i64, i64) =
            ($conn, $filter, $offset, $limit);
        if let RequestFilter {
            requester_id: Some(owner),
            status: None,
            request_type: None,
            not_requester_id: None,
            undecided_by: None,
            reviewer: None,
        } = filter
        {
            requests::table
                .inner_join(users::table)
                .filter(requests::requester_id.eq(*owner))
                .order((requests::created_at.desc(), requests::id.desc()))
                .offset(offset)
                .limit(limit)
                .select(<$row>::as_select())
                .load(conn)
        } else {
            filtered(filter, $now)
                .order((requests::created_at.desc(), requests::id.desc()))
                .offset(offset)
                .limit(limit)
                .select(<$row>::as_select())
                .load(conn)
        }
    }};
}

/// One page of requests in full, newest first, with the total that match.
pub fn list(
    conn: &mut DbConnection,
    filter: &RequestFilter,
    now: NaiveDateTime,
    offset: i64,
    limit: i64,
) -> QueryResult<(Vec<RequestWithRequester>, i64)> {
    let total = count(conn, filter, now)?;
    let rows = newest_first!(conn, filter, now, offset, limit, RequestWithRequester)?;
    Ok((rows, total))
}

/// How many requests match: exact, so O(matching rows); see `stored_totals` for O(1) totals.
pub fn count(
    conn: &mut DbConnection,
    filter: &RequestFilter,
    now: NaiveDateTime,
) -> QueryResult<i64> {
    filtered(filter, now).count().get_result(conn)
}

/// One page of summaries, newest first: the columns a summary shows, not the CSR.
pub fn page(
    conn: &mut DbConnection,
    filter: &RequestFilter,
    now: NaiveDateTime,
    offset: i64,
    limit: i64,
) -> QueryResult<Vec<SummaryWithRequester>> {
    newest_first!(conn, filter, now, offset, limit, SummaryWithRequester)
}

/// The newest requests of a user since `since`, at most `limit`.
pub fn recent(
    conn: &mut DbConnection,
    requester_id: i64,
    since: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<RequestRow>> {
    requests::table
        .filter(requests::requester_id.eq(requester_id))
        .filter(requests::created_at.ge(since))
        .order((requests::created_at.desc(), requests::id.desc()))
        .limit(limit)
        .select(RequestRow::as_select())
        .load(conn)
}

/// A request with its requester; with `requester_id`, only if it is theirs.
///
/// Not boxed and with no `LIMIT` (the id is the key), so diesel keeps the statement prepared by
/// its type, with no SQL text built per call.
pub fn find(
    conn: &mut DbConnection,
    id: i64,
    requester_id: Option<i64>,
) -> QueryResult<Option<RequestWithRequester>> {
    let one = requests::table
        .inner_join(users::table)
        .filter(requests::id.eq(id));
    match requester_id {
        Some(owner) => one
            .filter(requests::requester_id.eq(owner))
            .select(RequestWithRequester::as_select())
            .get_result(conn)
            .optional(),
        None => one
            .select(RequestWithRequester::as_select())
            .get_result(conn)
            .optional(),
    }
}

/// A request about to be decided by `user_id`, and whether that user has decided it already (at
/// any level): one statement for the two, read inside the deciding transaction.
pub fn find_for_decision(
    conn: &mut DbConnection,
    id: i64,
    user_id: i64,
) -> QueryResult<Option<(RequestRow, bool)>> {
    let decided = diesel::dsl::exists(
        request_decisions::table
            .filter(request_decisions::request_id.eq(id))
            .filter(request_decisions::user_id.eq(user_id)),
    );
    requests::table
        .filter(requests::id.eq(id))
        .select((RequestRow::as_select(), decided))
        .get_result(conn)
        .optional()
}

/// The requests of a safe stored as pending, for re-checking that they can still be decided.
pub fn pending_in_safe(conn: &mut DbConnection, safe_id: i64) -> QueryResult<Vec<RequestRow>> {
    requests::table
        .filter(requests::safe_id.eq(safe_id))
        .filter(stored(RequestStatus::Pending))
        .select(RequestRow::as_select())
        .load(conn)
}

/// The newest `limit` access requests of a user for an account, newest first: where a PVWA
/// retrieval, which names the account and not the request, looks for one to use.
pub fn of_requester_for_account(
    conn: &mut DbConnection,
    requester_id: i64,
    account_id: i64,
    limit: i64,
) -> QueryResult<Vec<RequestRow>> {
    requests::table
        .filter(requests::requester_id.eq(requester_id))
        .filter(requests::request_type.eq(RequestType::Access))
        .filter(requests::account_id.eq(account_id))
        .order((requests::created_at.desc(), requests::id.desc()))
        .limit(limit)
        .select(RequestRow::as_select())
        .load(conn)
}

/// The newest `limit` of the requester's access requests for the account that show as approved
/// at `now` (approved, the window not over): the ones a retrieval may use, however many ended
/// requests came after them (`requests_account_idx`).
pub fn approved_of_requester_for_account(
    conn: &mut DbConnection,
    requester_id: i64,
    account_id: i64,
    now: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<RequestRow>> {
    requests::table
        .filter(requests::account_id.eq(account_id))
        .filter(requests::requester_id.eq(requester_id))
        .filter(requests::request_type.eq(RequestType::Access))
        .filter(shows_approved(now))
        .order((requests::created_at.desc(), requests::id.desc()))
        .limit(limit)
        .select(RequestRow::as_select())
        .load(conn)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::testing::{plan_on, scratch_sqlite, sent_by};

    fn mine() -> RequestFilter {
        RequestFilter {
            requester_id: Some(1),
            ..RequestFilter::default()
        }
    }

    /// Every page of the dashboard, whatever its number and size, is one statement diesel keeps
    /// prepared, with `LIMIT` and `OFFSET` bound; a filtered page too, once per filter. (That
    /// SQLite does not compile them again when bound is `db::pool`'s compile-option test.)
    #[test]
    fn pages_are_kept_prepared_whatever_page_is_asked() {
        let (_dir, mut conn) = scratch_sqlite();
        let now = NaiveDateTime::default();
        let approved = RequestFilter {
            status: Some(RequestStatus::Approved),
            ..mine()
        };
        let sent = sent_by(&mut conn, |conn| {
            for (offset, limit) in [(0, 20), (20, 20), (0, 5), (100, 100)] {
                page(conn, &mine(), now, offset, limit).expect("page");
                page(conn, &approved, now, offset, limit).expect("filtered page");
            }
        });
        assert_eq!(sent.started.len(), 8, "{:?}", sent.started);
        assert_eq!(sent.kept.len(), 2, "{:?}", sent.kept);
        assert!(sent.kept.iter().all(|sql| sql.contains("LIMIT ?")));
    }

    /// Planned with nothing bound, as the stability guarantee plans every statement, the
    /// dashboard's page still reads the requester's index in order, with no sort.
    #[test]
    fn the_dashboard_page_reads_the_requesters_index_in_order() {
        let (_dir, mut conn) = scratch_sqlite();
        let now = NaiveDateTime::default();
        let plan = plan_on(&mut conn, |conn| {
            page(conn, &mine(), now, 0, 20).expect("page");
        });
        assert!(
            plan.contains("USING INDEX requests_requester_created_idx"),
            "{plan}"
        );
        assert!(!plan.contains("TEMP B-TREE"), "{plan}");
    }
}
