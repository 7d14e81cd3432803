//! `gladly-webhook relay`: Gladly in, Standard Webhooks out, over the
//! store its configuration names.

use std::path::Path;

use chrono::Utc;
use gladly_webhook_client::backfill::{Backfill, BackfillError, BackfillTarget};
use gladly_webhook_core::echo::{escape, quote, redact_url};
use gladly_webhook_hub::DispatcherOptions;
use gladly_webhook_hub::alerts::AlertOptions;
use gladly_webhook_hub::store::{Recovery, Store};
use gladly_webhook_receiver::BoxError;
use gladly_webhook_receiver::inbox::{BoxFuture, Inserted, NewEvent};
use gladly_webhook_relay::{Relay, RelayConfig};
use gladly_webhook_server::body::BodyBudget;

use super::{print, runtime};
use crate::cli::{
    RelayArgs, RelayBackfillArgs, RelayCommand, RelayConfigArgs, RelayMalformedArgs,
    RelayRecoverArgs, RelayRunArgs,
};
use crate::error::CliError;
use crate::ops::{Ops, Probe, SideServer};
use gladly_webhook_inspector::relay::RelayInspector;

pub fn run(args: &RelayArgs) -> Result<(), CliError> {
    match &args.command {
        None => serve(&args.run),
        Some(RelayCommand::Check(args)) => check(args),
        Some(RelayCommand::Recover(args)) => recover(args),
        Some(RelayCommand::Malformed(args)) => malformed(args),
        Some(RelayCommand::Consume(args)) => super::consume::run(args),
        Some(RelayCommand::Backfill(args)) => backfill(args),
    }
}

/// The configuration at `path`, checked.
fn load(path: &Path) -> Result<RelayConfig, CliError> {
    RelayConfig::load(path).map_err(|err| CliError::Usage(err.to_string()))
}

/// Opens the store `config` names (migrating it, as the relay does).
async fn open(config: &RelayConfig) -> Result<Store, CliError> {
    let url = config.store_url().expose();
    Store::open(url).await.map_err(|err| {
        CliError::Usage(format!(
            "cannot open the relay's store {}: {err}",
            quote(&redact_url(url))
        ))
    })
}

/// One line per input and destination, as `check` and the start print them.
fn summary(config: &RelayConfig) -> String {
    let mut out = String::new();
    for input in &config.inputs {
        out.push_str(&format!("input {} ({})\n", input.path, input.auth));
    }
    for d in &config.destinations {
        let to = match &d.kind {
            gladly_webhook_relay::config::DestinationKind::Nats(nats) => format!(
                "{}, NATS JetStream stream {} ({}), subjects {}.>",
                redact_url(&d.url),
                nats.stream.name,
                if nats.stream.create {
                    "created if missing"
                } else {
                    "must exist"
                },
                nats.subject_prefix
            ),
            _ => redact_url(&d.url),
        };
        out.push_str(&format!(
            "destination {} -> {to} (events {})\n",
            d.name,
            d.events.join(", ")
        ));
    }
    out
}

fn check(args: &RelayConfigArgs) -> Result<(), CliError> {
    let config = load(&args.config)?;
    print(summary(&config).as_bytes())
}

fn serve(args: &RelayRunArgs) -> Result<(), CliError> {
    let Some(path) = args.config.clone() else {
        return Err(CliError::Usage("relay needs --config PATH".to_string()));
    };
    let config = load(&path)?;
    super::serve::check_dispatch_flags(args.time_scale, args.lease)?;
    let mut options = DispatcherOptions::default();
    options.retention = config.retention;
    options.time_scale = args.time_scale;
    options.lease = args.lease;
    options.max_in_flight = config.max_in_flight;
    let (limits, body_timeout) = super::server_limits(&args.server, args.ops.health_routes)?;
    let ui_access = match args.ui_addr {
        Some(addr) => Some((
            addr,
            crate::ui_access::UiAccess::check(&args.ui_access, addr, "--ui-addr")?,
        )),
        None => None,
    };
    let _telemetry = crate::ops::logging::init(
        args.ops.log_format,
        tracing::Level::INFO,
        args.ops.otlp_endpoint(),
        "gladly-webhook relay",
    )?;
    runtime()?.block_on(async move {
        // The address first: a port in use leaves no store file behind.
        let (listener, addr) = crate::listen_addr::bind(args.addr).await?;
        let store = open(&config).await?;
        let relay = Relay::new(store)
            .body_budget(BodyBudget::new(args.server.body_budget))
            .body_timeout(body_timeout);
        relay
            .apply(&config)
            .await
            .map_err(|err| CliError::Usage(format!("cannot start the relay: {err}")))?;
        let ops = Ops::start(&args.ops, Probe::Hub(relay.store().clone())).await?;
        let dispatcher = relay
            .spawn_dispatcher(options, AlertOptions::default())
            .map_err(|err| CliError::Usage(format!("cannot start the relay: {err}")))?;
        let ui = match &ui_access {
            Some((ui_addr, access)) => {
                let store = relay.store().clone();
                let page = |bound| {
                    let (hosts, login) = access.guard(bound);
                    let page = RelayInspector::new(store).hosts(hosts);
                    match login {
                        Some(login) => page.login(login),
                        None => page,
                    }
                    .router()
                };
                let server = SideServer::start(*ui_addr, page, "the inspector page")
                    .await
                    .map_err(|err| CliError::Usage(format!("--ui-addr {ui_addr}: {err}")))?;
                crate::say::info(format_args!("inspector page on http://{}/", server.addr));
                Some(server)
            }
            None => None,
        };
        let reloads = tokio::spawn(reload_on_hangup(relay.clone(), path, config.clone()));
        for line in summary(&config).lines() {
            crate::say::info(format_args!("{line}"));
        }
        crate::say::info(format_args!(
            "relaying on http://{addr} (store {})",
            escape(&redact_url(config.store_url().expose()), 200)
        ));
        let mut app = relay.router();
        if args.ops.health_routes {
            app = ops.health_routes().merge(app);
        }
        let (served, grace_left) = super::serve_http(listener, app, limits, &ops).await;
        reloads.abort();
        if let Some(ui) = ui {
            ui.stop().await;
        }
        dispatcher.shutdown(grace_left).await;
        ops.stop().await;
        served?;
        crate::say::info(format_args!("stopped"));
        Ok(())
    })
}

