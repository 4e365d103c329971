//! The query parameters the ingress understands: `echo`, `empty_echo` and `vendor`.

/// A sender whose handshake the ingress answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Vendor {
    Okta,
}

/// What the query string asks for. Parameters other than these are ignored, because
/// senders add their own.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Query {
    pub echo: bool,
    pub empty_echo: bool,
    pub vendor: Option<Vendor>,
}

impl Query {
    /// True when the answer to a created execution is an empty 200.
    pub fn wants_empty_answer(&self) -> bool {
        self.echo && self.empty_echo
    }
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("Invalid value for {name}: {value}")]
    InvalidBoolean { name: &'static str, value: String },
    #[error("Unsupported vendor: {0}. Expected: `okta`.")]
    UnsupportedVendor(String),
}

/// Parses a raw query string; a repeated parameter takes its last value.
pub fn parse(raw: Option<&str>) -> Result<Query, QueryError> {
    let (mut echo, mut empty_echo, mut vendor) = (None, None, None);
    for (name, value) in form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        match name.as_ref() {
            "echo" => echo = Some(value),
            "empty_echo" => empty_echo = Some(value),
            "vendor" => vendor = Some(value),
            _ => {}
        }
    }

    Ok(Query {
        echo: echo.map_or(Ok(false), |value| boolean("echo", &value))?,
        empty_echo: empty_echo.map_or(Ok(false), |value| boolean("empty_echo", &value))?,
        vendor: vendor.map(|value| parse_vendor(&value)).transpose()?,
    })
}

fn boolean(name: &'static str, value: &str) -> Result<bool, QueryError> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(QueryError::InvalidBoolean {
            name,
            value: value.to_owned(),
        }),
    }
}

/// Vendor names are compared exactly: `OKTA` is not `okta`.
fn parse_vendor(value: &str) -> Result<Vendor, QueryError> {
    match value {
        "okta" => Ok(Vendor::Okta),
        other => Err(QueryError::UnsupportedVendor(other.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_query_means_defaults() {
        assert_eq!(parse(None), Ok(Query::default()));
        assert_eq!(parse(Some("")), Ok(Query::default()));
    }

    #[test]
    fn booleans_accept_every_documented_spelling_in_any_case() {
        for (text, expected) in [
            ("true", true),
            ("TRUE", true),
            ("1", true),
            ("yes", true),
            ("On", true),
            ("false", false),
            ("False", false),
            ("0", false),
            ("no", false),
            ("OFF", false),
        ] {
            let query = parse(Some(&format!("echo={text}"))).unwrap();
            assert_eq!(query.echo, expected, "{text}");
        }
    }

    #[test]
    fn an_invalid_boolean_names_the_parameter_and_value() {
        assert_eq!(
            parse(Some("echo=perhaps")).unwrap_err().to_string(),
            "Invalid value for echo: perhaps"
        );
        assert_eq!(
            parse(Some("empty_echo=")).unwrap_err().to_string(),
            "Invalid value for empty_echo: "
        );
        assert_eq!(
            parse(Some("echo=maybe%20not")).unwrap_err().to_string(),
            "Invalid value for echo: maybe not"
        );
    }

    #[test]
    fn the_last_repeated_value_wins() {
        assert!(parse(Some("echo=perhaps&echo=true")).unwrap().echo);
        assert!(!parse(Some("echo=true&echo=0")).unwrap().echo);
    }

    #[test]
    fn unknown_parameters_are_ignored() {
        let query = parse(Some("token=abc&echo=yes&empty_echo=on&x")).unwrap();
        assert!(query.echo && query.empty_echo && query.wants_empty_answer());
    }

    #[test]
    fn empty_echo_alone_keeps_the_ordinary_answer() {
        assert!(!parse(Some("empty_echo=true")).unwrap().wants_empty_answer());
    }

    #[test]
    fn only_the_exact_okta_vendor_is_known() {
        assert_eq!(
            parse(Some("vendor=okta")).unwrap().vendor,
            Some(Vendor::Okta)
        );
        for value in ["OKTA", "", "pagerduty"] {
            assert_eq!(
                parse(Some(&format!("vendor={value}")))
                    .unwrap_err()
                    .to_string(),
                format!("Unsupported vendor: {value}. Expected: `okta`.")
            );
        }
    }
}
