//! Instruction counts (Callgrind, via gungraun) of alphanode's hot paths. Run with
//! `scripts/callgrind`; see `docs/callgrind.md`.
//!
//! Every benchmark runs in its own Valgrind process with instrumentation off
//! (`--instr-atstart=no`, no gungraun entry point). Setup (opening the store, migrations,
//! seeding, warm-up calls, parsing) runs uninstrumented; only what is passed to
//! [`anp_callgrind::measure`] or [`anp_callgrind::measure_async`] is counted, on every thread (the
//! SQLite work runs on the runtime's blocking thread). The fixture and results are dropped after
//! instrumentation is off again.

// gungraun's macros generate public modules, constants and functions without docs; the
// benchmarks are described by the comments above each `#[library_benchmark]`, where doc comments
// are not accepted.
#![allow(missing_docs)]

use std::hint::black_box;

use anp_callgrind::{
    measure, measure_async, require_client_requests, CacheFixture, CronCase, SqliteFixture,
};
use anp_core::job::Enqueued;
use anp_core::store::{AckResult, JobEnqueueManyParams};
use anp_core::{Job, JobState, Store};
use gungraun::{
    library_benchmark, library_benchmark_group, main, Callgrind, EntryPoint, EventKind,
    LibraryBenchmarkConfig,
};
use jiff::Timestamp;

/// Jobs per fetch + ack round trip: what a worker with 50 free slots on the queue fetches at once
/// (it asks for as many jobs as it has free slots).
const BATCH: u32 = 50;

/// A store with 100 jobs enqueued one by one before (statements prepared and cached, WAL and
/// stats row created, blocking thread running), and the one job to enqueue.
fn enqueue_one_setup() -> (SqliteFixture, JobEnqueueManyParams) {
    require_client_requests();
    let mut f = SqliteFixture::open();
    for _ in 0..100 {
        let p = f.enqueue_params(1);
        f.block_on(f.store.job_enqueue_many(p))
            .expect("warm-up enqueue");
    }
    let p = f.enqueue_params(1);
    (f, p)
}

// `job_enqueue_many` with one job, due now, no unique key: one `BEGIN IMMEDIATE` transaction
// (INSERT, stats upsert, COMMIT to the WAL) on the blocking thread, and the hand-off to it.
#[library_benchmark]
#[bench::one_job(setup = enqueue_one_setup)]
fn sqlite_enqueue(input: (SqliteFixture, JobEnqueueManyParams)) -> (SqliteFixture, Vec<Enqueued>) {
    let (f, p) = input;
    let out = f.block_on(measure_async(|| f.store.job_enqueue_many(black_box(p))));
    let out = out.expect("job_enqueue_many");
    assert!(out.len() == 1 && !out[0].duplicate && out[0].state == JobState::Available);
    (f, out)
}

/// A store with `3 * batch` available jobs, after one warm-up fetch + complete of `batch` jobs.
fn fetch_ack_setup(batch: u32) -> SqliteFixture {
    require_client_requests();
    let mut f = SqliteFixture::open();
    f.seed(3 * batch as usize);
    let (jobs, acked) = f.block_on(f.fetch_and_complete(batch));
    assert_eq!(jobs.len(), acked.len());
    f
}

// `job_fetch` of `batch` jobs (one `UPDATE … RETURNING`, rows to `Job`s), building the acks, and
// `job_ack_many` completing all of them with stats: a worker's round trip for one batch, two
// transactions.
#[library_benchmark]
#[bench::batch_50(args = (BATCH), setup = fetch_ack_setup)]
fn sqlite_fetch_ack(f: SqliteFixture) -> (SqliteFixture, Vec<Job>, Vec<AckResult>) {
    let (jobs, acked) = f.block_on(measure_async(|| f.fetch_and_complete(black_box(BATCH))));
    assert!(jobs.len() == BATCH as usize && acked.iter().all(|r| *r == AckResult::Applied));
    (f, jobs, acked)
}

/// A parsed expression and zone, the search start, and one computation done (warm-up).
fn cron_setup(expr: &str, tz: &str, after: &str) -> CronCase {
    require_client_requests();
    CronCase::new(expr, tz, after)
}

