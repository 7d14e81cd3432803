//! The command line, as clap reads it.

use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};
use clap::{Args, Parser, Subcommand, ValueEnum};

use gladly_webhook_core::signing::DEFAULT_TOLERANCE;
use gladly_webhook_core::validate::DEFAULT_MAX_SIZE;

use crate::secrets::SecretSource;

/// `--tolerance`'s default is the verifier's.
const _: () = assert!(DEFAULT_TOLERANCE.as_secs() == 300);

/// Receive Gladly webhook deliveries into a durable inbox and run a command
/// per event; send events as Gladly does; validate subscriptions, sign and
/// verify deliveries, and read events.
///
/// Exit codes: 0 success, 1 the input was judged and failed (invalid,
/// rejected), 2 usage or I/O error. Results go to stdout, reasons to
/// stderr. `-` reads standard input.
#[derive(Debug, Parser)]
#[command(name = "gladly-webhook", version, about, long_about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate a subscription document; print each problem as `<pointer>: <code>: <message>`.
    Validate(ValidateArgs),
    /// Sign a raw HTTP/1.1 request; print it with Gladly-Time and Gladly-Authorization set.
    Sign(SignArgs),
    /// Verify a signed raw HTTP/1.1 request, as a receiver would.
    Verify(VerifyArgs),
    /// Parse an event payload and print a summary.
    Event(EventArgs),
    /// Print a vendored JSON Schema.
    Schema(SchemaArgs),
    /// Receive deliveries: verify, store in the inbox, answer; optionally run a command per event.
    Listen(ListenArgs),
    /// Look into and repair an inbox, or run its workers.
    #[command(subcommand)]
    Inbox(InboxCommand),
    /// Deliver one event to a URL as Gladly does (signed, retried on Gladly's schedule).
    Send(SendArgs),
    /// Send a realistic example event of a type, with a fresh id and timestamp.
    Trigger(TriggerArgs),
    /// Run the subscription service: the REST API for Webhook subscriptions and the delivery of published events.
    Serve(ServeArgs),
    /// Manage the webhooks of Gladly's REST API 1.0 (Gladly, its sandbox, or a local hub): list, get, create, update, enable, disable, delete.
    #[command(subcommand)]
    Webhooks(WebhooksCommand),
    /// Ask a running command's /readyz (or any http URL) whether it is ready: exit 0 on a 2xx, 1 otherwise, 2 when nothing answers. For container health checks (the image has no curl).
    Health(HealthArgs),
    /// Print a shell completion script: `gladly-webhook completions bash > /etc/bash_completion.d/gladly-webhook`.
    Completions(CompletionsArgs),
    /// Print the manual page (roff), or write one per command into a folder: `gladly-webhook man | man -l -`.
    Man(ManArgs),
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write `gladly-webhook.1` and one page per command (`gladly-webhook-listen.1`...) into this folder instead.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
}

impl Command {
    /// How the command's log lines, and what the tool says on standard
    /// error, are written (`--log-format`; text for commands without it).
    pub fn log_format(&self) -> crate::say::LogFormat {
        match self {
            Self::Listen(args) => args.ops.log_format,
            Self::Serve(args) => args.ops.log_format,
            Self::Inbox(InboxCommand::Work(args)) => args.log_format,
            _ => crate::say::LogFormat::Text,
        }
    }
}

#[derive(Debug, Args)]
pub struct HealthArgs {
    /// The URL to ask (plain http).
    #[arg(default_value = "http://127.0.0.1:9464/readyz")]
    pub url: String,
    /// How long to wait for the answer, e.g. `2s`.
    #[arg(long, value_name = "DURATION", default_value = "3s", value_parser = crate::duration::positive)]
    pub timeout: Duration,
}

