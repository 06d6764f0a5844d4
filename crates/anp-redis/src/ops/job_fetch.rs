//! `job_fetch`: one `job_fetch.lua` call leases and returns a whole batch.

use anp_core::store::JobFetchParams;
use anp_core::{Error, Job, JobState, Result};
use redis::Value;

use crate::conn::Redis;
use crate::ops::{jobs, micros, ok};
use crate::record::{bad_reply, int};
use crate::scripts::JOB_FETCH;

const OP: &str = "job_fetch";

/// Values per leased job in the script's flat reply: id, record, args, errors, unique key.
const PER_JOB: usize = 5;

/// The leased jobs, in fetch order.
pub(crate) async fn run(r: &Redis, p: JobFetchParams) -> Result<Vec<Job>> {
    if p.limit == 0 {
        return Ok(Vec::new());
    }
    let mut call = r.script(&JOB_FETCH, &p.queue);
    call.arg(micros(p.now))
        .arg(micros(p.lease_until))
        .arg(p.limit)
        .arg(&p.worker);
    let v = r.run(OP, vec![call]).await?.pop().unwrap_or_default();
    let v = ok(r, OP, v)?;
    leased(&p, v)
}

/// Decodes the flat reply (the token before the first job's, then [`PER_JOB`] values per job:
/// one array of arrays costs the script's reply conversion more per job) and applies each
/// job's new lease to the record it was fetched with, as `lease_apply` in `lua/lib.lua` does:
/// running, one attempt more, attempted now, the k-th job's token base + k, the expiry and the
/// owner of the request.
fn leased(p: &JobFetchParams, v: Value) -> Result<Vec<Job>> {
    let mut flat = match v {
        Value::Array(a) if a.len() % PER_JOB == 1 => a.into_iter(),
        Value::Array(a) if a.is_empty() => return Ok(Vec::new()),
        Value::Nil => return Ok(Vec::new()),
        other => {
            return Err(bad_reply(
                OP,
                "a token base and five values per leased job",
                &other,
            ))
        }
    };
    let base = flat
        .next()
        .as_ref()
        .and_then(int)
        .ok_or_else(|| Error::internal(OP, "the fetch reply has no token base"))?;
    let mut each = Vec::with_capacity(flat.len() / PER_JOB);
    while flat.len() > 0 {
        each.push(Value::Array(flat.by_ref().take(PER_JOB).collect()));
    }
    let mut out = jobs(OP, &p.queue, Value::Array(each))?;
    for (k, j) in (1..).zip(out.iter_mut()) {
        j.state = JobState::Running;
        j.attempt = j.attempt.saturating_add(1);
        j.attempted_at = Some(p.now);
        j.lease_token = Some(base + k);
        j.lease_expires_at = Some(p.lease_until);
        j.lease_owner = Some(p.worker.clone());
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn bulk(s: &str) -> Value {
        Value::BulkString(s.as_bytes().to_vec())
    }

    #[test]
    fn applies_the_lease_to_each_record_and_refuses_a_partial_job() {
        let p = JobFetchParams {
            queue: anp_core::QueueName::parse("mail").unwrap(),
            limit: 10,
            worker: "host 1:42".into(),
            now: jiff::Timestamp::from_microsecond(1732550401000000).unwrap(),
            lease_until: jiff::Timestamp::from_microsecond(1732550431000000).unwrap(),
        };
        let job = |id: &str| {
            vec![
                bulk(id),
                bulk("available 1 2 25 1732550400000000 1732550400000000 1732550300000000 - - - noop"),
                bulk("{}"),
                Value::Nil,
                Value::Nil,
            ]
        };
        let (a, b) = (anp_core::JobId::new(), anp_core::JobId::new());
        let mut flat = vec![Value::Int(6)];
        flat.extend(job(&a.to_string()));
        flat.extend(job(&b.to_string()));
        let got = leased(&p, Value::Array(flat.clone())).unwrap();
        assert_eq!(got.iter().map(|j| j.id).collect::<Vec<_>>(), vec![a, b]);
        assert_eq!(got[0].lease_token, Some(7));
        assert_eq!(got[1].lease_token, Some(8));
        assert_eq!(got[1].state, JobState::Running);
        assert_eq!(got[1].attempt, 3);
        assert_eq!(got[1].attempted_at, Some(p.now));
        assert_eq!(got[1].lease_expires_at, Some(p.lease_until));
        assert_eq!(got[1].lease_owner.as_deref(), Some("host 1:42"));
        assert!(leased(&p, Value::Array(Vec::new())).unwrap().is_empty());
        flat.pop();
        assert!(leased(&p, Value::Array(flat)).is_err());
    }
}
