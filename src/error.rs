//! The one error type of the service. Every failure, from validation to an unreachable database,
//! becomes an [`AppError`]; `api::problem` turns it into an RFC 9457 `application/problem+json` body
//! whose `code` is stable and documented here.

use crate::domain::FieldError;

/// Every way a call can fail. Each variant names its HTTP status and stable `code`.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// 400 `validation_failed`: one or more fields are invalid; each is named.
    #[error("the request has invalid fields")]
    Validation(Vec<FieldError>),
    /// 400 with its own code: the body is not JSON, or a parameter cannot be read.
    #[error("{detail}")]
    BadRequest { code: &'static str, detail: String },
    /// 401 `unauthorized`: no token, a bad or expired token, or a revoked session.
    #[error("{0}")]
    Unauthorized(&'static str),
    /// 401 `invalid_credentials`: the same answer for an unknown user and a wrong password.
    #[error("the username or password is incorrect")]
    InvalidCredentials,
    /// 403 with its own code: authenticated, but not allowed.
    #[error("{detail}")]
    Forbidden { code: &'static str, detail: String },
    /// 404 `not_found`.
    #[error("{0}")]
    NotFound(String),
    /// 405 `method_not_allowed`, with the methods the path accepts.
    #[error("this path does not accept that method")]
    MethodNotAllowed { allow: Vec<String> },
    /// 409 with its own code: the state of a resource forbids the change.
    #[error("{detail}")]
    Conflict { code: &'static str, detail: String },
    /// 413 `payload_too_large`.
    #[error("the request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    /// 415 `unsupported_media_type`.
    #[error("the request body must be sent as application/json")]
    UnsupportedMediaType,
    /// 429 `too_many_requests`, with how long to wait.
    #[error("too many failed log-ins: try again in {retry_after_secs} seconds")]
    TooManyRequests { retry_after_secs: u64 },
    /// 503 `service_unavailable`: the database cannot be reached, or the service is saturated.
    #[error("{0}")]
    Unavailable(String),
    /// 500 `internal_error`: a bug or an unexpected failure. The cause is logged, never shown.
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError::new(field, message)])
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::Forbidden {
            code: "forbidden",
            detail: detail.into(),
        }
    }

    pub fn conflict(code: &'static str, detail: impl Into<String>) -> Self {
        Self::Conflict {
            code,
            detail: detail.into(),
        }
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::NotFound(detail.into())
    }

    /// The HTTP status this error answers with.
    pub fn status(&self) -> u16 {
        match self {
            Self::Validation(_) | Self::BadRequest { .. } => 400,
            Self::Unauthorized(_) | Self::InvalidCredentials => 401,
            Self::Forbidden { .. } => 403,
            Self::NotFound(_) => 404,
            Self::MethodNotAllowed { .. } => 405,
            Self::Conflict { .. } => 409,
            Self::PayloadTooLarge { .. } => 413,
            Self::UnsupportedMediaType => 415,
            Self::TooManyRequests { .. } => 429,
            Self::Unavailable(_) => 503,
            Self::Internal(_) => 500,
        }
    }

    /// The stable, machine-readable code clients branch on.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Validation(_) => "validation_failed",
            Self::BadRequest { code, .. }
            | Self::Forbidden { code, .. }
            | Self::Conflict { code, .. } => code,
            Self::Unauthorized(_) => "unauthorized",
            Self::InvalidCredentials => "invalid_credentials",
            Self::NotFound(_) => "not_found",
            Self::MethodNotAllowed { .. } => "method_not_allowed",
            Self::PayloadTooLarge { .. } => "payload_too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::TooManyRequests { .. } => "too_many_requests",
            Self::Unavailable(_) => "service_unavailable",
            Self::Internal(_) => "internal_error",
        }
    }

    /// The human-readable explanation sent to the client; never the cause of a 5xx.
    pub fn detail(&self) -> String {
        match self {
            Self::Internal(_) => "an unexpected error occurred; it has been logged".to_owned(),
            other => other.to_string(),
        }
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(error: diesel::result::Error) -> Self {
        if crate::db::is_unavailable(&error) {
            tracing::warn!(%error, "the database is unavailable");
            return Self::Unavailable("the database is unreachable or busy; try again".to_owned());
        }
        Self::Internal(format!("database: {error}"))
    }
}

impl From<diesel::r2d2::PoolError> for AppError {
    fn from(error: diesel::r2d2::PoolError) -> Self {
        tracing::warn!(%error, "no database connection available");
        Self::Unavailable("the database is unreachable or saturated; try again".to_owned())
    }
}

impl From<crate::pki::ValidationError> for AppError {
    fn from(error: crate::pki::ValidationError) -> Self {
        Self::validation(error.field, error.message)
    }
}

impl From<crate::pki::PkiError> for AppError {
    fn from(error: crate::pki::PkiError) -> Self {
        match error {
            crate::pki::PkiError::Validation(invalid) => invalid.into(),
            crate::pki::PkiError::CaExpired(at) => {
                Self::Unavailable(format!("the CA certificate expired at {at}"))
            }
            other => Self::Internal(format!("pki: {other}")),
        }
    }
}
