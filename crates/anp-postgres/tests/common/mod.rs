//! PostgreSQL for tests: a database of its own per test, created from a migrated template
//! (`CREATE DATABASE … TEMPLATE`, much faster than migrating) and dropped (`WITH (FORCE)`) when
//! the harness drops. The server is the one answering on 127.0.0.1:5432 (trust auth, user
//! `postgres`), or, when none does so (or `ANP_PG_PRIVATE=1`), a private cluster this process
//! starts with `initdb` + `postgres` (from PATH or /usr/lib/postgresql/*/bin) on a free port in
//! a temp dir, killed when the process exits. Databases are named `anp_t<pid>_<n>` (template
//! `anp_t<pid>_tpl`); leftovers of test processes that are gone are dropped at start. No other
//! database is ever touched. Shared by `crates/anp-postgres/tests/*` and
//! `crates/anp/tests/*postgres*.rs` (`#[path]`), so not every item is used by every binary.
#![allow(dead_code)]

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use anp_postgres::PostgresStore;

/// Where the test server listens.
#[derive(Debug)]
pub(crate) struct Server {
    pub(crate) host: String,
    pub(crate) port: u16,
    /// The private cluster, when one was started.
    pub(crate) private: Option<PrivateCluster>,
    template: OnceLock<String>,
}

/// Runs `f` on a fresh current-thread runtime in its own thread (callable from sync code, from
/// `Drop`, and from inside another runtime).
pub(crate) fn block_on<T: Send + 'static>(
    f: impl std::future::Future<Output = T> + Send + 'static,
) -> T {
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("runtime: {e}"))
            .block_on(f)
    })
    .join()
    .unwrap_or_else(|_| panic!("admin thread panicked"))
}

/// Runs admin statements on the `postgres` database of `host:port`.
pub(crate) fn admin(host: &str, port: u16, sql: Vec<String>) -> Result<Vec<String>, String> {
    let (host, port) = (host.to_owned(), port);
    block_on(async move {
        let url =
            format!("host={host} port={port} user=postgres dbname=postgres connect_timeout=10");
        let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .map_err(|e| format!("connect to {host}:{port}: {e}"))?;
        let driver = tokio::spawn(conn);
        let mut out = Vec::new();
        for s in &sql {
            let rows = client
                .simple_query(s)
                .await
                .map_err(|e| format!("{s}: {e}"))?;
            for m in rows {
                if let tokio_postgres::SimpleQueryMessage::Row(r) = m {
                    out.push(r.get(0).unwrap_or_default().to_owned());
                }
            }
        }
        drop(client);
        let _ = driver.await;
        Ok(out)
    })
}

static SERVER: OnceLock<Server> = OnceLock::new();
static NEXT: AtomicU32 = AtomicU32::new(0);

/// The test server, found or started once per process.
pub(crate) fn server() -> &'static Server {
    SERVER.get_or_init(|| {
        // The shared server only if it lets user postgres in without a password (trust, as
        // the tests expect); a server installed with Debian's defaults (scram on TCP) is left
        // alone and a private cluster used instead.
        let shared = std::env::var("ANP_PG_PRIVATE").ok().as_deref() != Some("1")
            && TcpStream::connect_timeout(
                &"127.0.0.1:5432".parse().unwrap_or_else(|e| panic!("{e}")),
                Duration::from_secs(1),
            )
            .is_ok()
            && admin("127.0.0.1", 5432, vec!["SELECT 1".into()]).is_ok();
        let s = if shared {
            Server {
                host: "127.0.0.1".into(),
                port: 5432,
                private: None,
                template: OnceLock::new(),
            }
        } else {
            let c = PrivateCluster::start();
            Server {
                host: "127.0.0.1".into(),
                port: c.port,
                private: Some(c),
                template: OnceLock::new(),
            }
        };
        s.drop_leftovers();
        s
    })
}

fn prefix() -> String {
    format!("anp_t{}_", std::process::id())
}

impl Server {
    /// `postgres://postgres@host:port/db?sslmode=disable`.
    pub(crate) fn url(&self, db: &str) -> String {
        format!(
            "postgres://postgres@{}:{}/{db}?sslmode=disable",
            self.host, self.port
        )
    }

