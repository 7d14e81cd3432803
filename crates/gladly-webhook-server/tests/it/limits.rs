//! The limits hold against slow, silent, idle and numerous clients on
//! loopback (issue 17, item 2). Each test is bounded in time.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use gladly_webhook_server::body::{BodyBudget, BodyError, BodyLimits, read_body};
use gladly_webhook_server::{Limits, serve};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn start(limits: Limits) -> SocketAddr {
    let app = axum::Router::new().route("/", axum::routing::get(|| async { "ok" }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(serve(listener, app, limits, std::future::pending()));
    addr
}

/// Reads until the server closes the connection (or `within` passes):
/// what was read, and whether it closed.
async fn read_until_closed(stream: &mut TcpStream, within: Duration) -> (String, bool) {
    let mut seen = Vec::new();
    let deadline = Instant::now() + within;
    loop {
        let mut buf = [0u8; 1024];
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (String::from_utf8_lossy(&seen).into(), true),
            Ok(Ok(n)) => seen.extend_from_slice(&buf[..n]),
            Err(_) => return (String::from_utf8_lossy(&seen).into(), false),
        }
    }
}

fn quick() -> Limits {
    Limits::default().header_read_timeout(Duration::from_secs(1))
}

#[tokio::test]
async fn a_trickled_header_is_cut_off() {
    let addr = start(quick()).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let started = Instant::now();
    let head = b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    // One byte every 250 ms would take 25 s; the server must not wait.
    for byte in head {
        if stream.write_all(&[*byte]).await.is_err() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
        if started.elapsed() > Duration::from_secs(15) {
            break;
        }
    }
    let (_, closed) = read_until_closed(&mut stream, Duration::from_secs(5)).await;
    assert!(closed, "still open after {:?}", started.elapsed());
    assert!(started.elapsed() < Duration::from_secs(15));
}

#[tokio::test]
async fn a_silent_connection_is_closed() {
    let addr = start(quick()).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let (_, closed) = read_until_closed(&mut stream, Duration::from_secs(10)).await;
    assert!(closed, "a silent connection stayed open 10 s");
}

#[tokio::test]
async fn an_idle_kept_alive_connection_is_closed() {
    let addr = start(quick()).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let (seen, closed) = read_until_closed(&mut stream, Duration::from_secs(10)).await;
    assert!(seen.starts_with("HTTP/1.1 200"), "{seen}");
    assert!(closed, "an idle keep-alive connection stayed open 10 s");
}

#[tokio::test]
async fn connections_past_the_cap_get_503_and_are_closed() {
    let limits = Limits::default()
        .max_connections(4)
        .header_read_timeout(Duration::from_secs(30));
    let addr = start(limits).await;
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(TcpStream::connect(addr).await.unwrap());
    }
    // The four are accepted (the accept loop may lag a moment).
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut extra = TcpStream::connect(addr).await.unwrap();
    let (seen, closed) = read_until_closed(&mut extra, Duration::from_secs(10)).await;
    assert!(seen.starts_with("HTTP/1.1 503"), "{seen}");
    assert!(seen.contains("retry-after: 1"), "{seen}");
    assert!(closed);
    // One held connection closes: a new one is served.
    drop(held.pop());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let (seen, _) = read_until_closed(&mut stream, Duration::from_secs(5)).await;
        if seen.starts_with("HTTP/1.1 200") {
            break;
        }
        assert!(Instant::now() < deadline, "never served again: {seen}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A body that sends `chunks` of `size` bytes, `gap` apart, then ends,
/// or stalls forever when `stall`.
struct Trickle {
    left: usize,
    size: usize,
    gap: Duration,
    stall: bool,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl Trickle {
    fn new(chunks: usize, size: usize, gap: Duration, stall: bool) -> Self {
        Self {
            left: chunks,
            size,
            gap,
            stall,
            sleep: None,
        }
    }
}

impl http_body::Body for Trickle {
    type Data = bytes::Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<bytes::Bytes>, std::io::Error>>> {
        if self.left == 0 {
            return if self.stall {
                Poll::Pending
            } else {
                Poll::Ready(None)
            };
        }
        let gap = self.gap;
        let sleep = self
            .sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(gap)));
        if sleep.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        self.sleep = None;
        self.left -= 1;
        let chunk = bytes::Bytes::from(vec![b'x'; self.size]);
        Poll::Ready(Some(Ok(http_body::Frame::data(chunk))))
    }
}

#[tokio::test]
async fn a_body_that_stalls_times_out() {
    let limits = BodyLimits::new(1 << 20).timeout(Duration::from_millis(500));
    let mut body = Trickle::new(2, 1000, Duration::from_millis(10), true);
    let started = Instant::now();
    let err = read_body(&mut body, None, &limits).await.unwrap_err();
    assert!(matches!(err, BodyError::Timeout { .. }), "{err:?}");
    assert_eq!(err.status(), 408);
    assert!(started.elapsed() < Duration::from_secs(10));
    // Its reservation was given back.
    assert!(limits.budget.try_reserve(limits.budget.total()).is_some());
}

#[tokio::test]
async fn the_budget_bounds_bodies_buffered_at_once() {
    let budget = BodyBudget::new(3 << 20);
    let limits = BodyLimits::new(1 << 20)
        .timeout(Duration::from_secs(30))
        .budget(budget.clone());
    // Three bodies declared at 1 MiB reserve it all up front...
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(budget.try_reserve(1 << 20).unwrap());
    }
    // ...so a fourth is refused at once, before a byte is read.
    let mut body = Trickle::new(1, 10, Duration::ZERO, false);
    let err = read_body(&mut body, Some(1 << 20), &limits)
        .await
        .unwrap_err();
    assert_eq!(err, BodyError::Busy);
    assert_eq!(err.status(), 503);
    // A chunked body grows its reservation as it reads, and is refused
    // when the budget runs out mid-way.
    drop(held.pop());
    let mut chunked = Trickle::new(9, 100_000, Duration::ZERO, false);
    let (bytes, reserved) = read_body(&mut chunked, None, &limits).await.unwrap();
    assert_eq!(bytes.len(), 900_000);
    assert!(reserved.bytes() >= 900_000 && reserved.bytes() <= 1 << 20);
    drop(reserved);
    held.push(budget.try_reserve((1 << 20) - 500_000).unwrap());
    let mut chunked = Trickle::new(9, 100_000, Duration::ZERO, false);
    assert_eq!(
        read_body(&mut chunked, None, &limits).await.unwrap_err(),
        BodyError::Busy
    );
    // Over the size limit, whatever the budget.
    let mut big = Trickle::new(3, 600_000, Duration::ZERO, false);
    let small = BodyLimits::new(1 << 20);
    assert_eq!(
        read_body(&mut big, None, &small).await.unwrap_err(),
        BodyError::TooLarge { limit: 1 << 20 }
    );
    assert_eq!(
        read_body(&mut big, Some(2 << 20), &small)
            .await
            .unwrap_err(),
        BodyError::TooLarge { limit: 1 << 20 }
    );
}

