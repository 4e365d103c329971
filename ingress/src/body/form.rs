//! `application/x-www-form-urlencoded` bodies.

use serde_json::{Map, Value};

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("Invalid form data payload")]
pub struct InvalidForm;

/// Parses a form body into an object of field name to string. A name that appears more
/// than once becomes an array of its strings in order, so no field is lost.
///
/// `+` is a space and percent-escapes are decoded; a name or value whose decoded bytes
/// are not UTF-8 is refused rather than replaced, so a sender notices broken encoding.
pub fn parse(body: &[u8]) -> Result<Map<String, Value>, InvalidForm> {
    let mut fields = Map::new();
    for pair in body.split(|&byte| byte == b'&') {
        if pair.is_empty() {
            continue;
        }
        let (name, value) = match pair.iter().position(|&byte| byte == b'=') {
            Some(equals) => (&pair[..equals], &pair[equals + 1..]),
            None => (pair, &b""[..]),
        };
        let (name, value) = (decode(name)?, decode(value)?);

        match fields.get_mut(&name) {
            None => {
                fields.insert(name, Value::String(value));
            }
            Some(Value::Array(values)) => values.push(Value::String(value)),
            Some(first) => {
                let first = first.take();
                fields.insert(name, Value::Array(vec![first, Value::String(value)]));
            }
        }
    }
    Ok(fields)
}

/// Decodes one name or value: `+` to space, `%XX` to its byte, then UTF-8. A `%` not
/// followed by two hex digits is kept as it is, as browsers do.
fn decode(raw: &[u8]) -> Result<String, InvalidForm> {
    let mut bytes = Vec::with_capacity(raw.len());
    let mut index = 0;
    while index < raw.len() {
        match raw[index] {
            b'+' => bytes.push(b' '),
            b'%' => match (raw.get(index + 1), raw.get(index + 2)) {
                (Some(&high), Some(&low))
                    if high.is_ascii_hexdigit() && low.is_ascii_hexdigit() =>
                {
                    bytes.push(hex_value(high) << 4 | hex_value(low));
                    index += 2;
                }
                _ => bytes.push(b'%'),
            },
            byte => bytes.push(byte),
        }
        index += 1;
    }
    String::from_utf8(bytes).map_err(|_| InvalidForm)
}

fn hex_value(digit: u8) -> u8 {
    match digit {
        b'0'..=b'9' => digit - b'0',
        b'a'..=b'f' => digit - b'a' + 10,
        _ => digit - b'A' + 10,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn form(body: &str) -> Value {
        Value::Object(parse(body.as_bytes()).unwrap())
    }

    #[test]
    fn fields_become_strings() {
        assert_eq!(
            form("key=value&number=42"),
            json!({"key": "value", "number": "42"})
        );
    }

    #[test]
    fn repeated_names_keep_every_value_in_order() {
        assert_eq!(
            form("a=1&b=x&a=2&a=3"),
            json!({"a": ["1", "2", "3"], "b": "x"})
        );
    }

    #[test]
    fn plus_and_percent_escapes_are_decoded_as_utf8() {
        assert_eq!(
            form("msg=hello+world%21&e=%C3%A7a&plus=%2B"),
            json!({"msg": "hello world!", "e": "\u{e7}a", "plus": "+"})
        );
    }

    #[test]
    fn odd_pieces_are_tolerated() {
        assert_eq!(
            form("&flag&=v&pct=100%&bad=%zz&&"),
            json!({"flag": "", "": "v", "pct": "100%", "bad": "%zz"})
        );
        assert_eq!(form(""), json!({}));
    }

    #[test]
    fn bytes_that_are_not_utf8_are_refused() {
        assert_eq!(parse(b"name=%FF"), Err(InvalidForm));
        assert_eq!(parse(b"%C3=x"), Err(InvalidForm));
        assert_eq!(parse(b"raw=\xe9t\xe9"), Err(InvalidForm));
    }
}
