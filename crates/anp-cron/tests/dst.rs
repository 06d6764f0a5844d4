//! Daylight-saving behaviour, zone by zone, both transitions each.
//!
//! Every expected string was worked out from the zone's tz rules and
//! cross-checked against Python's `zoneinfo` and an independent
//! minute-by-minute simulation of Debian cron's main loop (`cron.c`).

#![allow(clippy::unwrap_used)]

use anp_cron::{format_rfc3339_offset, CronExpr, Tz};
use jiff::Timestamp;

/// The next `n` fire times of `expr` in `zone` strictly after `after`, as
/// RFC 3339 strings with offsets.
fn fires(expr: &str, zone: &str, after: &str, n: usize) -> Vec<String> {
    let expr = CronExpr::parse(expr).unwrap();
    let tz = Tz::parse(zone).unwrap();
    let after: Timestamp = after.parse().unwrap();
    expr.next_n(&tz, after, n)
        .iter()
        .map(format_rfc3339_offset)
        .collect()
}

// ---------------------------------------------------------------- Europe/Berlin
// 2025-03-30 02:00 CET -> 03:00 CEST (01:00Z); 2025-10-26 03:00 CEST -> 02:00 CET (01:00Z).

#[test]
fn berlin_fixed_time_in_the_gap_fires_once_at_the_gap_end() {
    assert_eq!(
        fires("30 2 * * *", "Europe/Berlin", "2025-03-29T12:00:00Z", 3),
        [
            "2025-03-30T03:00:00+02:00",
            "2025-03-31T02:30:00+02:00",
            "2025-04-01T02:30:00+02:00",
        ]
    );
}

#[test]
fn berlin_several_fixed_times_in_the_gap_collapse_to_one_fire() {
    assert_eq!(
        fires("0,30 2 * * *", "Europe/Berlin", "2025-03-29T12:00:00Z", 3),
        [
            "2025-03-30T03:00:00+02:00",
            "2025-03-31T02:00:00+02:00",
            "2025-03-31T02:30:00+02:00",
        ]
    );
    // A range of hours is still fixed-time: 01:30 runs, 02:30 moves to 03:00.
    assert_eq!(
        fires("30 1-2 * * *", "Europe/Berlin", "2025-03-29T12:00:00Z", 4),
        [
            "2025-03-30T01:30:00+01:00",
            "2025-03-30T03:00:00+02:00",
            "2025-03-31T01:30:00+02:00",
            "2025-03-31T02:30:00+02:00",
        ]
    );
}

#[test]
fn berlin_fixed_time_in_the_fold_fires_on_the_first_pass_only() {
    assert_eq!(
        fires("30 2 * * *", "Europe/Berlin", "2025-10-25T12:00:00Z", 2),
        ["2025-10-26T02:30:00+02:00", "2025-10-27T02:30:00+01:00"]
    );
    assert_eq!(
        fires("0,30 2 * * *", "Europe/Berlin", "2025-10-25T12:00:00Z", 3),
        [
            "2025-10-26T02:00:00+02:00",
            "2025-10-26T02:30:00+02:00",
            "2025-10-27T02:00:00+01:00",
        ]
    );
}

#[test]
fn berlin_wildcard_jobs_skip_the_gap_and_run_both_passes_of_the_fold() {
    assert_eq!(
        fires("*/30 * * * *", "Europe/Berlin", "2025-03-30T00:00:00Z", 3),
        [
            "2025-03-30T01:30:00+01:00",
            "2025-03-30T03:00:00+02:00",
            "2025-03-30T03:30:00+02:00",
        ]
    );
    assert_eq!(
        fires("0 * * * *", "Europe/Berlin", "2025-03-29T23:30:00Z", 3),
        [
            "2025-03-30T01:00:00+01:00",
            "2025-03-30T03:00:00+02:00",
            "2025-03-30T04:00:00+02:00",
        ]
    );
    assert_eq!(
        fires("*/30 * * * *", "Europe/Berlin", "2025-10-25T23:45:00Z", 5),
        [
            "2025-10-26T02:00:00+02:00",
            "2025-10-26T02:30:00+02:00",
            "2025-10-26T02:00:00+01:00",
            "2025-10-26T02:30:00+01:00",
            "2025-10-26T03:00:00+01:00",
        ]
    );
    assert_eq!(
        fires("0 * * * *", "Europe/Berlin", "2025-10-25T23:30:00Z", 3),
        [
            "2025-10-26T02:00:00+02:00",
            "2025-10-26T02:00:00+01:00",
            "2025-10-26T03:00:00+01:00",
        ]
    );
}

