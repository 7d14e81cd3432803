//! [`Schedule`]: when a failed delivery is tried again.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// The waits after each failed attempt in Gladly's documented schedule
/// (REST API 1.0): 30 seconds, 5 minutes, 30 minutes, then 1 hour, so the
/// fifth and last attempt starts 1 h 35 min 30 s after the first. Gladly
/// documents no jitter, and none is added: a receiver tested against this
/// sender sees the waits Gladly's own retries take.
pub const GLADLY_DELAYS: [Duration; 4] = [
    Duration::from_secs(30),
    Duration::from_secs(5 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(60 * 60),
];

/// When a failed delivery is tried again: the waits before the second,
/// third... attempts. After the last, the sender gives up.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Schedule {
    /// Gladly's: four retries, after 30 s, 5 min, 30 min and 1 h
    /// ([`GLADLY_DELAYS`]).
    Gladly,
    /// One attempt, no retry.
    None,
    /// These waits, exactly (no jitter).
    Delays(Vec<Duration>),
}

impl Schedule {
    /// How many attempts in all.
    pub fn attempts(&self) -> usize {
        1 + match self {
            Self::Gladly => GLADLY_DELAYS.len(),
            Self::None => 0,
            Self::Delays(delays) => delays.len(),
        }
    }

    /// The wait before attempt `next` (from 2), or `None` after the last
    /// attempt.
    pub fn bound(&self, next: usize) -> Option<Duration> {
        let index = next.checked_sub(2)?;
        match self {
            Self::Gladly => GLADLY_DELAYS.get(index).copied(),
            Self::None => None,
            Self::Delays(delays) => delays.get(index).copied(),
        }
    }

    /// The wait before attempt `next` (from 2): the same as
    /// [`Schedule::bound`] (every schedule's waits are exact).
    pub fn wait(&self, next: usize) -> Option<Duration> {
        self.bound(next)
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Gladly => f.write_str("gladly"),
            Self::None => f.write_str("none"),
            Self::Delays(delays) => {
                let parts: Vec<String> = delays
                    .iter()
                    .map(|d| format!("{}ms", d.as_millis()))
                    .collect();
                f.write_str(&parts.join(","))
            }
        }
    }
}

/// Why a schedule could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad schedule {text:?}: expected `gladly`, `none` or delays such as `1s,30s,5m` ({why})")]
pub struct ScheduleError {
    text: String,
    why: String,
}

impl FromStr for Schedule {
    type Err = ScheduleError;

    /// `gladly`, `none`, or comma-separated delays: `500ms`, `10s`, `5m`,
    /// `1h` (a bare number is seconds).
    ///
    /// ```
    /// use std::time::Duration;
    /// use gladly_webhook_sender::Schedule;
    ///
    /// assert_eq!("gladly".parse::<Schedule>().unwrap(), Schedule::Gladly);
    /// assert_eq!(
    ///     "500ms,2s,1m".parse::<Schedule>().unwrap(),
    ///     Schedule::Delays(vec![Duration::from_millis(500), Duration::from_secs(2), Duration::from_secs(60)])
    /// );
    /// assert!("soon".parse::<Schedule>().is_err());
    /// ```
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = |why: &str| ScheduleError {
            text: gladly_webhook_core::echo::escape(text, 80),
            why: why.to_string(),
        };
        match text.trim() {
            "gladly" => return Ok(Self::Gladly),
            "none" => return Ok(Self::None),
            "" => return Err(bad("it is empty")),
            _ => {}
        }
        let delays = text
            .split(',')
            .map(|part| parse_duration(part.trim()).ok_or_else(|| bad("a delay is not a duration")))
            .collect::<Result<Vec<_>, _>>()?;
        if delays.len() > 100 {
            return Err(bad("more than 100 delays"));
        }
        Ok(Self::Delays(delays))
    }
}

/// `500ms`, `10s`, `5m`, `1h`, or a bare number of seconds.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let split = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number.parse().ok()?;
    let seconds = match unit {
        "ms" => value / 1000.0,
        "" | "s" => value,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        "d" => value * 86_400.0,
        _ => return None,
    };
    (seconds.is_finite() && (0.0..1e9).contains(&seconds)).then(|| Duration::from_secs_f64(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gladly_schedule_is_gladlys_documented_one() {
        let s = Schedule::Gladly;
        assert_eq!(s.attempts(), 5);
        let waits: Vec<Duration> = (2..=5).map(|n| s.wait(n).unwrap()).collect();
        assert_eq!(
            waits,
            [
                Duration::from_secs(30),
                Duration::from_secs(300),
                Duration::from_secs(1800),
                Duration::from_secs(3600)
            ]
        );
        assert_eq!(waits.iter().sum::<Duration>(), Duration::from_secs(5730));
        assert_eq!(s.wait(6), None);
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("7"), Some(Duration::from_secs(7)));
        assert_eq!(parse_duration("1.5m"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("2d"), Some(Duration::from_secs(172_800)));
        assert_eq!(parse_duration("-1s"), None);
        assert_eq!(parse_duration("1y"), None);
    }
}
