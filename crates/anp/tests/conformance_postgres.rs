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
}

anp_conformance::conformance_suite!(PgHarness, env!("CARGO_BIN_EXE_anp"));
