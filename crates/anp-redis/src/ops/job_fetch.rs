//! `job_fetch`: one `job_fetch.lua` call leases and returns a whole batch.

use anp_core::store::JobFetchParams;
use anp_core::{Job, QueueName, Result};
use redis::Value;

use crate::conn::Redis;
use crate::ops::{jobs, micros, ok};
use crate::record::bad_reply;
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
    leased(&p.queue, v)
}

/// Decodes the flat reply, [`PER_JOB`] values per job (one array of arrays costs the script's
/// reply conversion more per job), as the array of job replies [`jobs`] reads.
fn leased(queue: &QueueName, v: Value) -> Result<Vec<Job>> {
    let flat = match v {
        Value::Array(a) if a.len() % PER_JOB == 0 => a,
        Value::Nil => Vec::new(),
        other => return Err(bad_reply(OP, "five values per leased job", &other)),
    };
    let mut each = Vec::with_capacity(flat.len() / PER_JOB);
    let mut values = flat.into_iter();
    while values.len() > 0 {
        each.push(Value::Array(values.by_ref().take(PER_JOB).collect()));
    }
    jobs(OP, queue, Value::Array(each))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn bulk(s: &str) -> Value {
        Value::BulkString(s.as_bytes().to_vec())
    }

    #[test]
    fn decodes_five_values_per_job_and_refuses_a_partial_one() {
        let q = QueueName::parse("mail").unwrap();
        let job = |id: &str| {
            vec![
                bulk(id),
                bulk("running 1 1 25 1732550400000000 1732550400000000 1732550401000000 - 7 1732550431000000 noop w"),
                bulk("{}"),
                Value::Nil,
                Value::Nil,
            ]
        };
        let (a, b) = (anp_core::JobId::new(), anp_core::JobId::new());
        let mut flat = job(&a.to_string());
        flat.extend(job(&b.to_string()));
        let got = leased(&q, Value::Array(flat.clone())).unwrap();
        assert_eq!(got.iter().map(|j| j.id).collect::<Vec<_>>(), vec![a, b]);
        assert_eq!(got[1].lease_token, Some(7));
        assert!(leased(&q, Value::Array(Vec::new())).unwrap().is_empty());
        flat.pop();
        assert!(leased(&q, Value::Array(flat)).is_err());
    }
}
