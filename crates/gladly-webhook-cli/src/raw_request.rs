//! Raw HTTP/1.1 requests as a capture tool saves them: the request line,
//! headers, a blank line and the body, with CRLF or LF line endings.
//!
//! The body is framed as RFC 9112 says: `Content-Length` (plain digits) or
//! `Transfer-Encoding: chunked` (decoded), never both; with neither, the
//! rest of the file. Bytes after a declared body are refused, not ignored.

use http::{HeaderName, HeaderValue, Request};

use gladly_webhook_core::echo;

use crate::error::CliError;

/// The most headers a request may have.
const MAX_HEADERS: usize = 128;

/// The largest request head (request line and headers) read.
pub const MAX_HEAD: usize = 64 * 1024;

/// A parsed raw request, kept close to its bytes so it can be written back
/// as it came (header order, case, line endings and body framing).
#[derive(Debug)]
pub struct RawRequest {
    method: String,
    target: String,
    /// `1` for HTTP/1.1, `0` for HTTP/1.0.
    version: u8,
    /// Each header as written: name, value.
    headers: Vec<(String, Vec<u8>)>,
    /// `\r\n` or `\n`, as the request line ends.
    line_ending: &'static [u8],
    /// The body as it is framed in the file (chunked framing included).
    framed_body: Vec<u8>,
    /// The body's content: what is signed and verified.
    pub body: Vec<u8>,
}

fn bad(why: impl std::fmt::Display) -> CliError {
    CliError::Usage(format!("not a raw HTTP/1.1 request: {why}"))
}

/// Why the first line of `bytes` is not an HTTP/1.x request line, said
/// in words a user can act on (httparse says "invalid token").
fn request_line_problem(bytes: &[u8]) -> Option<String> {
    let start = bytes.iter().position(|b| !b.is_ascii_whitespace())?;
    let rest = &bytes[start..];
    if matches!(rest[0], b'{' | b'[') {
        return Some(format!(
            "it looks like JSON, a body alone; {WHAT_A_REQUEST_IS}"
        ));
    }
    let line = rest.split(|&b| b == b'\n').next().unwrap_or_default();
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let words: Vec<&[u8]> = line.split(|&b| b == b' ').collect();
    let fits = matches!(words.as_slice(), [method, target, version]
        if !method.is_empty()
            && method.iter().all(u8::is_ascii_graphic)
            && !target.is_empty()
            && version.starts_with(b"HTTP/1."));
    (!fits).then(|| {
        format!(
            "its first line is {}, not `METHOD TARGET HTTP/1.1`; {WHAT_A_REQUEST_IS}",
            gladly_webhook_core::echo::quote(&String::from_utf8_lossy(line))
        )
    })
}

/// What `verify` reads, for the messages above.
const WHAT_A_REQUEST_IS: &str = "expected a whole request as it came over the wire: \
     `POST /path HTTP/1.1`, the headers (Gladly-Time, Gladly-Authorization, ...), \
     a blank line, then the body (`gladly-webhook sign` writes one)";

impl RawRequest {
    /// Parses `bytes`, refusing a body of more than `body_limit` bytes.
    pub fn parse(bytes: &[u8], body_limit: usize) -> Result<Self, CliError> {
        let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut request = httparse::Request::new(&mut slots);
        if let Some(why) = request_line_problem(bytes) {
            return Err(bad(why));
        }
        let head_len = match request.parse(bytes) {
            Ok(httparse::Status::Complete(len)) => len,
            Ok(httparse::Status::Partial) => {
                return Err(bad("it ends before the blank line that closes the headers"));
            }
            Err(_) if has_folded_line(bytes) => {
                return Err(bad(
                    "folded header lines are not supported (a header line starts with a space or a tab)",
                ));
            }
            Err(httparse::Error::TooManyHeaders) => {
                return Err(bad(format_args!("it has more than {MAX_HEADERS} headers")));
            }
            Err(err) => return Err(bad(err)),
        };
        if head_len > MAX_HEAD {
            return Err(bad(format_args!(
                "its head is larger than {MAX_HEAD} bytes"
            )));
        }
        let method = request.method.unwrap_or_default().to_string();
        let target = request.path.unwrap_or_default().to_string();
        let version = request.version.unwrap_or(1);
        let headers: Vec<(String, Vec<u8>)> = request
            .headers
            .iter()
            .map(|h| (h.name.to_string(), h.value.to_vec()))
            .collect();
        // The request line's ending, after any empty lines before it.
        let start = bytes
            .iter()
            .position(|&b| b != b'\r' && b != b'\n')
            .unwrap_or(0);
        let line_end = bytes[start..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(start, |i| start + i);
        let line_ending: &'static [u8] = if line_end > 0 && bytes[line_end - 1] == b'\r' {
            b"\r\n"
        } else {
            b"\n"
        };

        let rest = &bytes[head_len..];
        let body = match framing(&headers)? {
            Framing::Length(len) => {
                if len > body_limit {
                    return Err(bad(format_args!(
                        "Content-Length is {len}, beyond the body limit of {body_limit} bytes (raise it with --max-bytes)"
                    )));
                }
                match rest.len().cmp(&len) {
                    std::cmp::Ordering::Less => {
                        return Err(bad(format_args!(
                            "Content-Length is {len} but the body has {} bytes",
                            rest.len()
                        )));
                    }
                    std::cmp::Ordering::Greater => {
                        return Err(bad(format_args!(
                            "{} bytes follow the {len}-byte body that Content-Length declares",
                            rest.len() - len
                        )));
                    }
                    std::cmp::Ordering::Equal => rest.to_vec(),
                }
            }
            Framing::Chunked => decode_chunked(rest, body_limit)?,
            Framing::Rest => {
                if rest.len() > body_limit {
                    return Err(bad(format_args!(
                        "the body is larger than {body_limit} bytes (raise it with --max-bytes)"
                    )));
                }
                rest.to_vec()
            }
        };
        Ok(Self {
            method,
            target,
            version,
            headers,
            line_ending,
            framed_body: rest.to_vec(),
            body,
        })
    }

