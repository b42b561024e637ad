//! Timestamps: stored as UTC without a zone, shown as RFC 3339 UTC.

use chrono::{DateTime, NaiveDateTime, Utc};

pub fn utc(naive: NaiveDateTime) -> DateTime<Utc> {
    naive.and_utc()
}
