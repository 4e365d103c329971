//! The media type of a request body, and how it is parsed.

use http::{HeaderMap, header::CONTENT_TYPE};

/// How a body of this media type becomes triggers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyFormat {
    /// One JSON value (the default for every type not listed below).
    Json,
    /// `application/x-www-form-urlencoded`.
    Form,
    /// One JSON value per line: `application/x-ndjson`, `application/jsonlines`,
    /// `application/jsonl`.
    Ndjson,
}

/// The part of `Content-Type` before `;`, trimmed and lower-cased (media types are
/// case-insensitive). Empty when the header is absent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MediaType(String);

impl MediaType {
    pub fn from_headers(headers: &HeaderMap) -> Self {
        headers
            .get(CONTENT_TYPE)
            .map(|value| Self::parse(&String::from_utf8_lossy(value.as_bytes())))
            .unwrap_or_default()
    }

    pub fn parse(content_type: &str) -> Self {
        let essence = content_type.split(';').next().unwrap_or_default();
        Self(essence.trim().to_ascii_lowercase())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn format(&self) -> BodyFormat {
        match self.as_str() {
            "application/x-www-form-urlencoded" => BodyFormat::Form,
            "application/x-ndjson" | "application/jsonlines" | "application/jsonl" => {
                BodyFormat::Ndjson
            }
            _ => BodyFormat::Json,
        }
    }

    /// True for `application/json` or no media type at all: the bodies a Slack
    /// `url_verification` handshake can arrive in.
    pub fn is_json_or_absent(&self) -> bool {
        matches!(self.as_str(), "" | "application/json")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_and_case_are_ignored() {
        assert_eq!(
            MediaType::parse(" Application/JSON ; charset=utf-8").as_str(),
            "application/json"
        );
        assert_eq!(
            MediaType::parse("Application/X-NDJSON").format(),
            BodyFormat::Ndjson
        );
    }

    #[test]
    fn each_listed_type_has_its_format() {
        for (content_type, format) in [
            (
                "application/x-www-form-urlencoded; charset=utf-8",
                BodyFormat::Form,
            ),
            ("application/x-ndjson", BodyFormat::Ndjson),
            ("application/jsonlines", BodyFormat::Ndjson),
            ("application/jsonl; charset=utf-8", BodyFormat::Ndjson),
            ("application/json", BodyFormat::Json),
            ("text/plain", BodyFormat::Json),
            ("", BodyFormat::Json),
        ] {
            assert_eq!(
                MediaType::parse(content_type).format(),
                format,
                "{content_type}"
            );
        }
    }

    #[test]
    fn a_missing_header_is_an_empty_media_type() {
        let media = MediaType::from_headers(&HeaderMap::new());
        assert_eq!(media.as_str(), "");
        assert!(media.is_json_or_absent());
        assert!(!MediaType::parse("text/plain").is_json_or_absent());
    }
}
