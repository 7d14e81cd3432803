//! Durations on the command line: one convention for every flag.
//!
//! A duration needs a unit (`90s`, `10m`, `7d`, `1h 30m`, `500ms`), parsed by
//! `humantime`. A bare number is refused with a hint, because every tool
//! reads it differently (`purge --older-than 7` once meant 7 seconds).

use std::time::Duration;

/// The parser of a duration flag (for clap's `value_parser`): a duration
/// with its unit, more than zero.
pub fn positive(text: &str) -> Result<Duration, String> {
    let duration = any(text)?;
    if duration.is_zero() {
        return Err("must be more than zero".to_string());
    }
    Ok(duration)
}

/// A duration with its unit, zero allowed.
pub fn any(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if !text.is_empty() && text.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return Err(format!(
            "a unit is required: `{text}s`, `{text}m`, `{text}h` or `{text}d` (a bare number is ambiguous)"
        ));
    }
    humantime::parse_duration(text)
        .map_err(|err| format!("{err}; expected a duration such as `90s`, `10m`, `7d` or `1h 30m`"))
}

/// How long to keep something: a duration, or forever (`None`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention(pub Option<Duration>);

/// A retention: a duration, or `forever`.
pub fn retention(text: &str) -> Result<Retention, String> {
    if text.trim().eq_ignore_ascii_case("forever") {
        return Ok(Retention(None));
    }
    positive(text)
        .map(|d| Retention(Some(d)))
        .map_err(|err| format!("{err} (or `forever`, to keep them)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_are_required() {
        assert_eq!(positive("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(positive("7d"), Ok(Duration::from_secs(7 * 86_400)));
        assert_eq!(positive("1h 30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(positive("500ms"), Ok(Duration::from_millis(500)));
        let bare = positive("7").unwrap_err();
        assert!(bare.contains("a unit is required: `7s`"), "{bare}");
        assert!(positive("0.5").unwrap_err().contains("a unit is required"));
        assert!(positive("0s").unwrap_err().contains("more than zero"));
        assert_eq!(any("0s"), Ok(Duration::ZERO));
        assert!(
            positive("7 parsecs")
                .unwrap_err()
                .contains("expected a duration")
        );
        assert_eq!(retention("forever"), Ok(Retention(None)));
        assert_eq!(
            retention("30d"),
            Ok(Retention(Some(Duration::from_secs(30 * 86_400))))
        );
        assert!(retention("30").unwrap_err().contains("`forever`"));
    }

    /// Every duration flag parses into its field (clap checks the types
    /// only when a value is read).
    #[test]
    fn every_duration_flag_reads_into_its_field() {
        use clap::Parser;
        let parsed = crate::cli::Cli::try_parse_from([
            "gladly-webhook",
            "serve",
            "--retention",
            "forever",
            "--lease",
            "2s",
            "--header-timeout",
            "5s",
            "--body-timeout",
            "1m",
            "--api-user-env",
            "USERS",
        ]);
        assert!(parsed.is_ok(), "{:?}", parsed.err());
        for args in [
            &[
                "gladly-webhook",
                "listen",
                "--no-auth",
                "--lease",
                "90s",
                "--exec-timeout",
                "5m",
                "--retry-base",
                "50ms",
                "--tolerance",
                "10m",
            ][..],
            &["gladly-webhook", "inbox", "purge", "--older-than", "7d"],
            &[
                "gladly-webhook",
                "send",
                "--to",
                "http://127.0.0.1:9/",
                "--timeout",
                "3s",
                "-",
            ],
            &["gladly-webhook", "verify", "--tolerance", "1h", "-"],
        ] {
            let parsed = crate::cli::Cli::try_parse_from(args);
            assert!(parsed.is_ok(), "{args:?}: {:?}", parsed.err());
        }
    }
}
