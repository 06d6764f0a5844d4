//! A process's identity and lifecycle: the host name and process id recorded as lease owner
//! and in the process registry (workers and schedulers), and [`wait_for_signal`] for stopping
//! gracefully on SIGTERM or SIGINT.

use anp_core::monitor::ProcessInfo;
use anp_core::{Kind, QueueName};
use rand::Rng;

/// This machine's host name, as the OS reports it (`gethostname(2)`; `host` if it has none).
pub fn hostname() -> String {
    let name = gethostname::gethostname()
        .to_string_lossy()
        .trim()
        .to_owned();
    if name.is_empty() {
        "host".to_owned()
    } else {
        name
    }
}

/// A process id for registration and leases: `<host>-<pid>-<random>`.
pub fn process_id() -> String {
    let suffix: u32 = rand::rng().random();
    format!("{}-{}-{suffix:08x}", hostname(), std::process::id())
}

/// The registration record of this process: `queues` it serves and `kinds` it has handlers
/// for (both empty for a scheduler).
pub(crate) fn process_info(
    id: &str,
    role: &str,
    queues: Vec<QueueName>,
    kinds: Vec<Kind>,
    started_at: jiff::Timestamp,
    now: jiff::Timestamp,
) -> ProcessInfo {
    ProcessInfo {
        id: id.to_owned(),
        role: role.to_owned(),
        host: hostname(),
        pid: std::process::id(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        queues,
        kinds,
        started_at,
        last_seen: now,
    }
}

/// Resolves on SIGTERM or SIGINT (Ctrl-C).
#[cfg(unix)]
pub async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(mut term), Ok(mut int)) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        }
        _ => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// Resolves on Ctrl-C.
#[cfg(not(unix))]
pub async fn wait_for_signal() {
    let _ = tokio::signal::ctrl_c().await;
}
