//! `job_fetch`: one `job_fetch.lua` call leases and returns a whole batch.

use anp_core::store::JobFetchParams;
use anp_core::{Error, Job, JobId, JobState, Result};
use redis::Value;

use crate::conn::Redis;
use crate::inflight::Completion;
use crate::ops::{micros, ok};
use crate::record::{self, bad_reply, int, text};
use crate::scripts::JOB_FETCH;

const OP: &str = "job_fetch";

/// Values per leased job in the script's flat reply before the optional ones: id, record, args.
const PER_JOB: usize = 3;

/// The leased jobs, in fetch order.
pub(crate) async fn run(r: &Redis, p: JobFetchParams) -> Result<Vec<Job>> {
    if p.limit == 0 {
        return Ok(Vec::new());
    }
    let mut call = r.script(&JOB_FETCH, &p.queue);
    call.arg(micros(p.now))
        .arg(micros(p.lease_until))
        .arg(p.limit)
        .arg(&p.worker)
        .arg(p.limit.saturating_sub(1));
    let v = r.run(OP, vec![call]).await?.pop().unwrap_or_default();
    let v = ok(r, OP, v)?;
    let (jobs, completions) = leased(&p, v)?;
    r.inflight().add(completions);
    Ok(jobs)
}

/// Decodes the flat reply (the token base, then per job [`PER_JOB`] values and the error
/// history and unique key its record's flags say it may have, [`record::fetched_extras`]: one
/// array of arrays costs the script's reply conversion more per job) and applies each job's new
/// lease to the record it was fetched with, as `lease_apply` in `lua/lib.lua` does: running, one
/// attempt more, attempted now, the k-th job's token base + k, the expiry and the owner of the
/// request. Also returns each job's completed record but for `finalized_at`, by (id, token),
/// for the ack (`inflight.rs`).
#[allow(clippy::type_complexity)]
fn leased(p: &JobFetchParams, v: Value) -> Result<(Vec<Job>, Vec<((JobId, i64), Completion)>)> {
    let mut flat = match v {
        Value::Array(a) if !a.is_empty() => a.into_iter(),
        Value::Array(_) | Value::Nil => return Ok(Default::default()),
        other => return Err(bad_reply(OP, "a token base and the leased jobs", &other)),
    };
    let base = flat
        .next()
        .as_ref()
        .and_then(int)
        .ok_or_else(|| Error::internal(OP, "the fetch reply has no token base"))?;
    let now = micros(p.now);
    let mut out = Vec::with_capacity(flat.len() / PER_JOB);
    let mut completions = Vec::with_capacity(flat.len() / PER_JOB);
    let nil = Value::Nil;
    let mut k = 0;
    while flat.len() > 0 {
        let (Some(id), Some(rec), Some(args)) = (flat.next(), flat.next(), flat.next()) else {
            return Err(Error::internal(
                OP,
                "the fetch reply ends inside a job's values: expected an id, a record and args per leased job",
            ));
        };
        let Some(rec_text) = text(&rec) else {
            return Err(bad_reply(
                OP,
                "an id, a record and args per leased job",
                &Value::Array(vec![id, rec, args]),
            ));
        };
        let (has_errors, has_unique) = record::fetched_extras(rec_text.as_bytes());
        let completion = Completion::of_fetched(rec_text, now);
        let mut extra = || -> Result<Option<Value>> {
            flat.next()
                .map(Some)
                .ok_or_else(|| Error::internal(OP, "the fetch reply ends inside a job's values"))
        };
        let errors = if has_errors { extra()? } else { None };
        let unique = if has_unique { extra()? } else { None };
        let mut j = record::job_of(
            &p.queue,
            [
                &id,
                &rec,
                &args,
                errors.as_ref().unwrap_or(&nil),
                unique.as_ref().unwrap_or(&nil),
            ],
        )?;
        k += 1;
        if let Some(c) = completion {
            completions.push(((j.id, base + k), c));
        }
        j.state = JobState::Running;
        j.attempt = j.attempt.saturating_add(1);
        j.attempted_at = Some(p.now);
        j.lease_token = Some(base + k);
        j.lease_expires_at = Some(p.lease_until);
        j.lease_owner = Some(p.worker.clone());
        out.push(j);
    }
    Ok((out, completions))
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
        // a record without flags (layout 1's): both optional values follow
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
        let (got, done) = leased(&p, Value::Array(flat.clone())).unwrap();
        assert_eq!(done.len(), 2);
        assert_eq!(done[1].0, (b, 8));
        assert_eq!(
            done[1].1.record(9),
            "completed 1 3 25 1732550400000000 1732550400000000 1732550401000000 9 - - noop"
        );
        assert_eq!(got.iter().map(|j| j.id).collect::<Vec<_>>(), vec![a, b]);
        assert_eq!(got[0].lease_token, Some(7));
        assert_eq!(got[1].lease_token, Some(8));
        assert_eq!(got[1].state, JobState::Running);
        assert_eq!(got[1].attempt, 3);
        assert_eq!(got[1].attempted_at, Some(p.now));
        assert_eq!(got[1].lease_expires_at, Some(p.lease_until));
        assert_eq!(got[1].lease_owner.as_deref(), Some("host 1:42"));
        assert!(leased(&p, Value::Array(Vec::new())).unwrap().0.is_empty());
        flat.pop();
        assert!(leased(&p, Value::Array(flat)).is_err());

        // flagged records: only the values the flags announce follow
        let rec = |flags: &str| {
            bulk(&format!(
                "available 0 0 25 1732550400000000 1732550400000000 - - - - noop {flags}"
            ))
        };
        let (c, d, e) = (JobId::new(), JobId::new(), JobId::new());
        let flat = vec![
            Value::Int(0),
            bulk(&c.to_string()),
            rec("+--"),
            bulk("{}"),
            bulk(&d.to_string()),
            rec("+-u"),
            bulk("{}"),
            bulk("line-7"),
            bulk(&e.to_string()),
            rec("+e-"),
            bulk("{}"),
            bulk(r#"[{"attempt":1,"at":"2024-11-25T16:00:00Z","message":"x","retry_safe":true}]"#),
        ];
        let (got, _) = leased(&p, Value::Array(flat.clone())).unwrap();
        assert_eq!(got.iter().map(|j| j.id).collect::<Vec<_>>(), vec![c, d, e]);
        assert_eq!(got[0].unique_key, None);
        assert!(got[0].errors.is_empty());
        assert_eq!(got[1].unique_key.as_deref(), Some("line-7"));
        assert!(got[1].errors.is_empty());
        assert_eq!(got[2].unique_key, None);
        assert_eq!(got[2].errors.len(), 1);
        let mut short = flat;
        short.pop();
        assert!(leased(&p, Value::Array(short)).is_err());
    }
}
