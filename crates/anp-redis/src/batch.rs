//! Read coalescing for `cache_read` (auto-pipelining, as ioredis' `enableAutoPipelining` and
//! Lettuce do; the DataLoader pattern).
//!
//! Concurrent cache reads each used to send their own pipeline (a `GET`, and an `MGET` of the
//! namespace's generation and tag versions) through the shared multiplexed connection. The
//! client pays per command (encoding it, a channel hop to the connection task, a reply parsed
//! and routed back) and so does the server (one command dispatch each). Here every read is
//! queued to one task per store, which takes **whatever is queued** (at most [`MAX_BATCH`]
//! reads) and sends it as one `MGET` per slot ([`crate::ops::cache_read::read_many`]):
//! standalone, one `MGET` of every entry and every distinct generation / tag key; Cluster, one
//! per slot, the slot groups sent concurrently as [`crate::conn::Link::send`] does for any call.
//!
//! - **No added latency.** The task never waits on a timer: a read that finds it idle goes out
//!   at once, alone. Batches form only while earlier ones are on the wire: at most
//!   [`MAX_IN_FLIGHT`] batches are outstanding, and reads arriving meanwhile queue up for the
//!   next one.
//! - **Errors reach every caller.** A failed batch (the connection down, a reply that is not
//!   what was asked for) is each of its callers' error; a command's error reply is the error of
//!   the reads that used that command.
//! - **No caller is lost.** Each caller keeps its parameters (`Arc`); if the task is gone
//!   (panicked, or its runtime shut down) before answering, the caller reads on its own, as
//!   before batching existed (a read is safe to repeat), and the next read starts a new task.

use std::sync::{Arc, RwLock};

use anp_core::cache::{CacheRead, CacheReadParams};
use anp_core::Result;
use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio::sync::{mpsc, oneshot};

use crate::conn::Link;
use crate::ops::cache_read::read_many;

/// Most reads in one batch: bounds one `MGET`'s reply (≈ 256 × the value size) and the time
/// its parsing holds the task.
pub(crate) const MAX_BATCH: usize = 256;

/// Most batches on the wire at once. One would leave the connection idle while a reply is
/// parsed and handed out; too many only splits the queue into smaller batches. Measured on a
/// quiet machine (BENCHMARKS.md, cache get-hit, 50 callers): 2 gave 157k reads/s, 8 gave 212k,
/// 16 gave 166k (one run each, 3–5 rounds).
pub(crate) const MAX_IN_FLIGHT: usize = 8;

/// One queued read and where its answer goes.
struct Pending {
    read: Arc<CacheReadParams>,
    reply: oneshot::Sender<Result<CacheRead>>,
}

/// The queue of one store's cache reads and the task that drains it (started by the first read,
/// and again by the next read after it stopped).
pub(crate) struct ReadBatcher {
    link: Link,
    /// The running task's queue; `None` before the first read.
    queue: RwLock<Option<mpsc::UnboundedSender<Pending>>>,
}

impl ReadBatcher {
    pub(crate) fn new(link: Link) -> ReadBatcher {
        ReadBatcher {
            link,
            queue: RwLock::new(None),
        }
    }

    /// Reads through the next batch: the same answer as reading alone.
    pub(crate) async fn read(&self, read: CacheReadParams) -> Result<CacheRead> {
        let read = Arc::new(read);
        let (reply, answer) = oneshot::channel();
        let queued = self.enqueue(Pending {
            read: read.clone(),
            reply,
        });
        if queued {
            if let Ok(out) = answer.await {
                return out;
            }
            // The task dropped the read unanswered (it panicked or its runtime is shutting
            // down): read alone instead.
        }
        let mut out = read_many(&self.link, &[&*read]).await;
        out.pop().unwrap_or_else(|| {
            Err(anp_core::Error::internal(
                "cache_read",
                "no answer for a read of one key: expected one",
            ))
        })
    }

    /// Hands `p` to the task, starting one when there is none (or it stopped). `false` when no
    /// task can run here (called outside a Tokio runtime).
    fn enqueue(&self, p: Pending) -> bool {
        let p = {
            let queue = self.queue.read().unwrap_or_else(|e| e.into_inner());
            match queue.as_ref() {
                Some(q) => match q.send(p) {
                    Ok(()) => return true,
                    Err(mpsc::error::SendError(p)) => p,
                },
                None => p,
            }
        };
        let mut queue = self.queue.write().unwrap_or_else(|e| e.into_inner());
        // Another caller may have started it meanwhile.
        let p = match queue.as_ref() {
            Some(q) => match q.send(p) {
                Ok(()) => return true,
                Err(mpsc::error::SendError(p)) => {
                    tracing::warn!(
                        store = %self.link.target(),
                        "cache read batcher stopped; starting a new one"
                    );
                    p
                }
            },
            None => p,
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return false;
        };
        let (tx, rx) = mpsc::unbounded_channel();
        runtime.spawn(drain(self.link.clone(), rx));
        let sent = tx.send(p).is_ok();
        *queue = Some(tx);
        sent
    }
}

/// The task: takes what is queued, up to [`MAX_BATCH`], whenever fewer than [`MAX_IN_FLIGHT`]
/// batches are outstanding; ends when the store is dropped (the queue closes) and every batch
/// has been answered.
async fn drain(link: Link, mut queue: mpsc::UnboundedReceiver<Pending>) {
    let mut in_flight = FuturesUnordered::new();
    let mut open = true;
    while open || !in_flight.is_empty() {
        let next = if open && in_flight.len() < MAX_IN_FLIGHT {
            if in_flight.is_empty() {
                queue.recv().await
            } else {
                // Whichever comes first: a read to send, or a batch answered (freeing a slot).
                tokio::select! {
                    biased;
                    _ = in_flight.next() => continue,
                    p = queue.recv() => p,
                }
            }
        } else {
            in_flight.next().await;
            continue;
        };
        let Some(first) = next else {
            open = false;
            continue;
        };
        let mut batch = Vec::with_capacity(MAX_BATCH.min(queue.len() + 1));
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(p) => batch.push(p),
                Err(_) => break,
            }
        }
        in_flight.push(answer(link.clone(), batch));
    }
}

/// Sends one batch and hands each caller its answer (a caller that went away is skipped).
async fn answer(link: Link, batch: Vec<Pending>) {
    let (reads, replies): (Vec<Arc<CacheReadParams>>, Vec<_>) =
        batch.into_iter().map(|p| (p.read, p.reply)).unzip();
    let params: Vec<&CacheReadParams> = reads.iter().map(|r| &**r).collect();
    let out = read_many(&link, &params).await;
    for (reply, out) in replies.into_iter().zip(out) {
        let _ = reply.send(out);
    }
}
