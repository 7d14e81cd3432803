//! `gladly-webhook inbox`: run the workers, look into the inbox, repair it.

use std::time::Duration;

use gladly_webhook_core::echo::escape;
use gladly_webhook_receiver::inbox::{
    HistoryEntry, ListFilter, RequeueRange, State, Stats, StoredEvent,
};
use gladly_webhook_receiver::spawn_workers;
use serde_json::json;

use super::{open_existing_inbox, open_inbox, print, runtime, shutdown_signal};
use crate::cli::{
    BackfillArgs, InboxCommand, ListArgs, OutputFormat, PurgeArgs, RequeueArgs, RequeueState,
    ShowArgs, StatsArgs, UiArgs, WorkArgs,
};
use crate::error::CliError;
use crate::exec;

pub fn run(command: &InboxCommand) -> Result<(), CliError> {
    match command {
        InboxCommand::Work(args) => work(args),
        InboxCommand::Ui(args) => ui(args),
        InboxCommand::Backfill(args) => backfill(args),
        InboxCommand::List(args) => list(args),
        InboxCommand::Show(args) => show(args),
        InboxCommand::Requeue(args) => requeue(args),
        InboxCommand::Purge(args) => purge(args),
        InboxCommand::Stats(args) => stats(args),
    }
}

fn work(args: &WorkArgs) -> Result<(), CliError> {
    let Some(command) = &args.exec.exec else {
        return Err(CliError::Usage("inbox work needs --exec CMD".to_string()));
    };
    let lines = exec::RunLines {
        format: args.format,
        stdout: true,
    };
    let handlers = exec::handlers(command.clone(), args.exec.exec_timeout, lines, Vec::new())?;
    let options = exec::worker_options(&args.exec, lines)?;
    let ops_args = crate::cli::OpsArgs {
        metrics_addr: args.metrics_addr,
        health_routes: false,
        log_format: args.log_format,
        #[cfg(feature = "otlp")]
        otlp_endpoint: None,
    };
    let _telemetry = crate::ops::logging::init(
        args.log_format,
        tracing::Level::WARN,
        None,
        "gladly-webhook",
    )?;
    runtime()?.block_on(async {
        let inbox = open_inbox(&args.inbox.url).await?;
        let ops =
            crate::ops::Ops::start(&ops_args, crate::ops::Probe::Inbox(inbox.clone())).await?;
        let workers = spawn_workers(inbox, handlers, args.exec.workers, options);
        crate::say::info(format_args!(
            "{} worker(s) running; Ctrl-C stops them",
            args.exec.workers.max(1)
        ));
        shutdown_signal().await;
        ops.drain();
        let report = workers.shutdown(Duration::from_secs(10)).await;
        ops.stop().await;
        crate::say::info(format_args!(
            "stopped ({} run(s) released)",
            report.released
        ));
        Ok(())
    })
}

fn backfill(args: &BackfillArgs) -> Result<(), CliError> {
    use gladly_webhook_client::backfill::{Backfill, BackfillError};
    let _telemetry = crate::ops::logging::init_text(tracing::Level::WARN)?;
    let client = super::webhooks::client(&args.api)?;
    let window = backfill_window(&args.window);
    let report = runtime()?.block_on(async {
        let inbox = open_inbox(&args.inbox.url).await?;
        Backfill::new(&client, inbox.as_ref())
            .entities(args.window.entities.iter().cloned())
            .run(window)
            .await
            .map_err(|err| match err {
                BackfillError::Api(err) => super::webhooks::failed(err),
                BackfillError::Window(message) => CliError::Usage(message),
                other => CliError::Usage(other.to_string()),
            })
    })?;
    print(backfill_line(&report, args.window.format).as_bytes())
}

/// A backfill's window from `--since` (without it: from the stored cursor)
/// and `--until`.
pub(super) fn backfill_window(
    args: &crate::cli::BackfillWindowArgs,
) -> gladly_webhook_client::backfill::Window {
    use gladly_webhook_client::backfill::Window;
    let window = match args.since {
        Some(since) => Window::since(since),
        None => Window::resume(),
    };
    match args.until {
        Some(until) => window.until(until),
        None => window,
    }
}

/// A backfill's report, as `inbox backfill` and `relay backfill` print it.
pub(super) fn backfill_line(
    report: &gladly_webhook_client::backfill::BackfillReport,
    format: OutputFormat,
) -> String {
    let line = match format {
        OutputFormat::Json => serde_json::json!({
            "read": report.read,
            "new": report.new,
            "duplicate": report.duplicate,
            "malformed": report.malformed,
            "from": report.from.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "until": report.until.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        })
        .to_string(),
        OutputFormat::Text => report.to_string(),
    };
    format!("{line}\n")
}

