//! The bearer token the ingress presents to the control plane.

use std::fmt;

use anyhow::Context;
use tonic::metadata::{Ascii, MetadataValue};

/// A token, kept out of `Debug` output so that a logged configuration cannot leak it.
#[derive(Clone, PartialEq, Eq)]
pub struct ControlToken(String);

impl ControlToken {
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into())
    }

    /// The `authorization` metadata value, marked sensitive so that HTTP/2 header
    /// compression never indexes it.
    pub(crate) fn authorization(&self) -> anyhow::Result<MetadataValue<Ascii>> {
        let mut value: MetadataValue<Ascii> = format!("Bearer {}", self.0.trim())
            .parse()
            .ok()
            .context("the control plane token contains characters not allowed in a header")?;
        value.set_sensitive(true);
        Ok(value)
    }
}

impl fmt::Debug for ControlToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ControlToken(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_token() {
        let token = ControlToken::new("very-secret");
        assert!(!format!("{token:?}").contains("very-secret"));
        assert_eq!(
            token.authorization().unwrap().to_str().unwrap(),
            "Bearer very-secret"
        );
    }
}
