//! Durations on the command line: one convention for every flag.
//!
//! A duration needs a unit (`90s`, `10m`, `7d`, `1h 30m`, `500ms`), parsed by
//! `humantime`. A bare number is refused with a hint, because every tool
//! reads it differently (`purge --older-than 7` once meant 7 seconds).

use std::time::Duration;

/// The longest duration any flag takes: 100 years. Longer is surely a typo,
/// and past the calendar's range once added to the clock.
pub const LONGEST: Duration = Duration::from_secs(3_155_760_000); // humantime's `100y`

/// The longest Events API window `serve --api gladly --events-window`
/// takes: 30 days (Gladly's is 24 hours; events are kept at least this
/// long).
pub const LONGEST_EVENTS_WINDOW: Duration = Duration::from_secs(30 * 86_400);

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
    let duration = humantime::parse_duration(text).map_err(|err| {
        format!("{err}; expected a duration such as `90s`, `10m`, `7d` or `1h 30m`")
    })?;
    if duration > LONGEST {
        return Err(format!(
            "{text} is longer than the longest duration a flag takes ({})",
            humantime::format_duration(LONGEST)
        ));
    }
    Ok(duration)
}

/// The parser of `--events-window`: a positive duration of at most
/// [`LONGEST_EVENTS_WINDOW`].
pub fn events_window(text: &str) -> Result<Duration, String> {
    let window = positive(text)?;
    if window > LONGEST_EVENTS_WINDOW {
        return Err(format!(
            "the Events API reaches back at most 30d (Gladly's: 24h), found {}",
            text.trim()
        ));
    }
    Ok(window)
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
        // Issue 32: beyond the calendar is refused, not a panic later.
        for huge in ["300000y", "101y", "18446744073709551615s"] {
            assert!(positive(huge).is_err(), "{huge}");
        }
        assert!(positive("100y").is_ok());
        assert!(events_window("24h").is_ok() && events_window("30d").is_ok());
        let window = events_window("300000y").unwrap_err();
        assert!(window.contains("longest"), "{window}");
        assert!(events_window("31d").unwrap_err().contains("at most 30d"));
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
