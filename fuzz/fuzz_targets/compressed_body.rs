//! Arbitrary bytes as a gzip, deflate or chained body: decoding must fail cleanly or
//! stay within its limit, however the bytes are cut into pieces.

#![no_main]

use libfuzzer_sys::fuzz_target;
use sluice_ingress::fuzzing::decode_request;

const LIMIT: usize = 16 * 1024;
const CODINGS: [&[u8]; 4] = [b"gzip", b"deflate", b"gzip, deflate", b"x-gzip, identity"];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let coding = CODINGS[usize::from(selector) % CODINGS.len()];
    let chunk = usize::from(selector >> 2).max(1);
    let decoded = decode_request(b"application/json", coding, "", body, chunk, LIMIT);
    if let Some(body) = decoded.body {
        assert!(body.len() <= LIMIT);
    }
});
