//! Normalising a webhook's IP allowlist on write, so the ingress only ever sees clean
//! IPv4 networks.

use std::net::IpAddr;

use ipnet::{IpNet, Ipv4Net};

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum AllowlistError {
    #[error("Only IPv4 CIDR ranges are supported: {0}")]
    Ipv6(String),
    #[error("Invalid IP allowlist entry: {0}")]
    Invalid(String),
}

/// The allowlist as stored: each entry trimmed, a bare address made a `/32`, host bits
/// masked, duplicates dropped keeping first-seen order. Empty entries are ignored, so
/// a list holding only an empty string clears the allowlist.
pub fn normalise<S: AsRef<str>>(entries: &[S]) -> Result<Vec<String>, AllowlistError> {
    let mut networks: Vec<Ipv4Net> = Vec::with_capacity(entries.len());
    for entry in entries {
        let entry = entry.as_ref().trim();
        if entry.is_empty() {
            continue;
        }
        let network = parse_entry(entry)?;
        if !networks.contains(&network) {
            networks.push(network);
        }
    }
    Ok(networks.iter().map(ToString::to_string).collect())
}

fn parse_entry(entry: &str) -> Result<Ipv4Net, AllowlistError> {
    let network = if entry.contains('/') {
        entry.parse::<IpNet>().ok()
    } else {
        entry.parse::<IpAddr>().ok().map(IpNet::from)
    };
    match network {
        Some(IpNet::V4(network)) => Ok(network.trunc()),
        Some(IpNet::V6(_)) => Err(AllowlistError::Ipv6(entry.to_owned())),
        None if looks_like_ipv6(entry) => Err(AllowlistError::Ipv6(entry.to_owned())),
        None => Err(AllowlistError::Invalid(entry.to_owned())),
    }
}

/// An IPv6 network with an out-of-range prefix (`fe80::/129`) is still recognisably
/// IPv6, and saying so is the more useful answer.
fn looks_like_ipv6(entry: &str) -> bool {
    let address = entry.split_once('/').map_or(entry, |(address, _)| address);
    address.parse::<std::net::Ipv6Addr>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(entries: &[&str]) -> Vec<String> {
        normalise(entries).unwrap()
    }

    #[test]
    fn bare_address_becomes_a_slash_32() {
        assert_eq!(ok(&["10.1.2.3"]), ["10.1.2.3/32"]);
    }

    #[test]
    fn host_bits_are_masked() {
        assert_eq!(ok(&["192.168.1.5/24"]), ["192.168.1.0/24"]);
        assert_eq!(ok(&["10.255.255.255/8"]), ["10.0.0.0/8"]);
        assert_eq!(ok(&["1.2.3.4/0"]), ["0.0.0.0/0"]);
    }

    #[test]
    fn duplicates_are_dropped_keeping_first_seen_order() {
        assert_eq!(
            ok(&[
                "10.0.0.0/8",
                "192.168.1.5/24",
                "10.1.1.1/8",
                "192.168.1.0/24",
                "1.1.1.1"
            ]),
            ["10.0.0.0/8", "192.168.1.0/24", "1.1.1.1/32"]
        );
    }

    #[test]
    fn entries_are_trimmed_and_empty_entries_ignored() {
        assert_eq!(ok(&["  10.0.0.1 ", "", "   "]), ["10.0.0.1/32"]);
        assert_eq!(ok(&[""]), Vec::<String>::new());
        assert_eq!(ok(&[]), Vec::<String>::new());
    }

    #[test]
    fn ipv6_is_rejected() {
        for entry in ["::1", "2001:db8::/32", "::ffff:10.0.0.1", "fe80::/129"] {
            assert_eq!(
                normalise(&[entry]).unwrap_err().to_string(),
                format!("Only IPv4 CIDR ranges are supported: {entry}")
            );
        }
    }

    #[test]
    fn unparsable_entries_are_rejected() {
        for entry in [
            "not-an-ip",
            "10.0.0.1/33",
            "10.0.0",
            "10.0.0.256",
            "10.0.0.1/",
            "/24",
            "10.0.0.1/24/8",
        ] {
            assert_eq!(
                normalise(&[entry]).unwrap_err().to_string(),
                format!("Invalid IP allowlist entry: {entry}")
            );
        }
    }

    #[test]
    fn the_first_bad_entry_is_named() {
        assert_eq!(
            normalise(&["10.0.0.1", "  nope ", "::1"]).unwrap_err(),
            AllowlistError::Invalid("nope".to_owned())
        );
    }
}
