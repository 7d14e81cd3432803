//! The smallest HTTP/1.1 server side a test sink needs: one request read
//! off a kept-alive connection (its request line and its `Content-Length`
//! body), for collectors and sinks that answer every request alike.

use std::io::BufRead;

/// Reads one request: its request line (`POST /v1/traces HTTP/1.1`) and
/// its body, or `None` when the connection closed or broke.
pub fn read_request(reader: &mut impl BufRead) -> Option<(String, Vec<u8>)> {
    read_request_with_headers(reader).map(|(line, _, body)| (line, body))
}

/// A request's headers: `(name, value)`, names as sent.
pub type Headers = Vec<(String, String)>;

/// [`read_request`], with the request's headers.
pub fn read_request_with_headers(reader: &mut impl BufRead) -> Option<(String, Headers, Vec<u8>)> {
    let mut headers = Vec::new();
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).ok()? == 0 {
        return None;
    }
    let mut length = 0usize;
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap_or(0);
            }
            headers.push((name.to_string(), value.trim().to_string()));
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some((request_line.trim_end().to_string(), headers, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_requests_one_after_another() {
        let wire =
            b"POST /v1/traces HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcGET / HTTP/1.1\r\n\r\n";
        let mut reader = std::io::BufReader::new(&wire[..]);
        assert_eq!(
            read_request(&mut reader),
            Some(("POST /v1/traces HTTP/1.1".to_string(), b"abc".to_vec()))
        );
        assert_eq!(
            read_request(&mut reader),
            Some(("GET / HTTP/1.1".to_string(), Vec::new()))
        );
        assert_eq!(read_request(&mut reader), None);
    }
}
