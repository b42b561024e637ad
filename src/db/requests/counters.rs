//! Totals of a requester's requests that cost the same whatever their number: the counters the
//! database's triggers keep in every write (see the per_user_counters migration), corrected by
//! the few requests time has moved to another status (see [`Shift`]).

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::status::{Shift, timed_out_pending};
use crate::db::DbConnection;
use crate::db::schema::{request_counts, requests};
use crate::domain::request::{RequestStatus, RequestType};

/// How many of a requester's requests have one type and one stored status.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = request_counts)]
pub struct StoredTotal {
    pub request_type: RequestType,
    pub status: RequestStatus,
    pub n: i64,
}

/// A requester's requests by type and stored status: a few rows, whatever the number of
/// requests.
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
    diesel::select(diesel::dsl::exists(
        requests::table
            .filter(requests::requester_id.eq(requester_id))
            .filter(timed_out_pending(now)),
    ))
    .get_result(conn)
}

/// Stores `expired` on the requester's pending requests whose time ran out, which is what every
/// read shows for them already; afterwards their stored counters need no correction. Nothing
/// else changes (not even `updated_at`): the catch-up is invisible.
pub fn expire_timed_out_pending(
    conn: &mut DbConnection,
    requester_id: i64,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        requests::table
            .filter(requests::requester_id.eq(requester_id))
            .filter(timed_out_pending(now)),
    )
    .set(requests::status.eq(RequestStatus::Expired))
    .execute(conn)
}

/// How many of the requester's requests show each status at `now` (absent: none): the stored
/// totals, with each [`Shift`]'s requests moved to the status they show. One read of the
/// counters and one count per shift, each an index range of the requester's requests.
pub fn shown_totals(
    conn: &mut DbConnection,
    requester_id: i64,
    now: NaiveDateTime,
) -> QueryResult<HashMap<RequestStatus, i64>> {
    let mut totals: HashMap<RequestStatus, i64> = HashMap::new();
    for total in stored_totals(conn, requester_id)? {
        *totals.entry(total.status).or_default() += total.n;
    }
    for shift in Shift::ALL {
        let moved: i64 = requests::table
            .filter(requests::requester_id.eq(requester_id))
            .filter(shift.applies::<requests::table>(now))
            .count()
            .get_result(conn)?;
        *totals.entry(shift.from()).or_default() -= moved;
        *totals.entry(shift.to()).or_default() += moved;
    }
    Ok(totals)
}
