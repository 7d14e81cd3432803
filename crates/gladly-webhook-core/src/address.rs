//! Which addresses a delivery may go to: [`AddressPolicy`].
//!
//! A webhook sender that connects wherever a subscription's URL points is a
//! server-side request forgery tool: an API user names `127.0.0.1:5432`,
//! `169.254.169.254` (cloud metadata) or `10.0.0.7`, and the sender reaches
//! inside the network it runs in. The rule here is one: **only globally
//! routable unicast addresses**, checked on the address actually connected
//! to (after DNS), so every spelling of an address (`127.1`, `2130706433`,
//! `[::ffff:127.0.0.1]`, a name that resolves to loopback) meets the same
//! rule. An operator opts in to loopback ([`AddressPolicy::allow_loopback`])
//! or to named networks ([`AddressPolicy::allow_network`]).
//!
//! ```
//! use gladly_webhook_core::address::{AddressPolicy, Range};
//!
//! let policy = AddressPolicy::public_only();
//! assert!(policy.check("93.184.215.14".parse().unwrap()).is_ok());
//! let refused = policy.check("169.254.169.254".parse().unwrap()).unwrap_err();
//! assert_eq!(refused.range, Range::LinkLocal);
//! assert!(policy.check("::ffff:127.0.0.1".parse().unwrap()).is_err());
//!
//! let dev = AddressPolicy::public_only()
//!     .allow_loopback(true)
//!     .allow_network("10.1.0.0/16".parse().unwrap());
//! assert!(dev.check("127.0.0.1".parse().unwrap()).is_ok());
//! assert!(dev.check("10.1.2.3".parse().unwrap()).is_ok());
//! assert!(dev.check("10.2.0.1".parse().unwrap()).is_err());
//! ```

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub use ipnet::IpNet;

/// A range of addresses that is not a public destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Range {
    /// `127.0.0.0/8`, `::1`.
    Loopback,
    /// `0.0.0.0/8`, `::` (on Linux, connecting to `0.0.0.0` reaches this host).
    Unspecified,
    /// `10.0.0.0/8`, `172.16.0.0/12`, `192.168.0.0/16`.
    Private,
    /// `100.64.0.0/10`, carrier-grade NAT.
    SharedAddressSpace,
    /// `169.254.0.0/16`, `fe80::/10` (cloud metadata services live here).
    LinkLocal,
    /// `fc00::/7`, IPv6 unique local addresses.
    UniqueLocal,
    /// `224.0.0.0/4`, `ff00::/8`, `255.255.255.255`.
    Multicast,
    /// `192.0.2.0/24`, `198.51.100.0/24`, `203.0.113.0/24`, `2001:db8::/32`.
    Documentation,
    /// `198.18.0.0/15`, `2001:2::/48`.
    Benchmarking,
    /// Everything else that is not globally routable: `192.0.0.0/24`,
    /// `240.0.0.0/4`, `64:ff9b:1::/48`, `2001::/23`, `100::/64`, `::/96`
    /// IPv4-compatible forms, site-local `fec0::/10`.
    Reserved,
}

impl Range {
    /// The range in a few words, for messages.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Loopback => "a loopback address",
            Self::Unspecified => "an unspecified address",
            Self::Private => "a private-network address",
            Self::SharedAddressSpace => "a shared (carrier-grade NAT) address",
            Self::LinkLocal => "a link-local address (cloud metadata lives there)",
            Self::UniqueLocal => "a unique local (private) IPv6 address",
            Self::Multicast => "a multicast or broadcast address",
            Self::Documentation => "a documentation address",
            Self::Benchmarking => "a benchmarking address",
            Self::Reserved => "a reserved address",
        }
    }
}

/// The range `ip` belongs to, or `None` when it is globally routable
/// unicast. IPv4-mapped (`::ffff:a.b.c.d`), NAT64 (`64:ff9b::/96`) and 6to4
/// (`2002::/16`) addresses are judged by the IPv4 address they carry.
///
/// ```
/// use gladly_webhook_core::address::{Range, classify};
///
/// assert_eq!(classify("127.0.0.1".parse().unwrap()), Some(Range::Loopback));
/// assert_eq!(classify("64:ff9b::a9fe:a9fe".parse().unwrap()), Some(Range::LinkLocal));
/// assert_eq!(classify("fd00:ec2::254".parse().unwrap()), Some(Range::UniqueLocal));
/// assert_eq!(classify("2606:4700::1111".parse().unwrap()), None);
/// ```
pub fn classify(ip: IpAddr) -> Option<Range> {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => match embedded_v4(v6) {
            Some(v4) => classify_v4(v4),
            None => classify_v6(v6),
        },
    }
}

