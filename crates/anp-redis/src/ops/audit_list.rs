//! `audit_list`: the newest elements of the list `anp:audit` (see `audit_record`).

use anp_core::monitor::AuditEntry;
use anp_core::Result;

use crate::conn::{Call, Redis};
use crate::keys;
use crate::record::{items, text};

/// The newest `limit` entries, newest first.
pub(crate) async fn run(r: &Redis, limit: u32) -> Result<Vec<AuditEntry>> {
    const OP: &str = "audit_list";
    if limit == 0 {
        return Ok(Vec::new());
    }
    let v = r
        .run_one(
            OP,
            Call::global(
                redis::cmd("LRANGE")
                    .arg(keys::AUDIT)
                    .arg(0)
                    .arg(i64::from(limit) - 1)
                    .to_owned(),
            ),
        )
        .await?;
    Ok(items(v)
        .unwrap_or_default()
        .iter()
        .filter_map(|m| text(m).and_then(|j| serde_json::from_str(j).ok()))
        .collect())
}
