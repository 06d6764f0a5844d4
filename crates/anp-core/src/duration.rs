//! Durations as users type them, in every file and flag alphanode reads (`anp.toml`,
//! `cache.toml`, `--in 5m`): one grammar everywhere.

use std::time::Duration;

use crate::error::{Error, Result};

/// Parses a duration as typed by a user: `500ms`, `30s`, `5m`, `1h30m`, `2d`, `1 day`, or ISO
/// 8601 (`PT30S`). Days are 24 hours.
pub fn parse_duration(what: &str, s: &str) -> Result<Duration> {
    let bad = || {
        Error::invalid(
            what.to_owned(),
            format!("{s:?} is not a duration: expected a positive duration such as 500ms, 30s, 5m, 1h30m or 2d"),
        )
    };
    let t = s.trim();
    let sd = match t.parse::<jiff::SignedDuration>() {
        Ok(d) => d,
        Err(_) => {
            let span: jiff::Span = t.parse().map_err(|_| bad())?;
            span.to_duration(jiff::SpanRelativeTo::days_are_24_hours())
                .map_err(|_| bad())?
        }
    };
    if sd.is_negative() {
        return Err(bad());
    }
    Duration::try_from(sd).map_err(|_| bad())
}
