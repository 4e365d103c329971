//! JSON bodies.

use std::fmt;

use serde::{
    Deserialize, Deserializer,
    de::{MapAccess, SeqAccess, Visitor},
};
use serde_json::Value;

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("Invalid json payload")]
pub struct InvalidJson;

/// Parses a whole body as one JSON value of any kind.
pub fn parse(bytes: &[u8]) -> Result<Value, InvalidJson> {
    serde_json::from_slice(bytes).map_err(|_| InvalidJson)
}

/// Checks that a whole body is one JSON value, exactly as strictly as [`parse`] (the
/// same grammar, string escapes, UTF-8, number range and nesting limit), without
/// building the value: nothing is allocated but the scratch space of escaped strings.
pub fn validate(bytes: &[u8]) -> Result<(), InvalidJson> {
    serde_json::from_slice::<Discarded>(bytes)
        .map(drop)
        .map_err(|_| InvalidJson)
}

/// Any JSON value, parsed through the same path as a [`Value`] and then forgotten.
/// (`serde::de::IgnoredAny` would skip strings and numbers without checking them the
/// way a `Value` does: lone surrogate escapes and out-of-range numbers would pass.)
struct Discarded;

impl<'de> Deserialize<'de> for Discarded {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(Discarding)
    }
}

struct Discarding;

impl<'de> Visitor<'de> for Discarding {
    type Value = Discarded;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Discarded, E> {
        Ok(Discarded)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Discarded, E> {
        Ok(Discarded)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Discarded, E> {
        Ok(Discarded)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Discarded, E> {
        Ok(Discarded)
    }

    fn visit_str<E>(self, _: &str) -> Result<Discarded, E> {
        Ok(Discarded)
    }

    fn visit_unit<E>(self) -> Result<Discarded, E> {
        Ok(Discarded)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<Discarded, A::Error> {
        while items.next_element::<Discarded>()?.is_some() {}
        Ok(Discarded)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut entries: A) -> Result<Discarded, A::Error> {
        while entries.next_entry::<Discarded, Discarded>()?.is_some() {}
        Ok(Discarded)
    }
}

/// True when valid JSON text contains the escape `\u0000`. PostgreSQL's `jsonb` cannot
/// store a NUL character, so such a trigger is refused before it reaches the database.
/// An escaped backslash followed by `u0000` (`\\u0000`) is ordinary text and passes.
pub fn has_nul_escape(text: &[u8]) -> bool {
    let mut index = 0;
    while let Some(offset) = text[index..].iter().position(|&byte| byte == b'\\') {
        let escape = index + offset;
        if text[escape + 1..].starts_with(b"u0000") {
            return true;
        }
        // Skip the escaped character so that `\\` cannot start a second escape.
        index = escape + 2;
        if index >= text.len() {
            return false;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn any_json_value_parses() {
        assert_eq!(parse(b"[1,2,3]"), Ok(json!([1, 2, 3])));
        assert_eq!(parse(b" \"just a string\" "), Ok(json!("just a string")));
        assert_eq!(parse(b"null"), Ok(Value::Null));
    }

    #[test]
    fn invalid_json_is_refused() {
        for body in [&b"{\"a\":"[..], b"", b"{} {}", b"\xff"] {
            assert_eq!(parse(body), Err(InvalidJson));
            assert_eq!(validate(body), Err(InvalidJson));
        }
    }

    #[test]
    fn validating_accepts_and_refuses_exactly_what_parsing_does() {
        let deep_enough = format!("{}{}", "[".repeat(127), "]".repeat(127));
        let too_deep = format!("{}{}", "[".repeat(129), "]".repeat(129));
        let bodies: Vec<&[u8]> = vec![
            br#"{"a":[1,-2,3.5e10,true,false,null],"b":{"c":"d\n\u00e9"}}"#,
            br#"{"a":1,"a":2}"#,
            b" 7 ",
            br#""\ud83d\ude00""#,
            // A lone surrogate, a number out of range, a raw control character,
            // invalid UTF-8 inside a string, a bad escape, a trailing comma.
            br#""\ud800""#,
            b"1e400",
            b"\"a\tb\"",
            b"\"\xc3\x28\"",
            br#""\x""#,
            b"[1,]",
            deep_enough.as_bytes(),
            too_deep.as_bytes(),
        ];
        for body in bodies {
            assert_eq!(
                validate(body).is_ok(),
                parse(body).is_ok(),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
        assert!(validate(b"1e400").is_err());
        assert!(validate(br#""\ud800""#).is_err());
    }

    #[test]
    fn nul_escapes_are_found_outside_escaped_backslashes() {
        assert!(has_nul_escape(br#"{"a":"\u0000"}"#));
        assert!(has_nul_escape(br#"["x\\\u0000"]"#));
        assert!(!has_nul_escape(br#"{"a":"\\u0000"}"#));
        assert!(!has_nul_escape(br#"{"a":"\u0001\n"}"#));
        assert!(!has_nul_escape(br#"["\\"]"#));
        assert!(!has_nul_escape(b""));
    }
}
