//! Syntax: fields, names, macros, the L/W/# extensions, the day-of-month /
//! day-of-week rule, and error messages.
//!
//! Expected dates were computed with Python's `calendar` module and, for the
//! forms it supports, checked against the `croniter` package.

#![allow(clippy::unwrap_used)]

use anp_cron::{format_rfc3339_offset, CronError, CronExpr, CronField, Tz};
use jiff::Timestamp;

fn fires(expr: &str, after: &str, n: usize) -> Vec<String> {
    let expr = CronExpr::parse(expr).unwrap();
    let after: Timestamp = after.parse().unwrap();
    expr.next_n(&Tz::utc(), after, n)
        .iter()
        .map(format_rfc3339_offset)
        .collect()
}

/// Just the dates (YYYY-MM-DD) of the next `n` fires in UTC.
fn dates(expr: &str, after: &str, n: usize) -> Vec<String> {
    fires(expr, after, n)
        .into_iter()
        .map(|s| s[..10].to_owned())
        .collect()
}

fn error(expr: &str) -> String {
    CronExpr::parse(expr).unwrap_err().to_string()
}

const NEW_YEAR_2025: &str = "2025-01-01T00:00:00Z";

// ------------------------------------------------------------- extensions

#[test]
fn last_day_of_month() {
    assert_eq!(
        dates("0 0 L * *", NEW_YEAR_2025, 4),
        ["2025-01-31", "2025-02-28", "2025-03-31", "2025-04-30"]
    );
    assert_eq!(
        dates("0 0 L 2 *", "2024-01-01T00:00:00Z", 2),
        ["2024-02-29", "2025-02-28"]
    );
}

#[test]
fn nearest_weekday() {
    // 15 Feb and 15 Mar 2025 are Saturdays (-> Friday 14th), 15 Jun 2025 is a
    // Sunday (-> Monday 16th), 15 Nov 2025 is a Saturday (-> 14th).
    assert_eq!(
        dates("0 0 15W * *", NEW_YEAR_2025, 6),
        [
            "2025-01-15",
            "2025-02-14",
            "2025-03-14",
            "2025-04-15",
            "2025-05-15",
            "2025-06-16",
        ]
    );
    // 1W never leaves the month: Saturday 1 Nov 2025 -> Monday 3 Nov.
    assert_eq!(
        dates("0 0 1W * *", "2025-10-01T00:00:00Z", 2),
        ["2025-11-03", "2025-12-01"]
    );
    // nW only runs in months that have day n: 31W skips 30-day months and
    // February; Sunday 31 Aug 2025 -> Friday 29th.
    assert_eq!(
        dates("0 0 31W * *", "2025-04-01T00:00:00Z", 3),
        ["2025-05-30", "2025-07-31", "2025-08-29"]
    );
}

#[test]
fn last_weekday_of_month() {
    assert_eq!(
        dates("0 0 LW * *", NEW_YEAR_2025, 6),
        [
            "2025-01-31",
            "2025-02-28",
            "2025-03-31",
            "2025-04-30",
            "2025-05-30",
            "2025-06-30",
        ]
    );
}

#[test]
fn last_given_weekday_of_month() {
    let last_fridays = [
        "2025-01-31",
        "2025-02-28",
        "2025-03-28",
        "2025-04-25",
        "2025-05-30",
        "2025-06-27",
    ];
    assert_eq!(dates("0 0 * * 5L", NEW_YEAR_2025, 6), last_fridays);
    assert_eq!(dates("0 0 * * FRIL", NEW_YEAR_2025, 6), last_fridays);
    assert_eq!(dates("0 0 * * fril", NEW_YEAR_2025, 6), last_fridays);
}

#[test]
fn nth_weekday_of_month() {
    let third_fridays = ["2025-01-17", "2025-02-21", "2025-03-21", "2025-04-18"];
    assert_eq!(dates("0 0 * * 5#3", NEW_YEAR_2025, 4), third_fridays);
    assert_eq!(dates("0 0 * * FRI#3", NEW_YEAR_2025, 4), third_fridays);
    // Sunday as 7 works with # and L too.
    assert_eq!(
        dates("0 0 * * 7#1", NEW_YEAR_2025, 2),
        ["2025-01-05", "2025-02-02"]
    );
    // A fifth Monday in February only happens when 29 February is a Monday.
    assert_eq!(
        dates("0 0 * 2 MON#5", NEW_YEAR_2025, 2),
        ["2044-02-29", "2072-02-29"]
    );
}

