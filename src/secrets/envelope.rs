//! The envelope: a secret sealed under its own data key, the data key wrapped by a master key.
//!
//! Both layers are AES-256-GCM with a random 96-bit nonce. A data key seals exactly one secret
//! (a replaced secret gets a new one), and a master key only wraps 32-byte data keys, so random
//! nonces stay far below GCM's limits. The associated data binds the secret to its account and
//! type, and the wrapped data key to its account and master key id.

use std::fmt;

use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Deserializer, Serialize};
use zeroize::{Zeroize, Zeroizing};

use super::{KeyId, KeyRing, MasterKey, SecretsError};

/// What a secret is, stored beside it and bound to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SecretType {
    Password,
    Key,
}

impl SecretType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Password => "password",
            Self::Key => "key",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "password" => Some(Self::Password),
            "key" => Some(Self::Key),
            _ => None,
        }
    }
}

/// A secret in the clear: wiped from memory when dropped, `<redacted>` in `Debug` output.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretText(Zeroizing<String>);

impl SecretText {
    pub fn new(value: String) -> Self {
        Self(Zeroizing::new(value))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl<'de> Deserialize<'de> for SecretText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self::new)
    }
}

/// A sealed secret as it is stored. Nothing in it is secret without a master key; `Debug` shows
/// only the key id, the type and the lengths.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedSecret {
    /// The id of the master key that wraps the data key.
    pub key_id: String,
    /// The data key, wrapped: 32 bytes and a 16-byte tag.
    pub wrapped_key: Vec<u8>,
    pub key_nonce: Vec<u8>,
    pub secret_nonce: Vec<u8>,
    /// The secret, sealed under the data key, with its tag.
    pub ciphertext: Vec<u8>,
    pub secret_type: SecretType,
}

impl fmt::Debug for SealedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealedSecret")
            .field("key_id", &self.key_id)
            .field("secret_type", &self.secret_type)
            .field("ciphertext_len", &self.ciphertext.len())
            .finish_non_exhaustive()
    }
}

/// Seals `secret` for `account_id` under a new data key wrapped by the ring's current key.
pub fn seal(
    ring: &KeyRing,
    account_id: i64,
    secret_type: SecretType,
    secret: &SecretText,
) -> Result<SealedSecret, SecretsError> {
    let rng = SystemRandom::new();
    let mut data_key = Zeroizing::new([0_u8; 32]);
    rng.fill(data_key.as_mut())
        .map_err(|_| SecretsError::Random)?;
    let secret_nonce = random_nonce(&rng)?;
    let mut ciphertext = secret.expose().as_bytes().to_vec();
    aead_key(&data_key)?
        .seal_in_place_append_tag(
            Nonce::assume_unique_for_key(secret_nonce),
            Aad::from(secret_aad(account_id, secret_type)),
            &mut ciphertext,
        )
        .map_err(|_| SecretsError::Random)?;
    let (wrapped_key, key_nonce) = wrap(&rng, ring.current(), account_id, &data_key)?;
    Ok(SealedSecret {
        key_id: ring.current().id().to_string(),
        wrapped_key,
        key_nonce: key_nonce.to_vec(),
        secret_nonce: secret_nonce.to_vec(),
        ciphertext,
        secret_type,
    })
}

/// Opens the secret sealed for `account_id`. A key the ring lacks, a wrong key or a row altered
/// or moved is an error naming the account and the key id; never garbage.
pub fn open(
    ring: &KeyRing,
    account_id: i64,
    sealed: &SealedSecret,
) -> Result<SecretText, SecretsError> {
    let data_key = unwrap(ring, account_id, sealed)?;
    let nonce = nonce_of(account_id, &sealed.secret_nonce)?;
    let mut buffer = Zeroizing::new(sealed.ciphertext.clone());
    let length = aead_key(&data_key)?
        .open_in_place(
            nonce,
            Aad::from(secret_aad(account_id, sealed.secret_type)),
            &mut buffer,
        )
        .map_err(|_| SecretsError::DoesNotOpen {
            what: "secret",
            account_id,
            key_id: sealed.key_id.clone(),
        })?
        .len();
    buffer.truncate(length);
    match String::from_utf8(std::mem::take(&mut *buffer)) {
        Ok(text) => Ok(SecretText::new(text)),
        Err(error) => {
            error.into_bytes().zeroize();
            Err(SecretsError::Malformed {
                account_id,
                detail: "the secret is not UTF-8",
            })
        }
    }
}

