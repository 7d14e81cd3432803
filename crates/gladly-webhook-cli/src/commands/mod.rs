//! One module per subcommand.

pub mod consume;
pub mod deliver;
pub mod docs;
pub mod event;
pub mod health;
pub mod hub;
pub mod inbox;
pub mod listen;
pub mod relay;
pub mod schema;
pub mod serve;
pub mod sign;
pub mod validate;
pub mod verify;
pub mod webhooks;

use std::io::{ErrorKind, Write};

use crate::error::CliError;

/// Writes `bytes` to standard output. A reader that went away (`| head`)
/// is not an error: the output was wanted only that far.
pub fn print(bytes: &[u8]) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(err) if err.kind() != ErrorKind::BrokenPipe => Err(CliError::Io {
            path: "standard output".to_string(),
            source: err,
        }),
        _ => Ok(()),
    }
}

/// A runtime for the commands that serve, send or talk to a database.
pub fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|source| CliError::Io {
            path: "the async runtime".to_string(),
            source,
        })
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    let term = async {
        match term.as_mut() {
            Some(term) => {
                term.recv().await;
            }
            None => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = ctrl_c => {}
        () = term => {}
    }
}

/// Opens the inbox a URL names, as a usage error when it cannot be.
pub async fn open_inbox(
    url: &str,
) -> Result<std::sync::Arc<dyn gladly_webhook_receiver::inbox::Inbox>, CliError> {
    gladly_webhook_receiver::inbox::open(url)
        .await
        .map_err(|err| {
            CliError::Usage(format!(
                "cannot open the inbox {}: {err}",
                gladly_webhook_core::echo::quote(&gladly_webhook_core::echo::redact_url(url))
            ))
        })
}

/// Opens an inbox that must exist already: a SQLite path with no file is a
/// usage error (`listen` creates the inbox), not a new empty inbox that
/// would report "all clear".
pub async fn open_existing_inbox(
    url: &str,
) -> Result<std::sync::Arc<dyn gladly_webhook_receiver::inbox::Inbox>, CliError> {
    if let Some(path) = url.strip_prefix("sqlite:") {
        let path = path.strip_prefix("//").unwrap_or(path);
        if !path.is_empty() && !std::path::Path::new(path).exists() {
            return Err(CliError::Usage(format!(
                "no inbox at {}: the file does not exist (`listen` creates it; check --inbox)",
                gladly_webhook_core::echo::quote(path)
            )));
        }
    }
    open_inbox(url).await
}

/// Writes one line to standard output, as a service does: a reader that
/// went away is not a reason to stop serving.
pub fn emit(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}").and_then(|()| out.flush());
}

/// The server limits the flags give, and the body timeout; with
/// `health_routes`, the probes are answered past the connection cap.
pub fn server_limits(
    args: &crate::cli::ServerArgs,
    health_routes: bool,
) -> Result<(gladly_webhook_server::Limits, std::time::Duration), CliError> {
    if args.max_connections == 0 || args.body_budget == 0 {
        return Err(CliError::Usage(
            "--max-connections and --body-budget must be at least 1".to_string(),
        ));
    }
    let mut limits = gladly_webhook_server::Limits::default()
        .header_read_timeout(args.header_timeout)
        .max_connections(args.max_connections)
        .shutdown_grace(args.shutdown_grace);
    if health_routes {
        use crate::ops::routes::{PROBE_CONNECTIONS, PROBE_PATHS};
        limits = limits.reserve_for(PROBE_PATHS, PROBE_CONNECTIONS);
    }
    Ok((limits, args.body_timeout))
}

/// Serves `app` on `listener` within `limits` until Ctrl-C or SIGTERM,
/// then drains: `/readyz` answers 503 from the signal on, and requests in
/// flight finish within the limits' grace (`--shutdown-grace`). Answers
/// what is left of that grace, for the deliveries or commands in flight
/// to finish in: the whole grace if the server stopped on an error.
pub async fn serve_http(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    limits: gladly_webhook_server::Limits,
    ops: &crate::ops::Ops,
) -> (Result<(), CliError>, std::time::Duration) {
    let grace = limits.shutdown_grace;
    let signalled = std::sync::OnceLock::new();
    let signal = async {
        shutdown_signal().await;
        let _ = signalled.set(std::time::Instant::now());
        ops.drain();
        crate::say::info(format_args!("stopping: finishing what is in flight"));
    };
    let served = gladly_webhook_server::serve(listener, app, limits, signal)
        .await
        .map_err(|source| CliError::Io {
            path: "the HTTP server".to_string(),
            source,
        });
    let left = signalled
        .get()
        .map_or(grace, |at| grace.saturating_sub(at.elapsed()));
    (served, left)
}
