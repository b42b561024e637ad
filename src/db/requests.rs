//! Queries on `requests`, `request_decisions` and `request_events`. Status changes are single
//! conditional updates: zero rows changed means someone else got there first.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{
    request_counts, request_decisions, request_events, requests, safe_accounts, safe_members,
    safes, users,
};
use super::{DbConnection, MultiBackend};
use crate::domain::access::{AccessType, InvalidReason, OperationType};
use crate::domain::request::{Decision, EventKind, RequestStatus, RequestType};
use crate::domain::user::Role;
use std::collections::HashMap;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = requests)]
pub struct RequestRow {
    pub id: i64,
    pub request_type: RequestType,
    /// The status as stored; what the request shows also depends on the time.
    pub status: RequestStatus,
    pub requester_id: i64,
    pub reason: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub approved_at: Option<NaiveDateTime>,
    pub rejected_at: Option<NaiveDateTime>,
    pub rejection_reason: Option<String>,
    pub current_level: i32,
    pub confirmations_required: i32,
    pub confirmations_given: i32,
    pub requester_email: String,
    pub csr_pem: Option<String>,
    pub common_name: Option<String>,
    pub subject_alt_names: Option<String>,
    pub key_algorithm: Option<String>,
    pub public_key_fingerprint: Option<String>,
    pub validity_days: Option<i32>,
    pub certificate_id: Option<i64>,
    pub safe_id: Option<i64>,
    pub account_id: Option<i64>,
    pub access_type: Option<AccessType>,
    pub operation_type: Option<OperationType>,
    pub access_from: Option<NaiveDateTime>,
    pub access_to: Option<NaiveDateTime>,
    pub ticketing_system: Option<String>,
    pub ticket_id: Option<String>,
    pub reference_no: Option<String>,
    pub emergency: Option<bool>,
    pub policy_version: Option<i32>,
    pub level2_required: i32,
    pub level2_given: i32,
    pub invalid_flags: i32,
    pub use_count: i32,
    pub last_used_at: Option<NaiveDateTime>,
}

/// A new request: what every request has, and the columns of each kind (left empty by the other).
#[derive(Debug, Insertable)]
#[diesel(table_name = requests)]
pub struct NewRequestRow<'a> {
    pub request_type: RequestType,
    pub status: RequestStatus,
    pub requester_id: i64,
    pub reason: &'a str,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub confirmations_required: i32,
    pub requester_email: &'a str,
    #[diesel(embed)]
    pub certificate: NewCertificateColumns<'a>,
    #[diesel(embed)]
    pub access: NewAccessColumns<'a>,
}

/// The columns only a certificate request fills.
#[derive(Debug, Default, Insertable)]
#[diesel(table_name = requests)]
pub struct NewCertificateColumns<'a> {
    pub csr_pem: Option<&'a str>,
    pub common_name: Option<&'a str>,
    pub subject_alt_names: Option<&'a str>,
    pub key_algorithm: Option<&'a str>,
    pub public_key_fingerprint: Option<&'a str>,
    pub validity_days: Option<i32>,
}

/// The columns only an access request fills.
#[derive(Debug, Default, Insertable)]
#[diesel(table_name = requests)]
pub struct NewAccessColumns<'a> {
    pub safe_id: Option<i64>,
    pub account_id: Option<i64>,
    pub access_type: Option<AccessType>,
    pub operation_type: Option<OperationType>,
    pub access_from: Option<NaiveDateTime>,
    pub access_to: Option<NaiveDateTime>,
    pub ticketing_system: Option<&'a str>,
    pub ticket_id: Option<&'a str>,
    pub reference_no: Option<&'a str>,
    pub emergency: Option<bool>,
    pub policy_version: Option<i32>,
    pub level2_required: i32,
}

/// A user as others see them on a request, a decision or a safe: username, name and e-mail.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct PersonRow {
    pub username: String,
    pub name: String,
    pub email: String,
}

