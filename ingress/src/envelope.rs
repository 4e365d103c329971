//! The TRIGGER of a webhook with `include_headers` on: the request headers and raw body
//! around the parsed value.

use http::HeaderMap;
use serde_json::{Map, Value};

/// Never stored: the API key is a secret.
const API_KEY_HEADER: &str = "x-tracecat-api-key";

/// The request headers as JSON object text, computed once per request and shared by
/// every execution of it. Names are lower-case (as HTTP/2 and hyper deliver them) and
/// a repeated header's values are joined with `, `.
pub fn headers_json(headers: &HeaderMap) -> Vec<u8> {
    let mut object = Map::new();
    for name in headers.keys() {
        if name.as_str() == API_KEY_HEADER {
            continue;
        }
        let joined = headers
            .get_all(name)
            .iter()
            .map(|value| String::from_utf8_lossy(value.as_bytes()))
            .collect::<Vec<_>>()
            .join(", ");
        object.insert(name.as_str().to_owned(), Value::String(joined));
    }
    serde_json::to_vec(&object).expect("a map of strings always serialises")
}

/// `{"headers": …, "data": …, "raw_body": "…"}`.
///
/// `data` is JSON text that was already validated (the body itself, an NDJSON line, or
/// a serialised form), so it is spliced in as it is instead of being serialised again.
pub fn envelope(headers_json: &[u8], data_json: &[u8], raw_body: &[u8]) -> Vec<u8> {
    let raw_body = String::from_utf8_lossy(raw_body);
    let mut text = Vec::with_capacity(headers_json.len() + data_json.len() + raw_body.len() + 48);
    text.extend_from_slice(b"{\"headers\":");
    text.extend_from_slice(headers_json);
    text.extend_from_slice(b",\"data\":");
    text.extend_from_slice(data_json);
    text.extend_from_slice(b",\"raw_body\":");
    serde_json::to_writer(&mut text, raw_body.as_ref()).expect("writing to a Vec cannot fail");
    text.push(b'}');
    text
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn headers_are_joined_and_the_api_key_is_dropped() {
        let mut headers = HeaderMap::new();
        headers.append("X-Trace", "a".parse().unwrap());
        headers.append("x-trace", "b".parse().unwrap());
        headers.append("content-type", "application/json".parse().unwrap());
        headers.append("x-tracecat-api-key", "tc_sk_secret".parse().unwrap());

        let parsed: Value = serde_json::from_slice(&headers_json(&headers)).unwrap();
        assert_eq!(
            parsed,
            json!({"x-trace": "a, b", "content-type": "application/json"})
        );
    }

    #[test]
    fn the_envelope_holds_data_and_the_lossy_raw_body() {
        let text = envelope(br#"{"h":"1"}"#, br#" {"a": 1} "#, b"a=\xff");
        let parsed: Value = serde_json::from_slice(&text).unwrap();
        assert_eq!(
            parsed,
            json!({"headers": {"h": "1"}, "data": {"a": 1}, "raw_body": "a=\u{fffd}"})
        );
    }

    #[test]
    fn a_request_without_payload_has_null_data() {
        let parsed: Value = serde_json::from_slice(&envelope(b"{}", b"null", b"")).unwrap();
        assert_eq!(parsed, json!({"headers": {}, "data": null, "raw_body": ""}));
    }
}
