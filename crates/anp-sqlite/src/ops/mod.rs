//! One module per [`Store`](anp_core::Store) method: the SQL work it does inside the
//! transaction (or read) that [`SqliteStore`](crate::SqliteStore) runs it in. Each pulls its
//! statements from `sql/<method>*.sql`.

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
pub(crate) mod operations;
pub(crate) mod queue_list;
pub(crate) mod queue_purge;
pub(crate) mod queue_set_paused;
pub(crate) mod schedule;
pub(crate) mod store_checks;
pub(crate) mod store_ping;

use anp_core::JobState;
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
