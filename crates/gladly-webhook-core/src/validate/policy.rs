//! [`Policy`]: how demanding validation is.

use crate::address::{AddressPolicy, IpNet};

/// The largest document a default [`Policy`] reads: 1 MiB.
pub const DEFAULT_MAX_SIZE: usize = 1 << 20;

/// The shortest secret [`Policy::strict`] accepts, in bytes: 16 (Gladly
/// recommends 128-bit keys).
pub const MIN_SECRET_LEN: usize = 16;

/// Which rules apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Level {
    /// Exactly what `schemas/gladly-webhook-schema.json` says, formats
    /// included.
    Schema,
    /// The schema plus what a delivery system needs (see [`Policy::strict`]).
    Strict,
}

/// How demanding validation is: the rules ([`Level`]) and the limits.
///
/// ```
/// use gladly_webhook_core::validate::{Level, Policy};
///
/// assert_eq!(Policy::default(), Policy::strict());
/// let dev = Policy::strict().allow_insecure_localhost(true);
/// assert_eq!(dev.level(), Level::Strict);
/// assert_eq!(Policy::schema().max_size(4096).size_limit(), 4096);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Policy {
    level: Level,
    addresses: AddressPolicy,
    max_size: usize,
}

impl Policy {
    /// Exactly the schema: required `id`, `url`, `events`; the JSON type of
    /// every field; `events` items from the enum; `url` a URI (RFC 3986);
    /// `createdAt`/`modifiedAt` RFC 3339 date-times. Unknown properties are
    /// allowed.
    pub fn schema() -> Self {
        Self {
            level: Level::Schema,
            addresses: AddressPolicy::public_only(),
            max_size: DEFAULT_MAX_SIZE,
        }
    }

    /// The schema, plus: `url` uses `https`, has a host, and has no
    /// user-info and no fragment; `events` is non-empty with no duplicates;
    /// `id` is non-empty; `secret`, when present, is at least
    /// [`MIN_SECRET_LEN`] bytes with no leading or trailing whitespace;
    /// `modifiedAt` is not before `createdAt`; a literal address in `url`
    /// (in any spelling: `127.1`, `2130706433`, `[::ffff:10.0.0.1]`) and the
    /// names `localhost` and `metadata.google.internal` are refused unless
    /// the [`AddressPolicy`] allows them (see [`crate::address`]). The
    /// default.
    pub fn strict() -> Self {
        Self {
            level: Level::Strict,
            ..Self::schema()
        }
    }

    /// With `true`, [`Level::Strict`] also accepts URLs to loopback
    /// (`localhost`, `127.0.0.1`, `[::1]`), over `http` as well as `https`
    /// (for local development).
    pub fn allow_insecure_localhost(mut self, allow: bool) -> Self {
        self.addresses = self.addresses.allow_loopback(allow);
        self
    }

    /// [`Level::Strict`] also accepts literal addresses in `network`
    /// (repeatable; see [`AddressPolicy::allow_network`]).
    pub fn allow_network(mut self, network: IpNet) -> Self {
        self.addresses = self.addresses.allow_network(network);
        self
    }

    /// The addresses a URL may name under [`Level::Strict`].
    pub fn addresses(&self) -> &AddressPolicy {
        &self.addresses
    }

    /// Refuses documents larger than `bytes` (default [`DEFAULT_MAX_SIZE`]).
    pub fn max_size(mut self, bytes: usize) -> Self {
        self.max_size = bytes;
        self
    }

    /// The rules in force.
    pub const fn level(&self) -> Level {
        self.level
    }

    /// Whether `http` to a loopback host is allowed under [`Level::Strict`].
    pub fn allows_insecure_localhost(&self) -> bool {
        self.addresses.allows_loopback()
    }

    /// The largest document read, in bytes.
    pub const fn size_limit(&self) -> usize {
        self.max_size
    }
}

impl Default for Policy {
    fn default() -> Self {
        Self::strict()
    }
}
