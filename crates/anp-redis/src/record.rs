//! The Rust side of the job record (`lua/lib.lua` writes it) and of script replies.
//!
//! A job is the fields `<id>` (record), `<id>:args`, `<id>:errors` and `<id>:unique` of its
//! queue's `anp:{<queue>}:jobs` hash. The record is one line of space-separated fields, `-` for
//! none:
//!
//! ```text
//! state priority attempt max_attempts run_at created_at attempted_at finalized_at lease_token lease_expires_at kind [lease_owner]
//! running 5 1 25 1732550400000000 1732550400000000 1732550401000000 - 17 1732550431000000 email.send host-1:4242
//! ```
//!
//! Times are microseconds since the Unix epoch. The owner comes last (it may hold spaces).

use anp_core::job::ts_from_micros;
use anp_core::{Args, AttemptError, Error, Job, JobId, JobState, Kind, QueueName, Result};
use redis::Value;

const OP: &str = "job record";

fn corrupt(queue: &QueueName, what: impl std::fmt::Display) -> Error {
    Error::incompatible(
        OP,
        format!(
            "queue {queue} holds a damaged or foreign job entry ({what}): expected the alphanode key layout (docs/redis-keys.md)"
        ),
    )
}

/// The text of a string reply.
pub(crate) fn text(v: &Value) -> Option<&str> {
    match v {
        Value::BulkString(b) => std::str::from_utf8(b).ok(),
        Value::SimpleString(s) => Some(s),
        Value::VerbatimString { text, .. } => Some(text),
        _ => None,
    }
}

/// An integer reply (or a string holding one).
pub(crate) fn int(v: &Value) -> Option<i64> {
    match v {
        Value::Int(i) => Some(*i),
        v => text(v)?.parse().ok(),
    }
}

/// The items of an array reply.
pub(crate) fn items(v: Value) -> Option<Vec<Value>> {
    match v {
        Value::Array(a) | Value::Set(a) => Some(a),
        Value::Nil => Some(Vec::new()),
        _ => None,
    }
}

/// The field/value pairs of an `HGETALL` reply (a map in RESP3, a flat array in RESP2; a
/// trailing field without a value pairs with `None`), or `None` when the reply is neither.
pub(crate) fn hash_entries(v: Value) -> Option<Vec<(Value, Option<Value>)>> {
    if let Value::Map(m) = v {
        return Some(m.into_iter().map(|(k, v)| (k, Some(v))).collect());
    }
    let mut flat = items(v)?.into_iter();
    let mut out = Vec::new();
    while let Some(k) = flat.next() {
        out.push((k, flat.next()));
    }
    Some(out)
}

/// An unexpected reply shape.
pub(crate) fn bad_reply(op: &str, what: &str, v: &Value) -> Error {
    Error::internal(
        op,
        format!("unexpected reply {v:?} from the store: expected {what}"),
    )
}

fn opt_micros(queue: &QueueName, field: &str, s: &str) -> Result<Option<i64>> {
    if s == "-" {
        return Ok(None);
    }
    s.parse()
        .map(Some)
        .map_err(|_| corrupt(queue, format!("{field} {s:?}")))
}

fn num<T: std::str::FromStr>(queue: &QueueName, field: &str, s: &str) -> Result<T> {
    s.parse()
        .map_err(|_| corrupt(queue, format!("{field} {s:?}")))
}

/// The first fields of a record, split at single spaces as `splitn(N, ' ')` splits them (the
/// `N`-th holding the rest of the text), and how many there are. A byte loop: the `str`
/// searcher cost ~120 instructions per space, and this runs for every job a worker fetches.
pub(crate) fn split_fields<const N: usize>(rec: &str) -> ([&str; N], usize) {
    let mut out = [""; N];
    let mut n = 0;
    let mut start = 0;
    for (i, b) in rec.bytes().enumerate() {
        if b == b' ' && n + 1 < N {
            // a space is one byte in UTF-8, so both ends are char boundaries
            out[n] = &rec[start..i];
            n += 1;
            start = i + 1;
        }
    }
    if N > 0 {
        out[n] = &rec[start..];
        n += 1;
    }
    (out, n)
}

/// Which optional fields a record's flags say its job may have, as `job_fetch.lua` decides
/// what to return: `(error history, unique key)`. The flags ` +eu` end every record layout 2
/// writes (`e`/`u`, or `-` for none; a kind never holds a `+`); a record without them
/// (layout 1's) may have both.
pub(crate) fn fetched_extras(rec: &[u8]) -> (bool, bool) {
    match rec.len().checked_sub(4).and_then(|i| rec.get(i..)) {
        Some(b" +--") => (false, false),
        Some(b" +-u") => (false, true),
        Some(b" +e-") => (true, false),
        _ => (true, true),
    }
}

/// Decodes `{id, record, args, errors, unique key}` (the reply of every script that returns
/// jobs, and of `HMGET` in job_get) for a job of `queue`.
pub(crate) fn job(queue: &QueueName, v: Value) -> Result<Job> {
    match v {
        Value::Array(f) if f.len() == 5 => job_of(queue, [&f[0], &f[1], &f[2], &f[3], &f[4]]),
        other => Err(corrupt(queue, format!("reply {other:?}"))),
    }
}

