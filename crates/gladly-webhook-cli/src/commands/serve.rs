//! `gladly-webhook serve`: the subscription service (the hub's API and its
//! dispatcher) over a SQLite file or PostgreSQL.

use std::time::Duration;

use gladly_webhook_core::echo::{escape, quote, redact_url};
use gladly_webhook_core::standard_webhooks::StandardKey;
use gladly_webhook_hub::LoginThrottle;
use gladly_webhook_hub::MAX_USERS_BYTES;
use gladly_webhook_hub::alerts::AlertOptions;
use gladly_webhook_hub::store::SecretKeys;
use gladly_webhook_hub::{ApiUsers, DispatcherOptions, Hub};

use gladly_webhook_server::body::BodyBudget;

use super::runtime;
use crate::cli::ServeArgs;
use crate::error::CliError;
use crate::ops::{Ops, Probe};
use crate::secrets::SecretSource;
use gladly_webhook_core::Model;
use gladly_webhook_inspector::hub::HubInspector;

/// The operational events' endpoints (each URL checked, the secret read
/// and checked once) and backlog thresholds.
fn alert_options(args: &ServeArgs) -> Result<AlertOptions, CliError> {
    let mut options = AlertOptions::default();
    options.max_pending = args.alert_backlog;
    options.max_pending_age = args.alert_oldest_pending;
    let Some(name) = &args.alert_secret_env else {
        return Ok(options);
    };
    let secret = SecretSource::env(name.clone(), 0).load()?;
    StandardKey::parse(secret.expose()).map_err(|err| {
        CliError::Usage(format!("--alert-secret-env {}: {err}", escape(name, 80)))
    })?;
    for endpoint in &args.alert_urls {
        let parsed = url::Url::parse(endpoint)
            .ok()
            .filter(|u| matches!(u.scheme(), "https" | "http"));
        if parsed.is_none() {
            return Err(CliError::Usage(format!(
                "--alert-url must be an absolute http(s) URL, found {}",
                quote(&redact_url(endpoint))
            )));
        }
        options.endpoints.push((endpoint.clone(), secret.clone()));
    }
    Ok(options)
}

pub fn run(args: &ServeArgs) -> Result<(), CliError> {
    let alerts = alert_options(args)?;
    let users = load_users(args)?;
    check_dispatch_flags(args.time_scale, args.lease)?;
    let lease = args.lease;
    let mut options = DispatcherOptions::default();
    options.retention = args.retention.0;
    options.time_scale = args.time_scale;
    options.lease = lease;
    options.max_in_flight = if args.ordered {
        1
    } else {
        usize::from(args.max_in_flight)
    };
    let (limits, body_timeout) = super::server_limits(&args.server, args.ops.health_routes)?;
    let keys = load_keys(args)?;
    let model = args.api.model();
    if model == Model::RestApiV1 && args.ui {
        return Err(CliError::Usage(
            "--ui shows our user's subscription model: leave it out with --api gladly \
             (read webhooks with `gladly-webhook webhooks list`)"
                .to_string(),
        ));
    }
    let _telemetry = crate::ops::logging::init(
        args.ops.log_format,
        tracing::Level::INFO,
        args.ops.otlp_endpoint(),
        "gladly-webhook serve",
    )?;

    runtime()?.block_on(async move {
        // The address first: a port in use leaves no store file behind.
        let (listener, addr) = crate::listen_addr::bind(args.addr).await?;
        let mut store = super::hub::open(&args.store).await?;
        // A relay's store has the same tables: publications would fan out to
        // its destinations (the relay refuses a hub's store likewise).
        let relays = store.destinations().await.map_err(|err| {
            CliError::Usage(format!("cannot read the store: {err}"))
        })?;
        if !relays.is_empty() {
            return Err(CliError::Usage(
                "the store holds a relay's destinations: give the hub a database of its own (never a relay's)"
                    .to_string(),
            ));
        }
        match keys {
            Some(keys) => {
                let id = keys.current_id().to_string();
                store = store.with_secret_keys(keys);
                let sealed = store.seal_secrets().await.map_err(|err| {
                    CliError::Usage(format!("cannot seal the stored secrets: {err}"))
                })?;
                tracing::info!(key_id = id, sealed_now = sealed, "subscription secrets are sealed at rest");
            }
            None => tracing::warn!(
                "subscription secrets are stored in plain text: give --secret-key-env or --secret-key-file to seal them"
            ),
        }
        let ops = Ops::start(&args.ops, Probe::Hub(store.clone())).await?;
        let start = |err| CliError::Usage(format!("cannot start the hub: {err}"));
        let mut hub = Hub::new(store, users)
            .map_err(start)?
            .allow_insecure_localhost(args.allow_insecure_localhost)
            .map_err(start)?
            .dispatcher_options(options)
            .body_timeout(body_timeout)
            .body_budget(BodyBudget::new(args.server.body_budget))
            .login_throttle(LoginThrottle::new(
                args.failed_login_burst,
                Duration::from_secs(1),
            ))
            .model(model)
            .rate_limit(args.rate_limit)
            .events_window(args.events_window)
            .alerts(alerts);
        for network in &args.allow_networks {
            hub = hub.allow_network(*network).map_err(start)?;
        }
        hub.apply_alert_endpoints().await.map_err(|err| {
            CliError::Usage(format!("cannot record the operator's endpoints: {err}"))
        })?;
        let dispatcher = hub.spawn_dispatcher();
        let speaks = match model {
            Model::RestApiV1 => format!(
                "a local Gladly (REST API 1.0, {} requests/s, Events API over the last {})",
                args.rate_limit,
                hours_or_duration(args.events_window)
            ),
            _ => "the hub API".to_string(),
        };
        crate::say::info(format_args!("serving {speaks} on http://{addr}/api/v1 (store {}, time scale {})",
            escape(&redact_url(&args.store.db), 200),
            args.time_scale
        ));
        if args.ui {
            crate::say::info(format_args!("inspector page on http://{addr}/ui/ (the API's users log in)"));
        }
        let mut app = hub.router();
        if args.ui {
            let samples = crate::examples::example_types(Model::Subscription)
                .into_iter()
                .filter_map(|t| crate::examples::example(t).map(|(name, _, event)| (name.to_string(), event)));
            let page = HubInspector::new(&hub)
                .map_err(|err| CliError::Usage(format!("cannot start the inspector page: {err}")))?
                .samples(samples)
                .router(&hub);
            app = app.merge(page);
        }
        if args.ops.health_routes {
            app = app.merge(ops.health_routes());
        }
        let (served, grace_left) = super::serve_http(listener, app, limits, &ops).await;
        dispatcher.shutdown(grace_left).await;
        ops.stop().await;
        served?;
        crate::say::info(format_args!("stopped"));
        Ok(())
    })
}