/// A request with its requester.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = requests)]
pub struct RequestWithRequester {
    #[diesel(embed)]
    pub request: RequestRow,
    #[diesel(embed)]
    pub requester: PersonRow,
}

/// The statuses a list may ask for. What a request shows also depends on the time: a pending
/// request past `expires_at` is expired; a live one whose access window is over is invalid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    Pending,
    Approved,
    Rejected,
    Expired,
    Invalid,
}

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
    pub status: Option<StatusFilter>,
    pub request_type: Option<RequestType>,
    pub requester_id: Option<i64>,
    /// Leave out requests of this user (an approver never decides their own).
    pub not_requester_id: Option<i64>,
    /// Leave out requests this user has already decided.
    pub undecided_by: Option<i64>,
    pub reviewer: Option<Reviewer>,
}

type Source = diesel::dsl::InnerJoinQuerySource<requests::table, users::table>;

type Boxed<'a> =
    diesel::dsl::IntoBoxed<'a, diesel::dsl::InnerJoin<requests::table, users::table>, MultiBackend>;

type Condition =
    Box<dyn BoxableExpression<Source, MultiBackend, SqlType = diesel::sql_types::Bool>>;

fn window_open(now: NaiveDateTime) -> Condition {
    Box::new(
        requests::access_to
            .is_null()
            .or(requests::access_to.gt(now).assume_not_null()),
    )
}

fn window_over(now: NaiveDateTime) -> Condition {
    Box::new(requests::access_to.le(now).assume_not_null())
}

fn status_condition(status: StatusFilter, now: NaiveDateTime) -> Condition {
    let stored = |value: RequestStatus| -> Condition { Box::new(requests::status.eq(value)) };
    let not_timed_out: Condition = Box::new(requests::expires_at.gt(now));
    let timed_out: Condition = Box::new(requests::expires_at.le(now));
    match status {
        StatusFilter::Pending => Box::new(
            stored(RequestStatus::Pending)
                .and(not_timed_out)
                .and(window_open(now)),
        ),
        StatusFilter::Approved => Box::new(stored(RequestStatus::Approved).and(window_open(now))),
        StatusFilter::Rejected => stored(RequestStatus::Rejected),
        StatusFilter::Expired => Box::new(
            stored(RequestStatus::Expired).or(stored(RequestStatus::Pending).and(timed_out)),
        ),
        StatusFilter::Invalid => Box::new(
            stored(RequestStatus::Invalid)
                .or(stored(RequestStatus::Approved).and(window_over(now)))
                .or(stored(RequestStatus::Pending)
                    .and(not_timed_out)
                    .and(window_over(now))),
        ),
    }
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
        query = query.filter(status_condition(status, now));
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

/// One page of requests, newest first, with the total that match.
pub fn list(
    conn: &mut DbConnection,
    filter: &RequestFilter,
    now: NaiveDateTime,
    offset: i64,
    limit: i64,
) -> QueryResult<(Vec<RequestWithRequester>, i64)> {
    let total = count(conn, filter, now)?;
    Ok((page(conn, filter, now, offset, limit)?, total))
}

/// How many requests match: exact, so O(matching rows); see `stored_totals` for O(1) totals.
pub fn count(
    conn: &mut DbConnection,
    filter: &RequestFilter,
    now: NaiveDateTime,
) -> QueryResult<i64> {
    filtered(filter, now).count().get_result(conn)
}

/// One page of requests, newest first.
pub fn page(
    conn: &mut DbConnection,
    filter: &RequestFilter,
    now: NaiveDateTime,
    offset: i64,
    limit: i64,
) -> QueryResult<Vec<RequestWithRequester>> {
    filtered(filter, now)
        .order((requests::created_at.desc(), requests::id.desc()))
        .offset(offset)
        .limit(limit)
        .select(RequestWithRequester::as_select())
        .load(conn)
}

/// How many of a requester's requests have one type and one stored status.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = request_counts)]
pub struct StoredTotal {
    pub request_type: RequestType,
    pub status: RequestStatus,
    pub n: i64,
}

/// A requester's requests by type and stored status, from the counters the database's
/// triggers keep in every write (see the per_user_counters migration): a few rows, whatever
/// the number of requests.
pub fn stored_totals(conn: &mut DbConnection, requester_id: i64) -> QueryResult<Vec<StoredTotal>> {
    request_counts::table
        .filter(request_counts::requester_id.eq(requester_id))
        .select(StoredTotal::as_select())
        .load(conn)
}

/// Whether some of the requester's requests are stored as pending although their time ran out.
/// One index seek on `requests_requester_status_idx`.
pub fn has_timed_out_pending(
    conn: &mut DbConnection,
    requester_id: i64,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(timed_out_pending(requester_id, now))).get_result(conn)
}

