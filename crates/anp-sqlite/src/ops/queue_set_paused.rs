//! `queue_set_paused`: upserts the queue's row.

use anp_core::QueueName;
use jiff::Timestamp;
use rusqlite::{params, Connection};

use crate::conn::OpResult;
use crate::row::micros;

/// Done.
pub(crate) fn run(c: &Connection, queue: &QueueName, paused: bool, now: Timestamp) -> OpResult<()> {
    c.prepare_cached(include_str!("../../sql/queue_set_paused.sql"))?
        .execute(params![queue.as_str(), paused, micros(now)])?;
    Ok(())
}
