//! Certificate serial numbers: random generation and the canonical hex form.
//!
//! Canonical `serial_hex`: the serial's unsigned big-endian magnitude with
//! leading zero *bytes* removed, as lowercase hex (so always an even number
//! of digits, e.g. `"0a1b"` not `"a1b"`; zero is `"00"`). This is what
//! `openssl x509 -serial` prints, lowercased.

use rand::RngCore;

use super::error::ValidationError;

/// Serial length in bytes; the top bit is cleared so the DER INTEGER stays
/// positive and at most this long.
const SERIAL_LEN: usize = 16;
/// RFC 5280 limit on serial number length.
const MAX_SERIAL_LEN: usize = 20;

/// A random positive, non-zero serial of at most 16 bytes (minimal form).
pub(crate) fn random_serial() -> Vec<u8> {
    let mut rng = rand::rng();
    loop {
        let mut bytes = [0u8; SERIAL_LEN];
        rng.fill_bytes(&mut bytes);
        bytes[0] &= 0x7f;
        let minimal = strip_leading_zeros(&bytes);
        if !minimal.is_empty() {
            return minimal.to_vec();
        }
    }
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    &bytes[start..]
}

/// Canonical hex of serial bytes (DER INTEGER content or magnitude).
pub fn serial_to_hex(bytes: &[u8]) -> String {
    let minimal = strip_leading_zeros(bytes);
    if minimal.is_empty() {
        return "00".to_string();
    }
    hex::encode(minimal)
}

/// Parses a serial written in hex: case-insensitive, optional `0x` prefix,
/// optional `:` separators, odd length allowed. Returns minimal bytes.
pub fn serial_from_hex(text: &str) -> Result<Vec<u8>, ValidationError> {
    let invalid = |why: &str| {
        ValidationError::new("serial_hex", format!("serial \"{text}\" is invalid: {why}"))
    };
    let trimmed = text.trim();
    let digits: String = trimmed
        .strip_prefix("0x")
        .unwrap_or(trimmed)
        .chars()
        .filter(|c| *c != ':')
        .collect();
    if digits.is_empty() {
        return Err(invalid("it is empty"));
    }
    let padded = if digits.len() % 2 == 1 {
        format!("0{digits}")
    } else {
        digits
    };
    let bytes = hex::decode(&padded).map_err(|_| invalid("it is not hexadecimal"))?;
    let minimal = strip_leading_zeros(&bytes);
    if minimal.len() > MAX_SERIAL_LEN {
        return Err(invalid("it is longer than 20 bytes"));
    }
    if minimal.is_empty() {
        return Ok(vec![0]);
    }
    Ok(minimal.to_vec())
}
