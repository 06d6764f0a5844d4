//! `job_wait`'s wake-ups: one connection per store that runs `LISTEN anp_jobs` and counts the
//! notifications it hears (every transaction that makes jobs available runs
//! `pg_notify('anp_jobs', '')`, delivered at its commit). Waiters watch the count. When the
//! listening connection drops, it is reopened with backoff; waiters then check every
//! [`POLL_WHILE_DEAF`] until it listens again, and are all woken when it does (notifications
//! sent meanwhile were missed).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_postgres::tls::{MakeTlsConnect, TlsConnect};
use tokio_postgres::{AsyncMessage, Socket};

/// The channel jobs are announced on.
pub(crate) const CHANNEL: &str = "anp_jobs";

/// How often waiters check while the listening connection is down.
pub(crate) const POLL_WHILE_DEAF: Duration = Duration::from_millis(250);

/// The longest a waiter sleeps without checking even while listening: a safety net against
/// a connection that died without telling (no traffic, no error yet).
pub(crate) const SAFETY_NET: Duration = Duration::from_secs(5);

/// The listening connection and its counter.
pub(crate) struct Wake {
    heard: watch::Receiver<u64>,
    listening: Arc<AtomicBool>,
    task: JoinHandle<()>,
}

impl Drop for Wake {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Wake {
    /// Starts the listening task (it connects in the background: `open` does not wait for it).
    pub(crate) fn start<T>(config: tokio_postgres::Config, tls: T, url: String) -> Wake
    where
        T: MakeTlsConnect<Socket> + Clone + Send + Sync + 'static,
        T::Stream: Send + 'static,
        T::TlsConnect: Send,
        <T::TlsConnect as TlsConnect<Socket>>::Future: Send,
    {
        let (tx, heard) = watch::channel(0u64);
        let listening = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&listening);
        let task = tokio::spawn(async move {
            let mut backoff = Duration::from_millis(100);
            loop {
                match listen(&config, tls.clone(), &tx, &flag).await {
                    Ok(()) => backoff = Duration::from_millis(100),
                    Err(e) => {
                        tracing::debug!(%url, error = %e, "LISTEN connection failed; retrying");
                    }
                }
                flag.store(false, Ordering::SeqCst);
                tx.send_modify(|n| *n += 1);
                if tx.is_closed() {
                    return;
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(2));
            }
        });
        Wake {
            heard,
            listening,
            task,
        }
    }

    /// A receiver whose `changed()` fires at the next notification (or reconnect).
    pub(crate) fn subscribe(&self) -> watch::Receiver<u64> {
        self.heard.clone()
    }

    /// How many notifications (and reconnects) were heard so far.
    pub(crate) fn heard(&self) -> u64 {
        *self.heard.borrow()
    }

    /// Whether the listening connection is up (else waiters poll).
    pub(crate) fn listening(&self) -> bool {
        self.listening.load(Ordering::SeqCst)
    }
}

/// One listening connection, until it fails or ends.
async fn listen<T>(
    config: &tokio_postgres::Config,
    tls: T,
    tx: &watch::Sender<u64>,
    flag: &AtomicBool,
) -> Result<(), tokio_postgres::Error>
where
    T: MakeTlsConnect<Socket> + Send,
    T::Stream: Send + 'static,
    T::TlsConnect: Send,
    <T::TlsConnect as TlsConnect<Socket>>::Future: Send,
{
    let (client, mut connection) = config.connect(tls).await?;
    let (msg_tx, mut msg_rx) = tokio::sync::mpsc::unbounded_channel();
    let driver = tokio::spawn(async move {
        let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(m) = messages.next().await {
            let end = m.is_err();
            if msg_tx.send(m).is_err() || end {
                break;
            }
        }
    });
    let result = async {
        client.batch_execute(&format!("LISTEN {CHANNEL}")).await?;
        flag.store(true, Ordering::SeqCst);
        // Anything sent before LISTEN took effect was missed: wake everyone once.
        tx.send_modify(|n| *n += 1);
        while let Some(m) = msg_rx.recv().await {
            match m? {
                AsyncMessage::Notification(_) => tx.send_modify(|n| *n += 1),
                AsyncMessage::Notice(_) => {}
                _ => {}
            }
            if tx.is_closed() {
                break;
            }
        }
        Ok(())
    }
    .await;
    driver.abort();
    drop(client);
    result
}
