//! `gladly-webhook-bench`: measures receiving over HTTP on loopback.
//!
//! - `serve`: one server to measure, on a free loopback port it prints.
//! - `load`: the load generator against a loopback address.
//! - `receive`: starts a server (as a child process), loads it at each
//!   concurrency, stops it, and prints one JSON line per run.
//! - `fsync`: the fsync ceiling of the disk a SQLite inbox would use.
//! - `fanout`: the hub's delivery throughput and publish-to-delivery
//!   latency to local receivers (a slow or failing one, a prefilled store);
//!   `fanout-receivers` serves them in a process of their own.
//! - `relay`: deliveries into a relay, Standard Webhooks out to local
//!   destinations: accepted events a second, and request-to-destination
//!   latency.
//!
//! Every run is bounded in time and count and talks to 127.0.0.1 only.

mod fanout;
mod fsync;
mod load;
mod nats_sink;
mod otlp;
mod relay;
mod serve;

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::load::{LoadPlan, Scheme};
use crate::serve::{Server, ServerConfig};

/// The allocator `gladly-webhook serve` uses (the CLI's default
/// `mimalloc` feature), so the hub is measured as it ships.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const SECRET: &str = "whsec_bench_0123456789abcdef0123";

/// Benchmarks of receiving Gladly webhooks over HTTP (loopback only).
#[derive(Debug, Parser)]
#[command(name = "gladly-webhook-bench")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve one server to measure; prints `listening on ADDR`.
    Serve(ServeArgs),
    /// Send load to a loopback address; prints the result as JSON.
    Load(LoadArgs),
    /// Start a server, load it at each concurrency, stop it.
    Receive(ReceiveArgs),
    /// Measure the fsync ceiling of a folder's disk.
    Fsync {
        /// The folder (default: the system's temporary folder).
        #[arg(long)]
        dir: Option<std::path::PathBuf>,
        /// How long to measure, seconds.
        #[arg(long, default_value_t = 3.0)]
        seconds: f64,
    },
    /// The hub's fan-out: publish events to its API, time their delivery to local receivers.
    Fanout(FanoutArgs),
    /// The relay: signed deliveries in at each concurrency, Standard Webhooks out to local destinations.
    Relay(RelayArgs),
    /// The receivers of `fanout --receivers-apart` (started by it): prints their URLs, serves until stdin closes.
    FanoutReceivers(FanoutReceiversArgs),
}

#[derive(Debug, Clone, Args)]
struct FanoutReceiversArgs {
    /// Receivers, each on a loopback port of its own.
    #[arg(long)]
    count: usize,
    /// How long each takes to answer, e.g. `50ms`.
    #[arg(long, default_value = "0ms", value_parser = duration)]
    delay: Duration,
    /// The event id the first receiver answers 500.
    #[arg(long)]
    refuse: Option<String>,
    /// Stop after this many seconds even if stdin stays open.
    #[arg(long, default_value_t = 600)]
    max_seconds: u64,
}

#[derive(Debug, Clone, Args)]
struct RelayArgs {
    /// Concurrencies to run, comma-separated.
    #[arg(long, default_value = "16,64", value_delimiter = ',')]
    connections: Vec<usize>,
    /// Seconds of load per concurrency.
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    /// Destinations, each receiving every event.
    #[arg(long, default_value_t = 5)]
    destinations: usize,
    /// PostgreSQL instead of a SQLite file in a temporary folder.
    #[arg(long)]
    database_url: Option<String>,
    /// Make a new database on the server of --database-url for this run.
    #[arg(long, requires = "database_url")]
    fresh_database: bool,
    /// Start the dispatcher only after each run's load: the accepting alone, then the drain.
    #[arg(long)]
    accept_only: bool,
    /// A NATS server (nats://...): one destination, a JetStream stream of the run's own, instead of the HTTP ones.
    #[arg(long)]
    nats: Option<String>,
}

#[derive(Debug, Clone, Args)]
struct FanoutArgs {
    /// Events to publish (measured).
    #[arg(long, default_value_t = 2000)]
    events: u64,
    /// Concurrent publishers.
    #[arg(long, default_value_t = 8)]
    publishers: usize,
    /// Receivers, each subscribed to every event.
    #[arg(long, default_value_t = 3)]
    receivers: usize,
    /// PostgreSQL instead of a SQLite file in a temporary folder (use a fresh database: rows of earlier runs count as prefill).
    #[arg(long)]
    database_url: Option<String>,
    /// Make a new database on the server of --database-url for this run
    /// (named `gladly_fanout_<time>`, left behind for inspection) and use it.
    #[arg(long, requires = "database_url")]
    fresh_database: bool,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 120)]
    max_seconds: u64,
    /// How long each receiver takes to answer, e.g. `50ms`.
    #[arg(long, default_value = "0ms", value_parser = duration)]
    receiver_delay: Duration,
    /// The first receiver refuses the first event (500, always): the others must not wait behind it.
    #[arg(long)]
    fail_one: bool,
    /// Finished deliveries to make before the warm-up (the store's size in production).
    #[arg(long, default_value_t = 0)]
    prefill: u64,
    /// Events delivered before ANALYZE and the measured batch.
    #[arg(long, default_value_t = 200)]
    warmup: u64,
    /// Deliveries in flight per subscription (1: strict publish order).
    #[arg(long, default_value_t = 8)]
    max_in_flight: usize,
    /// Publish at most this many events a second (for latency at a given load).
    #[arg(long)]
    rate: Option<f64>,
    /// Skip the ANALYZE after the warm-up: fresh tables, the planner's defaults.
    #[arg(long)]
    no_analyze: bool,
    /// Run the receivers in a process of their own, answering 200 at once without verifying (how issue 39 measured the hub beside Svix); by default they run in this process and verify each signature.
    #[arg(long)]
    receivers_apart: bool,
    /// Export the hub's spans over OTLP/HTTP, as `serve --otlp-endpoint` does, to a sink on loopback (what exporting costs).
    #[arg(long)]
    otlp: bool,
}

