//! Receiving a request body: size limits, content codings, and the formats it parses as.

pub mod encoding;
pub mod form;
pub mod json;
pub mod limit;
pub mod media;
pub mod ndjson;

use bytes::Bytes;
use http::{HeaderMap, header::CONTENT_LENGTH};
use http_body_util::BodyExt;

use encoding::{ContentCoding, DecodeError, Decoder, UnsupportedEncoding};

/// Why a body was not received.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    #[error(transparent)]
    UnsupportedEncoding(#[from] UnsupportedEncoding),
    #[error("Payload too large")]
    TooLarge,
    #[error("Invalid compressed body")]
    Corrupt,
    /// The connection failed or the framing was broken while the body was arriving.
    #[error("the request body could not be read")]
    Unreadable,
}

impl From<DecodeError> for BodyError {
    fn from(error: DecodeError) -> Self {
        match error {
            DecodeError::TooLarge => Self::TooLarge,
            DecodeError::Corrupt => Self::Corrupt,
        }
    }
}

/// Reads and decodes a whole body. `limit` bounds the bytes received and the bytes
/// decoded alike, whether or not `Content-Length` was sent: a declared length over it
/// fails before anything is read, and a chunked body fails as soon as it passes it.
pub async fn receive<B>(body: B, headers: &HeaderMap, limit: usize) -> Result<Vec<u8>, BodyError>
where
    B: hyper::body::Body<Data = Bytes>,
{
    let coding = ContentCoding::from_headers(headers)?;
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok());
    let declared = match declared {
        Some(length) if length > limit as u64 => return Err(BodyError::TooLarge),
        Some(length) => usize::try_from(length).unwrap_or(limit),
        None => 0,
    };

    // Only an uncompressed body's decoded size is known in advance.
    let expected = if coding == ContentCoding::Identity {
        declared
    } else {
        0
    };
    let mut decoder = Decoder::new(coding, limit, expected);
    let mut received = 0usize;
    let mut body = std::pin::pin!(body);
    // How long the body may take to arrive is bounded by the caller (the ingress's body
    // read timeout), which drops this future and with it the connection's buffer.
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| BodyError::Unreadable)?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        received = received.saturating_add(data.len());
        if received > limit {
            return Err(BodyError::TooLarge);
        }
        decoder.write(&data)?;
    }
    Ok(decoder.finish()?)
}

#[cfg(test)]
mod tests {
    use std::{convert::Infallible, io::Write};

    use flate2::{Compression, write::GzEncoder};
    use futures_util::stream;
    use http_body_util::{Full, StreamBody};
    use hyper::body::Frame;

    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(name, value)| (name.parse().unwrap(), value.parse().unwrap()))
            .collect()
    }

    fn chunked(
        pieces: Vec<Vec<u8>>,
    ) -> StreamBody<impl futures_util::Stream<Item = Result<Frame<Bytes>, Infallible>>> {
        StreamBody::new(stream::iter(
            pieces
                .into_iter()
                .map(|piece| Ok(Frame::data(Bytes::from(piece)))),
        ))
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    #[tokio::test]
    async fn a_plain_body_is_returned_as_sent() {
        let body = Full::new(Bytes::from_static(b"{\"a\":1}"));
        let received = receive(body, &headers(&[("content-length", "7")]), 100).await;
        assert_eq!(received.unwrap(), b"{\"a\":1}");
    }

    #[tokio::test]
    async fn a_declared_length_over_the_limit_fails_at_once() {
        let body = Full::new(Bytes::new());
        let received = receive(body, &headers(&[("content-length", "101")]), 100).await;
        assert_eq!(received, Err(BodyError::TooLarge));
    }

    #[tokio::test]
    async fn a_chunked_body_fails_once_it_passes_the_limit() {
        let body = chunked(vec![vec![b'1'; 60], vec![b'2'; 60]]);
        assert_eq!(
            receive(body, &HeaderMap::new(), 100).await,
            Err(BodyError::TooLarge)
        );

        let body = chunked(vec![vec![b'1'; 50], vec![b'2'; 50]]);
        assert_eq!(
            receive(body, &HeaderMap::new(), 100).await.unwrap().len(),
            100
        );
    }

    #[tokio::test]
    async fn a_gzip_body_is_decoded_across_chunks() {
        let compressed = gzip(b"{\"zipped\":true}");
        let (first, second) = compressed.split_at(5);
        let body = chunked(vec![first.to_vec(), second.to_vec()]);
        let received = receive(body, &headers(&[("content-encoding", "gzip")]), 100).await;
        assert_eq!(received.unwrap(), b"{\"zipped\":true}");
    }

    #[tokio::test]
    async fn the_decoded_size_is_limited_too() {
        let body = Full::new(Bytes::from(gzip(&[b' '; 1000])));
        let received = receive(body, &headers(&[("content-encoding", "gzip")]), 100).await;
        assert_eq!(received, Err(BodyError::TooLarge));
    }

    #[tokio::test]
    async fn an_unsupported_coding_is_refused_before_reading() {
        let body = Full::new(Bytes::from_static(b"xx"));
        let received = receive(body, &headers(&[("content-encoding", "br")]), 100).await;
        assert_eq!(
            received.unwrap_err().to_string(),
            "Unsupported content encoding: br"
        );
    }
}
