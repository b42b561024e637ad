//! Master keys: 32 random bytes, written as 64 hexadecimal digits, each known by an id derived
//! from it. The id is stored with every data key it wraps, so the service knows which key opens
//! a row, and a wrong key is named as such instead of producing garbage.

use std::fmt;

use ring::rand::{SecureRandom, SystemRandom};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::SecretsError;

/// The public name of a master key: the first 8 bytes of a SHA-256 over a label and the key, in
/// hexadecimal. It tells keys apart and says nothing usable about the key itself.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KeyId(String);

impl KeyId {
    /// The id as a row stores it.
    pub fn from_stored(id: &str) -> Self {
        Self(id.to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A master key: wraps and unwraps data keys. Its bytes are wiped when it is dropped and never
/// shown by `Debug`.
#[derive(Clone)]
pub struct MasterKey {
    id: KeyId,
    bytes: Zeroizing<[u8; 32]>,
}

impl MasterKey {
    /// Reads a key written as 64 hexadecimal digits (surrounding whitespace ignored).
    pub fn parse(text: &str) -> Result<Self, SecretsError> {
        let text = text.trim();
        if text.len() != 64 {
            return Err(SecretsError::InvalidKey("wrong length"));
        }
        let decoded = Zeroizing::new(
            hex::decode(text).map_err(|_| SecretsError::InvalidKey("not hexadecimal"))?,
        );
        let mut bytes = Zeroizing::new([0_u8; 32]);
        bytes.copy_from_slice(&decoded);
        Ok(Self::from_bytes(bytes))
    }

    /// A new random key, and its text form to keep (in a `Zeroizing` buffer).
    pub fn generate() -> Result<(Self, Zeroizing<String>), SecretsError> {
        let mut bytes = Zeroizing::new([0_u8; 32]);
        SystemRandom::new()
            .fill(bytes.as_mut())
            .map_err(|_| SecretsError::Random)?;
        let text = Zeroizing::new(hex::encode(bytes.as_ref()));
        Ok((Self::from_bytes(bytes), text))
    }

    fn from_bytes(bytes: Zeroizing<[u8; 32]>) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(b"requestdesk secrets key id\0");
        hasher.update(bytes.as_ref());
        let digest = hasher.finalize();
        Self {
            id: KeyId(hex::encode(&digest[..8])),
            bytes,
        }
    }

    pub fn id(&self) -> &KeyId {
        &self.id
    }

    pub(super) fn bytes(&self) -> &[u8; 32] {
        &self.bytes
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MasterKey")
            .field("id", &self.id.0)
            .field("bytes", &"<redacted>")
            .finish()
    }
}

/// The keys the service holds: the current one, which wraps every new data key, and older ones
/// that only open data keys not yet re-wrapped (during a rotation).
#[derive(Debug, Clone)]
pub struct KeyRing {
    current: MasterKey,
    others: Vec<MasterKey>,
}

impl KeyRing {
    /// The ring of `current` and `others`; an older key equal to the current one, or given
    /// twice, is kept once.
    pub fn new(current: MasterKey, others: impl IntoIterator<Item = MasterKey>) -> Self {
        let mut ring = Self {
            current,
            others: Vec::new(),
        };
        for key in others {
            if ring.find(key.id()).is_none() {
                ring.others.push(key);
            }
        }
        ring
    }

    /// The key new data keys are wrapped under.
    pub fn current(&self) -> &MasterKey {
        &self.current
    }

    /// The key with this id, if the ring holds it.
    pub fn find(&self, id: &KeyId) -> Option<&MasterKey> {
        std::iter::once(&self.current)
            .chain(&self.others)
            .find(|key| key.id() == id)
    }

    /// The ids of every key held, the current one first.
    pub fn ids(&self) -> Vec<KeyId> {
        std::iter::once(&self.current)
            .chain(&self.others)
            .map(|key| key.id().clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    #[test]
    fn a_key_is_64_hexadecimal_digits() {
        assert!(MasterKey::parse(KEY).is_ok());
        assert!(MasterKey::parse(&format!("  {KEY}\n")).is_ok());
        assert_eq!(
            MasterKey::parse(&KEY[..62]).expect_err("too short"),
            SecretsError::InvalidKey("wrong length")
        );
        assert_eq!(
            MasterKey::parse(&KEY.replace('a', "z")).expect_err("not hex"),
            SecretsError::InvalidKey("not hexadecimal")
        );
    }

    #[test]
    fn the_id_is_stable_and_differs_between_keys() {
        let a = MasterKey::parse(KEY).expect("key");
        let b = MasterKey::parse(&KEY.replace('1', "2")).expect("key");
        assert_eq!(a.id(), MasterKey::parse(KEY).expect("key").id());
        assert_ne!(a.id(), b.id());
        assert_eq!(a.id().as_str().len(), 16);
        assert!(!KEY.contains(a.id().as_str()));
    }

    #[test]
    fn debug_output_shows_the_id_and_never_the_key() {
        let key = MasterKey::parse(KEY).expect("key");
        let ring = KeyRing::new(key.clone(), [key.clone()]);
        for shown in [format!("{key:?}"), format!("{ring:?}")] {
            assert!(shown.contains(key.id().as_str()), "{shown}");
            assert!(!shown.contains("0102030405"), "{shown}");
            assert!(!shown.contains("[0, 1, 2"), "{shown}");
        }
        assert_eq!(ring.ids().len(), 1, "a key given twice is kept once");
    }

    #[test]
    fn generated_keys_are_random_and_read_back() {
        let (a, text) = MasterKey::generate().expect("key");
        let (b, _) = MasterKey::generate().expect("key");
        assert_ne!(a.id(), b.id());
        assert_eq!(MasterKey::parse(&text).expect("key").id(), a.id());
    }
}