/// Where Gladly's API is and who calls it.
#[derive(Debug, Args)]
pub struct ApiArgs {
    /// The API's base URL: `https://acme.gladly.com`, the sandbox `https://acme.gladly.qa`, or a local hub (`http://127.0.0.1:8090`).
    #[arg(long = "api", value_name = "URL", env = "GLADLY_API_URL")]
    pub api: Option<String>,
    /// The environment variable holding the API user, `email:token`.
    #[arg(
        long,
        value_name = "NAME",
        default_value = "GLADLY_API_USER",
        conflicts_with = "api_user_file"
    )]
    pub api_user_env: String,
    /// The file holding the API user, `email:token`.
    #[arg(long, value_name = "PATH")]
    pub api_user_file: Option<PathBuf>,
    /// Accept webhook URLs to loopback (`http://127.0.0.1:...`) when checking a body before sending it: for a local Gladly (`serve --api gladly --allow-insecure-localhost`) delivering to a receiver on this machine. Gladly itself refuses them.
    #[arg(long)]
    pub allow_insecure_localhost: bool,
}

/// A webhook's fields, as flags (`create`, `update`) or a JSON file.
#[derive(Debug, Args)]
pub struct WebhookFieldArgs {
    /// The webhook as JSON (`-` for standard input), instead of the flags below.
    #[arg(long, value_name = "PATH", conflicts_with_all = ["name", "url", "events", "basic_auth_env", "headers", "enabled"])]
    pub file: Option<PathBuf>,
    /// A label, e.g. "CSAT integration".
    #[arg(long)]
    pub name: Option<String>,
    /// The HTTPS URL Gladly delivers to.
    #[arg(long)]
    pub url: Option<String>,
    /// An event type, NOUN/VERB (repeatable): `--event CONVERSATION/CLOSED --event TASK/CREATED`.
    #[arg(long = "event", value_name = "TYPE")]
    pub events: Vec<String>,
    /// The environment variable holding `user:password`, the Basic credentials Gladly sends with each delivery.
    #[arg(long, value_name = "NAME")]
    pub basic_auth_env: Option<String>,
    /// A header Gladly adds to each delivery (repeatable), each with a --header-value-env, in order.
    #[arg(long = "header", value_name = "NAME")]
    pub headers: Vec<String>,
    /// The environment variable holding the value of the --header of the same position.
    #[arg(long = "header-value-env", value_name = "NAME")]
    pub header_value_envs: Vec<String>,
    /// Enabled (`true`) or disabled (`false`); a new webhook is disabled unless told.
    #[arg(long, value_name = "BOOL")]
    pub enabled: Option<bool>,
}

#[derive(Debug, Subcommand)]
pub enum WebhooksCommand {
    /// Every webhook: a table, or one JSON object per line.
    List(WebhooksListArgs),
    /// One webhook, as JSON.
    Get(WebhookIdArgs),
    /// Create a webhook (validated before it is sent); prints its id.
    Create(WebhooksCreateArgs),
    /// Change the fields given.
    Update(WebhooksUpdateArgs),
    /// Enable a webhook (Gladly PINGs its URL, which must answer 200).
    Enable(WebhookIdArgs),
    /// Disable a webhook.
    Disable(WebhookIdArgs),
    /// Delete a webhook (disable it first: Gladly refuses to delete an enabled one).
    Delete(WebhookIdArgs),
}

#[derive(Debug, Args)]
pub struct WebhooksListArgs {
    #[command(flatten)]
    pub api: ApiArgs,
    /// text (a table) or json (one object per line).
    #[arg(long, value_enum, default_value = "text")]
    pub format: OutputFormat,
}

#[derive(Debug, Args)]
pub struct WebhookIdArgs {
    /// The webhook's id.
    pub id: String,
    #[command(flatten)]
    pub api: ApiArgs,
}

#[derive(Debug, Args)]
pub struct WebhooksCreateArgs {
    #[command(flatten)]
    pub api: ApiArgs,
    #[command(flatten)]
    pub fields: WebhookFieldArgs,
}

