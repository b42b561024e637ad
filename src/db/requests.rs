//! Queries on `requests`, `request_decisions` and `request_events`. Status changes are single
//! conditional updates: zero rows changed means someone else got there first.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{request_decisions, request_events, requests, users};
use super::{DbConnection, MultiBackend};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = requests)]
pub struct RequestRow {
    pub id: i64,
    pub request_type: String,
    pub status: String,
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
}

#[derive(Debug, Insertable)]
#[diesel(table_name = requests)]
pub struct NewRequestRow<'a> {
    pub request_type: &'a str,
    pub status: &'a str,
    pub requester_id: i64,
    pub reason: &'a str,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub confirmations_required: i32,
    pub requester_email: &'a str,
    pub csr_pem: Option<&'a str>,
    pub common_name: Option<&'a str>,
    pub subject_alt_names: Option<&'a str>,
    pub key_algorithm: Option<&'a str>,
    pub public_key_fingerprint: Option<&'a str>,
    pub validity_days: Option<i32>,
}

/// A request with its requester's username, name and e-mail.
pub type RequestWithRequester = (RequestRow, (String, String, String));

/// The statuses a list may ask for; `Expired` and `Pending` are told apart by `expires_at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    Pending,
    Approved,
    Rejected,
    Expired,
}

/// Filters of a request list.
#[derive(Debug, Clone, Default)]
pub struct RequestFilter {
    pub status: Option<StatusFilter>,
    pub request_type: Option<String>,
    pub requester_id: Option<i64>,
    /// Leave out requests of this user (an approver never decides their own).
    pub not_requester_id: Option<i64>,
    /// Leave out requests this user has already decided.
    pub undecided_by: Option<i64>,
}

type Boxed<'a> =
    diesel::dsl::IntoBoxed<'a, diesel::dsl::InnerJoin<requests::table, users::table>, MultiBackend>;

fn filtered(filter: &RequestFilter, now: NaiveDateTime) -> Boxed<'_> {
    let mut query = requests::table.inner_join(users::table).into_boxed();
    if let Some(id) = filter.requester_id {
        query = query.filter(requests::requester_id.eq(id));
    }
    if let Some(id) = filter.not_requester_id {
        query = query.filter(requests::requester_id.ne(id));
    }
    if let Some(kind) = &filter.request_type {
        query = query.filter(requests::request_type.eq(kind.clone()));
    }
    query = match filter.status {
        None => query,
        Some(StatusFilter::Pending) => query
            .filter(requests::status.eq("pending"))
            .filter(requests::expires_at.gt(now)),
        Some(StatusFilter::Expired) => query.filter(
            requests::status.eq("expired").or(requests::status
                .eq("pending")
                .and(requests::expires_at.le(now))),
        ),
        Some(StatusFilter::Approved) => query.filter(requests::status.eq("approved")),
        Some(StatusFilter::Rejected) => query.filter(requests::status.eq("rejected")),
    };
    if let Some(user) = filter.undecided_by {
        query = query.filter(diesel::dsl::not(diesel::dsl::exists(
            request_decisions::table
                .filter(request_decisions::request_id.eq(requests::id))
                .filter(request_decisions::user_id.eq(user)),
        )));
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
    let total = filtered(filter, now).count().get_result(conn)?;
    let rows = filtered(filter, now)
        .order((requests::created_at.desc(), requests::id.desc()))
        .offset(offset)
        .limit(limit)
        .select((
            RequestRow::as_select(),
            (users::username, users::name, users::email),
        ))
        .load(conn)?;
    Ok((rows, total))
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
        .select((
            RequestRow::as_select(),
            (users::username, users::name, users::email),
        ))
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
            .filter(requests::status.eq("pending"))
            .filter(requests::expires_at.le(now)),
    )
    .set((requests::status.eq("expired"), requests::updated_at.eq(now)))
    .execute(conn)
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
            .filter(requests::status.eq("pending"))
            .filter(requests::expires_at.gt(now)),
    ))
    .get_result(conn)
}

