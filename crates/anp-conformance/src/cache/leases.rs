//! Compute leases: exclusive, renewed, released, taken again after expiry; and the fenced write
//! that ends a computation.

use std::time::{Duration, Instant};

use anp_core::cache::{CacheLeaseParams, CacheStore, CacheWrite};

use super::{
    cache_of, elapsed_until, envelope, lease, now, read, read_value, until_elapsed, write,
    write_with, LONG,
};
use crate::Harness;

/// Tokens with the high bit set (SQLite integers are signed) and otherwise close.
const A: u64 = 0x8000_0000_0000_00a1;
const B: u64 = 0x8000_0000_0000_00b2;
const C: u64 = 0x0000_0000_0000_00c3;

async fn acquire(c: &dyn CacheStore, p: CacheLeaseParams) -> bool {
    c.cache_lease_acquire(p)
        .await
        .unwrap_or_else(|e| panic!("cache_lease_acquire: {e}"))
}

async fn renew(c: &dyn CacheStore, p: CacheLeaseParams) -> bool {
    c.cache_lease_renew(p)
        .await
        .unwrap_or_else(|e| panic!("cache_lease_renew: {e}"))
}

async fn release(c: &dyn CacheStore, p: CacheLeaseParams) {
    c.cache_lease_release(p)
        .await
        .unwrap_or_else(|e| panic!("cache_lease_release: {e}"))
}

const T: Duration = Duration::from_secs(30);

/// One holder at a time per key: a second token is refused, cannot renew it and cannot release
/// it; the holder renews and releases it, after which another token takes it. Leases of other
/// keys, generations and namespaces are separate.
pub async fn cache_lease_is_exclusive_renewable_and_releasable<H: Harness>(h: &H) {
    let c = cache_of(h).await;
    assert!(acquire(&*c, lease("pages", "k", A, T)).await);
    assert!(!acquire(&*c, lease("pages", "k", B, T)).await, "held by A");
    assert!(
        !acquire(&*c, lease("pages", "k", A, T)).await,
        "held, even by A"
    );
    assert!(
        !renew(&*c, lease("pages", "k", B, T)).await,
        "B does not hold it"
    );
    assert!(renew(&*c, lease("pages", "k", A, T)).await);
    release(&*c, lease("pages", "k", B, T)).await;
    assert!(
        !acquire(&*c, lease("pages", "k", C, T)).await,
        "B's release left A's lease alone"
    );
    release(&*c, lease("pages", "k", A, T)).await;
    assert!(!renew(&*c, lease("pages", "k", A, T)).await, "released");
    assert!(
        acquire(&*c, lease("pages", "k", C, T)).await,
        "free after release"
    );

    assert!(
        acquire(&*c, lease("pages", "k2", A, T)).await,
        "another key"
    );
    assert!(
        acquire(&*c, lease("other", "k", A, T)).await,
        "another namespace"
    );
    let mut gen1 = lease("pages", "k", A, T);
    gen1.generation = 1;
    assert!(acquire(&*c, gen1).await, "another generation");
}

/// An expired lease is free: another token takes it (not before the TTL has passed), and the
/// first holder can no longer renew it.
pub async fn cache_lease_can_be_taken_again_after_expiry<H: Harness>(h: &H) {
    let c = cache_of(h).await;
    let start = Instant::now();
    assert!(acquire(&*c, lease("pages", "k", A, Duration::from_millis(300))).await);
    let taken = elapsed_until("the 300 ms lease to expire", start, || {
        let c = c.clone();
        async move { acquire(&*c, lease("pages", "k", B, T)).await }
    })
    .await;
    assert!(
        taken >= Duration::from_millis(290),
        "taken by another after {taken:?}, before the 300 ms lease expired"
    );
    assert!(
        !renew(&*c, lease("pages", "k", A, T)).await,
        "A's lease is gone"
    );
    assert!(
        !acquire(&*c, lease("pages", "k", C, T)).await,
        "B holds it now"
    );

    // Renewing after expiry fails too, even with no other holder.
    let start = Instant::now();
    assert!(acquire(&*c, lease("pages", "k2", A, Duration::from_millis(200))).await);
    until_elapsed(start, Duration::from_millis(400)).await;
    assert!(!renew(&*c, lease("pages", "k2", A, T)).await, "expired");
}

