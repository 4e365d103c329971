//! Entry points for the fuzz targets in `fuzz/`: the request decoding of the ingress,
//! from raw header values, query and body bytes to the TRIGGER texts, without a socket
//! or a control plane. Not part of the ingress's API.

use http::{
    HeaderMap, HeaderValue,
    header::{CONTENT_ENCODING, CONTENT_TYPE},
};

use crate::{
    body::{encoding::ContentCoding, encoding::Decoder, media::MediaType},
    query, trigger,
};

/// What one request decoded to; `None` fields mean the request was refused there.
#[derive(Debug, Default)]
pub struct Decoded {
    pub query_accepted: bool,
    pub body: Option<Vec<u8>>,
    pub triggers: Option<Triggers>,
}

/// The TRIGGER texts a request would be stored with.
#[derive(Debug)]
pub struct Triggers {
    pub plain: Vec<Vec<u8>>,
    /// With a headers envelope, as for a webhook that includes headers.
    pub enveloped: Vec<Vec<u8>>,
}

/// Decodes a request as the ingress does: the query flags, the content codings (the
/// body fed in pieces of `chunk` bytes, bounded by `limit` decoded bytes), then the
/// media type and the body format.
pub fn decode_request(
    content_type: &[u8],
    content_encoding: &[u8],
    query: &str,
    body: &[u8],
    chunk: usize,
    limit: usize,
) -> Decoded {
    let mut decoded = Decoded {
        query_accepted: query::parse(Some(query)).is_ok(),
        ..Decoded::default()
    };

    let mut headers = HeaderMap::new();
    for (name, value) in [
        (CONTENT_TYPE, content_type),
        (CONTENT_ENCODING, content_encoding),
    ] {
        if value.is_empty() {
            continue;
        }
        match HeaderValue::from_bytes(value) {
            Ok(value) => {
                headers.insert(name, value);
            }
            Err(_) => return decoded,
        }
    }

    let Ok(coding) = ContentCoding::from_headers(&headers) else {
        return decoded;
    };
    let mut decoder = Decoder::new(coding, limit, 0);
    for piece in body.chunks(chunk.max(1)) {
        if decoder.write(piece).is_err() {
            return decoded;
        }
    }
    let Ok(bytes) = decoder.finish() else {
        return decoded;
    };
    assert!(bytes.len() <= limit, "decoded past the limit");
    decoded.body = Some(bytes.clone());

    let format = MediaType::from_headers(&headers).format();
    let build = |envelope: Option<&[u8]>| {
        let payload = trigger::parse(&bytes, format, 1000, false).ok()?;
        trigger::build(payload, bytes.clone(), envelope, true)
            .ok()
            .map(|triggers| triggers.texts)
    };
    if let (Some(plain), Some(enveloped)) = (build(None), build(Some(b"{\"h\":\"v\"}"))) {
        decoded.triggers = Some(Triggers { plain, enveloped });
    }
    decoded
}
