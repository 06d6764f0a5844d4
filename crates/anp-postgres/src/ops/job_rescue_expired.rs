//! `job_rescue_expired`: running jobs whose lease expired become available again (or dead when
//! no attempt is left), with the lost attempt in their history.

use anp_core::job::ts_from_micros;
use anp_core::store::{JobRescueParams, Rescued};
use anp_core::{AttemptError, JobState, Result};

use crate::conn::{Conn, OpResult};
use crate::ops::notify;
use crate::row::{self, micros, to_json};
use crate::store::in_tx;
use crate::PostgresStore;

/// Rescues in one transaction.
pub(crate) async fn run(s: &PostgresStore, p: JobRescueParams) -> Result<Vec<Rescued>> {
    if p.limit == 0 {
        return Ok(Vec::new());
    }
    let out = in_tx!(s, "job_rescue_expired", |tx| sql(tx, &p))?;
    if !out.is_empty() {
        s.made_available();
    }
    Ok(out)
}

async fn sql(c: &dyn Conn, p: &JobRescueParams) -> OpResult<Vec<Rescued>> {
    let now = micros(p.now);
    let rows = c
        .query(
            include_str!("../../sql/job_rescue_expired.sql"),
            &[&now, &i64::from(p.limit)],
        )
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    let mut any_available = false;
    for r in &rows {
        let id = row::text(r, 0)?.to_owned();
        let mut rescued = Rescued {
            id: row::job_id(r, 0)?,
            queue: row::queue(r, 1)?,
            kind: row::kind(r, 2)?,
            attempt: row::uint(r, 3, "attempt")?,
            state: JobState::Available,
        };
        let max_attempts = row::uint(r, 4, "max_attempts")?;
        let owner = row::opt_text(r, 5)?.map(str::to_owned);
        let expired_at = row::int(r, 6)?;
        let token = row::int(r, 7)?;
        let error = AttemptError {
            attempt: rescued.attempt,
            at: p.now,
            message: format!(
                "lease expired at {}: worker {} stopped heartbeating (killed, crashed or stalled); attempt lost",
                ts_from_micros(expired_at),
                owner.as_deref().unwrap_or("(unknown)")
            ),
            retry_safe: true,
        };
        let sql = if rescued.attempt >= max_attempts {
            rescued.state = JobState::Dead;
            include_str!("../../sql/job_rescue_expired_dead.sql")
        } else {
            include_str!("../../sql/job_rescue_expired_available.sql")
        };
        let n = c
            .execute(
                sql,
                &[&id, &token, &now, &to_json(&error, "job_rescue_expired")?],
            )
            .await?;
        if n == 1 {
            any_available |= rescued.state == JobState::Available;
            out.push(rescued);
        }
    }
    if any_available {
        notify(c).await?;
    }
    Ok(out)
}