// --------------------------------------------------- day-of-month / day-of-week

#[test]
fn both_day_fields_restricted_means_either() {
    // 1st and 15th, and every Monday.
    assert_eq!(
        dates("0 0 1,15 * MON", NEW_YEAR_2025, 7),
        [
            "2025-01-06",
            "2025-01-13",
            "2025-01-15",
            "2025-01-20",
            "2025-01-27",
            "2025-02-01",
            "2025-02-03",
        ]
    );
    assert_eq!(
        dates("0 0 L * 5", "2025-01-20T00:00:00Z", 3),
        ["2025-01-24", "2025-01-31", "2025-02-07"]
    );
}

#[test]
fn a_day_field_starting_with_a_star_means_both() {
    // `*/2` is 1,3,5,...: odd days that are Mondays.
    assert_eq!(
        dates("0 0 */2 * MON", NEW_YEAR_2025, 5),
        [
            "2025-01-13",
            "2025-01-27",
            "2025-02-03",
            "2025-02-17",
            "2025-03-03",
        ]
    );
    // The same holds the other way round: 1st or 15th that is a Sunday,
    // Tuesday, Thursday or Saturday.
    assert_eq!(
        dates("0 0 1,15 * */2", NEW_YEAR_2025, 4),
        ["2025-02-01", "2025-02-15", "2025-03-01", "2025-03-15"]
    );
    // A plain `*` (or `?`) leaves the other field in charge.
    assert_eq!(
        dates("0 0 * * MON", NEW_YEAR_2025, 2),
        ["2025-01-06", "2025-01-13"]
    );
    assert_eq!(
        dates("0 0 ? * MON", NEW_YEAR_2025, 2),
        ["2025-01-06", "2025-01-13"]
    );
    assert_eq!(
        dates("0 0 1,15 * ?", NEW_YEAR_2025, 2),
        ["2025-01-15", "2025-02-01"]
    );
}

// -------------------------------------------------------------- names, macros

#[test]
fn month_and_day_names_in_any_case() {
    let upper = fires("30 9 * JAN-MAR MON-FRI", "2025-03-28T12:00:00Z", 3);
    assert_eq!(
        upper,
        [
            "2025-03-31T09:30:00+00:00",
            "2026-01-01T09:30:00+00:00",
            "2026-01-02T09:30:00+00:00",
        ]
    );
    assert_eq!(
        fires("30 9 * jan-mar mon-fri", "2025-03-28T12:00:00Z", 3),
        upper
    );
    // Sunday is 0, 7 and SUN; SUN closes a range as 7.
    let sundays = dates("0 0 * * 0", NEW_YEAR_2025, 3);
    assert_eq!(sundays, ["2025-01-05", "2025-01-12", "2025-01-19"]);
    assert_eq!(dates("0 0 * * 7", NEW_YEAR_2025, 3), sundays);
    assert_eq!(dates("0 0 * * SUN", NEW_YEAR_2025, 3), sundays);
    assert_eq!(
        dates("0 0 * * SAT-SUN", NEW_YEAR_2025, 3),
        ["2025-01-04", "2025-01-05", "2025-01-11"]
    );
    assert_eq!(
        dates("0 0 * * MON-SUN", NEW_YEAR_2025, 3),
        ["2025-01-02", "2025-01-03", "2025-01-04"]
    );
    assert_eq!(
        dates("0 0 1 JAN,jul *", NEW_YEAR_2025, 2),
        ["2025-07-01", "2026-01-01"]
    );
}

