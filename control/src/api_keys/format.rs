//! What an API key looks like: `tc_sk_` and 256 random bits in base62, stored as a
//! salted hash with a short preview for people to recognise it by.

use base64::{Engine, engine::general_purpose::STANDARD};
use rand::{TryRngCore, rngs::OsRng};

const PREFIX: &str = "tc_sk_";

/// Digits in value order, the same alphabet as workflow and execution ids.
const BASE62: &[u8; 62] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// A freshly generated key and what is kept of it.
pub struct NewApiKey {
    /// Shown to its owner once, never stored.
    pub key: String,
    pub hash: String,
    /// The 16 salt bytes, standard base64.
    pub salt: String,
    pub preview: String,
}

impl NewApiKey {
    pub fn generate() -> Result<Self, rand::rand_core::OsError> {
        let mut secret = [0u8; 32];
        let mut salt = [0u8; 16];
        OsRng.try_fill_bytes(&mut secret)?;
        OsRng.try_fill_bytes(&mut salt)?;
        Ok(Self::from_parts(&secret, &salt))
    }

    fn from_parts(secret: &[u8; 32], salt: &[u8; 16]) -> Self {
        let key = format!("{PREFIX}{}", base62(secret));
        Self {
            hash: sluice_proto::secrets::api_key_hash(&key, salt),
            salt: STANDARD.encode(salt),
            preview: preview(&key),
            key,
        }
    }
}

/// `tc_sk_...` and the key's last 4 characters.
pub fn preview(key: &str) -> String {
    let tail_start = key
        .char_indices()
        .rev()
        .nth(3)
        .map_or(0, |(index, _)| index);
    format!("{PREFIX}...{}", &key[tail_start..])
}

/// `bytes` read as one big-endian number, in base62 without padding (`0` for zero).
fn base62(bytes: &[u8]) -> String {
    let mut number = bytes.to_vec();
    let mut digits = Vec::with_capacity(bytes.len() * 8 / 5 + 1);

    // Long division by 62, most significant byte first, until the number is zero; the
    // remainders are the digits, least significant first.
    while number.iter().any(|&byte| byte != 0) {
        let mut remainder = 0u32;
        for byte in &mut number {
            let value = (remainder << 8) | u32::from(*byte);
            *byte = (value / 62) as u8;
            remainder = value % 62;
        }
        digits.push(BASE62[remainder as usize]);
    }
    if digits.is_empty() {
        digits.push(BASE62[0]);
    }

    digits.iter().rev().map(|&digit| digit as char).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base62_matches_the_id_encoding_for_128_bit_values() {
        for value in [
            1u128,
            61,
            62,
            3843,
            0x8d38_85a9_6470_4ee0_9d4d_d507_cc97_393d,
            u128::MAX,
        ] {
            let padded = sluice_proto::ids::base62_encode(value);
            assert_eq!(base62(&value.to_be_bytes()), padded.trim_start_matches('0'));
        }
    }

    #[test]
    fn base62_of_small_and_extreme_256_bit_values() {
        assert_eq!(base62(&[0; 32]), "0");
        let mut one = [0u8; 32];
        one[31] = 62;
        assert_eq!(base62(&one), "10");
        // 2^256 - 1 needs 43 digits: 62^42 < 2^256 <= 62^43.
        let max = base62(&[0xff; 32]);
        assert_eq!(max.len(), 43);
        assert!(max.bytes().all(|b| b.is_ascii_alphanumeric()));
    }

    #[test]
    fn generated_keys_have_the_documented_shape() {
        let generated = NewApiKey::generate().unwrap();
        let body = generated.key.strip_prefix("tc_sk_").unwrap();
        assert!(!body.is_empty() && body.len() <= 43, "{body}");
        assert!(body.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_eq!(
            generated.preview,
            format!("tc_sk_...{}", &generated.key[generated.key.len() - 4..])
        );
        assert_eq!(STANDARD.decode(&generated.salt).unwrap().len(), 16);
        assert_eq!(generated.hash.len(), 64);
    }

    #[test]
    fn the_stored_hash_verifies_the_key() {
        let salt: [u8; 16] = std::array::from_fn(|i| i as u8);
        let generated = NewApiKey::from_parts(&[7; 32], &salt);
        assert_eq!(generated.salt, "AAECAwQFBgcICQoLDA0ODw==");
        assert_eq!(
            generated.hash,
            sluice_proto::secrets::api_key_hash(&generated.key, &salt)
        );
        assert_ne!(
            generated.hash,
            sluice_proto::secrets::api_key_hash("tc_sk_test", &salt)
        );
    }

    #[test]
    fn two_keys_differ() {
        let a = NewApiKey::generate().unwrap();
        let b = NewApiKey::generate().unwrap();
        assert_ne!(a.key, b.key);
        assert_ne!(a.salt, b.salt);
    }

    #[test]
    fn preview_shows_the_last_four_characters() {
        assert_eq!(preview("tc_sk_abcdefWXYZ"), "tc_sk_...WXYZ");
    }
}