#[test]
fn berlin_wildcard_minute_with_fixed_hour_follows_the_wall_clock() {
    // `* 2 * * *` is a wildcard job: nothing on the day 02:xx is skipped.
    assert_eq!(
        fires("* 2 * * *", "Europe/Berlin", "2025-03-29T12:00:00Z", 1),
        ["2025-03-31T02:00:00+02:00"]
    );
    // And both passes of the repeated 02:xx.
    let fall: Vec<String> = fires("* 2 * * *", "Europe/Berlin", "2025-10-25T12:00:00Z", 121);
    assert_eq!(fall[0], "2025-10-26T02:00:00+02:00");
    assert_eq!(fall[59], "2025-10-26T02:59:00+02:00");
    assert_eq!(fall[60], "2025-10-26T02:00:00+01:00");
    assert_eq!(fall[119], "2025-10-26T02:59:00+01:00");
    assert_eq!(fall[120], "2025-10-27T02:00:00+01:00");
}

#[test]
fn berlin_seconds_field_across_the_gap() {
    assert_eq!(
        fires("*/20 * * * * *", "Europe/Berlin", "2025-03-30T00:59:00Z", 4),
        [
            "2025-03-30T01:59:20+01:00",
            "2025-03-30T01:59:40+01:00",
            "2025-03-30T03:00:00+02:00",
            "2025-03-30T03:00:20+02:00",
        ]
    );
    // Seconds do not change the class: minute 30 and hour 2 are fixed, so
    // all 02:30:xx seconds collapse into one fire at the gap end.
    assert_eq!(
        fires("15 30 2 * * *", "Europe/Berlin", "2025-03-29T12:00:00Z", 2),
        ["2025-03-30T03:00:00+02:00", "2025-03-31T02:30:15+02:00"]
    );
    assert_eq!(
        fires(
            "*/20 30 2 * * *",
            "Europe/Berlin",
            "2025-03-29T12:00:00Z",
            3
        ),
        [
            "2025-03-30T03:00:00+02:00",
            "2025-03-31T02:30:00+02:00",
            "2025-03-31T02:30:20+02:00",
        ]
    );
    // A wildcard seconds job runs every second of both passes of the fold.
    let fall = fires("* * 2 * * *", "Europe/Berlin", "2025-10-26T00:59:58Z", 4);
    assert_eq!(
        fall,
        [
            "2025-10-26T02:59:59+02:00",
            "2025-10-26T02:00:00+01:00",
            "2025-10-26T02:00:01+01:00",
            "2025-10-26T02:00:02+01:00",
        ]
    );
}

#[test]
fn berlin_copied_forms_in_the_gap_follow_their_first_character() {
    // `5/15` is 5,20,35,50: a fixed-time list, all in the gap, one fire.
    assert_eq!(
        fires("5/15 2 * * *", "Europe/Berlin", "2025-03-29T12:00:00Z", 3),
        [
            "2025-03-30T03:00:00+02:00",
            "2025-03-31T02:05:00+02:00",
            "2025-03-31T02:20:00+02:00",
        ]
    );
    // `5,*` is every minute but does not start with `*`: fixed-time.
    assert_eq!(
        fires("5,* 2 * * *", "Europe/Berlin", "2025-03-29T12:00:00Z", 3),
        [
            "2025-03-30T03:00:00+02:00",
            "2025-03-31T02:00:00+02:00",
            "2025-03-31T02:01:00+02:00",
        ]
    );
    // `*,5` starts with `*`: a wildcard job, nothing for the skipped 02:xx.
    assert_eq!(
        fires("*,5 2 * * *", "Europe/Berlin", "2025-03-29T12:00:00Z", 2),
        ["2025-03-31T02:00:00+02:00", "2025-03-31T02:01:00+02:00"]
    );
}

