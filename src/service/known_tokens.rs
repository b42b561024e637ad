//! Access tokens this instance has already verified, so that the next request presenting the
//! same token pays a hash lookup instead of base64, HMAC and a JSON parse again (about 48,000
//! instructions, 6.5% of a dashboard). Only a token that passed every check enters, keyed by its
//! whole text: a token differing by one byte is a miss and is verified in full. A hit still
//! checks the expiry, as verification does (no leeway). The session behind a token is not
//! cached: every request still checks it in the database.

use std::collections::HashMap;
use std::sync::Mutex;

/// At most this many tokens are kept (a few hundred bytes each). Full, the expired ones are
/// dropped, and if none had expired the map is emptied: each entry costs a log-in to make, so a
/// client cannot churn it faster than log-ins are hashed, and a miss only costs a verification.
pub const CAPACITY: usize = 4096;

/// What a verified token said, as a request needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownToken {
    pub username: String,
    pub session_id: String,
    /// Seconds since the epoch; the token is valid up to and including this second.
    pub expires_at: i64,
}

impl KnownToken {
    /// Whether the token has not expired at `now` (seconds since the epoch; no leeway).
    pub fn is_live_at(&self, now: i64) -> bool {
        now <= self.expires_at
    }
}

#[derive(Default)]
pub struct KnownTokens {
    tokens: Mutex<HashMap<Box<str>, KnownToken>>,
}

/// The keys are bearer tokens: a debug print shows how many, never which.
impl std::fmt::Debug for KnownTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KnownTokens")
            .field("count", &self.lock().len())
            .finish()
    }
}

impl KnownTokens {
    /// The claims of `token` if it was verified before and has not expired at `now` (seconds
    /// since the epoch). An expired one is forgotten.
    pub fn get(&self, token: &str, now: i64) -> Option<KnownToken> {
        let mut tokens = self.lock();
        let known = tokens.get(token)?;
        if !known.is_live_at(now) {
            tokens.remove(token);
            return None;
        }
        Some(known.clone())
    }

    /// Remembers a token that has just passed verification at `now` (seconds since the epoch).
    pub fn insert(&self, token: &str, known: KnownToken, now: i64) {
        let mut tokens = self.lock();
        if tokens.len() >= CAPACITY {
            tokens.retain(|_, kept| kept.is_live_at(now));
            if tokens.len() >= CAPACITY {
                tokens.clear();
            }
        }
        tokens.insert(token.into(), known);
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Box<str>, KnownToken>> {
        // A panic while holding the lock cannot leave the map half-changed in a way that
        // matters: every entry in it was verified.
        self.tokens
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known(expires_at: i64) -> KnownToken {
        KnownToken {
            username: "alice".to_owned(),
            session_id: "s1".to_owned(),
            expires_at,
        }
    }

    #[test]
    fn a_known_token_is_found_until_its_last_second() {
        let tokens = KnownTokens::default();
        tokens.insert("a.b.c", known(100), 0);
        assert_eq!(tokens.get("a.b.c", 99), Some(known(100)));
        assert_eq!(tokens.get("a.b.c", 100), Some(known(100)));
        assert_eq!(tokens.get("a.b.c", 101), None);
        assert!(tokens.is_empty(), "an expired token is forgotten");
    }

    #[test]
    fn only_the_exact_text_is_known() {
        let tokens = KnownTokens::default();
        tokens.insert("a.b.c", known(100), 0);
        assert_eq!(tokens.get("a.b.d", 0), None);
        assert_eq!(tokens.get("a.b.c ", 0), None);
        assert_eq!(tokens.get("A.b.c", 0), None);
    }

    #[test]
    fn the_map_never_holds_more_than_its_capacity() {
        let tokens = KnownTokens::default();
        for i in 0..CAPACITY * 2 + 7 {
            tokens.insert(&format!("token-{i}"), known(100), 0);
            assert!(tokens.len() <= CAPACITY);
        }
        assert_eq!(
            tokens.get(&format!("token-{}", CAPACITY * 2 + 6), 0),
            Some(known(100))
        );
    }

    #[test]
    fn full_it_drops_the_expired_first_and_keeps_the_live() {
        let tokens = KnownTokens::default();
        for i in 0..CAPACITY - 1 {
            tokens.insert(&format!("old-{i}"), known(50), 0);
        }
        tokens.insert("live", known(100), 0);
        tokens.insert("new", known(100), 60);
        assert_eq!(
            tokens.len(),
            2,
            "the expired dropped, the live and the new kept"
        );
        assert_eq!(tokens.get("live", 60), Some(known(100)));
        assert_eq!(tokens.get("new", 60), Some(known(100)));
    }

    #[test]
    fn a_debug_print_shows_no_token() {
        let tokens = KnownTokens::default();
        tokens.insert("secret.token.text", known(100), 0);
        let printed = format!("{tokens:?}");
        assert!(!printed.contains("secret"), "{printed}");
        assert!(printed.contains("count: 1"), "{printed}");
    }
}
