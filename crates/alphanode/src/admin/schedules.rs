//! Schedules: list, show with the fire log, trigger, pause, resume, delete.

use anp_core::job::Enqueued;
use anp_core::schedule::{FireLogEntry, ScheduleInfo, ScheduleName, ScheduleTriggerParams};
use anp_core::Result;
use serde::Serialize;

use super::Admin;

/// Fire-log entries a schedule keeps (the scheduler trims to this on every fire).
const LOG_MAX: u32 = crate::scheduler::DEFAULT_LOG_MAX;

/// One schedule with its newest fire-log entries, newest first.
#[derive(Clone, Debug, Serialize)]
pub struct ScheduleDetail {
    /// The schedule and its state.
    pub schedule: ScheduleInfo,
    /// What happened at its latest ticks (fired, skipped and why, triggered by hand).
    pub fire_log: Vec<FireLogEntry>,
}

impl Admin {
    /// Every schedule with its state, by name.
    pub async fn schedule_list(&self) -> Result<Vec<ScheduleInfo>> {
        self.store().schedule_list().await
    }

    /// One schedule and its newest `log_limit` fire-log entries; `NotFound` if absent.
    pub async fn schedule_get(
        &self,
        name: &ScheduleName,
        log_limit: u32,
    ) -> Result<ScheduleDetail> {
        let (schedule, fire_log) = self.store().schedule_get(name.clone(), log_limit).await?;
        Ok(ScheduleDetail { schedule, fire_log })
    }

    /// Enqueues the schedule's job now, logged as triggered `by` (who asked: a user, a
    /// process); the schedule's own ticks are unchanged.
    pub async fn schedule_trigger(&self, name: &ScheduleName, by: &str) -> Result<Enqueued> {
        self.store()
            .schedule_trigger(ScheduleTriggerParams {
                name: name.clone(),
                now: self.now(),
                by: by.to_owned(),
                log_max: LOG_MAX,
            })
            .await
    }

    /// Pauses a schedule: its ticks are recorded as skipped until resumed.
    pub async fn schedule_pause(&self, name: &ScheduleName) -> Result<()> {
        self.store()
            .schedule_set_paused(name.clone(), true, self.now())
            .await
    }

    /// Resumes a paused schedule.
    pub async fn schedule_resume(&self, name: &ScheduleName) -> Result<()> {
        self.store()
            .schedule_set_paused(name.clone(), false, self.now())
            .await
    }

    /// Deletes a schedule and its fire log (a scheduler whose config still declares it
    /// registers it again).
    pub async fn schedule_delete(&self, name: &ScheduleName) -> Result<()> {
        self.store().schedule_delete(name.clone()).await
    }
}
