//! The extractors of the PVWA handlers: the token as PVWA clients send it, bodies whose keys
//! match regardless of case, and the list filters. Each refuses with a [`PvwaError`].

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::bodies::{
    BODY_KEYS, DECISION_KEYS, DecisionBody, ListFilters, LogonBody, NewRequestBody,
};
use super::error::PvwaError;
use crate::api::AppState;
use crate::api::extract::{ApiJson, presented};
use crate::error::{AppError, ErrorCode};
use crate::service::auth::VerifiedToken;

/// The caller's token, from `Authorization: <token>` or `Authorization: Bearer <token>`. Like the
/// native [`crate::api::extract::Authenticated`], it leaves the token in the request, so a
/// request refused before its service call still has its session checked first.
#[derive(Debug)]
pub struct PvwaAuth(pub VerifiedToken);

impl FromRequest for PvwaAuth {
    type Error = PvwaError;
    type Future = Ready<Result<Self, PvwaError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(pvwa_token(req).map(PvwaAuth))
    }
}

fn pvwa_token(req: &HttpRequest) -> Result<VerifiedToken, PvwaError> {
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or(AppError::new(
            ErrorCode::Unauthorized,
            "a session token is required in the Authorization header: log on first",
        ))?;
    let token = match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
        _ => value,
    };
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| AppError::Internal("application state is missing".to_owned()))?;
    Ok(presented(req, state.ctx.tokens.verify(token)?))
}

/// A JSON body whose keys match the known ones regardless of case (as PVWA's do); an empty body
/// reads as `{}`. Size and media type are checked as for every JSON body.
pub struct PvwaJson<T>(pub T);

/// The keys a body type knows, in their canonical spelling.
pub trait BodyKeys {
    const KEYS: &'static [&'static str];
}

impl BodyKeys for LogonBody {
    const KEYS: &'static [&'static str] = BODY_KEYS;
}

impl BodyKeys for NewRequestBody {
    const KEYS: &'static [&'static str] = BODY_KEYS;
}

impl BodyKeys for super::vault_bodies::AddAccountBody {
    const KEYS: &'static [&'static str] = super::vault_bodies::ADD_ACCOUNT_KEYS;
}

impl BodyKeys for super::vault_bodies::BulkDecisionBody {
    const KEYS: &'static [&'static str] = super::vault_bodies::BULK_KEYS;
}

impl BodyKeys for DecisionBody {
    const KEYS: &'static [&'static str] = DECISION_KEYS;
}

impl<T: DeserializeOwned + BodyKeys + 'static> FromRequest for PvwaJson<T> {
    type Error = PvwaError;
    type Future = LocalBoxFuture<'static, Result<Self, PvwaError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let headers = req.headers();
        let empty = match headers.get(header::CONTENT_LENGTH) {
            Some(length) => length.as_bytes() == b"0",
            None => !headers.contains_key(header::TRANSFER_ENCODING),
        };
        let body = (!empty).then(|| ApiJson::<Value>::from_request(req, payload));
        Box::pin(async move {
            let value = match body {
                Some(body) => body.await?.0,
                None => Value::Object(serde_json::Map::new()),
            };
            serde_path_to_error::deserialize(canonical_keys(value, T::KEYS))
                .map(PvwaJson)
                .map_err(|error| {
                    let path = error.path().to_string();
                    let field = if path == "." { "body".to_owned() } else { path };
                    PvwaError::invalid(vec![crate::domain::FieldError::new(
                        field,
                        error.inner().to_string(),
                    )])
                })
        })
    }
}

/// `value` with each object key that matches a known key regardless of case spelled as known,
/// in nested objects and arrays too (`BulkItems[].RequestId`).
fn canonical_keys(value: Value, keys: &[&str]) -> Value {
    match value {
        Value::Object(object) => Value::Object(
            object
                .into_iter()
                .map(|(key, value)| {
                    let key = keys
                        .iter()
                        .find(|known| known.eq_ignore_ascii_case(&key))
                        .map_or(key, |known| (*known).to_owned());
                    (key, canonical_keys(value, keys))
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(
            items
                .into_iter()
                .map(|item| canonical_keys(item, keys))
                .collect(),
        ),
        other => other,
    }
}

/// `onlywaiting` and `expired`, names and values regardless of case.
pub struct PvwaFilters(pub ListFilters);

impl FromRequest for PvwaFilters {
    type Error = PvwaError;
    type Future = Ready<Result<Self, PvwaError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(
            ListFilters::parse(req.query_string())
                .map(PvwaFilters)
                .map_err(|e| PvwaError::invalid(vec![e])),
        )
    }
}
