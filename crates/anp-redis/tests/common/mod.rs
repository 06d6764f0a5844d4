//! Private Redis servers for tests: a `redis-server` (or a 3-primary Cluster) on free ports of
//! 127.0.0.1, in a temp dir, killed on drop. Never the shared server on 6379, never a FLUSH.
//! Shared by `crates/anp-redis/tests/*` and `crates/anp/tests/conformance_redis*.rs`
//! (`#[path]`), so not every item is used by every test binary.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anp_core::Store;
use anp_redis::RedisStore;

/// Panics with an install hint when `redis-server` is missing: these tests never skip.
pub(crate) fn require_redis() {
    for bin in ["redis-server", "redis-cli"] {
        let found = Command::new(bin)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok();
        assert!(
            found,
            "`{bin}` was not found: the Redis backend tests need a local Redis 6.2+; install it with `apt-get install -y redis-server` (they start private servers on free ports and never touch 127.0.0.1:6379)"
        );
    }
}

/// A port that was free a moment ago.
pub(crate) fn free_port() -> u16 {
    loop {
        let l = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
        let port = l.local_addr().map(|a| a.port()).unwrap_or(0);
        // Cluster nodes also listen on port + 10000: that one must be free too (another
        // test's server may hold it).
        if port != 0 && port != 6379 && port < 55000 {
            let bus = TcpListener::bind(("127.0.0.1", port + 10000));
            if bus.is_ok() {
                return port;
            }
        }
    }
}

/// One private `redis-server`.
#[derive(Debug)]
pub(crate) struct RedisServer {
    child: Option<Child>,
    /// Started under a shell that SIGKILLs it when our end of its stdin closes — when this
    /// struct drops, or when the test process exits in any way (so servers started ahead for
    /// tests that never come are not left running).
    watchdog: bool,
    pub(crate) port: u16,
    pub(crate) dir: PathBuf,
    args: Vec<String>,
    _tmp: Option<tempfile::TempDir>,
}

impl RedisServer {
    /// A plain server without persistence.
    pub(crate) fn start() -> RedisServer {
        RedisServer::start_with(&[])
    }

    /// A server with extra arguments (after `--port P --save '' --appendonly no --bind
    /// 127.0.0.1 --dir D`; later arguments win).
    pub(crate) fn start_with(extra: &[&str]) -> RedisServer {
        let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let dir = tmp.path().to_owned();
        let mut s = RedisServer::start_in(&dir, extra, None);
        s._tmp = Some(tmp);
        s
    }

    /// A server writing into `dir` (kept by the caller); `port` reuses a port (restart).
    pub(crate) fn start_in(dir: &Path, extra: &[&str], port: Option<u16>) -> RedisServer {
        RedisServer::start_in_with(dir, extra, port, false)
    }

    /// [`RedisServer::start_in`], optionally under the stdin watchdog (see `watchdog`).
    fn start_in_with(dir: &Path, extra: &[&str], port: Option<u16>, watchdog: bool) -> RedisServer {
        require_redis();
        let port_given = port.is_some();
        for attempt in 0..5 {
            let port = port.unwrap_or_else(free_port);
            let mut args: Vec<String> = vec![
                "--port".into(),
                port.to_string(),
                "--save".into(),
                String::new(),
                "--appendonly".into(),
                "no".into(),
                "--bind".into(),
                "127.0.0.1".into(),
                "--dir".into(),
                dir.display().to_string(),
                "--logfile".into(),
                format!("redis-{port}.log"),
            ];
            args.extend(extra.iter().map(|s| s.to_string()));
            let mut s = RedisServer {
                child: None,
                watchdog,
                port,
                dir: dir.to_owned(),
                args,
                _tmp: None,
            };
            s.spawn();
            if s.wait_ready(Duration::from_secs(10)) {
                return s;
            }
            s.kill();
            if attempt == 4 || port_given {
                let log = std::fs::read_to_string(dir.join(format!("redis-{port}.log")))
                    .unwrap_or_default();
                panic!(
                    "redis-server on port {port} did not start (args {:?}); log:\n{log}",
                    s.args
                );
            }
        }
        unreachable!()
    }

