//! `Content-Encoding`: which codings are understood, and decoding them as bytes arrive.

use std::io::Write;

use flate2::write::{DeflateDecoder, MultiGzDecoder, ZlibDecoder};
use http::{HeaderMap, header::CONTENT_ENCODING};

use super::limit::LimitedSink;

/// A content coding the ingress decodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContentCoding {
    Identity,
    Gzip,
    /// Zlib-wrapped or raw deflate; senders use both under this name.
    Deflate,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("Unsupported content encoding: {0}")]
pub struct UnsupportedEncoding(pub String);

impl ContentCoding {
    /// The coding named by the request's `Content-Encoding`. Anything else, or a list
    /// of several codings, is refused rather than stored undecoded.
    pub fn from_headers(headers: &HeaderMap) -> Result<Self, UnsupportedEncoding> {
        let values: Vec<String> = headers
            .get_all(CONTENT_ENCODING)
            .iter()
            .map(|value| String::from_utf8_lossy(value.as_bytes()).trim().to_owned())
            .collect();
        match values.as_slice() {
            [] => Ok(Self::Identity),
            [value] => Self::parse(value),
            _ => Err(UnsupportedEncoding(values.join(", "))),
        }
    }

    fn parse(value: &str) -> Result<Self, UnsupportedEncoding> {
        match value.to_ascii_lowercase().as_str() {
            "" | "identity" | "none" => Ok(Self::Identity),
            "gzip" | "x-gzip" => Ok(Self::Gzip),
            "deflate" => Ok(Self::Deflate),
            _ => Err(UnsupportedEncoding(value.to_owned())),
        }
    }
}

/// Why a body could not be decoded.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("Payload too large")]
    TooLarge,
    #[error("Invalid compressed body")]
    Corrupt,
}

/// Decodes a body incrementally into a [`LimitedSink`], so the decoded size is bounded
/// however well the body compresses.
pub struct Decoder {
    state: State,
    received_any: bool,
}

enum State {
    Identity(LimitedSink),
    Gzip(MultiGzDecoder<LimitedSink>),
    Zlib(ZlibDecoder<LimitedSink>),
    RawDeflate(DeflateDecoder<LimitedSink>),
    /// `deflate` before its first two bytes arrived: they tell zlib from raw.
    DeflateHeader {
        head: Vec<u8>,
        sink: LimitedSink,
    },
}

impl Decoder {
    /// `expected` is the size to reserve up front (the `Content-Length` of an
    /// uncompressed body); the buffer never exceeds `limit`.
    pub fn new(coding: ContentCoding, limit: usize, expected: usize) -> Self {
        let state = match coding {
            ContentCoding::Identity => State::Identity(LimitedSink::new(limit, expected)),
            ContentCoding::Gzip => State::Gzip(MultiGzDecoder::new(LimitedSink::new(limit, 0))),
            ContentCoding::Deflate => State::DeflateHeader {
                head: Vec::with_capacity(2),
                sink: LimitedSink::new(limit, 0),
            },
        };
        Self {
            state,
            received_any: false,
        }
    }

    /// Decodes the next piece of the body.
    pub fn write(&mut self, data: &[u8]) -> Result<(), DecodeError> {
        if data.is_empty() {
            return Ok(());
        }
        self.received_any = true;

        let result = match &mut self.state {
            State::Identity(sink) => sink.write_all(data),
            State::Gzip(decoder) => decoder.write_all(data),
            State::Zlib(decoder) => decoder.write_all(data),
            State::RawDeflate(decoder) => decoder.write_all(data),
            State::DeflateHeader { head, .. } => {
                let taken = (2 - head.len()).min(data.len());
                head.extend_from_slice(&data[..taken]);
                if head.len() < 2 {
                    return Ok(());
                }
                let head = self.choose_deflate_flavour();
                self.write(&head)?;
                return self.write(&data[taken..]);
            }
        };
        result.map_err(|_| self.classify())
    }

    /// Ends the body, checking that a compressed stream was complete, and returns the
    /// decoded bytes.
    pub fn finish(mut self) -> Result<Vec<u8>, DecodeError> {
        if !self.received_any {
            return Ok(Vec::new());
        }

        // Finishing flushes the decoder's last output, which the sink may still refuse.
        let flushed = match &mut self.state {
            State::Identity(_) => Ok(()),
            State::Gzip(decoder) => decoder.try_finish(),
            State::Zlib(decoder) => decoder.try_finish(),
            State::RawDeflate(decoder) => decoder.try_finish(),
            State::DeflateHeader { .. } => return Err(DecodeError::Corrupt),
        };
        flushed.map_err(|_| self.classify())?;

        let sink = match self.state {
            State::Identity(sink) | State::DeflateHeader { sink, .. } => Ok(sink),
            State::Gzip(decoder) => decoder.finish(),
            State::Zlib(decoder) => decoder.finish(),
            State::RawDeflate(decoder) => decoder.finish(),
        };
        sink.map(LimitedSink::into_bytes)
            .map_err(|_| DecodeError::Corrupt)
    }

