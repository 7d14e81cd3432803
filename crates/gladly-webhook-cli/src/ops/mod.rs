//! What an operator runs the long-lived commands (`listen`, `inbox work`,
//! `serve`) with: one logging setup, Prometheus metrics, and health and
//! readiness routes on a separate address.

pub mod logging;
pub mod metrics;
#[cfg(feature = "otlp")]
pub mod otlp;
pub mod routes;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::oneshot;

use crate::cli::OpsArgs;
use crate::error::CliError;
pub use routes::Probe;

/// The operations side of a running command: the metrics address, if
/// any, and whether the command is draining (`/readyz` answers 503 from
/// the moment a shutdown begins).
pub struct Ops {
    probe: Probe,
    draining: Arc<AtomicBool>,
    server: Option<SideServer>,
}

impl Ops {
    /// Installs the metrics recorder and, with `--metrics-addr`, listens
    /// there for `/metrics`, `/healthz` and `/readyz`.
    pub async fn start(args: &OpsArgs, probe: Probe) -> Result<Self, CliError> {
        metrics::install()?;
        let draining = Arc::new(AtomicBool::new(false));
        let mut ops = Self {
            probe,
            draining,
            server: None,
        };
        if let Some(addr) = args.metrics_addr {
            let app = routes::metrics_routes(ops.probe.clone(), ops.draining.clone());
            let server = SideServer::start(addr, |_| app, "the metrics server").await?;
            crate::say::info(format_args!(
                "metrics on http://{}/metrics (and /healthz, /readyz)",
                server.addr
            ));
            ops.server = Some(server);
        }
        Ok(ops)
    }

    /// `/healthz` and `/readyz` for the command's main address
    /// (`--health-routes`).
    pub fn health_routes(&self) -> axum::Router {
        routes::health_routes(self.probe.clone(), self.draining.clone())
    }

    /// Marks the command as draining: `/readyz` answers 503 from now on.
    pub fn drain(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    /// Stops the metrics server, once the command's own work has drained
    /// (so a last scrape can see the drain). Prometheus pulls: there is
    /// nothing to flush.
    pub async fn stop(self) {
        if let Some(server) = self.server {
            server.stop().await;
        }
    }
}

/// A server beside a command's main one (metrics, an inspector page), on
/// an address of its own, with a small connection cap; it runs until
/// [`SideServer::stop`].
pub struct SideServer {
    /// Where it listens.
    pub addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl SideServer {
    /// Binds `addr` and serves there what `app` makes for the address
    /// bound; `what` names it in errors.
    pub async fn start(
        addr: SocketAddr,
        app: impl FnOnce(SocketAddr) -> axum::Router,
        what: &'static str,
    ) -> Result<Self, CliError> {
        let (listener, local) = crate::listen_addr::bind(addr).await?;
        let app = app(local);
        let (stop, stopped) = oneshot::channel::<()>();
        let limits = gladly_webhook_server::Limits::default()
            .max_connections(64)
            .reserve_for(routes::PROBE_PATHS, routes::PROBE_CONNECTIONS);
        let task = tokio::spawn(async move {
            let signal = async {
                let _ = stopped.await;
            };
            if let Err(err) = gladly_webhook_server::serve(listener, app, limits, signal).await {
                tracing::error!(error = %err, "{what} failed");
            }
        });
        Ok(Self {
            addr: local,
            stop,
            task,
        })
    }

    /// Stops it, finishing the requests in flight.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}
