//! What status a request shows, written once in Rust ([`shown`]) and once in SQL ([`shows`]);
//! `tests/api/status_rule.rs` checks that the two agree on a grid of cases, on both databases.
//! Time alone changes what a stored status shows, in the three ways [`Shift`] lists, and the
//! predicates every query of requests shares ("live pending", "window over") are written here
//! once.

use chrono::NaiveDateTime;
use diesel::dsl;
use diesel::prelude::*;
use diesel::sql_types::Bool;

use super::rows::HasState;
use crate::db::MultiBackend;
use crate::db::schema::{requests, users};
use crate::db::values::PendingStatus;
use crate::domain::access::InvalidReason;
use crate::domain::request::RequestStatus;

/// Requests joined with their requesters, as lists read them.
pub(super) type WithRequester = dsl::InnerJoinQuerySource<requests::table, users::table>;

/// A condition on requests read from `QS`, boxed so that one match can choose it.
pub(super) type Condition<QS = WithRequester> =
    Box<dyn BoxableExpression<QS, MultiBackend, SqlType = Bool>>;

/// What a request shows at a moment, and the invalid reasons that go with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shown {
    pub status: RequestStatus,
    /// PVWA's invalid-reason bits (see [`InvalidReason`]).
    pub invalid_flags: i32,
}

/// What a request shows at `now`: a pending request past its expiry is expired; a pending or
/// approved access request whose window is over is invalid (`access_time_expired`); every other
/// stored status shows as itself. Reasons recorded when a request ended (a one-time use, a
/// deleted account, ...) are kept in `invalid_flags`.
pub fn shown(row: &impl HasState, now: NaiveDateTime) -> Shown {
    let row = row.state();
    let window_over = row.access_to.is_some_and(|to| to <= now);
    let window_flag = if window_over {
        InvalidReason::AccessTimeExpired.flag()
    } else {
        0
    };
    let (status, invalid_flags) = match row.status {
        RequestStatus::Pending if row.expires_at <= now => {
            (RequestStatus::Expired, InvalidReason::Expired.flag())
        }
        RequestStatus::Pending | RequestStatus::Approved if window_over => {
            (RequestStatus::Invalid, window_flag)
        }
        RequestStatus::Pending => (RequestStatus::Pending, 0),
        RequestStatus::Approved => (RequestStatus::Approved, 0),
        RequestStatus::Rejected => (RequestStatus::Rejected, row.invalid_flags),
        RequestStatus::Expired => (RequestStatus::Expired, InvalidReason::Expired.flag()),
        RequestStatus::Invalid => (RequestStatus::Invalid, row.invalid_flags | window_flag),
    };
    Shown {
        status,
        invalid_flags,
    }
}

/// The requests that show `status` at `now`: [`shown`] in SQL.
pub(super) fn shows(status: RequestStatus, now: NaiveDateTime) -> Condition {
    match status {
        RequestStatus::Pending => Box::new(waiting(now)),
        RequestStatus::Approved => Box::new(shows_approved(now)),
        RequestStatus::Rejected => Box::new(stored(RequestStatus::Rejected)),
        RequestStatus::Expired => {
            Box::new(stored(RequestStatus::Expired).or(Shift::TimedOut.applies(now)))
        }
        RequestStatus::Invalid => Box::new(
            stored(RequestStatus::Invalid)
                .or(Shift::ApprovedWindowOver.applies(now))
                .or(Shift::PendingWindowOver.applies(now)),
        ),
    }
}

/// A way time alone changes what a stored status shows. The statistics start from the stored
/// counts and move each shift's requests from one status to the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shift {
    /// Pending past `expires_at`: shown as expired.
    TimedOut,
    /// Pending, not timed out, access window over: shown as invalid.
    PendingWindowOver,
    /// Approved with the access window over: shown as invalid.
    ApprovedWindowOver,
}

impl Shift {
    pub const ALL: [Shift; 3] = [
        Shift::TimedOut,
        Shift::PendingWindowOver,
        Shift::ApprovedWindowOver,
    ];