#[test]
fn berlin_copied_forms_in_the_fold_follow_their_first_character() {
    // Fixed-time `30/15` (02:30, 02:45): first pass only.
    assert_eq!(
        fires("30/15 2 * * *", "Europe/Berlin", "2025-10-25T12:00:00Z", 3),
        [
            "2025-10-26T02:30:00+02:00",
            "2025-10-26T02:45:00+02:00",
            "2025-10-27T02:30:00+01:00",
        ]
    );
    // `*,2` in the hour is a wildcard job: both passes of 02:00.
    assert_eq!(
        fires("0 *,2 * * *", "Europe/Berlin", "2025-10-25T23:30:00Z", 3),
        [
            "2025-10-26T02:00:00+02:00",
            "2025-10-26T02:00:00+01:00",
            "2025-10-26T03:00:00+01:00",
        ]
    );
    // `2,*` is the same hours as a fixed-time job: 02:00 once.
    assert_eq!(
        fires("0 2,* * * *", "Europe/Berlin", "2025-10-25T23:30:00Z", 3),
        [
            "2025-10-26T02:00:00+02:00",
            "2025-10-26T03:00:00+01:00",
            "2025-10-26T04:00:00+01:00",
        ]
    );
}

#[test]
fn strictly_after_holds_inside_a_fold() {
    // After the first-pass 02:30 (CEST), a wildcard job's next is the
    // second-pass 02:30 (CET), the same wall-clock time.
    assert_eq!(
        fires(
            "30 * * * *",
            "Europe/Berlin",
            "2025-10-26T02:30:00+02:00",
            2
        ),
        ["2025-10-26T02:30:00+01:00", "2025-10-26T03:30:00+01:00"]
    );
    // A fixed-time job ran on the first pass; from anywhere in the second
    // pass its next run is the next day.
    assert_eq!(
        fires(
            "30 2 * * *",
            "Europe/Berlin",
            "2025-10-26T02:15:00+01:00",
            1
        ),
        ["2025-10-27T02:30:00+01:00"]
    );
    assert_eq!(
        fires(
            "30 2 * * *",
            "Europe/Berlin",
            "2025-10-26T02:30:00+02:00",
            1
        ),
        ["2025-10-27T02:30:00+01:00"]
    );
    // From just before its first-pass time it is still due.
    assert_eq!(
        fires(
            "30 2 * * *",
            "Europe/Berlin",
            "2025-10-26T02:29:59.5+02:00",
            1
        ),
        ["2025-10-26T02:30:00+02:00"]
    );
}

// ------------------------------------------------------------- America/New_York
// 2025-03-09 02:00 EST -> 03:00 EDT; 2025-11-02 02:00 EDT -> 01:00 EST.

#[test]
fn new_york_gap() {
    assert_eq!(
        fires("30 2 * * *", "America/New_York", "2025-03-08T12:00:00Z", 2),
        ["2025-03-09T03:00:00-04:00", "2025-03-10T02:30:00-04:00"]
    );
    assert_eq!(
        fires(
            "*/15 * * * *",
            "America/New_York",
            "2025-03-09T06:40:00Z",
            3
        ),
        [
            "2025-03-09T01:45:00-05:00",
            "2025-03-09T03:00:00-04:00",
            "2025-03-09T03:15:00-04:00",
        ]
    );
    assert_eq!(
        fires("0 * * * *", "America/New_York", "2025-03-09T05:30:00Z", 3),
        [
            "2025-03-09T01:00:00-05:00",
            "2025-03-09T03:00:00-04:00",
            "2025-03-09T04:00:00-04:00",
        ]
    );
}

#[test]
fn new_york_fold() {
    assert_eq!(
        fires("30 1 * * *", "America/New_York", "2025-11-01T12:00:00Z", 2),
        ["2025-11-02T01:30:00-04:00", "2025-11-03T01:30:00-05:00"]
    );
    // The example from the contract: after the first-pass 01:30 EDT, the next
    // `30 * * * *` is 01:30 EST.
    assert_eq!(
        fires(
            "30 * * * *",
            "America/New_York",
            "2025-11-02T01:30:00-04:00",
            2
        ),
        ["2025-11-02T01:30:00-05:00", "2025-11-02T02:30:00-05:00"]
    );
    assert_eq!(
        fires(
            "*/30 * * * *",
            "America/New_York",
            "2025-11-02T04:45:00Z",
            5
        ),
        [
            "2025-11-02T01:00:00-04:00",
            "2025-11-02T01:30:00-04:00",
            "2025-11-02T01:00:00-05:00",
            "2025-11-02T01:30:00-05:00",
            "2025-11-02T02:00:00-05:00",
        ]
    );
}

