//! `job_export`: every job, page by page by id, inside one read transaction on the reader
//! connection. In WAL mode a read transaction sees one instant and does not block writers
//! (they append to the WAL; the checkpoint waits for the reader to finish).

use anp_core::store::{ExportSink, JobExportParams};
use anp_core::{Job, Result};
use rusqlite::{params, Connection, TransactionBehavior};

use crate::conn::OpResult;
use crate::{row, SqliteStore};

/// Hands every job to `sink`, page by page. The read transaction runs on the blocking pool;
/// pages come back through a short channel so the sink runs here and a slow sink holds back the
/// reader, not memory.
pub(crate) async fn run(
    s: &SqliteStore,
    p: JobExportParams,
    sink: &mut ExportSink<'_>,
) -> Result<u64> {
    let page = p.page.max(1);
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<Job>>(2);
    let task = s.read("job_export", move |c| {
        sql(c, page, |jobs| tx.blocking_send(jobs).is_ok())
    });
    let receive = async {
        let mut sink_result = Ok(());
        while let Some(jobs) = rx.recv().await {
            if sink_result.is_ok() {
                sink_result = sink(jobs);
            }
            if sink_result.is_err() {
                break;
            }
        }
        drop(rx);
        sink_result
    };
    let (n, sunk) = tokio::join!(task, receive);
    sunk?;
    n
}

/// Reads every job in pages of `page`, handing each page to `send`; stops early (without an
/// error) when `send` returns false (the receiver went away).
fn sql(c: &mut Connection, page: u32, mut send: impl FnMut(Vec<Job>) -> bool) -> OpResult<u64> {
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
