//! What operators watch: live processes, deploy markers, per-minute stats, the audit log.

use std::time::Duration;

use anp_core::monitor::{
    AuditEntry, DeployMarker, ProcessInfo, ProcessListParams, StatCounts, StatKey, StatsQueryParams,
};
use anp_core::{Error, Result};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::cache::GenerationMoved;
use super::Admin;
use anp_core::cache::GenerationMove;

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

/// The version prefix of a rollback marker (`rollback of v42`).
pub const ROLLBACK_PREFIX: &str = "rollback of ";

/// What [`Admin::deploy_mark`] recorded and changed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeployMarked {
    /// The marker.
    #[serde(flatten)]
    pub marker: DeployMarker,
    /// Deploy-sensitive cache namespaces moved to a new generation.
    pub cache: Vec<GenerationMoved>,
}

/// A rollback to record with [`Admin::deploy_rollback`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeployRollback {
    /// Who rolled back.
    pub owner: Option<String>,
    /// Why (the rollback note).
    pub note: Option<String>,
}

/// What [`Admin::deploy_rollback`] recorded and changed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeployRolledBack {
    /// The rollback marker.
    #[serde(flatten)]
    pub marker: DeployMarker,
    /// The deploy it undoes.
    pub undone: DeployMarker,
    /// Deploy-sensitive cache namespaces returned to their previous generation.
    pub cache: Vec<GenerationMoved>,
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
    /// latency before and after the newest marker. Every deploy-sensitive cache namespace moves
    /// to a new, empty generation (the old one stays stored for [`Admin::deploy_rollback`]).
    /// `InvalidInput` for a blank or over-long version.
    pub async fn deploy_mark(&self, mark: DeployMark) -> Result<DeployMarked> {
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
        let cache = self.cache_generations_move(GenerationMove::Next).await?;
        Ok(DeployMarked { marker: m, cache })
    }

    /// Records that the newest deploy was rolled back: a marker `rollback of <version>`
    /// beside it (with who and why), and every deploy-sensitive cache namespace returns to
    /// its previous generation — whose values are still stored, so the rolled-back release
    /// starts with a warm cache. `NotFound` when no deploy was marked.
    pub async fn deploy_rollback(&self, r: DeployRollback) -> Result<DeployRolledBack> {
        let undone = self
            .store()
            .deploy_list(100)
            .await?
            .into_iter()
            .find(|m| !m.version.starts_with(ROLLBACK_PREFIX))
            .ok_or_else(|| {
                Error::not_found(
                    "deploy rollback",
                    "no deploy marker to roll back: expected `anp deploy mark` to have recorded one",
                )
            })?;
        let m = DeployMarker {
            at: self.now(),
            version: format!("{ROLLBACK_PREFIX}{}", undone.version),
            owner: r.owner,
            rollback: None,
            note: r.note,
        };
        self.store().deploy_mark(m.clone()).await?;
        let cache = self
            .cache_generations_move(GenerationMove::Previous)
            .await?;
        Ok(DeployRolledBack {
            marker: m,
            undone,
            cache,
        })
    }

    /// The newest `limit` deploy markers, newest first.
    pub async fn deploy_list(&self, limit: u32) -> Result<Vec<DeployMarker>> {
        self.store().deploy_list(limit).await
    }

    /// Records an operator action in the store's audit log at the current time: `who` asked
    /// (`"api token"`, `"dashboard session 3fa2c1d0"`), `action` on `target`, ending in
    /// `result` (`"ok"`, `"error: …"`). The newest
    /// [`AUDIT_KEEP`](anp_core::monitor::AUDIT_KEEP) entries are kept.
    pub async fn audit_record(
        &self,
        who: &str,
        action: &str,
        target: &str,
        result: &str,
    ) -> Result<AuditEntry> {
        let e = AuditEntry {
            at: self.now(),
            who: who.to_owned(),
            action: action.to_owned(),
            target: target.to_owned(),
            result: result.to_owned(),
        };
        self.store().audit_record(e.clone()).await?;
        Ok(e)
    }

    /// The newest `limit` audit entries, newest first.
    pub async fn audit_list(&self, limit: u32) -> Result<Vec<AuditEntry>> {
        self.store().audit_list(limit).await
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