#[test]
fn macros() {
    let after = "2025-01-01T00:00:00Z";
    assert_eq!(fires("@yearly", after, 1), ["2026-01-01T00:00:00+00:00"]);
    assert_eq!(fires("@annually", after, 1), ["2026-01-01T00:00:00+00:00"]);
    assert_eq!(fires("@monthly", after, 1), ["2025-02-01T00:00:00+00:00"]);
    assert_eq!(fires("@weekly", after, 1), ["2025-01-05T00:00:00+00:00"]);
    assert_eq!(fires("@daily", after, 1), ["2025-01-02T00:00:00+00:00"]);
    assert_eq!(fires("@midnight", after, 1), ["2025-01-02T00:00:00+00:00"]);
    assert_eq!(fires("@DAILY", after, 1), ["2025-01-02T00:00:00+00:00"]);
    assert_eq!(fires("@hourly", after, 1), ["2025-01-01T01:00:00+00:00"]);

    // Classes follow the expansion: only @hourly has a `*` in the hour.
    for fixed in [
        "@yearly",
        "@annually",
        "@monthly",
        "@weekly",
        "@daily",
        "@midnight",
    ] {
        assert!(CronExpr::parse(fixed).unwrap().is_fixed_time(), "{fixed}");
    }
    assert!(!CronExpr::parse("@hourly").unwrap().is_fixed_time());
}

#[test]
fn steps_ranges_and_lists() {
    assert_eq!(
        fires("*/20 9-10 * * *", "2025-01-01T09:30:00Z", 4),
        [
            "2025-01-01T09:40:00+00:00",
            "2025-01-01T10:00:00+00:00",
            "2025-01-01T10:20:00+00:00",
            "2025-01-01T10:40:00+00:00",
        ]
    );
    assert_eq!(
        fires("5-20/5,59 0 * * *", NEW_YEAR_2025, 5),
        [
            "2025-01-01T00:05:00+00:00",
            "2025-01-01T00:10:00+00:00",
            "2025-01-01T00:15:00+00:00",
            "2025-01-01T00:20:00+00:00",
            "2025-01-01T00:59:00+00:00",
        ]
    );
    // Day-of-month steps start from 1.
    assert_eq!(
        dates("0 0 */10 * *", NEW_YEAR_2025, 4),
        ["2025-01-11", "2025-01-21", "2025-01-31", "2025-02-01"]
    );
}

#[test]
fn seconds_field() {
    let expr = CronExpr::parse("*/15 * * * * *").unwrap();
    assert!(expr.has_seconds());
    assert!(!expr.is_fixed_time());
    assert_eq!(
        fires("*/15 * * * * *", "2025-01-01T00:00:50Z", 3),
        [
            "2025-01-01T00:01:00+00:00",
            "2025-01-01T00:01:15+00:00",
            "2025-01-01T00:01:30+00:00",
        ]
    );
    let five = CronExpr::parse("0 12 * * *").unwrap();
    assert!(!five.has_seconds());
    assert_eq!(
        fires("30 0 12 * * *", NEW_YEAR_2025, 1),
        ["2025-01-01T12:00:30+00:00"]
    );
}

// ------------------------------------------------ forms from other systems

/// The dates and times (UTC, minutes) of the next `n` fires.
fn times(expr: &str, after: &str, n: usize) -> Vec<String> {
    fires(expr, after, n)
        .into_iter()
        .map(|s| s[..16].to_owned())
        .collect()
}

const NEW_YEAR_2026: &str = "2026-01-01T00:00:00Z";

