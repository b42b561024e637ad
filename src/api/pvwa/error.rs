//! The error body of every failure under `/PasswordVault/API` and the table from native error
//! codes to PVWA's `ErrorCode`s.

use std::fmt;

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{StatusCode, header::ContentType};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

use super::convert::pvwa_field;
use crate::error::{AppError, ErrorCode};

/// A failure, as PVWA answers it: `{"ErrorCode","ErrorMessage"}` with the HTTP status.
#[derive(Debug)]
pub struct PvwaError {
    pub(super) status: u16,
    pub(super) code: &'static str,
    message: String,
    /// `Retry-After` or `Allow`, when the native error carries one.
    header: Option<(header::HeaderName, String)>,
}

/// The error body of every failure under `/PasswordVault/API`.
#[derive(Serialize, serde::Deserialize, ToSchema)]
#[schema(example = json!({"ErrorCode": "RQDWS012E", "ErrorMessage": "no request Finance_42"}))]
pub struct PvwaErrorBody {
    /// A stable code to branch on (see the README's table).
    #[serde(rename = "ErrorCode")]
    #[schema(rename = "ErrorCode")]
    pub error_code: String,
    #[serde(rename = "ErrorMessage")]
    #[schema(rename = "ErrorMessage")]
    pub error_message: String,
}

/// The PVWA `ErrorCode` of each native code; the README documents this table.
fn pvwa_code(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::ValidationFailed => "RQDWS001E",
        ErrorCode::MalformedJson | ErrorCode::UnreadableBody => "RQDWS002E",
        ErrorCode::Unauthorized => "RQDWS003E",
        ErrorCode::InvalidCredentials => "RQDWS004E",
        ErrorCode::UserSuspended => "RQDWS005E",
        ErrorCode::Forbidden
        | ErrorCode::RoleNotSelfService
        | ErrorCode::AdminOnlyField
        | ErrorCode::CorsRefused => "RQDWS006E",
        ErrorCode::NotAConfirmer => "RQDWS007E",
        ErrorCode::OwnRequest => "RQDWS008E",
        ErrorCode::NotAllowedToRequest => "RQDWS009E",
        ErrorCode::NotFound => "RQDWS010E",
        ErrorCode::MethodNotAllowed => "RQDWS011E",
        ErrorCode::RequestNotPending => "RQDWS012E",
        ErrorCode::AlreadyDecided => "RQDWS013E",
        ErrorCode::OverlappingRequest => "RQDWS014E",
        ErrorCode::MissingSupervisors => "RQDWS015E",
        ErrorCode::UsernameTaken
        | ErrorCode::EmailTaken
        | ErrorCode::LastAdmin
        | ErrorCode::DuplicatePendingRequest
        | ErrorCode::KeyCompromised
        | ErrorCode::PolicyRefuses
        | ErrorCode::AlreadyRevoked
        | ErrorCode::CertificateExists
        | ErrorCode::SafeExists
        | ErrorCode::ConfirmationSettingsChanged
        | ErrorCode::NotAnAccessRequest => "RQDWS016E",
        ErrorCode::PayloadTooLarge => "RQDWS017E",
        ErrorCode::UnsupportedMediaType => "RQDWS018E",
        ErrorCode::TooManyRequests => "RQDWS019E",
        ErrorCode::ServiceUnavailable => "RQDWS020E",
        ErrorCode::InternalError => "RQDWS021E",
        // The retrieval refusals, numbered from 30 so other additions keep the range below.
        ErrorCode::AccessNotApproved => "RQDWS030E",
        ErrorCode::AccessNotStarted => "RQDWS031E",
        ErrorCode::AccessWindowOver => "RQDWS032E",
        ErrorCode::AccessAlreadyUsed => "RQDWS033E",
        ErrorCode::RetrievalNotAllowed => "RQDWS034E",
        ErrorCode::NoSecretStored => "RQDWS035E",
    }
}

impl PvwaError {
    /// The body this error answers with.
    pub(super) fn body(&self) -> PvwaErrorBody {
        PvwaErrorBody {
            error_code: self.code.to_owned(),
            error_message: self.message.clone(),
        }
    }

    pub(super) fn invalid(errors: Vec<crate::domain::FieldError>) -> Self {
        Self::from(AppError::Validation(errors))
    }
}

impl From<&AppError> for PvwaError {
    fn from(error: &AppError) -> Self {
        let status = error.status();
        let code = pvwa_code(error.code());
        let message = match error {
            AppError::Validation(errors) => errors
                .iter()
                .map(|e| format!("{}: {}", pvwa_field(&e.field), e.message))
                .collect::<Vec<_>>()
                .join("; "),
            other => other.detail(),
        };
        let header = match error {
            AppError::TooManyRequests { retry_after_secs } => {
                Some((header::RETRY_AFTER, retry_after_secs.to_string()))
            }
            AppError::Unavailable(_) => Some((header::RETRY_AFTER, "1".to_owned())),
            AppError::MethodNotAllowed { allow } => Some((header::ALLOW, allow.join(", "))),
            _ => None,
        };
        if status >= 500 {
            tracing::error!(%error, code, "request failed");
        }
        Self {
            status,
            code,
            message,
            header,
        }
    }
}

impl From<AppError> for PvwaError {
    fn from(error: AppError) -> Self {
        Self::from(&error)
    }
}

impl fmt::Display for PvwaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.code, self.message)
    }
}

impl ResponseError for PvwaError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header(ContentType::json());
        if let Some((name, value)) = &self.header
            && let Ok(value) = HeaderValue::from_str(value)
        {
            response.insert_header((name.clone(), value));
        }
        response.json(self.body())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An error with `code`, built the way the service builds one.
    fn an_error_with(code: ErrorCode) -> AppError {
        match code {
            ErrorCode::ValidationFailed => AppError::validation("field", "x"),
            ErrorCode::MethodNotAllowed => AppError::MethodNotAllowed { allow: vec![] },
            ErrorCode::PayloadTooLarge => AppError::PayloadTooLarge { limit: 1 },
            ErrorCode::TooManyRequests => AppError::TooManyRequests {
                retry_after_secs: 1,
            },
            ErrorCode::ServiceUnavailable => AppError::Unavailable("x".to_owned()),
            ErrorCode::InternalError => AppError::Internal("x".to_owned()),
            other => AppError::new(other, "x"),
        }
    }

    /// Every native code maps to a PVWA code that README's PVWA table lists with the same status.
    #[test]
    fn every_native_error_code_has_a_documented_pvwa_code() {
        let readme = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"));
        let documented: Vec<(u16, &str)> = readme
            .lines()
            .filter_map(|line| {
                let cells: Vec<&str> = line.split('|').map(str::trim).collect();
                let code = cells.get(2)?.strip_prefix("`RQDWS")?.strip_suffix('`')?;
                Some((cells[1].parse().ok()?, &line[line.find("RQDWS")?..][..9]))
                    .filter(|_| !code.is_empty())
            })
            .collect();
        for code in ErrorCode::ALL {
            let error = PvwaError::from(an_error_with(code));
            assert_eq!(error.status, code.status(), "{code}");
            assert!(
                documented.contains(&(error.status, error.code)),
                "{code} answers {} {}, which README's PVWA table does not list",
                error.status,
                error.code
            );
        }
    }
}
