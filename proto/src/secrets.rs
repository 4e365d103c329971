//! The hashing schemes shared by the control plane (which issues secrets) and the
//! ingress (which verifies them). Neither service ever needs a secret in the clear
//! once it has been handed to its owner.

use sha2::{Digest, Sha256};
use uuid::Uuid;

/// The URL secret of a webhook: `sha256_hex("wh-" + <webhook id as 32 lowercase hex> +
/// <signing secret>)`. This is the derivation an existing Tracecat deployment uses, so
/// URLs it issued keep working when the same signing secret is configured.
pub fn derive_url_secret(webhook_id: Uuid, signing_secret: &str) -> String {
    let mut hasher = Sha256::new();
    Digest::update(&mut hasher, b"wh-");
    Digest::update(&mut hasher, webhook_id.simple().to_string().as_bytes());
    Digest::update(&mut hasher, signing_secret.as_bytes());
    hex::encode(hasher.finalize())
}

/// What the ingress is given instead of a URL secret: the SHA-256 of its text.
pub fn url_secret_digest(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// The stored form of an API key: BLAKE2b with a 32-byte digest and the 16-byte `salt`
/// as BLAKE2's own salt parameter, as lowercase hex. Tracecat stores keys the same way,
/// so its key hashes can be imported.
pub fn api_key_hash(key: &str, salt: &[u8; 16]) -> String {
    let digest = blake2b_simd::Params::new()
        .hash_length(32)
        .salt(salt)
        .hash(key.as_bytes());
    digest.to_hex().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_secret_matches_the_compatible_derivation() {
        let webhook = Uuid::parse_str("12345678-1234-5678-1234-567812345678").unwrap();
        assert_eq!(
            derive_url_secret(webhook, "your-signing-secret"),
            "34ed3df2ab390f94c64106e35e170f59c08f4fa3cb6563831adfe2fa149938c3"
        );
    }

    #[test]
    fn api_key_hash_matches_the_salted_blake2b_vector() {
        let salt: [u8; 16] = std::array::from_fn(|i| i as u8);
        assert_eq!(
            api_key_hash("tc_sk_test", &salt),
            "c3f3796c8a4dfe01e97d662bcfefb802d620189a2b2bc4c3c61e80b2e956819d"
        );
    }

    #[test]
    fn a_different_salt_gives_a_different_hash() {
        assert_ne!(
            api_key_hash("tc_sk_test", &[0; 16]),
            api_key_hash("tc_sk_test", &[1; 16])
        );
    }
}
