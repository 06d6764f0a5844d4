//! The services that keep a store healthy, one per file:
//! - [`rescuer`]: takes back running jobs whose lease expired (their worker died or stalled),
//!   recording the lost attempt;
//! - [`promoter`]: makes due scheduled and retryable jobs available;
//! - [`pruner`]: deletes finished jobs beyond the retention.
//!
//! Every worker runs them by default. Running them in several processes at once is safe: each
//! pass is one atomic store operation, so two rescuers never rescue the same job twice.

pub mod promoter;
pub mod pruner;
pub mod rescuer;

use std::sync::Arc;
use std::time::Duration;

use anp_core::{Clock, Store};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// How often each service runs and what the pruner keeps.
#[derive(Clone, Debug)]
pub struct MaintenanceOptions {
    /// Rescuer period. Default 5 s.
    pub rescue_every: Duration,
    /// Promoter period. Default 1 s (a scheduled job starts at most this late).
    pub promote_every: Duration,
    /// Pruner period. Default 60 s.
    pub prune_every: Duration,
    /// What the pruner keeps.
    pub retention: pruner::Retention,
}

impl Default for MaintenanceOptions {
    fn default() -> Self {
        MaintenanceOptions {
            rescue_every: Duration::from_secs(5),
            promote_every: Duration::from_secs(1),
            prune_every: Duration::from_secs(60),
            retention: pruner::Retention::default(),
        }
    }
}

/// Starts the three services on `set`; they stop when `shutdown` is cancelled.
pub(crate) fn spawn_all(
    set: &mut JoinSet<()>,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    opts: MaintenanceOptions,
    shutdown: CancellationToken,
) {
    set.spawn(every(opts.rescue_every, shutdown.clone(), {
        let (store, clock) = (store.clone(), clock.clone());
        move || {
            let (store, clock) = (store.clone(), clock.clone());
            async move {
                let _ = rescuer::rescue_once(&*store, &*clock).await;
            }
        }
    }));
    set.spawn(every(opts.promote_every, shutdown.clone(), {
        let (store, clock) = (store.clone(), clock.clone());
        move || {
            let (store, clock) = (store.clone(), clock.clone());
            async move {
                let _ = promoter::promote_once(&*store, &*clock).await;
            }
        }
    }));
    let retention = opts.retention;
    set.spawn(every(opts.prune_every, shutdown, move || {
        let (store, clock, retention) = (store.clone(), clock.clone(), retention.clone());
        async move {
            let _ = pruner::prune_once(&*store, &*clock, &retention).await;
        }
    }));
}

/// Runs `pass` every `period` until `shutdown`; a pass logs its own errors.
async fn every<F, Fut>(period: Duration, shutdown: CancellationToken, pass: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut tick = tokio::time::interval(period.max(Duration::from_millis(10)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => pass().await,
        }
    }
}
