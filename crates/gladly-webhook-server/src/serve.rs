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
use crate::stream::ServedStream;

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
    // Probes past the cap: one request per connection.
    let reserved = Arc::new(Semaphore::new(limits.reserved_connections));
    let paths: Arc<[String]> = limits.reserved_paths.clone().into();
    let mut probe_builder = builder.clone();
    probe_builder.keep_alive(false);
    let write_timeout = limits.write_timeout;
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
            match reserved.clone().try_acquire_owned() {
                Ok(permit) => {
                    let probe = Probe {
                        paths: paths.clone(),
                        builder: probe_builder.clone(),
                        app: app.clone(),
                        write_timeout,
                    };
                    tokio::spawn(probe.serve_or_refuse(stream, peer, permit));
                }
                Err(_) => {
                    tokio::spawn(refuse(stream));
                }
            }
            continue;
        };
        let _ = stream.set_nodelay(true);
        // Handlers see the peer as axum's `ConnectInfo` (per-peer limits).
        let service = Extension(ConnectInfo(peer)).layer(app.clone());
        let connection = builder.serve_connection(
            TokioIo::new(ServedStream::new(stream, write_timeout)),
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

/// How long a connection past the cap has to show it is a probe.
const PROBE_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

/// What serves a connection past the cap that asks for a reserved path.
struct Probe {
    paths: Arc<[String]>,
    builder: hyper::server::conn::http1::Builder,
    app: axum::Router,
    write_timeout: std::time::Duration,
}

impl Probe {
    /// Serves `stream` (one request) when its request line, sent within
    /// [`PROBE_WAIT`], is a `GET` or `HEAD` of a reserved path; refuses it
    /// otherwise. `permit` is held until then.
    async fn serve_or_refuse(
        self,
        stream: TcpStream,
        peer: std::net::SocketAddr,
        permit: tokio::sync::OwnedSemaphorePermit,
    ) {
        let asks = tokio::time::timeout(PROBE_WAIT, self.asks_reserved(&stream))
            .await
            .unwrap_or(false);
        if !asks {
            drop(permit);
            return refuse(stream).await;
        }
        let service = Extension(ConnectInfo(peer)).layer(self.app);
        let connection = self.builder.serve_connection(
            TokioIo::new(ServedStream::new(stream, self.write_timeout)),
            TowerToHyperService::new(service),
        );
        let _ = tokio::time::timeout(PROBE_WAIT * 5, connection).await;
        drop(permit);
    }

    /// Whether the request line waiting on `stream` (peeked, not read)
    /// asks for a reserved path.
    async fn asks_reserved(&self, stream: &TcpStream) -> bool {
        let mut line = [0u8; 256];
        loop {
            let Ok(n) = stream.peek(&mut line).await else {
                return false;
            };
            if n == 0 {
                return false;
            }
            if let Some(end) = line[..n].iter().position(|b| *b == b'\n') {
                return self.is_reserved(&line[..end]);
            }
            if n == line.len() {
                return false;
            }
            // Part of the line: wait for more to arrive.
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    }

    /// Whether `line` (`GET /readyz HTTP/1.1`) asks for a reserved path.
    fn is_reserved(&self, line: &[u8]) -> bool {
        let text = String::from_utf8_lossy(line);
        let mut parts = text.trim_end().split(' ');
        let (Some(method), Some(target)) = (parts.next(), parts.next()) else {
            return false;
        };
        let path = target.split('?').next().unwrap_or(target);
        matches!(method, "GET" | "HEAD") && self.paths.iter().any(|p| p == path)
    }
}

/// Answers a connection past the cap with 503 and closes it, within a
/// second whatever the client does.
/// The close lingers (see [`ServedStream`]) within that second, so a client
/// still writing its request reads the 503 rather than a reset.
async fn refuse(stream: TcpStream) {
    let mut stream = ServedStream::new(stream, std::time::Duration::from_secs(1));
    let _ = tokio::time::timeout(std::time::Duration::from_secs(1), async {
        let _ = stream.write_all(BUSY).await;
        let _ = stream.shutdown().await;
    })
    .await;
}
