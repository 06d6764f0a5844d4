//! Time zones, formatting, and the shape of the fire-time API.

#![allow(clippy::unwrap_used)]

use anp_cron::{format_rfc3339_offset, CronError, CronExpr, Tz};
use jiff::{Timestamp, ZonedDateTime};

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

#[test]
fn time_zone_names() {
    let berlin = Tz::parse("Europe/Berlin").unwrap();
    assert_eq!(berlin.name(), "Europe/Berlin");
    assert_eq!(berlin.to_string(), "Europe/Berlin");
    // Lookups ignore case and report the database's spelling.
    assert_eq!(
        Tz::parse("america/new_york").unwrap().name(),
        "America/New_York"
    );
    assert_eq!(Tz::utc().name(), "UTC");
    assert_eq!(Tz::parse("UTC").unwrap().name(), "UTC");
    assert_eq!(Tz::parse("Etc/UTC").unwrap().name(), "Etc/UTC");
    let zone = berlin.zone();
    assert_eq!(
        zone.to_offset(ts("2025-07-01T00:00:00Z")),
        jiff::tz::offset(2)
    );
    assert_eq!("Asia/Tokyo".parse::<Tz>().unwrap().name(), "Asia/Tokyo");
}

#[test]
fn unknown_time_zone() {
    assert_eq!(
        Tz::parse("Mars/Base").unwrap_err().to_string(),
        "time zone \"Mars/Base\": unknown IANA time zone name: expected a name from the tz database such as \"Europe/Berlin\"; not retried"
    );
    for bad in [
        "",
        " Europe/Berlin",
        "Europe/Berlin ",
        "+05:00",
        "/etc/localtime",
        "../../etc/passwd",
        "localtime",
        "EST5EDT,M3.2.0,M11.1.0",
    ] {
        assert_eq!(
            Tz::parse(bad).unwrap_err(),
            CronError::UnknownTimeZone {
                name: bad.to_owned()
            },
            "{bad:?}"
        );
    }
}

#[test]
fn the_tz_database_is_bundled_as_a_fallback() {
    // Built with jiff's `tzdb-bundle-always`: works without /usr/share/zoneinfo.
    let bundled = jiff::tz::TimeZoneDatabase::bundled();
    assert!(!bundled.is_definitively_empty());
    assert!(bundled.get("Australia/Lord_Howe").is_ok());
}

#[test]
fn rfc3339_with_offset() {
    let z: ZonedDateTime = "2025-03-09T03:00:00-04:00[America/New_York]"
        .parse()
        .unwrap();
    assert_eq!(format_rfc3339_offset(&z), "2025-03-09T03:00:00-04:00");
    // UTC prints +00:00, never Z.
    let utc = ts("2025-01-01T00:00:00Z").to_zoned_datetime(Tz::utc().zone().clone());
    assert_eq!(format_rfc3339_offset(&utc), "2025-01-01T00:00:00+00:00");
    // Half-hour and 45-minute offsets; fractions of a second are dropped.
    let lord_howe = Tz::parse("Australia/Lord_Howe").unwrap();
    let z = ts("2025-07-01T00:00:00.999Z").to_zoned_datetime(lord_howe.zone().clone());
    assert_eq!(format_rfc3339_offset(&z), "2025-07-01T10:30:00+10:30");
    let chatham = Tz::parse("Pacific/Chatham").unwrap();
    let z = ts("2025-07-01T00:00:00Z").to_zoned_datetime(chatham.zone().clone());
    assert_eq!(format_rfc3339_offset(&z), "2025-07-01T12:45:00+12:45");
    let st_johns = Tz::parse("America/St_Johns").unwrap();
    let z = ts("2025-01-01T00:00:00Z").to_zoned_datetime(st_johns.zone().clone());
    assert_eq!(format_rfc3339_offset(&z), "2024-12-31T20:30:00-03:30");
    // Local mean time offsets have seconds, which RFC 3339 cannot carry: the
    // offset is cut to the minute and the clock shifted, so the string still
    // names the same instant. Amsterdam LMT was +00:19:32.
    let amsterdam = Tz::parse("Europe/Amsterdam").unwrap();
    let z = ts("1900-01-01T00:00:00Z").to_zoned_datetime(amsterdam.zone().clone());
    let text = format_rfc3339_offset(&z);
    assert_eq!(text, "1900-01-01T00:19:00+00:19");
    assert_eq!(ts(&text), ts("1900-01-01T00:00:00Z"));
}

