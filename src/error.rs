//! The one error type of the service. Every failure, from validation to an unreachable database,
//! becomes an [`AppError`]; `api::problem` turns it into an RFC 9457 `application/problem+json` body
//! whose `code` is stable and documented here.

use crate::domain::FieldError;

/// Every stable, machine-readable code a client can branch on. Adding one here is the only way to
/// add a code; the README's table and the PVWA mapping are checked against [`ErrorCode::ALL`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// 400 `validation_failed`: One or more fields or parameters are invalid; each is named.
    ValidationFailed,
    /// 400 `malformed_json`: The body is not JSON.
    MalformedJson,
    /// 400 `unreadable_body`: The body could not be read.
    UnreadableBody,
    /// 401 `unauthorized`: No token, a bad or expired token, or an ended session.
    Unauthorized,
    /// 401 `invalid_credentials`: A failed log-in: the same answer for an unknown user and a wrong password.
    InvalidCredentials,
    /// 403 `forbidden`: Authenticated, but not allowed.
    Forbidden,
    /// 403 `role_not_self_service`: Sign-up asked for a role one cannot give oneself.
    RoleNotSelfService,
    /// 403 `admin_only_field`: Only an administrator may change this field.
    AdminOnlyField,
    /// 403 `user_suspended`: The user is suspended.
    UserSuspended,
    /// 403 `own_request`: Nobody decides their own request.
    OwnRequest,
    /// 403 `not_a_confirmer`: The caller does not confirm this request at its current level.
    NotAConfirmer,
    /// 403 `not_allowed_to_request`: The caller may not request in this safe.
    NotAllowedToRequest,
    /// 403 `access_not_approved`: No approved access request of the caller's for this (waiting,
    /// rejected, expired, cancelled or made invalid), so nothing may be used or retrieved.
    AccessNotApproved,
    /// 403 `access_not_started`: The approved access window has not started yet.
    AccessNotStarted,
    /// 403 `access_window_over`: The approved access window is over.
    AccessWindowOver,
    /// 403 `access_already_used`: The one-time access has already been used.
    AccessAlreadyUsed,
    /// 403 `retrieval_not_allowed`: The request's operation type (`open`, `get_file`) does not
    /// allow retrieving the secret.
    RetrievalNotAllowed,
    /// 403 `cors_refused`: A CORS preflight from an origin, or asking for a method or header, that
    /// `REQUESTDESK_CORS_ORIGINS` and the API do not allow.
    CorsRefused,
    /// 404 `not_found`: No such path, or no such resource for the caller.
    NotFound,
    /// 405 `method_not_allowed`: A known path, a wrong method.
    MethodNotAllowed,
    /// 409 `username_taken`: A user with this username exists.
    UsernameTaken,
    /// 409 `email_taken`: A user with this email exists.
    EmailTaken,
    /// 409 `last_admin`: The change would leave no active administrator.
    LastAdmin,
    /// 409 `request_not_pending`: The request is no longer waiting.
    RequestNotPending,
    /// 409 `already_decided`: The caller, or the group they act for, already decided.
    AlreadyDecided,
    /// 409 `duplicate_pending_request`: A pending request for the same thing exists.
    DuplicatePendingRequest,
    /// 409 `key_compromised`: The CSR's key belongs to a certificate revoked as compromised.
    KeyCompromised,
    /// 409 `policy_refuses`: The CA's policy refuses the CSR.
    PolicyRefuses,
    /// 409 `already_revoked`: The certificate is revoked already.
    AlreadyRevoked,
    /// 409 `certificate_exists`: A certificate was already issued for the request.
    CertificateExists,
    /// 409 `safe_exists`: A safe with this name exists.
    SafeExists,
    /// 409 `overlapping_request`: An open request of the caller's for the account overlaps the window.
    OverlappingRequest,
    /// 409 `missing_supervisors`: The safe has too few confirmers for its own policy.
    MissingSupervisors,
    /// 409 `confirmation_settings_changed`: The safe's confirmation settings changed while the request was being made.
    ConfirmationSettingsChanged,
    /// 409 `no_secret_stored`: The account holds no secret to retrieve.
    NoSecretStored,
    /// 409 `not_an_access_request`: The request is not an access request.
    NotAnAccessRequest,
    /// 413 `payload_too_large`: The body is over the size limit.
    PayloadTooLarge,
    /// 415 `unsupported_media_type`: The body is not application/json.
    UnsupportedMediaType,
    /// 429 `too_many_requests`: Log-in locked out after failures.
    TooManyRequests,
    /// 503 `service_unavailable`: The database is unreachable or busy, or the service is saturated.
    ServiceUnavailable,
    /// 500 `internal_error`: A bug or an unexpected failure; the cause is logged, never shown.
    InternalError,
}

