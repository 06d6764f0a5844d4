//! The conformance suite against the PostgreSQL backend: a database of its own per test,
//! created from a migrated template on the server at 127.0.0.1:5432 (or on a private cluster
//! this process starts when none answers there) and dropped when the test ends. Never touches
//! another database.

#[path = "../../anp-postgres/tests/common/mod.rs"]
mod common;

use std::path::PathBuf;
use std::sync::Arc;

use anp_core::Store;
use anp_postgres::PostgresStore;
use common::TestDb;

/// The conformance harness: a database per test.
struct PgHarness {
    db: TestDb,
    dir: tempfile::TempDir,
}

#[async_trait::async_trait]
impl anp_conformance::Harness for PgHarness {
    async fn new() -> Self {
        let db = tokio::task::spawn_blocking(TestDb::new)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        PgHarness {
            db,
            dir: tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}")),
        }
    }

    async fn store(&self) -> Arc<dyn Store> {
        Arc::new(
            PostgresStore::open(&self.db.url)
                .await
                .unwrap_or_else(|e| panic!("{e}")),
        )
    }

    fn url(&self) -> String {
        self.db.url.clone()
    }

    fn dir(&self) -> PathBuf {
        self.dir.path().to_owned()
    }

    /// The test's own database refuses connections (`ALLOW_CONNECTIONS false`) and every
    /// backend connected to it is terminated: to the store, the server is gone. No other
    /// database is touched.
    async fn stop_store(&self) -> bool {
        self.admin(vec![format!(
            "ALTER DATABASE \"{}\" ALLOW_CONNECTIONS false",
            self.db.name
        )])
        .await;
        self.terminate_backends().await;
        true
    }

    /// The test's database accepts connections again.
    async fn start_store(&self) -> bool {
        self.admin(vec![format!(
            "ALTER DATABASE \"{}\" ALLOW_CONNECTIONS true",
            self.db.name
        )])
        .await;
        true
    }

    /// The cache feed is `cache_changes`, polled through each store's pool (and the store's
    /// LISTEN connection serves job wake-ups): every backend of the test's database is
    /// terminated, and they may reconnect at once.
    async fn drop_cache_feed(&self) -> anp_conformance::FeedCut {
        self.terminate_backends().await;
        anp_conformance::FeedCut::Ended
    }
}

impl PgHarness {
    /// Runs admin statements on the server's `postgres` database, off the async runtime.
    async fn admin(&self, sql: Vec<String>) -> Vec<String> {
        tokio::task::spawn_blocking(move || {
            let s = common::server();
            common::admin(&s.host, s.port, sql)
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|e| panic!("admin statement: {e}"))
    }

    /// Terminates every backend connected to the test's database and waits until those
    /// processes are gone (clients may already be connecting again).
    async fn terminate_backends(&self) {
        let name = &self.db.name;
        // pg_terminate_backend in the select list, never in WHERE: there the planner may call
        // it for every backend of the server before the datname filter applies.
        let pids = self
            .admin(vec![format!(
                "SELECT pid::text, pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE datname = '{name}'"
            )])
            .await;
        if pids.is_empty() {
            return;
        }
        let pids = pids.join(",");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let left = self
                .admin(vec![format!(
                    "SELECT count(*) FROM pg_stat_activity WHERE pid IN ({pids})"
                )])
                .await;
            if left.first().map(String::as_str) == Some("0") {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "terminated backends {pids} of {name} still there after 10 s"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
}

anp_conformance::conformance_suite!(PgHarness, env!("CARGO_BIN_EXE_anp"));
