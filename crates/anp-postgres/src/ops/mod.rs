//! One module per [`Store`](anp_core::Store) method, named after it: `run` is what the `Store`
//! impl calls (which transaction, empty batches); `sql` is the work inside the transaction,
//! from `sql/<method>*.sql`, on any [`Conn`] (so the transactional enqueue reuses
//! `job_enqueue_many::sql` on the application's transaction). [`cache`] holds the
//! [`CacheStore`](anp_core::cache::CacheStore) methods the same way.

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

use anp_core::{Error, JobId, JobState};

use crate::conn::{Conn, OpResult};
use crate::row;

/// The state of one job, or `None` if it does not exist.
pub(crate) async fn job_state(c: &dyn Conn, id: &str) -> OpResult<Option<JobState>> {
    match c
        .query_opt(include_str!("../../sql/job_get_state.sql"), &[&id])
        .await?
    {
        Some(r) => Ok(Some(row::state(&r, 0)?)),
        None => Ok(None),
    }
}

/// Why a write that needs a job that is not running matched nothing.
pub(crate) async fn not_running_error(c: &dyn Conn, op: &str, id: JobId) -> OpResult<Error> {
    Ok(match job_state(c, &id.to_string()).await? {
        None => job_get::not_found(op, id),
        Some(state) => Error::conflict(
            op,
            format!(
                "job {id} is {state}: expected a job that is not running; cancel it first or wait"
            ),
        ),
    })
}

/// Announces, at commit, that jobs may be available (wakes `job_wait` everywhere).
pub(crate) async fn notify(c: &dyn Conn) -> OpResult<()> {
    c.query(include_str!("../../sql/notify.sql"), &[]).await?;
    Ok(())
}