#[derive(Debug, Args)]
pub struct WebhooksUpdateArgs {
    /// The webhook's id.
    pub id: String,
    #[command(flatten)]
    pub api: ApiArgs,
    #[command(flatten)]
    pub fields: WebhookFieldArgs,
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Lines for people.
    Text,
    /// One JSON object per line.
    Json,
}

/// Which inbox.
#[derive(Debug, Clone, Args)]
pub struct InboxArgs {
    /// `sqlite:PATH` (created on first use) or a `postgres://` URL (from GLADLY_INBOX when not given, which keeps a password off the command line).
    #[arg(
        long = "inbox",
        value_name = "URL",
        env = "GLADLY_INBOX",
        hide_env_values = true,
        default_value = "sqlite:gladly-inbox.db"
    )]
    pub url: String,
}

/// Running a command per stored event.
#[derive(Debug, Clone, Args)]
pub struct ExecArgs {
    /// Run `sh -c CMD` per event: the event's JSON on stdin, GLADLY_EVENT_ID,
    /// GLADLY_EVENT_TYPE and GLADLY_ATTEMPT in its environment; exit 0 marks it done.
    #[arg(long, value_name = "CMD")]
    pub exec: Option<String>,
    /// Stop a command after this long (a failure, retried), e.g. `60s`, `5m`.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = crate::duration::positive)]
    pub exec_timeout: Duration,
    /// Workers running commands at once.
    #[arg(long, default_value_t = 4)]
    pub workers: usize,
    /// Runs of one event before it is dead.
    #[arg(long, default_value_t = 8)]
    pub max_attempts: u32,
    /// The first retry's backoff bound (it doubles per attempt, up to 10 minutes), e.g. `1s`.
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = crate::duration::positive)]
    pub retry_base: Duration,
    /// How long a run holds its event before another worker may take it, e.g. `60s`.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = crate::duration::positive)]
    pub lease: Duration,
    /// Pass the variables named by --secret-env to the command too (by default they are removed from its environment).
    #[arg(long)]
    pub exec_keep_secret_env: bool,
}

#[derive(Debug, Args)]
pub struct ListenArgs {
    /// The address to listen on: `IP:PORT` (`0.0.0.0:8080` for every interface); a bare port or `localhost:PORT` means 127.0.0.1.
    #[arg(long, default_value = "127.0.0.1:8080", value_parser = crate::listen_addr::parse)]
    pub addr: std::net::SocketAddr,
    /// The path deliveries arrive on (your subscription URL's path).
    #[arg(long, default_value = "/")]
    pub path: String,
    /// The signing secrets, for signed deliveries (our user's model; repeat for a rotation: current first).
    #[command(flatten)]
    pub secret: SecretArgs,
    #[command(flatten)]
    pub auth: DeliveryAuthArgs,
    #[command(flatten)]
    pub inbox: InboxArgs,
    #[command(flatten)]
    pub exec: ExecArgs,
    /// How to print: text, one line per delivery on stdout (--exec runs on stderr); json, one object per delivery and per run on stdout. A command's own output always goes to stderr.
    #[arg(long, value_enum, default_value = "text")]
    pub format: OutputFormat,
    /// Accept a Gladly-Time this far from the clock, either way (`300s`, `10m`).
    #[arg(long, default_value = "300s", value_name = "DURATION", value_parser = crate::duration::positive)]
    pub tolerance: Duration,
    /// Refuse bodies larger than this (413).
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_SIZE)]
    pub body_limit: usize,
    #[command(flatten)]
    pub server: ServerArgs,
    #[command(flatten)]
    pub ops: OpsArgs,
    /// Serve the inspector page (every delivery answered and why, the inbox's events, their runs, replay) on --ui-addr.
    #[arg(long)]
    pub ui: bool,
    /// Where --ui listens: loopback unless told otherwise (the page shows event bodies and replays events; another address needs --ui-allow-remote and --ui-login-env).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8081", value_parser = crate::listen_addr::parse, requires = "ui")]
    pub ui_addr: std::net::SocketAddr,
    #[command(flatten)]
    pub ui_access: UiAccessArgs,
}