    /// Drops the databases of test processes that are gone (name `anp_t<pid>_…`, no such pid).
    fn drop_leftovers(&self) {
        let names = admin(
            &self.host,
            self.port,
            vec!["SELECT datname FROM pg_database WHERE datname LIKE 'anp\\_t%\\_%'".into()],
        )
        .unwrap_or_else(|e| panic!("listing test databases: {e}"));
        let mut drops = Vec::new();
        for name in names {
            let Some(pid) = name
                .strip_prefix("anp_t")
                .and_then(|r| r.split('_').next())
                .and_then(|p| p.parse::<u32>().ok())
            else {
                continue;
            };
            if !Path::new(&format!("/proc/{pid}")).exists() {
                drops.push(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"));
            }
        }
        if !drops.is_empty() {
            let _ = admin(&self.host, self.port, drops);
        }
    }

    /// The migrated template of this process (created once).
    fn template(&self) -> &str {
        self.template.get_or_init(|| {
            let name = format!("{}tpl", prefix());
            admin(
                &self.host,
                self.port,
                vec![
                    format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
                    format!("CREATE DATABASE \"{name}\""),
                ],
            )
            .unwrap_or_else(|e| panic!("creating the template database: {e}"));
            let url = self.url(&name);
            block_on(async move {
                let store = PostgresStore::open(&url)
                    .await
                    .unwrap_or_else(|e| panic!("migrating the template: {e}"));
                drop(store);
            });
            // The template's connections must be gone before it is copied.
            admin(
                &self.host,
                self.port,
                vec![format!(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' AND pid <> pg_backend_pid()"
                )],
            )
            .unwrap_or_else(|e| panic!("{e}"));
            name
        })
    }

    /// A new database of its own, migrated.
    pub(crate) fn create_db(&self) -> String {
        let tpl = self.template().to_owned();
        let name = format!("{}{}", prefix(), NEXT.fetch_add(1, Ordering::SeqCst));
        let mut last = String::new();
        for _ in 0..20 {
            match admin(
                &self.host,
                self.port,
                vec![format!("CREATE DATABASE \"{name}\" TEMPLATE \"{tpl}\"")],
            ) {
                Ok(_) => return name,
                // Another CREATE DATABASE copying the same template at this instant.
                Err(e) if e.contains("being accessed by other users") => {
                    last = e;
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(e) => panic!("creating database {name}: {e}"),
            }
        }
        panic!("creating database {name}: {last}")
    }

    /// Drops a database this process created.
    pub(crate) fn drop_db(&self, name: &str) {
        assert!(name.starts_with(&prefix()), "{name} is not ours");
        if let Err(e) = admin(
            &self.host,
            self.port,
            vec![format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")],
        ) {
            eprintln!("dropping test database {name}: {e}");
        }
    }
}

/// A database of its own for one test, dropped on drop.
#[derive(Debug)]
pub(crate) struct TestDb {
    pub(crate) name: String,
    pub(crate) url: String,
}

impl TestDb {
    pub(crate) fn new() -> TestDb {
        let s = server();
        let name = s.create_db();
        let url = s.url(&name);
        TestDb { name, url }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        server().drop_db(&self.name);
    }
}

/// A port that was free a moment ago.
pub(crate) fn free_port() -> u16 {
    loop {
        let l = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
        let port = l.local_addr().map(|a| a.port()).unwrap_or(0);
        if port != 0 && port != 5432 {
            return port;
        }
    }
}

/// A PostgreSQL binary (`initdb`, `postgres`) from PATH or Debian's /usr/lib/postgresql/*/bin.
pub(crate) fn pg_bin(name: &str) -> PathBuf {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.path().join("bin"))
                .collect()
        })
        .unwrap_or_default();
    dirs.sort();
    dirs.reverse();
    for d in dirs {
        let p = d.join(name);
        if p.exists() {
            return p;
        }
    }
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {name}"))
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty());
    PathBuf::from(found.unwrap_or_else(|| {
        panic!("`{name}` was not found on PATH nor under /usr/lib/postgresql/*/bin: the PostgreSQL tests need a server on 127.0.0.1:5432 or the server binaries; install them with `apt-get install -y postgresql`")
    }))
}

/// Whether this process runs as root (PostgreSQL refuses to; the cluster then runs as the
/// `postgres` user through `runuser`).
fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .is_some_and(|s| s.trim() == "0")
}

/// `cmd` as the user that runs PostgreSQL.
fn as_pg_user(bin: &Path) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(bin);
        c
    } else {
        Command::new(bin)
    }
}

/// A private PostgreSQL cluster in a temp dir on a free port. The server runs under a shell
/// that SIGKILLs it when our end of its stdin closes — on drop, or when this process exits in
/// any way — so no server outlives its tests.
#[derive(Debug)]
pub(crate) struct PrivateCluster {
    pub(crate) port: u16,
    pub(crate) data: PathBuf,
    child: Mutex<Option<Child>>,
    _tmp: tempfile::TempDir,
}