/// A duration with its unit (`50ms`, `2s`).
fn duration(text: &str) -> Result<Duration, String> {
    gladly_webhook_sender::parse_duration(text)
        .filter(|_| !text.trim().chars().all(|c| c.is_ascii_digit()))
        .ok_or_else(|| {
            format!("expected a duration with its unit, such as `50ms` or `2s`, found `{text}`")
        })
}

#[derive(Debug, Clone, Args)]
struct ServeArgs {
    /// Which server.
    #[arg(long, value_enum)]
    server: Server,
    /// The path to receive on.
    #[arg(long, default_value = "/hooks/gladly")]
    path: String,
    /// SQLite: synchronous=NORMAL instead of FULL.
    #[arg(long)]
    normal_sync: bool,
    /// SQLite: turn group commit off.
    #[arg(long)]
    no_group_commit: bool,
    /// PostgreSQL: the database URL.
    #[arg(long)]
    database_url: Option<String>,
    /// Stop after this many seconds at most.
    #[arg(long, default_value_t = 600)]
    max_seconds: u64,
}

#[derive(Debug, Clone, Args)]
struct LoadArgs {
    /// The server's loopback address.
    #[arg(long)]
    addr: SocketAddr,
    /// The path.
    #[arg(long, default_value = "/hooks/gladly")]
    path: String,
    /// Concurrent keep-alive connections.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// How long, seconds.
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    /// At most this many requests.
    #[arg(long, default_value_t = 2_000_000)]
    max_requests: u64,
    /// Body size, bytes.
    #[arg(long, default_value_t = 1024)]
    body_size: usize,
    /// How requests are signed.
    #[arg(long, value_enum, default_value = "gladly")]
    scheme: Scheme,
}

#[derive(Debug, Clone, Args)]
struct ReceiveArgs {
    #[command(flatten)]
    server: ServeArgs,
    /// Concurrencies to run, comma-separated.
    #[arg(long, default_value = "1,16,64", value_delimiter = ',')]
    connections: Vec<usize>,
    /// Seconds per concurrency.
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    /// A label for the output lines (default: the server's name).
    #[arg(long)]
    label: Option<String>,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    // `fanout --otlp`: the export starts (and ends) outside the runtime.
    let export = match &cli.command {
        Command::Fanout(args) if args.otlp => match otlp::start() {
            Ok(export) => Some(export),
            Err(err) => {
                eprintln!("gladly-webhook-bench: cannot export spans: {err}");
                return std::process::ExitCode::FAILURE;
            }
        },
        _ => None,
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Serve(args) => {
                serve::serve(server_config(&args), Duration::from_secs(args.max_seconds)).await
            }
            Command::Load(args) => {
                let result = load::run(plan(&args)).await?;
                println!(
                    "{}",
                    serde_json::to_string(&result).map_err(|e| e.to_string())?
                );
                Ok(())
            }
            Command::Receive(args) => receive(args).await,
            Command::Fanout(args) => {
                let database_url = match (args.database_url, args.fresh_database) {
                    (Some(url), true) => Some(fanout::fresh_database(&url).await?),
                    (url, _) => url,
                };
                let result = fanout::run(fanout::FanoutPlan {
                    events: args.events,
                    publishers: args.publishers,
                    receivers: args.receivers,
                    database_url,
                    max: Duration::from_secs(args.max_seconds),
                    receiver_delay: args.receiver_delay,
                    fail_one: args.fail_one,
                    prefill: args.prefill,
                    warmup: args.warmup,
                    max_in_flight: args.max_in_flight,
                    rate: args.rate,
                    analyze: !args.no_analyze,
                    receivers_apart: args.receivers_apart,
                })
                .await?;
                println!(
                    "{}",
                    serde_json::to_string(&result).map_err(|e| e.to_string())?
                );
                Ok(())
            }
            Command::FanoutReceivers(args) => {
                fanout::apart::serve(fanout::apart::ApartPlan {
                    count: args.count,
                    delay: args.delay,
                    refuse: args.refuse,
                    max: Duration::from_secs(args.max_seconds),
                })
                .await
            }
            Command::Relay(args) => {
                let database_url = match (args.database_url, args.fresh_database) {
                    (Some(url), true) => Some(fanout::fresh_database(&url).await?),
                    (url, _) => url,
                };
                let results = relay::run(relay::RelayPlan {
                    connections: args.connections,
                    seconds: args.seconds,
                    destinations: args.destinations,
                    database_url,
                    secret: SECRET.to_string(),
                    accept_only: args.accept_only,
                    nats: args.nats,
                })
                .await?;
                for result in results {
                    println!(
                        "{}",
                        serde_json::to_string(&result).map_err(|e| e.to_string())?
                    );
                }
                Ok(())
            }
            Command::Fsync { dir, seconds } => {
                let dir = dir.unwrap_or_else(std::env::temp_dir);
                let rate = fsync::ceiling(&dir, Duration::from_secs_f64(seconds))
                    .map_err(|e| e.to_string())?;
                println!(
                    "{}",
                    serde_json::json!({"fsyncs_per_second": rate, "dir": dir})
                );
                Ok(())
            }
        }
    });
    drop(runtime);
    if let Some(export) = export {
        eprintln!(
            "gladly-webhook-bench: {} bytes of spans exported",
            export.finish()
        );
    }
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("gladly-webhook-bench: {err}");
            std::process::ExitCode::from(2)
        }
    }
}

