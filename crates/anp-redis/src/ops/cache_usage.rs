//! `cache_usage`: `SCAN MATCH anp:c:<ns>:<gen>:e:{*` on every primary, and per page one
//! pipelined `STRLEN` per key (routed to its slot). Counting stops after [`BUDGET`] keys, and
//! the figures are then lower bounds (`exact: false`).

use anp_core::cache::{CacheUsage, Namespace};
use anp_core::Result;
use jiff::Timestamp;

use crate::conn::{Call, Redis};
use crate::keys;
use crate::ops::ok;
use crate::record::{bad_reply, int};

const OP: &str = "cache_usage";

/// Keys examined at most per call.
const BUDGET: usize = 100_000;

/// Live entries of the generation and their size (key and envelope bytes).
pub(crate) async fn run(
    r: &Redis,
    ns: Namespace,
    generation: u64,
    _now: Timestamp,
) -> Result<CacheUsage> {
    let mut scan = r.scan(keys::cache_entry_pattern(&ns, generation, ""));
    let mut usage = CacheUsage {
        exact: true,
        ..CacheUsage::default()
    };
    let mut seen = 0;
    while let Some(mut page) = scan.next(r, OP).await? {
        if page.is_empty() {
            continue;
        }
        let room = BUDGET - seen;
        if page.len() > room {
            // Keys remain that the budget does not cover.
            page.truncate(room);
            usage.exact = false;
        }
        seen += page.len();
        let calls = page
            .iter()
            .map(|k| Call::keyed(k, redis::cmd("STRLEN").arg(k).to_owned()))
            .collect();
        for (k, v) in page.iter().zip(r.run(OP, calls).await?) {
            let v = ok(r, OP, v)?;
            let len = int(&v)
                .and_then(|n| u64::try_from(n).ok())
                .ok_or_else(|| bad_reply(OP, "a length", &v))?;
            // 0: expired (or deleted) since the scan found it.
            if len > 0 {
                usage.entries += 1;
                usage.bytes += len + k.len() as u64;
            }
        }
        if !usage.exact {
            break;
        }
    }
    Ok(usage)
}