/// On each SIGHUP: reads the configuration again and applies it; a
/// configuration with a problem is refused, and the one in force stays.
async fn reload_on_hangup(relay: Relay, path: std::path::PathBuf, first: RelayConfig) {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut hangups) = signal(SignalKind::hangup()) else {
        tracing::warn!("cannot listen for SIGHUP: restart the relay to apply a new configuration");
        return;
    };
    while hangups.recv().await.is_some() {
        let config = match RelayConfig::load(&path) {
            Ok(config) => config,
            Err(err) => {
                tracing::error!(error = %err, "SIGHUP: the configuration is refused; the one in force stays");
                continue;
            }
        };
        if config.store_url() != first.store_url() {
            tracing::warn!("SIGHUP: a new store takes effect only at a restart");
        }
        match relay.apply(&config).await {
            Ok(()) => crate::say::info(format_args!(
                "SIGHUP: configuration applied ({} input(s), {} destination(s))",
                config.inputs.len(),
                config.destinations.len()
            )),
            Err(err) => {
                tracing::error!(error = %err, "SIGHUP: the configuration could not be applied");
            }
        }
    }
}

fn recover(args: &RelayRecoverArgs) -> Result<(), CliError> {
    let config = load(&args.config.config)?;
    let now = Utc::now();
    let until = super::hub::window_end(args.window.since, args.window.until, now)?;
    let name = escape(&args.destination, 80);
    let Some(destination) = config
        .destinations
        .iter()
        .find(|d| d.name == args.destination)
    else {
        return Err(CliError::Rejected(format!(
            "the configuration names no destination {name}"
        )));
    };
    let recovery = runtime()?.block_on(async {
        let store = open(&config).await?;
        store
            .recover(&destination.id(), args.window.since, until, now)
            .await
            .map_err(|err| CliError::Usage(format!("the store failed: {err}")))
    })?;
    let n = match recovery {
        Recovery::Requeued(n) => n,
        Recovery::NotFound => {
            return Err(CliError::Rejected(format!(
                "the destination {name} has never run on this store: start the relay with this configuration first"
            )));
        }
        Recovery::Inactive => {
            return Err(CliError::Rejected(format!(
                "the destination {name} is not in force on this store: the running relay's configuration leaves it out (apply this one with SIGHUP)"
            )));
        }
        _ => {
            return Err(CliError::Rejected(format!(
                "the destination {name} could not be recovered"
            )));
        }
    };
    super::hub::print_recovered(n, args.window.format)
}

fn malformed(args: &RelayMalformedArgs) -> Result<(), CliError> {
    let config = load(&args.config.config)?;
    let kept = runtime()?.block_on(async {
        let store = open(&config).await?;
        store
            .malformed_events(args.limit)
            .await
            .map_err(|err| CliError::Usage(format!("the store failed: {err}")))
    })?;
    let mut out = String::new();
    for event in kept {
        out.push_str(&format!(
            "{}\t{}\t{}\t{}\n",
            event
                .received_at
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            escape(&event.key, 120),
            escape(&event.event_type, 80),
            escape(&event.reason, 300)
        ));
    }
    print(out.as_bytes())
}

/// The relay's store as a backfill writes to it: each event kept as the
/// inputs keep a delivery (so sent once, whichever way it came), the
/// cursor in the store.
struct RelayTarget {
    keeper: std::sync::Arc<dyn gladly_webhook_receiver::Keeper>,
    store: Store,
}

impl BackfillTarget for RelayTarget {
    fn insert(&self, event: NewEvent) -> BoxFuture<'_, Result<Inserted, BoxError>> {
        self.keeper.keep(event)
    }

    fn cursor<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Option<String>, BoxError>> {
        Box::pin(async move { Ok(self.store.cursor(name).await?) })
    }

    fn set_cursor<'a>(
        &'a self,
        name: &'a str,
        value: &'a str,
    ) -> BoxFuture<'a, Result<(), BoxError>> {
        Box::pin(async move { Ok(self.store.set_cursor(name, value).await?) })
    }
}

fn backfill(args: &RelayBackfillArgs) -> Result<(), CliError> {
    let config = load(&args.config.config)?;
    let _telemetry = crate::ops::logging::init_text(tracing::Level::WARN)?;
    let client = super::webhooks::client(&args.api)?;
    let window = super::inbox::backfill_window(&args.window);
    let report = runtime()?.block_on(async {
        let store = open(&config).await?;
        // The destinations as configured, so each event fans out to them.
        let relay = Relay::new(store.clone());
        relay
            .apply(&config)
            .await
            .map_err(|err| CliError::Usage(err.to_string()))?;
        let target = RelayTarget {
            keeper: relay.keeper(),
            store,
        };
        Backfill::into_target(&client, &target)
            .entities(args.window.entities.iter().cloned())
            .run(window)
            .await
            .map_err(|err| match err {
                BackfillError::Api(err) => super::webhooks::failed(err),
                BackfillError::Window(message) => CliError::Usage(message),
                other => CliError::Usage(other.to_string()),
            })
    })?;
    print(super::inbox::backfill_line(&report, args.window.format).as_bytes())
}
