//! # anp-sqlite
//!
//! alphanode's embedded storage backend: the [`Store`](anp_core::Store) seam on one SQLite file
//! (bundled SQLite, nothing to install). Several processes may share the file — workers, a
//! scheduler, `anp enqueue` from a shell — and a job is never leased twice.
//!
//! ```no_run
//! # async fn demo() -> anp_core::Result<()> {
//! use anp_sqlite::{SqliteOptions, SqliteStore};
//! let store = SqliteStore::open(SqliteStore::parse_url("sqlite://anp.db")?).await?;
//! let same = SqliteStore::open(SqliteOptions::new("anp.db")).await?;
//! # Ok(()) }
//! ```
//!
//! # How
//!
//! - WAL journal; one writer connection per store behind a mutex, every write a
//!   `BEGIN IMMEDIATE` transaction (other processes wait up to `busy_timeout`, then the call is
//!   `Unavailable`, retry safe); a separate reader connection for operators' reads. All SQLite
//!   work runs on Tokio's blocking pool.
//! - One transaction per call, batches included; one `UPDATE … RETURNING` leases a whole fetch,
//!   and `job_fetch_queues` runs it for every queue a worker serves in one transaction.
//! - Opening refuses, without changing a byte, a file that is not SQLite, a SQLite database that
//!   is not alphanode's, and a schema newer than [`SCHEMA_VERSION`].
//! - The application cache ([`CacheStore`](anp_core::cache::CacheStore), migration 0004) lives
//!   in the same file: entries, tag versions, compute leases, namespaces, and an invalidation
//!   feed that each watch polls every 50 ms on its own reader connection.
//! - `job_wait` sleeps until this store commits something fetchable, or the `-wal` file changes
//!   (another process committed: inotify through the `notify` crate), then checks.
//!
//! # Layout
//!
//! - `src/store.rs`: [`SqliteStore`]; running SQL off the runtime (`write`: a `BEGIN IMMEDIATE`
//!   transaction on the writer; `read`: the reader connection); the `Store` and `CacheStore`
//!   impls, which hand each method to its op in the span `anp.store.<method>`.
//! - `src/ops/<method>.rs`: one file per `Store` method (`job_fetch`: `ops/job_fetch.rs`), and
//!   `src/ops/cache/<method>.rs` one per [`CacheStore`](anp_core::cache::CacheStore) method:
//!   `run` (which connection, empty batches, waking waiters after a commit) and `sql` (the work
//!   inside the transaction). `job_wait.rs` holds the whole wait loop; `store_snapshot.rs` the
//!   backup copy; `schedule_fire_log.rs` the fire-log writes `schedule_claim_tick` and
//!   `schedule_trigger` share.
//! - `sql/<method>*.sql`: every statement, one per file, named after its method (plus
//!   `job_get_state.sql`, the lookup that explains refusals, `schedule_fire_log*.sql`, and
//!   `open_*.sql`); the cache's are the `cache_*.sql` files.
//! - `migrations/NNNN_<what>.sql` and `src/migrate.rs`: the schema, applied in one transaction
//!   with its row in `anp_schema`; `docs/sqlite-schema.md` explains tables and indexes.
//! - `src/open.rs`: checks and creates the file, inspects it read-only, migrates.
//! - `src/options.rs`: [`SqliteOptions`], [`Synchronous`], the `sqlite://` URL.
//! - `src/conn.rs`: connection settings and the SQLite → [`anp_core::Error`] mapping.
//! - `src/row.rs`: rows to jobs and schedules; the error history's and histograms' JSON.
//! - `src/wake.rs`: `job_wait`'s wake-ups (local notify, `-wal` watcher, polling fallback).

mod conn;
mod migrate;
mod open;
mod ops;
mod options;
mod row;
mod seq;
mod store;
mod wake;

pub use options::{SqliteOptions, Synchronous};
pub use store::SqliteStore;

