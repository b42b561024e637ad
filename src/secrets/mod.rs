//! Secrets encrypted at rest: the master keys and the envelope around each account's secret.
//! Knows nothing of HTTP or databases; `service::secrets` stores what this module seals.
//!
//! Each secret is sealed with AES-256-GCM under a data key of its own, drawn at random; the data
//! key is wrapped (AES-256-GCM again) by a master key. The account's id is associated data of
//! both, and the master key's id of the wrap, so a ciphertext copied onto another account's row
//! does not open. Rotating the master key re-wraps the data keys only: the secrets' ciphertexts
//! stay as they are. Plaintext lives in [`SecretText`] and key bytes in `Zeroizing` buffers,
//! wiped when dropped; no `Debug` output shows either.

mod envelope;
mod error;
mod key;

pub use envelope::{SealedSecret, SecretText, SecretType, open, rewrap, seal};
pub use error::SecretsError;
pub use key::{KeyId, KeyRing, MasterKey};

/// The most bytes a secret may hold.
pub const MAX_SECRET_BYTES: usize = 8 * 1024;

/// The file in the data directory that holds the generated master key of the embedded database.
pub const SECRETS_KEY_FILE: &str = "secrets-key";
