//! Talking to Redis: one shared, reconnecting command connection (standalone:
//! `ConnectionManager`; Cluster: the cluster connection), scripts by `EVALSHA` in pipelines,
//! and a separate pool of connections for blocking waits (the waits themselves are
//! `ops/job_wait.rs`).
//!
//! Every call goes out as a pipeline ([`Redis::run`]): standalone sends all of it in one round
//! trip; Cluster splits it by slot (a queue's keys share one, as do a cache entry's and a cache
//! namespace's) and sends the parts concurrently, so it too takes one round trip of wall time.
//! Errors of one command stay in its reply slot ([`Value::ServerError`]); errors of the
//! connection are [`ErrorKind::Unavailable`](anp_core::ErrorKind::Unavailable).
//!
//! Two things do not go through pipelines: `SCAN` ([`Scan`], which walks every primary of a
//! Cluster in turn) and the cache's pub/sub feed (`ops/cache_watch.rs`), which gets its own
//! connection from [`Redis::feed_clients`].

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anp_core::{Error, QueueName, Result};
use redis::aio::{ConnectionLike, ConnectionManager, MultiplexedConnection};
use redis::cluster_async::ClusterConnection;
use redis::cluster_routing::{MultipleNodeRoutingInfo, RoutingInfo, SingleNodeRoutingInfo, Slot};
use redis::{Cmd, ErrorKind as RErrorKind, RedisError, RedisFuture, ServerErrorKind, Value};
use tokio::task::JoinSet;

use crate::scripts::{ScriptDef, Scripts};

/// How long one command may wait for its reply before the call is `Unavailable`.
pub(crate) const RESPONSE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long connecting may take.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// The shared command connection.
#[derive(Clone)]
pub(crate) enum Conn {
    /// One server; reconnects in the background after a failure.
    Single(ConnectionManager),
    /// Redis Cluster; follows MOVED/ASK and reconnects to nodes.
    Cluster(ClusterConnection),
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Conn::Single(c) => c.req_packed_command(cmd),
            Conn::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a redis::Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Conn::Single(c) => c.req_packed_commands(pipeline, offset, count),
            Conn::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Conn::Single(c) => c.get_db(),
            Conn::Cluster(c) => c.get_db(),
        }
    }
}

/// Where blocking waits get their connections: never the shared one, because a BLPOP holds
/// its connection until it returns, and a cancelled one would leave it blocked.
pub(crate) enum Waiters {
    /// Standalone: dedicated multiplexed connections without a response timeout.
    Single {
        /// Builds them.
        client: Box<redis::Client>,
        /// Idle ones whose last BLPOP completed.
        idle: Mutex<Vec<MultiplexedConnection>>,
    },
    /// Cluster: dedicated cluster connections without a response timeout, one per queue
    /// waited on (the keys of one blocking command must share a slot).
    Cluster {
        /// Builds them.
        client: Box<redis::cluster::ClusterClient>,
        /// Idle ones whose last BLPOP completed.
        idle: Mutex<Vec<ClusterConnection>>,
    },
}

/// One command and the slot group it belongs to.
#[derive(Clone)]
pub(crate) struct Call {
    /// The Cluster slot of the keys it touches; `None` for global keys and keyless commands.
    group: Option<Slot>,
    cmd: Cmd,
}

impl Call {
    /// A command on global keys (`anp:queues`, `anp:schema`) or on none.
    pub(crate) fn global(cmd: Cmd) -> Call {
        Call { group: None, cmd }
    }

    /// A command on `queue`'s keys only.
    pub(crate) fn queue(queue: &QueueName, cmd: Cmd) -> Call {
        // `anp:{<queue>}:…` hashes on the queue name alone.
        Call {
            group: Some(Slot::for_key(queue.as_str())),
            cmd,
        }
    }

    /// A command on `key`, or on keys in `key`'s slot.
    pub(crate) fn keyed(key: impl AsRef<[u8]>, cmd: Cmd) -> Call {
        Call {
            group: Some(Slot::for_key(key)),
            cmd,
        }
    }

    /// Appends an argument (for scripts: the next ARGV).
    pub(crate) fn arg<T: redis::ToRedisArgs>(&mut self, a: T) -> &mut Call {
        self.cmd.arg(a);
        self
    }
}

/// What sends pipelines on the shared connection: the connection, the redacted URL for
/// messages, and the outage flag. Cheap to clone (the connection and the rest are shared), so
/// a background task — the cache's read batcher ([`crate::batch`]) — holds its own.
#[derive(Clone)]
pub(crate) struct Link {
    conn: Conn,
    /// The redacted URL, for messages.
    target: Arc<str>,
    /// Set when a call found the store unreachable, cleared (with one "reconnected" log line)
    /// by the next call that gets through, so an operator sees when an outage ended.
    unreachable: Arc<AtomicBool>,
}

