//! Extractors: JSON bodies and query strings that report the exact field at fault, and bearer
//! tokens, and the client address a use records. Each failure becomes an [`AppError`], so it
//! answers in the one problem format.
//!
//! Text holding U+0000 is refused here, where every body passes (paths and query strings, which
//! PVWA's lists read raw, are refused by `middleware::refuse_nul_in_url`): PostgreSQL cannot store the character
//! (`invalid byte sequence for encoding "UTF8": 0x00`) while SQLite would, so without this the
//! same input would be a 500 on one database and accepted on the other.

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use futures_util::StreamExt;
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;

use super::AppState;
use crate::error::{AppError, ErrorCode};
use crate::service::auth::VerifiedToken;

/// The largest JSON body any endpoint accepts.
pub const JSON_LIMIT: usize = 64 * 1024;

/// A JSON body: `application/json` (or `+json`) only, at most [`JSON_LIMIT`] bytes, unknown
/// fields refused by the target type, and every error naming its field.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for ApiJson<T> {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let is_json = req.mime_type().ok().flatten().is_some_and(|mime| {
            mime.type_() == "application"
                && (mime.subtype() == "json" || mime.suffix().is_some_and(|s| s == "json"))
        });
        let declared_length = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let mut payload = payload.take();
        Box::pin(async move {
            if !is_json {
                return Err(AppError::new(
                    ErrorCode::UnsupportedMediaType,
                    "the request body must be sent as application/json",
                ));
            }
            if declared_length.is_some_and(|length| length > JSON_LIMIT) {
                return Err(AppError::PayloadTooLarge { limit: JSON_LIMIT });
            }
            let mut body = web::BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk = chunk.map_err(|_| {
                    AppError::new(
                        ErrorCode::UnreadableBody,
                        "the request body could not be read".to_owned(),
                    )
                })?;
                if body.len() + chunk.len() > JSON_LIMIT {
                    return Err(AppError::PayloadTooLarge { limit: JSON_LIMIT });
                }
                body.extend_from_slice(&chunk);
            }
            parse_json(&body).map(ApiJson)
        })
    }
}

fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, AppError> {
    if let Some(field) = nul_in_json(body) {
        return Err(AppError::validation(field, NUL_MESSAGE));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value: T = serde_path_to_error::deserialize(&mut deserializer).map_err(json_error)?;
    deserializer.end().map_err(|e| {
        AppError::new(
            ErrorCode::MalformedJson,
            format!("the body is not valid JSON: {e}"),
        )
    })?;
    Ok(value)
}

/// What a field holding U+0000 is told. PostgreSQL cannot store the character at all
/// (`invalid byte sequence for encoding "UTF8": 0x00`) while SQLite would: both refuse it here.
pub(super) const NUL_MESSAGE: &str = "must not contain the NUL character (U+0000)";

/// The JSON path of the first string (or key) in `body` holding U+0000, if any. JSON can only
/// carry the character escaped, so a body without `\u0000` is passed over in one scan; only one
/// with it (or with an escaped backslash before `u0000`) is parsed to find where.
fn nul_in_json(body: &[u8]) -> Option<String> {
    let escaped = body
        .split(|&byte| byte == b'\\')
        .skip(1)
        .any(|after_backslash| after_backslash.starts_with(b"u0000"));
    if !escaped {
        return None;
    }
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    nul_path(&value, String::new())
}

/// Walks `value` in document order; paths read like serde_path_to_error's (`a.b[0].c`).
fn nul_path(value: &serde_json::Value, path: String) -> Option<String> {
    use serde_json::Value;
    match value {
        Value::String(text) if text.contains('\0') => Some(path_or_body(path)),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(index, item)| nul_path(item, format!("{path}[{index}]"))),
        Value::Object(fields) => fields.iter().find_map(|(key, item)| {
            let field = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            if key.contains('\0') {
                Some(field)
            } else {
                nul_path(item, field)
            }
        }),
        _ => None,
    }
}

fn path_or_body(path: String) -> String {
    if path.is_empty() {
        "body".to_owned()
    } else {
        path
    }
}

/// Reads an already parsed JSON value into `T`, naming the field at fault like [`ApiJson`].
pub fn from_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, AppError> {
    serde_path_to_error::deserialize(value).map_err(json_error)
}

fn json_error(error: serde_path_to_error::Error<serde_json::Error>) -> AppError {
    let inner = error.inner();
    if inner.is_syntax() || inner.is_eof() || inner.is_io() {
        return AppError::new(
            ErrorCode::MalformedJson,
            format!("the body is not valid JSON: {inner}"),
        );
    }
    let field = field_name(&error.path().to_string(), &inner.to_string());
    AppError::validation(field, strip_position(&inner.to_string()))
}

/// The field a deserialisation error is about: its path, or for a missing or unknown field at
/// that path, the name serde quotes in backticks.
fn field_name(path: &str, message: &str) -> String {
    let quoted = message.split('`').nth(1);
    let about_a_key = message.starts_with("missing field") || message.starts_with("unknown field");
    match (about_a_key, quoted) {
        (true, Some(name)) if path == "." => name.to_owned(),
        (true, Some(name)) if path == name || path.ends_with(&format!(".{name}")) => {
            path.to_owned()
        }
        (true, Some(name)) => format!("{path}.{name}"),
        _ if path == "." => "body".to_owned(),
        _ => path.to_owned(),
    }
}

