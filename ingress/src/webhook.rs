//! A webhook's configuration as the checks use it, prepared once per fetch.

use std::{
    net::{IpAddr, Ipv4Addr},
    time::SystemTime,
};

use base64::{Engine, engine::general_purpose::STANDARD};
use ipnet::Ipv4Net;
use sha2::{Digest, Sha256};
use sluice_proto::{
    secrets::api_key_hash,
    v1::{ApiKeyMaterial, WebhookConfig, WebhookStatus},
};
use subtle::{Choice, ConstantTimeEq};
use uuid::Uuid;

/// The methods a webhook may accept besides HEAD and OPTIONS.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TriggerMethod {
    Get,
    Post,
}

impl TriggerMethod {
    pub fn parse(method: &str) -> Option<Self> {
        match method {
            "GET" => Some(Self::Get),
            "POST" => Some(Self::Post),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
        }
    }
}

/// One webhook, ready to check requests against.
#[derive(Debug)]
pub struct Webhook {
    pub workflow_id: Uuid,
    pub webhook_id: String,
    pub online: bool,
    pub methods: Vec<TriggerMethod>,
    allowlist: Allowlist,
    pub include_headers: bool,
    pub published_version: Option<i32>,
    /// Each valid secret's digest, with the end of its grace period if it has one.
    secret_digests: Vec<([u8; 32], Option<SystemTime>)>,
    api_key: Option<ApiKey>,
    /// The key a rotation replaced, valid until the instant beside it.
    previous_api_key: Option<(ApiKey, SystemTime)>,
}

#[derive(Debug)]
struct Allowlist {
    /// False when the webhook admits every address.
    enabled: bool,
    ranges: Vec<Ipv4Net>,
}

#[derive(Debug)]
struct ApiKey {
    hash_hex: Vec<u8>,
    /// `None` when the stored salt is malformed: such a key matches nothing.
    salt: Option<[u8; 16]>,
    active: bool,
}

/// The verdict on a request's `x-tracecat-api-key`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApiKeyCheck {
    /// The webhook has no key; the header, if any, is ignored.
    NotRequired,
    /// The request carried the active key.
    Matched,
    Refused,
}

impl Webhook {
    /// Prepares a configuration from the control plane. Malformed entries fail closed:
    /// an unreadable allowlist entry admits nobody, an unreadable salt matches no key.
    pub fn from_config(config: WebhookConfig, workflow_id: Uuid) -> Self {
        let online = config.status() == WebhookStatus::Online;
        let mut methods = Vec::new();
        for method in &config.methods {
            if let Some(method) = TriggerMethod::parse(&method.to_ascii_uppercase())
                && !methods.contains(&method)
            {
                methods.push(method);
            }
        }
        let allowlist = Allowlist {
            enabled: !config.allowlisted_cidrs.is_empty(),
            ranges: config
                .allowlisted_cidrs
                .iter()
                .filter_map(|entry| parse_cidr(entry))
                .collect(),
        };
        let secret_digests = config
            .secret_sha256
            .iter()
            .enumerate()
            .filter_map(|(index, digest)| {
                let digest = <[u8; 32]>::try_from(digest.as_slice()).ok()?;
                let expires_at = config
                    .secret_expiries
                    .get(index)
                    .and_then(|expiry| expiry.expires_at)
                    .map(expiry_time);
                Some((digest, expires_at))
            })
            .collect();
        let api_key = config.api_key.map(ApiKey::from_material);
        // A previous key without an expiry would never retire: it is not accepted.
        let previous_api_key = config.previous_api_key.and_then(|key| {
            let expires_at = expiry_time(key.expires_at?);
            Some((ApiKey::from_material(key), expires_at))
        });

        Self {
            workflow_id,
            webhook_id: config.webhook_id,
            online,
            methods,
            allowlist,
            include_headers: config.include_headers,
            published_version: config.published_version,
            secret_digests,
            api_key,
            previous_api_key,
        }
    }

    /// Compares the SHA-256 of the presented secret with every valid secret's digest in
    /// constant time, so timing reveals nothing about how much of a guess was right.
    /// A secret whose grace period has ended matches nothing.
    pub fn secret_matches(&self, presented: &str) -> bool {
        let digest: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        let now = SystemTime::now();
        let mut matched = Choice::from(0);
        for (valid, expires_at) in &self.secret_digests {
            let current = Choice::from(u8::from(expires_at.is_none_or(|end| now < end)));
            matched |= digest.ct_eq(valid) & current;
        }
        matched.into()
    }

    pub fn allows_method(&self, method: TriggerMethod) -> bool {
        self.methods.contains(&method)
    }

