//! From a decoded body to the TRIGGER of each execution.

use std::sync::LazyLock;

use memchr::memmem::Finder;
use serde_json::{Map, Value};

use crate::{
    body::{
        form, json,
        media::BodyFormat,
        ndjson::{self, Line},
    },
    envelope,
    response::Reject,
};

/// A body parsed for its media type.
#[derive(Debug, PartialEq)]
pub enum Payload {
    /// Zero bytes after decoding, whatever the media type: TRIGGER is `null`.
    Empty,
    Json(Value),
    /// A JSON body known to be valid but not turned into a value, because nothing
    /// would read it (see [`is_read`]).
    JsonUnread,
    Form(Map<String, Value>),
    /// One execution per line.
    Ndjson(Vec<Line>),
}

/// The triggers of one request, ready to commit.
#[derive(Debug, PartialEq)]
pub struct Triggers {
    /// The JSON text of each TRIGGER, in order; empty for `null`.
    pub texts: Vec<Vec<u8>>,
    /// True when the answer lists every execution id (NDJSON).
    pub one_per_line: bool,
    /// What `echo` returns: the parsed body, never the headers envelope.
    pub echo: Option<Value>,
}

/// Text that a JSON body must contain for any check to read its content: the values
/// that `handshake::slack_challenge` and `dedup_key::find` look for (Slack's
/// `url_verification` and `event_callback`, Stripe's `evt_` ids, Okta's event hook
/// type). Whoever reads a new field of a JSON body adds its value here.
const READ_MARKERS: &[&[u8]] = &[
    b"url_verification",
    b"event_callback",
    b"evt_",
    b"com.okta.event_hook",
];

/// Whether a JSON body's value is needed: for the echo, or because it may be one that
/// a handshake or deduplication reads. A `\u` escape could spell any marker, so a body
/// with one is always read.
fn is_read(body: &[u8], echo: bool) -> bool {
    echo || SEARCHES.iter().any(|search| search.find(body).is_some())
}

/// The searches [`is_read`] makes, prepared once rather than for every request.
static SEARCHES: LazyLock<Vec<Finder<'static>>> = LazyLock::new(|| {
    READ_MARKERS
        .iter()
        .chain(&[&b"\\u"[..]])
        .map(|needle| Finder::new(*needle))
        .collect()
});

/// Parses a decoded body. `format` comes from the media type; with `echo` the answer
/// will return the parsed body.
///
/// Most JSON bodies are only validated: building a `Value` costs allocations for every
/// string and object, and a copy of the body's size, for nothing when no one reads it.
pub fn parse(
    body: &[u8],
    format: BodyFormat,
    max_ndjson_lines: usize,
    echo: bool,
) -> Result<Payload, Reject> {
    if body.is_empty() {
        return Ok(Payload::Empty);
    }
    Ok(match format {
        BodyFormat::Json if !is_read(body, echo) => {
            json::validate(body)?;
            Payload::JsonUnread
        }
        BodyFormat::Json => Payload::Json(json::parse(body)?),
        BodyFormat::Form => Payload::Form(form::parse(body)?),
        BodyFormat::Ndjson => Payload::Ndjson(ndjson::parse(body, max_ndjson_lines)?),
    })
}

