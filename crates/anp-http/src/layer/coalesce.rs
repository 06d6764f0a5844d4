//! Request coalescing in front of the cache: one lookup (and so at most one upstream request)
//! per cache key at a time in this process.
//!
//! The cache's own single-flight ([`alphanode::cache::Cache::get_or_compute`]) already shares
//! one computation among the callers that find a key missing while it runs. It cannot close one
//! gap: a caller whose store read missed just before the computation ended starts a second one
//! once the first has left. Here a caller first joins the key's flight or starts one, and only
//! the flight reads the cache; a flight ends only after its value is stored, so a caller that
//! finds no flight reads the stored value. Callers of one flight also share its outcome, which
//! tells them when its response was not stored (they then go upstream themselves: a response
//! that was not stored, e.g. one that set a cookie, is given to its own client only).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

use futures_util::future::{BoxFuture, FutureExt, Shared};

use super::stored::Stored;

/// What one flight found, shared by every caller that joined it.
#[derive(Clone, Debug)]
pub(crate) enum Outcome {
    /// A value to serve: fresh, stale, or just stored.
    Value {
        stored: Stored,
        /// The flight's own upstream call produced it (a miss), rather than the cache.
        fetched: bool,
        /// The upstream's status when the flight's upstream call failed and a stale-if-error
        /// value is served instead.
        failed_status: Option<u16>,
    },
    /// The upstream's response was not stored (only the caller that started the flight holds
    /// it), or the upstream failed and no stale value was there.
    NotStored {
        reason: Arc<str>,
        fwd_status: Option<u16>,
    },
    /// The cache refused the call (a key or policy it does not accept, or it failed).
    Refused { reason: Arc<str> },
}

/// One lookup in progress, awaited by every caller of its key.
pub(crate) type Flight = Shared<BoxFuture<'static, Outcome>>;

/// The flights in progress, by cache key.
#[derive(Debug, Default)]
pub(crate) struct Flights {
    map: Mutex<HashMap<String, (u64, Flight)>>,
    next: AtomicU64,
}

impl Flights {
    /// The key's flight in progress (`false`: joined), or `start`'s future as a new flight
    /// (`true`: this caller leads it). The flight leaves the map when it completes.
    pub(crate) fn join_or_start<F>(self: &Arc<Self>, key: &str, start: F) -> (Flight, bool)
    where
        F: FnOnce() -> BoxFuture<'static, Outcome>,
    {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, f)) = map.get(key) {
            return (f.clone(), false);
        }
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let landing = Landing {
            flights: Arc::downgrade(self),
            key: key.to_owned(),
            id,
        };
        let inner = start();
        let flight = async move {
            let out = inner.await;
            drop(landing);
            out
        }
        .boxed()
        .shared();
        map.insert(key.to_owned(), (id, flight.clone()));
        (flight, true)
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.map.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

/// Removes its flight from the map when the flight completes (or is dropped unfinished).
struct Landing {
    flights: Weak<Flights>,
    key: String,
    id: u64,
}

impl Drop for Landing {
    fn drop(&mut self) {
        let Some(flights) = self.flights.upgrade() else {
            return;
        };
        let mut map = flights.map.lock().unwrap_or_else(|p| p.into_inner());
        if map.get(&self.key).is_some_and(|(id, _)| *id == self.id) {
            map.remove(&self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn callers_of_one_key_share_one_flight_until_it_lands() {
        let flights = Arc::new(Flights::default());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let (a, lead_a) = flights.join_or_start("k", || {
            async move {
                let _ = rx.await;
                Outcome::Refused {
                    reason: "first".into(),
                }
            }
            .boxed()
        });
        let (b, lead_b) = flights.join_or_start("k", || panic!("a second flight for k"));
        assert!(lead_a && !lead_b);
        assert_eq!(flights.len(), 1);
        let _ = tx.send(());
        let (a, b) = tokio::join!(a, b);
        assert!(matches!(
            (a, b),
            (Outcome::Refused { .. }, Outcome::Refused { .. })
        ));
        assert_eq!(flights.len(), 0, "a landed flight leaves the map");
        let (_, lead_c) = flights.join_or_start("k", || {
            async {
                Outcome::Refused {
                    reason: "second".into(),
                }
            }
            .boxed()
        });
        assert!(lead_c, "after landing, the next caller starts a new flight");
    }
}