/// `--time-scale` at least 0 and `--lease` at least 100 ms (`serve`,
/// `relay`).
pub(super) fn check_dispatch_flags(time_scale: f64, lease: Duration) -> Result<(), CliError> {
    if !(time_scale.is_finite() && time_scale >= 0.0) {
        return Err(CliError::Usage(format!(
            "--time-scale must be a number of at least 0, found {time_scale}"
        )));
    }
    if lease < Duration::from_millis(100) {
        return Err(CliError::Usage(
            "--lease must be at least 100ms, such as `10s`".to_string(),
        ));
    }
    Ok(())
}

/// `24h` for a whole number of hours (humantime would say `1day`), else
/// humantime's form.
fn hours_or_duration(window: Duration) -> String {
    let secs = window.as_secs();
    if secs > 0 && secs.is_multiple_of(3600) && window.subsec_nanos() == 0 {
        format!("{}h", secs / 3600)
    } else {
        humantime::format_duration(window).to_string()
    }
}

/// The API users from `--api-user-env` or `--api-user-file`.
fn load_users(args: &ServeArgs) -> Result<ApiUsers, CliError> {
    let (text, source) = match (&args.api_user_env, &args.api_user_file) {
        (Some(name), _) => {
            let text = std::env::var(name).map_err(|_| {
                CliError::Usage(format!(
                    "--api-user-env: the environment variable {} is not set (or not UTF-8)",
                    quote(name)
                ))
            })?;
            (text, format!("the environment variable {}", quote(name)))
        }
        (None, Some(path)) => {
            let bytes = crate::input::read(path, MAX_USERS_BYTES, "")?;
            let text = String::from_utf8(bytes).map_err(|_| {
                CliError::Usage(format!(
                    "--api-user-file: {} is not UTF-8",
                    crate::input::display(path)
                ))
            })?;
            (text, crate::input::display(path))
        }
        (None, None) => {
            return Err(CliError::Usage(
                "give the API users with --api-user-env NAME or --api-user-file PATH".to_string(),
            ));
        }
    };
    ApiUsers::parse(&text)
        .map_err(|err| CliError::Usage(format!("the API users in {source}: {err}")))
}

/// The keys from `--secret-key-env` or `--secret-key-file`, if given.
fn load_keys(args: &ServeArgs) -> Result<Option<SecretKeys>, CliError> {
    let (text, source) = match (&args.secret_key_env, &args.secret_key_file) {
        (Some(name), _) => {
            let text = std::env::var(name).map_err(|_| {
                CliError::Usage(format!(
                    "--secret-key-env: the environment variable {} is not set (or not UTF-8)",
                    quote(name)
                ))
            })?;
            (text, format!("the environment variable {}", quote(name)))
        }
        (None, Some(path)) => {
            let bytes = crate::input::read(path, 64 * 1024, "")?;
            let text = String::from_utf8(bytes).map_err(|_| {
                CliError::Usage(format!(
                    "--secret-key-file: {} is not UTF-8",
                    crate::input::display(path)
                ))
            })?;
            (text, crate::input::display(path))
        }
        (None, None) => return Ok(None),
    };
    SecretKeys::parse(&text)
        .map(Some)
        .map_err(|err| CliError::Usage(format!("the secret keys in {source}: {err}")))
}
