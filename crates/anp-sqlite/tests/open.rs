//! Opening: new files, reopening, and every file we must refuse without changing a byte.
#![allow(clippy::unwrap_used)]

mod fixture;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anp_core::store::JobEnqueueManyParams;
use anp_core::{ErrorKind, Store};
use anp_sqlite::{SqliteOptions, SqliteStore, Synchronous, SCHEMA_VERSION};
use fixture::*;

fn wal(p: &Path) -> PathBuf {
    PathBuf::from(format!("{}-wal", p.display()))
}

fn shm(p: &Path) -> PathBuf {
    PathBuf::from(format!("{}-shm", p.display()))
}

fn mode(p: &Path) -> u32 {
    fs::metadata(p).unwrap().permissions().mode() & 0o777
}

/// Opening `path` fails with `kind`, and the file is byte-for-byte what it was, with no `-wal`
/// or `-shm` left behind.
async fn refused(path: &Path, kind: ErrorKind) -> anp_core::Error {
    let before = fs::read(path).unwrap();
    let had_wal = wal(path).exists();
    let e = SqliteStore::open(SqliteOptions::new(path))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), kind, "{e}");
    assert!(!e.retry_safe(), "{e}");
    assert_eq!(
        fs::read(path).unwrap(),
        before,
        "{} changed",
        path.display()
    );
    assert_eq!(wal(path).exists(), had_wal, "-wal appeared or vanished");
    e
}

#[tokio::test]
async fn a_new_file_is_created_private_and_migrated() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.db");
    let s = SqliteStore::open(SqliteOptions::new(&path)).await.unwrap();
    assert_eq!(s.path(), path);
    assert_eq!(s.backend(), "sqlite");
    assert_eq!(s.redacted_url(), format!("sqlite://{}", path.display()));
    let info = s.store_ping().await.unwrap();
    assert_eq!(info.backend, "sqlite");
    assert_eq!(info.schema_version, SCHEMA_VERSION);
    assert_eq!(info.server_version, rusqlite::version());
    // Something written, so all three files exist; none is readable by others.
    enqueue(&s, vec![job("q")], t0()).await;
    for p in [path.clone(), wal(&path), shm(&path)] {
        assert_eq!(mode(&p), 0o600, "{}", p.display());
    }
    // WAL mode, application id, one migration row.
    let c = rusqlite::Connection::open(&path).unwrap();
    let jm: String = c
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(jm, "wal");
    let app: i64 = c
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .unwrap();
    assert_eq!(app, 0x414E_5031);
    let rows: i64 = c
        .query_row("SELECT count(*) FROM anp_schema", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, i64::from(SCHEMA_VERSION));
}

#[tokio::test]
async fn reopening_keeps_jobs_and_does_not_migrate_again() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("anp.db");
    let j = job("q");
    {
        let s = SqliteStore::open(SqliteOptions::new(&path)).await.unwrap();
        enqueue(&s, vec![j.clone()], t0()).await;
    }
    let mut opts = SqliteOptions::new(&path);
    opts.create = false;
    opts.synchronous = Synchronous::Full;
    let s = SqliteStore::open(opts).await.unwrap();
    assert_eq!(s.job_get(j.id).await.unwrap().id, j.id);
    let c = rusqlite::Connection::open(&path).unwrap();
    let rows: i64 = c
        .query_row("SELECT count(*) FROM anp_schema", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        rows,
        i64::from(SCHEMA_VERSION),
        "one row per migration, each applied once"
    );
}

#[tokio::test]
async fn an_empty_existing_file_is_adopted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.db");
    fs::write(&path, b"").unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
    let s = SqliteStore::open(SqliteOptions::new(&path)).await.unwrap();
    assert_eq!(s.store_ping().await.unwrap().schema_version, SCHEMA_VERSION);
    assert_eq!(mode(&path), 0o640, "an existing file keeps its mode");
}

#[tokio::test]
async fn parse_url_then_open() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?synchronous=full&busy_timeout_ms=250",
        dir.path().join("u.db").display()
    );
    let opts = SqliteStore::parse_url(&url).unwrap();
    assert_eq!(opts.busy_timeout, Duration::from_millis(250));
    let s = SqliteStore::open(opts).await.unwrap();
    assert_eq!(
        s.redacted_url(),
        format!("sqlite://{}", dir.path().join("u.db").display())
    );
}

#[tokio::test]
async fn a_foreign_sqlite_database_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.db");
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch(
            "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT);
             CREATE TABLE posts (id INTEGER PRIMARY KEY);
             CREATE INDEX posts_id ON posts (id);
             INSERT INTO users (name) VALUES ('ada');",
        )
        .unwrap();
    }
    let e = refused(&path, ErrorKind::Incompatible).await;
    assert_eq!(
        e.to_string(),
        format!(
            "sqlite open: {} is not an alphanode database: it holds tables posts, users but no anp_schema; expected an empty file or an alphanode database; not retried",
            path.display()
        )
    );
    assert!(!shm(&path).exists());
}

#[tokio::test]
async fn a_foreign_wal_database_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wal.db");
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch("PRAGMA journal_mode = WAL; CREATE TABLE t (x);")
            .unwrap();
    }
    let e = refused(&path, ErrorKind::Incompatible).await;
    assert!(
        e.message().contains("holds tables t but no anp_schema"),
        "{e}"
    );
}

