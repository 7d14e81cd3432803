//! Showing untrusted input in messages: the one place that decides how a
//! value from a request, a payload or a file is echoed back.
//!
//! Every message of this crate that repeats input goes through here, so
//! that none of them can forge lines or send terminal escape sequences
//! ([`escape`]), grow without bound ([`escape`] cuts), or leak a credential
//! held in a URL ([`redact_url`]). Programs that print input of their own
//! (a command-line tool, a log line) should use the same functions.
//!
//! ```
//! use gladly_webhook_core::echo::{escape, redact_url};
//!
//! assert_eq!(escape("evt_1\u{1b}[2J\nverified", 80), r"evt_1\u{1b}[2J\nverified");
//! assert_eq!(escape("abcdef", 3), "abc…");
//! assert_eq!(
//!     redact_url("https://admin:S3C/RET@example.com/h?token=t#frag"),
//!     "https://***@example.com/h?…#…"
//! );
//! ```

use std::fmt::Write as _;

/// How many characters of an echoed value a message shows by default.
pub const DEFAULT_ECHO_CHARS: usize = 80;

/// `text` made safe to print on one line of a terminal or a log: at most
/// `max_chars` characters of it (then `…`), with every control character
/// (C0, DEL, C1), every bidirectional-override character and the
/// backslash written as an escape (`\n`, `\t`, `\u{1b}`, `\\`).
///
/// ```
/// use gladly_webhook_core::echo::escape;
///
/// assert_eq!(escape("plain id", 80), "plain id");
/// assert_eq!(escape("tab\there", 80), r"tab\there");
/// assert_eq!(escape("\u{202e}gpj.exe", 80), r"\u{202e}gpj.exe");
/// ```
pub fn escape(text: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max_chars * 2) + 3);
    for (count, c) in text.chars().enumerate() {
        if count == max_chars {
            out.push('…');
            break;
        }
        push_escaped(&mut out, c);
    }
    out
}

/// Whether `c` must not reach a terminal as itself.
fn needs_escape(c: char) -> bool {
    c.is_control()
        || c == '\\'
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

fn push_escaped(out: &mut String, c: char) {
    if !needs_escape(c) {
        out.push(c);
        return;
    }
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\\' => out.push_str("\\\\"),
        _ => {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        }
    }
}

/// `text` as a double-quoted string for a message: cut to
/// [`DEFAULT_ECHO_CHARS`] characters and escaped as [`escape`] does, with
/// `"` escaped too.
///
/// ```
/// use gladly_webhook_core::echo::quote;
///
/// assert_eq!(quote("say \"hi\"\n"), r#""say \"hi\"\n""#);
/// ```
pub fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(DEFAULT_ECHO_CHARS * 2) + 5);
    out.push('"');
    for (count, c) in text.chars().enumerate() {
        if count == DEFAULT_ECHO_CHARS {
            out.push_str("\"…");
            return out;
        }
        if c == '"' {
            out.push_str("\\\"");
        } else {
            push_escaped(&mut out, c);
        }
    }
    out.push('"');
    out
}

/// A URL as a message may show it: anything that may hold a credential is
/// replaced.
///
/// - Everything before the last `@` of the authority, however malformed the
///   URL (an unencoded `/`, `?` or `#` in a password included), becomes
///   `***`;
/// - the query and the fragment, where tokens live, become `?…` and `#…`.
///
/// The result is not escaped: pass it to [`quote`] or [`escape`].
///
/// ```
/// use gladly_webhook_core::echo::redact_url;
///
/// assert_eq!(redact_url("https://example.com/hooks"), "https://example.com/hooks");
/// assert_eq!(redact_url("https://u:p@example.com:8443/h"), "https://***@example.com:8443/h");
/// assert_eq!(redact_url("https://a:b?c#d@example.com"), "https://***@example.com");
/// assert_eq!(redact_url("not a url?x=1"), "not a url?…");
/// ```
pub fn redact_url(text: &str) -> String {
    // The authority starts after `//`; without one, nothing is sure to be
    // a scheme, and everything before an `@` goes.
    let start = text.find("//").map_or(0, |i| i + 2);
    let (head, rest) = text.split_at(start);
    let mut out = String::with_capacity(text.len());
    out.push_str(head);
    // A credential may hold any of `/?#@`: everything up to the last `@`
    // goes, even if that `@` turns out to be in the path.
    let rest = match rest.rfind('@') {
        Some(at) => {
            out.push_str("***");
            &rest[at..]
        }
        None => rest,
    };
    match rest.find(['?', '#']) {
        Some(cut) => {
            out.push_str(&rest[..cut]);
            let tail = &rest[cut..];
            if tail.starts_with('?') {
                out.push_str("?…");
            }
            if tail.contains('#') {
                out.push_str("#…");
            }
        }
        None => out.push_str(rest),
    }
    out
}

/// A JSON pointer as messages print it: the root (`""`) as `(root)`, and
/// the rest escaped (a pointer names keys from the input).
pub(crate) fn pointer(pointer: &str) -> String {
    if pointer.is_empty() {
        "(root)".to_string()
    } else {
        escape(pointer, 200)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_every_control_character() {
        for c in (0u32..0x20).chain(0x7f..0xa0).filter_map(char::from_u32) {
            let shown = escape(&c.to_string(), 10);
            assert!(shown.starts_with('\\'), "{c:?} shown as {shown}");
            assert!(!shown.chars().any(char::is_control));
        }
    }

    #[test]
    fn cuts_by_characters_not_bytes() {
        assert_eq!(escape("ééé", 2), "éé…");
        assert_eq!(escape("ééé", 3), "ééé");
        assert_eq!(quote(&"x".repeat(81)), format!("\"{}\"…", "x".repeat(80)));
    }

    #[test]
    fn redacts_every_credential_shape() {
        for (url, shown) in [
            (
                "https://admin:S3C/RET@example.com/h",
                "https://***@example.com/h",
            ),
            (
                "https://admin:S3C?RET@example.com/h",
                "https://***@example.com/h",
            ),
            (
                "https://admin:S3C#RET@example.com/h",
                "https://***@example.com/h",
            ),
            ("https://a@b@example.com", "https://***@example.com"),
            ("https://example.com/h?token=abc", "https://example.com/h?…"),
            (
                "https://example.com/h#access_token=abc",
                "https://example.com/h#…",
            ),
            ("https://example.com/h?a=1#b", "https://example.com/h?…#…"),
            ("mailto:user:pw@example.com", "***@example.com"),
            ("user:pw@example.com/x?y", "***@example.com/x?…"),
        ] {
            assert_eq!(redact_url(url), shown, "{url}");
        }
    }
}
