//! The `hub` commands: a hub operated through its store.

use super::*;

#[derive(Debug, Subcommand)]
pub enum HubCommand {
    /// Send a subscription's failed and cancelled deliveries published in a window again, in their order, each with the whole schedule (after its receiver's outage). The subscription must be active; a running hub sends them within its poll (1 s).
    Recover(RecoverArgs),
    /// Limit how many deliveries a second a subscription gets, kept by every hub on the store (`--none` lifts it).
    RateLimit(RateLimitArgs),
}

/// The hub's store.
#[derive(Debug, Args)]
pub struct HubStoreArgs {
    /// The store: `sqlite:PATH` (created on first use) or a `postgres://` URL (from GLADLY_HUB_DB when not given, which keeps a password off the command line).
    #[arg(
        long,
        value_name = "URL",
        env = "GLADLY_HUB_DB",
        hide_env_values = true,
        default_value = "sqlite:gladly-hub.db"
    )]
    pub db: String,
}

#[derive(Debug, Args)]
pub struct RecoverArgs {
    #[command(flatten)]
    pub store: HubStoreArgs,
    /// The subscription's id (`wh_...`).
    pub webhook: String,
    #[command(flatten)]
    pub window: RecoverWindowArgs,
}

/// Which deliveries a recover sends again (`hub recover`, `relay
/// recover`), and how it reports.
#[derive(Debug, Args)]
pub struct RecoverWindowArgs {
    /// The events published (received, by a relay) from then on: a time ago (`6h`, `90m`) or an RFC 3339 time.
    #[arg(long, value_name = "WHEN", value_parser = parse_when)]
    pub since: DateTime<Utc>,
    /// Published (received) before then (default: now).
    #[arg(long, value_name = "WHEN", value_parser = parse_when)]
    pub until: Option<DateTime<Utc>>,
    /// text (`recovered N`) or json (`{"recovered": N}`).
    #[arg(long, value_enum, default_value = "text")]
    pub format: OutputFormat,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("limit").required(true).args(["per_second", "none"])))]
pub struct RateLimitArgs {
    #[command(flatten)]
    pub store: HubStoreArgs,
    /// The subscription's id (`wh_...`).
    pub webhook: String,
    /// The most deliveries a second (1 to 10000).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub per_second: Option<u32>,
    /// No limit.
    #[arg(long)]
    pub none: bool,
}
