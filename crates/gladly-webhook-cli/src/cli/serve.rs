//! `serve`: the hub.

use super::*;

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("api_users").required(true).args(["api_user_env", "api_user_file"])))]
pub struct ServeArgs {
    /// The address the API listens on: `IP:PORT` (`0.0.0.0:8090` for every interface); a bare port or `localhost:PORT` means 127.0.0.1.
    #[arg(long, default_value = "127.0.0.1:8090", value_parser = crate::listen_addr::parse)]
    pub addr: std::net::SocketAddr,
    #[command(flatten)]
    pub store: HubStoreArgs,
    /// The environment variable holding the API users, one `email:token` per line.
    #[arg(long, value_name = "NAME")]
    pub api_user_env: Option<String>,
    /// The file holding the API users, one `email:token` per line.
    #[arg(long, value_name = "PATH")]
    pub api_user_file: Option<PathBuf>,
    /// Multiply the waits between delivery attempts (Gladly's 30 s, 5 min, 30 min and 1 h) by this; for tests.
    #[arg(long, value_name = "F", default_value_t = 1.0)]
    pub time_scale: f64,
    /// Accept subscription URLs to loopback (`http://localhost`, `127.0.0.1`, `[::1]`, http or https) and deliver there; off, the hub connects only to globally routable addresses.
    #[arg(long)]
    pub allow_insecure_localhost: bool,
    /// Also accept and deliver to addresses in this network, e.g. `10.1.0.0/16` (repeatable; private, link-local and other non-public addresses are refused otherwise).
    #[arg(long = "allow-network", value_name = "CIDR")]
    pub allow_networks: Vec<gladly_webhook_core::address::IpNet>,
    /// How long a hub holds a subscription while delivering to it, renewed as it goes; a hub that dies delays that subscription by at most this (e.g. `10s`).
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = crate::duration::positive)]
    pub lease: Duration,
    /// Deliveries to one subscription in flight at once, each retried on its own schedule: a failing delivery holds no other back, and deliveries may arrive out of publish order.
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub max_in_flight: u16,
    /// Deliver to each subscription strictly in publish order, one at a time (--max-in-flight 1): a delivery waiting for its retry holds every later one back, up to 1 h 36 min on Gladly's schedule.
    #[arg(long, conflicts_with = "max_in_flight")]
    pub ordered: bool,
    /// Keep finished deliveries, their attempts and their events this long (`30d`, `12h`), or `forever`.
    #[arg(long, value_name = "DURATION", default_value = "30d", value_parser = crate::duration::retention)]
    pub retention: crate::duration::Retention,
    /// Failed logins a peer may make at once before it is answered 429; it earns one more each second.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub failed_login_burst: u32,
    /// The environment variable holding the keys that seal subscription secrets at rest (64 hex digits a line, the current key first). Without a key, secrets are stored in plain text (a warning says so at start).
    #[arg(long, value_name = "NAME", conflicts_with = "secret_key_file")]
    pub secret_key_env: Option<String>,
    /// The file holding the keys that seal subscription secrets at rest (as --secret-key-env).
    #[arg(long, value_name = "PATH")]
    pub secret_key_file: Option<PathBuf>,
    #[command(flatten)]
    pub server: ServerArgs,
    #[command(flatten)]
    pub ops: OpsArgs,
    /// Serve the inspector page at /ui/ on the API's address, behind the same Basic auth: subscriptions, deliveries with every attempt, a test event, re-activation, retry now.
    #[arg(long)]
    pub ui: bool,
    /// Which API to speak: `subscription` (our user's schema: `secret`, `active`, signed deliveries) or `gladly` (a local Gladly: REST API 1.0 webhooks with `credentials` and `headers`, unsigned deliveries, the rate limit, the Events API).
    #[arg(long, value_enum, default_value = "subscription")]
    pub api: ApiDialect,
    /// With `--api gladly`: API requests answered per second (all API users together), 429 past it, as Gladly limits an organization; 0 for no limit.
    #[arg(long, value_name = "N", default_value_t = gladly_webhook_hub::RATE_LIMIT)]
    pub rate_limit: u32,
    /// Send operational events (a subscription deactivated, a delivery exhausted, a backlog past its threshold, a subscription re-enabled; with `--api gladly`, the email Gladly sends its API users) to this URL as Standard Webhooks (repeatable). They are listed at /api/v1/operational-events either way.
    #[arg(long = "alert-url", value_name = "URL", requires = "alert_secret_env")]
    pub alert_urls: Vec<String>,
    /// The environment variable holding the Standard Webhooks secret the operational events are signed with (`whsec_` and the base64 of 24 to 64 random bytes).
    #[arg(long, value_name = "NAME", requires = "alert_urls")]
    pub alert_secret_env: Option<String>,
    /// Raise `subscription.backlog` when a subscription has more pending deliveries than this.
    #[arg(long, value_name = "N")]
    pub alert_backlog: Option<u64>,
    /// Raise `subscription.backlog` when a subscription's oldest pending delivery was published longer ago than this (`10m`).
    #[arg(long, value_name = "DURATION", value_parser = crate::duration::positive)]
    pub alert_oldest_pending: Option<Duration>,
    /// With `--api gladly`: how far back the Events API reaches (Gladly's: 24h); events are kept at least this long.
    #[arg(long, value_name = "DURATION", default_value = "24h", value_parser = crate::duration::events_window)]
    pub events_window: Duration,
}

/// The API `serve` speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ApiDialect {
    /// Our user's subscription schema (the default).
    Subscription,
    /// Gladly's REST API 1.0, as the real service runs it.
    Gladly,
}

impl ApiDialect {
    /// The model it serves.
    pub fn model(self) -> gladly_webhook_core::Model {
        match self {
            Self::Subscription => gladly_webhook_core::Model::Subscription,
            Self::Gladly => gladly_webhook_core::Model::RestApiV1,
        }
    }
}
