//! `job_ack_many`: acks grouped by queue, one `job_ack_many.lua` call per queue, pipelined.

use std::collections::BTreeMap;

use anp_core::monitor::minute_of;
use anp_core::store::{AckOutcome, AckResult, JobAck, JobAckManyParams};
use anp_core::{Error, Result};
use redis::Value;

use crate::conn::{Call, Redis};
use crate::ops::stats_histogram::{bucket, us};
use crate::ops::stats_record;
use crate::ops::{by_queue, micros, ok};
use crate::record::{bad_reply, int};
use crate::scripts::JOB_ACK_MANY;

const OP: &str = "job_ack_many";

fn error_json(e: &anp_core::AttemptError) -> Result<String> {
    serde_json::to_string(e)
        .map_err(|err| Error::internal(OP, format!("cannot encode an attempt error: {err}")))
}

/// The stats counters of one kind's acks that count (complete, retry, dead), as if every one
/// applies: the script takes out those whose lease was lost. Sums saturate (as `us` does).
#[derive(Default)]
struct KindTotals {
    completed: u64,
    failed: u64,
    dead: u64,
    run: BTreeMap<usize, u64>,
    wait: BTreeMap<usize, u64>,
    run_sum_us: i64,
    wait_sum_us: i64,
}

impl KindTotals {
    /// Counts one ack's outcome (complete, retry and dead count; the others don't) with its run
    /// and wait (bucket, µs), as `job_ack_many.lua` did per applied ack.
    fn count(&mut self, outcome: &AckOutcome, run: (usize, i64), wait: (usize, i64)) {
        match outcome {
            AckOutcome::Complete => self.completed += 1,
            AckOutcome::Retry { .. } => self.failed += 1,
            AckOutcome::Dead { .. } => {
                self.failed += 1;
                self.dead += 1;
            }
            AckOutcome::Snooze { .. } | AckOutcome::Cancel { .. } | AckOutcome::HandBack => return,
        }
        *self.run.entry(run.0).or_default() += 1;
        *self.wait.entry(wait.0).or_default() += 1;
        self.run_sum_us = self.run_sum_us.saturating_add(run.1);
        self.wait_sum_us = self.wait_sum_us.saturating_add(wait.1);
    }

    /// The script's counter, amount pairs: counts above 0, both sums always.
    fn pairs(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for (name, n) in [
            ("completed", self.completed),
            ("failed", self.failed),
            ("dead", self.dead),
        ] {
            if n > 0 {
                out.push((name.to_owned(), n.to_string()));
            }
        }
        for (name, h, sum) in [
            ("run", &self.run, self.run_sum_us),
            ("wait", &self.wait, self.wait_sum_us),
        ] {
            for (b, n) in h {
                out.push((format!("{name}:{b}"), n.to_string()));
            }
            out.push((format!("{name}_sum_us"), sum.to_string()));
        }
        out
    }
}

/// One ack's stats as `job_ack_many.lua` counts them: kind, run and wait as (bucket, µs).
type AckStats<'a> = (&'a str, (usize, i64), (usize, i64));

fn ack_stats(a: &JobAck) -> Option<AckStats<'_>> {
    a.stats.as_ref().map(|st| {
        (
            st.kind.as_str(),
            (bucket(st.run), us(st.run)),
            (bucket(st.wait), us(st.wait)),
        )
    })
}

/// Counts one ack's stats (if it has any) into `totals`.
fn count(totals: &mut BTreeMap<String, KindTotals>, a: &JobAck) {
    if let Some((kind, run, wait)) = ack_stats(a) {
        let t = match totals.get_mut(kind) {
            Some(t) => t,
            None => totals.entry(kind.to_owned()).or_default(),
        };
        t.count(&a.outcome, run, wait);
    }
}

/// One ack's ARGV (see the script's header): id, token, then a complete's completed record
/// when this process fetched the job (`completion`, see `inflight.rs`, else `''`), or another
/// outcome's name, `at` and error.
fn ack_args(call: &mut Call, a: &JobAck, completion: Option<String>) -> Result<()> {
    // Built without core::fmt: this runs for every ack. The token with the space that ends it
    // in the lease text: the script compares the lease's first bytes with it (one
    // `string.sub`, no pattern).
    let mut ints = itoa::Buffer::new();
    let mut token = String::with_capacity(21);
    token.push_str(ints.format(a.lease.token));
    token.push(' ');
    call.arg(a.lease.id.text()).arg(token);
    let (outcome, at, err) = match &a.outcome {
        AckOutcome::Complete => {
            call.arg(completion.unwrap_or_default());
            return Ok(());
        }
        AckOutcome::Retry { at, error } => ("retry", micros(*at).to_string(), error_json(error)?),
        AckOutcome::Dead { error } => ("dead", String::new(), error_json(error)?),
        AckOutcome::Cancel { error } => ("cancel", String::new(), error_json(error)?),
        AckOutcome::Snooze { at } => ("snooze", micros(*at).to_string(), String::new()),
        AckOutcome::HandBack => ("hand_back", String::new(), String::new()),
    };
    call.arg(outcome).arg(at).arg(err);
    Ok(())
}

