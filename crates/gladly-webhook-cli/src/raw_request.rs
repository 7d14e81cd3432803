//! Raw HTTP/1.1 requests as a capture tool saves them: the request line,
//! headers, a blank line and the body, with CRLF or LF line endings.

use http::{HeaderName, HeaderValue, Request};

use crate::error::CliError;

/// The most headers a request may have.
const MAX_HEADERS: usize = 128;

/// A parsed raw request, kept close to its bytes so it can be written back
/// as it came (header order, case and line endings).
#[derive(Debug)]
pub struct RawRequest {
    /// The request line, without its line ending.
    request_line: Vec<u8>,
    method: String,
    target: String,
    /// Each header as written: name, value.
    headers: Vec<(String, Vec<u8>)>,
    /// `\r\n` or `\n`, as the request line ends.
    line_ending: &'static [u8],
    /// The body: all bytes after the blank line, or `Content-Length` of them.
    pub body: Vec<u8>,
}

impl RawRequest {
    /// Parses `bytes` with `httparse`.
    pub fn parse(bytes: &[u8]) -> Result<Self, CliError> {
        let bad = |why: String| CliError::Usage(format!("not a raw HTTP/1.1 request: {why}"));
        let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut request = httparse::Request::new(&mut slots);
        let head_len = match request.parse(bytes) {
            Ok(httparse::Status::Complete(len)) => len,
            Ok(httparse::Status::Partial) => {
                return Err(bad(
                    "it ends before the blank line that closes the headers".to_string()
                ));
            }
            Err(err) => return Err(bad(err.to_string())),
        };
        let method = request.method.unwrap_or_default().to_string();
        let target = request.path.unwrap_or_default().to_string();
        let headers: Vec<(String, Vec<u8>)> = request
            .headers
            .iter()
            .map(|h| (h.name.to_string(), h.value.to_vec()))
            .collect();

        let first_line_end = bytes.iter().position(|&b| b == b'\n').unwrap_or(0);
        let (request_line, line_ending): (&[u8], &'static [u8]) =
            match bytes[..first_line_end].strip_suffix(b"\r") {
                Some(line) => (line, b"\r\n"),
                None => (&bytes[..first_line_end], b"\n"),
            };

        let rest = &bytes[head_len..];
        let content_length = headers
            .iter()
            .filter(|(name, _)| name.eq_ignore_ascii_case("content-length"))
            .map(|(_, value)| {
                std::str::from_utf8(value)
                    .ok()
                    .and_then(|v| v.trim().parse::<usize>().ok())
                    .ok_or_else(|| bad("Content-Length is not a number".to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let body = match content_length.as_slice() {
            [] => rest.to_vec(),
            [len] if *len <= rest.len() => rest[..*len].to_vec(),
            [len] => {
                return Err(bad(format!(
                    "Content-Length is {len} but the body has {} bytes",
                    rest.len()
                )));
            }
            _ => return Err(bad("Content-Length is given more than once".to_string())),
        };
        Ok(Self {
            request_line: request_line.to_vec(),
            method,
            target,
            headers,
            line_ending,
            body,
        })
    }

    /// The request as an `http::Request`.
    pub fn to_http(&self) -> Result<Request<Vec<u8>>, CliError> {
        let bad = |why: String| CliError::Usage(format!("not a usable request: {why}"));
        let mut builder = Request::builder()
            .method(self.method.as_str())
            .uri(self.target.as_str());
        for (name, value) in &self.headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| bad(format!("`{name}` is not a header name")))?;
            let value = HeaderValue::from_bytes(value).map_err(|_| {
                bad(format!(
                    "header `{name}` has a value no HTTP header can hold"
                ))
            })?;
            builder = builder.header(name, value);
        }
        builder
            .body(self.body.clone())
            .map_err(|err| bad(err.to_string()))
    }

    /// The request as bytes, as it came, but with every header named in
    /// `replace` taken out and `replace`'s headers added after the others.
    pub fn render_with(&self, replace: &[(&str, &[u8])]) -> Vec<u8> {
        let eol = self.line_ending;
        let mut out = Vec::with_capacity(self.request_line.len() + self.body.len() + 512);
        out.extend_from_slice(&self.request_line);
        out.extend_from_slice(eol);
        let replaced = |name: &str| replace.iter().any(|(r, _)| r.eq_ignore_ascii_case(name));
        for (name, value) in self.headers.iter().filter(|(name, _)| !replaced(name)) {
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value);
            out.extend_from_slice(eol);
        }
        for (name, value) in replace {
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value);
            out.extend_from_slice(eol);
        }
        out.extend_from_slice(eol);
        out.extend_from_slice(&self.body);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crlf_and_lf_requests() {
        for raw in [
            &b"POST /h?x=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\n{}"[..],
            &b"POST /h?x=1 HTTP/1.1\nHost: a\nContent-Length: 2\n\n{}"[..],
        ] {
            let request = RawRequest::parse(raw).unwrap();
            assert_eq!(request.body, b"{}");
            assert_eq!(request.render_with(&[]), raw);
            let http = request.to_http().unwrap();
            assert_eq!(http.uri().query(), Some("x=1"));
        }
    }

    #[test]
    fn content_length_is_honoured() {
        let request =
            RawRequest::parse(b"POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}\r\n").unwrap();
        assert_eq!(request.body, b"{}");
        let request = RawRequest::parse(b"POST / HTTP/1.1\r\n\r\n{}\r\n").unwrap();
        assert_eq!(request.body, b"{}\r\n");
        assert!(RawRequest::parse(b"POST / HTTP/1.1\r\nContent-Length: 9\r\n\r\n{}").is_err());
        assert!(RawRequest::parse(b"POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n{}").is_err());
        assert!(RawRequest::parse(b"POST / HTTP/1.1\r\nHost: a\r\n").is_err());
        assert!(RawRequest::parse(b"garbage").is_err());
        assert!(RawRequest::parse(b"").is_err());
    }
}
