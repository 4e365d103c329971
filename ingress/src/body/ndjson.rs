//! Newline-delimited JSON bodies: one execution per line.

use serde_json::Value;

/// One non-blank line of an NDJSON body.
#[derive(Debug, PartialEq)]
pub struct Line {
    /// The line's text, without its `\n` or `\r\n`: the JSON text of its trigger.
    pub text: Vec<u8>,
    pub value: Value,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum NdjsonError {
    /// `line` counts every physical line from 1, blank ones included, so it matches
    /// what an editor shows.
    #[error("Invalid ndjson payload (line {line})")]
    InvalidLine { line: usize },
    #[error("Invalid ndjson payload (no lines)")]
    NoLines,
    #[error("Too many ndjson lines (limit {limit})")]
    TooManyLines { limit: usize },
}

/// Splits `body` into lines and parses each; blank (empty or whitespace-only) lines are
/// skipped. Any invalid line fails the whole body, so no execution is created for it.
pub fn parse(body: &[u8], max_lines: usize) -> Result<Vec<Line>, NdjsonError> {
    let mut lines = Vec::new();
    for (index, text) in body.split(|&byte| byte == b'\n').enumerate() {
        let text = text.strip_suffix(b"\r").unwrap_or(text);
        if text.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        if lines.len() == max_lines {
            return Err(NdjsonError::TooManyLines { limit: max_lines });
        }
        let value = serde_json::from_slice(text)
            .map_err(|_| NdjsonError::InvalidLine { line: index + 1 })?;
        lines.push(Line {
            text: text.to_vec(),
            value,
        });
    }

    if lines.is_empty() {
        return Err(NdjsonError::NoLines);
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn values(body: &str) -> Vec<Value> {
        parse(body.as_bytes(), 100)
            .unwrap()
            .into_iter()
            .map(|line| line.value)
            .collect()
    }

    #[test]
    fn each_line_is_one_value() {
        assert_eq!(
            values("{\"n\":1}\n{\"n\":2}\n"),
            vec![json!({"n": 1}), json!({"n": 2})]
        );
        assert_eq!(
            values("1\n\"two\"\n[3]"),
            vec![json!(1), json!("two"), json!([3])]
        );
    }

    #[test]
    fn crlf_endings_are_stripped_from_the_line_text() {
        let lines = parse(b"{\"n\":1}\r\n{\"n\":2}\r\n", 100).unwrap();
        assert_eq!(lines[0].text, b"{\"n\":1}");
        assert_eq!(lines[1].value, json!({"n": 2}));
    }

    #[test]
    fn blank_lines_are_skipped() {
        assert_eq!(
            values("\n{\"n\":1}\n\n  \t\n\r\n{\"n\":2}\n\n"),
            vec![json!({"n": 1}), json!({"n": 2})]
        );
    }

    #[test]
    fn a_bad_line_is_reported_by_its_physical_number() {
        assert_eq!(
            parse(b"{\"n\":1}\n\n{oops\n{\"n\":3}\n", 100),
            Err(NdjsonError::InvalidLine { line: 3 })
        );
        assert_eq!(
            NdjsonError::InvalidLine { line: 3 }.to_string(),
            "Invalid ndjson payload (line 3)"
        );
    }

    #[test]
    fn a_body_without_lines_is_refused() {
        for body in ["", "\n", " \r\n\t\n"] {
            assert_eq!(
                parse(body.as_bytes(), 100),
                Err(NdjsonError::NoLines),
                "{body:?}"
            );
        }
        assert_eq!(
            NdjsonError::NoLines.to_string(),
            "Invalid ndjson payload (no lines)"
        );
    }

    #[test]
    fn the_line_count_is_capped() {
        assert_eq!(values("1\n2\n\n3").len(), 3);
        assert_eq!(
            parse(b"1\n2\n\n3\n4", 3),
            Err(NdjsonError::TooManyLines { limit: 3 })
        );
        assert_eq!(
            NdjsonError::TooManyLines { limit: 3 }.to_string(),
            "Too many ndjson lines (limit 3)"
        );
        assert!(parse(b"1\n2\n3\n\n", 3).is_ok());
    }
}
