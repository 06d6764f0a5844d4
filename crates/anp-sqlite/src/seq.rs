//! Job numbers: `jobs.seq`, the rowid, handed out in extents per queue (migration 0008;
//! docs/sqlite-schema.md, "Job numbers").
//!
//! SQLite stores a table's rows in rowid order. With the rowid given in enqueue order, jobs of
//! several queues enqueued in turn lay interleaved, so a fetch or an ack of 25 jobs of one queue
//! changed ~25 table pages (each a 4 KiB WAL frame at commit) where a single queue changes one
//! or two. Each queue now numbers its jobs within an extent of [`EXTENT`] numbers of its own
//! (`job_extents`): the next job gets one more than the highest number in the extent (one
//! statement per queue per write transaction, `job_extent_get.sql`), and a queue that has used
//! its extent up takes the next one above every number handed out so far
//! (`job_extent_high.sql`, indexed). A queue's jobs are therefore neighbours in the table,
//! extent by extent, and numbers stay about as small as the jobs stored. Jobs stored before
//! migration 0008 keep their numbers. A number says nothing else: no query orders by it.

use std::collections::HashMap;

use rusqlite::{Connection, OptionalExtension};

use crate::conn::OpResult;

/// Numbers per extent.
const EXTENT: i64 = 1 << 16;

/// The next job number per queue, within one write transaction (nothing else writes `jobs` or
/// `job_extents` meanwhile, so the numbers it hands out stay free until it commits).
#[derive(Default)]
pub(crate) struct JobNumbers {
    /// queue → (next number, last number of its extent)
    next: HashMap<String, (i64, i64)>,
}

impl JobNumbers {
    /// The number of the next job inserted into `queue`. A number handed out for a row that was
    /// then not inserted (a duplicate) is skipped, not reused: numbers need only be unique.
    pub(crate) fn next(&mut self, c: &Connection, queue: &str) -> OpResult<i64> {
        if let Some((next, last)) = self.next.get_mut(queue) {
            if *next > *last {
                (*next, *last) = new_extent(c, queue)?;
            }
            let n = *next;
            *next += 1;
            return Ok(n);
        }
        let (next, last) = current(c, queue)?;
        self.next.insert(queue.to_owned(), (next + 1, last));
        Ok(next)
    }
}

/// The order to insert `items` in: queue by queue, input order within a queue. Each queue's
/// rows go into its own extent of the table, so inserting them together appends to one page
/// after another instead of seeking between the queues' extents for every row.
pub(crate) fn queue_order<T>(items: &[T], queue: impl Fn(&T) -> &str) -> Vec<usize> {
    let mut order: Vec<usize> = (0..items.len()).collect();
    if items.windows(2).any(|w| queue(&w[0]) != queue(&w[1])) {
        order.sort_by(|&a, &b| queue(&items[a]).cmp(queue(&items[b])));
    }
    order
}

/// The next free number of the queue's current extent, or a new extent when it has none left.
fn current(c: &Connection, queue: &str) -> OpResult<(i64, i64)> {
    let extent: Option<(i64, i64, Option<i64>)> = c
        .prepare_cached(include_str!("../sql/job_extent_get.sql"))?
        .query_row([queue], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    let Some((first, last, highest)) = extent else {
        return new_extent(c, queue);
    };
    let next = match highest {
        Some(h) if h >= first => h + 1,
        _ => first,
    };
    if next > last {
        return new_extent(c, queue);
    }
    Ok((next, last))
}

/// A new extent for the queue, above every number handed out so far; its first number.
fn new_extent(c: &Connection, queue: &str) -> OpResult<(i64, i64)> {
    let high: i64 = c
        .prepare_cached(include_str!("../sql/job_extent_high.sql"))?
        .query_row([], |r| r.get(0))?;
    let first = high.checked_add(1).filter(|f| *f <= i64::MAX - EXTENT);
    let Some(first) = first else {
        return Err(anp_core::Error::internal(
            "job numbers",
            format!("the highest job number is {high}: expected one below 2^63 − 2^16"),
        )
        .into());
    };
    let last = first + EXTENT - 1;
    c.prepare_cached(include_str!("../sql/job_extent_set.sql"))?
        .execute(rusqlite::params![queue, first, last])?;
    Ok((first, last))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// A connection with the two tables the numbering reads: `jobs` reduced to its number and
    /// queue, and `job_extents` as migration 0008 makes it.
    fn db() -> Connection {
        let c = Connection::open_in_memory().unwrap();
        c.execute_batch(
            "CREATE TABLE jobs (seq INTEGER NOT NULL PRIMARY KEY, queue TEXT NOT NULL);",
        )
        .unwrap();
        c.execute_batch(include_str!("../migrations/0008_job_extents.sql"))
            .unwrap();
        c
    }

    fn insert(c: &Connection, n: &mut JobNumbers, queue: &str) -> i64 {
        let seq = n.next(c, queue).unwrap();
        c.execute(
            "INSERT INTO jobs (seq, queue) VALUES (?1, ?2)",
            (seq, queue),
        )
        .unwrap();
        seq
    }

    #[test]
    fn queues_fill_their_extents_and_take_new_ones_above_everything() {
        let c = db();
        // Jobs stored before the migration: numbers 1..=3.
        for _ in 0..3 {
            c.execute("INSERT INTO jobs (queue) VALUES ('old')", [])
                .unwrap();
        }
        let mut n = JobNumbers::default();
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for _ in 0..EXTENT + 5 {
            a.push(insert(&c, &mut n, "a"));
            b.push(insert(&c, &mut n, "b"));
        }
        // a's first extent starts above the old jobs, b's above a's.
        assert_eq!(a[0], 4);
        assert_eq!(b[0], 4 + EXTENT);
        // Within an extent, consecutive; a's second extent starts above b's.
        let e = usize::try_from(EXTENT).unwrap();
        assert!(a[..e].windows(2).all(|w| w[1] == w[0] + 1));
        assert_eq!(a[e], 4 + 2 * EXTENT);
        assert_eq!(b[e], 4 + 3 * EXTENT);
        // A later transaction goes on where the queue's extent stands.
        let mut later = JobNumbers::default();
        assert_eq!(insert(&c, &mut later, "a"), a[a.len() - 1] + 1);
        // A new queue, after a queue's newest jobs were deleted: nothing is handed out twice.
        c.execute("DELETE FROM jobs WHERE queue = 'b' AND seq > ?1", [b[e]])
            .unwrap();
        assert_eq!(insert(&c, &mut later, "b"), b[e] + 1);
        assert_eq!(insert(&c, &mut later, "c"), 4 + 4 * EXTENT);
        let dupes: i64 = c
            .query_row("SELECT count(*) - count(DISTINCT seq) FROM jobs", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(dupes, 0);
    }
}
