//! The exposition of a hand-made snapshot: escaping, histogram buckets, both formats, and
//! content negotiation.

use std::collections::BTreeMap;

use alphanode::StatCounts;
use axum::http::{header, HeaderMap, HeaderValue};
use jiff::Timestamp;

use super::{render, wants_openmetrics, Snapshot};

/// A snapshot with one (queue, kind) row whose kind holds a quote, a backslash and a newline
/// (a checked `Kind` cannot, but the encoder must not rely on that), two run times and a
/// schedule that never ticked.
fn snapshot() -> Snapshot {
    let mut c = StatCounts {
        enqueued: 3,
        completed: 2,
        ..Default::default()
    };
    c.run.record(std::time::Duration::from_millis(3));
    c.run.record(std::time::Duration::from_secs(400));
    let mut stats = BTreeMap::new();
    stats.insert(("default".to_owned(), "evil\"kind\\x\ny".to_owned()), c);
    Snapshot {
        now: Timestamp::UNIX_EPOCH,
        queues: Vec::new(),
        stats,
        schedules: vec![("nightly".to_owned(), None, None)],
        workers: 1,
        schedulers: 0,
        cache: vec![("pages".to_owned(), {
            let mut c = alphanode::cache::CacheCounts {
                hits: 7,
                misses: 2,
                ..Default::default()
            };
            c.compute.record(std::time::Duration::from_millis(40));
            c
        })],
        ops: vec![("queue_list", 0.25)],
    }
}

/// The kind label as it must appear: quote, backslash and newline escaped.
const KIND: &str = r#"kind="evil\"kind\\x\ny""#;

/// Asserts that every one of `lines` is a whole line of `text`.
fn assert_lines(text: &str, lines: &[String]) {
    for line in lines {
        assert!(
            text.lines().any(|l| l == line),
            "{line:?} missing from:\n{text}"
        );
    }
}

#[test]
fn prometheus_text_escapes_label_values_and_keeps_the_names() {
    let text = render(snapshot(), false).unwrap_or_else(|e| panic!("{e}"));
    let run = format!("anp_job_run_seconds_bucket{{queue=\"default\",{KIND}");
    assert_lines(
        &text,
        &[
            "# TYPE anp_jobs_enqueued_total counter".to_owned(),
            format!("anp_jobs_enqueued_total{{queue=\"default\",{KIND}}} 3"),
            "# TYPE anp_job_run_seconds histogram".to_owned(),
            format!("{run},le=\"0.005\"}} 1"),
            format!("{run},le=\"300\"}} 1"),
            format!("{run},le=\"+Inf\"}} 2"),
            format!("anp_job_run_seconds_sum{{queue=\"default\",{KIND}}} 400.003"),
            "anp_processes{role=\"worker\"} 1".to_owned(),
            "anp_schedule_lag_seconds{schedule=\"nightly\"} 0.0".to_owned(),
            "# TYPE anp_cache_hits_total counter".to_owned(),
            "anp_cache_hits_total{namespace=\"pages\"} 7".to_owned(),
            "anp_cache_misses_total{namespace=\"pages\"} 2".to_owned(),
            "anp_cache_compute_seconds_bucket{namespace=\"pages\",le=\"0.05\"} 1".to_owned(),
        ],
    );
    assert!(!text.contains("# EOF"), "{text}");
    let lines = text.lines().map(|l| Ok(l.to_owned()));
    let scrape = prometheus_parse::Scrape::parse(lines).unwrap_or_else(|e| panic!("{e}"));
    let kinds: Vec<_> = scrape
        .samples
        .iter()
        .filter(|s| s.metric == "anp_jobs_enqueued_total")
        .filter_map(|s| s.labels.get("kind"))
        .collect();
    // prometheus-parse 0.2 keeps escape sequences as they are: one sample, its value intact.
    assert_eq!(kinds, [r#"evil\"kind\\x\ny"#], "{text}");
}

#[test]
fn openmetrics_escapes_label_values_and_ends_with_eof() {
    let text = render(snapshot(), true).unwrap_or_else(|e| panic!("{e}"));
    assert_lines(
        &text,
        &[
            "# TYPE anp_jobs_enqueued counter".to_owned(),
            format!("anp_jobs_enqueued_total{{queue=\"default\",{KIND}}} 3"),
            "# TYPE anp_job_run_seconds histogram".to_owned(),
            "# UNIT anp_job_run_seconds seconds".to_owned(),
            format!("anp_job_run_seconds_bucket{{le=\"+Inf\",queue=\"default\",{KIND}}} 2"),
        ],
    );
    assert!(text.ends_with("# EOF\n"), "{text}");
}

#[test]
fn openmetrics_only_when_the_scraper_prefers_it() {
    let accept = |v: &'static str| {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT, HeaderValue::from_static(v));
        wants_openmetrics(&h)
    };
    assert!(!wants_openmetrics(&HeaderMap::new()));
    assert!(!accept("*/*"));
    assert!(!accept("text/plain;version=0.0.4"));
    assert!(accept(
        "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;\
         q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
    ));
    assert!(accept("Application/OpenMetrics-Text"));
    assert!(!accept("application/openmetrics-text;q=0,text/plain"));
    assert!(!accept(
        "application/openmetrics-text;q=0.2,text/plain;q=0.9"
    ));
}
