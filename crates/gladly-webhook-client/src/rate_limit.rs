//! The rate limit Gladly announces on each answer.

/// The rate limit the last answer announced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RateLimit {
    /// `Ratelimit-Limit-Second`: calls allowed per second.
    pub limit: Option<u32>,
    /// `Ratelimit-Remaining-Second`: calls left in this second.
    pub remaining: Option<u32>,
}