fn ui(args: &UiArgs) -> Result<(), CliError> {
    let _telemetry = crate::ops::logging::init_text(tracing::Level::WARN)?;
    let access = crate::ui_access::UiAccess::check(&args.access, args.addr, "--addr")?;
    runtime()?.block_on(async {
        let inbox = open_existing_inbox(&args.inbox.url).await?;
        let page = gladly_webhook_inspector::receiver::ReceiverInspector::new(inbox)
            .map_err(|err| CliError::Usage(format!("cannot start the inspector page: {err}")))?;
        let page = |bound| access.apply(page, bound).router();
        let server = crate::ops::SideServer::start(args.addr, page, "the inspector page").await?;
        crate::say::info(format_args!(
            "inspector page on http://{}/ (inbox {}); Ctrl-C stops it",
            server.addr,
            escape(&gladly_webhook_core::echo::redact_url(&args.inbox.url), 200)
        ));
        shutdown_signal().await;
        server.stop().await;
        crate::say::info(format_args!("stopped"));
        Ok(())
    })
}

fn list(args: &ListArgs) -> Result<(), CliError> {
    let mut filter = ListFilter::default();
    filter.state = args
        .state
        .as_deref()
        .map(|s| {
            s.parse::<State>().map_err(|_| {
                CliError::Usage(format!(
                    "--state {}: expected pending, running, done or dead",
                    escape(s, 40)
                ))
            })
        })
        .transpose()?;
    filter.event_type = args.event_type.clone();
    filter.limit = Some(args.limit);
    let rows = runtime()?.block_on(async {
        let inbox = open_existing_inbox(&args.inbox.url).await?;
        inbox.list(filter).await.map_err(inbox_error)
    })?;
    let mut out = String::new();
    for row in &rows {
        match args.format {
            OutputFormat::Json => out.push_str(&row_json(row).to_string()),
            OutputFormat::Text => out.push_str(&format!(
                "{} {:<7} attempts={} {} {}{}",
                row.received_at
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                row.state,
                row.attempts,
                escape(
                    if row.event_type.is_empty() {
                        "-"
                    } else {
                        &row.event_type
                    },
                    80
                ),
                escape(&row.dedup_key, 80),
                row.last_error
                    .as_deref()
                    .map_or(String::new(), |e| format!(" error: {}", escape(e, 120)))
            )),
        }
        out.push('\n');
    }
    print(out.as_bytes())
}

fn show(args: &ShowArgs) -> Result<(), CliError> {
    let (row, history) = runtime()?.block_on(async {
        let inbox = open_existing_inbox(&args.inbox.url).await?;
        let Some(row) = inbox.get(&args.id).await.map_err(inbox_error)? else {
            return Err(CliError::Rejected(format!(
                "no event {} in the inbox",
                escape(&args.id, 80)
            )));
        };
        let history = inbox.history(row.seq).await.map_err(inbox_error)?;
        Ok((row, history))
    })?;
    // The model the stored type belongs to, from the body as received.
    let parsed = gladly_webhook_core::event::parse_event(&row.body).ok();
    let out = match args.format {
        OutputFormat::Json => {
            let mut value = row_json(&row);
            value["model"] = json!(parsed.as_ref().and_then(|p| p.model()).map(|m| m.name()));
            value["history"] = history.iter().map(history_json).collect();
            value["payload"] = json!(String::from_utf8_lossy(&row.body));
            format!("{value}\n")
        }
        OutputFormat::Text => {
            let note = match &parsed {
                Some(parsed) => super::event::model_note(parsed),
                None => " (malformed)",
            };
            let mut out = format!(
                "id: {}\ntype: {}{note}\nstate: {}\nattempts: {}\nreceived: {}\nnext run: {}\n",
                escape(row.event_id.as_deref().unwrap_or("-"), 200),
                escape(&row.event_type, 200),
                row.state,
                row.attempts,
                row.received_at
                    .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                row.next_run_at
                    .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            );
            if row.dedup_key.starts_with("sha256:") {
                out.push_str(&format!("key: {}\n", row.dedup_key));
            }
            if let Some(error) = &row.last_error {
                out.push_str(&format!("last error: {}\n", escape(error, 2000)));
            }
            out.push_str("history:\n");
            if history.is_empty() {
                out.push_str("  (none yet)\n");
            }
            for entry in &history {
                out.push_str(&format!(
                    "  {} attempt {} {}{}\n",
                    entry
                        .at
                        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                    entry.attempt,
                    entry.outcome,
                    entry
                        .detail
                        .as_deref()
                        .map_or(String::new(), |d| format!(": {}", escape(d, 300)))
                ));
            }
            out.push_str("payload:\n");
            out.push_str(&payload_text(&row.body));
            out.push('\n');
            out
        }
    };
    print(out.as_bytes())
}

