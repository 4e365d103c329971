//! The HTTP methods a webhook may accept.

/// What a webhook can be configured to accept; HEAD and OPTIONS are always answered.
const ALLOWED: [&str; 2] = ["GET", "POST"];

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum MethodsError {
    #[error("Unsupported method: {0} (allowed: GET, POST)")]
    Unsupported(String),
    #[error("At least one method is required (allowed: GET, POST)")]
    Empty,
}

/// The methods as stored: upper-case, deduplicated in first-seen order. Names are
/// compared case-insensitively and trimmed; blank entries are ignored.
pub fn normalise<S: AsRef<str>>(methods: &[S]) -> Result<Vec<String>, MethodsError> {
    let mut normalised: Vec<String> = Vec::with_capacity(ALLOWED.len());
    for method in methods {
        let method = method.as_ref().trim();
        if method.is_empty() {
            continue;
        }
        let upper = method.to_ascii_uppercase();
        if !ALLOWED.contains(&upper.as_str()) {
            return Err(MethodsError::Unsupported(method.to_owned()));
        }
        if !normalised.contains(&upper) {
            normalised.push(upper);
        }
    }
    if normalised.is_empty() {
        return Err(MethodsError::Empty);
    }
    Ok(normalised)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_are_upper_cased_and_deduplicated() {
        assert_eq!(normalise(&["post"]).unwrap(), ["POST"]);
        assert_eq!(
            normalise(&["get", "Post", "GET", " post "]).unwrap(),
            ["GET", "POST"]
        );
        assert_eq!(normalise(&["POST", "get"]).unwrap(), ["POST", "GET"]);
    }

    #[test]
    fn unknown_methods_are_named() {
        assert_eq!(
            normalise(&["GET", "put"]).unwrap_err().to_string(),
            "Unsupported method: put (allowed: GET, POST)"
        );
        assert_eq!(
            normalise(&["HEAD"]).unwrap_err(),
            MethodsError::Unsupported("HEAD".to_owned())
        );
    }

    #[test]
    fn an_empty_list_is_rejected() {
        assert_eq!(normalise::<&str>(&[]).unwrap_err(), MethodsError::Empty);
        assert_eq!(normalise(&["", "  "]).unwrap_err(), MethodsError::Empty);
    }
}
