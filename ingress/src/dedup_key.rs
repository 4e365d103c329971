//! The sender's delivery id: what stays the same when a sender retries a delivery, so
//! that a webhook that deduplicates can recognise the repeat.
//!
//! The first of these that a request carries is its key, named by where it was found:
//! 1. `Idempotency-Key` (set by the sender or a relay on purpose)
//! 2. `X-GitHub-Delivery` (unchanged on redelivery)
//! 3. `webhook-id` (Standard Webhooks), then `svix-id`
//! 4. `X-Shopify-Webhook-Id`
//! 5. `I-Twilio-Idempotency-Token`
//! 6. in a JSON body: Slack's `event_id` (an `event_callback`), Stripe's event `id`
//!    (`evt_…`), Okta's event `uuid`s (`data.events[].uuid`, all of them, in order).

use http::HeaderMap;
use serde_json::Value;

use crate::trigger::Payload;

/// Checked in this order; the first one present is the key.
const HEADERS: [&str; 6] = [
    "idempotency-key",
    "x-github-delivery",
    "webhook-id",
    "svix-id",
    "x-shopify-webhook-id",
    "i-twilio-idempotency-token",
];

/// Longer ids are not believed to be delivery ids and give no key.
const MAX_ID_BYTES: usize = 400;

/// The request's delivery id, `source:id`, if it carries one.
pub fn find(headers: &HeaderMap, payload: &Payload) -> Option<String> {
    for name in HEADERS {
        let value = headers.get(name).and_then(|value| value.to_str().ok());
        if let Some(id) = value.map(str::trim).filter(|id| !id.is_empty()) {
            return keyed(name, id);
        }
    }
    match payload {
        Payload::Json(Value::Object(body)) => from_body(body),
        _ => None,
    }
}

/// Only bodies containing a value listed in `trigger::READ_MARKERS` are parsed into a
/// `Value`: a new rule here needs its value there.
fn from_body(body: &serde_json::Map<String, Value>) -> Option<String> {
    let text = |name: &str| body.get(name).and_then(Value::as_str);
    if text("type") == Some("event_callback")
        && let Some(id) = text("event_id")
    {
        return keyed("slack-event-id", id);
    }
    if text("object") == Some("event")
        && let Some(id) = text("id").filter(|id| id.starts_with("evt_"))
    {
        return keyed("stripe-event-id", id);
    }
    if text("eventType") == Some("com.okta.event_hook") {
        let events = body.get("data")?.get("events")?.as_array()?;
        let uuids: Option<Vec<&str>> = events
            .iter()
            .map(|event| event.get("uuid").and_then(Value::as_str))
            .collect();
        return keyed("okta-event-uuid", &uuids?.join(","));
    }
    None
}

fn keyed(source: &str, id: &str) -> Option<String> {
    (!id.is_empty() && id.len() <= MAX_ID_BYTES).then(|| format!("{source}:{id}"))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(name, value)| (name.parse().unwrap(), value.parse().unwrap()))
            .collect()
    }

    fn json(value: Value) -> Payload {
        Payload::Json(value)
    }

    #[test]
    fn headers_are_taken_in_order() {
        let both = headers(&[("x-github-delivery", "g-1"), ("idempotency-key", " k-1 ")]);
        assert_eq!(
            find(&both, &Payload::Empty).as_deref(),
            Some("idempotency-key:k-1")
        );
        let github = headers(&[("X-GitHub-Delivery", "72d3162e")]);
        assert_eq!(
            find(&github, &Payload::Empty).as_deref(),
            Some("x-github-delivery:72d3162e")
        );
        let svix = headers(&[("svix-id", "msg_1"), ("webhook-id", "msg_2")]);
        assert_eq!(
            find(&svix, &Payload::Empty).as_deref(),
            Some("webhook-id:msg_2")
        );
    }

    #[test]
    fn an_empty_or_huge_header_gives_no_key() {
        let empty = headers(&[("idempotency-key", "  ")]);
        assert_eq!(find(&empty, &Payload::Empty), None);
        let long = "x".repeat(401);
        let huge = headers(&[("idempotency-key", long.as_str())]);
        assert_eq!(find(&huge, &Payload::Empty), None);
    }

    #[test]
    fn slack_stripe_and_okta_ids_come_from_the_body() {
        let none = HeaderMap::new();
        let slack = json(json!({"type": "event_callback", "event_id": "Ev08"}));
        assert_eq!(find(&none, &slack).as_deref(), Some("slack-event-id:Ev08"));
        let stripe = json(json!({"object": "event", "id": "evt_1"}));
        assert_eq!(
            find(&none, &stripe).as_deref(),
            Some("stripe-event-id:evt_1")
        );
        let okta = json(json!({
            "eventType": "com.okta.event_hook",
            "data": {"events": [{"uuid": "u1"}, {"uuid": "u2"}]}
        }));
        assert_eq!(find(&none, &okta).as_deref(), Some("okta-event-uuid:u1,u2"));
    }

    #[test]
    fn ordinary_bodies_give_no_key() {
        let none = HeaderMap::new();
        assert_eq!(
            find(&none, &json(json!({"id": "42", "event_id": "x"}))),
            None
        );
        assert_eq!(
            find(&none, &json(json!({"object": "event", "id": "42"}))),
            None
        );
        assert_eq!(find(&none, &json(json!([1, 2]))), None);
        let okta_without_uuid = json(json!({
            "eventType": "com.okta.event_hook",
            "data": {"events": [{"uuid": "u1"}, {}]}
        }));
        assert_eq!(find(&none, &okta_without_uuid), None);
    }
}
