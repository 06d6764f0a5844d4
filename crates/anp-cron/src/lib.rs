//! Cron expressions and their fire times in IANA time zones, with the
//! daylight-saving behaviour of Debian's (Vixie) cron.
//!
//! ```
//! use anp_cron::{format_rfc3339_offset, CronExpr, Tz};
//!
//! let expr = CronExpr::parse("30 2 * * *")?;
//! let tz = Tz::parse("Europe/Berlin")?;
//! // 2025-03-30: clocks skip 02:00-03:00, so the 02:30 job runs once, at 03:00.
//! let after: jiff::Timestamp = "2025-03-29T12:00:00Z".parse().unwrap();
//! let fires: Vec<String> = expr
//!     .next_n(&tz, after, 2)
//!     .iter()
//!     .map(format_rfc3339_offset)
//!     .collect();
//! assert_eq!(fires, ["2025-03-30T03:00:00+02:00", "2025-03-31T02:30:00+02:00"]);
//! # Ok::<(), anp_cron::CronError>(())
//! ```
//!
//! # Rules
//!
//! * Syntax: 5 fields (`minute hour day-of-month month day-of-week`), or 6
//!   with a leading seconds field; names (`JAN`, `MON`, any case); ranges,
//!   steps, lists; `?` for a whole day field; `L`, `LW`, `nW` in
//!   day-of-month; `nL`, `n#k` in day-of-week; Sunday is 0 and 7; macros
//!   `@yearly`, `@annually`, `@monthly`, `@weekly`, `@daily`, `@midnight`,
//!   `@hourly` (`@reboot` is rejected). Two forms from other crons: `*`
//!   inside a list is the whole range (`*,1`, as in Vixie cron), and a step
//!   on a single value runs to the end of the field (`5/15` = `5-59/15`, as
//!   in Quartz and robfig/cron; day of week ends at 6, Saturday).
//! * Day of month and day of week: if either field starts with `*` (or is
//!   `?`) a day must match both; only when both are restricted does either
//!   suffice.
//! * A job is *fixed-time* when neither its minute nor its hour field starts
//!   with `*`; otherwise it is a *wildcard* job. Only the first character
//!   counts: `1,* 2 * * *` and `5/15 2 * * *` are fixed-time, `*,1 2 * * *`
//!   is a wildcard job.
//! * Skipped local time (clocks forward by less than 3 hours): a fixed-time job
//!   due in the gap runs once at the first instant after the gap, however many
//!   of its times fell in the gap; a wildcard job does not run for skipped
//!   times.
//! * Repeated local time (clocks back by 3 hours or less): a fixed-time job
//!   runs on the first pass only; a wildcard job runs on both passes.
//! * Larger changes (forward by 3 hours or more, back by more than 3 hours)
//!   are clock corrections: skipped times are lost and repeated times run
//!   again, for both kinds of job. These limits are those of Debian's
//!   `cron.c`.
//!
//! `docs/cron-dst.md` in the repository has worked examples.

mod adapter;
mod error;
mod schedule;
mod syntax;

use std::fmt;
use std::str::FromStr;

use jiff::tz::{Offset, TimeZone};
use jiff::{Timestamp, ZonedDateTime};

pub use crate::error::{CronError, CronField};

/// A parsed cron expression.
///
/// Parse with [`CronExpr::parse`] (or `str::parse`); ask for fire times with
/// [`CronExpr::next_after`], [`CronExpr::next_n`] and
/// [`CronExpr::fires_between`].
#[derive(Debug, Clone)]
pub struct CronExpr {
    /// The text as given (trimmed).
    text: String,
    /// The pattern croner matches wall-clock seconds against.
    cron: croner::Cron,
    fixed_time: bool,
    has_seconds: bool,
    /// Whether any date at all matches the day and month fields (`30 2` of
    /// February never does).
    matches_some_date: bool,
}

