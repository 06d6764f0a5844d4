//! One snapshot of the store for `anp top`: what one refresh reads, through [`Admin`] only.

use std::time::Duration;

use alphanode::admin::Status;
use alphanode::{connect_with, Admin, ConnectOptions, QueueInfo, ScheduleInfo};
use jiff::Timestamp;

/// What one refresh read: the four questions, the queues' counts and the schedules.
#[derive(Clone, Debug)]
pub struct Snapshot {
    /// [`Admin::status`].
    pub status: Status,
    /// [`Admin::queue_list`]: counts per state, oldest available job, paused.
    pub queues: Vec<QueueInfo>,
    /// [`Admin::schedule_list`]: the next run is worked out when drawing.
    pub schedules: Vec<ScheduleInfo>,
    /// When the snapshot was read (heartbeat ages grow from it between refreshes).
    pub taken_at: Timestamp,
}

/// Reads one snapshot, opening the store first when `admin` is `None` (at start, or after the
/// store could not be opened); gives the store back for the next refresh. A snapshot that takes
/// longer than `patience` is an error, so a stalled store shows as down instead of a frozen
/// screen.
pub async fn take(
    url: String,
    admin: Option<Admin>,
    patience: Duration,
) -> (Option<Admin>, Result<Snapshot, String>) {
    let read = async move {
        let admin = match admin {
            Some(a) => a,
            // As `Ctx::admin`: an operator view never creates a store behind a typo.
            None => Admin::new(
                connect_with(&url, ConnectOptions { create: false })
                    .await
                    .map_err(|e| (None, e))?,
            ),
        };
        let read = async {
            let status = admin.status().await?;
            let queues = admin.queue_list().await?;
            let schedules = admin.schedule_list().await?;
            Ok::<_, alphanode::Error>(Snapshot {
                status,
                queues,
                schedules,
                taken_at: Timestamp::now(),
            })
        };
        match read.await {
            Ok(s) => Ok((admin, s)),
            Err(e) => Err((Some(admin), e)),
        }
    };
    match tokio::time::timeout(patience, read).await {
        Ok(Ok((admin, s))) => (Some(admin), Ok(s)),
        Ok(Err((admin, e))) => (admin, Err(said(&e))),
        // The store is opened again next time: the stalled connection may be the problem.
        Err(_) => (
            None,
            Err(format!(
                "the store did not answer within {}s (expected a snapshot in well under that)",
                patience.as_secs()
            )),
        ),
    }
}

/// An error as a person reads it: what failed and what was expected (the screen says it
/// retries).
fn said(e: &alphanode::Error) -> String {
    e.message().to_owned()
}
