//! Fire-time search in a time zone, with Debian (Vixie) cron's rules for
//! clock changes.
//!
//! The time line of a zone is a run of *segments*, each with one UTC offset,
//! separated by the zone's transitions. Inside a segment wall-clock time and
//! instants move together, so the first matching wall-clock second of the
//! segment (found by croner over civil time) is its first fire. At a
//! transition:
//!
//! * forward by less than 3 hours (a DST gap): a fixed-time job with any match
//!   in the skipped wall-clock stretch fires once, at the transition itself
//!   (the first instant after the gap); a wildcard job skips it;
//! * back by 3 hours or less (a DST fold): the next segment re-covers a
//!   stretch of wall-clock time. A wildcard job fires there again; a
//!   fixed-time job does not (it ran on the first pass);
//! * larger (forward by 3 hours or more, back by more than 3 hours): a clock
//!   correction, "the new time is used immediately": skipped times are lost
//!   and repeated times fire again, for both classes.
//!
//! The limits are Debian's `cron.c`: it compares its virtual minute with the
//! new clock minute, one minute on, against +/-180, so a 3-hour jump forward
//! counts as 181 (a correction) and a 3-hour jump back as -179 (DST).
//!
//! Segments are visited in time order, so the first fire found is the
//! earliest one after the start.

use jiff::civil::DateTime;
use jiff::tz::{AmbiguousOffset, Offset, TimeZone};
use jiff::{SignedDuration, Timestamp};

use crate::adapter::Matcher;

/// The size of clock change at which daylight-saving rules stop: forward
/// changes of this size or more, and backward changes larger than it, are
/// corrections (`man 8 cron`: "Clock changes of more than 3 hours are
/// considered to be corrections to the clock").
pub(crate) const CORRECTION_SECONDS: i32 = 3 * 3600;

/// How far ahead a search looks: 400 years, one full cycle of the Gregorian
/// calendar (weekdays included). A date pattern that matches at all matches
/// within one cycle, so `None` means the job will never fire again — or only
/// on wall-clock times that are always skipped.
pub(crate) const HORIZON: SignedDuration = SignedDuration::from_hours(400 * 8766);

const ONE_SECOND: SignedDuration = SignedDuration::from_secs(1);

/// The first fire instant strictly after `after`.
pub(crate) fn next_fire(
    cron: &croner::Cron,
    fixed_time: bool,
    tz: &TimeZone,
    after: Timestamp,
) -> Option<Timestamp> {
    let horizon = after.saturating_add(HORIZON).ok()?;
    let mut matcher = Matcher::new(cron);

    // The segment holding `after`; its wall-clock seconds after `after`.
    let mut offset = tz.to_offset(after);
    let mut change = next_transition(tz, after);
    let mut from = whole_second(offset.to_datetime(after))
        .checked_add(ONE_SECOND)
        .ok()?;

    loop {
        // Wall-clock end of this segment (exclusive), if it ends.
        let end = change.map(|(at, _)| offset.to_datetime(at));
        let mut candidate = matcher.at_or_after(from)?;
        while end.is_none_or(|end| candidate < end) {
            let at = offset.to_timestamp(candidate).ok()?;
            if at > horizon {
                return None;
            }
            if !(fixed_time && is_second_pass(tz, candidate, offset)) {
                return Some(at);
            }
            candidate = matcher.at_or_after(candidate.checked_add(ONE_SECOND).ok()?)?;
        }

        let (at, new_offset) = change?;
        if at > horizon {
            return None;
        }
        let shift = new_offset.seconds() - offset.seconds();
        if fixed_time && shift > 0 && shift < CORRECTION_SECONDS {
            // A DST gap: wall-clock [gap_start, gap_end) never happens.
            let gap_start = offset.to_datetime(at);
            let gap_end = new_offset.to_datetime(at);
            if matcher.at_or_after(gap_start)? < gap_end {
                return Some(at);
            }
        }
        offset = new_offset;
        change = next_transition(tz, at);
        from = new_offset.to_datetime(at);
    }
}

/// Whether `civil`, read with `offset`, is the second pass through a wall-clock
/// stretch that a DST fold (under 3 hours) repeats.
fn is_second_pass(tz: &TimeZone, civil: DateTime, offset: Offset) -> bool {
    match tz.to_ambiguous_timestamp(civil).offset() {
        AmbiguousOffset::Fold { before, after } => {
            after == offset && before.seconds() - after.seconds() <= CORRECTION_SECONDS
        }
        AmbiguousOffset::Unambiguous { .. } | AmbiguousOffset::Gap { .. } => false,
    }
}

/// The zone's first transition strictly after `at`: its instant and the
/// offset from then on.
fn next_transition(tz: &TimeZone, at: Timestamp) -> Option<(Timestamp, Offset)> {
    tz.following(at)
        .next()
        .map(|transition| (transition.timestamp(), transition.offset()))
}

/// `dt` without its fraction of a second.
fn whole_second(dt: DateTime) -> DateTime {
    dt.checked_sub(SignedDuration::from_nanos(i64::from(
        dt.subsec_nanosecond(),
    )))
    .unwrap_or(dt)
}