    /// The request as an `http::Request`, with the decoded body.
    pub fn to_http(&self) -> Result<Request<Vec<u8>>, CliError> {
        let unusable = |why: String| CliError::Usage(format!("not a usable request: {why}"));
        let mut builder = Request::builder()
            .method(self.method.as_str())
            .uri(self.target.as_str());
        for (name, value) in &self.headers {
            let shown = echo::escape(name, 64);
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| unusable(format!("`{shown}` is not a header name")))?;
            let value = HeaderValue::from_bytes(value).map_err(|_| {
                unusable(format!(
                    "header `{shown}` has a value no HTTP header can hold"
                ))
            })?;
            builder = builder.header(name, value);
        }
        builder
            .body(self.body.clone())
            .map_err(|err| unusable(echo::escape(&err.to_string(), 200)))
    }

    /// The request as bytes, written from what was parsed: the request
    /// line, every header not named in `replace`, then `replace`'s headers,
    /// a blank line and the body as it was framed.
    pub fn render_with(&self, replace: &[(&str, &[u8])]) -> Vec<u8> {
        let eol = self.line_ending;
        let mut out = Vec::with_capacity(self.framed_body.len() + 1024);
        out.extend_from_slice(self.method.as_bytes());
        out.push(b' ');
        out.extend_from_slice(self.target.as_bytes());
        out.extend_from_slice(format!(" HTTP/1.{}", self.version).as_bytes());
        out.extend_from_slice(eol);
        let replaced = |name: &str| replace.iter().any(|(r, _)| r.eq_ignore_ascii_case(name));
        let kept = self.headers.iter().filter(|(name, _)| !replaced(name));
        for (name, value) in kept
            .map(|(n, v)| (n.as_str(), v.as_slice()))
            .chain(replace.iter().copied())
        {
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value);
            out.extend_from_slice(eol);
        }
        out.extend_from_slice(eol);
        out.extend_from_slice(&self.framed_body);
        out
    }
}

/// Whether a header line of the head starts with a space or a tab (an
/// obsolete line folding, RFC 9112 section 5.2).
fn has_folded_line(bytes: &[u8]) -> bool {
    let head_end = bytes
        .windows(2)
        .position(|w| w == b"\n\n" || w == b"\n\r")
        .unwrap_or(bytes.len());
    bytes[..head_end]
        .split(|&b| b == b'\n')
        .skip_while(|line| line.is_empty() || *line == b"\r")
        .skip(1)
        .any(|line| line.first().is_some_and(|&b| b == b' ' || b == b'\t'))
}

/// How the body is delimited.
enum Framing {
    Length(usize),
    Chunked,
    Rest,
}