#[test]
fn star_inside_a_list_is_the_whole_field() {
    // Vixie cron: `*,1` is every day, and because the field starts with `*`
    // the day fields are ANDed: Mondays only. 2026-01-01 is a Thursday.
    assert_eq!(
        fires("0 0 *,1 * 1", NEW_YEAR_2026, 6),
        [
            "2026-01-05T00:00:00+00:00",
            "2026-01-12T00:00:00+00:00",
            "2026-01-19T00:00:00+00:00",
            "2026-01-26T00:00:00+00:00",
            "2026-02-02T00:00:00+00:00",
            "2026-02-09T00:00:00+00:00",
        ]
    );
    // `1,*` does not start with `*`: both day fields count as restricted,
    // so they are ORed, and every day matches the day-of-month field.
    assert_eq!(
        dates("0 0 1,* * 1", NEW_YEAR_2026, 4),
        ["2026-01-02", "2026-01-03", "2026-01-04", "2026-01-05"]
    );
    // In day-of-week: the 1st and 15th, whatever the weekday.
    assert_eq!(
        dates("0 0 1,15 * *,MON", NEW_YEAR_2026, 4),
        ["2026-01-15", "2026-02-01", "2026-02-15", "2026-03-01"]
    );
    assert_eq!(
        times("*,30 9 * * *", NEW_YEAR_2026, 3),
        ["2026-01-01T09:00", "2026-01-01T09:01", "2026-01-01T09:02"]
    );
    let hourly = ["2026-01-01T01:00", "2026-01-01T02:00", "2026-01-01T03:00"];
    assert_eq!(times("0 2,* * * *", NEW_YEAR_2026, 3), hourly);
    assert_eq!(times("0 *,2 * * *", NEW_YEAR_2026, 3), hourly);
    assert_eq!(
        dates("0 0 1 JAN,* *", NEW_YEAR_2026, 3),
        ["2026-02-01", "2026-03-01", "2026-04-01"]
    );
    assert_eq!(
        fires("*,10 0 0 * * *", NEW_YEAR_2026, 2),
        ["2026-01-01T00:00:01+00:00", "2026-01-01T00:00:02+00:00"]
    );
}

#[test]
fn single_value_steps_run_to_the_end_of_the_field() {
    assert_eq!(
        times("5/15 * * * *", NEW_YEAR_2026, 5),
        [
            "2026-01-01T00:05",
            "2026-01-01T00:20",
            "2026-01-01T00:35",
            "2026-01-01T00:50",
            "2026-01-01T01:05",
        ]
    );
    assert_eq!(
        times("0 10/5 * * *", NEW_YEAR_2026, 4),
        [
            "2026-01-01T10:00",
            "2026-01-01T15:00",
            "2026-01-01T20:00",
            "2026-01-02T10:00",
        ]
    );
    // `*/N` is unchanged.
    assert_eq!(
        times("*/15 * * * *", NEW_YEAR_2026, 4),
        [
            "2026-01-01T00:15",
            "2026-01-01T00:30",
            "2026-01-01T00:45",
            "2026-01-01T01:00",
        ]
    );
    assert_eq!(
        dates("0 0 10/10 * *", NEW_YEAR_2026, 5),
        [
            "2026-01-10",
            "2026-01-20",
            "2026-01-30",
            "2026-02-10",
            "2026-02-20",
        ]
    );
    assert_eq!(
        dates("0 0 1 2/5 *", NEW_YEAR_2026, 4),
        ["2026-02-01", "2026-07-01", "2026-12-01", "2027-02-01"]
    );
    assert_eq!(
        dates("0 0 1 JAN/6 *", NEW_YEAR_2026, 2),
        ["2026-07-01", "2027-01-01"]
    );
    // Day of week stops at Saturday: Monday, Wednesday, Friday, never the
    // Sunday (4 January) that 7 would add.
    let mon_wed_fri = [
        "2026-01-02",
        "2026-01-05",
        "2026-01-07",
        "2026-01-09",
        "2026-01-12",
    ];
    assert_eq!(dates("0 0 * * 1/2", NEW_YEAR_2026, 5), mon_wed_fri);
    assert_eq!(dates("0 0 * * MON/2", NEW_YEAR_2026, 5), mon_wed_fri);
    assert_eq!(dates("0 0 * * 1-5/2", NEW_YEAR_2026, 5), mon_wed_fri);
    // Sunday written as 7 is Sunday alone.
    assert_eq!(
        dates("0 0 * * 7/2", NEW_YEAR_2026, 2),
        ["2026-01-04", "2026-01-11"]
    );
    // In the seconds field of the 6-field form.
    let expr = CronExpr::parse("5/15 * * * * *").unwrap();
    assert!(expr.has_seconds());
    assert_eq!(
        fires("5/15 * * * * *", NEW_YEAR_2026, 5),
        [
            "2026-01-01T00:00:05+00:00",
            "2026-01-01T00:00:20+00:00",
            "2026-01-01T00:00:35+00:00",
            "2026-01-01T00:00:50+00:00",
            "2026-01-01T00:01:05+00:00",
        ]
    );
}

