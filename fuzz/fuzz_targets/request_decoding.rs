//! Arbitrary header values, query and body through the ingress's request decoding:
//! nothing may panic, the decoded body stays within its limit, and every TRIGGER text
//! the ingress would store is JSON (or empty, for `null`).

#![no_main]

use libfuzzer_sys::fuzz_target;
use sluice_ingress::fuzzing::decode_request;

const LIMIT: usize = 64 * 1024;

/// The input is split on 0xFF bytes, which no header value or query holds:
/// content type, content encoding, query, then the body.
fn split(data: &[u8]) -> Option<(&[u8], &[u8], &str, &[u8], usize)> {
    let (&chunk, data) = data.split_first()?;
    let mut parts = data.splitn(4, |&byte| byte == 0xFF);
    let content_type = parts.next()?;
    let content_encoding = parts.next()?;
    let query = std::str::from_utf8(parts.next()?).ok()?;
    let body = parts.next().unwrap_or_default();
    Some((
        content_type,
        content_encoding,
        query,
        body,
        usize::from(chunk),
    ))
}

fuzz_target!(|data: &[u8]| {
    let Some((content_type, content_encoding, query, body, chunk)) = split(data) else {
        return;
    };
    let decoded = decode_request(content_type, content_encoding, query, body, chunk, LIMIT);
    if let Some(body) = &decoded.body {
        assert!(body.len() <= LIMIT);
    }
    if let Some(triggers) = decoded.triggers {
        assert_eq!(triggers.plain.len(), triggers.enveloped.len());
        for text in triggers.plain.iter().chain(&triggers.enveloped) {
            if !text.is_empty() {
                serde_json::from_slice::<serde_json::Value>(text)
                    .expect("every stored TRIGGER is JSON");
            }
        }
    }
});
