//! `cache_watch`: a task with its own pub/sub connection (RESP2 `SUBSCRIBE anp:c:changes`),
//! never the shared command connection. In Cluster it subscribes on one node of the URL: a
//! `PUBLISH` on any node is broadcast to all of them. The connection is made from the URL's
//! node clients ([`Redis::feed_clients`]), so credentials, TLS and `ca=` apply as for every
//! other connection.
//!
//! Every message is delivered as [`WatchEvent::Change`] (an undecodable one is skipped with a
//! warning). When the connection ends (server restart, `CLIENT KILL`, network) or stops
//! answering the keep-alive `PING`, the task reconnects with backoff (50 ms doubling to 1 s,
//! trying the URL's nodes in turn) and, once subscribed again, delivers
//! [`WatchEvent::Resync`] before any later change: what was published meanwhile is lost. The
//! first subscription is made before `cache_watch` returns, so a change published after it
//! returns is delivered; if that first attempt finds the server unreachable, the task keeps
//! trying and starts with a `Resync` (an error that retrying cannot cure, such as refused
//! credentials or a user without `&*` channel permission, is returned instead). Dropping the
//! returned [`CacheWatch`] aborts the task, closing its connection.

use std::time::Duration;

use anp_core::cache::{CacheWatch, WatchEvent, WatchSink};
use anp_core::Result;
use futures_util::StreamExt;
use redis::aio::{PubSubSink, PubSubStream};
use redis::Value;
use tokio::task::AbortHandle;

use crate::conn::{map_error, Redis, CONNECT_TIMEOUT, RESPONSE_TIMEOUT};
use crate::keys;
use crate::ops::cache_publish::Published;

const OP: &str = "cache_watch";

/// How often an idle feed connection is checked with a `PING`.
const KEEPALIVE: Duration = Duration::from_secs(5);
/// First reconnect delay (after an immediate first try), doubled up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(50);
/// Longest wait between reconnect attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// Stops the watch task when dropped.
struct WatchGuard(AbortHandle);

impl Drop for WatchGuard {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The clients to subscribe with and the redacted URL, owned by the task.
struct Feed {
    clients: Vec<redis::Client>,
    target: String,
}

/// A subscribed connection: its control half (`PING`) and its messages.
type Subscribed = (PubSubSink, PubSubStream);

impl Feed {
    /// Connects to node `i` (modulo the node count) and subscribes to the changes channel.
    async fn subscribe(&self, i: usize) -> Result<Subscribed> {
        let Some(client) = self.clients.get(i % self.clients.len().max(1)) else {
            return Err(anp_core::Error::internal(OP, "no node to subscribe on"));
        };
        let timed_out = || {
            map_error(
                OP,
                &self.target,
                redis::RedisError::from(std::io::Error::from(std::io::ErrorKind::TimedOut)),
            )
        };
        let pubsub = tokio::time::timeout(CONNECT_TIMEOUT, client.get_async_pubsub())
            .await
            .map_err(|_| timed_out())?
            .map_err(|e| map_error(OP, &self.target, e))?;
        let (mut sink, stream) = pubsub.split();
        tokio::time::timeout(RESPONSE_TIMEOUT, sink.subscribe(keys::CACHE_CHANGES))
            .await
            .map_err(|_| timed_out())?
            .map_err(|e| map_error(OP, &self.target, e))?;
        Ok((sink, stream))
    }

    /// Subscribes again, trying the nodes in turn with backoff until one answers.
    async fn resubscribe(&self, node: &mut usize) -> Subscribed {
        let mut delay = Duration::ZERO;
        let mut failures = 0u32;
        loop {
            tokio::time::sleep(delay).await;
            match self.subscribe(*node).await {
                Ok(s) => {
                    if failures > 0 {
                        tracing::info!(store = %self.target, failures, "cache invalidation feed is back");
                    }
                    return s;
                }
                Err(e) => {
                    failures += 1;
                    if failures == 1 {
                        tracing::warn!(store = %self.target, error = %e, "cache invalidation feed cannot reconnect yet; retrying with backoff");
                    } else {
                        tracing::debug!(store = %self.target, error = %e, failures, "cache invalidation feed reconnect failed");
                    }
                    *node = node.wrapping_add(1);
                    delay = (delay * 2).clamp(FIRST_BACKOFF, MAX_BACKOFF);
                }
            }
        }
    }
}

/// Starts the watch (see the module docs).
pub(crate) async fn run(r: &Redis, sink: WatchSink) -> Result<CacheWatch> {
    let feed = Feed {
        clients: r.feed_clients().to_vec(),
        target: r.target().to_owned(),
    };
    let first = match feed.subscribe(0).await {
        Ok(s) => Some(s),
        // Refused credentials or channel permissions (NOPERM), a failed TLS handshake:
        // retrying cannot help, so the caller hears of it.
        Err(e) if !e.retry_safe() => return Err(e),
        Err(e) => {
            tracing::warn!(store = %feed.target, error = %e, "cache invalidation feed unavailable; retrying in the background (caches resync when it is back)");
            None
        }
    };
    let task = tokio::spawn(watch(feed, first, sink));
    Ok(CacheWatch::new(Box::new(WatchGuard(task.abort_handle()))))
}

/// The task: deliver, and on a lost connection resubscribe and deliver `Resync` first.
async fn watch(feed: Feed, mut first: Option<Subscribed>, sink: WatchSink) {
    let mut node = 0usize;
    loop {
        let (mut ctl, mut messages) = match first.take() {
            Some(s) => s,
            None => {
                let s = feed.resubscribe(&mut node).await;
                sink(WatchEvent::Resync);
                s
            }
        };
        let mut keepalive =
            tokio::time::interval_at(tokio::time::Instant::now() + KEEPALIVE, KEEPALIVE);
        loop {
            tokio::select! {
                msg = messages.next() => match msg {
                    Some(msg) => deliver(&sink, msg.get_payload_bytes()),
                    None => break,
                },
                _ = keepalive.tick() => {
                    // Messages queue in the stream meanwhile; a dead peer that never closed
                    // the socket is noticed here.
                    let pong = tokio::time::timeout(RESPONSE_TIMEOUT, ctl.ping::<Value>()).await;
                    if !matches!(pong, Ok(Ok(_))) {
                        break;
                    }
                }
            }
        }
        tracing::warn!(store = %feed.target, "cache invalidation feed lost; reconnecting (caches resync)");
    }
}

/// Hands one message to the sink, or logs why it cannot.
fn deliver(sink: &WatchSink, payload: &[u8]) {
    match serde_json::from_slice::<Published>(payload) {
        Ok(p) => sink(WatchEvent::Change {
            origin: p.origin,
            change: p.change,
        }),
        Err(e) => tracing::warn!(
            channel = keys::CACHE_CHANGES,
            error = %e,
            message = %String::from_utf8_lossy(&payload[..payload.len().min(200)]),
            "skipping a cache invalidation that does not decode"
        ),
    }
}
