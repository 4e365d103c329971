//! Comma-separated flag values. They are parsed as one value rather than with clap's
//! value delimiter so that an empty value (`--allowlist ''`) means an empty list, which
//! is how a list is cleared.

use std::net::IpAddr;

use ipnet::IpNet;

/// A comma-separated list of words; empty entries are dropped.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CommaList(pub Vec<String>);

impl CommaList {
    pub fn parse(text: &str) -> Result<Self, String> {
        Ok(Self(
            text.split(',')
                .map(str::trim)
                .filter(|entry| !entry.is_empty())
                .map(str::to_owned)
                .collect(),
        ))
    }
}

/// A comma-separated list of addresses (one host each) and CIDRs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedProxies(pub Vec<IpNet>);

impl TrustedProxies {
    pub fn parse(text: &str) -> Result<Self, String> {
        CommaList::parse(text)?
            .0
            .iter()
            .map(|entry| {
                entry
                    .parse::<IpNet>()
                    .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                    .map(|net| net.trunc())
                    .map_err(|_| format!("not an IP address or CIDR: {entry}"))
            })
            .collect::<Result<_, _>>()
            .map(Self)
    }
}