fn framing(headers: &[(String, Vec<u8>)]) -> Result<Framing, CliError> {
    let values = |wanted: &str| -> Vec<&[u8]> {
        headers
            .iter()
            .filter(|(name, _)| name.eq_ignore_ascii_case(wanted))
            .map(|(_, value)| value.as_slice())
            .collect()
    };
    let lengths = values("content-length");
    let encodings = values("transfer-encoding");
    match (lengths.as_slice(), encodings.as_slice()) {
        ([], []) => Ok(Framing::Rest),
        (_, [_, ..]) if !lengths.is_empty() => Err(bad(
            "it has both Transfer-Encoding and Content-Length (RFC 9112 section 6.3: refused)",
        )),
        ([length], []) => {
            let digits = std::str::from_utf8(length).unwrap_or("");
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad(format_args!(
                    "Content-Length is {}, not a number of plain digits",
                    echo::quote(&String::from_utf8_lossy(length))
                )));
            }
            digits
                .parse()
                .map(Framing::Length)
                .map_err(|_| bad("Content-Length is too large"))
        }
        (_, []) => Err(bad("Content-Length is given more than once")),
        (_, codings) => {
            let joined: Vec<String> = codings
                .iter()
                .map(|v| String::from_utf8_lossy(v).into_owned())
                .collect();
            let joined = joined.join(",");
            let codings: Vec<&str> = joined.split(',').map(str::trim).collect();
            if codings.len() == 1 && codings[0].eq_ignore_ascii_case("chunked") {
                Ok(Framing::Chunked)
            } else {
                Err(bad(format_args!(
                    "Transfer-Encoding {} is not supported: only chunked is",
                    echo::quote(&joined)
                )))
            }
        }
    }
}

/// Decodes a chunked body (RFC 9112 section 7.1): the content, or an error
/// for bad framing, trailer fields, bytes after the last chunk, or content
/// beyond `limit`. Lines may end in CRLF or LF, as the head's may.
fn decode_chunked(mut rest: &[u8], limit: usize) -> Result<Vec<u8>, CliError> {
    let bad_chunk = |why: &str| bad(format_args!("bad chunked body: {why}"));
    let mut body = Vec::new();
    loop {
        let (line, after) =
            split_line(rest).ok_or_else(|| bad_chunk("a chunk size line is not ended"))?;
        let size_text = line.split(|&b| b == b';').next().unwrap_or_default();
        let size_text = trim_ows(size_text);
        if size_text.is_empty()
            || size_text.len() > 15
            || !size_text.iter().all(u8::is_ascii_hexdigit)
        {
            return Err(bad_chunk("a chunk size is not a hexadecimal number"));
        }
        let size = usize::from_str_radix(std::str::from_utf8(size_text).unwrap_or("x"), 16)
            .map_err(|_| bad_chunk("a chunk size is not a hexadecimal number"))?;
        rest = after;
        if size == 0 {
            break;
        }
        if body.len() + size > limit {
            return Err(bad(format_args!(
                "the chunked body is larger than {limit} bytes (raise it with --max-bytes)"
            )));
        }
        if rest.len() < size {
            return Err(bad_chunk("it ends inside a chunk"));
        }
        body.extend_from_slice(&rest[..size]);
        rest = &rest[size..];
        let (empty, after) =
            split_line(rest).ok_or_else(|| bad_chunk("a chunk is not followed by a line end"))?;
        if !empty.is_empty() {
            return Err(bad_chunk("a chunk is longer than its size says"));
        }
        rest = after;
    }
    match split_line(rest) {
        Some((b"", b"")) => Ok(body),
        Some((b"", after)) => Err(bad(format_args!(
            "{} bytes follow the end of the chunked body",
            after.len()
        ))),
        Some(_) => Err(bad_chunk(
            "trailer fields after the last chunk are not supported",
        )),
        None => Err(bad_chunk("the last chunk is not followed by an empty line")),
    }
}

/// The first line of `bytes` (without its LF or CRLF) and what follows it.
fn split_line(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let end = bytes.iter().position(|&b| b == b'\n')?;
    let line = &bytes[..end];
    Some((line.strip_suffix(b"\r").unwrap_or(line), &bytes[end + 1..]))
}