    /// Replaces the header state by a zlib or raw deflate decoder and returns the header
    /// bytes it still has to decode. Zlib streams start with a two-byte header whose
    /// value is a multiple of 31 and whose method is 8 (deflate); anything else is read
    /// as raw deflate.
    fn choose_deflate_flavour(&mut self) -> Vec<u8> {
        let placeholder = State::Identity(LimitedSink::new(0, 0));
        let (head, sink) = match std::mem::replace(&mut self.state, placeholder) {
            State::DeflateHeader { head, sink } => (head, sink),
            other => {
                self.state = other;
                return Vec::new();
            }
        };
        let (cmf, flg) = (u16::from(head[0]), u16::from(head[1]));
        let is_zlib = cmf & 0x0f == 8 && cmf >> 4 <= 7 && ((cmf << 8) | flg) % 31 == 0;
        self.state = if is_zlib {
            State::Zlib(ZlibDecoder::new(sink))
        } else {
            State::RawDeflate(DeflateDecoder::new(sink))
        };
        head
    }

    fn classify(&self) -> DecodeError {
        let exceeded = match &self.state {
            State::Identity(sink) | State::DeflateHeader { sink, .. } => sink.exceeded(),
            State::Gzip(decoder) => decoder.get_ref().exceeded(),
            State::Zlib(decoder) => decoder.get_ref().exceeded(),
            State::RawDeflate(decoder) => decoder.get_ref().exceeded(),
        };
        if exceeded {
            DecodeError::TooLarge
        } else {
            DecodeError::Corrupt
        }
    }
}

#[cfg(test)]
impl Decoder {
    /// The capacity of the buffer holding the decoded bytes.
    fn decoded_capacity(&self) -> usize {
        match &self.state {
            State::Identity(sink) | State::DeflateHeader { sink, .. } => sink.capacity(),
            State::Gzip(decoder) => decoder.get_ref().capacity(),
            State::Zlib(decoder) => decoder.get_ref().capacity(),
            State::RawDeflate(decoder) => decoder.get_ref().capacity(),
        }
    }
}

#[cfg(test)]
mod tests {
    use flate2::{
        Compression,
        write::{DeflateEncoder, GzEncoder, ZlibEncoder},
    };

    use super::*;

    const TEXT: &[u8] = b"{\"message\":\"compressed webhook body\",\"n\":[1,2,3]}";

    fn compress<W: Write>(mut encoder: W, data: &[u8]) -> W {
        encoder.write_all(data).unwrap();
        encoder
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        compress(GzEncoder::new(Vec::new(), Compression::fast()), data)
            .finish()
            .unwrap()
    }

    fn zlib(data: &[u8]) -> Vec<u8> {
        compress(ZlibEncoder::new(Vec::new(), Compression::default()), data)
            .finish()
            .unwrap()
    }

    fn raw_deflate(data: &[u8]) -> Vec<u8> {
        compress(
            DeflateEncoder::new(Vec::new(), Compression::default()),
            data,
        )
        .finish()
        .unwrap()
    }

    /// Decodes `body` fed one `chunk`-sized piece at a time.
    fn decode(
        coding: ContentCoding,
        body: &[u8],
        chunk: usize,
        limit: usize,
    ) -> Result<Vec<u8>, DecodeError> {
        let mut decoder = Decoder::new(coding, limit, 0);
        for piece in body.chunks(chunk) {
            decoder.write(piece)?;
        }
        decoder.finish()
    }