#[test]
fn next_after_returns_zoned_times_in_the_given_zone() {
    let tz = Tz::parse("Europe/Berlin").unwrap();
    let expr = CronExpr::parse("0 9 * * MON-FRI").unwrap();
    let next = expr.next_after(&tz, ts("2025-07-04T08:00:00Z")).unwrap();
    assert_eq!(next.time_zone().iana_name(), Some("Europe/Berlin"));
    assert_eq!(format_rfc3339_offset(&next), "2025-07-07T09:00:00+02:00");
    assert_eq!(
        expr.next_timestamp_after(&tz, ts("2025-07-04T08:00:00Z")),
        Some(ts("2025-07-07T07:00:00Z"))
    );
    // Strictly after: a fire time is not its own successor.
    let again = expr.next_after(&tz, next.timestamp()).unwrap();
    assert_eq!(format_rfc3339_offset(&again), "2025-07-08T09:00:00+02:00");
}

#[test]
fn fires_between_bounds() {
    let tz = Tz::utc();
    let expr = CronExpr::parse("*/10 * * * *").unwrap();
    let after = ts("2025-01-01T00:00:00Z");
    let until = ts("2025-01-01T01:00:00Z");
    // (after, until]: 00:00 excluded, 01:00 included.
    let all = expr.fires_between(&tz, after, until, 100);
    assert_eq!(
        all.iter().map(|t| t.to_string()).collect::<Vec<_>>(),
        [
            "2025-01-01T00:10:00Z",
            "2025-01-01T00:20:00Z",
            "2025-01-01T00:30:00Z",
            "2025-01-01T00:40:00Z",
            "2025-01-01T00:50:00Z",
            "2025-01-01T01:00:00Z",
        ]
    );
    // The limit keeps the earliest.
    assert_eq!(expr.fires_between(&tz, after, until, 2), all[..2]);
    assert!(expr.fires_between(&tz, after, until, 0).is_empty());
    assert!(expr.fires_between(&tz, until, after, 10).is_empty());
    assert!(expr.fires_between(&tz, after, after, 10).is_empty());
    // A long outage: catch-up stays bounded.
    let year = expr.fires_between(&tz, after, ts("2026-01-01T00:00:00Z"), 1000);
    assert_eq!(year.len(), 1000);
    assert_eq!(year[999].to_string(), "2025-01-07T22:40:00Z");
}

#[test]
fn every_second_walks_second_by_second_through_a_gap() {
    let tz = Tz::parse("America/New_York").unwrap();
    let expr = CronExpr::parse("* * * * * *").unwrap();
    let got = expr.next_n(&tz, ts("2025-03-09T06:59:58Z"), 3);
    assert_eq!(
        got.iter().map(format_rfc3339_offset).collect::<Vec<_>>(),
        [
            "2025-03-09T01:59:59-05:00",
            "2025-03-09T03:00:00-04:00",
            "2025-03-09T03:00:01-04:00",
        ]
    );
    // Four hours of seconds across the fold (06:00Z): every UTC second once.
    let start = ts("2025-11-02T04:00:00Z");
    let day: Vec<Timestamp> = expr.fire_times(&tz, start).take(4 * 3600).collect();
    for (i, t) in day.iter().enumerate() {
        assert_eq!(t.as_second(), start.as_second() + 1 + i as i64);
    }
}

#[test]
fn fire_times_iterate_in_strict_order_through_transitions() {
    // Successive calls agree with the iterator, and instants only grow.
    for zone in [
        "Europe/Berlin",
        "America/Santiago",
        "Australia/Lord_Howe",
        "Asia/Beirut",
    ] {
        let tz = Tz::parse(zone).unwrap();
        for text in ["*/47 * * * *", "30 2 * * *", "0,30 0-3 * * *", "0 * * * *"] {
            let expr = CronExpr::parse(text).unwrap();
            let start = ts("2025-01-01T00:00:00Z");
            let all: Vec<Timestamp> = expr
                .fire_times(&tz, start)
                .take_while(|t| *t < ts("2026-01-01T00:00:00Z"))
                .collect();
            assert!(all.windows(2).all(|w| w[0] < w[1]), "{zone} {text}");
            let mut at = start;
            for expected in all.iter().take(500) {
                let next = expr.next_timestamp_after(&tz, at).unwrap();
                assert_eq!(next, *expected, "{zone} {text}");
                at = next;
            }
        }
    }
}

#[test]
fn types_are_shareable_across_threads() {
    fn assert_send_sync<T: Send + Sync + Clone + std::fmt::Debug>() {}
    assert_send_sync::<CronExpr>();
    assert_send_sync::<Tz>();
    assert_send_sync::<CronError>();
}
