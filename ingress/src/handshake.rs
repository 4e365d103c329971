//! Sender handshakes: requests that prove a URL works and are answered directly,
//! without creating an execution.

use http::HeaderMap;
use serde_json::Value;

use crate::query::{Query, Vendor};

/// Okta's event hook verification: `vendor=okta` with a non-empty
/// `x-okta-verification-challenge` header. Without the header the request is an
/// ordinary event.
pub fn okta_challenge(query: &Query, headers: &HeaderMap) -> Option<String> {
    if query.vendor != Some(Vendor::Okta) {
        return None;
    }
    let challenge = headers.get("x-okta-verification-challenge")?;
    let challenge = String::from_utf8_lossy(challenge.as_bytes()).into_owned();
    (!challenge.is_empty()).then_some(challenge)
}

/// Slack's Events API `url_verification`: an object whose `type` is
/// `url_verification` and whose `challenge` is a string.
///
/// Only bodies containing a value listed in `trigger::READ_MARKERS` are parsed into a
/// `Value`; the one this reads is among them.
pub fn slack_challenge(body: &Value) -> Option<&str> {
    let object = body.as_object()?;
    if object.get("type")?.as_str()? != "url_verification" {
        return None;
    }
    object.get("challenge")?.as_str()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn okta_headers(challenge: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-okta-verification-challenge", challenge.parse().unwrap());
        headers
    }

    #[test]
    fn okta_needs_the_vendor_and_a_non_empty_challenge() {
        let okta = Query {
            vendor: Some(Vendor::Okta),
            ..Query::default()
        };
        assert_eq!(
            okta_challenge(&okta, &okta_headers("Zq3")),
            Some("Zq3".into())
        );
        assert_eq!(okta_challenge(&okta, &okta_headers("")), None);
        assert_eq!(okta_challenge(&okta, &HeaderMap::new()), None);
        assert_eq!(
            okta_challenge(&Query::default(), &okta_headers("Zq3")),
            None
        );
    }

    #[test]
    fn slack_needs_the_type_and_a_string_challenge() {
        let body = json!({"token": "t", "challenge": "abc", "type": "url_verification"});
        assert_eq!(slack_challenge(&body), Some("abc"));
        assert_eq!(
            slack_challenge(&json!({"type": "url_verification", "challenge": 5})),
            None
        );
        assert_eq!(
            slack_challenge(&json!({"type": "event_callback", "challenge": "abc"})),
            None
        );
        assert_eq!(slack_challenge(&json!({"challenge": "abc"})), None);
        assert_eq!(slack_challenge(&json!(["url_verification"])), None);
    }
}
