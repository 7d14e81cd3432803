//! `Gladly-Time`: UTC as `YYYYMMDDTHHMMSSZ` (basic ISO 8601).

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};

/// The length of a `Gladly-Time` value.
const LEN: usize = 16;

/// Formats `at` as a `Gladly-Time` value, or `None` when its year is not
/// four digits (before 0000 or after 9999).
pub(crate) fn format(at: DateTime<Utc>) -> Option<String> {
    if !(0..=9999).contains(&at.year()) {
        return None;
    }
    Some(format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        at.year(),
        at.month(),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    ))
}

/// Parses a `Gladly-Time` value: exactly `YYYYMMDDTHHMMSSZ`, a real date and
/// time (no leap second), or `None`.
pub(crate) fn parse(value: &str) -> Option<DateTime<Utc>> {
    let b = value.as_bytes();
    if b.len() != LEN || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let digits = |range: std::ops::Range<usize>| -> Option<u32> {
        b[range].iter().try_fold(0u32, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    let year = i32::try_from(digits(0..4)?).ok()?;
    let date = NaiveDate::from_ymd_opt(year, digits(4..6)?, digits(6..8)?)?;
    let time = date.and_hms_opt(digits(9..11)?, digits(11..13)?, digits(13..15)?)?;
    Some(time.and_utc())
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn formats_and_parses() {
        let at = Utc.with_ymd_and_hms(2026, 11, 26, 17, 0, 5).unwrap();
        assert_eq!(format(at).as_deref(), Some("20261126T170005Z"));
        assert_eq!(parse("20261126T170005Z"), Some(at));
        assert!(parse("2026-11-26T17:00:05Z").is_none());
        assert!(parse("20261126t170005z").is_none());
    }
}
