//! `relay`: Gladly in, Standard Webhooks out.

use super::*;

/// `gladly-webhook relay --config relay.toml` runs the relay; its
/// subcommands operate one through its configuration's store.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct RelayArgs {
    #[command(subcommand)]
    pub command: Option<RelayCommand>,
    #[command(flatten)]
    pub run: RelayRunArgs,
}

#[derive(Debug, Subcommand)]
pub enum RelayCommand {
    /// Check a configuration as the relay would at start (every problem at once, with its key) and print what it configures.
    Check(RelayConfigArgs),
    /// Send a destination's failed (dead) and cancelled deliveries of events received in a window again, in their order, each with its whole schedule. A running relay sends them within its poll (1 s).
    Recover(RelayRecoverArgs),
    /// List the deliveries that passed an input's rule but are not well-formed events: kept, sent nowhere (newest first).
    Malformed(RelayMalformedArgs),
    /// Fill a gap from Gladly's Events API (the last 24 hours): each event the relay has not kept is kept and sent to its destinations; one it has (same id) is not sent again.
    Backfill(RelayBackfillArgs),
    /// A Standard Webhooks consumer for trying a destination: each request verified with the official `standardwebhooks` crate (and `v1a` with --public-key-env), answered 204 and printed as a JSON line; 401 when it does not verify.
    Consume(RelayConsumeArgs),
}

#[derive(Debug, Args)]
pub struct RelayConsumeArgs {
    /// The address to listen on: `IP:PORT`; a bare port or `localhost:PORT` means 127.0.0.1.
    #[arg(long, default_value = "127.0.0.1:9101", value_parser = crate::listen_addr::parse)]
    pub addr: std::net::SocketAddr,
    /// The environment variable holding the destination's `whsec_` secret.
    #[arg(long, value_name = "NAME")]
    pub secret_env: String,
    /// The environment variable holding the `whpk_` public key whose `v1a` signature each request must also carry.
    #[arg(long, value_name = "NAME")]
    pub public_key_env: Option<String>,
}

/// The relay's configuration file.
#[derive(Debug, Args)]
pub struct RelayConfigArgs {
    /// The configuration (TOML): the store, the input paths and their rules, the destinations.
    #[arg(long, value_name = "PATH")]
    pub config: PathBuf,
}

#[derive(Debug, Args)]
pub struct RelayRunArgs {
    /// The configuration (TOML): the store, the input paths and their rules, the destinations. SIGHUP reads it again and applies it without losing what is queued.
    #[arg(long, value_name = "PATH", required = true)]
    pub config: Option<PathBuf>,
    /// The address Gladly delivers to: `IP:PORT` (`0.0.0.0:8092` for every interface); a bare port or `localhost:PORT` means 127.0.0.1.
    #[arg(long, default_value = "127.0.0.1:8092", value_parser = crate::listen_addr::parse)]
    pub addr: std::net::SocketAddr,
    /// Multiply every destination's waits between attempts by this; for tests.
    #[arg(long, value_name = "F", default_value_t = 1.0)]
    pub time_scale: f64,
    /// How long a relay holds a destination while delivering to it, renewed as it goes; a relay that dies delays that destination by at most this (e.g. `10s`).
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = crate::duration::positive)]
    pub lease: Duration,
    #[command(flatten)]
    pub server: ServerArgs,
    #[command(flatten)]
    pub ops: OpsArgs,
    /// Serve the inspector page on this address (loopback unless --ui-allow-remote): destinations with their backlogs, each one's deliveries with every attempt, the malformed deliveries kept.
    #[arg(long, value_name = "ADDR", value_parser = crate::listen_addr::parse)]
    pub ui_addr: Option<std::net::SocketAddr>,
    #[command(flatten)]
    pub ui_access: UiAccessArgs,
}

#[derive(Debug, Args)]
pub struct RelayRecoverArgs {
    #[command(flatten)]
    pub config: RelayConfigArgs,
    /// The destination's name, as the configuration gives it.
    #[arg(long, value_name = "NAME")]
    pub destination: String,
    #[command(flatten)]
    pub window: RecoverWindowArgs,
}

#[derive(Debug, Args)]
pub struct RelayBackfillArgs {
    #[command(flatten)]
    pub config: RelayConfigArgs,
    #[command(flatten)]
    pub api: ApiArgs,
    #[command(flatten)]
    pub window: BackfillWindowArgs,
}

#[derive(Debug, Args)]
pub struct RelayMalformedArgs {
    #[command(flatten)]
    pub config: RelayConfigArgs,
    /// The most to list.
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub limit: u32,
}
