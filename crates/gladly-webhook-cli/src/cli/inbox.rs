//! The `inbox` commands.

use super::*;

#[derive(Debug, Subcommand)]
pub enum InboxCommand {
    /// Run the workers only (no HTTP): `--exec CMD` per stored event.
    Work(WorkArgs),
    /// List events, newest first.
    List(ListArgs),
    /// Show one event: its row, its history and its raw payload.
    Show(ShowArgs),
    /// Put a dead event, every dead event, or the dead (or done) events received in a window back to pending.
    Requeue(RequeueArgs),
    /// Delete done events older than a duration (pending and dead ones stay).
    Purge(PurgeArgs),
    /// Counts per state and the age of the oldest pending event.
    Stats(StatsArgs),
    /// Serve the inspector page for an inbox: its events, their runs, replay (no deliveries: those are kept by `listen --ui`).
    Ui(UiArgs),
    /// Read Gladly's Events API (the last 24 hours) into the inbox, each event once: what was missed while a webhook was disabled or `listen` was down.
    Backfill(BackfillArgs),
}

#[derive(Debug, Args)]
pub struct BackfillArgs {
    #[command(flatten)]
    pub inbox: InboxArgs,
    #[command(flatten)]
    pub api: ApiArgs,
    #[command(flatten)]
    pub window: BackfillWindowArgs,
}

/// What a backfill reads (`inbox backfill`, `relay backfill`), and how it
/// reports.
#[derive(Debug, Args)]
pub struct BackfillWindowArgs {
    /// From: a time ago (`6h`, `90m`; at most 24h) or an RFC 3339 time; without it, from where the last backfill of this API into this inbox (or relay) stopped.
    #[arg(long, value_name = "WHEN", value_parser = parse_when)]
    pub since: Option<DateTime<Utc>>,
    /// Until: a time ago or an RFC 3339 time (default: now, less the 15 s the Events API may lag).
    #[arg(long, value_name = "WHEN", value_parser = parse_when)]
    pub until: Option<DateTime<Utc>>,
    /// Only this entity, the part of a type before `/` (repeatable): `--entity CONVERSATION --entity TASK`.
    #[arg(long = "entity", value_name = "ENTITY")]
    pub entities: Vec<String>,
    /// text (one line of counts) or json (one object).
    #[arg(long, value_enum, default_value = "text")]
    pub format: OutputFormat,
}

#[derive(Debug, Args)]
pub struct UiArgs {
    #[command(flatten)]
    pub inbox: InboxArgs,
    /// Where the page listens: loopback unless told otherwise (another address needs --ui-allow-remote and --ui-login-env).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8081", value_parser = crate::listen_addr::parse)]
    pub addr: std::net::SocketAddr,
    #[command(flatten)]
    pub access: UiAccessArgs,
}

#[derive(Debug, Args)]
pub struct WorkArgs {
    #[command(flatten)]
    pub inbox: InboxArgs,
    #[command(flatten)]
    pub exec: ExecArgs,
    /// How to print one line per run on stdout.
    #[arg(long, value_enum, default_value = "text")]
    pub format: OutputFormat,
    /// Serve Prometheus metrics at /metrics, with /healthz and /readyz, on this address (e.g. `127.0.0.1:9464`); off unless given.
    #[arg(long, value_name = "ADDR", value_parser = crate::listen_addr::parse)]
    pub metrics_addr: Option<std::net::SocketAddr>,
    /// Log lines on stderr as text or one JSON object per line; filter with RUST_LOG.
    #[arg(long, value_enum, default_value = "text")]
    pub log_format: crate::say::LogFormat,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub inbox: InboxArgs,
    /// Only events in this state (pending, running, done, dead).
    #[arg(long)]
    pub state: Option<String>,
    /// Only events of this type.
    #[arg(long = "type", value_name = "TYPE")]
    pub event_type: Option<String>,
    /// At most this many (at most 10,000).
    #[arg(long, default_value_t = 50)]
    pub limit: u32,
    #[arg(long, value_enum, default_value = "text")]
    pub format: OutputFormat,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    #[command(flatten)]
    pub inbox: InboxArgs,
    /// The event's id (or its dedup key, `sha256:...`).
    pub id: String,
    #[arg(long, value_enum, default_value = "text")]
    pub format: OutputFormat,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("which").required(true).args(["id", "all_dead", "since"])))]
pub struct RequeueArgs {
    #[command(flatten)]
    pub inbox: InboxArgs,
    /// The dead event's id (or dedup key); `--all-dead` or `--since` requeue many instead.
    pub id: Option<String>,
    /// Every dead event.
    #[arg(long)]
    pub all_dead: bool,
    /// The events received from then on: a time ago (`6h`, `90m`) or an RFC 3339 time.
    #[arg(long, value_name = "WHEN", value_parser = parse_when)]
    pub since: Option<DateTime<Utc>>,
    /// With `--since`: received before then (default: now).
    #[arg(long, value_name = "WHEN", value_parser = parse_when, requires = "since")]
    pub until: Option<DateTime<Utc>>,
    /// With `--since`: only events of this type (as sent, e.g. `CONVERSATION_CLOSED`).
    #[arg(long = "type", value_name = "TYPE", requires = "since")]
    pub event_type: Option<String>,
    /// With `--since`: dead events (given up on), or done ones (run the handlers again, a replay).
    #[arg(long, value_enum, default_value = "dead", requires = "since")]
    pub state: RequeueState,
    #[arg(long, value_enum, default_value = "text")]
    pub format: OutputFormat,
}

/// Which finished events `inbox requeue --since` puts back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RequeueState {
    /// Given up on after their last attempt.
    Dead,
    /// Handled: run again.
    Done,
}

#[derive(Debug, Args)]
pub struct PurgeArgs {
    #[command(flatten)]
    pub inbox: InboxArgs,
    /// How old a done event must be: `7d`, `12h`, `30m`, `90s` (a unit is required).
    #[arg(long, value_name = "DURATION", value_parser = crate::duration::any)]
    pub older_than: Duration,
    #[arg(long, value_enum, default_value = "text")]
    pub format: OutputFormat,
}

#[derive(Debug, Args)]
pub struct StatsArgs {
    #[command(flatten)]
    pub inbox: InboxArgs,
    #[arg(long, value_enum, default_value = "text")]
    pub format: OutputFormat,
}
