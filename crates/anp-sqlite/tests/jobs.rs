//! Job storage details of the SQLite file that the conformance suite (crates/anp-conformance,
//! run on every backend by crates/anp/tests/conformance_*.rs) cannot see: the error history's
//! stored form (in job_errors since migration 0006) and the job numbers (one range per queue
//! since migration 0008).
#![allow(clippy::unwrap_used)]

mod fixture;

use anp_core::store::AckOutcome;
use fixture::*;

#[tokio::test]
async fn error_history_is_stored_in_the_job_serde_form() {
    let (_d, s) = store().await;
    enqueue(&s, vec![job("q")], t0()).await;
    let j = fetch(&s, "q", 1, at(1)).await.remove(0);
    let err = failure(1, at(2), "oops: «unicode» \u{1F4A5}", true);
    ack(
        &s,
        lease(&j),
        AckOutcome::Retry {
            at: at(3),
            error: err.clone(),
        },
        at(2),
    )
    .await;
    drop(s);
    let c = rusqlite::Connection::open(_d.path().join("anp.db")).unwrap();
    let raw: String = c
        .query_row(
            "SELECT e.errors FROM job_errors AS e JOIN jobs AS j ON e.job = j.seq WHERE j.id = ?1",
            [j.id.to_string()],
            |r| r.get(0),
        )
        .unwrap();
    let stored: serde_json::Value = serde_json::from_str(&raw).unwrap();
    let expected = serde_json::to_value(vec![err]).unwrap();
    assert_eq!(stored, expected);
}

/// The job numbers (`jobs.seq`) of queue `queue`, in order.
fn numbers(c: &rusqlite::Connection, queue: &str) -> Vec<i64> {
    c.prepare("SELECT seq FROM jobs WHERE queue = ?1 ORDER BY seq")
        .unwrap()
        .query_map([queue], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// Jobs of several queues enqueued in turn are numbered in an extent per queue, so each queue's
/// jobs are neighbours in the table (src/seq.rs); a later batch continues each extent, a
/// duplicate's number is skipped, and the args stay with their job.
#[tokio::test]
async fn interleaved_queues_are_numbered_in_an_extent_each() {
    let (d, s) = store().await;
    let batch = |n: usize| {
        (0..n)
            .map(|i| job(["a", "b", "c"][i % 3]))
            .collect::<Vec<_>>()
    };
    let first = batch(30);
    let again = first[0].clone();
    let ids: Vec<_> = first.iter().map(|j| j.id).collect();
    // Inserted queue by queue, answered in input order.
    let r = enqueue(&s, first, t0()).await;
    assert_eq!(r.iter().map(|e| e.id).collect::<Vec<_>>(), ids);
    assert!(r.iter().all(|e| !e.duplicate));
    // A second batch: the same id again (a duplicate), then more of each queue.
    let mut second = vec![again];
    second.extend(batch(6));
    let r = enqueue(&s, second, t0()).await;
    assert!(r[0].duplicate, "{r:?}");
    let c = rusqlite::Connection::open(d.path().join("anp.db")).unwrap();
    let mut starts = Vec::new();
    for queue in ["a", "b", "c"] {
        let n = numbers(&c, queue);
        assert_eq!(n.len(), 12, "{queue}: {n:?}");
        // Consecutive, apart from the number the duplicate took (queue a, second batch).
        let gaps = n.windows(2).filter(|w| w[1] != w[0] + 1).count();
        assert!(n.windows(2).all(|w| w[1] > w[0]), "{queue}: {n:?}");
        assert_eq!(gaps, usize::from(queue == "a"), "{queue}: {n:?}");
        starts.push(n[0]);
    }
    // Extents of 65,536 numbers in first-enqueue order, from 1.
    assert_eq!(starts, [1, 65_537, 131_073]);
    // Every job's args are found under its number.
    let orphans: i64 = c
        .query_row(
            "SELECT count(*) FROM jobs WHERE seq NOT IN (SELECT job FROM job_args)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(orphans, 0);
    for j in fetch(&s, "b", 20, at(1)).await {
        assert_eq!(j.queue.as_str(), "b");
        assert_eq!(j.args.as_json(), r#"{"n":1}"#);
    }
}
