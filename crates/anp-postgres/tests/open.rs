//! Opening a PostgreSQL store: every statement in `sql/` prepares against the migrated schema;
//! a newer schema and a database that is not alphanode's are refused without a change; the
//! URL's password never shows. Each test has a database of its own (tests/common).

mod common;

use anp_core::{ErrorKind, Store};
use anp_postgres::PostgresStore;
use common::{block_on, server, TestDb};

/// Runs `sql` on the test database `db`, returning the first column of each row.
fn on_db(db: &TestDb, sql: &'static str) -> Vec<String> {
    let (host, port, name) = (server().host.clone(), server().port, db.name.clone());
    block_on(async move {
        let url = format!("host={host} port={port} user=postgres dbname={name}");
        let (c, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        tokio::spawn(conn);
        let mut out = Vec::new();
        for m in c
            .simple_query(sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
        {
            if let tokio_postgres::SimpleQueryMessage::Row(r) = m {
                out.push(r.get(0).unwrap_or_default().to_owned());
            }
        }
        out
    })
}

/// Opens the store on `db` (migrating it) and checks it reports this build's schema version.
async fn opens_at_the_newest_schema(db: &TestDb) {
    let s = PostgresStore::open(&db.url)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        s.store_ping().await.map(|i| i.schema_version).ok(),
        Some(anp_postgres::SCHEMA_VERSION)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_statement_prepares_against_the_schema() {
    let db = tokio::task::spawn_blocking(TestDb::new)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let url = format!(
        "host={} port={} user=postgres dbname={}",
        server().host,
        server().port,
        db.name
    );
    let (c, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    tokio::spawn(conn);
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sql");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{e}")) {
        let path = entry.unwrap_or_else(|e| panic!("{e}")).path();
        let sql = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{e}"));
        c.prepare(&sql)
            .await
            .unwrap_or_else(|e| panic!("{}: {e:?}", path.display()));
        n += 1;
    }
    assert!(n > 60, "{n} statements");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newer_schema_is_refused() {
    let db = tokio::task::spawn_blocking(TestDb::new)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    opens_at_the_newest_schema(&db).await;
    let db = tokio::task::spawn_blocking(move || {
        on_db(
            &db,
            "INSERT INTO anp_schema (version, name, applied_at) VALUES (99, 'future', 0)",
        );
        db
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let err = PostgresStore::open(&db.url)
        .await
        .expect_err("a newer schema was opened");
    assert_eq!(err.kind(), ErrorKind::Incompatible, "{err}");
    assert!(err.message().contains("99"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_that_is_not_alphanodes_is_refused_untouched() {
    let db = tokio::task::spawn_blocking(TestDb::new)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    // The template is migrated: empty this one and give it someone else's `jobs` table.
    let db = tokio::task::spawn_blocking(move || {
        on_db(
            &db,
            "DROP SCHEMA public CASCADE; CREATE SCHEMA public; CREATE TABLE jobs (x int)",
        );
        db
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let err = PostgresStore::open(&db.url)
        .await
        .expect_err("a foreign database was opened");
    assert_eq!(err.kind(), ErrorKind::Incompatible, "{err}");
    let tables = tokio::task::spawn_blocking(move || {
        on_db(
            &db,
            "SELECT string_agg(tablename, ',') FROM pg_tables WHERE schemaname = 'public'",
        )
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(tables, vec!["jobs".to_owned()], "nothing was created");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_password_never_shows() {
    let db = tokio::task::spawn_blocking(TestDb::new)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    // Trust authentication ignores the password; the store must still hide it.
    let url = db.url.replace("postgres@", "postgres:hunter2@");
    let s = PostgresStore::open(&url)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        !s.redacted_url().contains("hunter2"),
        "{}",
        s.redacted_url()
    );
    assert!(!format!("{s:?}").contains("hunter2"));
    // An unreachable server: the error names it without the password.
    let err = PostgresStore::open("postgres://u:hunter2@127.0.0.1:1/x?connect_timeout=2")
        .await
        .expect_err("port 1 answered");
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    assert!(err.retry_safe());
    assert!(!err.to_string().contains("hunter2"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_schema_1_database_is_migrated_with_its_jobs_kept() {
    let db = tokio::task::spawn_blocking(TestDb::new)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    // A database as a build of schema 1 left it: migration 0001 only, one job in it.
    let db = tokio::task::spawn_blocking(move || {
        on_db(&db, "DROP SCHEMA public CASCADE; CREATE SCHEMA public");
        on_db(&db, include_str!("../migrations/0001_jobs.sql"));
        on_db(
            &db,
            "INSERT INTO anp_schema (version, name, applied_at) VALUES (1, '0001_jobs', 0);
             INSERT INTO jobs (id, kind, queue, args, state, priority, max_attempts, run_at, created_at)
             VALUES ('0190b2c4-0000-7000-8000-000000000001', 'k', 'q', '{}', 'available', 5, 25, 0, 0)",
        );
        db
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    opens_at_the_newest_schema(&db).await;
    let got = tokio::task::spawn_blocking(move || {
        let versions = on_db(
            &db,
            "SELECT string_agg(version || ':' || name, ',' ORDER BY version) FROM anp_schema",
        );
        let options = on_db(
            &db,
            "SELECT array_to_string(reloptions, ',') FROM pg_class WHERE relname = 'jobs'",
        );
        let jobs = on_db(&db, "SELECT count(*) FROM jobs");
        (versions, options, jobs)
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(got.0, vec!["1:0001_jobs,2:0002_jobs_autovacuum".to_owned()]);
    let options = got.1.concat();
    for want in [
        "autovacuum_vacuum_scale_factor=0",
        "autovacuum_vacuum_threshold=10000",
        "autovacuum_vacuum_cost_delay=0",
    ] {
        assert!(options.contains(want), "{want} not in {options}");
    }
    assert_eq!(
        got.2,
        vec!["1".to_owned()],
        "the job survived the migration"
    );
}
