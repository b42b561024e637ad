//! The status rules of a request as pure functions: what it still needs, and what a
//! confirmation leads to. What a request shows at a moment is `db::requests::shown`, written
//! next to its SQL twin. Leaf module: it imports nothing of the package.

use chrono::NaiveDateTime;

use crate::db::requests::{self as req_db, HasState, RequestRow};
use crate::domain::request::RequestStatus;

/// Whether the request shows as pending at `now`: only then can it be decided.
pub(super) fn is_waiting(row: &impl HasState, now: NaiveDateTime) -> bool {
    req_db::shown(row, now).status == RequestStatus::Pending
}

/// What a pending request still needs, level by level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Remaining {
    /// The level it waits at (1, or 2 once level 1 has all it needs).
    pub level: i32,
    pub level1: i32,
    pub level2: i32,
}

impl Remaining {
    pub(super) fn of(row: &impl HasState) -> Self {
        let row = row.state();
        Self {
            level: row.current_level,
            level1: (row.confirmations_required - row.confirmations_given).max(0),
            level2: (row.level2_required - row.level2_given).max(0),
        }
    }

    /// Confirmations still needed at the level it waits at.
    pub(super) fn at_current_level(self) -> i32 {
        if self.level == 2 {
            self.level2
        } else {
            self.level1
        }
    }
}

/// Confirmations still needed at the current level of a request showing `status`: none unless
/// it is pending.
pub(super) fn confirmations_left(row: &impl HasState, status: RequestStatus) -> i32 {
    if status == RequestStatus::Pending {
        Remaining::of(row).at_current_level()
    } else {
        0
    }
}

/// What one more confirmation leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum AfterConfirmation {
    /// The level needs more.
    Wait,
    /// Level 1 has all it needs and the request has a level 2: it waits there next.
    OpenLevelTwo,
    /// The last level has all it needs.
    Approve,
}