// `CronExpr::next_timestamp_after`: the first fire strictly after an instant, with the Debian
// daylight-saving rules.
#[library_benchmark]
// Wildcard job, UTC: the common case.
#[bench::every_5_min_utc(
    args = ("*/5 * * * *", "UTC", "2025-03-29T12:02:00Z"),
    setup = cron_setup
)]
// Fixed-time job due in the skipped hour of 2025-03-30: runs once at 03:00 CEST.
#[bench::daily_0230_berlin_dst_gap(
    args = ("30 2 * * *", "Europe/Berlin", "2025-03-29T12:00:00Z"),
    setup = cron_setup
)]
// Fixed-time job due in the repeated hour of 2025-10-26: first pass only.
#[bench::daily_0230_berlin_dst_repeat(
    args = ("30 2 * * *", "Europe/Berlin", "2025-10-25T12:00:00Z"),
    setup = cron_setup
)]
// Last weekday of the month (searches to 2025-03-31).
#[bench::last_weekday_new_york(
    args = ("0 9 LW * *", "America/New_York", "2025-03-01T00:00:00Z"),
    setup = cron_setup
)]
// Third Friday of the month (searches past the rest of March to 2025-04-18).
#[bench::third_friday_berlin(
    args = ("30 18 * * 5#3", "Europe/Berlin", "2025-03-29T12:00:00Z"),
    setup = cron_setup
)]
fn cron_next_fire(case: CronCase) -> (CronCase, Option<Timestamp>) {
    let next = measure(|| black_box(&case).next());
    assert!(next.is_some());
    (case, next)
}

/// The cache on a SQLite store, L1 on, with one key written and read 1,000 times.
fn cache_warm_setup() -> CacheFixture {
    require_client_requests();
    CacheFixture::open()
}

// `Cache::get::<String>` of a warm key served by L1: key check, the moka lookup (hash, read
// log), the freshness and generation check, the typed value's downcast and the clone of its
// 1 KiB string, the hit counter. No store call, no await.
#[library_benchmark]
#[bench::warm_key_1kib(setup = cache_warm_setup)]
fn cache_l1_hit(f: CacheFixture) -> (CacheFixture, Option<String>) {
    let v = f.block_on(measure_async(|| black_box(&f).get()));
    assert_eq!(
        v.as_ref().map(String::len),
        Some(CacheFixture::VALUE_BYTES - 2)
    );
    (f, v)
}

// A run (or `--baseline=<name>`) whose instruction count exceeds the previous one (or the
// baseline) by more than the limit is reported as regressed and fails. The SQLite benchmarks vary
// by up to about 1 % between identical runs (the hand-off between the runtime thread and the
// blocking thread, and SQLite's random lease tokens: see docs/callgrind.md), so their limit is
// 2 %; cron is exactly repeatable.
library_benchmark_group!(
    name = sqlite,
    config = LibraryBenchmarkConfig::default()
        .tool(Callgrind::default().soft_limits([(EventKind::Ir, 2.0)])),
    benchmarks = [sqlite_enqueue, sqlite_fetch_ack]
);

// One thread, no store call: like cron, exactly repeatable (docs/callgrind.md). Were moka's housekeeping (every 64 reads, or after 300 ms without one) to fall into the measured
// call, the count would jump by thousands, far past the limit: the setup's fixed number of warm-up
// reads is what keeps it out.
library_benchmark_group!(
    name = cache,
    config = LibraryBenchmarkConfig::default()
        .tool(Callgrind::default().soft_limits([(EventKind::Ir, 1.0)])),
    benchmarks = [cache_l1_hit]
);

library_benchmark_group!(
    name = cron,
    config = LibraryBenchmarkConfig::default()
        .tool(Callgrind::default().soft_limits([(EventKind::Ir, 1.0)])),
    benchmarks = [cron_next_fire]
);

main!(
    config = LibraryBenchmarkConfig::default().tool(
        // Counting is switched on and off by `measure` (client requests), not by entering the
        // benchmark function: the default entry point would miss the blocking thread's work.
        Callgrind::with_args(["--instr-atstart=no", "--collect-atstart=yes"])
            .entry_point(EntryPoint::None)
    );
    library_benchmark_groups = sqlite, cache, cron
);
