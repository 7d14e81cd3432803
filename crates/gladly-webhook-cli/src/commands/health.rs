//! `gladly-webhook health [URL]`: one GET to a readiness route, for a
//! container's health check (the image has no HTTP client of its own).

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Instant;

use gladly_webhook_core::echo::escape;

use crate::cli::HealthArgs;
use crate::error::CliError;

/// The most bytes of an answer read.
const MAX_ANSWER: u64 = 64 * 1024;

pub fn run(args: &HealthArgs) -> Result<(), CliError> {
    let usage = |message: String| CliError::Usage(message);
    let rest = args.url.strip_prefix("http://").ok_or_else(|| {
        usage(format!(
            "{}: expected a plain http URL such as http://127.0.0.1:9464/readyz",
            escape(&args.url, 200)
        ))
    })?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if authority.is_empty() || authority.contains('@') {
        return Err(usage(format!(
            "{}: expected host:port, without user-info",
            escape(&args.url, 200)
        )));
    }
    let target = if authority.contains(':') {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    let unreachable = |why: String| CliError::Io {
        path: escape(&args.url, 200),
        source: std::io::Error::other(why),
    };
    let deadline = Instant::now() + args.timeout;
    let addr = target
        .to_socket_addrs()
        .map_err(|err| unreachable(err.to_string()))?
        .next()
        .ok_or_else(|| unreachable("the name has no address".to_string()))?;
    let mut stream = TcpStream::connect_timeout(&addr, args.timeout)
        .map_err(|err| unreachable(err.to_string()))?;
    let left = deadline
        .saturating_duration_since(Instant::now())
        .max(std::time::Duration::from_millis(1));
    stream
        .set_read_timeout(Some(left))
        .and_then(|()| stream.set_write_timeout(Some(left)))
        .map_err(|err| unreachable(err.to_string()))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\nUser-Agent: gladly-webhook-health\r\n\r\n"
    )
    .map_err(|err| unreachable(err.to_string()))?;
    let mut answer = Vec::new();
    stream
        .take(MAX_ANSWER)
        .read_to_end(&mut answer)
        .map_err(|err| unreachable(err.to_string()))?;
    let text = String::from_utf8_lossy(&answer);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status: u16 = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| unreachable("the answer is not HTTP".to_string()))?;
    let said = escape(body.trim(), 200);
    if (200..300).contains(&status) {
        println!("{status} {said}");
        Ok(())
    } else {
        Err(CliError::Rejected(format!("{status} {said}")))
    }
}
