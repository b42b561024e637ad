//! Privileged access requests with dual control: asking (`submit`), who confirms at which level
//! and whether a safe's confirmers can still decide (`confirmers`, the leaf the others use), the
//! access part of a detail (`details`), using an approved access and retrieving its secret
//! (`usage`), and the changes to a safe that invalidate its waiting requests (`invalidation`).
//! Uses only the engine's leaf modules (`reason`, `lookups`, `events`, `status`); the engine
//! reaches it through `kind`.

mod confirmers;
mod details;
mod invalidation;
mod submit;
mod usage;

pub(super) use confirmers::{Capacity, capacity, confirms_in_safe};
pub(super) use details::AccessData;
pub use details::to_account;
pub use invalidation::{invalidate_on_safe, recheck_for_user, recheck_safe};
pub use submit::AccessInput;
pub(super) use submit::submit;
pub use usage::{UseOrigin, retrieve_secret, use_access};
