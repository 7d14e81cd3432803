//! `listen` and what it shares with the other servers: the inbox, `--exec`, the page, delivery authentication, operations, server limits.

use super::*;

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
    /// Export the spans (`gladly.run` and `gladly.attempt` of `serve`, `gladly.delivery` and `gladly.run` of `listen`) to this OpenTelemetry collector, OTLP over HTTP/protobuf (`http://127.0.0.1:4318`; `/v1/traces` is added). No span attribute holds a secret.
    #[cfg(feature = "otlp")]
    #[arg(long, value_name = "URL")]
    pub otlp_endpoint: Option<String>,
}

impl OpsArgs {
    /// The OTLP collector spans go to, when one is given (never without
    /// the `otlp` feature).
    pub fn otlp_endpoint(&self) -> Option<&str> {
        #[cfg(feature = "otlp")]
        return self.otlp_endpoint.as_deref();
        #[cfg(not(feature = "otlp"))]
        None
    }
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
    /// On SIGTERM or Ctrl-C, the time requests, then deliveries or commands, in flight have in all to finish; what still runs is then stopped and stays pending, done after a restart (e.g. `20s`; keep it under your orchestrator's own grace).
    #[arg(long, value_name = "DURATION", default_value = "20s", value_parser = crate::duration::positive)]
    pub shutdown_grace: Duration,
}