fn trim_ows(mut bytes: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = bytes {
        bytes = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = bytes {
        bytes = rest;
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: usize = 1 << 20;

    fn parse(bytes: &[u8]) -> Result<RawRequest, String> {
        RawRequest::parse(bytes, LIMIT).map_err(|e| e.to_string())
    }

    #[test]
    fn a_file_that_is_not_a_request_is_named_for_what_it_is() {
        let json = parse(br#"{"id": "evt_1", "type": "CONVERSATION_CLOSED"}"#).unwrap_err();
        assert!(json.contains("it looks like JSON, a body alone"), "{json}");
        assert!(json.contains("`POST /path HTTP/1.1`"), "{json}");
        let text = parse(b"hello world\n\n").unwrap_err();
        assert!(
            text.contains(r#"its first line is "hello world", not `METHOD TARGET HTTP/1.1`"#),
            "{text}"
        );
        let http2 = parse(b"POST / HTTP/2\r\n\r\n").unwrap_err();
        assert!(http2.contains("its first line is"), "{http2}");
        assert!(parse(b"POST /hooks HTTP/1.1\r\nContent-Length: 0\r\n\r\n").is_ok());
    }

    #[test]
    fn crlf_and_lf_requests_render_as_they_came() {
        for raw in [
            &b"POST /h?x=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\n{}"[..],
            &b"POST /h?x=1 HTTP/1.1\nHost: a\nContent-Length: 2\n\n{}"[..],
        ] {
            let request = parse(raw).unwrap();
            assert_eq!(request.body, b"{}");
            assert_eq!(request.render_with(&[]), raw);
            let http = request.to_http().unwrap();
            assert_eq!(http.uri().query(), Some("x=1"));
        }
    }

    #[test]
    fn content_length_frames_the_body_exactly() {
        assert_eq!(
            parse(b"POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}")
                .unwrap()
                .body,
            b"{}"
        );
        assert_eq!(
            parse(b"POST / HTTP/1.1\r\n\r\n{}\r\n").unwrap().body,
            b"{}\r\n"
        );
        for (raw, why) in [
            (
                &b"POST / HTTP/1.1\r\nContent-Length: 9\r\n\r\n{}"[..],
                "but the body has 2",
            ),
            (
                b"POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}\r\n",
                "2 bytes follow",
            ),
            (
                b"POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n{}",
                "plain digits",
            ),
            (
                b"POST / HTTP/1.1\r\nContent-Length: +2\r\n\r\n{}",
                "plain digits",
            ),
            (
                b"POST / HTTP/1.1\r\nContent-Length: 0x2\r\n\r\n{}",
                "plain digits",
            ),
            (
                b"POST / HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n{}",
                "more than once",
            ),
            (
                b"POST / HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n{}",
                "body limit",
            ),
            (b"POST / HTTP/1.1\r\nHost: a\r\n", "ends before"),
            (b"garbage", "its first line is \"garbage\""),
            (b"", "ends before"),
        ] {
            let err = parse(raw).unwrap_err();
            assert!(err.contains(why), "{raw:?}: {err}");
        }
    }

    #[test]
    fn chunked_bodies_are_decoded() {
        let raw = b"POST /h HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n4;ext=1\r\n{\"a\"\r\n4\r\n:12}\r\n0\r\n\r\n";
        let request = parse(raw).unwrap();
        assert_eq!(request.body, b"{\"a\":12}");
        assert_eq!(
            request.render_with(&[]),
            raw,
            "written back with its framing"
        );
        let lf = b"POST /h HTTP/1.1\nTransfer-Encoding: Chunked\n\n2\n{}\n0\n\n";
        assert_eq!(parse(lf).unwrap().body, b"{}");
        for (raw, why) in [
            (
                &b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\n{}"[..],
                "both",
            ),
            (
                b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
                "only chunked",
            ),
            (
                b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                "hexadecimal",
            ),
            (
                b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{}\r\n",
                "ends inside",
            ),
            (
                b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\n{}\r\n0\r\n\r\n",
                "longer than",
            ),
            (
                b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nextra",
                "5 bytes follow",
            ),
            (
                b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: 1\r\n\r\n",
                "trailer",
            ),
            (
                b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n",
                "ended",
            ),
        ] {
            let err = parse(raw).unwrap_err();
            assert!(err.contains(why), "{}: {err}", String::from_utf8_lossy(raw));
        }
        let big = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n0123456789abcdef\r\n0\r\n\r\n";
        let err = RawRequest::parse(big, 8).unwrap_err().to_string();
        assert!(err.contains("larger than 8 bytes"), "{err}");
    }

    #[test]
    fn leading_empty_lines_keep_the_request_line() {
        let request = parse(b"\r\nPOST /h HTTP/1.1\r\nHost: a\r\n\r\n{}").unwrap();
        assert_eq!(
            request.render_with(&[]),
            b"POST /h HTTP/1.1\r\nHost: a\r\n\r\n{}"
        );
        let request = parse(b"\nPOST /h HTTP/1.1\nHost: a\n\n{}").unwrap();
        assert_eq!(request.render_with(&[]), b"POST /h HTTP/1.1\nHost: a\n\n{}");
    }

    #[test]
    fn folded_headers_say_so() {
        let err = parse(b"POST / HTTP/1.1\r\nX-A: 1\r\n  continued\r\n\r\n{}").unwrap_err();
        assert!(err.contains("folded header lines"), "{err}");
    }
}
