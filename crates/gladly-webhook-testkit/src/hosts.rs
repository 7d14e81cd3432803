//! The hosts no subscription may name: every spelling of loopback,
//! private, link-local, shared, documentation and metadata addresses, and
//! local names (the SSRF cases the validation and the hub refuse).

/// Hosts (with a port, where it matters) that are not globally routable,
/// in the spellings an attacker would try.
pub const NON_PUBLIC_HOSTS: &[&str] = &[
    "127.0.0.1",
    "localhost",
    "[::1]",
    "0.0.0.0",
    "0",
    "127.1",
    "2130706433",
    "0x7f000001",
    "017700000001",
    "%31%32%37.0.0.1",
    "10.0.0.1",
    "172.16.0.1",
    "192.168.1.1",
    "100.64.0.1",
    "169.254.169.254",
    "[fe80::1]",
    "[fd00:ec2::254]",
    "metadata.google.internal",
    "[fd00::1]",
    "[::ffff:127.0.0.1]",
    "[64:ff9b::a9fe:a9fe]",
    "localhost.localdomain",
    "api.localhost",
    "192.0.2.1",
    "[::1]:8443",
];