fn server_config(args: &ServeArgs) -> ServerConfig {
    ServerConfig {
        server: args.server,
        path: args.path.clone(),
        secret: SECRET.to_string(),
        normal_sync: args.normal_sync,
        group_commit: !args.no_group_commit,
        database_url: args.database_url.clone(),
    }
}

fn plan(args: &LoadArgs) -> LoadPlan {
    LoadPlan {
        addr: args.addr,
        path: args.path.clone(),
        connections: args.connections,
        duration: Duration::from_secs_f64(args.seconds),
        max_requests: args.max_requests,
        body_size: args.body_size,
        scheme: args.scheme,
        secret: SECRET.to_string(),
    }
}

/// This binary's `serve`, as a child process.
/// A server's name on the command line (`relay-postgres`).
fn server_name(server: Server) -> String {
    use clap::ValueEnum;
    server
        .to_possible_value()
        .map_or_else(|| format!("{server:?}"), |v| v.get_name().to_string())
}

fn self_command(s: &ServeArgs) -> Result<tokio::process::Command, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut command = tokio::process::Command::new(exe);
    command
        .arg("serve")
        .arg("--server")
        .arg(server_name(s.server))
        .arg("--path")
        .arg(&s.path)
        .arg("--max-seconds")
        .arg(s.max_seconds.to_string());
    if s.normal_sync {
        command.arg("--normal-sync");
    }
    if s.no_group_commit {
        command.arg("--no-group-commit");
    }
    if let Some(url) = &s.database_url {
        command.arg("--database-url").arg(url);
    }
    Ok(command)
}

/// The octokit peer: `node server.js` in `octokit/`, whose dependencies
/// `npm ci` installs from its lockfile.
fn octokit_command(s: &ServeArgs) -> Result<tokio::process::Command, String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("octokit");
    if !dir.join("node_modules/@octokit/webhooks").exists() {
        return Err(format!(
            "the octokit peer is not installed: run `npm ci` in {}",
            dir.display()
        ));
    }
    let mut command = tokio::process::Command::new("node");
    command
        .arg("server.js")
        .current_dir(dir)
        .env("GLADLY_BENCH_SECRET", SECRET)
        .env("GLADLY_BENCH_PATH", &s.path)
        .env("GLADLY_BENCH_MAX_SECONDS", s.max_seconds.to_string());
    Ok(command)
}

/// Starts the server as a child process, loads it at each concurrency,
/// and stops it.
async fn receive(args: ReceiveArgs) -> Result<(), String> {
    let s = &args.server;
    let (mut command, scheme) = if s.server == Server::Octokit {
        (octokit_command(s)?, Scheme::Github)
    } else {
        (self_command(s)?, Scheme::Gladly)
    };
    command.stdout(Stdio::piped()).kill_on_drop(true);
    let mut child = command
        .spawn()
        .map_err(|e| format!("cannot start the server: {e}"))?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
        .await
        .map_err(|_| "the server did not start within 60 s")?
        .map_err(|e| e.to_string())?
        .ok_or("the server exited before listening")?;
    let addr: SocketAddr = line
        .strip_prefix("listening on ")
        .and_then(|a| a.parse().ok())
        .ok_or_else(|| format!("unexpected first line from the server: {line:?}"))?;
    let label = args.label.clone().unwrap_or_else(|| server_name(s.server));
    for connections in &args.connections {
        let result = load::run(LoadPlan {
            addr,
            path: s.path.clone(),
            connections: *connections,
            duration: Duration::from_secs_f64(args.seconds),
            max_requests: 2_000_000,
            body_size: 1024,
            scheme,
            secret: SECRET.to_string(),
        })
        .await?;
        let mut json = serde_json::to_value(&result).map_err(|e| e.to_string())?;
        json["server"] = serde_json::Value::from(label.clone());
        println!("{json}");
    }
    child.kill().await.map_err(|e| e.to_string())?;
    Ok(())
}