/// Stores `expired` on the requester's pending requests whose time ran out, which is what every
/// read shows for them already; afterwards their stored counters need no correction. Nothing
/// else changes (not even `updated_at`): the catch-up is invisible.
pub fn expire_timed_out_pending(
    conn: &mut DbConnection,
    requester_id: i64,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(timed_out_pending(requester_id, now))
        .set(requests::status.eq(RequestStatus::Expired))
        .execute(conn)
}

/// The requester's requests stored as pending whose time ran out (shown as expired).
#[diesel::dsl::auto_type(no_type_alias)]
fn timed_out_pending(requester_id: i64, now: NaiveDateTime) -> _ {
    let pending: RequestStatus = RequestStatus::Pending;
    requests::table
        .filter(requests::requester_id.eq(requester_id))
        .filter(requests::status.eq(pending))
        .filter(requests::expires_at.le(now))
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
pub fn find(
    conn: &mut DbConnection,
    id: i64,
    requester_id: Option<i64>,
) -> QueryResult<Option<RequestWithRequester>> {
    let mut query = requests::table
        .inner_join(users::table)
        .filter(requests::id.eq(id))
        .into_boxed();
    if let Some(owner) = requester_id {
        query = query.filter(requests::requester_id.eq(owner));
    }
    query
        .select(RequestWithRequester::as_select())
        .first(conn)
        .optional()
}

/// Inserts a request and returns its id.
pub fn insert(conn: &mut DbConnection, request: &NewRequestRow<'_>) -> QueryResult<i64> {
    diesel::insert_into(requests::table)
        .values(request)
        .returning(requests::id)
        .get_result(conn)
}

/// Marks pending requests for this key whose time ran out as `expired`, so a new request for
/// the same key is not blocked by one that can no longer be decided.
pub fn expire_stale_for_key(
    conn: &mut DbConnection,
    fingerprint: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        requests::table
            .filter(requests::public_key_fingerprint.eq(fingerprint))
            .filter(requests::status.eq(RequestStatus::Pending))
            .filter(requests::expires_at.le(now)),
    )
    .set((
        requests::status.eq(RequestStatus::Expired),
        requests::updated_at.eq(now),
    ))
    .execute(conn)
}

/// Rejects every pending request for this key; returns their ids.
pub fn reject_pending_for_key(
    conn: &mut DbConnection,
    fingerprint: &str,
    reason: &str,
    now: NaiveDateTime,
) -> QueryResult<Vec<i64>> {
    diesel::update(
        requests::table
            .filter(requests::public_key_fingerprint.eq(fingerprint))
            .filter(requests::status.eq(RequestStatus::Pending))
            .filter(requests::expires_at.gt(now)),
    )
    .set((
        requests::status.eq(RequestStatus::Rejected),
        requests::rejected_at.eq(now),
        requests::rejection_reason.eq(reason),
        requests::updated_at.eq(now),
    ))
    .returning(requests::id)
    .get_results(conn)
}

/// Whether a live pending request exists for this key.
pub fn pending_exists_for_key(
    conn: &mut DbConnection,
    fingerprint: &str,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        requests::table
            .filter(requests::public_key_fingerprint.eq(fingerprint))
            .filter(requests::status.eq(RequestStatus::Pending))
            .filter(requests::expires_at.gt(now)),
    ))
    .get_result(conn)
}