// ------------------------------------------------------------- America/Santiago
// Transitions at midnight. 2025-04-06 00:00 -03 -> 2025-04-05 23:00 -04 (the
// Saturday's 23:xx happens twice); 2025-09-07 00:00 -04 -> 01:00 -03 (the
// Sunday's 00:xx never happens).

#[test]
fn santiago_midnight_jobs_are_in_the_gap() {
    assert_eq!(
        fires("0 0 * * *", "America/Santiago", "2025-09-05T12:00:00Z", 3),
        [
            "2025-09-06T00:00:00-04:00",
            "2025-09-07T01:00:00-03:00",
            "2025-09-08T00:00:00-03:00",
        ]
    );
    assert_eq!(
        fires("@midnight", "America/Santiago", "2025-09-06T12:00:00Z", 1),
        ["2025-09-07T01:00:00-03:00"]
    );
    assert_eq!(
        fires(
            "30 0 * * SUN",
            "America/Santiago",
            "2025-09-01T12:00:00Z",
            2
        ),
        ["2025-09-07T01:00:00-03:00", "2025-09-14T00:30:00-03:00"]
    );
    assert_eq!(
        fires(
            "*/30 * * * *",
            "America/Santiago",
            "2025-09-07T03:00:00Z",
            3
        ),
        [
            "2025-09-06T23:30:00-04:00",
            "2025-09-07T01:00:00-03:00",
            "2025-09-07T01:30:00-03:00",
        ]
    );
}

#[test]
fn santiago_fold_repeats_saturday_late_evening() {
    assert_eq!(
        fires("30 23 * * *", "America/Santiago", "2025-04-05T12:00:00Z", 2),
        ["2025-04-05T23:30:00-03:00", "2025-04-06T23:30:00-04:00"]
    );
    assert_eq!(
        fires("0 * * * *", "America/Santiago", "2025-04-06T01:30:00Z", 4),
        [
            "2025-04-05T23:00:00-03:00",
            "2025-04-05T23:00:00-04:00",
            "2025-04-06T00:00:00-04:00",
            "2025-04-06T01:00:00-04:00",
        ]
    );
    // Midnight itself happens once, after the repeated hour.
    assert_eq!(
        fires("0 0 * * *", "America/Santiago", "2025-04-05T12:00:00Z", 2),
        ["2025-04-06T00:00:00-04:00", "2025-04-07T00:00:00-04:00"]
    );
}

// ---------------------------------------------------------- Australia/Lord_Howe
// 30-minute shifts. 2025-04-06 02:00 +11 -> 01:30 +10:30;
// 2025-10-05 02:00 +10:30 -> 02:30 +11.

#[test]
fn lord_howe_half_hour_fold() {
    assert_eq!(
        fires(
            "45 1 * * *",
            "Australia/Lord_Howe",
            "2025-04-05T00:00:00Z",
            2
        ),
        ["2025-04-06T01:45:00+11:00", "2025-04-07T01:45:00+10:30"]
    );
    assert_eq!(
        fires(
            "*/15 * * * *",
            "Australia/Lord_Howe",
            "2025-04-05T14:20:00Z",
            5
        ),
        [
            "2025-04-06T01:30:00+11:00",
            "2025-04-06T01:45:00+11:00",
            "2025-04-06T01:30:00+10:30",
            "2025-04-06T01:45:00+10:30",
            "2025-04-06T02:00:00+10:30",
        ]
    );
    // 01:15 happens once; only 01:30-01:59 repeats.
    assert_eq!(
        fires(
            "15 1 * * *",
            "Australia/Lord_Howe",
            "2025-04-05T00:00:00Z",
            2
        ),
        ["2025-04-06T01:15:00+11:00", "2025-04-07T01:15:00+10:30"]
    );
}

#[test]
fn lord_howe_half_hour_gap() {
    assert_eq!(
        fires(
            "15 2 * * *",
            "Australia/Lord_Howe",
            "2025-10-04T00:00:00Z",
            2
        ),
        ["2025-10-05T02:30:00+11:00", "2025-10-06T02:15:00+11:00"]
    );
    // 02:00 and 02:15 are skipped, 02:30 exists: one fire at 02:30.
    assert_eq!(
        fires(
            "0,15,30 2 * * *",
            "Australia/Lord_Howe",
            "2025-10-04T00:00:00Z",
            2
        ),
        ["2025-10-05T02:30:00+11:00", "2025-10-06T02:00:00+11:00"]
    );
    assert_eq!(
        fires(
            "*/15 * * * *",
            "Australia/Lord_Howe",
            "2025-10-04T15:10:00Z",
            3
        ),
        [
            "2025-10-05T01:45:00+10:30",
            "2025-10-05T02:30:00+11:00",
            "2025-10-05T02:45:00+11:00",
        ]
    );
}