/// What a confirmation at `level`, bringing that level to `given`, leads to.
pub(super) fn after_confirmation(row: &RequestRow, level: i32, given: i32) -> AfterConfirmation {
    let needed = if level == 1 {
        row.confirmations_required
    } else {
        row.level2_required
    };
    if given < needed {
        AfterConfirmation::Wait
    } else if level == 1 && row.level2_required > 0 {
        AfterConfirmation::OpenLevelTwo
    } else {
        AfterConfirmation::Approve
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Duration};

    use super::*;
    use crate::domain::access::InvalidReason;
    use crate::domain::request::RequestType;

    fn now() -> NaiveDateTime {
        DateTime::from_timestamp(1_800_000_000, 0)
            .expect("a time")
            .naive_utc()
    }

    fn row(status: RequestStatus) -> RequestRow {
        let now = now();
        RequestRow {
            id: 1,
            request_type: RequestType::Access,
            status,
            requester_id: 1,
            reason: "a reason".to_owned(),
            created_at: now,
            updated_at: now,
            expires_at: now + Duration::hours(1),
            approved_at: None,
            rejected_at: None,
            rejection_reason: None,
            current_level: 1,
            confirmations_required: 2,
            confirmations_given: 0,
            requester_email: "a@example.com".to_owned(),
            csr_pem: None,
            common_name: None,
            subject_alt_names: None,
            key_algorithm: None,
            public_key_fingerprint: None,
            validity_days: None,
            certificate_id: None,
            safe_id: Some(1),
            account_id: Some(1),
            access_type: None,
            operation_type: None,
            access_from: None,
            access_to: None,
            ticketing_system: None,
            ticket_id: None,
            reference_no: None,
            emergency: None,
            policy_version: None,
            level2_required: 0,
            level2_given: 0,
            invalid_flags: 0,
            use_count: 0,
            last_used_at: None,
            pvwa_extras: None,
        }
    }

    #[test]
    fn what_a_request_shows_depends_on_its_stored_status_its_expiry_and_its_window() {
        let hour = Duration::hours(1);
        let (expired, window) = (
            InvalidReason::Expired.flag(),
            InvalidReason::AccessTimeExpired.flag(),
        );
        let used = InvalidReason::AlreadyUsed.flag();
        // stored, expires in (hours), window ends in (hours), flags stored -> shown, flags shown
        let cases = [
            (
                RequestStatus::Pending,
                1,
                None,
                0,
                RequestStatus::Pending,
                0,
            ),
            (
                RequestStatus::Pending,
                0,
                None,
                0,
                RequestStatus::Expired,
                expired,
            ),
            (
                RequestStatus::Pending,
                -1,
                Some(1),
                0,
                RequestStatus::Expired,
                expired,
            ),
            (
                RequestStatus::Pending,
                1,
                Some(0),
                0,
                RequestStatus::Invalid,
                window,
            ),
            (
                RequestStatus::Pending,
                1,
                Some(1),
                0,
                RequestStatus::Pending,
                0,
            ),
            (
                RequestStatus::Approved,
                -1,
                None,
                0,
                RequestStatus::Approved,
                0,
            ),
            (
                RequestStatus::Approved,
                1,
                Some(-1),
                0,
                RequestStatus::Invalid,
                window,
            ),
            (
                RequestStatus::Rejected,
                1,
                Some(-1),
                128,
                RequestStatus::Rejected,
                128,
            ),
            (
                RequestStatus::Expired,
                1,
                None,
                0,
                RequestStatus::Expired,
                expired,
            ),
            (
                RequestStatus::Invalid,
                1,
                None,
                used,
                RequestStatus::Invalid,
                used,
            ),
            (
                RequestStatus::Invalid,
                1,
                Some(-1),
                used,
                RequestStatus::Invalid,
                used | window,
            ),
        ];
        for (stored, expires_in, window_ends_in, flags, status, shown_flags) in cases {
            let mut case = row(stored);
            case.expires_at = now() + hour * expires_in;
            case.access_to = window_ends_in.map(|h| now() + hour * h);
            case.invalid_flags = flags;
            let shown = req_db::shown(&case, now());
            assert_eq!(
                (shown.status, shown.invalid_flags),
                (status, shown_flags),
                "stored {stored:?}, expires in {expires_in} h, window ends in {window_ends_in:?} h"
            );
            assert_eq!(is_waiting(&case, now()), status == RequestStatus::Pending);
        }
    }

    #[test]
    fn a_confirmation_waits_opens_level_two_or_approves() {
        // required at level 1, at level 2, confirming at level, given after it -> outcome
        let cases = [
            (2, 0, 1, 1, AfterConfirmation::Wait),
            (2, 0, 1, 2, AfterConfirmation::Approve),
            (1, 1, 1, 1, AfterConfirmation::OpenLevelTwo),
            (1, 2, 2, 1, AfterConfirmation::Wait),
            (1, 2, 2, 2, AfterConfirmation::Approve),
            (1, 0, 1, 3, AfterConfirmation::Approve),
        ];
        for (level1, level2, level, given, expected) in cases {
            let mut case = row(RequestStatus::Pending);
            case.confirmations_required = level1;
            case.level2_required = level2;
            assert_eq!(
                after_confirmation(&case, level, given),
                expected,
                "{level1} + {level2} needed, confirmation {given} at level {level}"
            );
        }
    }

    #[test]
    fn confirmations_left_count_the_current_level_of_a_pending_request_only() {
        // level, given at 1, given at 2, shown status -> left
        let cases = [
            (1, 0, 0, RequestStatus::Pending, 2),
            (1, 1, 0, RequestStatus::Pending, 1),
            (1, 5, 0, RequestStatus::Pending, 0),
            (2, 2, 1, RequestStatus::Pending, 2),
            (1, 0, 0, RequestStatus::Approved, 0),
            (1, 0, 0, RequestStatus::Expired, 0),
        ];
        for (level, given1, given2, status, left) in cases {
            let mut case = row(RequestStatus::Pending);
            case.level2_required = 3;
            case.current_level = level;
            case.confirmations_given = given1;
            case.level2_given = given2;
            assert_eq!(
                confirmations_left(&case, status),
                left,
                "level {level}, given {given1} and {given2}, shown {status:?}"
            );
        }
    }
}
