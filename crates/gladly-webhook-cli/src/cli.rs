//! The command line, as clap reads it.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use clap::{Args, Parser, Subcommand, ValueEnum};

use gladly_webhook_core::signing::DEFAULT_TOLERANCE;
use gladly_webhook_core::validate::DEFAULT_MAX_SIZE;

use crate::secrets::SecretSource;

/// Validate Gladly webhook subscriptions, sign and verify deliveries, and
/// read events.
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
    /// Read a secret from this environment variable.
    #[arg(long = "secret-env", value_name = "NAME")]
    pub env: Vec<String>,
    /// Read a secret from this file (one trailing newline is dropped).
    #[arg(long = "secret-file", value_name = "PATH")]
    pub file: Vec<PathBuf>,
}

impl SecretArgs {
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
    /// Accept a Gladly-Time this many seconds from the clock, either way.
    #[arg(long, default_value_t = DEFAULT_TOLERANCE.as_secs(), value_name = "SECONDS")]
    pub tolerance: u64,
    /// The raw HTTP/1.1 request as received, or `-`.
    pub request: PathBuf,
}

#[derive(Debug, Args)]
pub struct EventArgs {
    #[command(flatten)]
    pub limits: LimitArgs,
    /// The event payload (JSON), or `-`.
    pub file: PathBuf,
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