/// The same secret with its data key re-wrapped under `to`; the secret's ciphertext is kept.
pub fn rewrap(
    ring: &KeyRing,
    account_id: i64,
    sealed: &SealedSecret,
    to: &MasterKey,
) -> Result<SealedSecret, SecretsError> {
    let data_key = unwrap(ring, account_id, sealed)?;
    let (wrapped_key, key_nonce) = wrap(&SystemRandom::new(), to, account_id, &data_key)?;
    Ok(SealedSecret {
        key_id: to.id().to_string(),
        wrapped_key,
        key_nonce: key_nonce.to_vec(),
        ..sealed.clone()
    })
}

fn wrap(
    rng: &SystemRandom,
    master: &MasterKey,
    account_id: i64,
    data_key: &[u8; 32],
) -> Result<(Vec<u8>, [u8; NONCE_LEN]), SecretsError> {
    let nonce = random_nonce(rng)?;
    let mut wrapped = data_key.to_vec();
    aead_key(master.bytes())?
        .seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(key_aad(account_id, master.id().as_str())),
            &mut wrapped,
        )
        .map_err(|_| SecretsError::Random)?;
    Ok((wrapped, nonce))
}

fn unwrap(
    ring: &KeyRing,
    account_id: i64,
    sealed: &SealedSecret,
) -> Result<Zeroizing<[u8; 32]>, SecretsError> {
    let master = ring
        .find(&KeyId::from_stored(&sealed.key_id))
        .ok_or_else(|| SecretsError::UnknownKey {
            key_id: sealed.key_id.clone(),
        })?;
    let nonce = nonce_of(account_id, &sealed.key_nonce)?;
    let mut buffer = Zeroizing::new(sealed.wrapped_key.clone());
    let opened = aead_key(master.bytes())?
        .open_in_place(
            nonce,
            Aad::from(key_aad(account_id, &sealed.key_id)),
            &mut buffer,
        )
        .map_err(|_| SecretsError::DoesNotOpen {
            what: "data key",
            account_id,
            key_id: sealed.key_id.clone(),
        })?;
    let mut data_key = Zeroizing::new([0_u8; 32]);
    if opened.len() != data_key.len() {
        return Err(SecretsError::Malformed {
            account_id,
            detail: "the data key is not 32 bytes",
        });
    }
    data_key.copy_from_slice(opened);
    Ok(data_key)
}

fn aead_key(bytes: &[u8; 32]) -> Result<LessSafeKey, SecretsError> {
    UnboundKey::new(&AES_256_GCM, bytes)
        .map(LessSafeKey::new)
        .map_err(|_| SecretsError::InvalidKey("not an AES-256 key"))
}

fn random_nonce(rng: &SystemRandom) -> Result<[u8; NONCE_LEN], SecretsError> {
    let mut nonce = [0_u8; NONCE_LEN];
    rng.fill(&mut nonce).map_err(|_| SecretsError::Random)?;
    Ok(nonce)
}

fn nonce_of(account_id: i64, stored: &[u8]) -> Result<Nonce, SecretsError> {
    Nonce::try_assume_unique_for_key(stored).map_err(|_| SecretsError::Malformed {
        account_id,
        detail: "a nonce is not 12 bytes",
    })
}

fn secret_aad(account_id: i64, secret_type: SecretType) -> Vec<u8> {
    format!(
        "requestdesk secret v1\0account {account_id}\0type {}",
        secret_type.as_str()
    )
    .into_bytes()
}