fn classify_v4(ip: Ipv4Addr) -> Option<Range> {
    let [a, b, c, _] = ip.octets();
    let range = match (a, b, c) {
        (0, _, _) => Range::Unspecified,
        (127, _, _) => Range::Loopback,
        (10, _, _) | (192, 168, _) => Range::Private,
        (172, 16..=31, _) => Range::Private,
        (100, 64..=127, _) => Range::SharedAddressSpace,
        (169, 254, _) => Range::LinkLocal,
        (192, 0, 0) => Range::Reserved,
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => Range::Documentation,
        (198, 18..=19, _) => Range::Benchmarking,
        (224..=239, _, _) => Range::Multicast,
        (240..=255, _, _) if ip == Ipv4Addr::BROADCAST => Range::Multicast,
        (240..=255, _, _) => Range::Reserved,
        _ => return None,
    };
    Some(range)
}

fn classify_v6(ip: Ipv6Addr) -> Option<Range> {
    let s = ip.segments();
    let range = if ip.is_unspecified() {
        Range::Unspecified
    } else if ip.is_loopback() {
        Range::Loopback
    } else if s[0] & 0xff00 == 0xff00 {
        Range::Multicast
    } else if s[0] & 0xffc0 == 0xfe80 {
        Range::LinkLocal
    } else if s[0] & 0xffc0 == 0xfec0 {
        Range::Reserved
    } else if s[0] & 0xfe00 == 0xfc00 {
        Range::UniqueLocal
    } else if s[0] == 0x2001 && s[1] == 0x0db8 {
        Range::Documentation
    } else if s[0] == 0x2001 && s[1] == 0x0002 && s[2] == 0 {
        Range::Benchmarking
    } else if (s[0] == 0x2001 && s[1] < 0x0200)
        || (s[0] == 0x0064 && s[1] == 0xff9b && s[2] == 0x0001)
        || (s[0] == 0x0100 && s[1] == 0 && s[2] == 0 && s[3] == 0)
        || s[..6] == [0; 6]
        || s[0] & 0xe000 != 0x2000
    {
        // IETF protocol assignments (Teredo among them), local-use NAT64,
        // discard-only, IPv4-compatible, and everything outside 2000::/3
        // (the only global unicast space allocated).
        Range::Reserved
    } else {
        return None;
    };
    Some(range)
}

/// The IPv4 address an IPv6 address carries: IPv4-mapped `::ffff:0:0/96`,
/// NAT64 `64:ff9b::/96`, 6to4 `2002::/16`.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let pair = |hi: u16, lo: u16| {
        let [a, b] = hi.to_be_bytes();
        let [c, d] = lo.to_be_bytes();
        Ipv4Addr::new(a, b, c, d)
    };
    if s[..5] == [0; 5] && s[5] == 0xffff {
        return Some(pair(s[6], s[7]));
    }
    if s[..6] == [0x0064, 0xff9b, 0, 0, 0, 0] {
        return Some(pair(s[6], s[7]));
    }
    if s[0] == 0x2002 {
        return Some(pair(s[1], s[2]));
    }
    None
}

/// Which addresses a sender may connect to: globally routable unicast
/// only, unless the operator opts in to loopback or to named networks.
///
/// The default ([`AddressPolicy::public_only`]) is what a service exposed
/// to API users needs; a developer tool pointed at a receiver on the same
/// machine allows loopback.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct AddressPolicy {
    allow_loopback: bool,
    allowed: Vec<IpNet>,
}

/// Why an address was refused: the range it is in. Its message names the
/// rule and the range, never the address (a name's resolution is not
/// echoed to whoever chose the name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "refused by the address policy: {} is not a public destination (only globally routable addresses are allowed unless an operator allows this network)",
    range.describe()
)]
#[non_exhaustive]
pub struct AddressRefused {
    /// The range the address is in.
    pub range: Range,
}

impl AddressPolicy {
    /// Only globally routable unicast addresses (the default).
    pub fn public_only() -> Self {
        Self::default()
    }

    /// With `true`, loopback addresses (`127.0.0.0/8`, `::1`) are allowed
    /// too: a receiver on the same machine.
    pub fn allow_loopback(mut self, allow: bool) -> Self {
        self.allow_loopback = allow;
        self
    }

    /// Allows every address in `network` (repeatable), e.g. `10.1.0.0/16`
    /// for receivers inside the operator's own network.
    pub fn allow_network(mut self, network: IpNet) -> Self {
        self.allowed.push(network.trunc());
        self
    }

    /// Whether loopback is allowed.
    pub fn allows_loopback(&self) -> bool {
        self.allow_loopback
    }

    /// The networks allowed beyond the public ones.
    pub fn allowed_networks(&self) -> &[IpNet] {
        &self.allowed
    }

    /// `Ok` when a delivery may connect to `ip`.
    pub fn check(&self, ip: IpAddr) -> Result<(), AddressRefused> {
        let Some(range) = classify(ip) else {
            return Ok(());
        };
        if range == Range::Loopback && self.allow_loopback {
            return Ok(());
        }
        let carried = match ip {
            IpAddr::V6(v6) => embedded_v4(v6).map(IpAddr::V4),
            IpAddr::V4(_) => None,
        };
        let listed = |ip: IpAddr| self.allowed.iter().any(|net| net.contains(&ip));
        if listed(ip) || carried.is_some_and(listed) {
            return Ok(());
        }
        Err(AddressRefused { range })
    }
}

