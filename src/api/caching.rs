//! HTTP caching: strong `ETag`s with `If-None-Match` for the representations that rarely change
//! (the CA certificate, the CRL, certificate downloads, the OpenAPI document), and a `Cache-Control` on
//! every API answer. User data defaults to `private, no-cache`: a browser may keep it but must ask
//! again before reusing it, and no shared cache stores it. An answer carrying a token or a secret
//! says `no-store`.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;
use actix_web::web::Bytes;
use actix_web::{Error, HttpRequest, HttpResponse};
use sha2::{Digest, Sha256};

type CacheControl = (header::HeaderName, HeaderValue);

/// Answers that carry a token or a secret: never stored anywhere.
pub const NO_STORE: CacheControl = (header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
/// The caller's own data: a browser may keep it, revalidated on every use; no shared cache.
pub const PRIVATE: CacheControl = (
    header::CACHE_CONTROL,
    HeaderValue::from_static("private, no-cache"),
);
/// Public documents (the CA certificate, the CRL, the OpenAPI document): any cache may keep
/// them, revalidated on every use.
pub const PUBLIC: CacheControl = (
    header::CACHE_CONTROL,
    HeaderValue::from_static("public, no-cache"),
);

/// What the compression middleware appends to the `ETag` of a gzip-encoded answer: a strong
/// validator names one representation, and the compressed bytes are another one.
const GZIP_SUFFIX: &str = "-gzip";

/// A body with a strong `ETag` computed from its bytes.
pub struct Tagged {
    body: Bytes,
    etag: String,
    content_type: &'static str,
    cache_control: CacheControl,
    vary_on_accept: bool,
}

impl Tagged {
    pub fn new(
        body: impl Into<Bytes>,
        content_type: &'static str,
        cache_control: CacheControl,
    ) -> Self {
        let body = body.into();
        Self {
            etag: strong_etag(&body),
            body,
            content_type,
            cache_control,
            vary_on_accept: false,
        }
    }

    /// With a strong `ETag` of the caller's: for a body whose bytes differ between two signings of
    /// the same content (the CRL, tagged by its number).
    pub fn with_etag(
        body: impl Into<Bytes>,
        etag_key: &str,
        content_type: &'static str,
        cache_control: CacheControl,
    ) -> Self {
        Self {
            body: body.into(),
            etag: format!("\"{etag_key}\""),
            content_type,
            cache_control,
            vary_on_accept: false,
        }
    }

    /// For a body chosen by `Accept`: caches keep one copy per `Accept`.
    pub fn vary_on_accept(mut self) -> Self {
        self.vary_on_accept = true;
        self
    }

    pub fn etag(&self) -> &str {
        &self.etag
    }

    /// 304 with no body when `If-None-Match` names this `ETag`, the body otherwise.
    pub fn respond_to(&self, req: &HttpRequest) -> HttpResponse {
        let not_modified = if_none_match_names(req, &self.etag);
        let mut response = if not_modified {
            HttpResponse::NotModified()
        } else {
            HttpResponse::Ok()
        };
        response
            .insert_header((header::ETAG, self.etag.as_str()))
            .insert_header(self.cache_control.clone());
        if self.vary_on_accept {
            response.insert_header((header::VARY, "Accept"));
        }
        if not_modified {
            return response.finish();
        }
        response
            .insert_header((header::CONTENT_TYPE, self.content_type))
            .body(self.body.clone())
    }
}

/// A quoted SHA-256 prefix of the bytes: 128 bits, so two representations never share one.
fn strong_etag(body: &[u8]) -> String {
    let digest = Sha256::digest(body);
    format!("\"{}\"", hex::encode(&digest[..16]))
}

/// Whether `If-None-Match` is `*` or lists `etag`, by the weak comparison RFC 9110 prescribes
/// for it, and whatever encoding the client's copy came in.
fn if_none_match_names(req: &HttpRequest, etag: &str) -> bool {
    req.headers()
        .get_all(header::IF_NONE_MATCH)
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(|tag| tag.trim())
        .any(|tag| tag == "*" || without_encoding(tag.trim_start_matches("W/")) == etag)
}

fn without_encoding(tag: &str) -> String {
    match tag.strip_suffix(&format!("{GZIP_SUFFIX}\"")) {
        Some(stem) => format!("{stem}\""),
        None => tag.to_owned(),
    }
}

/// Gives every API answer that has none a `Cache-Control`: `private, no-cache` under `/api/`,
/// `no-store` on the PVWA API, whose logon carries a token and whose clients are scripts.
pub async fn default_cache_control(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let default = default_for(req.path());
    let mut response = next.call(req).await?;
    let headers = response.headers_mut();
    if let Some((name, value)) = default
        && !headers.contains_key(header::CACHE_CONTROL)
    {
        headers.insert(name, value);
    }
    Ok(response)
}

fn default_for(path: &str) -> Option<CacheControl> {
    let path = path.to_ascii_lowercase();
    if path.starts_with("/api/") {
        Some(PRIVATE)
    } else if path.starts_with("/passwordvault/") {
        Some(NO_STORE)
    } else {
        None
    }
}

/// Outside the compression middleware: marks the `ETag` of a gzip-encoded answer as the other
/// representation it is (`"…-gzip"`), so no cache takes the two for the same bytes.
pub async fn tag_compressed(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let mut response = next.call(req).await?;
    let headers = response.headers_mut();
    let gzipped = headers
        .get(header::CONTENT_ENCODING)
        .is_some_and(|encoding| encoding.as_bytes().eq_ignore_ascii_case(b"gzip"));
    let tagged = headers
        .get(header::ETAG)
        .and_then(|etag| etag.to_str().ok())
        .and_then(|etag| etag.strip_suffix('"'))
        .and_then(|stem| HeaderValue::from_str(&format!("{stem}{GZIP_SUFFIX}\"")).ok());
    if let (true, Some(etag)) = (gzipped, tagged) {
        headers.insert(header::ETAG, etag);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etags_are_strong_quoted_and_differ_with_the_bytes() {
        let pem = strong_etag(b"-----BEGIN CERTIFICATE-----");
        assert!(
            pem.starts_with('"') && pem.ends_with('"') && pem.len() == 34,
            "{pem}"
        );
        assert_ne!(pem, strong_etag(b"\x30\x82"));
    }

    #[test]
    fn a_compressed_copy_matches_its_identity_etag() {
        assert_eq!(without_encoding("\"abc-gzip\""), "\"abc\"");
        assert_eq!(without_encoding("\"abc\""), "\"abc\"");
    }
}