impl ErrorCode {
    /// Every code, in the order of the README's table.
    pub const ALL: [ErrorCode; 41] = [
        Self::ValidationFailed,
        Self::MalformedJson,
        Self::UnreadableBody,
        Self::Unauthorized,
        Self::InvalidCredentials,
        Self::Forbidden,
        Self::RoleNotSelfService,
        Self::AdminOnlyField,
        Self::UserSuspended,
        Self::OwnRequest,
        Self::NotAConfirmer,
        Self::NotAllowedToRequest,
        Self::AccessNotApproved,
        Self::AccessNotStarted,
        Self::AccessWindowOver,
        Self::AccessAlreadyUsed,
        Self::RetrievalNotAllowed,
        Self::CorsRefused,
        Self::NotFound,
        Self::MethodNotAllowed,
        Self::UsernameTaken,
        Self::EmailTaken,
        Self::LastAdmin,
        Self::RequestNotPending,
        Self::AlreadyDecided,
        Self::DuplicatePendingRequest,
        Self::KeyCompromised,
        Self::PolicyRefuses,
        Self::AlreadyRevoked,
        Self::CertificateExists,
        Self::SafeExists,
        Self::OverlappingRequest,
        Self::MissingSupervisors,
        Self::ConfirmationSettingsChanged,
        Self::NoSecretStored,
        Self::NotAnAccessRequest,
        Self::PayloadTooLarge,
        Self::UnsupportedMediaType,
        Self::TooManyRequests,
        Self::ServiceUnavailable,
        Self::InternalError,
    ];

