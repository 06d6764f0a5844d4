//! `stats_record`: adds per-minute deltas to `stats` (histograms merged in Rust, one read and
//! one write per key), and with `prune_before` deletes older minutes. `job_ack_many` records its
//! batch's stats through here, in its own transaction.

use anp_core::monitor::{Histogram, StatsRecordParams};
use anp_core::Result;
use rusqlite::{params, Connection, OptionalExtension};

use crate::conn::OpResult;
use crate::row::{self, histogram, micros, to_json};
use crate::SqliteStore;

/// Records in one write transaction.
pub(crate) async fn run(s: &SqliteStore, p: StatsRecordParams) -> Result<()> {
    s.write("stats_record", move |c| sql(c, &p)).await
}

/// Records inside the caller's transaction.
pub(crate) fn sql(c: &Connection, p: &StatsRecordParams) -> OpResult<()> {
    let mut read = c.prepare_cached(include_str!("../../sql/stats_record_read.sql"))?;
    let mut write = c.prepare_cached(include_str!("../../sql/stats_record.sql"))?;
    let mut dead = c.prepare_cached(include_str!("../../sql/stats_record_dead.sql"))?;
    for (k, d) in &p.deltas {
        let key = params![micros(k.minute), k.queue.as_str(), k.kind.as_str()];
        let existing = read
            .query_row(key, |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })
            .optional()?;
        let (mut run, mut wait) = match existing {
            Some((r, w)) => (histogram(&r, "run")?, histogram(&w, "wait")?),
            None => (Histogram::default(), Histogram::default()),
        };
        run.merge(&d.run);
        wait.merge(&d.wait);
        write.execute(params![
            micros(k.minute),
            k.queue.as_str(),
            k.kind.as_str(),
            row::count_param(d.enqueued),
            row::count_param(d.completed),
            row::count_param(d.failed),
            to_json(&run, "stats_record")?,
            to_json(&wait, "stats_record")?
        ])?;
        if d.dead > 0 {
            dead.execute(params![
                micros(k.minute),
                k.queue.as_str(),
                k.kind.as_str(),
                row::count_param(d.dead)
            ])?;
        }
    }
    if let Some(before) = p.prune_before {
        c.prepare_cached(include_str!("../../sql/stats_record_prune.sql"))?
            .execute([micros(before)])?;
    }
    Ok(())
}