// ------------------------------------------------------------- Australia/Sydney
// Southern hemisphere. 2025-04-06 03:00 AEDT -> 02:00 AEST;
// 2025-10-05 02:00 AEST -> 03:00 AEDT.

#[test]
fn sydney_fold_in_april() {
    assert_eq!(
        fires("30 2 * * *", "Australia/Sydney", "2025-04-05T00:00:00Z", 2),
        ["2025-04-06T02:30:00+11:00", "2025-04-07T02:30:00+10:00"]
    );
    assert_eq!(
        fires(
            "*/30 * * * *",
            "Australia/Sydney",
            "2025-04-05T14:45:00Z",
            5
        ),
        [
            "2025-04-06T02:00:00+11:00",
            "2025-04-06T02:30:00+11:00",
            "2025-04-06T02:00:00+10:00",
            "2025-04-06T02:30:00+10:00",
            "2025-04-06T03:00:00+10:00",
        ]
    );
}

#[test]
fn sydney_gap_in_october() {
    assert_eq!(
        fires("30 2 * * *", "Australia/Sydney", "2025-10-04T00:00:00Z", 2),
        ["2025-10-05T03:00:00+11:00", "2025-10-06T02:30:00+11:00"]
    );
    assert_eq!(
        fires("0 * * * *", "Australia/Sydney", "2025-10-04T14:30:00Z", 3),
        [
            "2025-10-05T01:00:00+10:00",
            "2025-10-05T03:00:00+11:00",
            "2025-10-05T04:00:00+11:00",
        ]
    );
}

// ---------------------------------------------- America/Havana and Asia/Beirut
// Havana: 2025-03-09 00:00 -05 -> 01:00 -04; 2025-11-02 01:00 -04 -> 00:00 -05.
// Beirut: 2025-03-30 00:00 +02 -> 01:00 +03; 2025-10-26 00:00 +03 -> 2025-10-25 23:00 +02.

#[test]
fn havana_midnight_transitions() {
    assert_eq!(
        fires("0 0 * * *", "America/Havana", "2025-03-08T12:00:00Z", 2),
        ["2025-03-09T01:00:00-04:00", "2025-03-10T00:00:00-04:00"]
    );
    assert_eq!(
        fires("30 0 * * *", "America/Havana", "2025-11-01T12:00:00Z", 2),
        ["2025-11-02T00:30:00-04:00", "2025-11-03T00:30:00-05:00"]
    );
    assert_eq!(
        fires("30 * * * *", "America/Havana", "2025-11-02T04:00:00Z", 3),
        [
            "2025-11-02T00:30:00-04:00",
            "2025-11-02T00:30:00-05:00",
            "2025-11-02T01:30:00-05:00",
        ]
    );
}

#[test]
fn beirut_midnight_transitions() {
    assert_eq!(
        fires("0 0 * * *", "Asia/Beirut", "2025-03-29T12:00:00Z", 2),
        ["2025-03-30T01:00:00+03:00", "2025-03-31T00:00:00+03:00"]
    );
    assert_eq!(
        fires("30 23 * * *", "Asia/Beirut", "2025-10-25T12:00:00Z", 2),
        ["2025-10-25T23:30:00+03:00", "2025-10-26T23:30:00+02:00"]
    );
    assert_eq!(
        fires("0 * * * *", "Asia/Beirut", "2025-10-25T19:30:00Z", 3),
        [
            "2025-10-25T23:00:00+03:00",
            "2025-10-25T23:00:00+02:00",
            "2025-10-26T00:00:00+02:00",
        ]
    );
}

// ------------------------------------------------------ clock corrections (>= 3 h)
// man 8 cron: "Clock changes of more than 3 hours are considered to be
// corrections to the clock, and the new time is used immediately."

#[test]
fn apia_skipped_day_is_a_correction() {
    // 2011-12-29 24:00 -10:00 -> 2011-12-31 00:00 +14:00: Samoa skipped 30
    // December. A 24-hour jump is not daylight saving: nothing runs for it.
    assert_eq!(
        fires("0 12 * * *", "Pacific/Apia", "2011-12-28T12:00:00Z", 3),
        [
            "2011-12-28T12:00:00-10:00",
            "2011-12-29T12:00:00-10:00",
            "2011-12-31T12:00:00+14:00",
        ]
    );
}