impl fmt::Display for AddressPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("public addresses")?;
        if self.allow_loopback {
            f.write_str(", loopback")?;
        }
        for net in &self.allowed {
            write!(f, ", {net}")?;
        }
        Ok(())
    }
}

/// The range a host name is known to stand for without asking DNS:
/// `localhost` and its variants (RFC 6761) are loopback, well-known cloud
/// metadata names are link-local. Other names are judged when resolved.
///
/// ```
/// use gladly_webhook_core::address::{Range, known_name};
///
/// assert_eq!(known_name("LocalHost."), Some(Range::Loopback));
/// assert_eq!(known_name("api.localhost"), Some(Range::Loopback));
/// assert_eq!(known_name("metadata.google.internal"), Some(Range::LinkLocal));
/// assert_eq!(known_name("example.com"), None);
/// ```
pub fn known_name(host: &str) -> Option<Range> {
    let host = host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase();
    if host == "localhost"
        || host.ends_with(".localhost")
        || host == "localhost.localdomain"
        || host == "ip6-localhost"
        || host == "ip6-loopback"
    {
        return Some(Range::Loopback);
    }
    if host == "metadata.google.internal" || host == "metadata" || host == "instance-data" {
        return Some(Range::LinkLocal);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(text: &str) -> Option<Range> {
        classify(text.parse().unwrap())
    }

    #[test]
    fn every_spelling_of_a_forbidden_address_is_classified() {
        for (ip, expected) in [
            ("127.0.0.1", Range::Loopback),
            ("127.255.0.1", Range::Loopback),
            ("::1", Range::Loopback),
            ("0.0.0.0", Range::Unspecified),
            ("::", Range::Unspecified),
            ("10.1.2.3", Range::Private),
            ("172.16.0.1", Range::Private),
            ("172.31.255.255", Range::Private),
            ("192.168.1.1", Range::Private),
            ("100.64.0.1", Range::SharedAddressSpace),
            ("169.254.169.254", Range::LinkLocal),
            ("fe80::1", Range::LinkLocal),
            ("fd00:ec2::254", Range::UniqueLocal),
            ("fd00::1", Range::UniqueLocal),
            ("::ffff:127.0.0.1", Range::Loopback),
            ("::ffff:10.0.0.1", Range::Private),
            ("64:ff9b::a9fe:a9fe", Range::LinkLocal),
            ("64:ff9b::7f00:1", Range::Loopback),
            ("2002:7f00:1::", Range::Loopback),
            ("224.0.0.1", Range::Multicast),
            ("255.255.255.255", Range::Multicast),
            ("ff02::1", Range::Multicast),
            ("192.0.2.1", Range::Documentation),
            ("198.51.100.7", Range::Documentation),
            ("203.0.113.9", Range::Documentation),
            ("2001:db8::1", Range::Documentation),
            ("198.18.0.1", Range::Benchmarking),
            ("2001:2::1", Range::Benchmarking),
            ("192.0.0.8", Range::Reserved),
            ("240.0.0.1", Range::Reserved),
            ("2001::1", Range::Reserved),
            ("::7f00:1", Range::Reserved),
            ("64:ff9b:1::1", Range::Reserved),
            ("fec0::1", Range::Reserved),
            ("4000::1", Range::Reserved),
        ] {
            assert_eq!(range(ip), Some(expected), "{ip}");
        }
    }

    #[test]
    fn global_addresses_pass() {
        for ip in [
            "93.184.215.14",
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "2606:4700::1111",
            "2a00:1450:4001::200e",
            "64:ff9b::808:808",
            "::ffff:8.8.8.8",
        ] {
            assert_eq!(range(ip), None, "{ip}");
        }
    }

    #[test]
    fn opt_ins_cover_carried_addresses_too() {
        let policy = AddressPolicy::public_only()
            .allow_loopback(true)
            .allow_network("10.1.0.0/16".parse().unwrap());
        assert!(policy.check("::ffff:127.0.0.1".parse().unwrap()).is_ok());
        assert!(policy.check("::ffff:10.1.9.9".parse().unwrap()).is_ok());
        assert!(policy.check("10.1.9.9".parse().unwrap()).is_ok());
        assert!(policy.check("0.0.0.0".parse().unwrap()).is_err());
        assert!(policy.check("169.254.169.254".parse().unwrap()).is_err());
        let refused = AddressPolicy::public_only()
            .check("10.9.9.9".parse().unwrap())
            .unwrap_err();
        assert!(!refused.to_string().contains("10.9.9.9"));
        assert!(refused.to_string().contains("private-network"));
    }
}
