//! `anp workers`: live workers and schedulers.

use alphanode::admin::STALE_AFTER;
use alphanode::{Clock, SystemClock};

use super::Ctx;
use crate::output;

/// Runs `anp workers`: live workers and schedulers, with the queues and kinds each serves.
pub async fn workers(ctx: &Ctx, a: output::ListArgs) -> anyhow::Result<()> {
    let list = ctx.admin().await?.process_list().await?;
    let now = SystemClock.now();
    if ctx.json {
        return output::json(&list);
    }
    let mut t = output::table(&[
        "id",
        "role",
        "host",
        "pid",
        "version",
        "queues",
        "kinds",
        "started",
        "last heartbeat",
    ]);
    t.when_empty(format!(
        "no live workers or schedulers (none heartbeated in the last {}s)",
        STALE_AFTER.as_secs()
    ));
    for p in &list {
        t.add_row(vec![
            p.id.clone(),
            p.role.clone(),
            p.host.clone(),
            p.pid.to_string(),
            p.version.clone(),
            p.queues
                .iter()
                .map(|q| q.as_str())
                .collect::<Vec<_>>()
                .join(","),
            p.kinds
                .iter()
                .map(|k| k.as_str())
                .collect::<Vec<_>>()
                .join(","),
            output::age(p.started_at, now),
            output::age(p.last_seen, now),
        ]);
    }
    t.print(a.quiet)
}
