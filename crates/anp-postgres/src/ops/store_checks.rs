//! `store_checks`: what `anp doctor` asks of a PostgreSQL store — whether commits survive a
//! crash (`fsync`, `synchronous_commit`, `full_page_writes`), whether autovacuum runs (every
//! job transition leaves a dead row version; without vacuum `jobs` and its fetch index only
//! grow, and every fetch steps over the dead entries) and whether the connection is encrypted.
//! A setting that cannot be read is left out.

use anp_core::store::StoreCheck;

use crate::conn::Conn;
use crate::store::in_tx;
use crate::PostgresStore;

/// The checks.
pub(crate) async fn run(s: &PostgresStore) -> Vec<StoreCheck> {
    let mut out = Vec::new();
    let settings = in_tx!(s, "store_checks", |tx| async move {
        let r = Conn::query_one(tx, include_str!("../../sql/store_checks.sql"), &[]).await?;
        let get = |i| r.try_get::<_, String>(i);
        Ok::<_, crate::conn::Failure>((get(0)?, get(1)?, get(2)?, get(3)?))
    });
    if let Ok((fsync, sync_commit, fpw, autovacuum)) = settings {
        if fsync != "on" || fpw != "on" {
            out.push(StoreCheck::fail(
                "durability",
                format!("fsync={fsync}, full_page_writes={fpw}: a server crash can corrupt the database and lose jobs"),
                "set fsync = on and full_page_writes = on in postgresql.conf",
            ));
        } else if sync_commit == "off" {
            out.push(StoreCheck::fail(
                "durability",
                "synchronous_commit=off: a server crash loses the last commits (enqueues and acknowledgements reported done)",
                "set synchronous_commit = on (or local/remote_write) for the alphanode database: ALTER DATABASE … SET synchronous_commit = on",
            ));
        } else {
            out.push(StoreCheck::pass(
                "durability",
                format!("fsync=on, full_page_writes=on, synchronous_commit={sync_commit}: every commit survives a server crash"),
            ));
        }
        out.push(if autovacuum == "on" {
            StoreCheck::pass(
                "autovacuum",
                "autovacuum=on: dead row versions of finished and fetched jobs are removed (jobs has its own thresholds, migration 0002)",
            )
        } else {
            StoreCheck::fail(
                "autovacuum",
                format!("autovacuum={autovacuum}: every job transition leaves a dead row version that is never removed; jobs grows without bound and fetches slow down as they step over dead index entries"),
                "set autovacuum = on in postgresql.conf (or run VACUUM jobs from cron every minute)",
            )
        });
    }
    out.push(if s.tls() {
        StoreCheck::pass("tls", "connections use TLS (server certificate verified)")
    } else {
        StoreCheck::pass(
            "tls",
            "connections are plain TCP (sslmode=disable): fine on localhost or a private network; use sslmode=verify-full across untrusted networks",
        )
    });
    out
}
