//! When two subscription URLs are the same URL.

/// A URL as the uniqueness rule compares it: parsed and written back
/// (scheme and host lowercased, the default port dropped, `/` for an
/// empty path); as given when it does not parse.
///
/// ```
/// use gladly_webhook_hub::store::url_key;
///
/// assert_eq!(url_key("HTTPS://Example.COM:443"), url_key("https://example.com/"));
/// assert_ne!(url_key("https://example.com/a"), url_key("https://example.com/b"));
/// // An empty query, an escaped unreserved character and a trailing dot in
/// // the host change nothing a receiver sees.
/// assert_eq!(url_key("https://example.com./h?"), url_key("https://example.com/%68"));
/// assert_ne!(url_key("https://example.com/h?a=1"), url_key("https://example.com/h"));
/// ```
pub fn url_key(url: &str) -> String {
    let Ok(mut parsed) = url::Url::parse(url) else {
        return url.to_string();
    };
    if let Some(url::Host::Domain(name)) = parsed.host()
        && let Some(bare) = name.strip_suffix('.').map(str::to_string)
    {
        let _ = parsed.set_host(Some(&bare));
    }
    let path = decode_unreserved(parsed.path());
    parsed.set_path(&path);
    match parsed.query().map(decode_unreserved) {
        Some(query) if query.is_empty() => parsed.set_query(None),
        Some(query) => parsed.set_query(Some(&query)),
        None => {}
    }
    parsed.set_fragment(None);
    parsed.to_string()
}

/// `text` with percent-escapes of unreserved characters (RFC 3986:
/// letters, digits, `-._~`) decoded and every other escape upper-cased:
/// the forms that mean the same URL.
fn decode_unreserved(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        let escape = bytes[i] == b'%'
            && i + 2 < bytes.len()
            && bytes[i + 1].is_ascii_hexdigit()
            && bytes[i + 2].is_ascii_hexdigit();
        if escape {
            let hex = &text[i + 1..i + 3];
            if let Ok(byte) = u8::from_str_radix(hex, 16) {
                if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
                    out.push(char::from(byte));
                } else {
                    out.push('%');
                    out.push_str(&hex.to_ascii_uppercase());
                }
                i += 3;
                continue;
            }
        }
        let ch = text[i..].chars().next().unwrap_or('\u{fffd}');
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}
