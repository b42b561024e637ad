//! Validated values and enums of the domain. Constructing one proves it is valid, so the layers
//! above never re-check.

pub mod access;
pub mod certificate;
pub mod pagination;
pub mod request;
pub mod time;
pub mod user;

use serde::Serialize;
use utoipa::ToSchema;

/// One invalid input field and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    /// The field at fault, as a JSON path (`email`, `role`, `page`).
    #[schema(example = "email")]
    pub field: String,
    /// What the field must be.
    #[schema(example = "must be a valid e-mail address")]
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}
