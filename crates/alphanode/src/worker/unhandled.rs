//! A fetched job of a kind this worker has no handler for.
//!
//! Workers serving different kinds on one queue fetch each other's jobs. When another live
//! process (a worker that registered within [`STALE_AFTER`](crate::admin::STALE_AFTER))
//! declares the kind and serves the job's queue, the job is snoozed for [`SNOOZE`] with its
//! attempt given back, so the worker that serves it gets it; when none does, it is a failed
//! attempt whose message says which kinds this worker serves and how to fix it.

use std::time::{Duration, Instant};

use anp_core::monitor::{ProcessInfo, ProcessListParams};
use anp_core::{Kind, QueueName};

use super::{lock, Inner};

/// How long a job is put back when another live process serves its kind.
pub(super) const SNOOZE: Duration = Duration::from_secs(5);

/// How long one read of the live processes is reused for further such jobs.
const REUSE_FOR: Duration = Duration::from_secs(1);

/// What to do with a job of a kind without a handler here.
pub(super) enum Unhandled {
    /// Another live process declares the kind: give the job back for [`SNOOZE`].
    Snooze {
        /// The ids of the live processes that declare it.
        by: Vec<String>,
    },
    /// Nobody serves it (or that could not be checked): a failed attempt with this message.
    Fail(String),
}

impl Inner {
    /// The kinds this worker serves, for messages: `[a, b]`.
    pub(super) fn kinds_list(&self) -> String {
        let names: Vec<&str> = self.kinds.iter().map(|k| k.as_str()).collect();
        format!("[{}]", names.join(", "))
    }

    /// The live processes, read at most once per [`REUSE_FOR`].
    async fn live_processes(&self) -> anp_core::Result<Vec<ProcessInfo>> {
        if let Some((at, list)) = lock(&self.live).as_ref() {
            if at.elapsed() < REUSE_FOR {
                return Ok(list.clone());
            }
        }
        let list = self
            .store
            .process_list(ProcessListParams {
                now: self.clock.now(),
                stale_after: crate::admin::STALE_AFTER,
            })
            .await?;
        *lock(&self.live) = Some((Instant::now(), list.clone()));
        Ok(list)
    }

    /// Decides what happens to a fetched job of `kind` from `queue`, which this worker has no
    /// handler for. Only a live process that declares the kind *and serves the queue* can take
    /// the job: one that serves the kind on other queues would never fetch it, so the job is
    /// not snoozed for it (that would put it back every 5 s forever, its attempts unspent).
    pub(super) async fn unhandled(&self, kind: &Kind, queue: &QueueName) -> Unhandled {
        let me = &self.options.id;
        let head = format!(
            "no handler for kind {kind} in worker {me}: this worker serves kinds {}",
            self.kinds_list()
        );
        let fix = format!(
            "expected a live worker that serves {kind} on queue {queue}: add a handler for \
             {kind} to this worker (a [[job]] with kind = \"{kind}\" for `anp work`), run a \
             worker that serves it, or fix the job's kind"
        );
        let list = match self.live_processes().await {
            Ok(list) => list,
            Err(e) => {
                return Unhandled::Fail(format!(
                    "{head}; whether a live worker declares kind {kind} could not be checked \
                     ({e}): {fix}"
                ))
            }
        };
        let declaring: Vec<ProcessInfo> = list
            .into_iter()
            .filter(|p| p.id != *me && p.kinds.contains(kind))
            .collect();
        let by: Vec<String> = declaring
            .iter()
            .filter(|p| p.queues.contains(queue))
            .map(|p| p.id.clone())
            .collect();
        if !by.is_empty() {
            return Unhandled::Snooze { by };
        }
        if declaring.is_empty() {
            return Unhandled::Fail(format!(
                "{head}; no live worker declares kind {kind}: {fix}"
            ));
        }
        let elsewhere: Vec<String> = declaring
            .iter()
            .map(|p| {
                let queues: Vec<&str> = p.queues.iter().map(|q| q.as_str()).collect();
                format!("{} on [{}]", p.id, queues.join(", "))
            })
            .collect();
        Unhandled::Fail(format!(
            "{head}; the live workers that declare kind {kind} do not serve queue {queue} ({}): \
             {fix}, or enqueue {kind} jobs on a queue those workers serve",
            elsewhere.join("; ")
        ))
    }
}