impl PrivateCluster {
    /// initdb + start.
    pub(crate) fn start() -> PrivateCluster {
        let tmp = tempfile::Builder::new()
            .prefix("anp-pg-")
            .tempdir()
            .unwrap_or_else(|e| panic!("tempdir: {e}"));
        let data = tmp.path().join("data");
        if is_root() {
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(tmp.path())
                .status()
                .unwrap_or_else(|e| panic!("chown: {e}"));
            assert!(status.success(), "chown of {} failed", tmp.path().display());
        }
        let out = as_pg_user(&pg_bin("initdb"))
            .args([
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
                "-D",
            ])
            .arg(&data)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .unwrap_or_else(|e| panic!("initdb: {e}"));
        assert!(
            out.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let c = PrivateCluster {
            port: free_port(),
            data,
            child: Mutex::new(None),
            _tmp: tmp,
        };
        c.spawn();
        c
    }

    /// Starts the server (again) on the same port and data directory, and waits until it
    /// accepts connections.
    pub(crate) fn spawn(&self) {
        let postgres = pg_bin("postgres");
        let inner = format!(
            "{} -D '{}' -p {} -k '{}' -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300 >>'{}' 2>&1",
            postgres.display(),
            self.data.display(),
            self.port,
            self.data.display(),
            self.data.with_file_name("server.log").display()
        );
        let script = if is_root() {
            format!("runuser -u postgres -- {inner} & pid=$!; read _; pkill -9 -P $pid 2>/dev/null; kill -9 $pid; wait")
        } else {
            format!("{inner} & pid=$!; read _; kill -9 $pid; wait")
        };
        let child = Command::new("sh")
            .arg("-c")
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting postgres: {e}"));
        *self.child.lock().unwrap_or_else(|e| e.into_inner()) = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if admin("127.0.0.1", self.port, vec!["SELECT 1".into()]).is_ok() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the private PostgreSQL on port {} did not start within 30 s; its log ends:\n{}",
                self.port,
                self.log_tail()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Kills the server at once (SIGKILL to the postmaster: what a crash looks like).
    pub(crate) fn kill(&self) {
        // The postmaster's pid is the first line of postmaster.pid (under runuser it is not
        // the shell's child).
        // Its children (backends, checkpointer, …) are killed too, as a crash of the server's
        // machine would: a backend left running keeps the old shared memory attached, and a
        // new postmaster on the same data directory then refuses to start. (Not SIGSTOP first:
        // runuser stops itself when its child stops, and would never reap it.)
        let mut children = Vec::new();
        if let Some(pid) = std::fs::read_to_string(self.data.join("postmaster.pid"))
            .ok()
            .and_then(|s| s.lines().next().map(str::to_owned))
        {
            if let Ok(out) = Command::new("pgrep").args(["-P", &pid]).output() {
                children = String::from_utf8_lossy(&out.stdout)
                    .split_whitespace()
                    .map(str::to_owned)
                    .collect();
            }
            let _ = Command::new("kill").args(["-9", &pid]).status();
            for child in &children {
                let _ = Command::new("kill").args(["-9", child]).status();
            }
            children.push(pid);
        }
        if let Some(mut child) = self.child.lock().unwrap_or_else(|e| e.into_inner()).take() {
            drop(child.stdin.take());
            let _ = child.wait();
        }
        // The postmaster's children notice and exit; wait until the port is free.
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", self.port)).is_ok() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        // Until every old process has exited (a zombie has already let go of the shared
        // memory), so the next start finds none of it in use.
        while children.iter().any(|pid| alive(pid)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        // Every old process is gone: their lock files are stale. (A postmaster checks the pid
        // in a lock file with kill(pid, 0), which a not-yet-reaped zombie still passes.)
        let _ = std::fs::remove_file(self.data.join("postmaster.pid"));
        let _ = std::fs::remove_file(self.data.join(format!(".s.PGSQL.{}.lock", self.port)));
        let _ = std::fs::remove_file(self.data.join(format!(".s.PGSQL.{}", self.port)));
    }

    /// The last lines the server wrote (its log file), for a failure message.
    fn log_tail(&self) -> String {
        let log =
            std::fs::read_to_string(self.data.with_file_name("server.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

/// Whether process `pid` still runs (exists and is not a zombie).
fn alive(pid: &str) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // `pid (comm) S …`: the state follows the last ')'.
        Ok(stat) => stat
            .rsplit_once(')')
            .map(|(_, rest)| !rest.trim_start().starts_with('Z'))
            .unwrap_or(false),
        Err(_) => false,
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        self.kill();
    }
}