#[test]
fn lists_mix_stars_steps_and_single_value_steps() {
    assert_eq!(
        times("1,*/20 0 * * *", NEW_YEAR_2026, 4),
        [
            "2026-01-01T00:01",
            "2026-01-01T00:20",
            "2026-01-01T00:40",
            "2026-01-02T00:00",
        ]
    );
    assert_eq!(
        times("*/30,10/25 0 * * *", NEW_YEAR_2026, 4),
        [
            "2026-01-01T00:10",
            "2026-01-01T00:30",
            "2026-01-01T00:35",
            "2026-01-02T00:00",
        ]
    );
    assert_eq!(
        times("0,5/15 0 * * *", NEW_YEAR_2026, 5),
        [
            "2026-01-01T00:05",
            "2026-01-01T00:20",
            "2026-01-01T00:35",
            "2026-01-01T00:50",
            "2026-01-02T00:00",
        ]
    );
    // A star and a step in one list: the star wins.
    assert_eq!(
        times("5/15,* 0 * * *", NEW_YEAR_2026, 2),
        ["2026-01-01T00:01", "2026-01-01T00:02"]
    );
    // `*,1/2` in day-of-month starts with `*`: ANDed with Monday.
    assert_eq!(
        dates("0 0 *,1/2 * MON", NEW_YEAR_2026, 2),
        ["2026-01-05", "2026-01-12"]
    );
}

#[test]
fn copied_forms_are_classified_by_their_first_character() {
    let class = |e: &str| CronExpr::parse(e).unwrap().is_fixed_time();
    assert!(class("5/15 2 * * *"));
    assert!(class("0 10/5 * * *"));
    assert!(class("1,* 2 * * *"));
    assert!(class("0 2,* * * *"));
    assert!(!class("5/15 * * * *"));
    assert!(!class("*,1 2 * * *"));
    assert!(!class("0 *,2 * * *"));
}

#[test]
fn classification_reads_the_field_text() {
    let class = |e: &str| CronExpr::parse(e).unwrap().is_fixed_time();
    assert!(class("30 2 * * *"));
    assert!(class("0,30 2 * * *"));
    assert!(class("30 1-2 * * *"));
    assert!(class("0 0-23/2 * * *"));
    assert!(class("* 30 2 * * *"));
    assert!(!class("*/15 * * * *"));
    assert!(!class("0 * * * *"));
    assert!(!class("* 2 * * *"));
    assert!(!class("0 */2 * * *"));
    assert!(!class("0 * 2 * * *"));
}

#[test]
fn text_is_kept_as_given() {
    let expr: CronExpr = "  0 9 * * mon-fri ".parse().unwrap();
    assert_eq!(expr.as_str(), "0 9 * * mon-fri");
    assert_eq!(expr.to_string(), "0 9 * * mon-fri");
    assert_eq!(expr, CronExpr::parse("0 9 * * mon-fri").unwrap());
}

#[test]
fn never_firing_expressions_are_refused() {
    let after: Timestamp = NEW_YEAR_2025.parse().unwrap();
    for never in [
        "0 0 30 2 *",
        "0 0 31 4,6,9,11 *",
        "0 0 31W 2 *",
        "0 0 30,31 FEB *",
    ] {
        let e = CronExpr::parse(never).unwrap_err();
        assert!(e.message().contains("matches no date"), "{never}: {e}");
    }
    // Rare is not never: 29 February.
    assert_eq!(
        fires("0 12 29 2 *", NEW_YEAR_2025, 2),
        ["2028-02-29T12:00:00+00:00", "2032-02-29T12:00:00+00:00"]
    );
    // A wildcard job whose every time is always skipped never fires: in
    // Berlin, 02:xx on the last Sunday of March is always in the gap.
    let skipped = CronExpr::parse("*/5 2 * 3 0L").unwrap();
    let berlin = Tz::parse("Europe/Berlin").unwrap();
    assert_eq!(skipped.next_after(&berlin, after), None);
    // ... while the same times as a fixed-time job run at 03:00 each year.
    let fixed = CronExpr::parse("5 2 * 3 0L").unwrap();
    assert_eq!(
        fixed
            .next_n(&berlin, after, 2)
            .iter()
            .map(format_rfc3339_offset)
            .collect::<Vec<_>>(),
        ["2025-03-30T03:00:00+02:00", "2026-03-29T03:00:00+02:00"]
    );
}