impl CronExpr {
    /// Parse; `s` is 5 or 6 fields or a macro.
    ///
    /// # Errors
    ///
    /// [`CronError::Field`] naming the field, the bad value and what the field
    /// accepts, or [`CronError::Expression`] for a wrong number of fields or an
    /// unknown or unsupported macro (`@reboot`).
    pub fn parse(s: &str) -> Result<CronExpr, CronError> {
        let text = s.trim();
        let checked = syntax::check(text)?;
        let cron = croner::parser::CronParser::builder()
            .seconds(croner::parser::Seconds::Optional)
            .year(croner::parser::Year::Disallowed)
            .build()
            .parse(&checked.croner_text)
            .map_err(|e| CronError::Expression {
                expr: text.to_owned(),
                problem: format!("rejected by the pattern matcher ({e})"),
                expected: "a 5- or 6-field cron expression".to_owned(),
            })?;
        let matches_some_date = matches_some_date(&cron.pattern);
        if !matches_some_date {
            // A schedule that can never fire is a mistake, not a schedule: refuse it here like
            // any other invalid expression, so a config or `anp cron next` says so at once.
            return Err(CronError::Expression {
                expr: text.to_owned(),
                problem: "matches no date: no chosen month has such a day (e.g. 30 or 31 \
                          February, 31 April)"
                    .to_owned(),
                expected: "a day of the month that exists in at least one of the chosen months"
                    .to_owned(),
            });
        }
        Ok(CronExpr {
            text: text.to_owned(),
            cron,
            fixed_time: checked.fixed_time,
            has_seconds: checked.has_seconds,
            matches_some_date,
        })
    }

    /// The expression as given (without surrounding whitespace).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// true when minute and hour fields are both fixed (no leading `*`), the
    /// Debian "fixed-time" class.
    ///
    /// Fixed-time jobs due in skipped local time run once right after the
    /// change, and run only on the first pass through repeated local time.
    /// Macros count as what they expand to: `@hourly` (`0 * * * *`) is a
    /// wildcard job, the others are fixed-time.
    pub fn is_fixed_time(&self) -> bool {
        self.fixed_time
    }

    /// Whether the expression was written with a leading seconds field.
    pub fn has_seconds(&self) -> bool {
        self.has_seconds
    }

    /// The first fire instant strictly after `after`, in zone `tz`.
    ///
    /// `None` when the expression never fires again: its dates never occur
    /// (`0 0 30 2 *`), or it has no fire within 400 years (a full Gregorian
    /// cycle — e.g. a wildcard job whose only times are always skipped), or
    /// the next one would be past year 4999.
    pub fn next_after(&self, tz: &Tz, after: Timestamp) -> Option<ZonedDateTime> {
        self.next_timestamp_after(tz, after)
            .map(|at| at.to_zoned_datetime(tz.zone.clone()))
    }

    /// Like [`CronExpr::next_after`], as a bare instant.
    pub fn next_timestamp_after(&self, tz: &Tz, after: Timestamp) -> Option<Timestamp> {
        if !self.matches_some_date {
            return None;
        }
        schedule::next_fire(&self.cron, self.fixed_time, &tz.zone, after)
    }

    /// Convenience: up to n successive fire instants strictly after `after`.
    pub fn next_n(&self, tz: &Tz, after: Timestamp, n: usize) -> Vec<ZonedDateTime> {
        self.fire_times(tz, after)
            .take(n)
            .map(|at| at.to_zoned_datetime(tz.zone.clone()))
            .collect()
    }

    /// All fire instants in (after, until], bounded by `limit` — used by the
    /// scheduler for catch-up.
    ///
    /// At most `limit` instants are returned, the earliest ones; empty when
    /// `until <= after`.
    pub fn fires_between(
        &self,
        tz: &Tz,
        after: Timestamp,
        until: Timestamp,
        limit: usize,
    ) -> Vec<Timestamp> {
        self.fire_times(tz, after)
            .take_while(|at| *at <= until)
            .take(limit)
            .collect()
    }

    /// All fire instants strictly after `after`, in order, as an iterator.
    pub fn fire_times<'a>(&'a self, tz: &'a Tz, after: Timestamp) -> FireTimes<'a> {
        FireTimes {
            expr: self,
            tz,
            after: Some(after),
        }
    }
}

impl FromStr for CronExpr {
    type Err = CronError;

    fn from_str(s: &str) -> Result<CronExpr, CronError> {
        CronExpr::parse(s)
    }
}

impl fmt::Display for CronExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl PartialEq for CronExpr {
    /// Two expressions are equal when their text is.
    fn eq(&self, other: &CronExpr) -> bool {
        self.text == other.text
    }
}

impl Eq for CronExpr {}

/// Fire instants of a [`CronExpr`] in a [`Tz`], in order; from
/// [`CronExpr::fire_times`].
#[derive(Debug, Clone)]
pub struct FireTimes<'a> {
    expr: &'a CronExpr,
    tz: &'a Tz,
    /// The last instant returned (or the start); `None` once exhausted.
    after: Option<Timestamp>,
}