/// [`job`] from the five values in place (`job_fetch` decodes them straight from its flat
/// reply, without an array per job).
pub(crate) fn job_of(queue: &QueueName, f: [&Value; 5]) -> Result<Job> {
    let id_text = text(f[0]).ok_or_else(|| corrupt(queue, "id"))?;
    let id = JobId::parse(id_text).map_err(|_| corrupt(queue, format!("id {id_text:?}")))?;
    let rec = text(f[1]).ok_or_else(|| corrupt(queue, format!("job {id} has no record")))?;
    // up to 12 fields, the last (a running job's owner) holding the rest of the text
    let (parts, n) = split_fields::<12>(rec);
    if n < 11 {
        return Err(corrupt(queue, format!("job {id} record {rec:?}")));
    }
    let state =
        JobState::parse(parts[0]).map_err(|_| corrupt(queue, format!("state {:?}", parts[0])))?;
    let micros = |i: usize, field: &str| -> Result<i64> { num(queue, field, parts[i]) };
    let args_text = text(f[2]).ok_or_else(|| corrupt(queue, format!("job {id} has no args")))?;
    let args = Args::from_json(args_text).map_err(|_| corrupt(queue, format!("job {id} args")))?;
    let errors: Vec<AttemptError> = match text(f[3]) {
        Some(e) => serde_json::from_str(e)
            .map_err(|err| corrupt(queue, format!("job {id} errors ({err})")))?,
        None => Vec::new(),
    };
    let running = state == JobState::Running;
    Ok(Job {
        id,
        kind: Kind::parse(parts[10])
            .map_err(|_| corrupt(queue, format!("kind {:?}", parts[10])))?,
        queue: queue.clone(),
        args,
        state,
        priority: num(queue, "priority", parts[1])?,
        attempt: num(queue, "attempt", parts[2])?,
        max_attempts: num(queue, "max_attempts", parts[3])?,
        run_at: ts_from_micros(micros(4, "run_at")?),
        created_at: ts_from_micros(micros(5, "created_at")?),
        attempted_at: opt_micros(queue, "attempted_at", parts[6])?.map(ts_from_micros),
        finalized_at: opt_micros(queue, "finalized_at", parts[7])?.map(ts_from_micros),
        unique_key: text(f[4]).map(str::to_owned),
        lease_owner: running.then(|| parts[11].to_owned()),
        lease_expires_at: opt_micros(queue, "lease_expires_at", parts[9])?.map(ts_from_micros),
        lease_token: opt_micros(queue, "lease_token", parts[8])?,
        errors,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn bulk(s: &str) -> Value {
        Value::BulkString(s.as_bytes().to_vec())
    }

    #[test]
    fn decodes_a_running_job_with_an_owner_holding_spaces() {
        let q = QueueName::parse("mail").unwrap();
        let id = JobId::new();
        let v = Value::Array(vec![
            bulk(&id.to_string()),
            bulk("running 3 2 25 1732550400000001 1732550400000000 1732550401000000 - 17 1732550431000000 email.send host 1:42"),
            bulk(r#"{"to":"a@b.c"}"#),
            bulk(r#"[{"attempt":1,"at":"2024-11-25T16:00:00Z","message":"x","retry_safe":true}]"#),
            Value::Nil,
        ]);
        let j = job(&q, v).unwrap();
        assert_eq!(j.state, JobState::Running);
        assert_eq!((j.priority, j.attempt, j.max_attempts), (3, 2, 25));
        assert_eq!(j.run_at.as_microsecond(), 1732550400000001);
        assert_eq!(j.lease_token, Some(17));
        assert_eq!(j.lease_owner.as_deref(), Some("host 1:42"));
        assert!(j.finalized_at.is_none());
        assert_eq!(j.errors.len(), 1);
        assert_eq!(j.args.as_json(), r#"{"to":"a@b.c"}"#);
        assert!(j.unique_key.is_none());
    }

    #[test]
    fn split_fields_splits_as_splitn() {
        for rec in [
            "",
            "a",
            "a b",
            "a  b ",
            " a",
            "running 3 2 25 1 1 1 - 17 9 email.send host 1:42 x",
            "é ü ñ",
        ] {
            let (f, n) = split_fields::<4>(rec);
            let want: Vec<&str> = rec.splitn(4, ' ').collect();
            assert_eq!(&f[..n], &want[..], "{rec:?}");
        }
    }

    #[test]
    fn a_damaged_record_is_incompatible() {
        let q = QueueName::parse("mail").unwrap();
        let v = Value::Array(vec![
            bulk(&JobId::new().to_string()),
            bulk("running 3"),
            bulk("{}"),
            Value::Nil,
            Value::Nil,
        ]);
        let e = job(&q, v).unwrap_err();
        assert_eq!(e.kind(), anp_core::ErrorKind::Incompatible);
    }
}
