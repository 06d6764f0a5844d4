//! Our jiff 1 adapter for croner.
//!
//! croner searches over any type that implements its public
//! [`CronDateTime`] trait; it ships an implementation for jiff 0.2 only. This
//! newtype wraps a jiff 1 *civil* date-time, so croner answers the one question
//! it is good at — "which wall-clock second is the next one that matches the
//! pattern?" — and never sees a time zone. Gaps, folds and the Debian rules
//! for them are applied by the caller (`schedule.rs`), where the
//! fixed-time/wildcard class comes from the field text.

use std::cmp::Ordering;

use croner::errors::CronError as CronerError;
use croner::{CivilDate, CivilDateTime, CivilTime, Cron, CronDateTime, Resolution, Weekday};
use jiff::civil::DateTime;
use jiff::SignedDuration;

/// A wall-clock date-time with whole seconds, as croner sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Civil(pub(crate) DateTime);

impl CronDateTime for Civil {
    fn to_civil(&self) -> CivilDateTime {
        let dt = self.0;
        // jiff keeps every part in range, so the unchecked constructors hold.
        CivilDateTime::new(
            CivilDate::from_parts_unchecked(
                i32::from(dt.year()),
                dt.month().unsigned_abs().into(),
                dt.day().unsigned_abs().into(),
            ),
            CivilTime::from_parts_unchecked(
                dt.hour().unsigned_abs().into(),
                dt.minute().unsigned_abs().into(),
                dt.second().unsigned_abs().into(),
            ),
        )
    }

    fn civil_weekday(&self) -> Weekday {
        Weekday::from_days_from_sunday(
            self.0
                .weekday()
                .to_sunday_zero_offset()
                .unsigned_abs()
                .into(),
        )
    }

    fn resolve_civil(&self, civil: CivilDateTime) -> Result<Resolution<Self>, CronerError> {
        // A civil date-time has no zone: every wall-clock time exists once.
        let year = i16::try_from(civil.year()).map_err(|_| CronerError::InvalidDate)?;
        let part = |v: u32| i8::try_from(v).map_err(|_| CronerError::InvalidDate);
        let dt = DateTime::new(
            year,
            part(civil.month())?,
            part(civil.day())?,
            part(civil.hour())?,
            part(civil.minute())?,
            part(civil.second())?,
            0,
        )
        .map_err(|_| CronerError::InvalidDate)?;
        Ok(Resolution::Single(Civil(dt)))
    }

    fn checked_add_seconds(&self, seconds: i64) -> Option<Self> {
        self.0
            .checked_add(SignedDuration::from_secs(seconds))
            .ok()
            .map(Civil)
    }

    fn cmp_instant(&self, other: &Self) -> Ordering {
        self.0.cmp(&other.0)
    }
}

/// The next matching wall-clock second at or after `from`, remembering the
/// last answer: the schedule asks again from a later point of the same stretch
/// of wall-clock time, and the answer only changes once `from` passes it.
#[derive(Debug)]
pub(crate) struct Matcher<'a> {
    cron: &'a Cron,
    /// (query, answer): no match lies in `[query, answer)`.
    last: Option<(DateTime, Option<DateTime>)>,
}

impl<'a> Matcher<'a> {
    pub(crate) fn new(cron: &'a Cron) -> Matcher<'a> {
        Matcher { cron, last: None }
    }

    /// The first wall-clock second at or after `from` (whole seconds) that
    /// matches, or `None` when croner finds none before its year limit.
    pub(crate) fn at_or_after(&mut self, from: DateTime) -> Option<DateTime> {
        if let Some((query, answer)) = self.last {
            match answer {
                Some(answer) if query <= from && from <= answer => return Some(answer),
                None if query <= from => return None,
                _ => {}
            }
        }
        let answer = self
            .cron
            .find_next_occurrence(&Civil(from), true)
            .ok()
            .map(|c| c.0);
        self.last = Some((from, answer));
        answer
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::str::FromStr as _;

    use jiff::civil::date;

    use super::*;

    #[test]
    fn croner_walks_our_civil_type() {
        let cron = Cron::from_str("0 30 2 * * *").unwrap();
        let from = Civil(date(2025, 3, 30).at(1, 0, 0, 0));
        let next = cron.find_next_occurrence(&from, false).unwrap();
        // No zone, so 02:30 exists even on a day it is skipped somewhere.
        assert_eq!(next.0, date(2025, 3, 30).at(2, 30, 0, 0));
        assert_eq!(
            from.civil_weekday(),
            Weekday::Sunday,
            "2025-03-30 is a Sunday"
        );
    }

    #[test]
    fn matcher_reuses_an_answer_only_inside_its_window() {
        let cron = Cron::from_str("0 0 12 * * *").unwrap();
        let mut m = Matcher::new(&cron);
        let noon = date(2025, 1, 1).at(12, 0, 0, 0);
        assert_eq!(m.at_or_after(date(2025, 1, 1).at(0, 0, 0, 0)), Some(noon));
        assert_eq!(m.at_or_after(date(2025, 1, 1).at(11, 0, 0, 0)), Some(noon));
        assert_eq!(m.at_or_after(noon), Some(noon));
        let next = date(2025, 1, 2).at(12, 0, 0, 0);
        assert_eq!(m.at_or_after(date(2025, 1, 1).at(12, 0, 1, 0)), Some(next));
        // Going back recomputes.
        assert_eq!(
            m.at_or_after(date(2024, 12, 31).at(11, 0, 0, 0)),
            Some(date(2024, 12, 31).at(12, 0, 0, 0))
        );
    }
}