    /// The code as clients see it in `code` (and in the problem `type`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ValidationFailed => "validation_failed",
            Self::MalformedJson => "malformed_json",
            Self::UnreadableBody => "unreadable_body",
            Self::Unauthorized => "unauthorized",
            Self::InvalidCredentials => "invalid_credentials",
            Self::Forbidden => "forbidden",
            Self::RoleNotSelfService => "role_not_self_service",
            Self::AdminOnlyField => "admin_only_field",
            Self::UserSuspended => "user_suspended",
            Self::OwnRequest => "own_request",
            Self::NotAConfirmer => "not_a_confirmer",
            Self::NotAllowedToRequest => "not_allowed_to_request",
            Self::AccessNotApproved => "access_not_approved",
            Self::AccessNotStarted => "access_not_started",
            Self::AccessWindowOver => "access_window_over",
            Self::AccessAlreadyUsed => "access_already_used",
            Self::RetrievalNotAllowed => "retrieval_not_allowed",
            Self::CorsRefused => "cors_refused",
            Self::NotFound => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::UsernameTaken => "username_taken",
            Self::EmailTaken => "email_taken",
            Self::LastAdmin => "last_admin",
            Self::RequestNotPending => "request_not_pending",
            Self::AlreadyDecided => "already_decided",
            Self::DuplicatePendingRequest => "duplicate_pending_request",
            Self::KeyCompromised => "key_compromised",
            Self::PolicyRefuses => "policy_refuses",
            Self::AlreadyRevoked => "already_revoked",
            Self::CertificateExists => "certificate_exists",
            Self::SafeExists => "safe_exists",
            Self::OverlappingRequest => "overlapping_request",
            Self::MissingSupervisors => "missing_supervisors",
            Self::ConfirmationSettingsChanged => "confirmation_settings_changed",
            Self::NoSecretStored => "no_secret_stored",
            Self::NotAnAccessRequest => "not_an_access_request",
            Self::PayloadTooLarge => "payload_too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::TooManyRequests => "too_many_requests",
            Self::ServiceUnavailable => "service_unavailable",
            Self::InternalError => "internal_error",
        }
    }

    /// The HTTP status every error with this code answers with.
    pub const fn status(self) -> u16 {
        match self {
            Self::ValidationFailed | Self::MalformedJson | Self::UnreadableBody => 400,
            Self::Unauthorized | Self::InvalidCredentials => 401,
            Self::Forbidden
            | Self::RoleNotSelfService
            | Self::AdminOnlyField
            | Self::UserSuspended
            | Self::OwnRequest
            | Self::NotAConfirmer
            | Self::NotAllowedToRequest
            | Self::AccessNotApproved
            | Self::AccessNotStarted
            | Self::AccessWindowOver
            | Self::AccessAlreadyUsed
            | Self::RetrievalNotAllowed
            | Self::CorsRefused => 403,
            Self::NotFound => 404,
            Self::MethodNotAllowed => 405,
            Self::UsernameTaken
            | Self::EmailTaken
            | Self::LastAdmin
            | Self::RequestNotPending
            | Self::AlreadyDecided
            | Self::DuplicatePendingRequest
            | Self::KeyCompromised
            | Self::PolicyRefuses
            | Self::AlreadyRevoked
            | Self::CertificateExists
            | Self::SafeExists
            | Self::OverlappingRequest
            | Self::MissingSupervisors
            | Self::ConfirmationSettingsChanged
            | Self::NoSecretStored
            | Self::NotAnAccessRequest => 409,
            Self::PayloadTooLarge => 413,
            Self::UnsupportedMediaType => 415,
            Self::TooManyRequests => 429,
            Self::ServiceUnavailable => 503,
            Self::InternalError => 500,
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Every way a call can fail. The code says the status; the variants with data carry what the
/// response needs besides a sentence.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// 400 `validation_failed`: one or more fields are invalid; each is named.
    #[error("the request has invalid fields")]
    Validation(Vec<FieldError>),
    /// Any error that is a code and a sentence for the caller; built with [`AppError::new`].
    #[error("{detail}")]
    Refused { code: ErrorCode, detail: String },
    /// 405 `method_not_allowed`, with the methods the path accepts.
    #[error("this path does not accept that method")]
    MethodNotAllowed { allow: Vec<String> },
    /// 413 `payload_too_large`.
    #[error("the request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    /// 429 `too_many_requests`, with how long to wait.
    #[error("too many failed log-ins: try again in {retry_after_secs} seconds")]
    TooManyRequests { retry_after_secs: u64 },
    /// 503 `service_unavailable`: the database cannot be reached, or the service is saturated.
    /// Whoever makes one logs it, once, at WARN with its cause; the response is not logged again.
    #[error("{0}")]
    Unavailable(String),
    /// 500 `internal_error`: a bug or an unexpected failure. The cause is logged, never shown.
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    /// An error that is just its code and a sentence saying what went wrong.
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        // These have variants of their own, which carry what their answer needs (the invalid
        // fields, `Allow`, `Retry-After`) or keep the cause of a 500 out of the answer.
        debug_assert!(
            !matches!(
                code,
                ErrorCode::ValidationFailed
                    | ErrorCode::MethodNotAllowed
                    | ErrorCode::PayloadTooLarge
                    | ErrorCode::TooManyRequests
                    | ErrorCode::ServiceUnavailable
                    | ErrorCode::InternalError
            ),
            "{code} has an AppError variant of its own"
        );
        Self::Refused {
            code,
            detail: detail.into(),
        }
    }

    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError::new(field, message)])
    }

    /// The HTTP status this error answers with.
    pub fn status(&self) -> u16 {
        self.code().status()
    }

    /// The stable, machine-readable code clients branch on.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Validation(_) => ErrorCode::ValidationFailed,
            Self::Refused { code, .. } => *code,
            Self::MethodNotAllowed { .. } => ErrorCode::MethodNotAllowed,
            Self::PayloadTooLarge { .. } => ErrorCode::PayloadTooLarge,
            Self::TooManyRequests { .. } => ErrorCode::TooManyRequests,
            Self::Unavailable(_) => ErrorCode::ServiceUnavailable,
            Self::Internal(_) => ErrorCode::InternalError,
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
            // The one line this 503 gets: the cause is known here, and the response is not
            // logged again (see `api::problem`).
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
                tracing::warn!(%at, "the CA certificate has expired");
                Self::Unavailable(format!("the CA certificate expired at {at}"))
            }
            other => Self::Internal(format!("pki: {other}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// README's error table lists every code, in the row of its status, and nothing else.
    #[test]
    fn the_readme_lists_every_error_code_with_its_status() {
        let readme = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"));
        let section = &readme[readme
            .find("### Errors and HTTP behaviour")
            .expect("section")..];
        let mut documented = Vec::new();
        for line in section
            .lines()
            .skip_while(|l| !l.starts_with("| Status"))
            .skip(2)
        {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            if cells.len() < 3 {
                break;
            }
            let status: u16 = cells[1].parse().expect("a status");
            for code in cells[2].split(',').map(|c| c.trim().trim_matches('`')) {
                documented.push((status, code.to_owned()));
            }
        }
        let expected: Vec<(u16, String)> = ErrorCode::ALL
            .iter()
            .map(|code| (code.status(), code.as_str().to_owned()))
            .collect();
        for entry in &expected {
            assert!(documented.contains(entry), "README does not list {entry:?}");
        }
        for entry in &documented {
            assert!(
                expected.contains(entry),
                "README lists {entry:?}, which is no code"
            );
        }
    }

    #[test]
    #[should_panic(expected = "internal_error has an AppError variant of its own")]
    fn a_code_with_a_variant_of_its_own_is_not_built_with_new() {
        let _ = AppError::new(ErrorCode::InternalError, "the cause would reach the client");
    }

    #[test]
    fn every_code_is_listed_once() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            assert!(seen.insert(code.as_str()), "{code} twice");
        }
    }
}
