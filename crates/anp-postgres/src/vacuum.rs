//! Vacuum after a burst, analyze during one: `VACUUM jobs` and `ANALYZE jobs` from the store
//! itself, every so many jobs.
//!
//! **Analyze.** The planner's statistics for `jobs` come from autovacuum's analyze, which runs
//! at most once per `autovacuum_naptime` (1 min). Until it does, a table that just grew from
//! nothing to 100,000 available jobs still looks empty, and the fetch's plan reads every
//! available job of the queue through `jobs_queue_state` and sorts them all, spilling to disk,
//! for each batch of 50: measured 20 ms and 1,081 buffers per fetch, B at 1,223 jobs/s for the
//! whole first minute of a fresh database (0.45 ms per fetch with statistics). So a store that
//! has enqueued or imported `analyze_every` jobs (default 10,000) since its last analyze starts
//! `ANALYZE jobs` in the background at once (a sample of 30,000 rows, whatever the table's
//! size; one process per database at a time). New statistics invalidate every connection's
//! cached plans, so the next fetch is planned again.
//!
//! **Vacuum.**
//! Every fetch and acknowledgement leaves a dead row version in `jobs` and a dead entry in
//! its indexes (no update of `jobs` can be HOT), and autovacuum looks at a table at most once
//! per `autovacuum_naptime` (a server setting, 1 min by default). Until it does, every scan of
//! `jobs_fetch` from its head — `job_wait`, and a fetch whose hint does not hold (after any
//! notification) — steps over all the dead entries of the jobs fetched since the last vacuum.
//! Measured: 2,000 jobs at 500/s right after a 100,000-job burst waited 17.8 ms at p99, against
//! 4.8 ms on a vacuumed table (BENCHMARKS.md, PostgreSQL).
//!
//! So each store counts the jobs it changes (fetched, acknowledged, pruned, purged), and when a
//! worker runs out of work (`job_wait`: a queue came up short, from here on fetches scan from
//! the head) after at least `vacuum_every` of them since its last vacuum, one background task
//! runs `VACUUM (SKIP_LOCKED) jobs` — only if no other process of the database holds the vacuum
//! lock (an advisory lock) and PostgreSQL's statistics count at least [`MIN_DEAD`] dead rows
//! (or `vacuum_every`, if smaller).
//! Not during a burst: a vacuum then competes with the burst's own statements (measured: B fell
//! from ~8,400 to ~5,800 jobs/s with one every 50,000 changes), while hinted fetches hardly meet
//! the dead entries. `SKIP_LOCKED` makes it a no-op while autovacuum is at work on the table. A
//! failure (no permission, a statement timeout) is logged, never returned: the jobs' state does
//! not depend on it. URL options `vacuum_every=N` (jobs changed) and `analyze_every=N` (jobs
//! enqueued); `0` turns either off.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

use crate::PostgresStore;

/// The default of `vacuum_every`: jobs changed by this store between two vacuums.
pub(crate) const DEFAULT_EVERY: u64 = 20_000;

/// The default of `analyze_every`: jobs enqueued by this store between two analyzes.
pub(crate) const DEFAULT_ANALYZE_EVERY: u64 = 10_000;

/// Below this many dead rows in `jobs` (PostgreSQL's count) the vacuum is skipped.
pub(crate) const MIN_DEAD: i64 = 10_000;

/// A count of jobs that asks for a task every `every` of them (never for 0), and whether this
/// store's task of that kind is running.
pub(crate) struct Trigger {
    /// Jobs between two tasks; 0: never.
    pub(crate) every: u64,
    count: AtomicU64,
    running: AtomicBool,
}

impl Trigger {
    fn new(every: u64) -> Trigger {
        Trigger {
            every,
            count: AtomicU64::new(0),
            running: AtomicBool::new(false),
        }
    }

    /// Counts `n` jobs.
    pub(crate) fn add(&self, n: u64) {
        self.count.fetch_add(n, Ordering::Relaxed);
    }

    /// `true` when `every` jobs or more were counted since the last task and none of this
    /// store's is running: the caller then runs one and calls [`Trigger::done`]. Restarts the
    /// count.
    pub(crate) fn due(&self) -> bool {
        self.every != 0
            && self.count.load(Ordering::Relaxed) >= self.every
            && !self.running.swap(true, Ordering::AcqRel)
            && {
                self.count.store(0, Ordering::Relaxed);
                true
            }
    }

    /// The task ended.
    pub(crate) fn done(&self) {
        self.running.store(false, Ordering::Release);
    }
}

/// This store's two triggers: vacuum after changed jobs, analyze after enqueued ones.
pub(crate) struct Vacuum {
    /// Jobs changed (fetched, acknowledged, pruned, purged); checked when a worker is idle.
    pub(crate) vacuum: Trigger,
    /// Jobs enqueued or imported; checked at once.
    pub(crate) analyze: Trigger,
}

impl Vacuum {
    /// A vacuum every `every` changed jobs and an analyze every `analyze_every` enqueued jobs
    /// (never for 0).
    pub(crate) fn new(every: u64, analyze_every: u64) -> Vacuum {
        Vacuum {
            vacuum: Trigger::new(every),
            analyze: Trigger::new(analyze_every),
        }
    }
}

/// Counts `n` jobs changed by `s`.
pub(crate) fn changed(s: &PostgresStore, n: u64) {
    s.vacuum().vacuum.add(n);
}