    fn coding(values: &[&str]) -> Result<ContentCoding, UnsupportedEncoding> {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(CONTENT_ENCODING, value.parse().unwrap());
        }
        ContentCoding::from_headers(&headers)
    }

    #[test]
    fn known_codings_are_recognised_in_any_case() {
        assert_eq!(coding(&[]), Ok(ContentCoding::Identity));
        assert_eq!(coding(&["identity"]), Ok(ContentCoding::Identity));
        assert_eq!(coding(&["None"]), Ok(ContentCoding::Identity));
        assert_eq!(coding(&["GZIP"]), Ok(ContentCoding::Gzip));
        assert_eq!(coding(&["x-gzip"]), Ok(ContentCoding::Gzip));
        assert_eq!(coding(&[" deflate "]), Ok(ContentCoding::Deflate));
    }

    #[test]
    fn other_codings_and_lists_are_unsupported() {
        assert_eq!(coding(&["br"]), Err(UnsupportedEncoding("br".into())));
        assert_eq!(
            coding(&["gzip, gzip"]),
            Err(UnsupportedEncoding("gzip, gzip".into()))
        );
        assert_eq!(
            coding(&["gzip", "identity"]),
            Err(UnsupportedEncoding("gzip, identity".into()))
        );
        assert_eq!(
            UnsupportedEncoding("zstd".into()).to_string(),
            "Unsupported content encoding: zstd"
        );
    }

    #[test]
    fn gzip_decodes_in_any_chunking() {
        let body = gzip(TEXT);
        for chunk in [1, 3, 7, body.len()] {
            assert_eq!(
                decode(ContentCoding::Gzip, &body, chunk, 1024).unwrap(),
                TEXT
            );
        }
    }

    #[test]
    fn concatenated_gzip_members_are_all_decoded() {
        let body = [gzip(b"[1,"), gzip(b"2]")].concat();
        assert_eq!(
            decode(ContentCoding::Gzip, &body, 4, 1024).unwrap(),
            b"[1,2]"
        );
    }

    #[test]
    fn deflate_accepts_zlib_and_raw_streams() {
        for body in [zlib(TEXT), raw_deflate(TEXT)] {
            for chunk in [1, 2, 5, body.len()] {
                assert_eq!(
                    decode(ContentCoding::Deflate, &body, chunk, 1024).unwrap(),
                    TEXT
                );
            }
        }
    }

    #[test]
    fn corrupt_or_truncated_streams_are_refused() {
        let gzipped = gzip(TEXT);
        assert_eq!(
            decode(ContentCoding::Gzip, b"not gzip at all", 4, 1024),
            Err(DecodeError::Corrupt)
        );
        assert_eq!(
            decode(ContentCoding::Gzip, &gzipped[..gzipped.len() - 4], 4, 1024),
            Err(DecodeError::Corrupt)
        );
        let zlibbed = zlib(TEXT);
        assert_eq!(
            decode(
                ContentCoding::Deflate,
                &zlibbed[..zlibbed.len() / 2],
                4,
                1024
            ),
            Err(DecodeError::Corrupt)
        );
        assert_eq!(
            decode(ContentCoding::Deflate, b"x", 1, 1024),
            Err(DecodeError::Corrupt)
        );
        assert_eq!(
            decode(ContentCoding::Deflate, &[0xff; 16], 3, 1024),
            Err(DecodeError::Corrupt)
        );
    }

    #[test]
    fn trailing_garbage_after_a_stream_is_refused() {
        let body = [zlib(TEXT), b"junk".to_vec()].concat();
        assert_eq!(
            decode(ContentCoding::Deflate, &body, 8, 1024),
            Err(DecodeError::Corrupt)
        );
        let body = [gzip(TEXT), b"junk".to_vec()].concat();
        assert_eq!(
            decode(ContentCoding::Gzip, &body, 8, 1024),
            Err(DecodeError::Corrupt)
        );
    }

    #[test]
    fn an_empty_compressed_body_is_an_empty_body() {
        assert_eq!(decode(ContentCoding::Gzip, b"", 1, 1024).unwrap(), b"");
        assert_eq!(decode(ContentCoding::Deflate, b"", 1, 1024).unwrap(), b"");
    }

    #[test]
    fn a_body_decoding_to_exactly_the_limit_is_accepted() {
        let body = gzip(&[b'a'; 1000]);
        assert_eq!(
            decode(ContentCoding::Gzip, &body, 64, 1000).unwrap().len(),
            1000
        );
        assert_eq!(
            decode(ContentCoding::Gzip, &body, 64, 999),
            Err(DecodeError::TooLarge)
        );
    }

    #[test]
    fn a_decompression_bomb_never_grows_past_the_limit() {
        const LIMIT: usize = 1024 * 1024;
        let zeros = vec![0u8; 50 * 1024 * 1024];
        let bomb = gzip(&zeros);
        drop(zeros);
        assert!(bomb.len() < LIMIT);

        let mut decoder = Decoder::new(ContentCoding::Gzip, LIMIT, 0);
        let mut outcome = Ok(());
        for piece in bomb.chunks(16 * 1024) {
            outcome = decoder.write(piece);
            assert!(decoder.decoded_capacity() <= LIMIT);
            if outcome.is_err() {
                break;
            }
        }
        assert_eq!(outcome, Err(DecodeError::TooLarge));
        assert!(decoder.decoded_capacity() <= LIMIT);
    }
}