    /// The `Allow` header: the webhook's methods, then HEAD and OPTIONS.
    pub fn allow_header(&self) -> String {
        self.methods
            .iter()
            .map(|method| method.as_str())
            .chain(["HEAD", "OPTIONS"])
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// True when the allowlist is empty or contains `client`. The allowlist holds IPv4
    /// ranges only, so an IPv6 client is admitted only by an empty allowlist.
    pub fn allowlist_admits(&self, client: IpAddr) -> bool {
        if !self.allowlist.enabled {
            return true;
        }
        match client {
            IpAddr::V4(address) => self
                .allowlist
                .ranges
                .iter()
                .any(|range| range.contains(&address)),
            IpAddr::V6(_) => false,
        }
    }

    /// Checks the presented API key. A revoked key refuses every request, even one
    /// carrying the old key. While a rotation is in grace the previous key is accepted
    /// too.
    pub fn check_api_key(&self, presented: Option<&str>) -> ApiKeyCheck {
        let Some(key) = &self.api_key else {
            return ApiKeyCheck::NotRequired;
        };
        let (true, Some(presented)) = (key.active, presented) else {
            return ApiKeyCheck::Refused;
        };
        let previous_matches =
            self.previous_api_key
                .as_ref()
                .is_some_and(|(previous, expires_at)| {
                    SystemTime::now() < *expires_at && previous.matches(presented)
                });
        if key.matches(presented) || previous_matches {
            ApiKeyCheck::Matched
        } else {
            ApiKeyCheck::Refused
        }
    }
}

impl ApiKey {
    fn from_material(key: ApiKeyMaterial) -> Self {
        Self {
            hash_hex: key.hash_hex.to_ascii_lowercase().into_bytes(),
            salt: STANDARD
                .decode(key.salt_b64.trim())
                .ok()
                .and_then(|salt| <[u8; 16]>::try_from(salt.as_slice()).ok()),
            active: key.active,
        }
    }

    /// Compares hashes in constant time; a key with an unreadable salt matches nothing.
    fn matches(&self, presented: &str) -> bool {
        let Some(salt) = self.salt else {
            return false;
        };
        let hash = api_key_hash(presented, &salt);
        bool::from(hash.as_bytes().ct_eq(&self.hash_hex))
    }
}

/// A protobuf timestamp as a system time; one before the epoch is long past.
fn expiry_time(timestamp: prost_types::Timestamp) -> SystemTime {
    SystemTime::try_from(timestamp).unwrap_or(SystemTime::UNIX_EPOCH)
}

/// An allowlist entry: normally a normalised CIDR, but a bare address is read as `/32`.
fn parse_cidr(entry: &str) -> Option<Ipv4Net> {
    let entry = entry.trim();
    entry
        .parse::<Ipv4Net>()
        .ok()
        .or_else(|| entry.parse::<Ipv4Addr>().ok().map(Ipv4Net::from))
        .map(|net| net.trunc())
}

#[cfg(test)]
mod tests {
    use sluice_proto::{secrets::url_secret_digest, v1::ApiKeyMaterial};

    use super::*;

    const SALT_B64: &str = "AAECAwQFBgcICQoLDA0ODw==";
    const TEST_KEY_HASH: &str = "c3f3796c8a4dfe01e97d662bcfefb802d620189a2b2bc4c3c61e80b2e956819d";

    fn config() -> WebhookConfig {
        WebhookConfig {
            workflow_id: Uuid::nil().to_string(),
            webhook_id: Uuid::nil().to_string(),
            status: WebhookStatus::Online.into(),
            methods: vec!["POST".into()],
            secret_sha256: vec![
                url_secret_digest("old").to_vec(),
                url_secret_digest("new").to_vec(),
            ],
            ..WebhookConfig::default()
        }
    }

    fn webhook(config: WebhookConfig) -> Webhook {
        Webhook::from_config(config, Uuid::nil())
    }

    fn with_key(active: bool) -> Webhook {
        webhook(WebhookConfig {
            api_key: Some(ApiKeyMaterial {
                hash_hex: TEST_KEY_HASH.into(),
                salt_b64: SALT_B64.into(),
                active,
                expires_at: None,
            }),
            ..config()
        })
    }

    #[test]
    fn any_valid_secret_matches() {
        let webhook = webhook(config());
        assert!(webhook.secret_matches("old"));
        assert!(webhook.secret_matches("new"));
        assert!(!webhook.secret_matches("other"));
        assert!(!webhook.secret_matches(""));
    }

    #[test]
    fn a_secret_past_its_grace_period_matches_nothing() {
        let at = |offset: i64| prost_types::Timestamp {
            seconds: SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap()
                .as_secs() as i64
                + offset,
            nanos: 0,
        };
        let expiring = |offset| sluice_proto::v1::SecretExpiry {
            expires_at: Some(at(offset)),
        };
        let unlimited = sluice_proto::v1::SecretExpiry { expires_at: None };
        let webhook = webhook(WebhookConfig {
            secret_expiries: vec![unlimited, expiring(-1)],
            ..config()
        });
        assert!(webhook.secret_matches("old"));
        assert!(!webhook.secret_matches("new"));
        let webhook = webhook_in_grace(expiring(60));
        assert!(webhook.secret_matches("new"));
    }

    fn webhook_in_grace(expiry: sluice_proto::v1::SecretExpiry) -> Webhook {
        webhook(WebhookConfig {
            secret_expiries: vec![sluice_proto::v1::SecretExpiry { expires_at: None }, expiry],
            ..config()
        })
    }

