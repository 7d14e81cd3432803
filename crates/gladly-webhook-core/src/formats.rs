//! The schema's string formats: `uri` (RFC 3986) and `date-time`
//! (RFC 3339), as JSON Schema defines them.

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use fluent_uri::Uri;

/// Parses `text` as an absolute URI (RFC 3986 `URI`: scheme, `:`,
/// hierarchical part, optional query and fragment).
#[cfg_attr(not(feature = "validate"), allow(dead_code))]
pub(crate) fn parse_uri(text: &str) -> Option<Uri<&str>> {
    Uri::parse(text).ok()
}

/// The fields of an RFC 3339 `date-time`, as written.
#[cfg_attr(not(feature = "validate"), allow(dead_code))]
struct DateTimeFields {
    year: u32,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
    nanos: u32,
    /// Minutes east of UTC.
    offset: i32,
}

/// Whether `text` is an RFC 3339 `date-time`: `full-date "T" full-time`,
/// with `T` and `Z` in either case, an optional fraction of a second, and a
/// leap second (`:60`) only where the time in UTC is 23:59.
pub(crate) fn is_date_time(text: &str) -> bool {
    date_time_fields(text).is_some()
}

/// `text` as a UTC time, if it is an RFC 3339 `date-time`. Built from the
/// fields already checked, rather than parsed a second time.
#[cfg_attr(not(feature = "validate"), allow(dead_code))]
pub(crate) fn parse_date_time(text: &str) -> Option<DateTime<Utc>> {
    let f = date_time_fields(text)?;
    if f.second == 60 {
        // chrono models leap seconds its own way: let it read this rare case.
        return text.parse().ok();
    }
    let local = NaiveDate::from_ymd_opt(i32::try_from(f.year).ok()?, f.month, f.day)?
        .and_hms_nano_opt(f.hour, f.minute, f.second, f.nanos)?;
    Some(
        local
            .checked_sub_signed(TimeDelta::minutes(i64::from(f.offset)))?
            .and_utc(),
    )
}

fn date_time_fields(text: &str) -> Option<DateTimeFields> {
    let b = text.as_bytes();
    // YYYY-MM-DDTHH:MM:SS is 19 bytes; the offset adds at least 1.
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<u32> {
        b[range].iter().try_fold(0u32, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut i = 19;
    let mut nanos = 0;
    if b[i] == b'.' {
        let digits = b[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            return None;
        }
        // Nanoseconds: the first nine digits, the rest dropped.
        for k in 0..9 {
            let digit = if k < digits {
                u32::from(b[i + 1 + k] - b'0')
            } else {
                0
            };
            nanos = nanos * 10 + digit;
        }
        i += 1 + digits;
    }
    let offset: i32 = match &b[i..] {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
            let (h, m) = (num(i + 1..i + 3)?, num(i + 4..i + 6)?);
            if h > 23 || m > 59 {
                return None;
            }
            let minutes = (h * 60 + m) as i32;
            if *sign == b'+' { minutes } else { -minutes }
        }
        _ => return None,
    };
    if second == 60 {
        let utc_minutes = ((hour * 60 + minute) as i32 - offset).rem_euclid(24 * 60);
        if utc_minutes != 23 * 60 + 59 {
            return None;
        }
    }
    Some(DateTimeFields {
        year,
        month,
        day,
        hour,
        minute,
        second,
        nanos,
        offset,
    })
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_times() {
        for ok in [
            "2026-11-26T17:00:00Z",
            "2026-11-26t17:00:00z",
            "2026-11-26T17:00:00.5+01:00",
            "2024-02-29T00:00:00Z",
            "1998-12-31T23:59:60Z",
            "1998-12-31T15:59:60.123-08:00",
            "1999-01-01T00:59:60+01:00",
            "2026-11-26T17:00:00-00:00",
        ] {
            assert!(is_date_time(ok), "{ok}");
        }
        for bad in [
            "",
            "2026-11-26",
            "2026-11-26T17:00Z",
            "2026-11-26 17:00:00Z",
            "2026-11-26T17:00:00",
            "2026-11-26T17:00:00.Z",
            "2026-13-01T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2026-04-31T00:00:00Z",
            "2026-11-26T24:00:00Z",
            "2026-11-26T23:58:60Z",
            "2026-11-26T17:00:00+24:00",
            "2026-11-26T17:00:00+0100",
            "+2026-11-26T17:00:00Z",
            "2026-11-26T17:00:00ZZ",
            "２０２６-11-26T17:00:00Z",
        ] {
            assert!(!is_date_time(bad), "{bad}");
        }
    }

    #[test]
    fn date_times_read_as_chrono_reads_them() {
        for text in [
            "2026-11-26T17:00:00Z",
            "2026-11-26t17:00:00.5z",
            "2026-11-26T17:00:00.123456789123+05:30",
            "2026-01-01T00:30:00+01:00",
            "0000-01-01T00:00:00-00:01",
            "9999-12-31T23:59:59-23:59",
            "1998-12-31T23:59:60Z",
            "1998-12-31T15:59:60.123-08:00",
            "2024-02-29T12:00:00.000001Z",
        ] {
            let ours = parse_date_time(text).unwrap_or_else(|| panic!("{text}"));
            assert_eq!(Some(ours), text.parse::<DateTime<Utc>>().ok(), "{text}");
        }
    }

    #[test]
    fn uris() {
        assert!(parse_uri("https://example.com/a?b#c").is_some());
        assert!(parse_uri("urn:isbn:0451450523").is_some());
        assert!(parse_uri("//example.com").is_none());
        assert!(parse_uri("/relative").is_none());
        assert!(parse_uri("https://exa mple.com").is_none());
        assert!(parse_uri("").is_none());
    }
}