/// Who ends a request as rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectedBy {
    /// Its requester cancels it: only their own, and no invalid reason is recorded.
    Requester(i64),
    /// A confirmer rejects it: recorded as [`InvalidReason::Rejected`].
    Confirmer,
}

/// Ends a live pending request as rejected. Returns false when it was not live and pending (or,
/// for its requester, not theirs).
pub fn reject(
    conn: &mut DbConnection,
    id: i64,
    by: RejectedBy,
    reason: &str,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let invalid_flags = match by {
        RejectedBy::Requester(_) => 0,
        RejectedBy::Confirmer => InvalidReason::Rejected.flag(),
    };
    let target = requests::table
        .filter(requests::id.eq(id))
        .filter(requests::status.eq(RequestStatus::Pending))
        .filter(requests::expires_at.gt(now))
        .filter(
            requests::access_to
                .is_null()
                .or(requests::access_to.gt(now)),
        );
    let changes = (
        requests::status.eq(RequestStatus::Rejected),
        requests::rejected_at.eq(now),
        requests::rejection_reason.eq(reason),
        requests::invalid_flags.eq(invalid_flags),
        requests::updated_at.eq(now),
    );
    let updated = match by {
        RejectedBy::Requester(owner) => {
            diesel::update(target.filter(requests::requester_id.eq(owner)))
                .set(changes)
                .execute(conn)?
        }
        RejectedBy::Confirmer => diesel::update(target).set(changes).execute(conn)?,
    };
    Ok(updated == 1)
}

/// Counts one more confirmation at `level` on a live pending request still at that level.
/// Returns the new count at that level, or `None` when the request moved on or ended.
pub fn add_confirmation(
    conn: &mut DbConnection,
    id: i64,
    level: i32,
    now: NaiveDateTime,
) -> QueryResult<Option<i32>> {
    let target = requests::table
        .filter(requests::id.eq(id))
        .filter(requests::status.eq(RequestStatus::Pending))
        .filter(requests::current_level.eq(level))
        .filter(requests::expires_at.gt(now))
        .filter(
            requests::access_to
                .is_null()
                .or(requests::access_to.gt(now)),
        );
    let updated = if level == 2 {
        diesel::update(target)
            .set((
                requests::level2_given.eq(requests::level2_given + 1),
                requests::updated_at.eq(now),
            ))
            .execute(conn)?
    } else {
        diesel::update(target)
            .set((
                requests::confirmations_given.eq(requests::confirmations_given + 1),
                requests::updated_at.eq(now),
            ))
            .execute(conn)?
    };
    if updated == 0 {
        return Ok(None);
    }
    let column = requests::table.find(id);
    if level == 2 {
        column.select(requests::level2_given).first(conn).map(Some)
    } else {
        column
            .select(requests::confirmations_given)
            .first(conn)
            .map(Some)
    }
}

/// Opens level 2 once level 1 has all it needs.
pub fn advance_to_level_two(
    conn: &mut DbConnection,
    id: i64,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    diesel::update(
        requests::table
            .filter(requests::id.eq(id))
            .filter(requests::status.eq(RequestStatus::Pending))
            .filter(requests::current_level.eq(1)),
    )
    .set((requests::current_level.eq(2), requests::updated_at.eq(now)))
    .execute(conn)
    .map(|updated| updated == 1)
}

