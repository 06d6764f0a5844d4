//! The conformance suite against the embedded SQLite backend: a fresh database file in a
//! fresh temp directory per test.

use std::path::PathBuf;
use std::sync::Arc;

use anp_conformance::Harness;
use anp_core::Store;
use anp_sqlite::SqliteStore;

struct SqliteHarness {
    dir: tempfile::TempDir,
}

impl SqliteHarness {
    fn path(&self) -> PathBuf {
        self.dir.path().join("anp.db")
    }
}

#[async_trait::async_trait]
impl Harness for SqliteHarness {
    async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        SqliteHarness { dir }
    }

    async fn store(&self) -> Arc<dyn Store> {
        let opts = SqliteStore::parse_url(&self.url()).unwrap_or_else(|e| panic!("{e}"));
        Arc::new(
            SqliteStore::open(opts)
                .await
                .unwrap_or_else(|e| panic!("{e}")),
        )
    }

    fn url(&self) -> String {
        format!("sqlite://{}", self.path().display())
    }

    fn dir(&self) -> PathBuf {
        self.dir.path().to_owned()
    }
}

anp_conformance::conformance_suite!(SqliteHarness, env!("CARGO_BIN_EXE_anp"));