/// The connection layer of one store.
pub(crate) struct Redis {
    link: Link,
    scripts: Scripts,
    waiters: Waiters,
    /// One client per node of the URL (standalone: the server; Cluster: each seed node), with
    /// the URL's credentials and TLS settings, for the cache's pub/sub connection. In Cluster
    /// any node will do: a `PUBLISH` reaches every node.
    feed: Vec<redis::Client>,
    /// Coalesces concurrent `cache_read`s into one pipeline (`batch.rs`).
    reads: crate::batch::ReadBatcher,
    /// The completed records of the jobs this process leased (`inflight.rs`).
    inflight: crate::inflight::Inflight,
}

impl Redis {
    pub(crate) fn new(
        conn: Conn,
        scripts: Scripts,
        target: String,
        waiters: Waiters,
        feed: Vec<redis::Client>,
    ) -> Redis {
        let link = Link {
            conn,
            target: target.into(),
            unreachable: Default::default(),
        };
        Redis {
            reads: crate::batch::ReadBatcher::new(link.clone()),
            link,
            scripts,
            waiters,
            feed,
            inflight: Default::default(),
        }
    }

    /// The completed records of the jobs this process leased.
    pub(crate) fn inflight(&self) -> &crate::inflight::Inflight {
        &self.inflight
    }

    /// The cache's read batcher.
    pub(crate) fn reads(&self) -> &crate::batch::ReadBatcher {
        &self.reads
    }

    /// The clients for pub/sub connections (see the field).
    pub(crate) fn feed_clients(&self) -> &[redis::Client] {
        &self.feed
    }

    /// An `EVALSHA` of a cache script on `keys` (all in one slot, `keys[0]`'s); append its
    /// ARGV with [`Call::arg`].
    pub(crate) fn cache_script(&self, def: &ScriptDef, keys: &[String]) -> Call {
        debug_assert!(!def.lib && keys.len() >= def.cache.len());
        let mut cmd = redis::cmd("EVALSHA");
        cmd.arg(self.scripts.get(def).get_hash()).arg(keys.len());
        for k in keys {
            cmd.arg(k);
        }
        Call {
            group: keys.first().map(Slot::for_key),
            cmd,
        }
    }

    /// Walks the keys matching `pattern` on every primary (see [`Scan`]).
    pub(crate) fn scan(&self, pattern: String) -> Scan {
        Scan {
            pattern,
            nodes: None,
        }
    }

    /// The redacted URL.
    pub(crate) fn target(&self) -> &str {
        self.link.target()
    }

    /// An `EVALSHA` of `def` on `queue`'s keys; append its ARGV with [`Call::arg`].
    pub(crate) fn script(&self, def: &ScriptDef, queue: &QueueName) -> Call {
        // Sized for the keys and a few hundred bytes of ARGV, so that a small call's command
        // is not grown (and copied) argument by argument; each key is written into one buffer.
        let q = queue.as_str().len();
        let mut cmd = Cmd::with_capacity(def.keys.len() + 16, def.keys.len() * (q + 24) + 320);
        cmd.arg("EVALSHA")
            .arg(self.scripts.get(def).get_hash())
            .arg(def.keys.len());
        let mut key = String::with_capacity(q + 20);
        for k in def.keys {
            key.clear();
            k.push_key(queue, &mut key);
            cmd.arg(key.as_str());
        }
        Call::queue(queue, cmd)
    }

    /// An `EVALSHA` of a schedule script: `queue`'s keys, then schedule `name`'s keys (in the
    /// same slot).
    pub(crate) fn schedule_script(
        &self,
        def: &ScriptDef,
        queue: &QueueName,
        name: &anp_core::schedule::ScheduleName,
    ) -> Call {
        let mut cmd = redis::cmd("EVALSHA");
        cmd.arg(self.scripts.get(def).get_hash())
            .arg(def.keys.len() + def.extra.len());
        for k in def.keys {
            cmd.arg(k.key(queue));
        }
        for s in def.extra {
            cmd.arg(s.key(queue, name));
        }
        Call::queue(queue, cmd)
    }

