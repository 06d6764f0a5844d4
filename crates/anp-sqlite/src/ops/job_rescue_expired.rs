//! `job_rescue_expired`: running jobs whose lease expired become available again (or dead when
//! no attempt is left), with the lost attempt in their history.

use anp_core::job::ts_from_micros;
use anp_core::store::{JobRescueParams, Rescued};
use anp_core::{AttemptError, JobState, Result};
use rusqlite::{params, Connection};

use crate::conn::OpResult;
use crate::row::{self, attempt_error_json, micros};
use crate::SqliteStore;

struct Expired {
    id: String,
    rescued: Rescued,
    max_attempts: u32,
    owner: Option<String>,
    expired_at: i64,
    token: i64,
}

/// Rescues in one write transaction; waiters are woken when a job became available.
pub(crate) async fn run(s: &SqliteStore, p: JobRescueParams) -> Result<Vec<Rescued>> {
    if p.limit == 0 {
        return Ok(Vec::new());
    }
    s.write_waking("job_rescue_expired", move |c| sql(c, &p))
        .await
}

/// The rescued jobs, and whether any became available (to wake local waiters).
fn sql(c: &Connection, p: &JobRescueParams) -> OpResult<(Vec<Rescued>, bool)> {
    let now = micros(p.now);
    let mut expired = Vec::new();
    {
        let mut stmt = c.prepare_cached(include_str!("../../sql/job_rescue_expired.sql"))?;
        let mut rows = stmt.query(params![now, p.limit])?;
        while let Some(r) = rows.next()? {
            expired.push(Expired {
                id: row::text(r, 0, "id")?.to_owned(),
                rescued: Rescued {
                    id: row::job_id(r, 0)?,
                    queue: row::queue(r, 1)?,
                    kind: row::kind(r, 2)?,
                    attempt: row::uint(r, 3, "attempt")?,
                    state: JobState::Available,
                },
                max_attempts: row::uint(r, 4, "max_attempts")?,
                owner: row::opt_text(r, 5, "lease_owner")?.map(str::to_owned),
                expired_at: row::int(r, 6, "lease_expires_at")?,
                token: row::int(r, 7, "lease_token")?,
            });
        }
    }
    let mut out = Vec::with_capacity(expired.len());
    let mut any_available = false;
    for mut e in expired {
        let error = AttemptError {
            attempt: e.rescued.attempt,
            at: p.now,
            message: format!(
                "lease expired at {}: worker {} stopped heartbeating (killed, crashed or stalled); attempt lost",
                ts_from_micros(e.expired_at),
                e.owner.as_deref().unwrap_or("(unknown)")
            ),
            retry_safe: true,
        };
        let sql = if e.rescued.attempt >= e.max_attempts {
            e.rescued.state = JobState::Dead;
            include_str!("../../sql/job_rescue_expired_dead.sql")
        } else {
            include_str!("../../sql/job_rescue_expired_available.sql")
        };
        let n = c
            .prepare_cached(sql)?
            .execute(params![e.id, e.token, now])?;
        if n == 1 {
            super::job_ack_many::append_error(c, &e.id, &attempt_error_json(&error)?)?;
            any_available |= e.rescued.state == JobState::Available;
            out.push(e.rescued);
        }
    }
    Ok((out, any_available))
}
