//! `queue_set_paused`: upserts the queue's row.

use anp_core::{QueueName, Result};
use jiff::Timestamp;
use rusqlite::{params, Connection};

use crate::conn::OpResult;
use crate::row::micros;
use crate::SqliteStore;

/// Pauses or resumes in one write transaction; resuming wakes waiters.
pub(crate) async fn run(
    s: &SqliteStore,
    queue: QueueName,
    paused: bool,
    now: Timestamp,
) -> Result<()> {
    s.write_waking("queue_set_paused", move |c| {
        sql(c, &queue, paused, now)?;
        Ok(((), !paused))
    })
    .await
}

/// Done.
fn sql(c: &Connection, queue: &QueueName, paused: bool, now: Timestamp) -> OpResult<()> {
    c.prepare_cached(include_str!("../../sql/queue_set_paused.sql"))?
        .execute(params![queue.as_str(), paused, micros(now)])?;
    Ok(())
}