// --------------------------------------------------------------------- errors

#[test]
fn error_value_out_of_range() {
    assert_eq!(
        error("61 * * * *"),
        "cron expression \"61 * * * *\": minute field: value 61 out of range: expected 0-59; not retried"
    );
    assert_eq!(
        error("0 24 * * *"),
        "cron expression \"0 24 * * *\": hour field: value 24 out of range: expected 0-23; not retried"
    );
    assert_eq!(
        error("0 0 32 * *"),
        "cron expression \"0 0 32 * *\": day-of-month field: value 32 out of range: expected 1-31; not retried"
    );
    assert_eq!(
        error("0 0 * 13 *"),
        "cron expression \"0 0 * 13 *\": month field: value 13 out of range: expected 1-12 or JAN-DEC; not retried"
    );
    assert_eq!(
        error("0 0 * * 8"),
        "cron expression \"0 0 * * 8\": day-of-week field: value 8 out of range: expected 0-7 or SUN-SAT (0 and 7 are Sunday); not retried"
    );
    assert_eq!(
        error("60 0 0 * * *"),
        "cron expression \"60 0 0 * * *\": second field: value 60 out of range: expected 0-59; not retried"
    );
}

#[test]
fn error_bad_range_and_step() {
    assert_eq!(
        error("5-2 * * * *"),
        "cron expression \"5-2 * * * *\": minute field: range 5-2 is reversed: expected the smaller value first, e.g. 2-5; not retried"
    );
    assert_eq!(
        error("0 0 1-40 * *"),
        "cron expression \"0 0 1-40 * *\": day-of-month field: value 40 out of range: expected 1-31; not retried"
    );
    assert_eq!(
        error("*/0 * * * *"),
        "cron expression \"*/0 * * * *\": minute field: step 0 out of range: expected 1-59; not retried"
    );
    assert_eq!(
        error("1,,2 * * * *"),
        "cron expression \"1,,2 * * * *\": minute field: empty list element in \"1,,2\": expected values separated by single commas, e.g. 1,15; not retried"
    );
}

#[test]
fn error_bad_single_value_step() {
    assert_eq!(
        error("5/0 * * * *"),
        "cron expression \"5/0 * * * *\": minute field: step 0 out of range: expected 1-59; not retried"
    );
    assert_eq!(
        error("/5 * * * *"),
        "cron expression \"/5 * * * *\": minute field: no start before / in \"/5\": expected */N, A/N or A-B/N, e.g. */15 or 5/15; not retried"
    );
    assert_eq!(
        error("70/5 * * * *"),
        "cron expression \"70/5 * * * *\": minute field: value 70 out of range: expected 0-59; not retried"
    );
    assert_eq!(
        error("5/ * * * *"),
        "cron expression \"5/ * * * *\": minute field: no step after / in \"5/\": expected */N, A/N or A-B/N with N in 1-59; not retried"
    );
    assert_eq!(
        error("0 24/2 * * *"),
        "cron expression \"0 24/2 * * *\": hour field: value 24 out of range: expected 0-23; not retried"
    );
    assert_eq!(
        error("0 0 * * 8/2"),
        "cron expression \"0 0 * * 8/2\": day-of-week field: value 8 out of range: expected 0-7 or SUN-SAT (0 and 7 are Sunday); not retried"
    );
    assert_eq!(
        error("5/x * * * *"),
        "cron expression \"5/x * * * *\": minute field: step \"x\" in \"5/x\" is not a number: expected */N, A/N or A-B/N with N in 1-59; not retried"
    );
    // A star in a list does not excuse the other elements.
    assert_eq!(
        error("*,70 * * * *"),
        "cron expression \"*,70 * * * *\": minute field: value 70 out of range: expected 0-59; not retried"
    );
    assert_eq!(
        error("*, * * * *"),
        "cron expression \"*, * * * *\": minute field: empty list element in \"*,\": expected values separated by single commas, e.g. 1,15; not retried"
    );
}

