//! `job_export`: every job, page by page by id, inside one read transaction on the reader
//! connection. In WAL mode a read transaction sees one instant and does not block writers
//! (they append to the WAL; the checkpoint waits for the reader to finish).

use anp_core::Job;
use rusqlite::{params, Connection, TransactionBehavior};

use crate::conn::OpResult;
use crate::row;

/// Reads every job in pages of `page`, handing each page to `send`; stops early (without an
/// error) when `send` returns false (the receiver went away).
pub(crate) fn run(
    c: &mut Connection,
    page: u32,
    mut send: impl FnMut(Vec<Job>) -> bool,
) -> OpResult<u64> {
    let tx = c.transaction_with_behavior(TransactionBehavior::Deferred)?;
    let mut after = String::new();
    let mut n = 0u64;
    loop {
        let jobs = {
            let mut stmt = tx.prepare_cached(include_str!("../../sql/job_export.sql"))?;
            let jobs = row::jobs(stmt.query(params![after, page])?)?;
            jobs
        };
        let len = jobs.len();
        n += len as u64;
        match jobs.last() {
            Some(last) => after = last.id.to_string(),
            None => break,
        }
        if !send(jobs) || len < page as usize {
            break;
        }
    }
    tx.finish()?;
    Ok(n)
}
