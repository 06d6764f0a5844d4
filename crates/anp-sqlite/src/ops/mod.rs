//! One module per [`Store`](anp_core::Store) method, named after it. In each, `run` is what
//! the `Store` impl calls (in the span `anp.store.<method>`): it picks the writer transaction
//! or the reader connection, skips empty batches and wakes waiters after a commit that made
//! jobs available; `sql` is the work inside the transaction, pulling its statements from
//! `sql/<method>*.sql`. `store_checks` reads no SQL and `store_snapshot` holds the backup copy;
//! `schedule_fire_log` is not a method but the fire log's writes, which `schedule_claim_tick`
//! and `schedule_trigger` share. [`cache`] holds the [`CacheStore`](anp_core::cache::CacheStore)
//! methods, one module each, the same way.

pub(crate) mod audit_list;
pub(crate) mod audit_record;
pub(crate) mod cache;
pub(crate) mod deploy_list;
pub(crate) mod deploy_mark;
pub(crate) mod job_ack_many;
pub(crate) mod job_cancel;
pub(crate) mod job_delete;
pub(crate) mod job_enqueue_many;
pub(crate) mod job_export;
pub(crate) mod job_fetch;
pub(crate) mod job_fetch_queues;
pub(crate) mod job_get;
pub(crate) mod job_heartbeat_many;
pub(crate) mod job_import_many;
pub(crate) mod job_list;
pub(crate) mod job_promote_due;
pub(crate) mod job_prune;
pub(crate) mod job_rescue_expired;
pub(crate) mod job_retry;
pub(crate) mod job_retry_dead;
pub(crate) mod job_wait;
pub(crate) mod process_heartbeat;
pub(crate) mod process_list;
pub(crate) mod process_remove;
pub(crate) mod queue_list;
pub(crate) mod queue_purge;
pub(crate) mod queue_set_paused;
pub(crate) mod schedule_claim_tick;
pub(crate) mod schedule_delete;
pub(crate) mod schedule_fire_log;
pub(crate) mod schedule_get;
pub(crate) mod schedule_list;
pub(crate) mod schedule_set_paused;
pub(crate) mod schedule_sync;
pub(crate) mod schedule_trigger;
pub(crate) mod stats_query;
pub(crate) mod stats_record;
pub(crate) mod store_checks;
pub(crate) mod store_ping;
pub(crate) mod store_snapshot;

use anp_core::{Error, JobId, JobState};
use rusqlite::Connection;

use crate::conn::OpResult;
use crate::row;

/// The state of one job, or `None` if it does not exist: explains why a conditional write
/// matched nothing.
pub(crate) fn job_state(c: &Connection, id: &str) -> OpResult<Option<JobState>> {
    let mut stmt = c.prepare_cached(include_str!("../../sql/job_get_state.sql"))?;
    let mut rows = stmt.query([id])?;
    match rows.next()? {
        Some(r) => Ok(Some(row::state(r, 0)?)),
        None => Ok(None),
    }
}

/// Why a write that needs a job that is not running matched nothing: the job is missing
/// (`NotFound`) or running (`Conflict`, with what to do).
pub(crate) fn not_running_error(c: &Connection, op: &str, id: JobId) -> OpResult<Error> {
    Ok(match job_state(c, &id.to_string())? {
        None => job_get::not_found(op, id),
        Some(state) => Error::conflict(
            op,
            format!(
                "job {id} is {state}: expected a job that is not running; cancel it first or wait"
            ),
        ),
    })
}