/// Who may reach an inspector page (`listen --ui`, `inbox ui`).
#[derive(Debug, Args)]
pub struct UiAccessArgs {
    /// Let the page listen on an address other than loopback (`0.0.0.0:8081`): it then asks for the login of --ui-login-env.
    #[arg(long)]
    pub ui_allow_remote: bool,
    /// The environment variable holding `user:password`, the login the page asks for (required with --ui-allow-remote).
    #[arg(long, value_name = "NAME")]
    pub ui_login_env: Option<String>,
    /// A host name (`name:port`) people reach the page by, beside localhost, 127.0.0.1, `[::1]` and the address it listens on (repeatable); a request naming any other Host is refused, against DNS rebinding.
    #[arg(long = "ui-host", value_name = "HOST")]
    pub ui_hosts: Vec<String>,
}

/// How deliveries that are not signed prove they come from Gladly: a REST
/// API 1.0 webhook's `credentials` (HTTP Basic) and `headers`.
#[derive(Debug, Args)]
pub struct DeliveryAuthArgs {
    /// The environment variable holding `user:password`, the HTTP Basic credentials deliveries carry (a webhook's `credentials`).
    #[arg(long, value_name = "NAME", conflicts_with = "basic_auth_file")]
    pub basic_auth_env: Option<String>,
    /// The file holding `user:password` (as --basic-auth-env).
    #[arg(long, value_name = "PATH")]
    pub basic_auth_file: Option<PathBuf>,
    /// A header deliveries carry (a webhook's `headers`, e.g. X-Gladly-Token); repeatable, each with a --header-value-env, in order.
    #[arg(long = "require-header", value_name = "NAME")]
    pub require_headers: Vec<String>,
    /// The environment variable holding the value of the --require-header of the same position.
    #[arg(long = "header-value-env", value_name = "NAME")]
    pub header_value_envs: Vec<String>,
    /// `listen`: accept every delivery, authenticated or not (only for a receiver nothing else can reach; said on the first line). `send`/`trigger`: send without any authentication.
    #[arg(long, conflicts_with_all = ["basic_auth_env", "basic_auth_file", "require_headers"])]
    pub no_auth: bool,
}

/// Operating a long-running command: logs, metrics, health routes.
#[derive(Debug, Args)]
pub struct OpsArgs {
    /// Serve Prometheus metrics at /metrics, with /healthz and /readyz, on this address (e.g. `127.0.0.1:9464`); off unless given. Keep it off the public network.
    #[arg(long, value_name = "ADDR", value_parser = crate::listen_addr::parse)]
    pub metrics_addr: Option<std::net::SocketAddr>,
    /// Also answer /healthz and /readyz on the main address (for a load balancer that probes the serving port).
    #[arg(long)]
    pub health_routes: bool,
    /// Log lines on stderr as text or one JSON object per line (`listen` then prints its --exec run lines on stdout; what a command writes stays its own); filter with RUST_LOG (e.g. `RUST_LOG=debug`, `RUST_LOG=gladly_webhook_hub=debug,warn`).
    #[arg(long, value_enum, default_value = "text")]
    pub log_format: crate::say::LogFormat,
}

/// What a server lets its clients hold (`listen`, `serve`).
#[derive(Debug, Args)]
pub struct ServerArgs {
    /// The longest a client may take to send a request's head; also how long an idle kept-alive connection stays open.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = crate::duration::positive)]
    pub header_timeout: Duration,
    /// The time a whole request body has to arrive (408 past it).
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = crate::duration::positive)]
    pub body_timeout: Duration,
    /// The most connections open at once; past it a connection is answered 503 and closed.
    #[arg(long, value_name = "N", default_value_t = 512)]
    pub max_connections: usize,
    /// The most bytes of request bodies buffered at once, over all requests (503 past it).
    #[arg(long, value_name = "BYTES", default_value_t = 64 << 20)]
    pub body_budget: usize,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("api_users").required(true).args(["api_user_env", "api_user_file"])))]