/// The stats totals at the end of a call's ARGV: kinds, then per kind its counter pairs.
fn totals_args(call: &mut Call, totals: &BTreeMap<String, KindTotals>) {
    call.arg(totals.len());
    for (kind, t) in totals {
        let pairs = t.pairs();
        call.arg(kind).arg(pairs.len());
        for (counter, n) in pairs {
            call.arg(counter).arg(n);
        }
    }
}

/// One result per ack, in input order.
pub(crate) async fn run(r: &Redis, p: JobAckManyParams) -> Result<Vec<AckResult>> {
    if p.acks.is_empty() {
        return Ok(Vec::new());
    }
    let groups = by_queue(&p.acks, |a| &a.lease.queue);
    let mut calls = Vec::with_capacity(groups.len());
    for (queue, idx) in &groups {
        let mut call = r.script(&JOB_ACK_MANY, queue);
        call.arg(micros(p.now))
            .arg(micros(minute_of(p.now)))
            .arg(idx.len());
        let mut totals = BTreeMap::new();
        for &i in idx {
            let a = &p.acks[i];
            let completion = r
                .inflight()
                .take(a.lease.id, a.lease.token)
                .filter(|_| matches!(a.outcome, AckOutcome::Complete))
                .map(|c| c.record(micros(p.now)));
            ack_args(&mut call, a, completion)?;
            count(&mut totals, a);
        }
        totals_args(&mut call, &totals);
        calls.push(call);
    }
    let replies = r.run(OP, calls).await?;
    let mut out = vec![AckResult::LeaseLost; p.acks.len()];
    // Queues whose script left the stats to us: a counted ack lost its lease.
    let mut restats = Vec::new();
    for ((queue, idx), v) in groups.iter().zip(replies) {
        let f = match ok(r, OP, v)? {
            Value::Array(f) if f.len() == idx.len() + 1 => f,
            other => {
                return Err(bad_reply(
                    OP,
                    "one integer per ack and the stats flag",
                    &other,
                ));
            }
        };
        let mut applied = BTreeMap::new();
        for (&i, res) in idx.iter().zip(&f) {
            if int(res) == Some(1) {
                out[i] = AckResult::Applied;
                count(&mut applied, &p.acks[i]);
            }
        }
        if int(&f[idx.len()]) == Some(0) && !applied.is_empty() {
            restats.push((queue, applied));
        }
    }
    if !restats.is_empty() {
        // The applied acks' counters, in the increments stats_record.lua takes. Not atomic
        // with the acks: a crash between the two calls loses these counts (never a job).
        let minute = micros(minute_of(p.now));
        let mut calls = Vec::with_capacity(restats.len());
        for (queue, applied) in &restats {
            let incs: Vec<(&str, String, String)> = applied
                .iter()
                .flat_map(|(kind, t)| {
                    t.pairs()
                        .into_iter()
                        .map(move |(c, n)| (kind.as_str(), c, n))
                })
                .collect();
            calls.push(stats_record::call(
                r,
                queue,
                "",
                incs.iter()
                    .map(|(kind, c, n)| (minute, *kind, c.as_str(), n.as_str())),
            ));
        }
        for v in r.run(OP, calls).await? {
            ok(r, OP, v)?;
        }
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn totals_count_what_an_applied_ack_counts() {
        let mut t = KindTotals::default();
        t.count(&AckOutcome::Complete, (3, 0), (4, 0));
        t.count(&AckOutcome::HandBack, (9, 5), (9, 5));
        assert_eq!(
            t.pairs(),
            [
                ("completed", "1"),
                ("run:3", "1"),
                ("run_sum_us", "0"),
                ("wait:4", "1"),
                ("wait_sum_us", "0")
            ]
            .map(|(c, n)| (c.to_owned(), n.to_owned()))
        );
        let error = anp_core::AttemptError {
            attempt: 1,
            at: jiff::Timestamp::UNIX_EPOCH,
            message: "x".into(),
            retry_safe: true,
        };
        t.count(&AckOutcome::Dead { error }, (3, 7), (16, 5));
        let pairs = t.pairs();
        assert!(pairs.contains(&("failed".to_owned(), "1".to_owned())));
        assert!(pairs.contains(&("dead".to_owned(), "1".to_owned())));
        assert!(pairs.contains(&("run:3".to_owned(), "2".to_owned())));
        assert!(pairs.contains(&("wait:16".to_owned(), "1".to_owned())));
        assert!(pairs.contains(&("run_sum_us".to_owned(), "7".to_owned())));
    }
}
