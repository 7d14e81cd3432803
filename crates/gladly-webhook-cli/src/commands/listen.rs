//! `gladly-webhook listen`: the receiver as a service, with an optional
//! command per stored event.

use gladly_webhook_core::echo::escape;
use gladly_webhook_receiver::{DeliveryAuth, Receipt, Receiver, spawn_workers};

use gladly_webhook_server::body::BodyBudget;

use super::{open_inbox, runtime};
use crate::cli::{ListenArgs, OutputFormat};
use crate::error::CliError;
use crate::exec;
use crate::ops::{Ops, Probe, SideServer};
use crate::say::LogFormat;
use gladly_webhook_inspector::receiver::{ReceiverInspector, RecentDeliveries};

/// Deliveries `--ui` keeps in memory.
const UI_DELIVERIES: usize = 500;

pub fn run(args: &ListenArgs) -> Result<(), CliError> {
    let auth = delivery_auth(args)?;
    if !args.path.starts_with('/') {
        return Err(CliError::Usage("--path must start with `/`".to_string()));
    }
    // Text: stdout is one line per delivery, runs go to stderr. JSON:
    // every line, deliveries and runs, is a JSON object on stdout; the
    // commands' own output goes to stderr either way.
    // With --log-format json, stderr holds JSON logs: the run lines go to
    // stdout with the deliveries.
    let lines = exec::RunLines {
        format: args.format,
        stdout: args.format == OutputFormat::Json || args.ops.log_format == LogFormat::Json,
    };
    let handlers = match &args.exec.exec {
        Some(command) => Some(exec::handlers(
            command.clone(),
            args.exec.exec_timeout,
            lines,
            hidden_variables(args),
        )?),
        None => None,
    };
    let options = exec::worker_options(&args.exec, lines)?;
    let format = args.format;
    let (limits, body_timeout) = super::server_limits(&args.server, args.ops.health_routes)?;
    if args.ops.health_routes && matches!(args.path.as_str(), "/healthz" | "/readyz") {
        return Err(CliError::Usage(format!(
            "--path {} is one of the --health-routes: choose another path",
            args.path
        )));
    }
    let ui_access = args
        .ui
        .then(|| crate::ui_access::UiAccess::check(&args.ui_access, args.ui_addr, "--ui-addr"))
        .transpose()?;
    let _telemetry = crate::ops::logging::init(
        args.ops.log_format,
        tracing::Level::WARN,
        args.ops.otlp_endpoint(),
        "gladly-webhook listen",
    )?;

    runtime()?.block_on(async move {
        // The address first: a port in use leaves no inbox file behind.
        let (listener, addr) = crate::listen_addr::bind(args.addr).await?;
        let inbox = open_inbox(&args.inbox.url).await?;
        let ops = Ops::start(&args.ops, Probe::Inbox(inbox.clone())).await?;
        let workers = handlers.map(|h| spawn_workers(inbox.clone(), h, args.exec.workers, options));
        let rule = auth.to_string();
        // --ui: the deliveries answered, kept in memory for the page.
        let recent = args.ui.then(|| RecentDeliveries::new(UI_DELIVERIES));
        let ring = recent.clone();
        let mut receiver = Receiver::with_inbox(auth, inbox.clone())
            .body_limit(args.body_limit)
            .body_timeout(body_timeout)
            .body_budget(BodyBudget::new(args.server.body_budget))
            .receipt_headers(recent.is_some())
            .on_receipt(move |receipt| {
                print_receipt(receipt, format);
                if let Some(ring) = &ring {
                    ring.record(receipt);
                }
            });
        if let Some(workers) = &workers {
            receiver = receiver.wake(workers);
        }
        let ui = match (recent, &ui_access) {
            (Some(recent), Some(access)) => {
                let page = ReceiverInspector::new(inbox.clone())
                    .map_err(|err| {
                        CliError::Usage(format!("cannot start the inspector page: {err}"))
                    })?
                    .recent(recent);
                let page = |bound| access.apply(page, bound).router();
                // Before the first line says "listening": a port in use is
                // told as --ui-addr's.
                let server = SideServer::start(args.ui_addr, page, "the inspector page")
                    .await
                    .map_err(|err| CliError::Usage(format!("--ui-addr {}: {err}", args.ui_addr)))?;
                crate::say::info(format_args!("inspector page on http://{}/", server.addr));
                Some(server)
            }
            _ => None,
        };
        if rule == "no authentication" {
            crate::say::warn(format_args!(
                "--no-auth: every delivery is accepted, authenticated or not"
            ));
        }
        crate::say::info(format_args!(
            "listening on http://{addr}{} ({rule}; inbox {}{})",
            args.path,
            escape(&gladly_webhook_core::echo::redact_url(&args.inbox.url), 200),
            if workers.is_some() {
                ", running --exec"
            } else {
                ", no --exec: events stay pending"
            }
        ));
        let mut app = receiver.standalone_router(&args.path);
        if args.ops.health_routes {
            app = ops.health_routes().merge(app);
        }
        let (served, grace_left) = super::serve_http(listener, app, limits, &ops).await;
        served?;
        if let Some(ui) = ui {
            ui.stop().await;
        }
        if let Some(workers) = workers {
            let report = workers.shutdown(grace_left).await;
            if report.released > 0 {
                crate::say::info(format_args!(
                    "{} running command(s) stopped at shutdown; their events are pending again",
                    report.released
                ));
            }
        }
        ops.stop().await;
        crate::say::info(format_args!("stopped"));
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
/// secrets and credentials, unless kept on purpose.
fn hidden_variables(args: &ListenArgs) -> Vec<String> {
    if args.exec.exec_keep_secret_env {
        return Vec::new();
    }
    let mut hidden = args.secret.env.clone();
    hidden.extend(args.auth.basic_auth_env.iter().cloned());
    hidden.extend(args.auth.header_value_envs.iter().cloned());
    hidden
}

/// The rule deliveries must pass: the signature (`--secret-env`/`-file`),
/// Basic credentials, required headers, any of them together; or none,
/// when asked for by name (`--no-auth`).
fn delivery_auth(args: &ListenArgs) -> Result<DeliveryAuth, CliError> {
    let usage = |message: String| CliError::Usage(message);
    let flags = &args.auth;
    let mut auth = DeliveryAuth::none();
    if !args.secret.sources().is_empty() {
        if flags.no_auth {
            return Err(usage(
                "--no-auth cannot go with --secret-env or --secret-file".to_string(),
            ));
        }
        let (verifier, _) = args.secret.verifier("listen", args.tolerance.as_secs())?;
        auth = auth.and(DeliveryAuth::signature(verifier));
    }
    auth = auth.and(crate::auth_flags::load(flags)?.delivery_auth()?);
    if auth.is_none() && !flags.no_auth {
        return Err(usage(
            "listen needs a way to authenticate deliveries: --secret-env or --secret-file \
             (signed deliveries, our user's model), --basic-auth-env and/or --require-header \
             with --header-value-env (Gladly's REST API 1.0 webhooks), or --no-auth to accept anything"
                .to_string(),
        ));
    }
    Ok(auth)
}