pub struct ServeArgs {
    /// The address the API listens on: `IP:PORT` (`0.0.0.0:8090` for every interface); a bare port or `localhost:PORT` means 127.0.0.1.
    #[arg(long, default_value = "127.0.0.1:8090", value_parser = crate::listen_addr::parse)]
    pub addr: std::net::SocketAddr,
    /// The store: `sqlite:PATH` (created on first use) or a `postgres://` URL (from GLADLY_HUB_DB when not given, which keeps a password off the command line).
    #[arg(
        long,
        value_name = "URL",
        env = "GLADLY_HUB_DB",
        hide_env_values = true,
        default_value = "sqlite:gladly-hub.db"
    )]
    pub db: String,
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

#[derive(Debug, Subcommand)]
pub enum InboxCommand {
    /// Run the workers only (no HTTP): `--exec CMD` per stored event.
    Work(WorkArgs),
    /// List events, newest first.
    List(ListArgs),
    /// Show one event: its row, its history and its raw payload.
    Show(ShowArgs),
    /// Put a dead event (or every dead event) back to pending.
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
    /// From: a time ago (`6h`, `90m`; at most 24h) or an RFC 3339 time; without it, from where the last backfill of this API into this inbox stopped.
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

/// A moment: an RFC 3339 time, or a duration ago (`6h`).
fn parse_when(text: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(at.with_timezone(&Utc));
    }
    let ago = crate::duration::positive(text).map_err(|err| {
        format!("expected a duration ago such as `6h` or an RFC 3339 time, found {text:?}: {err}")
    })?;
    chrono::TimeDelta::from_std(ago)
        .ok()
        .and_then(|ago| Utc::now().checked_sub_signed(ago))
        .ok_or_else(|| format!("{text} ago is before the first time there is"))
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
#[command(group(clap::ArgGroup::new("which").required(true).args(["id", "all_dead"])))]
pub struct RequeueArgs {
    #[command(flatten)]
    pub inbox: InboxArgs,
    /// The dead event's id (or dedup key); `--all-dead` requeues every dead event instead.
    pub id: Option<String>,
    /// Every dead event.
    #[arg(long)]
    pub all_dead: bool,
    #[arg(long, value_enum, default_value = "text")]
    pub format: OutputFormat,
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

/// How a delivery is sent.
#[derive(Debug, Args)]
pub struct DeliveryArgs {
    /// The endpoint (required).
    #[arg(long, value_name = "URL")]
    pub to: Option<String>,
    /// text: attempts on stderr, the outcome on stdout; json: one object per attempt, then the outcome's, on stdout.
    #[arg(long, value_enum, default_value = "text")]
    pub format: OutputFormat,
    /// The signing secret, to sign as our user's model does (at most one).
    #[command(flatten)]
    pub secret: SecretArgs,
    /// Credentials and headers to send, as a REST API 1.0 webhook does (the same flags as `listen`'s).
    #[command(flatten)]
    pub auth: DeliveryAuthArgs,
    /// `gladly` (four retries, after 30 s, 5 min, 30 min and 1 h), `none`, or delays such as `1s,30s,5m`.
    /// Default: `gladly` for `send`, `none` (one attempt) for `trigger`.
    #[arg(long)]
    pub schedule: Option<String>,
    /// Multiply every wait by this (0.001 turns Gladly's hour into 3.6 s).
    #[arg(long, default_value_t = 1.0)]
    pub time_scale: f64,
    /// How long each attempt has to answer, e.g. `15s`.
    #[arg(long, value_name = "DURATION", default_value = "15s", value_parser = crate::duration::positive)]
    pub timeout: Duration,
    /// Send this header too (`Name: value`, repeatable).
    #[arg(long = "header", value_name = "NAME: VALUE")]
    pub headers: Vec<String>,
    /// Also sign this header (repeatable); content-type and gladly-time always are.
    #[arg(long = "sign-header", value_name = "NAME")]
    pub sign_headers: Vec<String>,
    /// Print the signed request instead of sending it.
    #[arg(long)]
    pub dry_run: bool,
    /// Also deliver to addresses in this network, e.g. `10.1.0.0/16` (repeatable). Loopback is allowed; other private, link-local and non-public addresses are refused without this.
    #[arg(long = "allow-network", value_name = "CIDR")]
    pub allow_networks: Vec<gladly_webhook_core::address::IpNet>,
}

#[derive(Debug, Args)]
pub struct SendArgs {
    #[command(flatten)]
    pub delivery: DeliveryArgs,
    #[command(flatten)]
    pub limits: LimitArgs,
    /// Send a payload that is not a valid event too (a warning says why),
    /// to test how a receiver copes; without it such a payload is refused.
    #[arg(long)]
    pub allow_invalid: bool,
    /// The event payload (JSON), or `-`.
    pub event: PathBuf,
}

#[derive(Debug, Args)]
pub struct TriggerArgs {
    /// Print the event types `trigger` has an example of, one a line with its model, and exit.
    #[arg(long, exclusive = true)]
    pub list: bool,
    /// The event type, of our model (`CONVERSATION_CLOSED`) or of Gladly's REST API 1.0
    /// (`CONVERSATION/CLOSED`), or `PING`; case and `-` are forgiven.
    #[arg(required_unless_present = "list")]
    pub event_type: Option<String>,
    #[command(flatten)]
    pub delivery: DeliveryArgs,
    /// Set a field the example has: `POINTER=JSON`, e.g. `--set '/content/customerId="cust_9"'` (single quotes keep the JSON string's double quotes; repeatable).
    #[arg(long = "set", value_name = "POINTER=JSON")]
    pub set: Vec<String>,
    /// Let --set add a field the example does not have (and the objects on its way).
    #[arg(long, requires = "set")]
    pub create: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LevelArg {
    /// Exactly the JSON Schema.
    Schema,
    /// The schema plus what a delivery system needs.
    Strict,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FormatArg {
    /// One problem per line.
    Text,
    /// A JSON array of {pointer, code, message}.
    Json,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub limits: LimitArgs,
    /// Which rules apply.
    #[arg(long, value_enum, default_value = "strict")]
    pub level: LevelArg,
    /// Under strict, accept http URLs to localhost, 127.0.0.1 and `[::1]`.
    #[arg(long)]
    pub allow_insecure_localhost: bool,
    /// How to print the problems.
    #[arg(long, value_enum, default_value = "text")]
    pub format: FormatArg,
    /// The subscription document (JSON), or `-`.
    pub file: PathBuf,
}

/// How much input a command reads.
#[derive(Debug, Args)]
pub struct LimitArgs {
    /// Refuse a document (or a request body) larger than this many bytes.
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_SIZE)]
    pub max_bytes: usize,
}

/// Where secrets come from: never a plain argument.
#[derive(Debug, Args)]
pub struct SecretArgs {
    /// Read a secret from this environment variable (repeatable: during a rotation every secret given is accepted).
    #[arg(long = "secret-env", value_name = "NAME")]
    pub env: Vec<String>,
    /// Read a secret from this file (one trailing newline is dropped; repeatable).
    #[arg(long = "secret-file", value_name = "PATH")]
    pub file: Vec<PathBuf>,
}

impl SecretArgs {
    /// A verifier for every secret given (at least one), in order, with
    /// `tolerance` seconds, and the sources (to name the one that matched).
    /// `command` names the command in the error for none.
    pub fn verifier(
        &self,
        command: &str,
        tolerance: u64,
    ) -> Result<(gladly_webhook_core::Verifier, Vec<SecretSource>), crate::error::CliError> {
        use crate::error::CliError;
        let sources = self.sources();
        if sources.is_empty() {
            return Err(CliError::Usage(format!(
                "{command} needs a secret: --secret-env NAME or --secret-file PATH (repeatable)"
            )));
        }
        let secrets = sources
            .iter()
            .map(SecretSource::load)
            .collect::<Result<Vec<_>, _>>()?;
        // The side that signs chooses the key (Gladly's own signing example
        // uses a 13-byte one): a short key is checked, with a warning.
        for (secret, source) in secrets.iter().zip(&sources) {
            warn_if_short(secret, source);
        }
        let verifier = gladly_webhook_core::Verifier::new(&secrets)
            .map_err(|err| CliError::Usage(err.to_string()))?
            .tolerance(std::time::Duration::from_secs(tolerance));
        Ok((verifier, sources))
    }