fn strip_position(message: &str) -> String {
    match message.find(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message.to_owned(),
    }
}

/// Like [`ApiJson`], but a request with no body at all reads as `T::default()`: for bodies whose
/// every field is optional, such as a confirmation's reason.
#[derive(Debug)]
pub struct OptionalJson<T>(pub T);

impl<T: DeserializeOwned + Default + 'static> FromRequest for OptionalJson<T> {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let length = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok());
        let chunked = req.headers().contains_key(header::TRANSFER_ENCODING);
        if !chunked && matches!(length, None | Some("0")) {
            return Box::pin(async { Ok(OptionalJson(T::default())) });
        }
        let body = ApiJson::<T>::from_request(req, payload);
        Box::pin(async move { body.await.map(|json| OptionalJson(json.0)) })
    }
}

/// A query string whose errors name the parameter at fault. Unknown parameters are ignored.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned> FromRequest for ApiQuery<T> {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let deserializer = serde_urlencoded::Deserializer::new(form_urlencoded::parse(
            req.query_string().as_bytes(),
        ));
        ready(
            serde_path_to_error::deserialize(deserializer)
                .map(ApiQuery)
                .map_err(|error| {
                    let field = error.path().to_string();
                    let message = error.inner().to_string();
                    AppError::validation(
                        if field == "." {
                            "query".to_owned()
                        } else {
                            field
                        },
                        message,
                    )
                }),
        )
    }
}

/// A verified bearer token: a handler that takes one is protected, and says so in its signature.
/// The session behind it is checked by the service call, on the same database connection; a
/// request refused before that call has its session checked by
/// [`super::middleware::dead_session_first`], which the token left in the request for it.
#[derive(Debug)]
pub struct Authenticated(pub VerifiedToken);

impl FromRequest for Authenticated {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(match bearer_token(req) {
            None => Err(AppError::new(
                ErrorCode::Unauthorized,
                "an access token is required: log in first",
            )),
            Some(token) => verify(req, token).map(|token| Authenticated(presented(req, token))),
        })
    }
}

/// A bearer token if one was sent. A token that is sent but invalid is refused, never taken as
/// anonymous.
#[derive(Debug)]
pub struct MaybeAuthenticated(pub Option<VerifiedToken>);

impl FromRequest for MaybeAuthenticated {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(match bearer_token(req) {
            None if req.headers().contains_key(header::AUTHORIZATION) => Err(AppError::new(
                ErrorCode::Unauthorized,
                "the Authorization header must be `Bearer <token>`",
            )),
            None => Ok(MaybeAuthenticated(None)),
            Some(token) => verify(req, token).map(|t| MaybeAuthenticated(Some(presented(req, t)))),
        })
    }
}

/// The verified token a request presented to a route that takes one, kept in the request's
/// extensions: a clone shares [`VerifiedToken::found_live`] with the handler's copy.
#[derive(Debug, Clone)]
pub struct PresentedToken(pub VerifiedToken);

/// Leaves a clone of `token` in the request for [`super::middleware::dead_session_first`] and
/// returns `token`. Every extractor that hands a handler a token calls this.
pub fn presented(req: &HttpRequest, token: VerifiedToken) -> VerifiedToken {
    req.extensions_mut().insert(PresentedToken(token.clone()));
    token
}

fn bearer_token(req: &HttpRequest) -> Option<&str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

fn verify(req: &HttpRequest, token: &str) -> Result<VerifiedToken, AppError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| AppError::Internal("application state is missing".to_owned()))?;
    state.ctx.tokens.verify(token)
}

/// The client's address as this service sees it: the peer of the TCP connection, without its
/// port. Behind a proxy that is the proxy's address: forwarded headers are not trusted, since any
/// client can write them.
pub fn client_address(req: &HttpRequest) -> Option<String> {
    req.peer_addr().map(|peer| peer.ip().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nul_is_found_at_its_json_path() {
        let cases = [
            (r#"{"username":"ali\u0000ce"}"#, Some("username")),
            (r#"{"a":{"b":[1,"x","\u0000"]}}"#, Some("a.b[2]")),
            (r#"{"key\u0000":1}"#, Some("key\u{0}")),
            (r#""\u0000""#, Some("body")),
            (r#"{"escaped":"\\u0000"}"#, None),
            (r#"{"plain":"text","csr":"-----BEGIN\nMII\n"}"#, None),
            (r#"{"broken":"\u0000"#, None),
        ];
        for (body, field) in cases {
            assert_eq!(nul_in_json(body.as_bytes()).as_deref(), field, "{body}");
        }
    }

    #[test]
    fn errors_name_missing_and_unknown_fields() {
        assert_eq!(field_name(".", "missing field `email`"), "email");
        assert_eq!(
            field_name(".", "unknown field `admin`, expected one of `a`"),
            "admin"
        );
        assert_eq!(
            field_name("admin", "unknown field `admin`, expected one of `a`"),
            "admin"
        );
        assert_eq!(
            field_name("role", "invalid type: integer `1`, expected a string"),
            "role"
        );
        assert_eq!(
            field_name(".", "invalid type: integer `1`, expected struct"),
            "body"
        );
    }
}