/// Issue 32, the lingering close itself: after an early refusal the server
/// closes its write side and keeps reading (and dropping) what the client
/// still sends, so a client that goes on writing its body after the answer
/// came is not reset: every write succeeds, and its own close is met with
/// an end of stream. Without it the socket is closed with the body unread,
/// and the client's next writes fail with a reset or a broken pipe.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_an_early_refusal_the_rest_of_the_body_is_drained_not_reset() {
    let app = axum::Router::new().route(
        "/",
        axum::routing::post(|| async {
            (
                http::StatusCode::PAYLOAD_TOO_LARGE,
                [(http::header::CONNECTION, "close")],
                "body_too_large",
            )
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(serve(listener, app, quick(), std::future::pending()));
    let outcome = tokio::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let size = 8 * 1024 * 1024;
        let head = format!("POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {size}\r\n\r\n");
        stream.write_all(head.as_bytes()).unwrap();
        // The whole answer, up to the server's end of stream.
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).unwrap();
        let answer = String::from_utf8_lossy(&answer).into_owned();
        std::thread::sleep(Duration::from_millis(100));
        // The body the client had started to send, in pieces.
        let piece = vec![b'x'; 64 * 1024];
        let mut sent = 0;
        let mut failed = None;
        while sent < size {
            match stream.write_all(&piece) {
                Ok(()) => sent += piece.len(),
                Err(err) => {
                    failed = Some(err.kind());
                    break;
                }
            }
        }
        let _ = stream.shutdown(std::net::Shutdown::Write);
        (answer, sent, failed)
    })
    .await
    .unwrap();
    let (answer, sent, failed) = outcome;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert_eq!(
        (sent, failed),
        (8 * 1024 * 1024, None),
        "the body was drained, not reset"
    );
}

/// Issue 32: a client that stops reading its answer loses its connection
/// after the write timeout, and with it whatever the answer held: the
/// body of a large answer that is never read is dropped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_nobody_reads_is_dropped_after_the_write_timeout() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    /// Set when the answer's body is dropped.
    struct Dropped(Arc<AtomicBool>);
    impl Drop for Dropped {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }

    let dropped = Arc::new(AtomicBool::new(false));
    let flag = dropped.clone();
    let app = axum::Router::new().route(
        "/",
        axum::routing::get(move || {
            let guard = Dropped(flag.clone());
            async move {
                // 256 MiB in 1 MiB chunks, far more than socket buffers hold.
                let chunks = (0..256).map(move |_| {
                    let _held = &guard;
                    Ok::<_, std::io::Error>(vec![b'x'; 1 << 20])
                });
                axum::body::Body::from_stream(futures_util::stream::iter(chunks))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let limits = quick().write_timeout(Duration::from_millis(300));
    tokio::spawn(serve(listener, app, limits, std::future::pending()));
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(format!("GET / HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes())
        .await
        .unwrap();
    // Never read: the answer is dropped within a few write timeouts.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !dropped.load(Ordering::SeqCst) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        dropped.load(Ordering::SeqCst),
        "the unread answer is still held"
    );
    drop(stream);
}
