//! Namespaces and generations: registering, listing, moving forward (deploy) and back
//! (rollback), and the independence of entries under different generations.

use std::time::Duration;

use anp_core::cache::{CacheNamespace, CacheStore, GenerationMove};
use anp_core::error::ErrorKind;

use super::{cache_of, lease, ns, read, read_value, write};
use crate::Harness;

async fn register(c: &dyn CacheStore, n: &str, deploy_sensitive: bool) -> CacheNamespace {
    c.cache_namespace_register(ns(n), deploy_sensitive)
        .await
        .unwrap_or_else(|e| panic!("cache_namespace_register {n}: {e}"))
}

async fn step(c: &dyn CacheStore, n: &str, to: GenerationMove) -> (u64, Vec<u64>) {
    let got = c
        .cache_generation_move(ns(n), to.clone())
        .await
        .unwrap_or_else(|e| panic!("cache_generation_move {n} {to:?}: {e}"));
    (got.generation, got.history)
}

fn stored(n: &str, deploy_sensitive: bool, generation: u64, history: &[u64]) -> CacheNamespace {
    CacheNamespace {
        ns: ns(n),
        deploy_sensitive,
        generation,
        history: history.to_vec(),
    }
}

/// Registering is idempotent and updates only the deploy-sensitive flag; the list holds every
/// namespace by name, and is empty on an empty store.
pub async fn cache_namespace_register_is_idempotent_and_listed<H: Harness>(h: &H) {
    let c = cache_of(h).await;
    let list = |c: std::sync::Arc<dyn CacheStore>| async move {
        c.cache_namespace_list()
            .await
            .unwrap_or_else(|e| panic!("cache_namespace_list: {e}"))
    };
    assert_eq!(list(c.clone()).await, []);
    assert_eq!(
        register(&*c, "pages", true).await,
        stored("pages", true, 0, &[])
    );
    assert_eq!(
        register(&*c, "api", false).await,
        stored("api", false, 0, &[])
    );
    assert_eq!(step(&*c, "pages", GenerationMove::Next).await, (1, vec![0]));
    assert_eq!(
        register(&*c, "pages", false).await,
        stored("pages", false, 1, &[0]),
        "registering again keeps the generation and history"
    );
    assert_eq!(
        register(&*c, "pages", true).await,
        stored("pages", true, 1, &[0])
    );
    assert_eq!(
        list(cache_of(h).await).await,
        [stored("api", false, 0, &[]), stored("pages", true, 1, &[0])]
    );
}

/// Next moves to a generation never used before and pushes the current one on the history;
/// Previous moves back to the newest generation of the history. Previous with an empty history
/// is `Conflict` and changes nothing; an unknown namespace is `NotFound`.
pub async fn cache_generations_move_forward_and_back<H: Harness>(h: &H) {
    let c = cache_of(h).await;
    register(&*c, "pages", true).await;
    assert_eq!(step(&*c, "pages", GenerationMove::Next).await, (1, vec![0]));
    assert_eq!(
        step(&*c, "pages", GenerationMove::Next).await,
        (2, vec![0, 1])
    );
    assert_eq!(
        step(&*c, "pages", GenerationMove::Previous).await,
        (1, vec![0])
    );
    assert_eq!(
        step(&*c, "pages", GenerationMove::Next).await,
        (3, vec![0, 1]),
        "never back to 2, whose entries may still be stored"
    );
    assert_eq!(
        step(&*c, "pages", GenerationMove::Previous).await,
        (1, vec![0])
    );
    assert_eq!(
        step(&*c, "pages", GenerationMove::Previous).await,
        (0, vec![])
    );

    let e = c
        .cache_generation_move(ns("pages"), GenerationMove::Previous)
        .await
        .expect_err("a rollback with no history");
    assert_eq!(e.kind(), ErrorKind::Conflict, "{e}");
    let list = c
        .cache_namespace_list()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        list,
        [stored("pages", true, 0, &[])],
        "the refused move changed nothing"
    );
    assert_eq!(step(&*c, "pages", GenerationMove::Next).await, (4, vec![0]));

    for to in [GenerationMove::Next, GenerationMove::Previous] {
        let e = c
            .cache_generation_move(ns("unknown"), to)
            .await
            .expect_err("an unknown namespace");
        assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    }
    let list = c
        .cache_namespace_list()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        list.len(),
        1,
        "moving an unknown namespace does not create it"
    );
}

/// The same key under two generations is two entries: written, read, deleted, purged and
/// leased independently.
pub async fn cache_generations_hold_independent_entries<H: Harness>(h: &H) {
    use anp_core::cache::{CacheDeleteParams, CachePurgePrefixParams};
    let c = cache_of(h).await;
    write(&*c, "pages", 0, "k", "\"zero\"").await;
    write(&*c, "pages", 1, "k", "\"one\"").await;
    assert_eq!(
        read_value(&*c, "pages", 0, "k").await.as_deref(),
        Some("\"zero\"")
    );
    assert_eq!(
        read_value(&*c, "pages", 1, "k").await.as_deref(),
        Some("\"one\"")
    );

    let n = c
        .cache_delete(CacheDeleteParams {
            ns: ns("pages"),
            generation: 1,
            keys: vec![super::key("k")],
            now: super::now(),
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(n, 1);
    assert_eq!(read(&*c, "pages", 1, "k").await, None);
    assert_eq!(
        read_value(&*c, "pages", 0, "k").await.as_deref(),
        Some("\"zero\"")
    );

    write(&*c, "pages", 2, "k", "\"two\"").await;
    let n = c
        .cache_purge_prefix(CachePurgePrefixParams {
            ns: ns("pages"),
            generation: 0,
            prefix: String::new(),
            limit: 100,
            now: super::now(),
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(n, 1);
    assert_eq!(read(&*c, "pages", 0, "k").await, None);
    assert_eq!(
        read_value(&*c, "pages", 2, "k").await.as_deref(),
        Some("\"two\"")
    );

    let t = Duration::from_secs(30);
    assert!(c
        .cache_lease_acquire(lease("pages", "k", 1, t))
        .await
        .unwrap_or_else(|e| panic!("{e}")));
    let mut other = lease("pages", "k", 2, t);
    other.generation = 2;
    assert!(
        c.cache_lease_acquire(other)
            .await
            .unwrap_or_else(|e| panic!("{e}")),
        "each generation has its own lease"
    );
}