/// Builds the TRIGGER texts. A JSON body is stored as the text it arrived in, not
/// serialised again. With `headers_json` (the webhook includes headers) each TRIGGER is
/// the envelope around the value.
pub fn build(
    payload: Payload,
    body: Vec<u8>,
    headers_json: Option<&[u8]>,
    echo: bool,
) -> Result<Triggers, Reject> {
    let wrap = |data: &[u8], raw: &[u8]| {
        headers_json.map(|headers| envelope::envelope(headers, data, raw))
    };
    let mut one_per_line = false;

    let (texts, echoed) = match payload {
        Payload::Empty => (vec![wrap(b"null", b"").unwrap_or_default()], Value::Null),
        Payload::Json(value) => (vec![wrap(&body, &body).unwrap_or(body)], value),
        // Never with echo, which always reads the body.
        Payload::JsonUnread => (vec![wrap(&body, &body).unwrap_or(body)], Value::Null),
        Payload::Form(fields) => {
            let fields = Value::Object(fields);
            let text = serde_json::to_vec(&fields).expect("a form object always serialises");
            (vec![wrap(&text, &body).unwrap_or(text)], fields)
        }
        Payload::Ndjson(lines) => {
            one_per_line = true;
            let mut texts = Vec::with_capacity(lines.len());
            let mut values = Vec::with_capacity(if echo { lines.len() } else { 0 });
            for Line { text, value } in lines {
                texts.push(wrap(&text, &text).unwrap_or(text));
                if echo {
                    values.push(value);
                }
            }
            (texts, Value::Array(values))
        }
    };

    if texts.iter().any(|text| json::has_nul_escape(text)) {
        return Err(Reject::InvalidJson);
    }
    Ok(Triggers {
        texts,
        one_per_line,
        echo: echo.then_some(echoed),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn triggers(
        body: &str,
        format: BodyFormat,
        headers: Option<&[u8]>,
        echo: bool,
    ) -> Result<Triggers, Reject> {
        let payload = parse(body.as_bytes(), format, 10, echo)?;
        build(payload, body.as_bytes().to_vec(), headers, echo)
    }

    fn values(triggers: &Triggers) -> Vec<Value> {
        triggers
            .texts
            .iter()
            .map(|text| {
                if text.is_empty() {
                    Value::Null
                } else {
                    serde_json::from_slice(text).unwrap()
                }
            })
            .collect()
    }

    #[test]
    fn a_json_body_is_stored_as_sent() {
        let built = triggers("{ \"b\": 1, \"a\": 2 }", BodyFormat::Json, None, false).unwrap();
        assert_eq!(built.texts, vec![b"{ \"b\": 1, \"a\": 2 }".to_vec()]);
        assert_eq!(built.echo, None);
        assert!(!built.one_per_line);
    }

    #[test]
    fn an_empty_body_is_a_null_trigger_for_any_media_type() {
        for format in [BodyFormat::Json, BodyFormat::Form, BodyFormat::Ndjson] {
            let built = triggers("", format, None, true).unwrap();
            assert_eq!(built.texts, vec![Vec::<u8>::new()]);
            assert_eq!(built.echo, Some(Value::Null));
        }
    }

    #[test]
    fn a_form_becomes_one_object() {
        let built = triggers("a=1&a=2&b=x", BodyFormat::Form, None, true).unwrap();
        assert_eq!(values(&built), vec![json!({"a": ["1", "2"], "b": "x"})]);
        assert_eq!(built.echo, Some(json!({"a": ["1", "2"], "b": "x"})));
    }

    #[test]
    fn ndjson_gives_one_trigger_per_line_and_echoes_the_array() {
        let built = triggers("{\"n\":1}\n\n{\"n\":2}\r\n", BodyFormat::Ndjson, None, true).unwrap();
        assert_eq!(values(&built), vec![json!({"n": 1}), json!({"n": 2})]);
        assert!(built.one_per_line);
        assert_eq!(built.echo, Some(json!([{"n": 1}, {"n": 2}])));
    }

    #[test]
    fn include_headers_wraps_each_trigger_but_not_the_echo() {
        let headers = br#"{"x-sender":"s"}"#;
        let built = triggers(
            "{\"n\":1}\n{\"n\":2}",
            BodyFormat::Ndjson,
            Some(headers),
            true,
        )
        .unwrap();
        assert_eq!(
            values(&built),
            vec![
                json!({"headers": {"x-sender": "s"}, "data": {"n": 1}, "raw_body": "{\"n\":1}"}),
                json!({"headers": {"x-sender": "s"}, "data": {"n": 2}, "raw_body": "{\"n\":2}"}),
            ]
        );
        assert_eq!(built.echo, Some(json!([{"n": 1}, {"n": 2}])));

        let built = triggers("k=v", BodyFormat::Form, Some(headers), false).unwrap();
        assert_eq!(
            values(&built),
            vec![json!({"headers": {"x-sender": "s"}, "data": {"k": "v"}, "raw_body": "k=v"})]
        );

        let built = triggers("", BodyFormat::Json, Some(headers), false).unwrap();
        assert_eq!(
            values(&built),
            vec![json!({"headers": {"x-sender": "s"}, "data": null, "raw_body": ""})]
        );
    }

    #[test]
    fn a_nul_character_is_refused_in_any_format() {
        assert_eq!(
            triggers(r#"{"a":"\u0000"}"#, BodyFormat::Json, None, false),
            Err(Reject::InvalidJson)
        );
        assert_eq!(
            triggers("a=%00", BodyFormat::Form, None, false),
            Err(Reject::InvalidJson)
        );
        assert_eq!(
            triggers("1\n\"\\u0000\"", BodyFormat::Ndjson, None, false),
            Err(Reject::InvalidJson)
        );
        assert!(triggers(r#"{"a":"\\u0000"}"#, BodyFormat::Json, None, false).is_ok());
    }

    #[test]
    fn parse_errors_carry_the_contract_messages() {
        let error =
            |body: &str, format| triggers(body, format, None, false).unwrap_err().to_string();
        assert_eq!(error("{", BodyFormat::Json), "Invalid json payload");
        assert_eq!(
            error("a=%FF", BodyFormat::Form),
            "Invalid form data payload"
        );
        assert_eq!(
            error("1\n{", BodyFormat::Ndjson),
            "Invalid ndjson payload (line 2)"
        );
        assert_eq!(
            error("\n\n", BodyFormat::Ndjson),
            "Invalid ndjson payload (no lines)"
        );
        assert_eq!(
            error(&"1\n".repeat(11), BodyFormat::Ndjson),
            "Too many ndjson lines (limit 10)"
        );
    }

    #[test]
    fn a_json_body_nothing_reads_is_validated_but_not_built() {
        let body = r#"{"event":"push","data":"x"}"#;
        assert_eq!(
            parse(body.as_bytes(), BodyFormat::Json, 10, false),
            Ok(Payload::JsonUnread)
        );
        let plain = triggers(body, BodyFormat::Json, None, false).unwrap();
        assert_eq!(plain.texts, vec![body.as_bytes().to_vec()]);
        assert_eq!(plain.echo, None);
        assert_eq!(
            parse(b"{\"a\":", BodyFormat::Json, 10, false),
            Err(Reject::InvalidJson)
        );
        // The echo needs the value.
        assert_eq!(
            parse(body.as_bytes(), BodyFormat::Json, 10, true),
            Ok(Payload::Json(serde_json::from_str(body).unwrap()))
        );
    }

    #[test]
    fn every_body_a_check_reads_is_built() {
        let no_headers = http::HeaderMap::new();
        let delivery = |body: &str| {
            let payload = parse(body.as_bytes(), BodyFormat::Json, 10, false).unwrap();
            crate::dedup_key::find(&no_headers, &payload)
        };
        assert_eq!(
            delivery(r#"{"type":"event_callback","event_id":"Ev1"}"#).as_deref(),
            Some("slack-event-id:Ev1")
        );
        assert_eq!(
            delivery(r#"{"object":"event","id":"evt_1"}"#).as_deref(),
            Some("stripe-event-id:evt_1")
        );
        assert_eq!(
            delivery(r#"{"eventType":"com.okta.event_hook","data":{"events":[{"uuid":"u1"}]}}"#)
                .as_deref(),
            Some("okta-event-uuid:u1")
        );
        // Spelt with escapes, which no marker search can see through.
        assert_eq!(
            delivery(r#"{"type":"event\u005fcallback","event_id":"Ev2"}"#).as_deref(),
            Some("slack-event-id:Ev2")
        );

        for body in [
            r#"{"type":"url_verification","challenge":"c1"}"#,
            r#"{"type":"url\u005fverification","challenge":"c1"}"#,
        ] {
            let Ok(Payload::Json(value)) = parse(body.as_bytes(), BodyFormat::Json, 10, false)
            else {
                panic!("{body} was not built");
            };
            assert_eq!(crate::handshake::slack_challenge(&value), Some("c1"));
        }
    }
}
