//! What can go wrong with a key or an envelope. Messages name the key by its id, never by its
//! bytes, and never hold plaintext.

/// Why a key could not be read, or a secret could not be sealed or opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretsError {
    /// A configured master key is not 32 bytes written as 64 hexadecimal digits.
    #[error(
        "a secrets key must be 64 hexadecimal digits (32 bytes), e.g. `openssl rand -hex 32`: {0}"
    )]
    InvalidKey(&'static str),
    /// The data key is wrapped by a master key the service was not given.
    #[error(
        "the data key is wrapped by master key {key_id}, which is not configured \
         (REQUESTDESK_SECRETS_KEY or REQUESTDESK_SECRETS_OLD_KEYS)"
    )]
    UnknownKey { key_id: String },
    /// Authentication failed: a wrong key under a known id, or a row altered or moved.
    #[error(
        "the {what} of account {account_id} does not open under master key {key_id}: the row was \
         altered or copied from another account"
    )]
    DoesNotOpen {
        what: &'static str,
        account_id: i64,
        key_id: String,
    },
    /// A stored envelope has fields of the wrong length.
    #[error("the stored envelope of account {account_id} is malformed: {detail}")]
    Malformed {
        account_id: i64,
        detail: &'static str,
    },
    /// The operating system's random generator failed.
    #[error("the system random generator failed")]
    Random,
}
