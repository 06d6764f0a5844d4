//! Schema migrations: numbered SQL files under `migrations/`, applied in order, each in the same
//! transaction as its row in `anp_schema`.

use rusqlite::Connection;

use crate::conn::OpResult;
use crate::SCHEMA_VERSION;

/// One migration file.
struct Migration {
    version: u32,
    name: &'static str,
    sql: &'static str,
}

/// Every migration, oldest first; the last one's version is [`SCHEMA_VERSION`].
const MIGRATIONS: [Migration; 8] = [
    Migration {
        version: 1,
        name: "0001_jobs_and_queues",
        sql: include_str!("../migrations/0001_jobs_and_queues.sql"),
    },
    Migration {
        version: 2,
        name: "0002_schedules",
        sql: include_str!("../migrations/0002_schedules.sql"),
    },
    Migration {
        version: 3,
        name: "0003_operations",
        sql: include_str!("../migrations/0003_operations.sql"),
    },
    Migration {
        version: 4,
        name: "0004_cache",
        sql: include_str!("../migrations/0004_cache.sql"),
    },
    Migration {
        version: 5,
        name: "0005_process_kinds",
        sql: include_str!("../migrations/0005_process_kinds.sql"),
    },
    Migration {
        version: 6,
        name: "0006_args_off_the_hot_row",
        sql: include_str!("../migrations/0006_args_off_the_hot_row.sql"),
    },
    Migration {
        version: 7,
        name: "0007_audit",
        sql: include_str!("../migrations/0007_audit.sql"),
    },
    Migration {
        version: 8,
        name: "0008_job_extents",
        sql: include_str!("../migrations/0008_job_extents.sql"),
    },
];

const _: () = assert!(MIGRATIONS.len() == SCHEMA_VERSION as usize);

/// `PRAGMA application_id` of an alphanode database ("ANP1"), so tools such as `file` can tell
/// what it is. Informational: `anp_schema` is what opening checks.
const APPLICATION_ID: i32 = 0x414E_5031;

/// Applies the migrations newer than `from` on `tx` (a `BEGIN IMMEDIATE` transaction the caller
/// commits), recording each in `anp_schema`.
pub(crate) fn apply(tx: &Connection, from: u32) -> OpResult<()> {
    let applied_at = jiff::Timestamp::now().as_microsecond();
    for m in MIGRATIONS.iter().filter(|m| m.version > from) {
        tx.execute_batch(m.sql)?;
        tx.execute(
            include_str!("../sql/open_record_migration.sql"),
            (m.version, m.name, applied_at),
        )?;
        tracing::info!(
            version = m.version,
            name = m.name,
            "applied SQLite migration"
        );
    }
    tx.pragma_update(None, "application_id", APPLICATION_ID)?;
    Ok(())
}
