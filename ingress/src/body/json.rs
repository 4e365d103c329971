//! JSON bodies.

use serde_json::Value;

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("Invalid json payload")]
pub struct InvalidJson;

/// Parses a whole body as one JSON value of any kind.
pub fn parse(bytes: &[u8]) -> Result<Value, InvalidJson> {
    serde_json::from_slice(bytes).map_err(|_| InvalidJson)
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
        }
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
