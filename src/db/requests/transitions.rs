//! Every change of a request's status, each one conditional update: zero rows changed means the
//! request was no longer in the state the change needs (someone else got there first).

use chrono::NaiveDateTime;
use diesel::dsl::case_when;
use diesel::prelude::*;
use diesel::sql_types::{Integer, Text};

use super::rows::NewRequestRow;
use super::status::{live_pending, stored, timed_out_pending, waiting};
use crate::db::schema::requests;
use crate::db::{DbConnection, cached_update};
use crate::domain::access::{AccessType, InvalidReason};
use crate::domain::request::{RequestStatus, RequestType};

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
            .filter(timed_out_pending(now)),
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
            .filter(live_pending(now)),
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
            .filter(live_pending(now)),
    ))
    .get_result(conn)
}

/// Who ends a request as rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectedBy {
    /// Its requester cancels it: only their own, and no invalid reason is recorded.
    Requester(i64),
    /// A confirmer of the level it was at when they looked (`level`) rejects it: recorded as
    /// [`InvalidReason::Rejected`]. A request that moved on to level 2 meanwhile is left alone:
    /// its level 1 confirmers no longer decide it.
    Confirmer { level: i32 },
}

/// Ends a live pending request as rejected. Returns false when it was not live and pending (or,
/// for its requester, not theirs; for a confirmer, no longer at their level).
pub fn reject(
    conn: &mut DbConnection,
    id: i64,
    by: RejectedBy,
    reason: &str,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let invalid_flags = match by {
        RejectedBy::Requester(_) => 0,
        RejectedBy::Confirmer { .. } => InvalidReason::Rejected.flag(),
    };
    let changes = (
        requests::status.eq(RequestStatus::Rejected),
        requests::rejected_at.eq(now),
        requests::rejection_reason.eq(reason),
        requests::invalid_flags.eq(invalid_flags),
        requests::updated_at.eq(now),
    );
    let target = requests::id.eq(id).and(waiting(now));
    let updated = match by {
        RejectedBy::Requester(owner) => cached_update(
            requests::table,
            target.and(requests::requester_id.eq(owner)),
            changes,
        )
        .execute(conn)?,
        RejectedBy::Confirmer { level } => cached_update(
            requests::table,
            target.and(requests::current_level.eq(level)),
            changes,
        )
        .execute(conn)?,
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
    let target = requests::id
        .eq(id)
        .and(requests::current_level.eq(level))
        .and(waiting(now));
    // The new count comes back with the change (`RETURNING`, kept prepared): one statement.
    if level == 2 {
        cached_update(
            requests::table,
            target,
            (
                requests::level2_given.eq(requests::level2_given + 1),
                requests::updated_at.eq(now),
            ),
        )
        .returning(requests::level2_given)
        .get_result(conn)
        .optional()
    } else {
        cached_update(
            requests::table,
            target,
            (
                requests::confirmations_given.eq(requests::confirmations_given + 1),
                requests::updated_at.eq(now),
            ),
        )
        .returning(requests::confirmations_given)
        .get_result(conn)
        .optional()
    }
}

/// Opens level 2 once level 1 has all it needs.
pub fn advance_to_level_two(
    conn: &mut DbConnection,
    id: i64,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    cached_update(
        requests::table,
        requests::id
            .eq(id)
            .and(stored(RequestStatus::Pending))
            .and(requests::current_level.eq(1)),
        (requests::current_level.eq(2), requests::updated_at.eq(now)),
    )
    .execute(conn)
    .map(|updated| updated == 1)
}

/// Records one use of an approved access request inside its window. A one-time request is spent
/// by it: it becomes invalid with `already_used`. Returns false when the request is not the
/// caller's, not approved, spent, or outside its window.
///
/// One conditional `UPDATE`: the `WHERE` says the request is usable now, and a `CASE` on its
/// access type spends a one-time request in the same statement. Of concurrent uses of a one-time
/// request exactly one changes the row (on PostgreSQL the others wait for its lock, then find
/// the status changed and update nothing), so exactly one is handed the secret.
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
        .filter(stored(RequestStatus::Approved))
        .filter(requests::access_from.le(now))
        .filter(requests::access_to.gt(now));
    let one_time = || requests::access_type.eq(AccessType::OneTime);
    let status =
        case_when::<_, _, Text>(one_time(), RequestStatus::Invalid).otherwise(requests::status);
    let flags = case_when::<_, _, Integer>(one_time(), InvalidReason::AlreadyUsed.flag())
        .otherwise(requests::invalid_flags);
    diesel::update(usable)
        .set((
            requests::use_count.eq(requests::use_count + 1),
            requests::last_used_at.eq(now),
            requests::status.eq(status),
            requests::invalid_flags.eq(flags),
            requests::updated_at.eq(now),
        ))
        .execute(conn)
        .map(|updated| updated == 1)
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
            .filter(live_pending(now).or(stored(RequestStatus::Approved)))
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
    cached_update(
        requests::table,
        requests::id.eq(id).and(stored(RequestStatus::Pending)),
        (
            requests::status.eq(RequestStatus::Approved),
            requests::approved_at.eq(now),
            requests::certificate_id.eq(certificate_id),
            requests::updated_at.eq(now),
        ),
    )
    .execute(conn)
    .map(|updated| updated == 1)
}