    /// The sources given: environment variables first, then files.
    pub fn sources(&self) -> Vec<SecretSource> {
        let env = (1..)
            .zip(&self.env)
            .map(|(i, name)| SecretSource::env(name.clone(), i));
        let files = (1..)
            .zip(&self.file)
            .map(|(i, path)| SecretSource::file(path.clone(), i));
        env.chain(files).collect()
    }
}

/// Warns once, on standard error, that the secret in `source` is shorter
/// than the 16 bytes (128 bits) this project issues and Gladly recommends.
pub fn warn_if_short(secret: &gladly_schema::Secret, source: &SecretSource) {
    let min = gladly_webhook_core::validate::MIN_SECRET_LEN;
    let len = secret.expose().len();
    if len < min {
        crate::say::warn(format_args!(
            "the secret in {source} is {len} bytes, shorter than the {min} bytes (128 bits) Gladly recommends; it is used as given"
        ));
    }
}

#[derive(Debug, Args)]
pub struct SignArgs {
    #[command(flatten)]
    pub limits: LimitArgs,
    #[command(flatten)]
    pub secret: SecretArgs,
    /// Sign at this time (RFC 3339) instead of now.
    #[arg(long, value_parser = parse_time, value_name = "RFC3339")]
    pub time: Option<DateTime<Utc>>,
    /// Also sign this header (repeatable); content-type and gladly-time always are.
    #[arg(long = "sign-header", value_name = "NAME")]
    pub sign_headers: Vec<String>,
    /// The raw HTTP/1.1 request, or `-`.
    pub request: PathBuf,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub limits: LimitArgs,
    /// The secrets (repeat for a rotation: current first).
    #[command(flatten)]
    pub secret: SecretArgs,
    /// Verify as if the clock read this time (RFC 3339).
    #[arg(long, value_parser = parse_time, value_name = "RFC3339")]
    pub now: Option<DateTime<Utc>>,
    /// Accept a Gladly-Time this far from the clock, either way (`300s`, `10m`).
    #[arg(long, default_value = "300s", value_name = "DURATION", value_parser = crate::duration::positive)]
    pub tolerance: Duration,
    /// The raw HTTP/1.1 request as received, or `-`.
    pub request: PathBuf,
    /// text (lines) or json (one object).
    #[arg(long, value_enum, default_value = "text")]
    pub format: OutputFormat,
}

#[derive(Debug, Args)]
pub struct EventArgs {
    #[command(flatten)]
    pub limits: LimitArgs,
    /// The event payload (JSON), or `-`.
    pub file: PathBuf,
    /// text (lines) or json (one object).
    #[arg(long, value_enum, default_value = "text")]
    pub format: OutputFormat,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SchemaName {
    /// The subscription schema.
    Webhook,
    /// The event payload schema.
    Event,
}

#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// Which schema.
    #[arg(value_enum, default_value = "webhook")]
    pub name: SchemaName,
}

fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|err| format!("expected an RFC 3339 time such as 2026-11-26T17:00:05Z: {err}"))
}
