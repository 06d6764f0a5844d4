//! Schema migrations: numbered SQL files under `migrations/`, applied in order in one
//! transaction (with their rows in `anp_schema`) under an advisory lock, so several processes
//! opening a new database at once migrate it once.

use anp_core::Error;

use crate::conn::{Conn, Failure, OpResult};
use crate::store::in_tx;
use crate::{PostgresStore, SCHEMA_VERSION};

/// One migration file.
struct Migration {
    version: u32,
    name: &'static str,
    sql: &'static str,
}

/// Every migration, oldest first; the last one's version is [`SCHEMA_VERSION`].
const MIGRATIONS: [Migration; 2] = [
    Migration {
        version: 1,
        name: "0001_jobs",
        sql: include_str!("../migrations/0001_jobs.sql"),
    },
    Migration {
        version: 2,
        name: "0002_jobs_autovacuum",
        sql: include_str!("../migrations/0002_jobs_autovacuum.sql"),
    },
];

const _: () = assert!(MIGRATIONS.len() == SCHEMA_VERSION as usize);

const OP: &str = "migrate";

/// Applies pending migrations; refuses a newer schema or a database whose `jobs` table is not
/// alphanode's.
pub(crate) async fn run(s: &PostgresStore) -> anp_core::Result<()> {
    let url = s.url().to_owned();
    let applied = in_tx!(s, OP, |tx| apply(tx, &url))?;
    for (version, name) in applied {
        tracing::info!(version, name, "applied PostgreSQL migration");
    }
    Ok(())
}

async fn apply(
    c: &deadpool_postgres::Transaction<'_>,
    url: &str,
) -> OpResult<Vec<(u32, &'static str)>> {
    c.execute(include_str!("../sql/open_lock.sql"), &[]).await?;
    let row = c
        .query_one(include_str!("../sql/open_objects.sql"), &[])
        .await?;
    let has_schema: bool = row.try_get(0)?;
    let has_jobs: bool = row.try_get(1)?;
    let current: u32 = if has_schema {
        let v: i32 = c
            .query_one(include_str!("../sql/store_ping.sql"), &[])
            .await?
            .try_get(0)?;
        u32::try_from(v).map_err(|_| Failure::Damaged(format!("anp_schema holds version {v}")))?
    } else if has_jobs {
        return Err(Error::incompatible(
            OP,
            format!("{url} holds a table named jobs but no anp_schema: expected an empty database or one alphanode created; use another database (or schema via options=-csearch_path=…)"),
        )
        .into());
    } else {
        0
    };
    if current > SCHEMA_VERSION {
        return Err(Error::incompatible(
            OP,
            format!("{url} has alphanode schema version {current}, newer than this build's {SCHEMA_VERSION}: expected at most {SCHEMA_VERSION}; upgrade alphanode"),
        )
        .into());
    }
    let applied_at = jiff::Timestamp::now().as_microsecond();
    let mut applied = Vec::new();
    for m in MIGRATIONS.iter().filter(|m| m.version > current) {
        tokio_postgres::Transaction::batch_execute(c, m.sql).await?;
        let version = i32::try_from(m.version).unwrap_or(i32::MAX);
        c.execute(
            include_str!("../sql/open_record_migration.sql"),
            &[&version, &m.name, &applied_at],
        )
        .await?;
        applied.push((m.version, m.name));
    }
    Ok(applied)
}
