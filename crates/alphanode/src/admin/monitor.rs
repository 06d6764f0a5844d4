//! What operators watch: live processes, deploy markers, per-minute stats.

use std::time::Duration;

use anp_core::monitor::{
    DeployMarker, ProcessInfo, ProcessListParams, StatCounts, StatKey, StatsQueryParams,
};
use anp_core::{Error, Result};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::Admin;

/// Processes whose last heartbeat is older than this are gone (workers and schedulers beat
/// every few seconds).
pub const STALE_AFTER: Duration = Duration::from_secs(60);

/// A deploy to mark with [`Admin::deploy_mark`]: what went out, who owns it, how to undo it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeployMark {
    /// The version deployed: 1-200 characters, not blank.
    pub version: String,
    /// Who to call.
    pub owner: Option<String>,
    /// The command that rolls it back.
    pub rollback: Option<String>,
    /// Free text.
    pub note: Option<String>,
}

impl Admin {
    /// Live workers and schedulers (seen within [`STALE_AFTER`]); stale ones are forgotten.
    pub async fn process_list(&self) -> Result<Vec<ProcessInfo>> {
        self.store()
            .process_list(ProcessListParams {
                now: self.now(),
                stale_after: STALE_AFTER,
            })
            .await
    }

    /// Records that a version went out now; `anp status` compares the failure rate and
    /// latency before and after the newest marker. `InvalidInput` for a blank or over-long
    /// version.
    pub async fn deploy_mark(&self, mark: DeployMark) -> Result<DeployMarker> {
        let len = mark.version.chars().count();
        if mark.version.trim().is_empty() || len > 200 {
            return Err(Error::invalid(
                "deploy_mark",
                format!(
                    "version {:?} is invalid: expected 1-200 characters, not blank",
                    mark.version
                ),
            ));
        }
        let m = DeployMarker {
            at: self.now(),
            version: mark.version,
            owner: mark.owner,
            rollback: mark.rollback,
            note: mark.note,
        };
        self.store().deploy_mark(m.clone()).await?;
        Ok(m)
    }

    /// The newest `limit` deploy markers, newest first.
    pub async fn deploy_list(&self, limit: u32) -> Result<Vec<DeployMarker>> {
        self.store().deploy_list(limit).await
    }

    /// Per-minute counts and latency histograms in `[from, until)`, by minute, queue and kind
    /// (kept 26 hours).
    pub async fn stats(
        &self,
        from: Timestamp,
        until: Timestamp,
    ) -> Result<Vec<(StatKey, StatCounts)>> {
        self.store()
            .stats_query(StatsQueryParams { from, until })
            .await
    }
}