#[tokio::test]
async fn a_file_that_is_not_sqlite_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let short = dir.path().join("notes.txt");
    fs::write(&short, "remember the milk\n").unwrap();
    let e = refused(&short, ErrorKind::Incompatible).await;
    assert!(e.message().contains("is not a SQLite database"), "{e}");
    assert!(e.message().contains("notes.txt"), "{e}");

    let long = dir.path().join("big.txt");
    fs::write(&long, "x".repeat(20_000)).unwrap();
    refused(&long, ErrorKind::Incompatible).await;
}

#[tokio::test]
async fn a_newer_schema_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("future.db");
    {
        let _s = SqliteStore::open(SqliteOptions::new(&path)).await.unwrap();
    }
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute(
            "INSERT INTO anp_schema (version, name, applied_at) VALUES (?1, 'future', 0)",
            [SCHEMA_VERSION + 1],
        )
        .unwrap();
    }
    let e = refused(&path, ErrorKind::Incompatible).await;
    assert_eq!(
        e.message(),
        format!(
            "{}: database schema version {} is newer than this anp supports ({SCHEMA_VERSION}): upgrade anp",
            path.display(),
            SCHEMA_VERSION + 1
        )
    );
    assert!(e.to_string().ends_with("upgrade anp; not retried"));
}

#[tokio::test]
async fn a_read_only_file_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ro.db");
    {
        let _s = SqliteStore::open(SqliteOptions::new(&path)).await.unwrap();
    }
    fs::set_permissions(&path, fs::Permissions::from_mode(0o444)).unwrap();
    let e = refused(&path, ErrorKind::ReadOnly).await;
    assert!(e.message().contains(&path.display().to_string()), "{e}");
    assert!(e.message().contains("read-only"), "{e}");
    fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
    SqliteStore::open(SqliteOptions::new(&path)).await.unwrap();
}

#[tokio::test]
async fn a_read_only_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let ro = dir.path().join("ro");
    fs::create_dir(&ro).unwrap();
    fs::set_permissions(&ro, fs::Permissions::from_mode(0o555)).unwrap();
    let path = ro.join("anp.db");
    let e = SqliteStore::open(SqliteOptions::new(&path))
        .await
        .unwrap_err();
    fs::set_permissions(&ro, fs::Permissions::from_mode(0o755)).unwrap();
    assert_eq!(e.kind(), ErrorKind::ReadOnly, "{e}");
    assert!(e.message().contains(&ro.display().to_string()), "{e}");
    assert!(!path.exists());
}

#[tokio::test]
async fn a_missing_directory_or_a_directory_path_is_invalid_input() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope");
    let e = SqliteStore::open(SqliteOptions::new(missing.join("anp.db")))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    assert!(
        e.message()
            .starts_with(&format!("directory {} does not exist", missing.display())),
        "{e}"
    );
    assert!(!missing.exists());

    let e = SqliteStore::open(SqliteOptions::new(dir.path()))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    assert!(e.message().contains("is a directory"), "{e}");
}

#[tokio::test]
async fn create_false_refuses_a_missing_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("anp.db");
    let mut opts = SqliteOptions::new(&path);
    opts.create = false;
    let e = SqliteStore::open(opts).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    assert!(!path.exists());
}

#[tokio::test]
async fn several_stores_opening_a_new_file_at_once_migrate_it_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("race.db");
    let opens = (0..4).map(|_| SqliteStore::open(SqliteOptions::new(&path)));
    let stores: Vec<_> = futures_join(opens.collect()).await;
    for s in &stores {
        assert_eq!(
            s.as_ref()
                .unwrap()
                .store_ping()
                .await
                .unwrap()
                .schema_version,
            SCHEMA_VERSION
        );
    }
    let c = rusqlite::Connection::open(&path).unwrap();
    let rows: i64 = c
        .query_row("SELECT count(*) FROM anp_schema", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        rows,
        i64::from(SCHEMA_VERSION),
        "one row per migration, each applied once"
    );
}

async fn futures_join<F, T>(futs: Vec<F>) -> Vec<T>
where
    F: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let handles: Vec<_> = futs.into_iter().map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_lock_held_past_the_busy_timeout_is_unavailable_and_retry_safe() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("busy.db");
    let mut opts = SqliteOptions::new(&path);
    opts.busy_timeout = Duration::from_millis(100);
    let s = SqliteStore::open(opts).await.unwrap();
    let other = rusqlite::Connection::open(&path).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    let j = job("q");
    let e = s
        .job_enqueue_many(JobEnqueueManyParams {
            jobs: vec![j.clone()],
            now: t0(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
    assert!(e.retry_safe());
    assert!(e.to_string().contains("is busy"), "{e}");
    assert!(e.to_string().ends_with("; retry safe"), "{e}");
    // Reads are not blocked by the writer.
    assert_eq!(
        s.job_get(j.id).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    other.execute_batch("COMMIT").unwrap();
    let out = enqueue(&s, vec![j.clone()], t0()).await;
    assert!(!out[0].duplicate);
}