/// Which requests a change to a safe ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ends {
    /// Pending requests not yet expired: a new confirmation policy leaves granted access be.
    Waiting,
    /// Those and approved ones: a deleted safe or account takes granted access with it.
    WaitingAndApproved,
}

/// Ends live requests on a safe (or, with `account_id`, on one of its accounts) as invalid for
/// `reason`. The update repeats the live condition, so a request that ended meanwhile (expired,
/// cancelled, decided) keeps its status. Returns the ids it changed.
pub fn invalidate_on_safe(
    conn: &mut DbConnection,
    safe_id: i64,
    account_id: Option<i64>,
    reason: InvalidReason,
    ends: Ends,
    now: NaiveDateTime,
) -> QueryResult<Vec<i64>> {
    let approved_too = (ends == Ends::WaitingAndApproved).into_sql::<diesel::sql_types::Bool>();
    let on_safe = requests::table
        .filter(requests::safe_id.eq(safe_id))
        .filter(live_pending(now).or(stored(RequestStatus::Approved).and(approved_too)));
    let changes = (
        requests::status.eq(RequestStatus::Invalid),
        requests::invalid_flags.eq(reason.flag()),
        requests::updated_at.eq(now),
    );
    match account_id {
        Some(account) => diesel::update(on_safe.filter(requests::account_id.eq(account)))
            .set(changes)
            .returning(requests::id)
            .get_results(conn),
        None => diesel::update(on_safe)
            .set(changes)
            .returning(requests::id)
            .get_results(conn),
    }
}

/// Invalidates one live pending request for `reason`; returns whether it was still live.
pub fn invalidate(
    conn: &mut DbConnection,
    id: i64,
    reason: InvalidReason,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    diesel::update(
        requests::table
            .filter(requests::id.eq(id))
            .filter(live_pending(now)),
    )
    .set((
        requests::status.eq(RequestStatus::Invalid),
        requests::invalid_flags.eq(reason.flag()),
        requests::updated_at.eq(now),
    ))
    .execute(conn)
    .map(|updated| updated == 1)
}

#[cfg(test)]
mod tests {
    use diesel::connection::SimpleConnection;
    use diesel::sql_types::{Integer, Timestamp};

    use super::*;
    use crate::db::testing::scratch_sqlite;

    /// A pending certificate request at `level`, expiring a day after `now`; returns its id.
    fn pending_at(conn: &mut DbConnection, level: i32, now: NaiveDateTime) -> i64 {
        diesel::sql_query(
            "INSERT INTO requests (request_type, status, requester_id, reason, created_at,
                 updated_at, expires_at, current_level, confirmations_required,
                 confirmations_given, level2_required, requester_email)
             VALUES ('certificate', 'pending', 1, 'r', ?1, ?1, ?2, ?3, 1, 1, 1, 'a@example.com')",
        )
        .bind::<Timestamp, _>(now)
        .bind::<Timestamp, _>(now + chrono::Duration::days(1))
        .bind::<Integer, _>(level)
        .execute(conn)
        .expect("request");
        requests::table
            .select(diesel::dsl::max(requests::id))
            .first::<Option<i64>>(conn)
            .expect("id")
            .expect("a request")
    }

    /// On PostgreSQL a level 1 confirmer's rejection can find the request at level 2 (another
    /// confirmation moved it on while the rejection waited for its row lock): it changes nothing.
    #[test]
    fn a_confirmer_rejects_only_at_the_level_they_decide() {
        let (_dir, mut conn) = scratch_sqlite();
        conn.batch_execute(
            "INSERT INTO users (username, name, email, password_hash, role, status, created_at,
                 updated_at)
             VALUES ('a', 'A', 'a@example.com', 'x', 'developer', 'active', '2026-01-01',
                 '2026-01-01')",
        )
        .expect("user");
        let now = chrono::NaiveDate::from_ymd_opt(2026, 12, 3)
            .and_then(|d| d.and_hms_opt(12, 0, 0))
            .expect("now");
        let at_two = pending_at(&mut conn, 2, now);
        let by_level_one = RejectedBy::Confirmer { level: 1 };
        let by_level_two = RejectedBy::Confirmer { level: 2 };
        assert!(!reject(&mut conn, at_two, by_level_one, "no", now).expect("reject"));
        assert!(reject(&mut conn, at_two, by_level_two, "no", now).expect("reject"));
        let status: RequestStatus = requests::table
            .find(at_two)
            .select(requests::status)
            .first(&mut conn)
            .expect("status");
        assert_eq!(status, RequestStatus::Rejected);
    }
}