    #[test]
    fn a_previous_key_is_accepted_until_it_expires() {
        let at = |offset: i64| prost_types::Timestamp {
            seconds: SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap()
                .as_secs() as i64
                + offset,
            nanos: 0,
        };
        let previous = |offset| ApiKeyMaterial {
            hash_hex: TEST_KEY_HASH.into(),
            salt_b64: SALT_B64.into(),
            active: true,
            expires_at: Some(at(offset)),
        };
        let current = ApiKeyMaterial {
            hash_hex: "00".repeat(32),
            salt_b64: SALT_B64.into(),
            active: true,
            expires_at: None,
        };
        let in_grace = webhook(WebhookConfig {
            api_key: Some(current.clone()),
            previous_api_key: Some(previous(60)),
            ..config()
        });
        assert_eq!(
            in_grace.check_api_key(Some("tc_sk_test")),
            ApiKeyCheck::Matched
        );
        let expired = webhook(WebhookConfig {
            api_key: Some(current),
            previous_api_key: Some(previous(-1)),
            ..config()
        });
        assert_eq!(
            expired.check_api_key(Some("tc_sk_test")),
            ApiKeyCheck::Refused
        );
    }

    #[test]
    fn a_webhook_without_secrets_matches_nothing() {
        let webhook = webhook(WebhookConfig {
            secret_sha256: vec![vec![1, 2, 3]],
            ..config()
        });
        assert!(!webhook.secret_matches("old"));
    }

    #[test]
    fn allow_lists_methods_then_head_and_options() {
        assert_eq!(webhook(config()).allow_header(), "POST, HEAD, OPTIONS");
        let both = webhook(WebhookConfig {
            methods: vec!["get".into(), "POST".into(), "GET".into(), "PUT".into()],
            ..config()
        });
        assert_eq!(both.allow_header(), "GET, POST, HEAD, OPTIONS");
        assert!(both.allows_method(TriggerMethod::Get));
    }

    #[test]
    fn an_empty_allowlist_admits_everyone() {
        let webhook = webhook(config());
        assert!(webhook.allowlist_admits("203.0.113.9".parse().unwrap()));
        assert!(webhook.allowlist_admits("2001:db8::1".parse().unwrap()));
    }

    #[test]
    fn an_allowlist_admits_only_its_ranges() {
        let webhook = webhook(WebhookConfig {
            allowlisted_cidrs: vec![
                "10.0.0.0/8".into(),
                "127.0.0.1".into(),
                "192.168.1.5/24".into(),
            ],
            ..config()
        });
        for (client, admitted) in [
            ("10.20.30.40", true),
            ("127.0.0.1", true),
            ("127.0.0.2", false),
            ("192.168.1.200", true),
            ("11.0.0.1", false),
            ("::1", false),
        ] {
            assert_eq!(
                webhook.allowlist_admits(client.parse().unwrap()),
                admitted,
                "{client}"
            );
        }
    }

    #[test]
    fn an_unreadable_allowlist_admits_nobody() {
        let webhook = webhook(WebhookConfig {
            allowlisted_cidrs: vec!["not a range".into()],
            ..config()
        });
        assert!(!webhook.allowlist_admits("10.0.0.1".parse().unwrap()));
    }

    #[test]
    fn without_a_key_the_header_is_ignored() {
        let webhook = webhook(config());
        assert_eq!(webhook.check_api_key(None), ApiKeyCheck::NotRequired);
        assert_eq!(
            webhook.check_api_key(Some("anything")),
            ApiKeyCheck::NotRequired
        );
    }

    #[test]
    fn an_active_key_must_be_presented_exactly() {
        let webhook = with_key(true);
        assert_eq!(
            webhook.check_api_key(Some("tc_sk_test")),
            ApiKeyCheck::Matched
        );
        assert_eq!(
            webhook.check_api_key(Some("tc_sk_tesT")),
            ApiKeyCheck::Refused
        );
        assert_eq!(webhook.check_api_key(None), ApiKeyCheck::Refused);
    }

    #[test]
    fn a_revoked_key_refuses_even_the_old_key() {
        assert_eq!(
            with_key(false).check_api_key(Some("tc_sk_test")),
            ApiKeyCheck::Refused
        );
    }

    #[test]
    fn a_malformed_salt_refuses_every_key() {
        let webhook = webhook(WebhookConfig {
            api_key: Some(ApiKeyMaterial {
                hash_hex: TEST_KEY_HASH.into(),
                salt_b64: "AAEC".into(),
                active: true,
                expires_at: None,
            }),
            ..config()
        });
        assert_eq!(
            webhook.check_api_key(Some("tc_sk_test")),
            ApiKeyCheck::Refused
        );
    }

    #[test]
    fn only_online_webhooks_are_online() {
        assert!(webhook(config()).online);
        for status in [WebhookStatus::Offline, WebhookStatus::Unspecified] {
            let webhook = webhook(WebhookConfig {
                status: status.into(),
                ..config()
            });
            assert!(!webhook.online);
        }
    }
}
