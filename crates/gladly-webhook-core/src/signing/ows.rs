//! HTTP's optional whitespace (RFC 9110 `OWS`: spaces and tabs), trimmed
//! from header values and authorization parameters.

use std::ops::Range;

/// Whether `b` is a space or a tab.
pub(crate) fn is_ows(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// The range of `bytes` left once leading and trailing spaces and tabs are
/// trimmed. Spaces and tabs are ASCII, so on a `str` its ends are char
/// boundaries.
pub(crate) fn trimmed(bytes: &[u8]) -> Range<usize> {
    let start = bytes
        .iter()
        .position(|&b| !is_ows(b))
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|&b| !is_ows(b))
        .map_or(start, |i| i + 1);
    start..end
}

/// `text` without leading and trailing spaces and tabs.
pub(crate) fn trim_str(text: &str) -> &str {
    &text[trimmed(text.as_bytes())]
}
