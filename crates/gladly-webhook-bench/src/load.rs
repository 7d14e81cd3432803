//! The load generator: N concurrent HTTP/1.1 keep-alive connections on
//! loopback, each request a distinct event (a fresh id) signed for that
//! request, for a fixed duration or count.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use gladly_webhook_core::Signer;
use hmac::Mac;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// How requests are signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Scheme {
    /// Gladly's HMAC-SHA256 request signing.
    Gladly,
    /// GitHub's `X-Hub-Signature-256` (for octokit's middleware).
    Github,
}

/// What to send, and for how long.
#[derive(Debug, Clone)]
pub struct LoadPlan {
    /// The server (a loopback address).
    pub addr: SocketAddr,
    /// The request path.
    pub path: String,
    /// Concurrent connections.
    pub connections: usize,
    /// Stop after this long...
    pub duration: Duration,
    /// ...or after this many requests in all, whichever comes first.
    pub max_requests: u64,
    /// The size of each body, in bytes.
    pub body_size: usize,
    /// The signing scheme.
    pub scheme: Scheme,
    /// The shared secret.
    pub secret: String,
}

/// What a load run measured.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LoadResult {
    /// Concurrent connections.
    pub connections: usize,
    /// Requests answered.
    pub requests: u64,
    /// Answers other than 2xx.
    pub non_2xx: u64,
    /// Requests per second over the run.
    pub requests_per_second: f64,
    /// Median latency, microseconds.
    pub p50_us: u64,
    /// 99th percentile latency, microseconds.
    pub p99_us: u64,
    /// Slowest, microseconds.
    pub max_us: u64,
    /// The run's length, seconds.
    pub seconds: f64,
}

/// Refuses any target outside the loopback range: this tool sends load.
pub fn check_loopback(addr: &SocketAddr) -> Result<(), String> {
    if addr.ip().is_loopback() {
        Ok(())
    } else {
        Err(format!(
            "{addr} is not a loopback address: load goes to 127.0.0.0/8 or [::1] only"
        ))
    }
}

/// Runs the plan.
pub async fn run(plan: LoadPlan) -> Result<LoadResult, String> {
    check_loopback(&plan.addr)?;
    let plan = Arc::new(plan);
    let sent = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + plan.duration;
    let tasks: Vec<_> = (0..plan.connections.max(1))
        .map(|c| {
            let (plan, sent) = (Arc::clone(&plan), Arc::clone(&sent));
            tokio::spawn(async move { connection(c, &plan, &sent, deadline).await })
        })
        .collect();
    let mut latencies = Vec::new();
    let mut non_2xx = 0;
    for task in tasks {
        let (mut l, n) = task.await.map_err(|e| e.to_string())??;
        latencies.append(&mut l);
        non_2xx += n;
    }
    let seconds = started.elapsed().as_secs_f64();
    latencies.sort_unstable();
    let pick = |q: f64| -> u64 {
        if latencies.is_empty() {
            return 0;
        }
        let i = ((latencies.len() as f64 - 1.0) * q).round() as usize;
        latencies[i]
    };
    Ok(LoadResult {
        connections: plan.connections,
        requests: latencies.len() as u64,
        non_2xx,
        requests_per_second: latencies.len() as f64 / seconds,
        p50_us: pick(0.50),
        p99_us: pick(0.99),
        max_us: latencies.last().copied().unwrap_or(0),
        seconds,
    })
}

/// One keep-alive connection's loop: latencies and the non-2xx count.
async fn connection(
    index: usize,
    plan: &LoadPlan,
    sent: &AtomicU64,
    deadline: Instant,
) -> Result<(Vec<u64>, u64), String> {
    let stream = TcpStream::connect(plan.addr)
        .await
        .map_err(|e| format!("connect {}: {e}", plan.addr))?;
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    let mut stream = BufReader::new(stream);
    let signer = Signer::new(plan.secret.as_bytes()).map_err(|e| e.to_string())?;
    let mut latencies = Vec::with_capacity(4096);
    let mut non_2xx = 0;
    let mut n = 0u64;
    while Instant::now() < deadline && sent.fetch_add(1, Ordering::Relaxed) < plan.max_requests {
        n += 1;
        let id = format!(
            "evt_{index}_{n}_{}",
            Utc::now().timestamp_nanos_opt().unwrap_or(0)
        );
        let request = request_bytes(plan, &signer, &id);
        let begun = Instant::now();
        stream
            .get_mut()
            .write_all(&request)
            .await
            .map_err(|e| format!("write: {e}"))?;
        let status = read_response(&mut stream).await?;
        latencies.push(begun.elapsed().as_micros() as u64);
        if !(200..300).contains(&status) {
            non_2xx += 1;
        }
    }
    Ok((latencies, non_2xx))
}

/// A 1 KiB-ish event (padded to `body_size`) with id `id`, signed.
fn request_bytes(plan: &LoadPlan, signer: &Signer, id: &str) -> Vec<u8> {
    let mut body = format!(
        r#"{{"id":"{id}","type":"CONVERSATION_CLOSED","timestamp":"2026-11-26T17:00:00Z","initiator":{{"id":"agent_42","type":"AGENT"}},"content":{{"customerId":"cust_7","conversationId":"conv_9","context":{{"assignee":{{"inboxId":"inbox_1","agentId":"agent_42"}}}}}},"pad":""#
    );
    let pad = plan.body_size.saturating_sub(body.len() + 2);
    body.push_str(&"x".repeat(pad));
    body.push_str("\"}");
    let mut head = format!(
        "POST {} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
        plan.path,
        plan.addr,
        body.len()
    );
    match plan.scheme {
        Scheme::Gladly => {
            let mut request = http::Request::post(plan.path.as_str())
                .header("content-type", "application/json")
                .body(body.as_bytes())
                .expect("a valid request");
            signer
                .sign_request_now(&mut request)
                .expect("the request signs");
            for name in ["gladly-time", "gladly-authorization"] {
                let value = request.headers()[name].to_str().expect("ASCII");
                head.push_str(&format!("{name}: {value}\r\n"));
            }
        }
        Scheme::Github => {
            let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(plan.secret.as_bytes())
                .expect("any key length");
            mac.update(body.as_bytes());
            let signature = hex::encode(mac.finalize().into_bytes());
            head.push_str(&format!(
                "X-Hub-Signature-256: sha256={signature}\r\nX-GitHub-Event: issues\r\nX-GitHub-Delivery: {id}\r\nUser-Agent: GitHub-Hookshot/bench\r\n"
            ));
        }
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body.as_bytes());
    bytes
}

/// Reads one response (status line, headers, a `Content-Length` body):
/// its status.
async fn read_response(stream: &mut BufReader<TcpStream>) -> Result<u16, String> {
    let mut line = String::new();
    stream
        .read_line(&mut line)
        .await
        .map_err(|e| format!("read: {e}"))?;
    let status: u16 = line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("not an HTTP answer: {line:?}"))?;
    let mut length = 0usize;
    loop {
        line.clear();
        stream
            .read_line(&mut line)
            .await
            .map_err(|e| format!("read: {e}"))?;
        if line == "\r\n" || line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    stream
        .read_exact(&mut body)
        .await
        .map_err(|e| format!("read body: {e}"))?;
    Ok(status)
}
