//! The reason a requester or confirmer gives. Leaf module: it imports nothing of the package.

use crate::domain::FieldError;

const MAX_REASON_CHARS: usize = 2000;

/// A reason that says something: trimmed, `min_chars` to 2000 characters.
pub(super) fn parse_reason(reason: &str, min_chars: usize) -> Result<String, FieldError> {
    let trimmed = reason.trim();
    let length = trimmed.chars().count();
    if length < min_chars || length > MAX_REASON_CHARS {
        return Err(FieldError::new(
            "reason",
            format!("must be {min_chars} to {MAX_REASON_CHARS} characters once trimmed"),
        ));
    }
    Ok(trimmed.to_owned())
}