    /// `SCRIPT LOAD`s every script (on every primary in Cluster) and checks the returned SHA.
    pub(crate) async fn load_scripts(&self, op: &str) -> Result<()> {
        let mut conn = self.link.conn.clone();
        for (name, script) in self.scripts.all() {
            let sha = script
                .load_async(&mut conn)
                .await
                .map_err(|e| self.error(op, e))?;
            if sha != script.get_hash() {
                return Err(Error::internal(
                    op,
                    format!(
                        "store {} loaded script {name} as {sha}: expected SHA1 {}",
                        self.link.target,
                        script.get_hash()
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Sends `calls` and returns one reply per call, in order; a command's own error is its
    /// reply ([`Value::ServerError`]). Scripts the server forgot (`NOSCRIPT`) are loaded and
    /// only those calls are sent again: a refused call did not run.
    pub(crate) async fn run(&self, op: &str, calls: Vec<Call>) -> Result<Vec<Value>> {
        let mut out = self.link.send(op, &calls).await?;
        let missing: Vec<usize> = out
            .iter()
            .enumerate()
            .filter(|(_, v)| {
                matches!(v, Value::ServerError(e) if e.kind() == Some(ServerErrorKind::NoScript))
            })
            .map(|(i, _)| i)
            .collect();
        if !missing.is_empty() {
            tracing::debug!(
                op,
                calls = missing.len(),
                "scripts missing on the server; loading them"
            );
            self.load_scripts(op).await?;
            let again: Vec<Call> = missing.iter().map(|&i| calls[i].clone()).collect();
            let replies = self.link.send(op, &again).await?;
            for (i, v) in missing.into_iter().zip(replies) {
                out[i] = v;
            }
        }
        Ok(out)
    }

    /// [`Redis::run`] for one call whose error reply becomes the error.
    pub(crate) async fn run_one(&self, op: &str, call: Call) -> Result<Value> {
        let v = self
            .run(op, vec![call])
            .await?
            .pop()
            .ok_or_else(|| Error::internal(op, "no reply: expected one"))?;
        match v {
            Value::ServerError(e) => Err(self.error(op, e.into())),
            v => Ok(v),
        }
    }

    /// The dedicated connections for blocking waits (`ops/job_wait.rs`).
    pub(crate) fn waiters(&self) -> &Waiters {
        &self.waiters
    }

    /// Maps a redis-rs error to the store's error for `op`.
    pub(crate) fn error(&self, op: &str, e: RedisError) -> Error {
        self.link.error(op, e)
    }
}

impl Link {
    /// The redacted URL.
    pub(crate) fn target(&self) -> &str {
        &self.target
    }

    /// Whether the store is a Cluster (commands must not span slots).
    pub(crate) fn is_cluster(&self) -> bool {
        matches!(self.conn, Conn::Cluster(_))
    }

    /// Maps a redis-rs error to the store's error for `op`.
    pub(crate) fn error(&self, op: &str, e: RedisError) -> Error {
        map_error(op, &self.target, e)
    }

    /// Sends `calls` (standalone: one pipeline; Cluster: one per slot group, concurrently)
    /// and returns one reply per call, noting when the store became unreachable and when it
    /// answers again.
    pub(crate) async fn send(&self, op: &str, calls: &[Call]) -> Result<Vec<Value>> {
        let sent = self.send_groups(op, calls).await;
        match &sent {
            Err(e) if e.kind() == anp_core::ErrorKind::Unavailable => {
                self.unreachable.store(true, Ordering::Relaxed);
            }
            Ok(_) if self.unreachable.swap(false, Ordering::Relaxed) => {
                tracing::info!(store = %self.target, op, "reconnected: the store answers again");
            }
            _ => {}
        }
        sent
    }

    async fn send_groups(&self, op: &str, calls: &[Call]) -> Result<Vec<Value>> {
        if calls.is_empty() {
            return Ok(Vec::new());
        }
        let conn = match &self.conn {
            Conn::Single(_) => return self.send_pipeline(op, self.conn.clone(), calls).await,
            Conn::Cluster(c) => c.clone(),
        };
        // Cluster: one pipeline per slot group, sent concurrently.
        let mut groups: Vec<(Option<Slot>, Vec<usize>)> = Vec::new();
        let mut index: HashMap<Option<Slot>, usize> = HashMap::new();
        for (i, call) in calls.iter().enumerate() {
            match index.get(&call.group) {
                Some(&g) => groups[g].1.push(i),
                None => {
                    index.insert(call.group, groups.len());
                    groups.push((call.group, vec![i]));
                }
            }
        }
        if groups.len() == 1 {
            return self.send_pipeline(op, Conn::Cluster(conn), calls).await;
        }
        let mut set = JoinSet::new();
        for (gi, (_, idx)) in groups.iter().enumerate() {
            let mut pipe = redis::pipe();
            pipe.ignore_errors();
            for &i in idx {
                pipe.add_command(calls[i].cmd.clone());
            }
            let mut c = conn.clone();
            set.spawn(async move { (gi, pipe.query_async::<Vec<Value>>(&mut c).await) });
        }
        let mut out = vec![Value::Nil; calls.len()];
        let mut first_err = None;
        while let Some(done) = set.join_next().await {
            match done {
                Ok((gi, Ok(values))) => {
                    for (&i, v) in groups[gi].1.iter().zip(values) {
                        out[i] = v;
                    }
                }
                Ok((_, Err(e))) => {
                    first_err.get_or_insert(self.error(op, e));
                }
                Err(e) => {
                    first_err.get_or_insert(Error::internal(
                        op,
                        format!("a cluster request task failed: {e}"),
                    ));
                }
            }
        }
        match first_err {
            Some(e) => Err(e),
            None => Ok(out),
        }
    }

    async fn send_pipeline(&self, op: &str, mut conn: Conn, calls: &[Call]) -> Result<Vec<Value>> {
        let mut pipe = redis::pipe();
        pipe.ignore_errors();
        for call in calls {
            pipe.add_command(call.cmd.clone());
        }
        let values: Vec<Value> = pipe
            .query_async(&mut conn)
            .await
            .map_err(|e| self.error(op, e))?;
        if values.len() != calls.len() {
            return Err(Error::internal(
                op,
                format!(
                    "store {} sent {} replies: expected {}",
                    self.target,
                    values.len(),
                    calls.len()
                ),
            ));
        }
        Ok(values)
    }
}

/// Where [`Scan`] stands on one primary.
struct ScanNode {
    /// `None`: the standalone server; in Cluster the node's address.
    addr: Option<(String, u16)>,
    /// The cursor to continue from.
    cursor: u64,
}

/// A `SCAN MATCH` over every primary: the one server, or each primary of a Cluster in turn
/// (the first page asks all of them at once). Keys that exist for the whole walk are returned
/// at least once; keys may come twice (SCAN's own guarantee).
pub(crate) struct Scan {
    pattern: String,
    /// `None` before the first page; then the primaries not yet walked to the end.
    nodes: Option<Vec<ScanNode>>,
}

/// Keys examined per `SCAN` call (a hint to the server).
const SCAN_COUNT: u32 = 1000;

impl Scan {
    /// The next page of matching keys (possibly empty), or `None` when every primary has been
    /// walked to the end.
    pub(crate) async fn next(&mut self, r: &Redis, op: &str) -> Result<Option<Vec<Vec<u8>>>> {
        let cmd = |cursor: u64| {
            redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(&self.pattern)
                .arg("COUNT")
                .arg(SCAN_COUNT)
                .to_owned()
        };
        let Some(nodes) = &mut self.nodes else {
            // First page.
            let mut keys = Vec::new();
            let mut nodes = Vec::new();
            match &r.link.conn {
                Conn::Single(_) => {
                    let v = r.run_one(op, Call::global(cmd(0))).await?;
                    let (cursor, page) = scan_reply(op, v)?;
                    keys = page;
                    nodes.push(ScanNode { addr: None, cursor });
                }
                Conn::Cluster(c) => {
                    let mut c = c.clone();
                    let v = c
                        .route_command(
                            cmd(0),
                            RoutingInfo::MultiNode((MultipleNodeRoutingInfo::AllMasters, None)),
                        )
                        .await
                        .map_err(|e| r.error(op, e))?;
                    let Value::Map(per_node) = v else {
                        return Err(crate::record::bad_reply(
                            op,
                            "one SCAN reply per primary",
                            &v,
                        ));
                    };
                    for (addr, reply) in per_node {
                        let addr = crate::record::text(&addr)
                            .and_then(|a| a.rsplit_once(':'))
                            .and_then(|(h, p)| Some((h.to_owned(), p.parse::<u16>().ok()?)))
                            .ok_or_else(|| {
                                crate::record::bad_reply(op, "a node address host:port", &addr)
                            })?;
                        let (cursor, page) = scan_reply(op, crate::ops::ok(r, op, reply)?)?;
                        keys.extend(page);
                        nodes.push(ScanNode {
                            addr: Some(addr),
                            cursor,
                        });
                    }
                }
            }
            nodes.retain(|n| n.cursor != 0);
            self.nodes = Some(nodes);
            return Ok(Some(keys));
        };
        let Some(node) = nodes.last_mut() else {
            return Ok(None);
        };
        let v = match (&r.link.conn, &node.addr) {
            (Conn::Cluster(c), Some((host, port))) => {
                let mut c = c.clone();
                let routing = RoutingInfo::SingleNode(SingleNodeRoutingInfo::ByAddress {
                    host: host.clone(),
                    port: *port,
                });
                let v = c
                    .route_command(cmd(node.cursor), routing)
                    .await
                    .map_err(|e| r.error(op, e))?;
                crate::ops::ok(r, op, v)?
            }
            _ => r.run_one(op, Call::global(cmd(node.cursor))).await?,
        };
        let (cursor, page) = scan_reply(op, v)?;
        node.cursor = cursor;
        if cursor == 0 {
            nodes.pop();
        }
        Ok(Some(page))
    }
}

/// `[cursor, [key, …]]`.
fn scan_reply(op: &str, v: Value) -> Result<(u64, Vec<Vec<u8>>)> {
    let bad = |v: &Value| crate::record::bad_reply(op, "a SCAN reply [cursor, [keys]]", v);
    let Value::Array(mut parts) = v else {
        return Err(bad(&v));
    };
    if parts.len() != 2 {
        return Err(bad(&Value::Array(parts)));
    }
    let keys = parts.pop().unwrap_or(Value::Nil);
    let cursor = parts.pop().unwrap_or(Value::Nil);
    let cursor = crate::record::text(&cursor)
        .and_then(|c| c.parse::<u64>().ok())
        .ok_or_else(|| bad(&cursor))?;
    let keys = match keys {
        Value::Array(a) => a
            .into_iter()
            .map(|k| match k {
                Value::BulkString(b) => Ok(b),
                other => Err(bad(&other)),
            })
            .collect::<Result<Vec<_>>>()?,
        other => return Err(bad(&other)),
    };
    Ok((cursor, keys))
}

/// Whether the error means "cannot reach or use the server right now" (retry later).
fn is_unavailable(e: &RedisError) -> bool {
    if e.is_io_error()
        || e.is_connection_dropped()
        || e.is_connection_refusal()
        || e.is_timeout()
        || e.is_cluster_error()
        || e.is_unrecoverable_error()
    {
        return true;
    }
    if matches!(
        e.kind(),
        RErrorKind::ClusterConnectionNotFound
            | RErrorKind::Server(ServerErrorKind::BusyLoading)
            | RErrorKind::Server(ServerErrorKind::MasterDown)
            | RErrorKind::Server(ServerErrorKind::ReadOnly)
            | RErrorKind::Server(ServerErrorKind::TryAgain)
            | RErrorKind::Server(ServerErrorKind::ClusterDown)
    ) {
        return true;
    }
    matches!(
        e.code(),
        Some("BUSY" | "OOM" | "LOADING" | "MASTERDOWN" | "READONLY")
    )
}

fn detail(e: &RedisError) -> String {
    if e.is_connection_refusal() {
        "connection refused".to_owned()
    } else if e.is_timeout() {
        format!("no reply within {}s", RESPONSE_TIMEOUT.as_secs())
    } else if e.is_connection_dropped() {
        "connection lost".to_owned()
    } else {
        e.to_string()
    }
}

/// Maps a redis-rs error for `op` against `target` (a redacted URL).
pub(crate) fn map_error(op: &str, target: &str, e: RedisError) -> Error {
    let code = e.code().unwrap_or("");
    if e.kind() == RErrorKind::AuthenticationFailed || matches!(code, "NOAUTH" | "WRONGPASS") {
        return Error::invalid(
            op,
            format!(
                "store {target} refused the credentials ({}): expected the user and password of an ACL user allowed on ~anp:* (redis://user:pass@host:port)",
                detail(&e)
            ),
        )
        .with_source(e);
    }
    let text = e.to_string();
    if text.contains("certificate") || text.contains("Certificate") {
        return Error::invalid(
            op,
            format!(
                "store {target} failed the TLS handshake ({text}): expected a server certificate signed by a trusted CA for that host; name a private CA with ?ca=/path/ca.pem"
            ),
        )
        .with_source(e);
    }
    if code == "NOPERM" {
        return Error::read_only(
            op,
            format!(
                "store {target} denied a command ({}): expected an ACL user allowed +@all on ~anp:* and &*",
                detail(&e)
            ),
        )
        .with_source(e);
    }
    if is_unavailable(&e) {
        return Error::unavailable(
            op,
            format!(
                "store {target} is unavailable: {}: expected a reachable Redis 6.2+",
                detail(&e)
            ),
        )
        .with_source(e);
    }
    Error::internal(
        op,
        format!("store {target} answered with an error: {e}: expected a reply"),
    )
    .with_source(e)
}
