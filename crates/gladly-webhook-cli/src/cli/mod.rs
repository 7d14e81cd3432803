//! The command line, as clap reads it.

use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};
use clap::{Args, Parser, Subcommand, ValueEnum};

use gladly_webhook_core::signing::DEFAULT_TOLERANCE;
use gladly_webhook_core::validate::DEFAULT_MAX_SIZE;

use crate::secrets::SecretSource;

mod hub;
mod inbox;
mod listen;
mod relay;
mod serve;
mod tools;
mod webhooks;

pub use hub::*;
pub use inbox::*;
pub use listen::*;
pub use relay::*;
pub use serve::*;
pub use tools::*;
pub use webhooks::*;

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
    /// Operate a hub through its store (the same `--db` as `serve`): recover a subscription's failed deliveries, set its rate limit.
    #[command(subcommand)]
    Hub(HubCommand),
    /// Relay Gladly's deliveries to your services as Standard Webhooks: verified on each input path, kept durably, sent to each destination with retries (`relay --config relay.toml`).
    Relay(RelayArgs),
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
            Self::Relay(args) if args.command.is_none() => args.run.ops.log_format,
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

/// A moment: an RFC 3339 time, or a duration ago (`6h`).
pub(crate) fn parse_when(text: &str) -> Result<DateTime<Utc>, String> {
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
