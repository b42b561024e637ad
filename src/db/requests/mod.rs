//! Queries on `requests`, `request_decisions` and `request_events`.
//!
//! Dependency rule, kept with `pub(super)`: `rows` and `status` are leaves (the row types; what
//! a request shows, in Rust and in SQL, and the predicates every query shares). `filters`
//! (lists and lookups), `transitions` (every status change, each one conditional update),
//! `counters` (O(1) totals), `decisions`, `events` and `names` use the leaves and never each
//! other. Callers see the items re-exported here, not the files.

mod counters;
mod decisions;
mod events;
mod filters;
mod names;
mod rows;
mod status;
mod transitions;

pub use counters::{
    StoredTotal, expire_timed_out_pending, has_timed_out_pending, shown_totals, stored_totals,
};
pub use decisions::{DecisionRow, NewDecision, decisions, group_decided, insert_decision};
pub use events::{EventRow, NewEvent, events, insert_event, record_event};
pub use filters::{
    RequestFilter, Reviewer, approved_of_requester_for_account, count, find, find_for_decision,
    list, of_requester_for_account, page, pending_in_safe, recent,
};
pub use names::{SafeAndAccountNames, safe_and_account_names};
pub use rows::{
    HasState, NewAccessColumns, NewCertificateColumns, NewRequestRow, PersonRow, RequestRow,
    RequestState, RequestWithRequester, SummaryRow, SummaryWithRequester,
};
pub use status::{Shift, Shown, shown};
pub use transitions::{
    Ends, RejectedBy, add_confirmation, advance_to_level_two, approve, expire_stale_for_key,
    insert, invalidate, invalidate_on_safe, overlapping_open_request, pending_exists_for_key,
    record_use, reject, reject_pending_for_key,
};
