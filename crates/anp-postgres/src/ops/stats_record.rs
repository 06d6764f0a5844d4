//! `stats_record`: adds per-minute deltas to `stats`: each bucket's row is locked
//! (`FOR UPDATE`, after making sure it exists), its histograms merged in Rust and written back.
//! Buckets are visited in key order (a `BTreeMap`), so concurrent recorders never deadlock.
//! `job_ack_many` records its batch's stats through here, in its own transaction.

use anp_core::monitor::StatsRecordParams;
use anp_core::Result;

use super::stats_query::histogram;
use crate::conn::{Conn, OpResult};
use crate::row::{self, count_param, micros, to_json};
use crate::store::in_tx;
use crate::PostgresStore;

/// Records in one transaction.
pub(crate) async fn run(s: &PostgresStore, p: StatsRecordParams) -> Result<()> {
    in_tx!(s, "stats_record", |tx| sql(tx, &p))
}

/// Records in the caller's transaction, committed without waiting for the WAL flush (the
/// acknowledgements' stats: see `job_ack_many`).
pub(crate) async fn sql_lazy(c: &dyn Conn, p: &StatsRecordParams) -> OpResult<()> {
    c.execute(include_str!("../../sql/stats_record_lazy.sql"), &[])
        .await?;
    sql(c, p).await
}

/// Records inside the caller's transaction.
pub(crate) async fn sql(c: &dyn Conn, p: &StatsRecordParams) -> OpResult<()> {
    for (k, d) in &p.deltas {
        let minute = micros(k.minute);
        let (queue, kind) = (k.queue.as_str(), k.kind.as_str());
        c.execute(
            include_str!("../../sql/stats_record_ensure.sql"),
            &[&minute, &queue, &kind],
        )
        .await?;
        let r = c
            .query_one(
                include_str!("../../sql/stats_record_read.sql"),
                &[&minute, &queue, &kind],
            )
            .await?;
        let mut run = histogram(row::text(&r, 0)?, "run")?;
        let mut wait = histogram(row::text(&r, 1)?, "wait")?;
        run.merge(&d.run);
        wait.merge(&d.wait);
        c.execute(
            include_str!("../../sql/stats_record.sql"),
            &[
                &minute,
                &queue,
                &kind,
                &count_param(d.enqueued),
                &count_param(d.completed),
                &count_param(d.failed),
                &count_param(d.dead),
                &to_json(&run, "stats_record")?,
                &to_json(&wait, "stats_record")?,
            ],
        )
        .await?;
    }
    if let Some(before) = p.prune_before {
        c.execute(
            include_str!("../../sql/stats_record_prune.sql"),
            &[&micros(before)],
        )
        .await?;
    }
    Ok(())
}
