//! A real `anp serve` process on a free port, for the HTTP tests (`serve.rs`,
//! `http_boundary.rs`).

#![allow(dead_code)]

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anp_core::{Args, JobId, Kind, NewJob, Store};
use anp_sqlite::SqliteStore;

/// The server process; killed when dropped.
pub(crate) struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Server {
    /// Owns a spawned server process (killed when dropped).
    pub(crate) fn new(child: Child) -> Server {
        Server(child)
    }
}

/// A port nothing listens on right now.
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("{e}"))
}

/// `anp serve` on the SQLite file `db`; the server and its base URL once `/healthz` answers.
pub(crate) async fn start(db: &Path, token: Option<&str>) -> (Server, String) {
    start_on(&format!("sqlite://{}", db.display()), token).await
}

/// `anp serve` on the store URL `store`, with `ANP_TOKEN` set to `token` (unset for `None`).
pub(crate) async fn start_on(store: &str, token: Option<&str>) -> (Server, String) {
    let port = free_port();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_anp"));
    cmd.args([
        "--store",
        store,
        "serve",
        "--bind",
        &format!("127.0.0.1:{port}"),
    ])
    .stdout(Stdio::null())
    .stderr(Stdio::null());
    match token {
        Some(t) => cmd.env("ANP_TOKEN", t),
        None => cmd.env_remove("ANP_TOKEN"),
    };
    let server = Server(cmd.spawn().unwrap_or_else(|e| panic!("{e}")));
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    for _ in 0..200 {
        if let Ok(r) = client.get(format!("{base}/healthz")).send().await {
            if r.status().is_success() {
                return (server, base);
            }
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("anp serve did not become healthy");
}

/// GETs `url`: the status and the JSON body.
pub(crate) async fn get_json(c: &reqwest::Client, url: &str) -> (u16, serde_json::Value) {
    let r = c.get(url).send().await.unwrap_or_else(|e| panic!("{e}"));
    let status = r.status().as_u16();
    (
        status,
        r.json().await.unwrap_or_else(|e| panic!("{url}: {e}")),
    )
}

/// A SQLite store at `db` holding one available `email.send` job on queue `default`.
pub(crate) async fn sqlite_with_one_job(db: &Path) -> (SqliteStore, JobId) {
    let store = SqliteStore::open(
        SqliteStore::parse_url(&format!("sqlite://{}", db.display()))
            .unwrap_or_else(|e| panic!("{e}")),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let job = NewJob::new(
        Kind::parse("email.send").unwrap_or_else(|e| panic!("{e}")),
        Args::empty_object(),
    );
    let id = job.id;
    store
        .job_enqueue_many(anp_core::store::JobEnqueueManyParams {
            jobs: vec![job],
            now: jiff::Timestamp::now(),
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    (store, id)
}
