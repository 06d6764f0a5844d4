//! `cache_watch`: a task that reads `cache_changes` every [`POLL`] through the pool
//! (`seq > cursor`) and delivers the rows in seq order. Publishers serialize on an advisory lock
//! until they commit, so seq order is commit order and no row is skipped. The watch starts
//! after the last seq assigned when it is made (read under the same lock), so it delivers
//! exactly the changes published after [`run`] returns.
//!
//! A watch that falls behind pruning, or whose polls fail, delivers [`WatchEvent::Resync`] once
//! it reads the feed again, before any later change; failed polls are retried with backoff (up
//! to [`BACKOFF_MAX`]), forever. Dropping the returned [`CacheWatch`] aborts the task.

use std::time::Duration;

use anp_core::cache::{CacheWatch, Invalidation, WatchEvent, WatchSink};
use anp_core::Result;
use tokio::task::JoinHandle;

use crate::conn::{Conn, OpResult};
use crate::row;
use crate::store::in_tx;
use crate::PostgresStore;

const OP: &str = "cache_watch";

/// How often the feed is read.
pub(crate) const POLL: Duration = Duration::from_millis(50);

/// The longest a change takes to reach a watcher while the feed is up (`cache_watch_bound`).
pub(crate) const BOUND: Duration = Duration::from_millis(100);

/// Rows read per poll; a full batch is followed by another poll at once.
const BATCH: i64 = 256;

/// The longest wait between two attempts while polls fail.
pub(crate) const BACKOFF_MAX: Duration = Duration::from_secs(2);

/// Starts the watch.
pub(crate) async fn run(s: &PostgresStore, sink: WatchSink) -> Result<CacheWatch> {
    let cursor = in_tx!(s, OP, |tx| start(tx))?;
    let task = tokio::spawn(watch(s.clone(), cursor, sink));
    Ok(CacheWatch::new(Box::new(AbortOnDrop(task))))
}

/// Aborts the polling task when the watch is dropped.
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn start(c: &dyn Conn) -> OpResult<i64> {
    c.query(include_str!("../../../sql/cache_publish_lock.sql"), &[])
        .await?;
    let r = c
        .query_one(include_str!("../../../sql/cache_watch_start.sql"), &[])
        .await?;
    row::int(&r, 0)
}

/// One poll's rows, and whether rows after the cursor were pruned before this watch read them.
#[derive(Debug, Default)]
struct Batch {
    rows: Vec<(i64, String, String)>,
    gap: bool,
}

async fn poll(c: &dyn Conn, cursor: i64) -> OpResult<Batch> {
    let mut batch = Batch::default();
    for r in c
        .query(
            include_str!("../../../sql/cache_watch.sql"),
            &[&cursor, &BATCH],
        )
        .await?
    {
        batch.rows.push((
            row::int(&r, 0)?,
            row::text(&r, 1)?.to_owned(),
            row::text(&r, 2)?.to_owned(),
        ));
    }
    if matches!(batch.rows.first(), Some((first, _, _)) if *first != cursor.saturating_add(1)) {
        let oldest = c
            .query_one(include_str!("../../../sql/cache_watch_oldest.sql"), &[])
            .await?;
        let oldest: Option<i64> = row::opt_int(&oldest, 0)?;
        batch.gap = oldest.is_some_and(|o| o > cursor.saturating_add(1));
    }
    Ok(batch)
}

/// The watch loop. Never returns (the task is aborted).
async fn watch(s: PostgresStore, mut cursor: i64, sink: WatchSink) {
    let mut failing: Option<Duration> = None;
    loop {
        let at = cursor;
        match in_tx!(&s, OP, snapshot, |tx| poll(tx, at)) {
            Ok(batch) => {
                if let Some(backoff) = failing.take() {
                    tracing::info!(?backoff, "cache feed readable again; resyncing");
                    sink(WatchEvent::Resync);
                } else if batch.gap {
                    tracing::info!(
                        cursor,
                        "cache feed pruned past this watch's cursor; resyncing"
                    );
                    sink(WatchEvent::Resync);
                }
                let full = batch.rows.len() as i64 >= BATCH;
                for (seq, origin, change) in batch.rows {
                    cursor = seq;
                    match serde_json::from_str::<Invalidation>(&change) {
                        Ok(change) => sink(WatchEvent::Change { origin, change }),
                        Err(e) => {
                            tracing::warn!(seq, error = %e, "unreadable cache change; resyncing");
                            sink(WatchEvent::Resync);
                        }
                    }
                }
                if !full {
                    tokio::time::sleep(POLL).await;
                }
            }
            Err(e) => {
                let wait = match failing {
                    None => {
                        tracing::warn!(error = %e, "cache feed poll failed; retrying with backoff");
                        POLL * 2
                    }
                    Some(d) => (d * 2).min(BACKOFF_MAX),
                };
                failing = Some(wait);
                tokio::time::sleep(wait).await;
            }
        }
    }
}
