//! Fetch hints: where in `jobs_fetch` this process's next fetch of a queue may start.
//!
//! Every fetched job leaves a dead entry at the head of `jobs_fetch` (a fetch changes the row's
//! state, and no update of `jobs` can be HOT), and every fetch from the head steps over all of
//! them until vacuum removes them: measured 1,465 index pages and 40 ms per fetch after 30,000
//! jobs of a 1,000,000-job backlog (BENCHMARKS.md), which capped the whole worker at about
//! 1,000 jobs/s. So a fetch remembers the key (priority, run_at, id) of the first job it got,
//! and the next fetch of that queue starts its scan there (`job_fetch_after.sql`).
//!
//! Starting there skips only jobs that were not available when that fetch ran (fetched by
//! someone, or locked by a concurrent fetch). A job can become available below the hint
//! later: it was enqueued, promoted, rescued, retried, handed back or its queue resumed — all
//! of which run `pg_notify`, and this process's own ones also bump a local counter after they
//! committed; or a concurrent fetch that had it locked rolled back (nothing tells). So a hint is
//! used only while nothing was heard or done since it was taken (the listening connection up and
//! both counters unchanged), for at most [`HINT_TTL`], and a hinted fetch that comes up short
//! is followed by one from the head. The worst case is a job fetched up to [`HINT_TTL`] late,
//! never a job lost.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The longest a hint is trusted.
pub(crate) const HINT_TTL: Duration = Duration::from_secs(1);

/// A fetch's key: (priority, run_at, id), the order of `jobs_fetch`.
pub(crate) type Key = (i16, i64, String);

/// What has happened, as far as this process knows: notifications heard, and jobs this process
/// made available.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Epoch {
    heard: u64,
    local: u64,
}

struct Hint {
    key: Key,
    epoch: Epoch,
    at: Instant,
}

/// The hints of one store, by queue.
#[derive(Default)]
pub(crate) struct Hints {
    by_queue: Mutex<HashMap<String, Hint>>,
    local: AtomicU64,
}

impl Hints {
    /// Now's epoch, given the count of notifications heard; read before a fetch.
    pub(crate) fn epoch(&self, heard: u64) -> Epoch {
        Epoch {
            heard,
            local: self.local.load(Ordering::SeqCst),
        }
    }

    /// This process made jobs available (called after the commit).
    pub(crate) fn made_available(&self) {
        self.local.fetch_add(1, Ordering::SeqCst);
    }

    /// The hint for `queue` if it is still trusted at `now` (see the module doc).
    pub(crate) fn get(&self, queue: &str, now: Epoch) -> Option<Key> {
        let map = self.by_queue.lock().unwrap_or_else(|p| p.into_inner());
        let h = map.get(queue)?;
        (h.epoch == now && h.at.elapsed() < HINT_TTL).then(|| h.key.clone())
    }

    /// Remembers `key`, the first job of a fetch that started at `epoch` (`from_head`: its
    /// scan started at the head of the index, not at a hint); a fetch that got nothing forgets
    /// the queue's hint.
    pub(crate) fn set(&self, queue: &str, key: Option<Key>, epoch: Epoch, from_head: bool) {
        let mut map = self.by_queue.lock().unwrap_or_else(|p| p.into_inner());
        match key {
            Some(key) => {
                let keep_at = match map.get(queue) {
                    // A hint moved on by a hinted fetch keeps the time of the scan from the
                    // head it descends from: HINT_TTL counts from that scan.
                    Some(h) if !from_head && h.epoch == epoch => h.at,
                    _ => Instant::now(),
                };
                map.insert(
                    queue.to_owned(),
                    Hint {
                        key,
                        epoch,
                        at: keep_at,
                    },
                );
            }
            None => {
                map.remove(queue);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: i64) -> Key {
        (5, n, format!("id{n}"))
    }

    #[test]
    fn a_hint_holds_until_anything_happens() {
        let h = Hints::default();
        let e = h.epoch(7);
        assert_eq!(h.get("q", e), None);
        h.set("q", Some(key(1)), e, true);
        assert_eq!(h.get("q", e), Some(key(1)));
        assert_eq!(h.get("other", e), None);
        // A notification heard.
        assert_eq!(h.get("q", h.epoch(8)), None);
        // This process made jobs available.
        h.made_available();
        assert_eq!(h.get("q", h.epoch(7)), None);
        // A fetch that got nothing forgets it.
        let e = h.epoch(7);
        h.set("q", Some(key(2)), e, true);
        h.set("q", None, e, false);
        assert_eq!(h.get("q", e), None);
    }

    #[test]
    fn refreshing_a_hint_does_not_extend_its_life() {
        let h = Hints::default();
        let e = h.epoch(0);
        h.set("q", Some(key(1)), e, true);
        let at = |h: &Hints| h.by_queue.lock().map(|m| m["q"].at).ok();
        let first = at(&h);
        h.set("q", Some(key(2)), e, false);
        assert_eq!(at(&h), first, "a hinted fetch does not extend it");
        assert_eq!(h.get("q", e), Some(key(2)));
        std::thread::sleep(Duration::from_millis(2));
        h.set("q", Some(key(3)), e, true);
        assert!(at(&h) > first, "a scan from the head renews it");
    }
}
