//! Each request's append-only trail: one entry per [`EventKind`] (submitted, confirmed,
//! level_2_opened, approved, issued, rejected, cancelled, invalidated, used, revoked), with who
//! did it (absent for what the service did itself) and a detail. Leaf module: it imports
//! nothing of the package.

use chrono::NaiveDateTime;

use crate::db::DbConnection;
use crate::db::requests as req_db;
use crate::domain::request::EventKind;
use crate::error::AppError;

/// Writes one entry on the request's trail.
pub(super) fn record_event(
    conn: &mut DbConnection,
    request_id: i64,
    actor_id: Option<i64>,
    event: EventKind,
    detail: Option<&str>,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    Ok(req_db::record_event(
        conn, request_id, actor_id, event, detail, now,
    )?)
}
