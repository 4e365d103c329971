//! Webhook URLs and the digests the ingress checks them against. URL secrets are
//! derived from the signing secret whenever they are needed and never stored.
//!
//! Each rotation moves a webhook to the next *generation*. Generation 0 is the
//! derivation Tracecat uses, so a webhook that was never rotated keeps the URL it had
//! there; later generations mix their number into the derivation.

use std::fmt;

use sluice_proto::{ids::WorkflowId, secrets};
use uuid::Uuid;

#[derive(Clone)]
pub struct UrlSecrets {
    signing_secret: String,
    /// Without a trailing `/`.
    public_url: String,
}

impl UrlSecrets {
    pub fn new(signing_secret: &str, public_url: &str) -> Self {
        Self {
            signing_secret: signing_secret.to_owned(),
            public_url: public_url.trim_end_matches('/').to_owned(),
        }
    }

    /// The URL a sender posts to, secret included.
    pub fn url(&self, workflow: WorkflowId, webhook: Uuid, generation: i32) -> String {
        format!(
            "{}/webhooks/{}/{}",
            self.public_url,
            workflow.short(),
            self.secret(webhook, generation)
        )
    }

    /// The SHA-256 of the webhook's URL secret, which is all the ingress needs to check
    /// a request's secret.
    pub fn digest(&self, webhook: Uuid, generation: i32) -> Vec<u8> {
        secrets::url_secret_digest(&self.secret(webhook, generation)).to_vec()
    }

    /// Generation 0 is the compatible derivation; generation `n` derives from the
    /// signing secret prefixed with `g<n>:`, so that no two generations share a secret.
    fn secret(&self, webhook: Uuid, generation: i32) -> String {
        if generation == 0 {
            secrets::derive_url_secret(webhook, &self.signing_secret)
        } else {
            let keyed = format!("g{generation}:{}", self.signing_secret);
            secrets::derive_url_secret(webhook, &keyed)
        }
    }
}

impl fmt::Debug for UrlSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UrlSecrets")
            .field("signing_secret", &"<redacted>")
            .field("public_url", &self.public_url)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WEBHOOK: &str = "12345678-1234-5678-1234-567812345678";
    const SECRET: &str = "34ed3df2ab390f94c64106e35e170f59c08f4fa3cb6563831adfe2fa149938c3";

    #[test]
    fn url_joins_the_public_url_the_short_id_and_the_secret() {
        let workflow = WorkflowId::parse("8d3885a9-6470-4ee0-9d4d-d507cc97393d").unwrap();
        let webhook = Uuid::parse_str(WEBHOOK).unwrap();
        for public_url in [
            "https://hooks.example.com/api",
            "https://hooks.example.com/api/",
        ] {
            let secrets = UrlSecrets::new("your-signing-secret", public_url);
            assert_eq!(
                secrets.url(workflow, webhook, 0),
                format!(
                    "https://hooks.example.com/api/webhooks/wf_4itKqkgCZrLhgYiq5L211X/{SECRET}"
                )
            );
        }
    }

    #[test]
    fn digest_is_the_sha256_of_the_secret_text() {
        let secrets = UrlSecrets::new("your-signing-secret", "http://localhost");
        let webhook = Uuid::parse_str(WEBHOOK).unwrap();
        assert_eq!(
            secrets.digest(webhook, 0),
            sluice_proto::secrets::url_secret_digest(SECRET).to_vec()
        );
    }

    #[test]
    fn each_generation_has_its_own_secret() {
        let secrets = UrlSecrets::new("your-signing-secret", "http://localhost");
        let webhook = Uuid::parse_str(WEBHOOK).unwrap();
        let digests: std::collections::HashSet<_> = (0..4)
            .map(|generation| secrets.digest(webhook, generation))
            .collect();
        assert_eq!(digests.len(), 4);
        assert_eq!(secrets.secret(webhook, 1), secrets.secret(webhook, 1));
        assert_ne!(secrets.secret(webhook, 1), SECRET);
    }

    #[test]
    fn debug_hides_the_signing_secret() {
        let secrets = UrlSecrets::new("your-signing-secret", "http://localhost");
        assert!(!format!("{secrets:?}").contains("your-signing-secret"));
    }
}
