//! `cache_watch`: SQLite has no pub/sub, so a watch is a task that polls `cache_changes` every
//! [`POLL`] on its own reader connection (`seq > cursor`, a range of the rowid) and delivers the
//! rows in seq order. It starts after the last seq assigned when the watch is made, so it
//! delivers exactly the changes published after [`run`] returns.
//!
//! A watch that falls behind pruning (its cursor is older than the oldest row kept) or whose
//! polls fail delivers [`WatchEvent::Resync`] once it reads the feed again, before any later
//! change; failed polls are retried with backoff (up to [`BACKOFF_MAX`]) on a reopened
//! connection, forever. Dropping the returned [`CacheWatch`] aborts the task.

use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anp_core::cache::{CacheWatch, Invalidation, WatchEvent, WatchSink};
use anp_core::{Error, Result};
use rusqlite::Connection;
use tokio::task::JoinHandle;

use crate::conn::OpResult;
use crate::{row, SqliteStore};

const OP: &str = "cache_watch";

/// How often the feed is read.
pub(crate) const POLL: Duration = Duration::from_millis(50);

/// The longest a change takes to reach a watcher while the feed is up: a poll interval plus
/// the poll itself, documented as 100 ms (`cache_watch_bound`).
pub(crate) const BOUND: Duration = Duration::from_millis(100);

/// Rows read per poll; a full batch is followed by another poll at once.
const BATCH: usize = 256;

/// The longest wait between two attempts while polls fail.
pub(crate) const BACKOFF_MAX: Duration = Duration::from_secs(2);

/// Starts the watch: reads the cursor, opens the watch's connection (errors are returned here),
/// then spawns the polling task.
pub(crate) async fn run(s: &SqliteStore, sink: WatchSink) -> Result<CacheWatch> {
    let cursor = s.read(OP, |c| start(c)).await?;
    let conn = {
        let s = s.clone();
        tokio::task::spawn_blocking(move || s.open_reader(OP))
            .await
            .map_err(|e| Error::internal(OP, format!("the SQLite task failed: {e}")))??
    };
    let conn = Arc::new(Mutex::new(Some(conn)));
    let store = s.clone();
    let poll = move |cursor: i64| poll_on(store.clone(), Arc::clone(&conn), cursor);
    let task = tokio::spawn(watch(poll, cursor, sink));
    Ok(CacheWatch::new(Box::new(AbortOnDrop(task))))
}

/// Aborts the polling task when the watch is dropped.
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The last seq assigned so far (0 on a new feed).
fn start(c: &Connection) -> OpResult<i64> {
    Ok(
        c.prepare_cached(include_str!("../../../sql/cache_watch_start.sql"))?
            .query_row([], |r| r.get(0))?,
    )
}

/// One poll's rows, and whether rows between the cursor and the first of them were pruned
/// before this watch read them.
#[derive(Debug, Default)]
pub(crate) struct Batch {
    /// `(seq, origin, change JSON)`, in seq order.
    rows: Vec<(i64, String, String)>,
    /// Pruning passed the cursor: changes were missed.
    gap: bool,
}

/// One poll on the watch's connection, off the runtime; a failed poll drops the connection so
/// the next attempt opens a new one.
async fn poll_on(
    s: SqliteStore,
    conn: Arc<Mutex<Option<Connection>>>,
    cursor: i64,
) -> Result<Batch> {
    let task = tokio::task::spawn_blocking(move || {
        let mut held = conn.lock().unwrap_or_else(PoisonError::into_inner);
        let mut c = match held.take() {
            Some(c) => c,
            None => s.open_reader(OP)?,
        };
        match poll(&mut c, cursor) {
            Ok(batch) => {
                *held = Some(c);
                Ok(batch)
            }
            Err(f) => Err(s.error(OP, f)),
        }
    });
    task.await
        .map_err(|e| Error::internal(OP, format!("the SQLite task failed: {e}")))?
}

