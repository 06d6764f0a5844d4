//! `job_wait`: sleeps until a fetch from one of the queues would return something, or the
//! timeout passes. Wake-ups come from [`Wake`](crate::wake::Wake) (this store's commits and the
//! `-wal` watcher), or, when the watcher cannot start, from `PRAGMA data_version` read every
//! [`POLL_FALLBACK`]. Each wake-up is only a hint: the waiter then checks, under the write lock,
//! so a commit whose wake-up fired before the waiter registered is visible (a reader could still
//! see the snapshot before it).

use std::sync::Arc;

use anp_core::store::JobWaitParams;
use anp_core::{QueueName, Result};
use rusqlite::Connection;

use crate::conn::OpResult;
use crate::wake::POLL_FALLBACK;
use crate::SqliteStore;

const OP: &str = "job_wait";

/// Returns when a job may be available on one of `p.queues`, or at `p.timeout`.
pub(crate) async fn run(s: &SqliteStore, p: JobWaitParams) -> Result<()> {
    let deadline = tokio::time::Instant::now() + p.timeout;
    let watching = s.wake().watching();
    let queues = Arc::new(p.queues);
    let mut seen_version = None;
    loop {
        let notified = s.wake().notify().notified();
        tokio::pin!(notified);
        // Registered before the check: a commit after the check wakes us.
        notified.as_mut().enable();
        let qs = Arc::clone(&queues);
        if s.write(OP, move |c| any_available(c, &qs)).await? {
            return Ok(());
        }
        if !watching && seen_version.is_none() {
            seen_version = Some(s.read(OP, |c| data_version(c)).await?);
        }
        loop {
            let wake_at = if watching {
                deadline
            } else {
                deadline.min(tokio::time::Instant::now() + POLL_FALLBACK)
            };
            tokio::select! {
                _ = &mut notified => break,
                _ = tokio::time::sleep_until(wake_at) => {
                    if tokio::time::Instant::now() >= deadline {
                        return Ok(());
                    }
                    let v = s.read(OP, |c| data_version(c)).await?;
                    if seen_version != Some(v) {
                        seen_version = Some(v);
                        break;
                    }
                }
            }
        }
    }
}

/// Whether a fetch from one of `queues` would return something now.
fn any_available(c: &Connection, queues: &[QueueName]) -> OpResult<bool> {
    let mut stmt = c.prepare_cached(include_str!("../../sql/job_wait.sql"))?;
    for q in queues {
        if stmt.query_row([q.as_str()], |r| r.get::<_, bool>(0))? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// `PRAGMA data_version`: changes when another connection commits (the polling fallback).
fn data_version(c: &Connection) -> OpResult<i64> {
    Ok(c.pragma_query_value(None, "data_version", |r| r.get(0))?)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::time::{Duration, Instant};

    use anp_core::store::JobEnqueueManyParams;
    use anp_core::{Args, Kind, NewJob, Store};
    use jiff::Timestamp;

    use super::*;
    use crate::options::SqliteOptions;
    use crate::wake::Wake;

    /// When the WAL file cannot be watched, waiters still notice other stores' commits, by
    /// reading `PRAGMA data_version` every 50 ms.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn without_a_watcher_waiters_poll_data_version() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("anp.db");
        let mut a = SqliteStore::open(SqliteOptions::new(&path)).await.unwrap();
        a.set_wake(Wake::new(&dir.path().join("no/such.db")));
        assert!(!a.wake().watching(), "the watcher cannot start");
        let b = SqliteStore::open(SqliteOptions::new(&path)).await.unwrap();
        let queue = QueueName::parse("q").unwrap();

        let waiter = {
            let a = a.clone();
            let queues = vec![queue.clone()];
            tokio::spawn(async move {
                a.job_wait(JobWaitParams {
                    queues,
                    timeout: Duration::from_secs(10),
                })
                .await
                .unwrap();
                Instant::now()
            })
        };
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(!waiter.is_finished());
        let mut job = NewJob::new(Kind::parse("k").unwrap(), Args::empty_object());
        job.queue = queue;
        let enqueued = Instant::now();
        b.job_enqueue_many(JobEnqueueManyParams {
            jobs: vec![job],
            now: Timestamp::now(),
        })
        .await
        .unwrap();
        let woke = waiter.await.unwrap();
        let latency = woke.saturating_duration_since(enqueued);
        assert!(latency < Duration::from_secs(2), "{latency:?}");
    }
}
