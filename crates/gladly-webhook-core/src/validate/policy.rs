//! [`Policy`]: how demanding validation is.

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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Policy {
    level: Level,
    allow_insecure_localhost: bool,
    max_size: usize,
}

impl Policy {
    /// Exactly the schema: required `id`, `url`, `events`; the JSON type of
    /// every field; `events` items from the enum; `url` a URI (RFC 3986);
    /// `createdAt`/`modifiedAt` RFC 3339 date-times. Unknown properties are
    /// allowed.
    pub const fn schema() -> Self {
        Self {
            level: Level::Schema,
            allow_insecure_localhost: false,
            max_size: DEFAULT_MAX_SIZE,
        }
    }

    /// The schema, plus: `url` uses `https`, has a host, and has no
    /// user-info and no fragment; `events` is non-empty with no duplicates;
    /// `id` is non-empty; `secret`, when present, is at least
    /// [`MIN_SECRET_LEN`] bytes with no leading or trailing whitespace;
    /// `modifiedAt` is not before `createdAt`. The default.
    pub const fn strict() -> Self {
        Self {
            level: Level::Strict,
            ..Self::schema()
        }
    }

    /// With `true`, [`Level::Strict`] also accepts `http` URLs whose host is
    /// `localhost`, `127.0.0.1` or `[::1]` (for local development).
    pub const fn allow_insecure_localhost(mut self, allow: bool) -> Self {
        self.allow_insecure_localhost = allow;
        self
    }

    /// Refuses documents larger than `bytes` (default [`DEFAULT_MAX_SIZE`]).
    pub const fn max_size(mut self, bytes: usize) -> Self {
        self.max_size = bytes;
        self
    }

    /// The rules in force.
    pub const fn level(&self) -> Level {
        self.level
    }

    /// Whether `http` to a loopback host is allowed under [`Level::Strict`].
    pub const fn allows_insecure_localhost(&self) -> bool {
        self.allow_insecure_localhost
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
