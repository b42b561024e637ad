//! The request engine, whatever a request is for.
//!
//! Dependency rule (kept with `pub(super)`; nothing imports upward):
//!
//! 1. `lifecycle` (submit, cancel, confirm, reject, approve) and `queue` (the review queue) use
//!    `views` to answer with what clients read;
//! 2. `views` (detail, summaries, dashboard, statistics) uses `kind`;
//! 3. `kind` is the one place that tells the kinds apart: one `enum Kind`, read once from
//!    `request_type`, one `match` per hook (submitting, who may review, capacity, what approval
//!    does, the kind's part of the detail). It uses `certificate` and `access`;
//! 4. `certificate` and `access` use only the leaves;
//! 5. the leaves import nothing of the package: `reason` (what a reason must be), `lookups`
//!    (finding a request, the shared refusals), `events` (the trail, one entry per `EventKind`)
//!    and `status` (the status rules, pure functions).
//!
//! Everything outside the package uses the items re-exported here.

mod access;
mod certificate;
mod events;
mod kind;
mod lifecycle;
mod lookups;
mod queue;
mod reason;
mod status;
mod views;

pub use access::{
    AccessInput, UseOrigin, invalidate_on_safe, recheck_for_user, recheck_safe, retrieve_secret,
    to_account, use_access,
};
pub use kind::NewRequest;
pub use lifecycle::{CANCELLED_BY_REQUESTER, cancel, confirm, reject, submit};
pub use lookups::RequestRef;
pub use queue::{all, incoming, incoming_in_full, show_incoming};
pub use views::{FullListQuery, RequestListQuery, dashboard, mine_in_full, show_mine, stats};