/// Records one use of an approved access request inside its window. A one-time request is spent
/// by it: it becomes invalid with `already_used`. Returns false when the request is not the
/// caller's, not approved, spent, or outside its window.
pub fn record_use(
    conn: &mut DbConnection,
    id: i64,
    requester_id: i64,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let usable = requests::table
        .filter(requests::id.eq(id))
        .filter(requests::requester_id.eq(requester_id))
        .filter(requests::request_type.eq(RequestType::Access))
        .filter(requests::status.eq(RequestStatus::Approved))
        .filter(requests::access_from.le(now))
        .filter(requests::access_to.gt(now));
    let one_time = diesel::update(usable.filter(requests::access_type.eq(AccessType::OneTime)))
        .set((
            requests::use_count.eq(requests::use_count + 1),
            requests::last_used_at.eq(now),
            requests::status.eq(RequestStatus::Invalid),
            requests::invalid_flags.eq(InvalidReason::AlreadyUsed.flag()),
            requests::updated_at.eq(now),
        ))
        .execute(conn)?;
    if one_time == 1 {
        return Ok(true);
    }
    let multiple = diesel::update(usable.filter(requests::access_type.eq(AccessType::Multiple)))
        .set((
            requests::use_count.eq(requests::use_count + 1),
            requests::last_used_at.eq(now),
            requests::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(multiple == 1)
}

/// Whether the user has an open access request (live pending, or approved and not over) for the
/// account whose window overlaps `from..to`.
pub fn overlapping_open_request(
    conn: &mut DbConnection,
    requester_id: i64,
    account_id: i64,
    from: NaiveDateTime,
    to: NaiveDateTime,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        requests::table
            .filter(requests::requester_id.eq(requester_id))
            .filter(requests::account_id.eq(account_id))
            .filter(
                requests::status
                    .eq(RequestStatus::Pending)
                    .and(requests::expires_at.gt(now))
                    .or(requests::status.eq(RequestStatus::Approved)),
            )
            .filter(requests::access_to.gt(now))
            .filter(requests::access_from.lt(to))
            .filter(requests::access_to.gt(from)),
    ))
    .get_result(conn)
}

/// Marks a pending request approved, with the certificate issued for it if any.
pub fn approve(
    conn: &mut DbConnection,
    id: i64,
    certificate_id: Option<i64>,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    diesel::update(
        requests::table
            .filter(requests::id.eq(id))
            .filter(requests::status.eq(RequestStatus::Pending)),
    )
    .set((
        requests::status.eq(RequestStatus::Approved),
        requests::approved_at.eq(now),
        requests::certificate_id.eq(certificate_id),
        requests::updated_at.eq(now),
    ))
    .execute(conn)
    .map(|updated| updated == 1)
}

/// What a user's requests show, counted: by stored status, then the ones whose time changed
/// what they show.
#[derive(Debug, Default)]
pub struct StatusCounts {
    /// By stored status (absent: none).
    pub stored: HashMap<RequestStatus, i64>,
    /// Pending past `expires_at`: shown as expired.
    pub pending_timed_out: i64,
    /// Pending, not timed out, access window over: shown as invalid.
    pub pending_window_over: i64,
    /// Approved with the access window over: shown as invalid.
    pub approved_window_over: i64,
}

pub fn count_by_status(
    conn: &mut DbConnection,
    requester_id: i64,
    now: NaiveDateTime,
) -> QueryResult<StatusCounts> {
    let mine = || requests::table.filter(requests::requester_id.eq(requester_id));
    let mut stored: HashMap<RequestStatus, i64> = HashMap::new();
    for total in stored_totals(conn, requester_id)? {
        *stored.entry(total.status).or_default() += total.n;
    }
    let pending_timed_out = timed_out_pending(requester_id, now)
        .count()
        .get_result(conn)?;
    let pending_window_over = mine()
        .filter(requests::status.eq(RequestStatus::Pending))
        .filter(requests::expires_at.gt(now))
        .filter(requests::access_to.le(now))
        .count()
        .get_result(conn)?;
    let approved_window_over = mine()
        .filter(requests::status.eq(RequestStatus::Approved))
        .filter(requests::access_to.le(now))
        .count()
        .get_result(conn)?;
    Ok(StatusCounts {
        stored,
        pending_timed_out,
        pending_window_over,
        approved_window_over,
    })
}