#[test]
fn kwajalein_repeated_day_is_a_correction() {
    // 1969-09-30 24:00 +11:00 -> 1969-09-30 01:00 -12:00: 23 hours of
    // 30 September happen twice; a correction, so fixed-time jobs run again.
    assert_eq!(
        fires("0 12 * * *", "Pacific/Kwajalein", "1969-09-29T12:00:00Z", 3),
        [
            "1969-09-30T12:00:00+11:00",
            "1969-09-30T12:00:00-12:00",
            "1969-10-01T12:00:00-12:00",
        ]
    );
}

#[test]
fn casey_three_hour_changes() {
    // 2018-10-07 04:00 +08 -> 07:00 +11: a 3-hour jump forward is a
    // correction (Debian's threshold is "more than 3 hours" of clock minutes
    // once the minute that passes is counted): 05:00 is lost.
    assert_eq!(
        fires("0 5 * * *", "Antarctica/Casey", "2018-10-05T12:00:00Z", 2),
        ["2018-10-06T05:00:00+08:00", "2018-10-08T05:00:00+11:00"]
    );
    // 2018-03-11 04:00 +11 -> 01:00 +08: a 3-hour fold is still treated as
    // daylight saving, so the fixed-time job runs on the first pass only.
    assert_eq!(
        fires("30 2 * * *", "Antarctica/Casey", "2018-03-10T00:00:00Z", 2),
        ["2018-03-11T02:30:00+11:00", "2018-03-12T02:30:00+08:00"]
    );
    // Wildcard jobs run on both passes.
    assert_eq!(
        fires("30 * * * *", "Antarctica/Casey", "2018-03-10T16:45:00Z", 4),
        [
            "2018-03-11T01:30:00+08:00",
            "2018-03-11T02:30:00+08:00",
            "2018-03-11T03:30:00+08:00",
            "2018-03-11T04:30:00+08:00",
        ]
    );
}

#[test]
fn troll_two_hour_daylight_saving() {
    // Antarctica/Troll: +00 -> +02 on 2025-03-30 at 01:00 UTC; back on
    // 2025-10-26 at 01:00 UTC. Two-hour shifts are still daylight saving.
    assert_eq!(
        fires("30 2 * * *", "Antarctica/Troll", "2025-03-29T12:00:00Z", 2),
        ["2025-03-30T03:00:00+02:00", "2025-03-31T02:30:00+02:00"]
    );
    assert_eq!(
        fires("30 1 * * *", "Antarctica/Troll", "2025-10-25T12:00:00Z", 2),
        ["2025-10-26T01:30:00+02:00", "2025-10-27T01:30:00+00:00"]
    );
}

// ------------------------------------------------------------------ catch-up

#[test]
fn fires_between_counts_a_gap_fire_once_and_both_fold_passes() {
    let tz = Tz::parse("Europe/Berlin").unwrap();
    let fixed = CronExpr::parse("0,15,30,45 2 * * *").unwrap();
    let after: Timestamp = "2025-03-29T12:00:00Z".parse().unwrap();
    let until: Timestamp = "2025-03-30T12:00:00Z".parse().unwrap();
    let got: Vec<String> = fixed
        .fires_between(&tz, after, until, 100)
        .iter()
        .map(|t| t.to_string())
        .collect();
    assert_eq!(got, ["2025-03-30T01:00:00Z"]);

    let wildcard = CronExpr::parse("0 * * * *").unwrap();
    let after: Timestamp = "2025-10-25T22:30:00Z".parse().unwrap();
    let until: Timestamp = "2025-10-26T02:00:00Z".parse().unwrap();
    let got: Vec<String> = wildcard
        .fires_between(&tz, after, until, 100)
        .iter()
        .map(|t| t.to_string())
        .collect();
    // 01:00, 02:00 CEST, 02:00 CET, 03:00 CET (inclusive end).
    assert_eq!(
        got,
        [
            "2025-10-25T23:00:00Z",
            "2025-10-26T00:00:00Z",
            "2025-10-26T01:00:00Z",
            "2025-10-26T02:00:00Z",
        ]
    );
    assert_eq!(wildcard.fires_between(&tz, after, until, 2).len(), 2);
}
