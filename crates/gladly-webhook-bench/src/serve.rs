//! The servers measured: each listens on a loopback port it prints, and
//! serves until its process is stopped.

use std::sync::Arc;
use std::time::Duration;

use gladly_webhook_core::Verifier;
use gladly_webhook_receiver::inbox::{Durability, Inbox, PgInbox, SqliteInbox, SqliteOptions};
use gladly_webhook_receiver::{Handlers, Receiver};
use tokio::net::TcpListener;

/// Which server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Server {
    /// A bare axum handler that buffers the body and answers 200.
    Floor,
    /// The receiver verifying, parsing and calling a no-op handler.
    Inline,
    /// The receiver storing into a SQLite inbox.
    Sqlite,
    /// The receiver storing into a PostgreSQL inbox.
    Postgres,
    /// The relay on a SQLite store (5 destinations, its dispatcher not
    /// started): what accepting costs, beside `sqlite`.
    Relay,
    /// The relay on PostgreSQL (`--database-url`), likewise.
    RelayPostgres,
    /// The peer: `@octokit/webhooks`' `createNodeMiddleware` on Node's
    /// `http` server (run by `receive` from `octokit/`, GitHub's scheme).
    Octokit,
}

/// How a server is set up.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Which server.
    pub server: Server,
    /// The path it receives on.
    pub path: String,
    /// The secret it verifies with.
    pub secret: String,
    /// SQLite: `synchronous=NORMAL` rather than FULL.
    pub normal_sync: bool,
    /// SQLite: group commit.
    pub group_commit: bool,
    /// PostgreSQL: the database URL.
    pub database_url: Option<String>,
}

/// Builds the server's router; the temporary folder of a SQLite inbox is
/// kept alive by the returned guard.
pub async fn router(
    config: &ServerConfig,
) -> Result<(axum::Router, Option<tempfile::TempDir>), String> {
    let verifier = || Verifier::new([config.secret.as_bytes()]).map_err(|e| e.to_string());
    Ok(match config.server {
        Server::Floor => (
            axum::Router::new().route(
                &config.path,
                axum::routing::post(|body: axum::body::Bytes| async move {
                    std::hint::black_box(body);
                    "ok"
                }),
            ),
            None,
        ),
        Server::Inline => {
            let handlers = Handlers::new().on_any(|_| async { Ok(()) });
            (
                Receiver::inline(verifier()?, handlers).router(&config.path),
                None,
            )
        }
        Server::Sqlite => {
            let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
            let options = SqliteOptions::default()
                .durability(if config.normal_sync {
                    Durability::Normal
                } else {
                    Durability::Full
                })
                .group_commit(config.group_commit);
            let inbox: Arc<dyn Inbox> = Arc::new(
                SqliteInbox::open_with(dir.path().join("inbox.db"), options)
                    .await
                    .map_err(|e| e.to_string())?,
            );
            (
                Receiver::with_inbox(verifier()?, inbox).router(&config.path),
                Some(dir),
            )
        }
        Server::Octokit => {
            return Err(
                "octokit is a Node server: `receive --server octokit` starts it".to_string(),
            );
        }
        Server::Relay | Server::RelayPostgres => {
            let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
            let store = match config.server {
                Server::RelayPostgres => {
                    let url = config
                        .database_url
                        .as_deref()
                        .ok_or("the relay-postgres server needs --database-url")?;
                    gladly_webhook_hub::Store::open(url).await
                }
                _ => gladly_webhook_hub::Store::open_sqlite(dir.path().join("relay.db")).await,
            }
            .map_err(|e| e.to_string())?;
            // Five destinations, never sent to: no dispatcher runs here.
            let ports: Vec<u16> = (9001..9006).collect();
            let relay_config = crate::relay::config(dir.path(), &ports, &config.secret)?;
            let relay = gladly_webhook_relay::Relay::with_store(store, &relay_config)
                .await
                .map_err(|e| e.to_string())?;
            (relay.router(), Some(dir))
        }
        Server::Postgres => {
            let url = config
                .database_url
                .as_deref()
                .ok_or("the postgres server needs --database-url")?;
            let inbox: Arc<dyn Inbox> =
                Arc::new(PgInbox::connect(url).await.map_err(|e| e.to_string())?);
            (
                Receiver::with_inbox(verifier()?, inbox).router(&config.path),
                None,
            )
        }
    })
}

/// Serves `config` on 127.0.0.1 (port 0: any free one), printing
/// `listening on ADDR`, until the process is stopped or `for_at_most`
/// passes.
pub async fn serve(config: ServerConfig, for_at_most: Duration) -> Result<(), String> {
    let (app, _dir) = router(&config).await?;
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "listening on {}",
        listener.local_addr().map_err(|e| e.to_string())?
    );
    let server = axum::serve(listener, app);
    match tokio::time::timeout(for_at_most, server).await {
        Ok(result) => result.map_err(|e| e.to_string()),
        Err(_) => Ok(()),
    }
}
