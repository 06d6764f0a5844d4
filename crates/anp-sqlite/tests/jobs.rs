//! Job storage details of the SQLite file that the conformance suite (crates/anp-conformance,
//! run on every backend by crates/anp/tests/conformance_*.rs) cannot see: the error history's
//! stored form (in job_errors since migration 0006).
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
