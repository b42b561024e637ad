//! Bulk decisions (`Approve-PASRequest` and `Deny-PASRequest` with several ids, PVWA 14.6 and
//! later) and their status. Each item is decided at once, by the same service calls as a single
//! confirm or reject, so with the same rules and races; the outcome of every item is kept in
//! `bulk_actions` (shared by every instance) for `GET bulkactions/{id}`, readable by its author.

use actix_web::{HttpResponse, get, post, web};
use serde::Deserialize;
use utoipa::IntoParams;

use super::on_request;
use crate::api::AppState;
use crate::api::metrics::Decision;
use crate::api::pvwa::error::{PvwaError, PvwaErrorBody};
use crate::api::pvwa::extract::{PvwaAuth, PvwaJson};
use crate::api::pvwa::vault_bodies::BulkDecisionBody;
use crate::api::pvwa::vault_views::PvwaBulkAction;
use crate::domain::FieldError;
use crate::error::{AppError, ErrorCode};
use crate::service::{bulk_actions, requests};

/// Bulk calls take at most this many items.
pub const MAX_BULK_ITEMS: usize = 100;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct BulkActionPath {
    /// The id the bulk call answered.
    #[param(example = "7")]
    pub bulk_action_id: String,
}

/// Decides every item as the caller, keeps the outcome, and answers its id as a bare number
/// (psPAS wraps it as `Id`).
async fn decide_in_bulk(
    state: web::Data<AppState>,
    auth: PvwaAuth,
    body: BulkDecisionBody,
    decision: Decision,
) -> Result<HttpResponse, PvwaError> {
    let items = body.bulk_items;
    if items.is_empty() || items.len() > MAX_BULK_ITEMS {
        return Err(PvwaError::invalid(vec![FieldError::new(
            "BulkItems",
            format!("must hold 1 to {MAX_BULK_ITEMS} items"),
        )]));
    }
    let (id, decided) = state
        .run(move |ctx| {
            let mut decided = Vec::new();
            let outcomes = items
                .into_iter()
                .map(|item| {
                    let outcome = on_request(&item.request_id, |request| match decision {
                        Decision::Confirmed => {
                            requests::confirm(ctx, &auth.0, request, item.reason.clone())
                        }
                        Decision::Rejected => requests::reject(
                            ctx,
                            &auth.0,
                            request,
                            item.reason.as_deref().unwrap_or_default(),
                        ),
                    });
                    let outcome = match outcome {
                        Ok(detail) => {
                            decided.push(detail.summary.request_type);
                            Ok(())
                        }
                        Err(error) => Err(PvwaError::from(&error).body()),
                    };
                    (item.request_id, outcome)
                })
                .collect();
            let action = match decision {
                Decision::Confirmed => "Confirm",
                Decision::Rejected => "Reject",
            };
            let outcome = serde_json::to_string(&PvwaBulkAction::decided(action, outcomes))
                .map_err(|e| AppError::Internal(format!("bulk outcome: {e}")))?;
            let id = bulk_actions::record(ctx, &auth.0, &outcome)?;
            Ok::<_, AppError>((id, decided))
        })
        .await?;
    for request_type in decided {
        state.metrics.request_decided(request_type, decision);
    }
    Ok(HttpResponse::Ok().json(id))
}