/// Renewing extends the lease from now: past its first TTL it is still held.
pub async fn cache_lease_renew_extends_it<H: Harness>(h: &H) {
    let c = cache_of(h).await;
    let start = Instant::now();
    assert!(acquire(&*c, lease("pages", "k", A, Duration::from_millis(400))).await);
    assert!(renew(&*c, lease("pages", "k", A, T)).await);
    until_elapsed(start, Duration::from_millis(700)).await;
    assert!(
        !acquire(&*c, lease("pages", "k", B, T)).await,
        "renewed for 30 s, still held past the first 400 ms"
    );
    assert!(renew(&*c, lease("pages", "k", A, T)).await);
}

/// A fenced write applies with the lease's token and ends the lease in the same step: the token
/// cannot write again, and another token takes the lease. An unfenced write leaves a lease
/// alone.
pub async fn cache_fenced_write_applies_with_the_token_and_ends_the_lease<H: Harness>(h: &H) {
    let c = cache_of(h).await;
    assert!(acquire(&*c, lease("pages", "k", A, T)).await);
    let first = envelope("\"first\"", now(), vec![]);
    let w = write_with(&*c, "pages", 0, "k", first.clone(), LONG, Some(A)).await;
    assert_eq!(w, CacheWrite::Applied);
    assert_eq!(read(&*c, "pages", 0, "k").await, Some(first));

    let again = envelope("\"again\"", now(), vec![]);
    let w = write_with(&*c, "pages", 0, "k", again, LONG, Some(A)).await;
    assert_eq!(w, CacheWrite::LeaseLost, "the first write ended the lease");
    assert_eq!(
        read_value(&*c, "pages", 0, "k").await.as_deref(),
        Some("\"first\"")
    );
    assert!(acquire(&*c, lease("pages", "k", B, T)).await, "free again");

    // An unfenced write (a plain set) does not end B's lease.
    write(&*c, "pages", 0, "k", "\"plain\"").await;
    assert!(
        !acquire(&*c, lease("pages", "k", C, T)).await,
        "B still holds it"
    );
    let w = write_with(
        &*c,
        "pages",
        0,
        "k",
        envelope("\"b\"", now(), vec![]),
        LONG,
        Some(B),
    )
    .await;
    assert_eq!(w, CacheWrite::Applied);
    assert_eq!(
        read_value(&*c, "pages", 0, "k").await.as_deref(),
        Some("\"b\"")
    );
}

/// A fenced write is `LeaseLost` and stores nothing with a wrong token, with no lease at all,
/// with a lease that expired, and with a lease another token took after it expired; the current
/// holder's lease is left alone.
pub async fn cache_fenced_write_with_a_wrong_or_expired_token_is_lease_lost<H: Harness>(h: &H) {
    let c = cache_of(h).await;
    let v = || envelope("\"v\"", now(), vec![]);

    assert!(acquire(&*c, lease("pages", "wrong", A, T)).await);
    let w = write_with(&*c, "pages", 0, "wrong", v(), LONG, Some(B)).await;
    assert_eq!(w, CacheWrite::LeaseLost);
    assert_eq!(read(&*c, "pages", 0, "wrong").await, None);
    assert!(
        !acquire(&*c, lease("pages", "wrong", C, T)).await,
        "A's lease survives the wrong token's write"
    );

    let w = write_with(&*c, "pages", 0, "none", v(), LONG, Some(A)).await;
    assert_eq!(w, CacheWrite::LeaseLost, "no lease at all");
    assert_eq!(read(&*c, "pages", 0, "none").await, None);

    let start = Instant::now();
    assert!(
        acquire(
            &*c,
            lease("pages", "expired", A, Duration::from_millis(200))
        )
        .await
    );
    until_elapsed(start, Duration::from_millis(400)).await;
    let w = write_with(&*c, "pages", 0, "expired", v(), LONG, Some(A)).await;
    assert_eq!(w, CacheWrite::LeaseLost, "the lease expired");
    assert_eq!(read(&*c, "pages", 0, "expired").await, None);

    assert!(
        acquire(&*c, lease("pages", "expired", B, T)).await,
        "taken by B"
    );
    let w = write_with(&*c, "pages", 0, "expired", v(), LONG, Some(A)).await;
    assert_eq!(w, CacheWrite::LeaseLost, "B holds it");
    assert_eq!(read(&*c, "pages", 0, "expired").await, None);
    let w = write_with(&*c, "pages", 0, "expired", v(), LONG, Some(B)).await;
    assert_eq!(w, CacheWrite::Applied);
}
