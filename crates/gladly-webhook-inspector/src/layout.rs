//! The page shell, the embedded assets, and small formatting helpers.

use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use http::{StatusCode, header};
use maud::{DOCTYPE, Markup, html};

const CSS: &str = include_str!("../assets/inspector.css");
const JS: &str = include_str!("../assets/inspector.js");

/// A whole page: `title`, the navigation links, `body`.
pub(crate) fn page(base: &str, title: &str, nav: &[(&str, &str)], body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · gladly-webhook" }
                link rel="stylesheet" href={ (base) "/assets/inspector.css" };
                script src={ (base) "/assets/inspector.js" } defer {}
            }
            body {
                header {
                    h1 { "gladly-webhook · " (title) }
                    nav {
                        @for (href, label) in nav {
                            a href={ (base) (href) } { (label) } " "
                        }
                    }
                }
                main { (body) }
            }
        }
    }
}

/// A page, or a fragment of one (rows for the live parts), as an answer.
pub(crate) fn html_response(markup: Markup) -> Response {
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        markup.into_string(),
    )
        .into_response()
}

/// A plain-text error page.
pub(crate) fn error(status: StatusCode, message: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        message.to_string(),
    )
        .into_response()
}

/// The style sheet.
pub(crate) async fn css() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=300"),
        ],
        CSS,
    )
        .into_response()
}

/// The script.
pub(crate) async fn js() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=300"),
        ],
        JS,
    )
        .into_response()
}

/// A time as the pages show it: UTC, to the millisecond.
pub(crate) fn time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// A path segment, percent-encoded (ids are the sender's strings).
pub(crate) fn segment(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// A body as the pages show it: pretty JSON when it parses, else its
/// text; cut after `limit` bytes.
pub(crate) fn pretty_body(body: &[u8], limit: usize) -> String {
    let mut text = match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(value) => serde_json::to_string_pretty(&value)
            .unwrap_or_else(|_| String::from_utf8_lossy(body).into_owned()),
        Err(_) => String::from_utf8_lossy(body).into_owned(),
    };
    if text.len() > limit {
        let mut end = limit;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push_str("\n… (cut)");
    }
    text
}

/// A hidden CSRF field.
pub(crate) fn csrf_field(token: &str) -> Markup {
    html! { input type="hidden" name="csrf" value=(token); }
}

/// A badge: `class` is `ok`, `warn`, `bad` or `muted`.
pub(crate) fn badge(class: &str, text: &str) -> Markup {
    html! { span class={ "badge " (class) } { (text) } }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_pretty_and_cut() {
        assert_eq!(pretty_body(br#"{"a":1}"#, 100), "{\n  \"a\": 1\n}");
        assert_eq!(pretty_body(b"not json", 100), "not json");
        assert_eq!(pretty_body("ééé".as_bytes(), 3), "é\n… (cut)");
        assert_eq!(segment("sha256:a b/c"), "sha256%3Aa%20b%2Fc");
    }

    #[test]
    fn values_are_escaped() {
        let markup = badge("ok", "<script>alert(1)</script>");
        assert!(markup.into_string().contains("&lt;script&gt;"));
    }
}
