//! Unauthenticated clients cannot pin the receiver's memory or hold its
//! requests open (issue 17, item 2): bodies are reserved from a budget
//! before they are buffered (503 past it) and must arrive whole within the
//! body timeout (408).

use crate::common;

use std::time::{Duration, Instant};

use gladly_webhook_receiver::Receiver;
use gladly_webhook_server::body::BodyBudget;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Sends a request head declaring `length` bytes and `sent` bytes of body,
/// then stalls (keeping the stream open).
async fn stalled(addr: std::net::SocketAddr, length: usize, sent: usize) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /hooks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&vec![b' '; sent]).await.unwrap();
    stream
}

async fn answer_of(stream: &mut TcpStream, within: Duration) -> String {
    let mut seen = Vec::new();
    let _ = tokio::time::timeout(within, async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    seen.extend_from_slice(&buf[..n]);
                    if seen.windows(4).any(|w| w == b"\r\n\r\n") {
                        break;
                    }
                }
            }
        }
    })
    .await;
    String::from_utf8_lossy(&seen).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_past_the_budget_are_refused_and_slow_bodies_time_out() {
    let inbox = common::sqlite().await;
    let receiver = Receiver::with_inbox(common::verifier(), inbox.inbox.clone())
        .body_budget(BodyBudget::new(2_100_000))
        .body_timeout(Duration::from_secs(2));
    let addr = common::serve(receiver.router("/hooks")).await;
    // Two stalled bodies of 1,040,000 bytes hold the budget...
    let mut first = stalled(addr, 1_040_000, 100_000).await;
    let _second = stalled(addr, 1_040_000, 100_000).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    // ...so a third is answered 503 at once, its body unread.
    let mut third = stalled(addr, 1_040_000, 0).await;
    let answer = answer_of(&mut third, Duration::from_secs(10)).await;
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("retry-after: 1"),
        "{answer}"
    );
    // The stalled ones are answered 408 once the body timeout passes.
    let started = Instant::now();
    let answer = answer_of(&mut first, Duration::from_secs(20)).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(20));
    // The budget is free again: an honest delivery is stored.
    let request = common::signed("/hooks", &common::event("evt_after"));
    let answer = common::send(addr, &request, false).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
}
