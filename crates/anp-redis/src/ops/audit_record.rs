//! `audit_record`: an audit entry as a JSON element pushed on the head of the list
//! `anp:audit`, trimmed to the newest [`AUDIT_KEEP`] in the same pipeline. One key, so it is
//! Cluster-safe.

use anp_core::monitor::{AuditEntry, AUDIT_KEEP};
use anp_core::{Error, Result};

use crate::conn::{Call, Redis};
use crate::keys;
use crate::ops::ok;

/// Records an entry (and trims the oldest beyond [`AUDIT_KEEP`]).
pub(crate) async fn run(r: &Redis, e: AuditEntry) -> Result<()> {
    const OP: &str = "audit_record";
    let json = serde_json::to_string(&e)
        .map_err(|err| Error::internal(OP, format!("cannot encode the entry: {err}")))?;
    let calls = vec![
        Call::global(redis::cmd("LPUSH").arg(keys::AUDIT).arg(json).to_owned()),
        Call::global(
            redis::cmd("LTRIM")
                .arg(keys::AUDIT)
                .arg(0)
                .arg(i64::from(AUDIT_KEEP) - 1)
                .to_owned(),
        ),
    ];
    for v in r.run(OP, calls).await? {
        ok(r, OP, v)?;
    }
    Ok(())
}