#[test]
fn error_bad_name() {
    assert_eq!(
        error("0 0 * * MOX"),
        "cron expression \"0 0 * * MOX\": day-of-week field: unknown name \"MOX\": expected 0-7 or SUN-SAT (0 and 7 are Sunday); not retried"
    );
    assert_eq!(
        error("0 0 * Foo *"),
        "cron expression \"0 0 * Foo *\": month field: unknown name \"Foo\": expected 1-12 or JAN-DEC; not retried"
    );
    // Names only where they belong.
    assert_eq!(
        error("0 0 * MON *"),
        "cron expression \"0 0 * MON *\": month field: unknown name \"MON\": expected 1-12 or JAN-DEC; not retried"
    );
    assert_eq!(
        error("x 0 * * *"),
        "cron expression \"x 0 * * *\": minute field: \"x\" is not a number: expected 0-59; not retried"
    );
}

#[test]
fn error_extensions_misused() {
    assert_eq!(
        error("0 0 * * L"),
        "cron expression \"0 0 * * L\": day-of-week field: \"L\" alone: expected nL for the last weekday n of the month, e.g. 5L or FRIL for the last Friday; not retried"
    );
    assert_eq!(
        error("0 0 * * 5#6"),
        "cron expression \"0 0 * * 5#6\": day-of-week field: occurrence \"6\" in \"5#6\" out of range: expected 1-5 after #, e.g. 5#3 for the third Friday; not retried"
    );
    assert_eq!(
        error("L 0 * * *"),
        "cron expression \"L 0 * * *\": minute field: \"L\" is not a number: expected 0-59; not retried"
    );
    assert_eq!(
        error("0 ? * * *"),
        "cron expression \"0 ? * * *\": hour field: \"?\" is not valid: expected a value in 0-23, *, a range A-B, a step */N, A/N or A-B/N, or a comma list of these; not retried"
    );
}

#[test]
fn error_field_count() {
    assert_eq!(
        error("* * * * * * *"),
        "cron expression \"* * * * * * *\": got 7 fields: expected 5 fields (minute hour day-of-month month day-of-week) or 6 with a leading seconds field, or one of @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly; not retried"
    );
    assert_eq!(
        error("* * * *"),
        "cron expression \"* * * *\": got 4 fields: expected 5 fields (minute hour day-of-month month day-of-week) or 6 with a leading seconds field, or one of @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly; not retried"
    );
    assert_eq!(
        error("   "),
        "cron expression \"\": empty expression: expected 5 fields (minute hour day-of-month month day-of-week) or 6 with a leading seconds field, or one of @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly; not retried"
    );
}

#[test]
fn error_macros() {
    assert_eq!(
        error("@reboot"),
        "cron expression \"@reboot\": @reboot is not supported (a schedule has no boot to run at): expected one of @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly, or a 5- or 6-field expression; not retried"
    );
    assert_eq!(
        error("@fortnightly"),
        "cron expression \"@fortnightly\": unknown macro \"@fortnightly\": expected one of @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly; not retried"
    );
}

#[test]
fn errors_are_structured_and_never_retryable() {
    let err = CronExpr::parse("0 0 * * 9").unwrap_err();
    assert!(!err.retry_safe());
    assert_eq!(err.op(), "cron expression \"0 0 * * 9\"");
    assert_eq!(
        err.message(),
        "day-of-week field: value 9 out of range: expected 0-7 or SUN-SAT (0 and 7 are Sunday)"
    );
    match err {
        CronError::Field {
            expr,
            field,
            problem,
            expected,
        } => {
            assert_eq!(expr, "0 0 * * 9");
            assert_eq!(field, CronField::DayOfWeek);
            assert_eq!(problem, "value 9 out of range");
            assert_eq!(expected, "0-7 or SUN-SAT (0 and 7 are Sunday)");
        }
        other => panic!("unexpected {other:?}"),
    }
}
