//! `job_export`: every job, page by page by id, in one REPEATABLE READ read-only transaction:
//! one instant of the whole store while workers keep writing (MVCC: they are not blocked).

use anp_core::store::{ExportSink, JobExportParams};
use anp_core::Result;

use crate::conn::{Conn, OpResult};
use crate::row;
use crate::store::in_tx;
use crate::PostgresStore;

/// Hands every job to `sink`, page by page.
pub(crate) async fn run(
    s: &PostgresStore,
    p: JobExportParams,
    sink: &mut ExportSink<'_>,
) -> Result<u64> {
    let page = p.page.max(1);
    let mut sink_error = None;
    let n = in_tx!(s, "job_export", snapshot, |tx| sql(
        tx,
        page,
        &mut *sink,
        &mut sink_error
    ))?;
    match sink_error {
        Some(e) => Err(e),
        None => Ok(n),
    }
}

async fn sql(
    c: &dyn Conn,
    page: u32,
    sink: &mut ExportSink<'_>,
    sink_error: &mut Option<anp_core::Error>,
) -> OpResult<u64> {
    let mut after = String::new();
    let mut n = 0u64;
    *sink_error = None;
    loop {
        let rows = c
            .query(
                include_str!("../../sql/job_export.sql"),
                &[&after, &i64::from(page)],
            )
            .await?;
        let jobs = row::jobs(&rows)?;
        let len = jobs.len();
        n += len as u64;
        match jobs.last() {
            Some(last) => after = last.id.to_string(),
            None => break,
        }
        if let Err(e) = sink(jobs) {
            *sink_error = Some(e);
            break;
        }
        if len < page as usize {
            break;
        }
    }
    Ok(n)
}
