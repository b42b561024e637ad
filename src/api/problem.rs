//! RFC 9457 problem details: how every [`AppError`] reaches the client, and the reusable error
//! responses the OpenAPI document refers to.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::{ToResponse, ToSchema};

use crate::domain::FieldError;
use crate::error::{AppError, ErrorCode};

pub const PROBLEM_JSON: &str = "application/problem+json";

/// An RFC 9457 problem: every error response has this shape.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "type": "urn:requestdesk:problem:validation_failed",
    "title": "Bad Request",
    "status": 400,
    "detail": "the request has invalid fields",
    "code": "validation_failed",
    "errors": [{"field": "email", "message": "must be a valid e-mail address"}]
}))]
pub struct Problem {
    /// A URI naming the kind of problem: `urn:requestdesk:problem:<code>`.
    #[serde(rename = "type")]
    pub problem_type: String,
    /// The HTTP status phrase.
    pub title: String,
    pub status: u16,
    /// What went wrong, for a human.
    pub detail: String,
    /// A stable, machine-readable code to branch on.
    pub code: String,
    /// For validation failures: each invalid field and what is wrong with it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldError>>,
}

impl Problem {
    pub fn from_error(error: &AppError) -> Self {
        let status =
            StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        Self {
            problem_type: format!("urn:requestdesk:problem:{}", error.code()),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: error.detail(),
            code: error.code().as_str().to_owned(),
            errors: match error {
                AppError::Validation(errors) => Some(errors.clone()),
                _ => None,
            },
        }
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        // A 503 was logged at WARN, with its cause, where it was made: once is enough.
        if let AppError::Internal(_) = self {
            tracing::error!(error = %self, code = %self.code(), "request failed");
        }
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header((header::CONTENT_TYPE, PROBLEM_JSON));
        match self {
            AppError::Refused {
                code: ErrorCode::Unauthorized,
                ..
            } => {
                response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
            }
            AppError::TooManyRequests { retry_after_secs } => {
                response.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
            }
            AppError::Unavailable(_) => {
                response.insert_header((header::RETRY_AFTER, "1"));
            }
            AppError::MethodNotAllowed { allow } => {
                if let Ok(value) = HeaderValue::from_str(&allow.join(", ")) {
                    response.insert_header((header::ALLOW, value));
                }
            }
            _ => {}
        }
        response.body(serde_json::to_string(&Problem::from_error(self)).unwrap_or_default())
    }
}

#[rustfmt::skip] // rustfmt re-indents attributes inside this macro on every run
macro_rules! problem_response {
    ($name:ident, $status:literal, $title:literal, $code:literal, $description:literal) => {
        #[doc = $description]
        #[derive(ToResponse)]
        #[response(
            description = $description,
            content_type = "application/problem+json",
            example = json!({
                "type": concat!("urn:requestdesk:problem:", $code),
                "title": $title,
                "status": $status,
                "detail": $description,
                "code": $code
            })
        )]
        #[expect(dead_code, reason = "exists only to document the response")]
        pub struct $name(Problem);
    };
}

problem_response!(
    BadRequest,
    400,
    "Bad Request",
    "validation_failed",
    "The input is invalid: each invalid field is named in `errors`."
);
problem_response!(
    Unauthorized,
    401,
    "Unauthorized",
    "unauthorized",
    "No valid access token: missing, malformed, expired, or its session has ended."
);
problem_response!(
    InvalidCredentials,
    401,
    "Unauthorized",
    "invalid_credentials",
    "The username or password is incorrect: the same answer for an unknown user and a wrong password."
);
problem_response!(
    Forbidden,
    403,
    "Forbidden",
    "forbidden",
    "Authenticated, but not allowed to do this."
);
problem_response!(
    UserSuspended,
    403,
    "Forbidden",
    "user_suspended",
    "The account is suspended: it cannot log in until an administrator reactivates it."
);
problem_response!(NotFound, 404, "Not Found", "not_found", "No such resource.");
problem_response!(
    Conflict,
    409,
    "Conflict",
    "conflict",
    "The resource's current state forbids this change."
);
problem_response!(
    PayloadTooLarge,
    413,
    "Payload Too Large",
    "payload_too_large",
    "The request body is larger than 64 KiB."
);
problem_response!(
    UnsupportedMediaType,
    415,
    "Unsupported Media Type",
    "unsupported_media_type",
    "The request body must be application/json."
);
problem_response!(
    TooManyRequests,
    429,
    "Too Many Requests",
    "too_many_requests",
    "Too many failed log-ins for this username: wait for Retry-After seconds."
);
problem_response!(
    ServiceUnavailable,
    503,
    "Service Unavailable",
    "service_unavailable",
    "The database is unreachable or the service is saturated: retry shortly."
);

/// Client errors answered by the HTTP layer before any handler runs, for operations that have no
/// other 4xx: they have no problem body.
#[derive(ToResponse)]
#[response(
    description = "The HTTP layer refused the request before the service saw it: malformed HTTP \
        (400) or header fields too large (431). No body."
)]
pub struct MalformedRequest;

/// The refusals of a use or a retrieval: one code for each reason.
#[derive(ToResponse)]
#[response(
    description = "No usable access: `access_not_approved` (no approved request: waiting, \
        rejected, expired, cancelled or made invalid), `access_not_started` (the window has not \
        started), `access_window_over`, `access_already_used` (a one-time access was spent), or \
        `not_allowed_to_request` (the requester may no longer request in the safe).",
    content_type = "application/problem+json",
    examples(
        ("access_already_used" = (value = json!({
            "type": "urn:requestdesk:problem:access_already_used",
            "title": "Forbidden",
            "status": 403,
            "detail": "this one-time access has already been used",
            "code": "access_already_used"
        }))),
        ("access_not_started" = (value = json!({
            "type": "urn:requestdesk:problem:access_not_started",
            "title": "Forbidden",
            "status": 403,
            "detail": "the access window has not started yet",
            "code": "access_not_started"
        }))),
        ("access_window_over" = (value = json!({
            "type": "urn:requestdesk:problem:access_window_over",
            "title": "Forbidden",
            "status": 403,
            "detail": "the access window is over",
            "code": "access_window_over"
        }))),
        ("access_not_approved" = (value = json!({
            "type": "urn:requestdesk:problem:access_not_approved",
            "title": "Forbidden",
            "status": 403,
            "detail": "the request is not approved yet",
            "code": "access_not_approved"
        })))
    )
)]
#[expect(dead_code, reason = "exists only to document the response")]
pub struct AccessRefused(Problem);