/// Confirm several requests (PVWA).
///
/// Confirms each `BulkItems` entry (`RequestId`, `Reason`) on its own, as a single confirm
/// would, and answers the bulk action's id as a bare number; `GET bulkactions/{id}` tells how
/// each item went. Paths and keys match regardless of case.
#[utoipa::path(
    tag = "pvwa compatibility",
    request_body = BulkDecisionBody,
    security(("pvwa" = [])),
    responses(
        (status = 200, description = "The bulk action's id, a bare JSON number", body = i64,
            content_type = "application/json", example = json!(7)),
        (status = 400, description = "Invalid body (RQDWS001E, RQDWS002E)", body = PvwaErrorBody),
        (status = 401, description = "No valid token (RQDWS003E)", body = PvwaErrorBody),
        (status = 413, description = "Body too large (RQDWS017E)", body = PvwaErrorBody),
        (status = 415, description = "Body not JSON (RQDWS018E)", body = PvwaErrorBody),
        (status = 503, description = "Unavailable (RQDWS020E)", body = PvwaErrorBody),
    )
)]
#[post("/incomingrequests/confirm/bulk")]
pub async fn confirm_pvwa_requests_in_bulk(
    state: web::Data<AppState>,
    auth: PvwaAuth,
    body: PvwaJson<BulkDecisionBody>,
) -> Result<HttpResponse, PvwaError> {
    decide_in_bulk(state, auth, body.0, Decision::Confirmed).await
}

/// Reject several requests (PVWA).
///
/// Rejects each `BulkItems` entry (`RequestId`, `Reason`, required) on its own, as a single
/// reject would, and answers the bulk action's id as a bare number. Paths and keys match
/// regardless of case.
#[utoipa::path(
    tag = "pvwa compatibility",
    request_body = BulkDecisionBody,
    security(("pvwa" = [])),
    responses(
        (status = 200, description = "The bulk action's id, a bare JSON number", body = i64,
            content_type = "application/json", example = json!(7)),
        (status = 400, description = "Invalid body (RQDWS001E, RQDWS002E)", body = PvwaErrorBody),
        (status = 401, description = "No valid token (RQDWS003E)", body = PvwaErrorBody),
        (status = 413, description = "Body too large (RQDWS017E)", body = PvwaErrorBody),
        (status = 415, description = "Body not JSON (RQDWS018E)", body = PvwaErrorBody),
        (status = 503, description = "Unavailable (RQDWS020E)", body = PvwaErrorBody),
    )
)]
#[post("/incomingrequests/reject/bulk")]
pub async fn reject_pvwa_requests_in_bulk(
    state: web::Data<AppState>,
    auth: PvwaAuth,
    body: PvwaJson<BulkDecisionBody>,
) -> Result<HttpResponse, PvwaError> {
    decide_in_bulk(state, auth, body.0, Decision::Rejected).await
}

/// Show a bulk action (PVWA).
///
/// How each item of one of the caller's bulk decisions went: `Status`, `Result` counts,
/// `SucceededItems` and `FailedItems` (each failure with PVWA's error body). Another user's
/// bulk action, or none, is 404. Paths match regardless of case.
#[utoipa::path(
    tag = "pvwa compatibility",
    params(BulkActionPath),
    security(("pvwa" = [])),
    responses(
        (status = 200, description = "The bulk action", body = PvwaBulkAction),
        (status = 401, description = "No valid token (RQDWS003E)", body = PvwaErrorBody),
        (status = 404, description = "No such bulk action of the caller's (RQDWS010E)", body = PvwaErrorBody),
        (status = 503, description = "Unavailable (RQDWS020E)", body = PvwaErrorBody),
    )
)]
#[get("/bulkactions/{bulk_action_id}")]
pub async fn get_pvwa_bulk_action(
    state: web::Data<AppState>,
    auth: PvwaAuth,
    path: web::Path<BulkActionPath>,
) -> Result<HttpResponse, PvwaError> {
    let shown = path.into_inner().bulk_action_id;
    let not_found = || AppError::new(ErrorCode::NotFound, format!("no bulk action {shown}"));
    let id: i64 = shown.trim().parse().map_err(|_| not_found())?;
    let (created, outcome) = state
        .run(move |ctx| bulk_actions::find(ctx, &auth.0, id))
        .await?;
    let mut action: PvwaBulkAction = serde_json::from_str(&outcome)
        .map_err(|e| AppError::Internal(format!("bulk outcome {id}: {e}")))?;
    action.id = id;
    action.creation_time = created.timestamp();
    Ok(HttpResponse::Ok().json(action))
}
