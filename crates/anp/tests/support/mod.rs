//! Seeding a SQLite store below the library, as a second process would: shared by the test
//! files that need jobs in given states.

use std::path::Path;
use std::time::Duration;

use anp_core::job::ts_add;
use anp_core::store::{AckOutcome, JobAck, JobAckManyParams, JobFetchParams};
use anp_core::{AttemptError, QueueName, Store};
use anp_sqlite::SqliteStore;
use jiff::Timestamp;

/// Opens (creating) the SQLite store in file `db`.
pub(crate) async fn open_sqlite(db: &Path) -> SqliteStore {
    SqliteStore::open(
        SqliteStore::parse_url(&format!("sqlite://{}", db.display()))
            .unwrap_or_else(|e| panic!("{e}")),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"))
}

/// A retry-safe failure of attempt 1 at `now`.
pub(crate) fn attempt_error(now: Timestamp, message: &str) -> AttemptError {
    AttemptError {
        attempt: 1,
        at: now,
        message: message.into(),
        retry_safe: true,
    }
}

/// Fetches `fetch` jobs of queue `default` (worker `w`, 30 s leases) and acknowledges the first
/// of them with `outcomes`, in order; the others stay running.
pub(crate) async fn fetch_and_ack(
    store: &SqliteStore,
    now: Timestamp,
    fetch: u32,
    outcomes: Vec<AckOutcome>,
) {
    let fetched = store
        .job_fetch(JobFetchParams {
            queue: QueueName::parse("default").unwrap_or_else(|e| panic!("{e}")),
            limit: fetch,
            worker: "w".into(),
            now,
            lease_until: ts_add(now, Duration::from_secs(30)),
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let acks = fetched
        .iter()
        .zip(outcomes)
        .map(|(j, outcome)| JobAck {
            lease: j
                .lease()
                .unwrap_or_else(|| panic!("job {} has no lease", j.id)),
            outcome,
            stats: None,
        })
        .collect();
    store
        .job_ack_many(JobAckManyParams { acks, now })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
}
