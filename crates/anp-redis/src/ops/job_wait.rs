//! `job_wait`: a blocking pop (`BLPOP`) on the queues' wake lists (`anp:{<queue>}:wake`, where
//! every script that makes a job available pushes a token), on a connection of its own from
//! [`Waiters`]: never the shared one, because a BLPOP holds its connection until it returns, and
//! a cancelled one would leave it blocked. In Cluster the keys of one blocking command must
//! share a slot, so there is one BLPOP per queue and the first to return ends the wait.

use std::sync::Mutex;
use std::time::Duration;

use anp_core::store::JobWaitParams;
use anp_core::{Error, Result};
use redis::Value;
use tokio::task::JoinSet;

use crate::conn::{Redis, Waiters, CONNECT_TIMEOUT};
use crate::keys::Q;

const OP: &str = "job_wait";
/// Idle wait connections kept for reuse.
const MAX_IDLE_WAITERS: usize = 16;
/// Longest single BLPOP (a longer `job_wait` returns early, which is allowed).
const MAX_BLOCK: Duration = Duration::from_secs(3600);

/// Blocks until a wake token arrives on one of the queues' wake lists or `p.timeout` passes.
/// Cancel-safe: a wait that is dropped drops its connection (closing the socket ends the
/// BLPOP on the server); only connections whose BLPOP completed go back to the pool.
pub(crate) async fn run(r: &Redis, p: JobWaitParams) -> Result<()> {
    let timeout = p.timeout.min(MAX_BLOCK);
    if p.queues.is_empty() || timeout.is_zero() {
        tokio::time::sleep(timeout).await;
        return Ok(());
    }
    // BLPOP takes seconds as a decimal; 0 would mean forever.
    let secs = format!("{:.3}", timeout.as_secs_f64().max(0.001));
    // A stalled server (SIGSTOP) must not hold the caller past its timeout.
    let guard = timeout + Duration::from_secs(1);
    match r.waiters() {
        Waiters::Single { client, idle } => {
            let taken = lock(idle).pop();
            let mut conn = match taken {
                Some(c) => c,
                None => client
                    .get_multiplexed_async_connection_with_config(
                        &redis::AsyncConnectionConfig::new()
                            .set_response_timeout(None)
                            .set_connection_timeout(Some(CONNECT_TIMEOUT)),
                    )
                    .await
                    .map_err(|e| r.error(OP, e))?,
            };
            let mut cmd = redis::cmd("BLPOP");
            for q in &p.queues {
                cmd.arg(Q::Wake.key(q));
            }
            cmd.arg(&secs);
            match tokio::time::timeout(guard, cmd.query_async::<Value>(&mut conn)).await {
                Ok(Ok(_)) => {
                    let mut idle = lock(idle);
                    if idle.len() < MAX_IDLE_WAITERS {
                        idle.push(conn);
                    }
                    Ok(())
                }
                Ok(Err(e)) => Err(r.error(OP, e)),
                Err(_) => Ok(()),
            }
        }
        Waiters::Cluster { client, idle } => {
            let mut set = JoinSet::new();
            for q in &p.queues {
                let taken = lock(idle).pop();
                let conn = match taken {
                    Some(c) => c,
                    None => client
                        .get_async_connection()
                        .await
                        .map_err(|e| r.error(OP, e))?,
                };
                let mut cmd = redis::cmd("BLPOP");
                cmd.arg(Q::Wake.key(q)).arg(&secs);
                set.spawn(async move {
                    let mut conn = conn;
                    let r = cmd.query_async::<Value>(&mut conn).await;
                    (conn, r)
                });
            }
            // The first BLPOP to return ends the wait; dropping the set aborts the others
            // and drops their connections.
            match tokio::time::timeout(guard, set.join_next()).await {
                Ok(Some(Ok((conn, Ok(_))))) => {
                    let mut idle = lock(idle);
                    if idle.len() < MAX_IDLE_WAITERS {
                        idle.push(conn);
                    }
                    Ok(())
                }
                Ok(Some(Ok((_, Err(e))))) => Err(r.error(OP, e)),
                Ok(Some(Err(e))) => Err(Error::internal(OP, format!("a wait task failed: {e}"))),
                Ok(None) | Err(_) => Ok(()),
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