    /// The stored status the shifted requests have.
    pub fn from(self) -> RequestStatus {
        match self {
            Shift::TimedOut | Shift::PendingWindowOver => RequestStatus::Pending,
            Shift::ApprovedWindowOver => RequestStatus::Approved,
        }
    }

    /// The status they show.
    pub fn to(self) -> RequestStatus {
        match self {
            Shift::TimedOut => RequestStatus::Expired,
            Shift::PendingWindowOver | Shift::ApprovedWindowOver => RequestStatus::Invalid,
        }
    }

    /// The requests this shift applies to at `now`, read from `QS` (the table, or a join).
    pub(super) fn applies<QS>(self, now: NaiveDateTime) -> Condition<QS>
    where
        TimedOutPending: BoxableExpression<QS, MultiBackend, SqlType = Bool>,
        dsl::And<LivePending, WindowOver>: BoxableExpression<QS, MultiBackend, SqlType = Bool>,
        dsl::And<Stored, WindowOver>: BoxableExpression<QS, MultiBackend, SqlType = Bool>,
    {
        match self {
            Shift::TimedOut => Box::new(timed_out_pending(now)),
            Shift::PendingWindowOver => Box::new(live_pending(now).and(window_over(now))),
            Shift::ApprovedWindowOver => {
                Box::new(stored(RequestStatus::Approved).and(window_over(now)))
            }
        }
    }
}

pub(super) type Stored = dsl::Eq<requests::status, RequestStatus>;

/// Stored with this status.
pub(super) fn stored(status: RequestStatus) -> Stored {
    requests::status.eq(status)
}

pub(super) type StoredPending = dsl::Eq<requests::status, PendingStatus>;

/// Stored as pending, with `'pending'` written as a literal: the partial index
/// `requests_pending_key_idx` names it, and SQLite's planner never reads a bound value.
pub(super) fn stored_pending() -> StoredPending {
    requests::status.eq(PendingStatus)
}

pub(super) type LivePending = dsl::And<StoredPending, dsl::Gt<requests::expires_at, NaiveDateTime>>;

/// Pending and not timed out: it can still be decided (unless its access window is over).
pub(super) fn live_pending(now: NaiveDateTime) -> LivePending {
    stored_pending().and(requests::expires_at.gt(now))
}

pub(super) type TimedOutPending =
    dsl::And<StoredPending, dsl::Le<requests::expires_at, NaiveDateTime>>;

/// Stored as pending although its time ran out: it shows as expired.
pub(super) fn timed_out_pending(now: NaiveDateTime) -> TimedOutPending {
    stored_pending().and(requests::expires_at.le(now))
}

pub(super) type Waiting = dsl::And<LivePending, WindowOpen>;

/// What shows as pending: live, and its access window (if any) not over. Only these can be
/// confirmed, rejected or cancelled.
pub(super) fn waiting(now: NaiveDateTime) -> Waiting {
    live_pending(now).and(window_open(now))
}

pub(super) type ShowsApproved = dsl::And<Stored, WindowOpen>;

/// Approved and its access window (if any) not over: what shows as approved.
pub(super) fn shows_approved(now: NaiveDateTime) -> ShowsApproved {
    stored(RequestStatus::Approved).and(window_open(now))
}

pub(super) type WindowOpen = dsl::Or<
    dsl::IsNull<requests::access_to>,
    dsl::AssumeNotNull<dsl::Gt<requests::access_to, NaiveDateTime>>,
>;

/// No access window (a certificate request), or one that is not over.
pub(super) fn window_open(now: NaiveDateTime) -> WindowOpen {
    requests::access_to
        .is_null()
        .or(requests::access_to.gt(now).assume_not_null())
}

pub(super) type WindowOver = dsl::AssumeNotNull<dsl::Le<requests::access_to, NaiveDateTime>>;

/// An access window that is over.
pub(super) fn window_over(now: NaiveDateTime) -> WindowOver {
    requests::access_to.le(now).assume_not_null()
}