/// Ends a live pending request as rejected. Returns false when it was not live and pending (or,
/// with `requester_id`, not theirs).
pub fn reject(
    conn: &mut DbConnection,
    id: i64,
    requester_id: Option<i64>,
    reason: &str,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let target = requests::table
        .filter(requests::id.eq(id))
        .filter(requests::status.eq("pending"))
        .filter(requests::expires_at.gt(now));
    let changes = (
        requests::status.eq("rejected"),
        requests::rejected_at.eq(now),
        requests::rejection_reason.eq(reason),
        requests::updated_at.eq(now),
    );
    let updated = match requester_id {
        Some(owner) => diesel::update(target.filter(requests::requester_id.eq(owner)))
            .set(changes)
            .execute(conn)?,
        None => diesel::update(target).set(changes).execute(conn)?,
    };
    Ok(updated == 1)
}

/// Counts one more confirmation on a live pending request. Returns the new count, or `None`
/// when the request is no longer live and pending.
pub fn add_confirmation(
    conn: &mut DbConnection,
    id: i64,
    now: NaiveDateTime,
) -> QueryResult<Option<i32>> {
    let updated = diesel::update(
        requests::table
            .filter(requests::id.eq(id))
            .filter(requests::status.eq("pending"))
            .filter(requests::expires_at.gt(now)),
    )
    .set((
        requests::confirmations_given.eq(requests::confirmations_given + 1),
        requests::updated_at.eq(now),
    ))
    .execute(conn)?;
    if updated == 0 {
        return Ok(None);
    }
    requests::table
        .find(id)
        .select(requests::confirmations_given)
        .first(conn)
        .map(Some)
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
            .filter(requests::status.eq("pending")),
    )
    .set((
        requests::status.eq("approved"),
        requests::approved_at.eq(now),
        requests::certificate_id.eq(certificate_id),
        requests::updated_at.eq(now),
    ))
    .execute(conn)
    .map(|updated| updated == 1)
}

/// How many of a user's requests are in each stored status, and how many pending ones have run
/// out of time.
pub fn count_by_status(
    conn: &mut DbConnection,
    requester_id: i64,
    now: NaiveDateTime,
) -> QueryResult<(Vec<(String, i64)>, i64)> {
    let by_status = requests::table
        .filter(requests::requester_id.eq(requester_id))
        .group_by(requests::status)
        .select((requests::status, diesel::dsl::count_star()))
        .load(conn)?;
    let timed_out = requests::table
        .filter(requests::requester_id.eq(requester_id))
        .filter(requests::status.eq("pending"))
        .filter(requests::expires_at.le(now))
        .count()
        .get_result(conn)?;
    Ok((by_status, timed_out))
}

#[derive(Debug, Insertable)]
#[diesel(table_name = request_decisions)]
pub struct NewDecision<'a> {
    pub request_id: i64,
    pub user_id: i64,
    pub decision: &'a str,
    pub reason: Option<&'a str>,
    pub level: i32,
    pub created_at: NaiveDateTime,
}

pub fn insert_decision(conn: &mut DbConnection, decision: &NewDecision<'_>) -> QueryResult<()> {
    diesel::insert_into(request_decisions::table)
        .values(decision)
        .execute(conn)
        .map(drop)
}

/// A decision with the decider's username.
pub type DecisionRow = (String, String, Option<String>, i32, NaiveDateTime);

pub fn decisions(conn: &mut DbConnection, request_id: i64) -> QueryResult<Vec<DecisionRow>> {
    request_decisions::table
        .inner_join(users::table)
        .filter(request_decisions::request_id.eq(request_id))
        .order(request_decisions::id.asc())
        .select((
            users::username,
            request_decisions::decision,
            request_decisions::reason,
            request_decisions::level,
            request_decisions::created_at,
        ))
        .load(conn)
}

#[derive(Debug, Insertable)]
#[diesel(table_name = request_events)]
pub struct NewEvent<'a> {
    pub request_id: i64,
    pub actor_id: Option<i64>,
    pub event: &'a str,
    pub detail: Option<&'a str>,
    pub created_at: NaiveDateTime,
}

pub fn insert_event(conn: &mut DbConnection, event: &NewEvent<'_>) -> QueryResult<()> {
    diesel::insert_into(request_events::table)
        .values(event)
        .execute(conn)
        .map(drop)
}

/// An event with its actor's username, if any.
pub type EventRow = (String, Option<String>, Option<String>, NaiveDateTime);

pub fn events(conn: &mut DbConnection, request_id: i64) -> QueryResult<Vec<EventRow>> {
    request_events::table
        .left_join(users::table)
        .filter(request_events::request_id.eq(request_id))
        .order(request_events::id.asc())
        .select((
            request_events::event,
            users::username.nullable(),
            request_events::detail,
            request_events::created_at,
        ))
        .load(conn)
}