#[derive(Debug, Insertable)]
#[diesel(table_name = request_decisions)]
pub struct NewDecision<'a> {
    pub request_id: i64,
    pub user_id: i64,
    pub decision: Decision,
    pub reason: Option<&'a str>,
    pub level: i32,
    pub group_role: Option<Role>,
    pub created_at: NaiveDateTime,
}

/// Whether the user has already decided this request, at any level.
pub fn decided_by(conn: &mut DbConnection, request_id: i64, user_id: i64) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        request_decisions::table
            .filter(request_decisions::request_id.eq(request_id))
            .filter(request_decisions::user_id.eq(user_id)),
    ))
    .get_result(conn)
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

/// The decisions taken on these requests, oldest first.
pub fn decisions(conn: &mut DbConnection, request_ids: &[i64]) -> QueryResult<Vec<DecisionRow>> {
    request_decisions::table
        .inner_join(users::table)
        .filter(request_decisions::request_id.eq_any(request_ids))
        .order(request_decisions::id.asc())
        .select((
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
        ))
        .load(conn)
}

#[derive(Debug, Insertable)]
#[diesel(table_name = request_events)]
pub struct NewEvent<'a> {
    pub request_id: i64,
    pub actor_id: Option<i64>,
    pub event: EventKind,
    pub detail: Option<&'a str>,
    pub created_at: NaiveDateTime,
}

pub fn insert_event(conn: &mut DbConnection, event: &NewEvent<'_>) -> QueryResult<()> {
    diesel::insert_into(request_events::table)
        .values(event)
        .execute(conn)
        .map(drop)
}

/// One entry of a request's trail, with its actor's username if a user did it.
#[derive(Debug, Clone, Queryable)]
pub struct EventRow {
    pub request_id: i64,
    pub event: EventKind,
    pub actor: Option<String>,
    pub detail: Option<String>,
    pub created_at: NaiveDateTime,
}

/// The trails of these requests, oldest first.
pub fn events(conn: &mut DbConnection, request_ids: &[i64]) -> QueryResult<Vec<EventRow>> {
    request_events::table
        .left_join(users::table)
        .filter(request_events::request_id.eq_any(request_ids))
        .order(request_events::id.asc())
        .select((
            request_events::request_id,
            request_events::event,
            users::username.nullable(),
            request_events::detail,
            request_events::created_at,
        ))
        .load(conn)
}

/// The names of the safes and accounts a set of requests names.
#[derive(Debug, Clone, Default)]
pub struct SafeAndAccountNames {
    safes: HashMap<i64, String>,
    accounts: HashMap<i64, String>,
}

impl SafeAndAccountNames {
    /// The name of the safe the request names, if it names one.
    pub fn safe(&self, request: &RequestRow) -> Option<String> {
        request.safe_id.and_then(|id| self.safes.get(&id).cloned())
    }

    /// The name of the account the request names, if it names one.
    pub fn account(&self, request: &RequestRow) -> Option<String> {
        request
            .account_id
            .and_then(|id| self.accounts.get(&id).cloned())
    }
}

/// The names of the safes and accounts that requests name, in two queries for a whole page.
pub fn safe_and_account_names(
    conn: &mut DbConnection,
    rows: &[&RequestRow],
) -> QueryResult<SafeAndAccountNames> {
    let safe_ids: Vec<i64> = rows.iter().filter_map(|r| r.safe_id).collect();
    let account_ids: Vec<i64> = rows.iter().filter_map(|r| r.account_id).collect();
    if safe_ids.is_empty() && account_ids.is_empty() {
        return Ok(SafeAndAccountNames::default());
    }
    let safes = safes::table
        .filter(safes::id.eq_any(&safe_ids))
        .select((safes::id, safes::name))
        .load::<(i64, String)>(conn)?;
    let accounts = safe_accounts::table
        .filter(safe_accounts::id.eq_any(&account_ids))
        .select((safe_accounts::id, safe_accounts::name))
        .load::<(i64, String)>(conn)?;
    Ok(SafeAndAccountNames {
        safes: safes.into_iter().collect(),
        accounts: accounts.into_iter().collect(),
    })
}