    fn spawn(&mut self) {
        let mut cmd = if self.watchdog {
            let mut sh = Command::new("sh");
            sh.args([
                "-c",
                "redis-server \"$@\" & r=$!; read _ignored; kill -9 $r; wait $r",
                "sh",
            ]);
            sh.stdin(Stdio::piped());
            sh
        } else {
            let mut direct = Command::new("redis-server");
            direct.stdin(Stdio::null());
            direct
        };
        let child = cmd
            .args(&self.args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start redis-server: {e}"));
        self.child = Some(child);
    }

    /// `redis-cli -p P <args>` (uses the TLS/auth flags in `cli_extra`).
    pub(crate) fn cli(&self, cli_extra: &[&str], args: &[&str]) -> String {
        let out = Command::new("redis-cli")
            .args(["-p", &self.port.to_string()])
            .args(cli_extra)
            .args(args)
            .stderr(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("redis-cli: {e}"));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn wait_ready(&mut self, deadline: Duration) -> bool {
        let start = Instant::now();
        let tls = self.args.iter().any(|a| a == "--tls-port");
        while start.elapsed() < deadline {
            if let Some(c) = self.child.as_mut() {
                if let Ok(Some(_)) = c.try_wait() {
                    return false;
                }
            }
            let ready = if tls {
                std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok()
            } else {
                // Any reply (PONG, or NOAUTH when a password is set) means it is up.
                !self.cli(&[], &["PING"]).trim().is_empty()
            };
            if ready {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// `redis://127.0.0.1:P`.
    pub(crate) fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// The server's pid.
    pub(crate) fn pid(&self) -> i32 {
        self.child
            .as_ref()
            .map(|c| i32::try_from(c.id()).unwrap_or(0))
            .unwrap_or(0)
    }

    /// SIGKILL, and reap.
    pub(crate) fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            if self.watchdog {
                // Closing its stdin makes the shell SIGKILL the server and exit.
                drop(c.stdin.take());
            } else {
                let _ = c.kill();
            }
            let _ = c.wait();
        }
    }

    /// Kills the server and starts it again on the same port and dir (same args).
    pub(crate) fn restart(&mut self) {
        self.kill();
        let start = Instant::now();
        loop {
            self.spawn();
            if self.wait_ready(Duration::from_secs(10)) {
                return;
            }
            self.kill();
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "redis-server did not restart on port {}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A local 3-primary Redis Cluster on free ports.
#[derive(Debug)]
pub(crate) struct RedisCluster {
    pub(crate) nodes: Vec<RedisServer>,
    _tmp: tempfile::TempDir,
}

impl RedisCluster {
    /// Starts 3 cluster-enabled servers, joins them, waits for `cluster_state:ok` on each.
    pub(crate) fn start() -> RedisCluster {
        require_redis();
        let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let mut nodes = Vec::new();
        for _ in 0..3 {
            let port = free_port();
            let conf = tmp.path().join(format!("nodes-{port}.conf"));
            let conf = conf.display().to_string();
            nodes.push(RedisServer::start_in_with(
                tmp.path(),
                &[
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    &conf,
                    "--cluster-node-timeout",
                    "5000",
                ],
                Some(port),
                true,
            ));
        }
        // Joined by hand rather than with `redis-cli --cluster create`, whose join loop waits in
        // steps of a second: each node takes a third of the slots and its own config epoch (as
        // `--cluster create` does), then the first node meets the others. Every node must see
        // all three and every slot before the cluster is used.
        let thirds = [(0, 5460), (5461, 10922), (10923, 16383)];
        for (i, (n, (first, last))) in nodes.iter().zip(thirds).enumerate() {
            let slots: Vec<String> = (first..=last).map(|s: u32| s.to_string()).collect();
            let mut args = vec!["CLUSTER", "ADDSLOTS"];
            args.extend(slots.iter().map(String::as_str));
            let epoch = (i + 1).to_string();
            for cmd in [args, vec!["CLUSTER", "SET-CONFIG-EPOCH", &epoch]] {
                let out = n.cli(&[], &cmd);
                assert_eq!(out.trim(), "OK", "{} on port {}: {out}", cmd[1], n.port);
            }
        }
        for n in &nodes[1..] {
            let port = n.port.to_string();
            let out = nodes[0].cli(&[], &["CLUSTER", "MEET", "127.0.0.1", &port]);
            assert_eq!(out.trim(), "OK", "CLUSTER MEET {port}: {out}");
        }
        let cluster = RedisCluster { nodes, _tmp: tmp };
        cluster.wait_ok();
        cluster
    }

    /// Waits until every node sees all three and `cluster_state:ok`.
    fn wait_ok(&self) {
        let start = Instant::now();
        loop {
            let ok = self.nodes.iter().all(|n| {
                let info = n.cli(&[], &["CLUSTER", "INFO"]);
                info.contains("cluster_state:ok") && info.contains("cluster_known_nodes:3")
            });
            if ok {
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "the cluster did not reach cluster_state:ok with 3 known nodes"
            );
            // Each check runs six redis-cli processes: poll gently (the state takes ~2 s).
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// SIGKILLs every node: the whole Cluster is down.
    pub(crate) fn kill(&mut self) {
        for n in &mut self.nodes {
            n.kill();
        }
    }

    /// Starts every node again on its port and dir (each reloads its `nodes-<port>.conf`: the
    /// same cluster, its data gone) and waits for `cluster_state:ok`.
    pub(crate) fn restart(&mut self) {
        for n in &mut self.nodes {
            n.restart();
        }
        self.wait_ok();
    }

    /// A new cluster, started ahead of time: Redis holds a new primary's cluster state at
    /// `fail` for its first 2 s (`CLUSTER_WRITABLE_DELAY`), idle time that would otherwise be
    /// paid by every test in turn, so a few clusters are kept starting in the background and
    /// each call takes the oldest (and starts another). Every test still gets its own
    /// cluster; the ones started for tests that never come die with the test process (their
    /// servers run under the stdin watchdog).
    pub(crate) fn take() -> RedisCluster {
        const AHEAD: usize = 4;
        static STARTING: Mutex<VecDeque<JoinHandle<RedisCluster>>> = Mutex::new(VecDeque::new());
        let next = {
            let mut starting = STARTING.lock().unwrap_or_else(|e| e.into_inner());
            while starting.len() < AHEAD + 1 {
                starting.push_back(std::thread::spawn(RedisCluster::start));
            }
            starting.pop_front()
        };
        match next.map(JoinHandle::join) {
            Some(Ok(cluster)) => cluster,
            // A background start panicked (its message is on stderr): start one here, so the
            // failure shows in this test with its own message.
            _ => RedisCluster::start(),
        }
    }

    /// `redis+cluster://127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3`.
    pub(crate) fn url(&self) -> String {
        let hosts: Vec<String> = self
            .nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port))
            .collect();
        format!("redis+cluster://{}", hosts.join(","))
    }
}

/// Opens a store, panicking with the error.
pub(crate) async fn open(url: &str) -> Arc<dyn Store> {
    Arc::new(
        RedisStore::open(url)
            .await
            .unwrap_or_else(|e| panic!("open {url}: {e}")),
    )
}

/// Runs `f` on the servers behind `m` off the async runtime (it kills, starts and runs
/// `redis-cli`, all blocking).
async fn with_servers<S, T>(m: &Arc<Mutex<S>>, f: impl FnOnce(&mut S) -> T + Send + 'static) -> T
where
    S: Send + 'static,
    T: Send + 'static,
{
    let m = m.clone();
    tokio::task::spawn_blocking(move || f(&mut m.lock().unwrap_or_else(|e| e.into_inner())))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Cuts the cache feed on every node of `nodes` and holds it cut: the default user loses its
/// channel permissions (Redis 7 disconnects the clients subscribed to a channel it no longer
/// allows; a `SUBSCRIBE` or `PUBLISH` is refused with `NOPERM` from then on), and every pub/sub
/// client is killed as well (`CLIENT KILL TYPE pubsub`), so no subscriber is left.
fn cut_feed(nodes: &[RedisServer]) {
    for n in nodes {
        let out = n.cli(&[], &["ACL", "SETUSER", "default", "resetchannels"]);
        assert_eq!(out.trim(), "OK", "ACL SETUSER on port {}: {out}", n.port);
        n.cli(&[], &["CLIENT", "KILL", "TYPE", "pubsub"]);
        let left = n.cli(&[], &["CLIENT", "LIST", "TYPE", "pubsub"]);
        assert!(
            left.trim().is_empty(),
            "pub/sub clients left on port {}: {left}",
            n.port
        );
    }
}

/// Gives the default user its channels back on every node.
fn restore_feed(nodes: &[RedisServer]) {
    for n in nodes {
        let out = n.cli(&[], &["ACL", "SETUSER", "default", "allchannels"]);
        assert_eq!(out.trim(), "OK", "ACL SETUSER on port {}: {out}", n.port);
    }
}

/// The conformance harness on a private standalone server.
pub(crate) struct RedisHarness {
    server: Arc<Mutex<RedisServer>>,
    url: String,
    dir: tempfile::TempDir,
}

#[async_trait::async_trait]
impl anp_conformance::Harness for RedisHarness {
    async fn new() -> Self {
        let server = RedisServer::start();
        RedisHarness {
            url: server.url(),
            server: Arc::new(Mutex::new(server)),
            dir: tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}")),
        }
    }

    async fn store(&self) -> Arc<dyn Store> {
        open(&self.url).await
    }

    fn url(&self) -> String {
        self.url.clone()
    }

    fn dir(&self) -> PathBuf {
        self.dir.path().to_owned()
    }

    /// SIGKILLs the server: connections are refused.
    async fn stop_store(&self) -> bool {
        with_servers(&self.server, RedisServer::kill).await;
        true
    }

    /// The server again, on the same port, empty.
    async fn start_store(&self) -> bool {
        with_servers(&self.server, RedisServer::restart).await;
        true
    }

    async fn drop_cache_feed(&self) -> anp_conformance::FeedCut {
        with_servers(&self.server, |s| cut_feed(std::slice::from_ref(s))).await;
        anp_conformance::FeedCut::Held
    }

    async fn restore_cache_feed(&self) {
        with_servers(&self.server, |s| restore_feed(std::slice::from_ref(s))).await;
    }
}

/// The conformance harness on a private 3-primary Cluster.
pub(crate) struct RedisClusterHarness {
    cluster: Arc<Mutex<RedisCluster>>,
    url: String,
    dir: tempfile::TempDir,
}

#[async_trait::async_trait]
impl anp_conformance::Harness for RedisClusterHarness {
    async fn new() -> Self {
        let cluster = tokio::task::spawn_blocking(RedisCluster::take)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        RedisClusterHarness {
            url: cluster.url(),
            cluster: Arc::new(Mutex::new(cluster)),
            dir: tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}")),
        }
    }

    async fn store(&self) -> Arc<dyn Store> {
        open(&self.url).await
    }

    fn url(&self) -> String {
        self.url.clone()
    }

    fn dir(&self) -> PathBuf {
        self.dir.path().to_owned()
    }

    /// SIGKILLs every node.
    async fn stop_store(&self) -> bool {
        with_servers(&self.cluster, RedisCluster::kill).await;
        true
    }

    /// Every node again (same ports, same cluster, no data), once the cluster is `ok`.
    async fn start_store(&self) -> bool {
        with_servers(&self.cluster, RedisCluster::restart).await;
        true
    }

    async fn drop_cache_feed(&self) -> anp_conformance::FeedCut {
        with_servers(&self.cluster, |c| cut_feed(&c.nodes)).await;
        anp_conformance::FeedCut::Held
    }

    async fn restore_cache_feed(&self) {
        with_servers(&self.cluster, |c| restore_feed(&c.nodes)).await;
    }
}
