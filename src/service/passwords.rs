//! Password hashing with bcrypt. Callers run these on a blocking thread: a hash costs tens to
//! hundreds of milliseconds by design.

use crate::domain::user::Password;
use crate::error::AppError;

/// The salt and digest of `bcrypt("requestdesk timing equaliser")` at cost 4. Put behind any
/// cost, it is a well-formed hash that costs a verification of that cost and matches nothing
/// (the digest is of cost 4): the dummy needs no hashing at start-up (250 ms at cost 12).
const DUMMY_SALT_AND_DIGEST: &str = "requestdeskdummysalt..q3gKjq5CcUBwaOdGp8LslH64.liKCnW";

/// Hashes and verifies passwords at one configured cost.
pub struct PasswordHasher {
    cost: u32,
    /// Verified against when the user is unknown, so a log-in takes as long either way.
    dummy_hash: String,
}

impl PasswordHasher {
    pub fn new(cost: u32) -> Result<Self, AppError> {
        if !(4..=31).contains(&cost) {
            return Err(AppError::Internal(format!("bcrypt: invalid cost {cost}")));
        }
        Ok(Self {
            cost,
            dummy_hash: format!("$2b${cost:02}${DUMMY_SALT_AND_DIGEST}"),
        })
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
    fn the_dummy_hash_is_well_formed_and_matches_nothing() {
        let equaliser = "requestdesk timing equaliser";
        assert_eq!(
            bcrypt::verify(equaliser, &format!("$2b$04${DUMMY_SALT_AND_DIGEST}")).ok(),
            Some(true),
            "the constant is the cost-4 hash of the equaliser"
        );
        for cost in [5, 8] {
            let hasher = PasswordHasher::new(cost).expect("hasher");
            // Ok(false), not an error: an error would answer at once and reveal the user is unknown.
            assert_eq!(
                bcrypt::verify(equaliser, &hasher.dummy_hash).ok(),
                Some(false)
            );
            assert!(!hasher.verify(equaliser, None));
        }
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
