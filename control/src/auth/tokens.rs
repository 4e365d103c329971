//! The accepted tokens, kept only as SHA-256 digests and compared in constant time, so
//! that neither the memory of the process nor the timing of a refusal gives one away.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{Caller, Credential, Role};

struct Entry {
    name: String,
    role: Role,
    digest: [u8; 32],
}

/// The credentials a control plane accepts.
pub struct Credentials {
    entries: Vec<Entry>,
}

impl Credentials {
    pub fn new(credentials: &[Credential]) -> Self {
        let entries = credentials
            .iter()
            .map(|credential| Entry {
                name: credential.name.clone(),
                role: credential.role,
                digest: digest(&credential.token),
            })
            .collect();
        Self { entries }
    }

    /// The caller `token` identifies. Every entry is compared, whichever matches, so
    /// the time taken does not depend on which one (if any) does.
    pub fn identify(&self, token: &str) -> Option<Caller> {
        let presented = digest(token);
        let mut found = None;
        for entry in &self.entries {
            if bool::from(entry.digest.ct_eq(&presented)) {
                found = Some(entry);
            }
        }
        found.map(|entry| Caller {
            name: entry.name.clone(),
            role: Some(entry.role),
        })
    }
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credentials() -> Credentials {
        Credentials::new(&[
            Credential {
                name: "ingress".into(),
                role: Role::Ingress,
                token: "ingress-token".into(),
            },
            Credential {
                name: "admin".into(),
                role: Role::Admin,
                token: "admin-token".into(),
            },
        ])
    }

    #[test]
    fn a_known_token_names_its_credential() {
        let caller = credentials().identify("admin-token").unwrap();
        assert_eq!(caller.name, "admin");
        assert_eq!(caller.role, Some(Role::Admin));
    }

    #[test]
    fn an_unknown_or_partial_token_names_nobody() {
        let credentials = credentials();
        assert_eq!(credentials.identify("admin-toke"), None);
        assert_eq!(credentials.identify("admin-token "), None);
        assert_eq!(credentials.identify(""), None);
    }
}
