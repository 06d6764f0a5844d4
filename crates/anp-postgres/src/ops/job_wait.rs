//! `job_wait`: sleeps until a fetch from one of the queues would return something, or the
//! timeout passes. Wake-ups come from LISTEN/NOTIFY ([`Wake`](crate::wake::Wake)): the waiter
//! subscribes, checks, and sleeps until the next notification — no polling while the listening
//! connection is up (a check every [`SAFETY_NET`] at most), one check every
//! [`POLL_WHILE_DEAF`] while it is down.

use anp_core::store::JobWaitParams;
use anp_core::Result;

use crate::conn::{Conn, OpResult};
use crate::store::in_tx;
use crate::wake::{POLL_WHILE_DEAF, SAFETY_NET};
use crate::PostgresStore;

const OP: &str = "job_wait";

/// Returns when a job may be available on one of `p.queues`, or at `p.timeout`.
pub(crate) async fn run(s: &PostgresStore, p: JobWaitParams) -> Result<()> {
    let deadline = tokio::time::Instant::now() + p.timeout;
    let queues: Vec<String> = p.queues.iter().map(|q| q.as_str().to_owned()).collect();
    let mut heard = s.wake().subscribe();
    crate::vacuum::idle(s);
    loop {
        // Marked seen before the check: a notification after it wakes us.
        heard.borrow_and_update();
        if in_tx!(s, OP, single, |tx| any_available(tx, &queues))? {
            return Ok(());
        }
        let step = if s.wake().listening() {
            SAFETY_NET
        } else {
            POLL_WHILE_DEAF
        };
        let wake_at = deadline.min(tokio::time::Instant::now() + step);
        tokio::select! {
            changed = heard.changed() => {
                if changed.is_err() {
                    tokio::time::sleep_until(wake_at).await;
                }
            }
            _ = tokio::time::sleep_until(wake_at) => {}
        }
        if tokio::time::Instant::now() >= deadline {
            return Ok(());
        }
    }
}

async fn any_available(c: &dyn Conn, queues: &[String]) -> OpResult<bool> {
    let r = c
        .query_one(include_str!("../../sql/job_wait.sql"), &[&queues])
        .await?;
    Ok(r.try_get(0)?)
}
