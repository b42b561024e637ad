//! Password hashing with bcrypt. Callers run these on a blocking thread: a hash costs tens to
//! hundreds of milliseconds by design.

use crate::domain::user::Password;
use crate::error::AppError;

/// Hashes and verifies passwords at one configured cost.
pub struct PasswordHasher {
    cost: u32,
    /// Verified against when the user is unknown, so a log-in takes as long either way.
    dummy_hash: String,
}

impl PasswordHasher {
    pub fn new(cost: u32) -> Result<Self, AppError> {
        let dummy_hash = bcrypt::hash("requestdesk timing equaliser", cost)
            .map_err(|e| AppError::Internal(format!("bcrypt: {e}")))?;
        Ok(Self { cost, dummy_hash })
    }

    pub fn hash(&self, password: &Password) -> Result<String, AppError> {
        bcrypt::hash(password.expose(), self.cost)
            .map_err(|e| AppError::Internal(format!("bcrypt: {e}")))
    }

    /// Whether `candidate` matches `hash`. With no hash (unknown user) it still spends the time of
    /// one verification and answers false. Candidates over bcrypt's 72 bytes never match, rather
    /// than matching on their first 72 bytes.
    pub fn verify(&self, candidate: &str, hash: Option<&str>) -> bool {
        let within_limit = candidate.len() <= Password::MAX_BYTES;
        let checked = bcrypt::verify(candidate, hash.unwrap_or(&self.dummy_hash)).unwrap_or(false);
        within_limit && hash.is_some() && checked
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let hasher = PasswordHasher::new(4).expect("hasher");
        let password = Password::parse("password", "correct horse").expect("valid");
        let hash = hasher.hash(&password).expect("hash");
        assert!(hasher.verify("correct horse", Some(&hash)));
        assert!(!hasher.verify("wrong horse", Some(&hash)));
        assert!(!hasher.verify("correct horse", None));
    }

    #[test]
    fn a_candidate_longer_than_72_bytes_never_matches_its_prefix() {
        let hasher = PasswordHasher::new(4).expect("hasher");
        let prefix = "x".repeat(72);
        let hash = hasher
            .hash(&Password::parse("password", &prefix).expect("valid"))
            .expect("hash");
        assert!(!hasher.verify(&format!("{prefix}yz"), Some(&hash)));
    }
}
