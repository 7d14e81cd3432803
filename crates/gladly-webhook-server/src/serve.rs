//! [`serve`]: the accept loop.

use std::future::Future;
use std::sync::Arc;

use axum::Extension;
use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tower_layer::Layer;

use crate::Limits;
use crate::linger::Lingering;

/// What a connection past [`Limits::max_connections`] reads before it is
/// closed.
const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: 1\r\nconnection: close\r\ncontent-length: 57\r\n\r\n{\"error\":\"busy\",\"message\":\"too many connections; retry\"}\n";

/// Serves `app` on `listener` within `limits` until `shutdown` resolves;
/// then stops accepting, lets requests in flight finish for
/// [`Limits::shutdown_grace`], and returns. Each request carries its
/// peer's address as `axum::extract::ConnectInfo<SocketAddr>`. Errors of single connections
/// (a client that went away, a timeout) are not errors of the server.
pub async fn serve(
    listener: TcpListener,
    app: axum::Router,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let connections = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(limits.max_header_bytes.max(8192))
        .keep_alive(true);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of file descriptors and the like: wait, go on.
                    tracing::warn!(error = %err, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(permit) = connections.clone().try_acquire_owned() else {
            tokio::spawn(refuse(stream));
            continue;
        };
        let _ = stream.set_nodelay(true);
        // Handlers see the peer as axum's `ConnectInfo` (per-peer limits).
        let service = Extension(ConnectInfo(peer)).layer(app.clone());
        let connection = builder.serve_connection(
            TokioIo::new(Lingering::new(stream)),
            TowerToHyperService::new(service),
        );
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            // A client's failure (reset, timeout, malformed head) ends its
            // connection and nothing else.
            let _ = connection.await;
            drop(permit);
        });
    }
    drop(listener);
    if tokio::time::timeout(limits.shutdown_grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("requests still in flight after the shutdown grace; closing them");
    }
    Ok(())
}

/// Answers a connection past the cap with 503 and closes it, within a
/// second whatever the client does.
async fn refuse(mut stream: TcpStream) {
    let _ = tokio::time::timeout(std::time::Duration::from_secs(1), async {
        let _ = stream.write_all(BUSY).await;
        let _ = stream.shutdown().await;
    })
    .await;
}