fn key_aad(account_id: i64, key_id: &str) -> Vec<u8> {
    format!("requestdesk data key v1\0account {account_id}\0master key {key_id}").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> MasterKey {
        MasterKey::parse(&hex::encode([byte; 32])).expect("key")
    }

    fn ring(byte: u8) -> KeyRing {
        KeyRing::new(key(byte), [])
    }

    const PLAINTEXT: &str = "correct horse battery staple, the root password";

    fn secret() -> SecretText {
        SecretText::new(PLAINTEXT.to_owned())
    }

    fn contains(haystack: &[u8], needle: &[u8]) -> bool {
        haystack
            .windows(needle.len())
            .any(|window| window == needle)
    }

    #[test]
    fn a_sealed_secret_opens_for_its_account() {
        let ring = ring(1);
        let sealed = seal(&ring, 7, SecretType::Password, &secret()).expect("sealed");
        assert_eq!(sealed.key_id, ring.current().id().as_str());
        assert_eq!(open(&ring, 7, &sealed).expect("opened").expose(), PLAINTEXT);
    }

    #[test]
    fn the_stored_envelope_holds_no_plaintext_and_no_key() {
        let ring = ring(1);
        let sealed = seal(&ring, 7, SecretType::Password, &secret()).expect("sealed");
        for (name, field) in [
            ("ciphertext", &sealed.ciphertext),
            ("wrapped_key", &sealed.wrapped_key),
            ("key_nonce", &sealed.key_nonce),
            ("secret_nonce", &sealed.secret_nonce),
        ] {
            assert!(!contains(field, PLAINTEXT.as_bytes()), "{name}");
            assert!(!contains(field, b"correct horse"), "{name}");
            assert!(
                !contains(field, &[1_u8; 8]),
                "{name} holds master key bytes"
            );
        }
        assert!(!contains(sealed.key_id.as_bytes(), b"0101010101"));
        assert_eq!(sealed.ciphertext.len(), PLAINTEXT.len() + 16);
        let again = seal(&ring, 7, SecretType::Password, &secret()).expect("sealed");
        assert_ne!(
            sealed.ciphertext, again.ciphertext,
            "each seal has its own data key"
        );
    }

    #[test]
    fn a_ciphertext_swapped_between_accounts_does_not_open() {
        let ring = ring(1);
        let sealed = seal(&ring, 7, SecretType::Password, &secret()).expect("sealed");
        let other = seal(&ring, 8, SecretType::Password, &secret()).expect("sealed");
        assert!(matches!(
            open(&ring, 8, &sealed),
            Err(SecretsError::DoesNotOpen {
                what: "data key",
                account_id: 8,
                ..
            })
        ));
        // Only the secret's ciphertext moved, with a valid data key of the other row.
        let spliced = SealedSecret {
            ciphertext: sealed.ciphertext.clone(),
            secret_nonce: sealed.secret_nonce.clone(),
            ..other.clone()
        };
        assert!(matches!(
            open(&ring, 8, &spliced),
            Err(SecretsError::DoesNotOpen { what: "secret", .. })
        ));
        // The type is bound too: a password relabelled as a key does not open.
        let relabelled = SealedSecret {
            secret_type: SecretType::Key,
            ..sealed.clone()
        };
        assert!(matches!(
            open(&ring, 7, &relabelled),
            Err(SecretsError::DoesNotOpen { what: "secret", .. })
        ));
        let mut flipped = sealed.clone();
        flipped.ciphertext[0] ^= 1;
        assert!(open(&ring, 7, &flipped).is_err());
    }

    #[test]
    fn a_wrong_master_key_is_a_clear_error_never_garbage() {
        let sealed = seal(&ring(1), 7, SecretType::Key, &secret()).expect("sealed");
        let error = open(&ring(2), 7, &sealed).expect_err("another key");
        assert_eq!(
            error,
            SecretsError::UnknownKey {
                key_id: sealed.key_id.clone()
            }
        );
        assert!(
            error.to_string().contains("REQUESTDESK_SECRETS_KEY"),
            "{error}"
        );
        // A row claiming the right key id but wrapped by another key.
        let forged = SealedSecret {
            key_id: ring(2).current().id().to_string(),
            ..sealed
        };
        let error = open(&ring(2), 7, &forged).expect_err("forged id");
        assert!(matches!(
            error,
            SecretsError::DoesNotOpen {
                what: "data key",
                ..
            }
        ));
        assert!(!error.to_string().contains(PLAINTEXT));
    }

    #[test]
    fn rotation_rewraps_the_data_key_and_keeps_the_secret_readable() {
        let old = ring(1);
        let sealed = seal(&old, 7, SecretType::Password, &secret()).expect("sealed");
        let during = KeyRing::new(key(2), [key(1)]);
        assert_eq!(
            open(&during, 7, &sealed)
                .expect("old key still opens")
                .expose(),
            PLAINTEXT
        );
        let rewrapped = rewrap(&during, 7, &sealed, &key(2)).expect("rewrapped");
        assert_eq!(rewrapped.key_id, key(2).id().as_str());
        assert_eq!(
            rewrapped.ciphertext, sealed.ciphertext,
            "the secret is not re-sealed"
        );
        assert_ne!(rewrapped.wrapped_key, sealed.wrapped_key);
        assert_eq!(
            open(&ring(2), 7, &rewrapped).expect("new key").expose(),
            PLAINTEXT
        );
        assert!(
            open(&old, 7, &rewrapped).is_err(),
            "the old key alone no longer opens it"
        );
        assert!(
            rewrap(&during, 8, &sealed, &key(2)).is_err(),
            "bound to its account"
        );
    }

    #[test]
    fn debug_output_never_shows_a_secret() {
        let sealed = seal(&ring(1), 7, SecretType::Password, &secret()).expect("sealed");
        let shown = format!("{:?} {:?}", secret(), sealed);
        assert!(!shown.contains("correct horse"), "{shown}");
        assert!(shown.contains("<redacted>"), "{shown}");
    }
}