/// Counts `n` jobs enqueued (or imported) by `s`, and starts the analyze task when one is due.
pub(crate) fn inserted(s: &PostgresStore, n: u64) {
    let analyze = &s.vacuum().analyze;
    analyze.add(n);
    if analyze.due() {
        spawn(s, Upkeep::Analyze);
    }
}

/// A worker of `s` ran out of work: starts the vacuum task if one is due.
pub(crate) fn idle(s: &PostgresStore) {
    if s.vacuum().vacuum.due() {
        spawn(s, Upkeep::Vacuum);
    }
}

/// What the background task runs on `jobs`.
#[derive(Clone, Copy)]
enum Upkeep {
    Analyze,
    Vacuum,
}

impl Upkeep {
    /// The operation's name in logs and errors.
    fn op(self) -> &'static str {
        match self {
            Upkeep::Analyze => "analyze",
            Upkeep::Vacuum => "vacuum",
        }
    }

    /// Takes the advisory lock; returns (taken, PostgreSQL's count of changed / dead rows).
    fn begin(self) -> &'static str {
        match self {
            Upkeep::Analyze => include_str!("../sql/analyze_begin.sql"),
            Upkeep::Vacuum => include_str!("../sql/vacuum_begin.sql"),
        }
    }

    /// Releases the lock.
    fn end(self) -> &'static str {
        match self {
            Upkeep::Analyze => include_str!("../sql/analyze_end.sql"),
            Upkeep::Vacuum => include_str!("../sql/vacuum_end.sql"),
        }
    }

    /// The statement itself.
    fn statement(self) -> &'static str {
        match self {
            Upkeep::Analyze => "ANALYZE jobs",
            Upkeep::Vacuum => "VACUUM (SKIP_LOCKED) jobs",
        }
    }

    /// Whether `rows` (the count `begin` returned) makes the statement worth running: an
    /// analyze always is (its trigger was the count of enqueued jobs); a vacuum needs
    /// [`MIN_DEAD`] dead rows, or `vacuum_every` if smaller.
    fn worth(self, v: &Vacuum, rows: i64) -> bool {
        match self {
            Upkeep::Analyze => true,
            Upkeep::Vacuum => {
                rows >= MIN_DEAD.min(i64::try_from(v.vacuum.every).unwrap_or(MIN_DEAD))
            }
        }
    }

    /// This store's trigger for this kind of task.
    fn trigger(self, v: &Vacuum) -> &Trigger {
        match self {
            Upkeep::Analyze => &v.analyze,
            Upkeep::Vacuum => &v.vacuum,
        }
    }
}

/// Runs `what` in a background task, and marks it finished after.
fn spawn(s: &PostgresStore, what: Upkeep) {
    let s = s.clone();
    tokio::spawn(async move {
        run(&s, what).await;
        what.trigger(s.vacuum()).done();
    });
}

/// Runs `what` on `jobs` on a pooled connection, if this process gets its lock and it is
/// worth it. Failures are logged, never returned.
async fn run(s: &PostgresStore, what: Upkeep) {
    let op = what.op();
    let c = match s.client(op).await {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(error = %e, "{op} of jobs skipped");
            return;
        }
    };
    let (locked, rows) = match c
        .query_one(what.begin(), &[])
        .await
        .and_then(|r| Ok((r.try_get::<_, bool>(0)?, r.try_get::<_, i64>(1)?)))
    {
        Ok(v) => v,
        Err(e) => {
            tracing::warn!(error = %s.error(op, e.into()), "{op} of jobs skipped");
            return;
        }
    };
    if !locked {
        tracing::debug!("{op} of jobs skipped: another process holds its lock");
        return;
    }
    let started = Instant::now();
    let ran = if what.worth(s.vacuum(), rows) {
        c.batch_execute(what.statement()).await.map(|()| true)
    } else {
        Ok(false)
    };
    let unlocked = c.query_one(what.end(), &[]).await;
    match ran {
        Ok(true) => tracing::debug!(
            rows,
            ms = started.elapsed().as_millis() as u64,
            "{op} of jobs done"
        ),
        Ok(false) => tracing::debug!(rows, "{op} of jobs skipped: few dead rows"),
        Err(e) => tracing::warn!(error = %s.error(op, e.into()), "{op} of jobs failed"),
    }
    if let Err(e) = unlocked {
        // The session may still hold the lock: never hand it back to the pool.
        tracing::warn!(error = %s.error(op, e.into()), "{op} lock not released; connection dropped");
        drop(deadpool_postgres::Object::take(c));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_after_every_changes_and_not_while_busy() {
        let v = Vacuum::new(100, 0).vacuum;
        v.add(60);
        assert!(!v.due(), "60 changed");
        v.add(60);
        assert!(v.due(), "120 changed");
        v.add(200);
        assert!(!v.due(), "the first task still runs");
        v.done();
        assert!(v.due(), "200 changed since the last start");
        v.done();
        assert!(!v.due(), "the count restarted");
        let off = Vacuum::new(0, 0);
        off.vacuum.add(1_000_000);
        assert!(!off.vacuum.due());
        off.analyze.add(1_000_000);
        assert!(!off.analyze.due());
    }

    #[test]
    fn analyze_due_after_every_inserts_and_not_while_running() {
        let v = Vacuum::new(0, 100).analyze;
        v.add(60);
        assert!(!v.due());
        v.add(60);
        assert!(v.due(), "120 enqueued");
        v.add(500);
        assert!(!v.due(), "the first analyze still runs");
        v.done();
        v.add(1);
        assert!(v.due(), "501 since the last start");
        v.done();
        v.add(99);
        assert!(!v.due(), "the count restarted");
    }
}
