//! Who sent a request: the socket peer, or the client a trusted proxy forwarded for.

use std::net::{IpAddr, SocketAddr};

use http::HeaderMap;
use ipnet::IpNet;

/// The client address of a request.
///
/// An IPv4-mapped IPv6 peer (`::ffff:a.b.c.d`, what a dual-stack socket reports for
/// IPv4 clients) is read as IPv4. `X-Forwarded-For` is believed only when the peer is a
/// trusted proxy; then the right-most address that is not itself a trusted proxy is the
/// client. Each proxy appends the address it saw, so everything left of the first
/// untrusted hop was written by the sender and could be forged.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted_proxies: &[IpNet]) -> IpAddr {
    let peer = canonical(peer);
    if !is_trusted(peer, trusted_proxies) {
        return peer;
    }

    let forwarded: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .collect();

    let mut client = peer;
    for hop in forwarded.iter().rev() {
        let Some(address) = parse_hop(hop) else {
            return peer;
        };
        client = address;
        if !is_trusted(address, trusted_proxies) {
            break;
        }
    }
    client
}

/// Reads an IPv4-mapped IPv6 address as the IPv4 address it carries.
pub fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

fn is_trusted(address: IpAddr, trusted_proxies: &[IpNet]) -> bool {
    trusted_proxies.iter().any(|net| net.contains(&address))
}

/// One `X-Forwarded-For` entry: an address, possibly with a port as some proxies write.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    hop.parse::<IpAddr>()
        .or_else(|_| hop.parse::<SocketAddr>().map(|socket| socket.ip()))
        .ok()
        .map(canonical)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(forwarded: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for value in forwarded {
            map.append("x-forwarded-for", value.parse().unwrap());
        }
        map
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn proxies() -> Vec<IpNet> {
        vec!["10.0.0.0/8".parse().unwrap(), "fd00::/8".parse().unwrap()]
    }

    #[test]
    fn the_peer_is_the_client_without_proxies() {
        assert_eq!(
            client_ip(ip("203.0.113.7"), &headers(&[]), &[]),
            ip("203.0.113.7")
        );
    }

    #[test]
    fn a_mapped_ipv6_peer_is_read_as_ipv4() {
        assert_eq!(
            client_ip(ip("::ffff:192.0.2.1"), &headers(&[]), &[]),
            ip("192.0.2.1")
        );
        assert_eq!(
            client_ip(ip("2001:db8::1"), &headers(&[]), &[]),
            ip("2001:db8::1")
        );
    }

    #[test]
    fn forwarded_for_from_an_untrusted_peer_is_ignored() {
        let spoofed = headers(&["10.1.1.1"]);
        assert_eq!(
            client_ip(ip("203.0.113.7"), &spoofed, &proxies()),
            ip("203.0.113.7")
        );
    }

    #[test]
    fn a_trusted_peer_forwards_the_rightmost_untrusted_address() {
        let chain = headers(&["198.51.100.9, 192.0.2.44, 10.2.3.4"]);
        assert_eq!(
            client_ip(ip("10.0.0.1"), &chain, &proxies()),
            ip("192.0.2.44")
        );
    }

    #[test]
    fn a_forged_leftmost_entry_does_not_win() {
        // The sender wrote 10.9.9.9 itself; the proxy appended the real address.
        let chain = headers(&["10.9.9.9", "198.51.100.9"]);
        assert_eq!(
            client_ip(ip("10.0.0.1"), &chain, &proxies()),
            ip("198.51.100.9")
        );
    }

    #[test]
    fn every_header_instance_is_read_in_order() {
        let chain = headers(&["198.51.100.9", "192.0.2.44", "10.2.3.4"]);
        assert_eq!(
            client_ip(ip("10.0.0.1"), &chain, &proxies()),
            ip("192.0.2.44")
        );
    }

    #[test]
    fn a_mapped_trusted_peer_and_forwarded_ports_are_understood() {
        let chain = headers(&["[2001:db8::5]:443, 192.0.2.44:8080"]);
        assert_eq!(
            client_ip(ip("::ffff:10.0.0.1"), &chain, &proxies()),
            ip("192.0.2.44")
        );
        let chain = headers(&["::ffff:192.0.2.45"]);
        assert_eq!(
            client_ip(ip("10.0.0.1"), &chain, &proxies()),
            ip("192.0.2.45")
        );
    }

    #[test]
    fn an_unparsable_entry_falls_back_to_the_peer() {
        let chain = headers(&["198.51.100.9, unknown"]);
        assert_eq!(
            client_ip(ip("10.0.0.1"), &chain, &proxies()),
            ip("10.0.0.1")
        );
    }

    #[test]
    fn a_trusted_peer_without_the_header_is_the_client() {
        assert_eq!(
            client_ip(ip("10.0.0.1"), &headers(&[]), &proxies()),
            ip("10.0.0.1")
        );
    }

    #[test]
    fn when_every_hop_is_trusted_the_leftmost_is_the_client() {
        let chain = headers(&["10.5.5.5, 10.6.6.6"]);
        assert_eq!(
            client_ip(ip("10.0.0.1"), &chain, &proxies()),
            ip("10.5.5.5")
        );
    }
}
