//! `queue_set_paused`: upserts the queue's row; resuming wakes waiters.

use anp_core::{QueueName, Result};
use jiff::Timestamp;

use crate::conn::{Conn, OpResult};
use crate::ops::notify;
use crate::row::micros;
use crate::store::in_tx;
use crate::PostgresStore;

/// Pauses or resumes in one transaction.
pub(crate) async fn run(
    s: &PostgresStore,
    queue: QueueName,
    paused: bool,
    now: Timestamp,
) -> Result<()> {
    let out = in_tx!(s, "queue_set_paused", |tx| sql(tx, &queue, paused, now));
    s.made_available();
    out
}

async fn sql(c: &dyn Conn, queue: &QueueName, paused: bool, now: Timestamp) -> OpResult<()> {
    c.execute(
        include_str!("../../sql/queue_set_paused.sql"),
        &[&queue.as_str(), &paused, &micros(now)],
    )
    .await?;
    if !paused {
        notify(c).await?;
    }
    Ok(())
}
