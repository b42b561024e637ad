//! Each request's append-only trail: one entry per [`EventKind`](crate::domain::request::EventKind)
//! (submitted, confirmed, level_2_opened, approved, issued, rejected, cancelled, invalidated,
//! used, revoked), with who did it (absent for what the service did itself) and a detail. The
//! engine writes it through `record_event` only. Leaf module: it imports nothing of the package.

pub(super) use crate::db::requests::record_event;
