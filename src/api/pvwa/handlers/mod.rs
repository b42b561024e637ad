//! The PVWA endpoints, by area, and what they share: the `SafeName_N` path, its resolution to a
//! request the caller may see, and the list query.

pub mod accounts;
pub mod bulk;
pub mod incoming_requests;
pub mod my_requests;
pub mod passwords;
pub mod safes;
pub mod server;
pub mod sessions;

use utoipa::IntoParams;

use super::bodies::ListFilters;
use super::convert::{parse_request_id, to_pvwa};
use super::views::PvwaRequest;
use crate::domain::request::{RequestDetail, RequestType};
use crate::error::{AppError, ErrorCode};
use crate::service::requests::{FullListQuery, RequestRef};

/// Lists answer at most this many requests, the newest.
pub const LIST_CAP: i64 = 100;

#[derive(serde::Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct RequestIdPath {
    /// `SafeName_N`: the safe's name (any case) and the request's number.
    #[param(example = "Finance_42")]
    pub request_id: String,
}

/// Runs `work` on the request `request_id` names (`SafeName_N`; the service checks, on the one
/// connection it authenticates with, that it is an access request of that safe). Every 404
/// this gives says the same, `no request <the id as the caller wrote it>`, whether the request
/// does not exist, is not an access request of that safe, or is not the caller's to see: the
/// answer tells no one which.
pub(super) fn on_request<T>(
    request_id: &str,
    work: impl FnOnce(RequestRef<'_>) -> Result<T, AppError>,
) -> Result<T, AppError> {
    let not_found = || AppError::new(ErrorCode::NotFound, format!("no request {request_id}"));
    let (safe, id) = parse_request_id(request_id).ok_or_else(not_found)?;
    work(RequestRef::InSafe { id, safe }).map_err(|error| match error.code() {
        ErrorCode::NotFound => not_found(),
        _ => error,
    })
}

pub(super) fn pvwa_view(detail: &RequestDetail) -> Result<PvwaRequest, AppError> {
    to_pvwa(detail).ok_or_else(|| {
        AppError::new(
            ErrorCode::NotFound,
            format!("no request {}", detail.summary.id),
        )
    })
}

pub(super) fn in_full(query: ListFilters, actionable_now: bool) -> FullListQuery {
    FullListQuery {
        request_type: Some(RequestType::Access),
        statuses: query.statuses(),
        actionable_now,
        limit: LIST_CAP,
    }
}
