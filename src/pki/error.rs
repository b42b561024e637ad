//! Error types of the `pki` module: a field-tagged [`ValidationError`] for
//! problems with caller-supplied input, and [`PkiError`] for everything else.

use std::fmt;
use std::path::PathBuf;

/// Input rejected by a validation rule.
///
/// `field` names the input at fault (e.g. `"csr.public_key"`,
/// `"validity_days"`, `"pem"`) so that an HTTP layer can map it to a
/// field-level error; `message` is a human sentence naming the exact value at
/// fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationError {
    pub field: &'static str,
    pub message: String,
}

/// The error type of [`crate::pki::parse_csr`]; the same struct as
/// [`ValidationError`].
pub type CsrError = ValidationError;

impl ValidationError {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl std::error::Error for ValidationError {}

/// Any failure of a CA operation.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    /// Caller-supplied input broke a rule (maps to a 4xx response).
    #[error(transparent)]
    Validation(#[from] ValidationError),
    /// The CA certificate or key is unusable.
    #[error("invalid CA: {0}")]
    InvalidCa(String),
    /// The CA certificate has expired, so nothing can be issued.
    #[error("the CA certificate expired at {0}")]
    CaExpired(chrono::DateTime<chrono::Utc>),
    /// rcgen failed to build or sign a structure.
    #[error("certificate encoding failed: {0}")]
    Encoding(#[from] rcgen::Error),
    /// A timestamp cannot be represented in a certificate.
    #[error("time out of range: {0}")]
    TimeOutOfRange(String),
    /// Reading or writing CA files failed.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl PkiError {
    /// The offending input field, when the error is the caller's fault.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            Self::Validation(e) => Some(e.field),
            _ => None,
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}

/// Result alias for CA operations.
pub type Result<T, E = PkiError> = std::result::Result<T, E>;
