//! `schedule_list`: every schedule with its last job's state, by name.

use anp_core::schedule::ScheduleInfo;
use anp_core::Result;

use crate::conn::{Conn, OpResult};
use crate::row;
use crate::store::in_tx;
use crate::PostgresStore;

/// Lists.
pub(crate) async fn run(s: &PostgresStore) -> Result<Vec<ScheduleInfo>> {
    in_tx!(s, "schedule_list", |tx| sql(tx))
}

async fn sql(c: &dyn Conn) -> OpResult<Vec<ScheduleInfo>> {
    c.query(include_str!("../../sql/schedule_list.sql"), &[])
        .await?
        .iter()
        .map(row::schedule_info)
        .collect()
}
