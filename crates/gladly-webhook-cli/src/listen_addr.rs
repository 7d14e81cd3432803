//! `--addr` of `listen` and `serve`: where to listen.
//!
//! An IP address and port (`127.0.0.1:8080`, `0.0.0.0:8080`, `[::1]:8080`).
//! Two spellings people type are accepted for what they mean on this
//! machine: a bare port (`8080`) and `localhost:8080` both listen on
//! loopback, `127.0.0.1`. Any other name is refused with a hint, because
//! listening on a name's addresses would hide which interface is exposed.

use std::net::{Ipv4Addr, SocketAddr};

/// The parser of an `--addr` flag (for clap's `value_parser`).
pub fn parse(text: &str) -> Result<SocketAddr, String> {
    let text = text.trim();
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Ok(addr);
    }
    let loopback = |port: &str| {
        port.parse::<u16>()
            .ok()
            .map(|port| SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
    };
    if text.bytes().all(|b| b.is_ascii_digit())
        && let Some(addr) = loopback(text)
    {
        return Ok(addr);
    }
    if let Some((host, port)) = text.rsplit_once(':')
        && host.eq_ignore_ascii_case("localhost")
        && let Some(addr) = loopback(port)
    {
        return Ok(addr);
    }
    Err(concat!(
        "expected an IP address and a port: `127.0.0.1:8080` (this machine only), ",
        "`0.0.0.0:8080` (every interface) or `[::1]:8080`; a bare port such as `8080` ",
        "means 127.0.0.1"
    )
    .to_string())
}

/// Listens on `addr`: the socket and the address it got (the port, when
/// `addr` asked for port 0).
pub async fn bind(
    addr: std::net::SocketAddr,
) -> Result<(tokio::net::TcpListener, std::net::SocketAddr), crate::error::CliError> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| crate::error::CliError::Io {
            path: format!("listening on {addr}"),
            source,
        })?;
    let local = listener
        .local_addr()
        .map_err(|source| crate::error::CliError::Io {
            path: "the listening socket".to_string(),
            source,
        })?;
    Ok((listener, local))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_ports_and_localhost_are_accepted() {
        assert_eq!(parse("0.0.0.0:80"), Ok("0.0.0.0:80".parse().unwrap()));
        assert_eq!(parse("[::1]:8080"), Ok("[::1]:8080".parse().unwrap()));
        assert_eq!(parse("18100"), Ok("127.0.0.1:18100".parse().unwrap()));
        assert_eq!(
            parse("localhost:18100"),
            Ok("127.0.0.1:18100".parse().unwrap())
        );
        assert_eq!(parse("LOCALHOST:0"), Ok("127.0.0.1:0".parse().unwrap()));
    }

    #[test]
    fn anything_else_gets_a_hint() {
        for bad in [
            "example.com:80",
            "70000",
            "localhost",
            "localhost:x",
            ":80",
            "",
        ] {
            let err = parse(bad).unwrap_err();
            assert!(err.contains("`127.0.0.1:8080`"), "{bad}: {err}");
        }
    }
}
