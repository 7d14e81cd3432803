//! `gladly-webhook hub ...`: a hub operated through its store.

use chrono::{DateTime, Utc};
use gladly_webhook_core::echo::{escape, quote, redact_url};
use gladly_webhook_hub::store::{Recovery, Store};
use serde_json::json;

use super::{print, runtime};
use crate::cli::{HubCommand, HubStoreArgs, OutputFormat, RateLimitArgs, RecoverArgs};
use crate::error::CliError;

pub fn run(command: &HubCommand) -> Result<(), CliError> {
    match command {
        HubCommand::Recover(args) => recover(args),
        HubCommand::RateLimit(args) => rate_limit(args),
    }
}

/// Opens the hub's store (migrating it, as `serve` does).
pub(super) async fn open(args: &HubStoreArgs) -> Result<Store, CliError> {
    Store::open(&args.db).await.map_err(|err| {
        CliError::Usage(format!(
            "cannot open the store {}: {err}",
            quote(&redact_url(&args.db))
        ))
    })
}

/// The end of a recover's window (`--until`, or `now`), after `--since`.
pub(super) fn window_end(
    since: DateTime<Utc>,
    until: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, CliError> {
    let until = until.unwrap_or(now);
    if until <= since {
        return Err(CliError::Usage(format!(
            "--until ({}) must be after --since ({})",
            until.to_rfc3339(),
            since.to_rfc3339()
        )));
    }
    Ok(until)
}

/// Prints how many deliveries a recover re-queued.
pub(super) fn print_recovered(n: u64, format: OutputFormat) -> Result<(), CliError> {
    let out = match format {
        OutputFormat::Json => format!("{}\n", json!({ "recovered": n })),
        OutputFormat::Text => format!("recovered {n}\n"),
    };
    print(out.as_bytes())
}

fn recover(args: &RecoverArgs) -> Result<(), CliError> {
    let now = Utc::now();
    let until = window_end(args.window.since, args.window.until, now)?;
    let id = escape(&args.webhook, 80);
    let recovery = runtime()?.block_on(async {
        let store = open(&args.store).await?;
        store
            .recover(&args.webhook, args.window.since, until, now)
            .await
            .map_err(|err| CliError::Usage(format!("the store failed: {err}")))
    })?;
    let n = match recovery {
        Recovery::Requeued(n) => n,
        Recovery::Inactive => {
            return Err(CliError::Rejected(format!(
                "the subscription {id} is inactive; re-activate it first (the hub PINGs it), then recover"
            )));
        }
        Recovery::NotFound => {
            return Err(CliError::Rejected(format!(
                "no subscription has the id {id}"
            )));
        }
        _ => {
            return Err(CliError::Rejected(format!(
                "the subscription {id} could not be recovered"
            )));
        }
    };
    print_recovered(n, args.window.format)
}

fn rate_limit(args: &RateLimitArgs) -> Result<(), CliError> {
    let found = runtime()?.block_on(async {
        let store = open(&args.store).await?;
        store
            .set_rate_limit(&args.webhook, args.per_second)
            .await
            .map_err(|err| CliError::Usage(format!("the store failed: {err}")))
    })?;
    let id = escape(&args.webhook, 80);
    if !found {
        return Err(CliError::Rejected(format!(
            "no subscription has the id {id}"
        )));
    }
    let out = match args.per_second {
        Some(n) => format!("{id}: at most {n} deliveries a second\n"),
        None => format!("{id}: no rate limit\n"),
    };
    print(out.as_bytes())
}