impl Iterator for FireTimes<'_> {
    type Item = Timestamp;

    fn next(&mut self) -> Option<Timestamp> {
        let next = self.expr.next_timestamp_after(self.tz, self.after?);
        self.after = next;
        next
    }
}

/// An IANA time zone: jiff's [`TimeZone`] together with its name.
#[derive(Debug, Clone)]
pub struct Tz {
    name: String,
    zone: TimeZone,
}

impl Tz {
    /// Looks up an IANA time zone name such as `Europe/Berlin` (any case).
    ///
    /// The system tz database (`/usr/share/zoneinfo`) is used when there is
    /// one; otherwise the copy built into the binary.
    ///
    /// # Errors
    ///
    /// [`CronError::UnknownTimeZone`] when the name is not in the database.
    pub fn parse(name: &str) -> Result<Tz, CronError> {
        let unknown = || CronError::UnknownTimeZone {
            name: name.to_owned(),
        };
        // Names are bare identifiers. `localtime` and `posixrules` are files
        // some systems keep beside the database, not zone names: they differ
        // from machine to machine.
        if name.is_empty()
            || name.starts_with('/')
            || name.contains(char::is_whitespace)
            || name.eq_ignore_ascii_case("localtime")
            || name.eq_ignore_ascii_case("posixrules")
        {
            return Err(unknown());
        }
        let zone = TimeZone::get(name).map_err(|_| unknown())?;
        let name = zone.iana_name().unwrap_or(name).to_owned();
        Ok(Tz { name, zone })
    }

    /// UTC.
    pub fn utc() -> Tz {
        Tz {
            name: "UTC".to_owned(),
            zone: TimeZone::UTC,
        }
    }

    /// The zone's IANA name, in the database's spelling (`America/New_York`
    /// even if parsed from `america/new_york`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The jiff time zone.
    pub fn zone(&self) -> &TimeZone {
        &self.zone
    }
}

impl FromStr for Tz {
    type Err = CronError;

    fn from_str(s: &str) -> Result<Tz, CronError> {
        Tz::parse(s)
    }
}

impl fmt::Display for Tz {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

impl PartialEq for Tz {
    /// Two zones are equal when their names are.
    fn eq(&self, other: &Tz) -> bool {
        self.name == other.name
    }
}

impl Eq for Tz {}

/// Format an instant as RFC 3339 with seconds and the zone's UTC offset at
/// that instant, e.g. `2025-03-09T03:00:00-04:00` (UTC prints `+00:00`, not
/// `Z`).
///
/// Fractions of a second are dropped. RFC 3339 offsets have no seconds, so
/// the few historical offsets that do (local mean time before ~1900) are
/// truncated to the minute and the local time is shifted to match: the
/// string always names the same instant.
pub fn format_rfc3339_offset(z: &ZonedDateTime) -> String {
    let seconds = z.offset().seconds();
    let shown = Offset::from_seconds(seconds - seconds % 60).unwrap_or(Offset::UTC);
    let dt = shown.to_datetime(z.timestamp());
    let minutes = shown.seconds() / 60;
    let sign = if minutes < 0 { '-' } else { '+' };
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{}{:02}:{:02}",
        dt.year(),
        dt.month(),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second(),
        sign,
        minutes.abs() / 60,
        minutes.abs() % 60,
    )
}

/// Whether some date matches the day and month fields: every month, for each
/// length it can have and each weekday it can start on, is tried. These
/// combinations are all there is to a date pattern, and each one recurs within
/// a 400-year Gregorian cycle.
fn matches_some_date(pattern: &croner::CronPattern) -> bool {
    for month in 1..=12u32 {
        if !pattern.month_match(month).unwrap_or(false) {
            continue;
        }
        // 2023 is a common year and 2024 a leap year; only February differs.
        let years: &[i32] = if month == 2 { &[2023, 2024] } else { &[2023] };
        for &year in years {
            let length = croner::time::days_in_month(year, month);
            for first_weekday in 0..7u32 {
                for day in 1..=length {
                    let weekday = croner::Weekday::from_days_from_sunday(first_weekday + day - 1);
                    if pattern
                        .day_match(year, month, day, weekday)
                        .unwrap_or(false)
                    {
                        return true;
                    }
                }
            }
        }
    }
    false
}
