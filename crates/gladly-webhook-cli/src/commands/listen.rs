//! `gladly-webhook listen`: the receiver as a service, with an optional
//! command per stored event.

use std::time::Duration;

use gladly_webhook_core::echo::escape;
use gladly_webhook_receiver::{Receipt, Receiver, spawn_workers};

use gladly_webhook_server::body::BodyBudget;

use super::{open_inbox, runtime};
use crate::cli::{ListenArgs, OutputFormat};
use crate::error::CliError;
use crate::exec;

/// How long running commands get to finish on shutdown.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

pub fn run(args: &ListenArgs) -> Result<(), CliError> {
    let (verifier, _) = args.secret.verifier("listen", args.tolerance)?;
    if !args.path.starts_with('/') {
        return Err(CliError::Usage("--path must start with `/`".to_string()));
    }
    let handlers = match &args.exec.exec {
        Some(command) => Some(exec::handlers(
            command.clone(),
            args.exec.exec_timeout,
            args.format,
            false,
            hidden_variables(&args.secret.env, args.exec.exec_keep_secret_env),
        )?),
        None => None,
    };
    let options = exec::worker_options(&args.exec)?;
    let format = args.format;
    let (limits, body_timeout) = super::server_limits(&args.server)?;
    super::init_logging(tracing::Level::WARN);

    runtime()?.block_on(async move {
        let inbox = open_inbox(&args.inbox.url).await?;
        let workers = handlers.map(|h| spawn_workers(inbox.clone(), h, args.exec.workers, options));
        let mut receiver = Receiver::with_inbox(verifier, inbox)
            .body_limit(args.body_limit)
            .body_timeout(body_timeout)
            .body_budget(BodyBudget::new(args.server.body_budget))
            .on_receipt(move |receipt| print_receipt(receipt, format));
        if let Some(workers) = &workers {
            receiver = receiver.wake(workers);
        }
        let (listener, addr) = super::bind(args.addr).await?;
        eprintln!(
            "gladly-webhook: listening on http://{addr}{} (inbox {}{})",
            args.path,
            escape(&gladly_webhook_core::echo::redact_url(&args.inbox.url), 200),
            if workers.is_some() { ", running --exec" } else { ", no --exec: events stay pending" }
        );
        super::serve_http(listener, receiver.router(&args.path), limits).await?;
        if let Some(workers) = workers {
            let report = workers.shutdown(SHUTDOWN_GRACE).await;
            if report.released > 0 {
                eprintln!(
                    "gladly-webhook: {} running command(s) stopped at shutdown; their events are pending again",
                    report.released
                );
            }
        }
        eprintln!("gladly-webhook: stopped");
        Ok(())
    })
}

fn print_receipt(receipt: &Receipt, format: OutputFormat) {
    let time = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let line = match format {
        OutputFormat::Json => serde_json::json!({
            "time": time,
            "status": receipt.status.as_u16(),
            "verdict": receipt.reason,
            "type": receipt.event_type,
            "id": receipt.event_id,
        })
        .to_string(),
        OutputFormat::Text => format!(
            "{time} {} {} {} {}",
            receipt.status.as_u16(),
            receipt.reason,
            receipt
                .event_type
                .as_deref()
                .map_or("-".to_string(), |t| escape(t, 80)),
            receipt
                .event_id
                .as_deref()
                .map_or("-".to_string(), |id| escape(id, 80)),
        ),
    };
    super::emit(&line);
}

/// The variables removed from `--exec`'s environment: those holding
/// signing secrets, unless kept on purpose.
fn hidden_variables(secret_env: &[String], keep: bool) -> Vec<String> {
    if keep {
        Vec::new()
    } else {
        secret_env.to_vec()
    }
}