/// The schema version this build creates and understands: the number of the newest migration.
/// A database with a newer version is refused as `Incompatible`.
pub const SCHEMA_VERSION: u32 = 8;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use rusqlite::Connection;

    use crate::row::JOB_COLUMNS;

    /// Every statement returning jobs yields the columns `row::job` reads, in its order.
    #[test]
    fn job_statements_return_job_columns() {
        let c = Connection::open_in_memory().unwrap();
        crate::migrate::apply(&c, 0).unwrap();
        for sql in [
            include_str!("../sql/job_fetch.sql"),
            include_str!("../sql/job_get.sql"),
            include_str!("../sql/job_list.sql"),
            include_str!("../sql/job_export.sql"),
            include_str!("../sql/job_list_state.sql"),
            include_str!("../sql/job_list_running.sql"),
            include_str!("../sql/job_retry.sql"),
            include_str!("../sql/job_cancel.sql"),
        ] {
            let stmt = c.prepare(sql).unwrap();
            assert_eq!(
                stmt.column_names().collect::<Vec<_>>(),
                JOB_COLUMNS,
                "{sql}"
            );
        }
    }

    /// Every SQL file prepares against the schema (typos fail here, not in production).
    #[test]
    fn every_statement_prepares() {
        let c = Connection::open_in_memory().unwrap();
        crate::migrate::apply(&c, 0).unwrap();
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sql");
        let mut n = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let sql = std::fs::read_to_string(&path).unwrap();
            c.prepare(&sql)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            n += 1;
        }
        assert!(n > 30, "{n} statements");
    }

    /// The hot statements use the indexes they were written for.
    #[test]
    fn query_plans_use_the_intended_indexes() {
        let c = Connection::open_in_memory().unwrap();
        crate::migrate::apply(&c, 0).unwrap();
        let plan = |sql: &str| -> String {
            let mut stmt = c.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
            let mut rows = stmt.raw_query(); // parameters stay NULL: the plan does not depend on them
            let mut lines = Vec::new();
            while let Some(r) = rows.next().unwrap() {
                lines.push(r.get::<_, String>(3).unwrap());
            }
            lines.join("\n")
        };
        let cases = [
            (include_str!("../sql/job_fetch.sql"), "jobs_fetch"),
            (include_str!("../sql/job_promote_due.sql"), "jobs_due"),
            (include_str!("../sql/job_rescue_expired.sql"), "jobs_lease"),
            (include_str!("../sql/job_list_state.sql"), "jobs_state_id"),
            (include_str!("../sql/job_retry_dead.sql"), "jobs_state_id"),
            (
                include_str!("../sql/job_prune_finished.sql"),
                "COVERING INDEX jobs_finished",
            ),
            (
                include_str!("../sql/job_prune_finished_boundary.sql"),
                "COVERING INDEX jobs_finished",
            ),
            (
                include_str!("../sql/job_prune_dead.sql"),
                "COVERING INDEX jobs_dead",
            ),
            (
                include_str!("../sql/job_prune_dead_boundary.sql"),
                "COVERING INDEX jobs_dead",
            ),
            (
                include_str!("../sql/job_enqueue_many_live.sql"),
                "jobs_unique_live",
            ),
            (
                include_str!("../sql/job_enqueue_many_recent.sql"),
                "jobs_unique_recent",
            ),
            (
                include_str!("../sql/queue_list_counts.sql"),
                "COVERING INDEX jobs_queue_state",
            ),
            (include_str!("../sql/queue_list_oldest.sql"), "jobs_fetch"),
            (
                include_str!("../sql/queue_purge.sql"),
                "COVERING INDEX jobs_queue_state",
            ),
            (
                include_str!("../sql/job_wait.sql"),
                "COVERING INDEX jobs_queue_state",
            ),
            (include_str!("../sql/cache_read.sql"), "cache_entries_key"),
            (include_str!("../sql/cache_delete.sql"), "cache_entries_key"),
            (
                include_str!("../sql/cache_purge_prefix.sql"),
                "cache_entries_key (ns=? AND generation=? AND key>? AND key<?)",
            ),
            (
                include_str!("../sql/cache_purge_prefix_all.sql"),
                "cache_entries_key",
            ),
            (include_str!("../sql/cache_usage.sql"), "cache_entries_key"),
            (
                include_str!("../sql/cache_count_tagged.sql"),
                "cache_entries_key",
            ),
            (
                include_str!("../sql/cache_prune_entries.sql"),
                "COVERING INDEX cache_entries_expiry",
            ),
            (
                include_str!("../sql/cache_prune_leases.sql"),
                "COVERING INDEX cache_leases_expiry",
            ),
            (
                include_str!("../sql/cache_prune_tags.sql"),
                "COVERING INDEX cache_tags_expiry",
            ),
            (
                include_str!("../sql/cache_prune_stats.sql"),
                "COVERING INDEX cache_stats_at",
            ),
            (
                include_str!("../sql/cache_prune_changes.sql"),
                "INTEGER PRIMARY KEY (rowid<?)",
            ),
            (
                include_str!("../sql/cache_stats_query.sql"),
                "cache_stats_at",
            ),
            (
                include_str!("../sql/cache_stats_query_ns.sql"),
                "cache_stats_at",
            ),
            (
                include_str!("../sql/cache_watch.sql"),
                "INTEGER PRIMARY KEY (rowid>?)",
            ),
        ];
        let mut bad = Vec::new();
        for (sql, index) in cases {
            let p = plan(sql);
            if !p.contains(index) || p.contains("TEMP B-TREE") {
                bad.push(format!(
                    "expected {index} and no sort in the plan of\n{sql}\n{p}\n"
                ));
            }
        }
        assert!(bad.is_empty(), "{}", bad.join("\n"));
        let p = plan(include_str!("../sql/job_list.sql"));
        assert!(!p.contains("TEMP B-TREE"), "{p}");
        let p = plan(include_str!("../sql/job_list_running.sql"));
        assert!(p.contains("jobs_lease"), "{p}");
    }

    /// The per-job statements build no temporary b-tree per execution (an `IN` list of more
    /// than two constants in a CHECK, a partial-index condition or a query would).
    #[test]
    fn per_job_statements_open_no_ephemeral_tables() {
        let c = Connection::open_in_memory().unwrap();
        crate::migrate::apply(&c, 0).unwrap();
        let ephemeral = |sql: &str| -> usize {
            let mut stmt = c.prepare(&format!("EXPLAIN {sql}")).unwrap();
            let mut rows = stmt.raw_query();
            let mut n = 0;
            while let Some(r) = rows.next().unwrap() {
                n += usize::from(r.get::<_, String>(1).unwrap() == "OpenEphemeral");
            }
            n
        };
        for sql in [
            include_str!("../sql/job_enqueue_many.sql"),
            include_str!("../sql/job_enqueue_many_live.sql"),
            include_str!("../sql/job_ack_complete.sql"),
            include_str!("../sql/job_ack_retry.sql"),
            include_str!("../sql/job_ack_dead.sql"),
            include_str!("../sql/job_ack_snooze.sql"),
            include_str!("../sql/job_ack_cancel.sql"),
            include_str!("../sql/job_ack_hand_back.sql"),
            include_str!("../sql/job_heartbeat_many.sql"),
            include_str!("../sql/job_wait.sql"),
        ] {
            assert_eq!(ephemeral(sql), 0, "{sql}");
        }
        // Per batch: the picked rowids, the two-pass update and the RETURNING buffer.
        assert!(ephemeral(include_str!("../sql/job_fetch.sql")) <= 3);
    }

    /// Connections as the store opens them never re-prepare a statement because of new bound
    /// values (without the planner stability guarantee, every job_fetch would be re-planned).
    #[test]
    fn statements_are_not_re_prepared_for_new_values() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        std::fs::write(&path, b"").unwrap();
        let c = crate::conn::open(&path, std::time::Duration::from_secs(1)).unwrap();
        crate::migrate::apply(&c, 0).unwrap();
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sql");
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let sql = std::fs::read_to_string(&path).unwrap();
            let mut stmt = c.prepare(&sql).unwrap();
            for round in 0..3i64 {
                for i in 1..=stmt.parameter_count() {
                    stmt.raw_bind_parameter(i, round * 10 + i as i64).unwrap();
                }
                let mut rows = stmt.raw_query();
                while let Ok(Some(_)) = rows.next() {}
            }
            let n = stmt.get_status(rusqlite::StatementStatus::RePrepare);
            assert_eq!(n, 0, "{} was re-prepared {n} times", path.display());
        }
    }
}
#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod plan_dump {
    /// Prints every statement's query plan: `cargo test -p anp-sqlite --lib plan_dump -- --ignored
    /// --nocapture`.
    #[test]
    #[ignore]
    fn dump() {
        let c = rusqlite::Connection::open_in_memory().unwrap();
        crate::migrate::apply(&c, 0).unwrap();
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sql");
        let mut paths: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        paths.sort();
        for path in paths {
            let sql = std::fs::read_to_string(&path).unwrap();
            let mut stmt = c.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
            let mut rows = stmt.raw_query();
            println!("== {}", path.file_name().unwrap().to_string_lossy());
            while let Some(r) = rows.next().unwrap() {
                println!("   {}", r.get::<_, String>(3).unwrap());
            }
        }
    }
}