/// Reads the rows after `cursor` and, when the first is not `cursor + 1`, whether pruning
/// removed the ones in between (the oldest seq kept is past `cursor + 1`), in one snapshot.
pub(crate) fn poll(c: &mut Connection, cursor: i64) -> OpResult<Batch> {
    let tx = c.transaction()?;
    let mut batch = Batch::default();
    {
        let mut stmt = tx.prepare_cached(include_str!("../../../sql/cache_watch.sql"))?;
        let mut rows = stmt.query(rusqlite::params![cursor, BATCH as i64])?;
        while let Some(r) = rows.next()? {
            batch.rows.push((
                row::int(r, 0, "seq")?,
                row::text(r, 1, "origin")?.to_owned(),
                row::text(r, 2, "change")?.to_owned(),
            ));
        }
    }
    if matches!(batch.rows.first(), Some((first, _, _)) if *first != cursor.saturating_add(1)) {
        let oldest: Option<i64> = tx
            .prepare_cached(include_str!("../../../sql/cache_watch_oldest.sql"))?
            .query_row([], |r| r.get(0))?;
        batch.gap = oldest.is_some_and(|o| o > cursor.saturating_add(1));
    }
    tx.commit()?;
    Ok(batch)
}

/// The watch loop: polls with `poll(cursor)` every [`POLL`] and delivers to `sink`; after a gap
/// or failed polls, `Resync` first. Never returns (the task is aborted).
pub(crate) async fn watch<P, F>(mut poll: P, mut cursor: i64, sink: WatchSink)
where
    P: FnMut(i64) -> F,
    F: Future<Output = Result<Batch>>,
{
    let mut failing: Option<Duration> = None;
    loop {
        match poll(cursor).await {
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
                let full = batch.rows.len() >= BATCH;
                for (seq, origin, change) in batch.rows {
                    cursor = seq;
                    match serde_json::from_str::<Invalidation>(&change) {
                        Ok(change) => sink(WatchEvent::Change { origin, change }),
                        Err(e) => {
                            // A change this build cannot read (another release's): it cannot be
                            // applied, so everything is dropped instead.
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::VecDeque;

    use anp_core::cache::Namespace;

    use super::*;

    fn change(n: usize) -> Invalidation {
        Invalidation::Prefix {
            ns: Namespace::parse("n").unwrap(),
            prefix: format!("p{n}"),
        }
    }

    fn feed() -> Connection {
        let c = Connection::open_in_memory().unwrap();
        crate::migrate::apply(&c, 0).unwrap();
        c
    }

    fn publish(c: &Connection, n: usize) {
        c.execute(
            include_str!("../../../sql/cache_publish.sql"),
            rusqlite::params![n as i64, "p", serde_json::to_string(&change(n)).unwrap()],
        )
        .unwrap();
    }

    /// A gap is reported only when pruning removed rows after the cursor.
    #[test]
    fn poll_detects_rows_pruned_past_the_cursor() {
        let mut c = feed();
        assert_eq!(start(&c).unwrap(), 0);
        for n in 1..=5 {
            publish(&c, n);
        }
        let b = poll(&mut c, 0).unwrap();
        assert_eq!(
            b.rows.iter().map(|r| r.0).collect::<Vec<_>>(),
            [1, 2, 3, 4, 5]
        );
        assert!(!b.gap);
        // Pruning 1..=3 (published at 1..=3 ms) does not concern a watcher at 3.
        let pruned = c
            .execute(
                include_str!("../../../sql/cache_prune_changes.sql"),
                [4, 100],
            )
            .unwrap();
        assert_eq!(pruned, 3);
        let b = poll(&mut c, 3).unwrap();
        assert_eq!(b.rows.len(), 2);
        assert!(!b.gap);
        // A watcher at 1 missed 2 and 3.
        let b = poll(&mut c, 1).unwrap();
        assert_eq!(b.rows.first().map(|r| r.0), Some(4));
        assert!(b.gap);
        // Pruning everything keeps the seq: a new watch starts after 5, not at 0.
        c.execute(
            include_str!("../../../sql/cache_prune_changes.sql"),
            [1_000, 100],
        )
        .unwrap();
        assert_eq!(start(&c).unwrap(), 5);
        publish(&c, 6);
        let b = poll(&mut c, 5).unwrap();
        assert_eq!(b.rows.first().map(|r| r.0), Some(6));
        assert!(!b.gap);
    }

    /// Pruning stops at the first row young enough to keep, and honours its limit.
    #[test]
    fn prune_changes_deletes_the_oldest_rows_only() {
        let c = feed();
        for n in [10, 20, 30, 40] {
            publish(&c, n);
        }
        let n = c
            .execute(
                include_str!("../../../sql/cache_prune_changes.sql"),
                [35, 2],
            )
            .unwrap();
        assert_eq!(n, 2, "limit");
        let n = c
            .execute(
                include_str!("../../../sql/cache_prune_changes.sql"),
                [35, 100],
            )
            .unwrap();
        assert_eq!(n, 1);
        let left: i64 = c
            .query_row("SELECT min(seq) FROM cache_changes", [], |r| r.get(0))
            .unwrap();
        assert_eq!(left, 4);
    }

    fn rows(seqs: &[i64]) -> Vec<(i64, String, String)> {
        seqs.iter()
            .map(|&s| {
                let n = usize::try_from(s).unwrap();
                (s, "p".into(), serde_json::to_string(&change(n)).unwrap())
            })
            .collect()
    }

    /// Failed polls are retried with backoff, and the first poll that works delivers `Resync`
    /// before its changes; a gap also delivers `Resync` first; unreadable rows become `Resync`.
    #[tokio::test]
    async fn failures_and_gaps_deliver_resync_before_later_changes() {
        let script: VecDeque<Result<Batch>> = VecDeque::from([
            Ok(Batch {
                rows: rows(&[1, 2]),
                gap: false,
            }),
            Err(Error::unavailable("t", "down")),
            Err(Error::unavailable("t", "down")),
            Ok(Batch {
                rows: rows(&[3]),
                gap: false,
            }),
            Ok(Batch {
                rows: rows(&[7]),
                gap: true,
            }),
            Ok(Batch {
                rows: vec![(8, "p".into(), "{\"what\":\"nonsense\"}".into())],
                gap: false,
            }),
        ]);
        let script = Arc::new(Mutex::new(script));
        let cursors = Arc::new(Mutex::new(Vec::new()));
        let got = Arc::new(Mutex::new(Vec::new()));
        let poll = {
            let (script, cursors) = (Arc::clone(&script), Arc::clone(&cursors));
            move |cursor: i64| {
                cursors.lock().unwrap().push(cursor);
                let next = script.lock().unwrap().pop_front();
                async move { next.unwrap_or_else(|| Ok(Batch::default())) }
            }
        };
        let sink: WatchSink = {
            let got = Arc::clone(&got);
            Box::new(move |e| got.lock().unwrap().push(e))
        };
        let task = tokio::spawn(watch(poll, 0, sink));
        // About 0.5 s of polls and backoff; at most 10 s on a loaded machine.
        let start = std::time::Instant::now();
        let done = || got.lock().unwrap().len() >= 7 && cursors.lock().unwrap().len() >= 7;
        while !done() && start.elapsed() < Duration::from_secs(10) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        task.abort();
        let got = got.lock().unwrap().clone();
        let ch = |n: usize| WatchEvent::Change {
            origin: "p".into(),
            change: change(n),
        };
        assert_eq!(
            got,
            vec![
                ch(1),
                ch(2),
                WatchEvent::Resync,
                ch(3),
                WatchEvent::Resync,
                ch(7),
                WatchEvent::Resync
            ]
        );
        let cursors = cursors.lock().unwrap().clone();
        assert_eq!(&cursors[..6], &[0, 2, 2, 2, 3, 7]);
        assert_eq!(cursors[6], 8, "an unreadable row is passed");
    }
}
