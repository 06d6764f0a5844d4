//! The invalidation feed: changes published by any handle reach every watch, in order.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anp_core::cache::{CacheStore, CacheWatch, Invalidation, WatchEvent};

use super::{cache_of, key, ns, tag, until_elapsed};
use crate::util::wait_for;
use crate::Harness;

/// What a watch received so far.
type Seen = Arc<Mutex<Vec<WatchEvent>>>;

async fn watch(c: &dyn CacheStore) -> (CacheWatch, Seen) {
    let seen: Seen = Arc::default();
    let sink = {
        let seen = Arc::clone(&seen);
        Box::new(move |e| seen.lock().unwrap_or_else(PoisonError::into_inner).push(e))
    };
    let w = c
        .cache_watch(sink)
        .await
        .unwrap_or_else(|e| panic!("cache_watch: {e}"));
    (w, seen)
}

fn seen_now(seen: &Seen) -> Vec<WatchEvent> {
    seen.lock().unwrap_or_else(PoisonError::into_inner).clone()
}

/// Waits until the watch has received `n` events, and returns them.
async fn received(seen: &Seen, n: usize) -> Vec<WatchEvent> {
    wait_for(&format!("{n} watch events"), Duration::from_secs(5), || {
        let got = seen_now(seen);
        async move { (got.len() >= n).then_some(got) }
    })
    .await
}

async fn publish(c: &dyn CacheStore, origin: &str, change: Invalidation) {
    c.cache_publish(origin.to_owned(), change)
        .await
        .unwrap_or_else(|e| panic!("cache_publish: {e}"))
}

fn changes() -> Vec<Invalidation> {
    vec![
        Invalidation::Keys {
            ns: ns("pages"),
            keys: vec![key("post:1"), key("a%b_{c}*?")],
        },
        Invalidation::Tags {
            ns: ns("pages"),
            versions: vec![(tag("post:1"), u64::MAX), (tag("user:2"), 9)],
        },
        Invalidation::Prefix {
            ns: ns("api"),
            prefix: "GET /users/".into(),
        },
        Invalidation::Generation {
            ns: ns("pages"),
            generation: 3,
        },
    ]
}

fn change(origin: &str, change: &Invalidation) -> WatchEvent {
    WatchEvent::Change {
        origin: origin.to_owned(),
        change: change.clone(),
    }
}

/// A watch receives every change published after it started, by another handle (another
/// process) and by its own, each exactly once and in publish order, with no `Resync`; changes
/// published before it started are not delivered. A change reaches it well within a second.
pub async fn cache_watch_delivers_changes_from_every_handle_in_order<H: Harness>(h: &H) {
    let a = cache_of(h).await;
    let b = cache_of(h).await;
    let c = changes();
    publish(&*b, "before", c[3].clone()).await;
    let (_w, seen) = watch(&*a).await;

    publish(&*b, "process-b", c[0].clone()).await;
    publish(&*b, "process-b", c[1].clone()).await;
    publish(&*a, "process-a", c[2].clone()).await;
    let published = Instant::now();
    publish(&*b, "process-b", c[3].clone()).await;
    let got = received(&seen, 4).await;
    let latency = published.elapsed();
    assert_eq!(
        got,
        [
            change("process-b", &c[0]),
            change("process-b", &c[1]),
            change("process-a", &c[2]),
            change("process-b", &c[3]),
        ]
    );
    assert!(latency < Duration::from_secs(2), "{latency:?}");
    assert!(
        a.cache_watch_bound() > Duration::ZERO && a.cache_watch_bound() <= Duration::from_secs(1),
        "{:?}",
        a.cache_watch_bound()
    );
    // Nothing more arrives (no duplicate, no Resync).
    until_elapsed(Instant::now(), Duration::from_millis(300)).await;
    assert_eq!(seen_now(&seen).len(), 4, "{:?}", seen_now(&seen));
}

/// Several watches each receive every change; a dropped watch receives nothing more while the
/// others go on.
pub async fn cache_watch_stops_when_dropped<H: Harness>(h: &H) {
    let a = cache_of(h).await;
    let b = cache_of(h).await;
    let c = changes();
    let (wa, seen_a) = watch(&*a).await;
    let (_wb, seen_b) = watch(&*b).await;
    publish(&*a, "p", c[0].clone()).await;
    assert_eq!(received(&seen_a, 1).await, [change("p", &c[0])]);
    assert_eq!(received(&seen_b, 1).await, [change("p", &c[0])]);

    drop(wa);
    publish(&*b, "p", c[1].clone()).await;
    assert_eq!(
        received(&seen_b, 2).await,
        [change("p", &c[0]), change("p", &c[1])]
    );
    // Past the delivery bound, the dropped watch still has only the first change.
    until_elapsed(Instant::now(), Duration::from_millis(300)).await;
    assert_eq!(seen_now(&seen_a), [change("p", &c[0])]);
}