fn requeue(args: &RequeueArgs) -> Result<(), CliError> {
    let result = runtime()?.block_on(async {
        let inbox = open_existing_inbox(&args.inbox.url).await?;
        match (&args.id, args.since) {
            (Some(id), _) => inbox.requeue(id).await.map(u64::from).map_err(inbox_error),
            (None, Some(since)) => {
                let mut range = RequeueRange::since(since).state(match args.state {
                    RequeueState::Dead => State::Dead,
                    RequeueState::Done => State::Done,
                });
                if let Some(until) = args.until {
                    range = range.until(until);
                }
                if let Some(event_type) = &args.event_type {
                    range = range.event_type(event_type.clone());
                }
                inbox.requeue_range(range).await.map_err(inbox_error)
            }
            (None, None) => inbox.requeue_all_dead().await.map_err(inbox_error),
        }
    })?;
    if result == 0
        && let Some(id) = &args.id
    {
        return Err(CliError::Rejected(format!(
            "no dead event {} to requeue",
            escape(id, 80)
        )));
    }
    let out = match args.format {
        OutputFormat::Json => format!("{}\n", json!({ "requeued": result })),
        OutputFormat::Text => format!("requeued {result}\n"),
    };
    print(out.as_bytes())
}

fn purge(args: &PurgeArgs) -> Result<(), CliError> {
    let older_than = args.older_than;
    let purged = runtime()?.block_on(async {
        let inbox = open_existing_inbox(&args.inbox.url).await?;
        inbox.purge(older_than).await.map_err(inbox_error)
    })?;
    let out = match args.format {
        OutputFormat::Json => format!("{}\n", json!({ "purged": purged })),
        OutputFormat::Text => format!("purged {purged} done event(s)\n"),
    };
    print(out.as_bytes())
}

fn stats(args: &StatsArgs) -> Result<(), CliError> {
    let stats: Stats = runtime()?.block_on(async {
        let inbox = open_existing_inbox(&args.inbox.url).await?;
        inbox.stats().await.map_err(inbox_error)
    })?;
    let age = stats.oldest_pending_age.map(|d| d.as_secs_f64());
    let out = match args.format {
        OutputFormat::Json => format!(
            "{}\n",
            json!({
                "pending": stats.pending, "running": stats.running,
                "done": stats.done, "dead": stats.dead,
                "oldest_pending_seconds": age,
            })
        ),
        OutputFormat::Text => format!(
            "pending {}\nrunning {}\ndone {}\ndead {}\noldest pending {}\n",
            stats.pending,
            stats.running,
            stats.done,
            stats.dead,
            age.map_or("-".to_string(), |a| format!("{a:.1} s"))
        ),
    };
    print(out.as_bytes())
}

fn inbox_error(err: gladly_webhook_receiver::inbox::InboxError) -> CliError {
    CliError::Usage(format!(
        "the inbox failed: {}",
        escape(&err.to_string(), 300)
    ))
}

fn row_json(row: &StoredEvent) -> serde_json::Value {
    json!({
        "id": row.event_id,
        "key": row.dedup_key,
        "type": row.event_type,
        "state": row.state.as_str(),
        "attempts": row.attempts,
        "received_at": row.received_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "next_run_at": row.next_run_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "last_error": row.last_error,
    })
}

fn history_json(entry: &HistoryEntry) -> serde_json::Value {
    json!({
        "at": entry.at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "attempt": entry.attempt,
        "outcome": entry.outcome,
        "detail": entry.detail,
    })
}

/// A payload for a terminal: as it is when it is UTF-8 with no control
/// characters but line breaks and tabs, escaped otherwise.
fn payload_text(body: &[u8]) -> String {
    match std::str::from_utf8(body) {
        Ok(text)
            if !text.chars().any(|c| {
                (c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
                    || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
            }) =>
        {
            text.to_string()
        }
        _ => escape(&String::from_utf8_lossy(body), body.len()),
    }
}
