//! The cache as operators see it: namespaces and their generations, stats summed over every
//! process, deploy-generation moves (called by [`Admin::deploy_mark`] and
//! [`Admin::deploy_rollback`]).

use std::time::Duration;

use anp_core::cache::{
    CacheCounts, CacheNamespace, CacheStatsQueryParams, CacheUsage, GenerationMove, Invalidation,
    Namespace,
};
use anp_core::{Error, Result};
use serde::{Deserialize, Serialize};

use super::Admin;

/// One namespace's generation move at a deploy or rollback.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenerationMoved {
    /// The namespace.
    pub namespace: Namespace,
    /// Generation before.
    pub from: u64,
    /// Generation now.
    pub to: u64,
}

/// A namespace's figures over a window, summed over every process.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CacheNamespaceStats {
    /// The namespace.
    pub namespace: Namespace,
    /// Deploy-sensitive (moves generation at each deploy).
    pub deploy_sensitive: bool,
    /// Current generation.
    pub generation: u64,
    /// Entries and bytes in the current generation.
    pub usage: Option<CacheUsage>,
    /// Counts over the window.
    pub counts: CacheCounts,
    /// Hits (L1, store, stale serves) over lookups; `None` without lookups.
    pub hit_ratio: Option<f64>,
    /// Misses over lookups; `None` without lookups.
    pub miss_ratio: Option<f64>,
    /// Stale serves (stale-while-revalidate and stale-if-error) over lookups, part of
    /// `hit_ratio`; `None` without lookups.
    pub stale_ratio: Option<f64>,
    /// Median computation time (ms, a histogram bucket bound); `None` without computations.
    pub compute_p50_ms: Option<f64>,
    /// 99th percentile computation time (ms).
    pub compute_p99_ms: Option<f64>,
}

impl Admin {
    /// Every cache namespace recorded in the store.
    pub async fn cache_namespaces(&self) -> Result<Vec<CacheNamespace>> {
        self.store().cache().cache_namespace_list().await
    }

    /// Cache counts per namespace summed over every process, flushed in `[from, until)`.
    pub async fn cache_counts(
        &self,
        from: jiff::Timestamp,
        until: jiff::Timestamp,
        ns: Option<Namespace>,
    ) -> Result<Vec<(Namespace, CacheCounts)>> {
        let records = self
            .store()
            .cache()
            .cache_stats_query(CacheStatsQueryParams {
                since: from,
                until,
                ns,
            })
            .await?;
        let mut out: Vec<(Namespace, CacheCounts)> = Vec::new();
        for r in records {
            match out.iter_mut().find(|(n, _)| *n == r.ns) {
                Some((_, c)) => c.add(&r.counts),
                None => out.push((r.ns, r.counts)),
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    /// `anp cache stats`: every namespace with its usage and its counts over the last
    /// `window`. `with_usage` counts entries and bytes (on Redis a `SCAN`, bounded).
    pub async fn cache_stats(
        &self,
        window: Duration,
        ns: Option<Namespace>,
        with_usage: bool,
    ) -> Result<Vec<CacheNamespaceStats>> {
        let now = self.now();
        let from = now
            .checked_sub(
                jiff::SignedDuration::try_from(window).unwrap_or(jiff::SignedDuration::MAX),
            )
            .unwrap_or(jiff::Timestamp::MIN);
        let counts = self.cache_counts(from, through(now), ns.clone()).await?;
        let mut out = Vec::new();
        for n in self.cache_namespaces().await? {
            if ns.as_ref().is_some_and(|want| *want != n.ns) {
                continue;
            }
            let c = counts
                .iter()
                .find(|(x, _)| *x == n.ns)
                .map(|(_, c)| c.clone())
                .unwrap_or_default();
            let usage = if with_usage {
                Some(
                    self.store()
                        .cache()
                        .cache_usage(n.ns.clone(), n.generation, now)
                        .await?,
                )
            } else {
                None
            };
            out.push(CacheNamespaceStats {
                namespace: n.ns,
                deploy_sensitive: n.deploy_sensitive,
                generation: n.generation,
                usage,
                hit_ratio: c.hit_ratio(),
                miss_ratio: c.miss_ratio(),
                stale_ratio: c.stale_ratio(),
                compute_p50_ms: c.compute.quantile_ms(0.5),
                compute_p99_ms: c.compute.quantile_ms(0.99),
                counts: c,
            });
        }
        Ok(out)
    }

    /// Moves every deploy-sensitive namespace (a deploy: `Next`; a rollback: `Previous`) and
    /// tells every process's L1. A namespace with no previous generation is left where it is
    /// on `Previous` (and not listed).
    pub(super) async fn cache_generations_move(
        &self,
        to: GenerationMove,
    ) -> Result<Vec<GenerationMoved>> {
        let cache = self.store().cache();
        let mut moved = Vec::new();
        for n in cache.cache_namespace_list().await? {
            if !n.deploy_sensitive || (to == GenerationMove::Previous && n.history.is_empty()) {
                continue;
            }
            let after = cache
                .cache_generation_move(n.ns.clone(), to.clone())
                .await?;
            cache
                .cache_publish(
                    crate::process::process_id(),
                    Invalidation::Generation {
                        ns: n.ns.clone(),
                        generation: after.generation,
                    },
                )
                .await?;
            moved.push(GenerationMoved {
                namespace: n.ns,
                from: n.generation,
                to: after.generation,
            });
        }
        Ok(moved)
    }

    /// Looks up a namespace by name (`NotFound` naming the known ones).
    pub async fn cache_namespace(&self, name: &str) -> Result<CacheNamespace> {
        let ns = Namespace::parse(name)?;
        let all = self.cache_namespaces().await?;
        let names: Vec<String> = all.iter().map(|n| n.ns.to_string()).collect();
        all.into_iter().find(|n| n.ns == ns).ok_or_else(|| {
            Error::not_found(
                "cache namespace",
                format!(
                    "no cache namespace {name:?}: expected one of [{}] (a namespace is recorded \
                     when a process first opens it)",
                    names.join(", ")
                ),
            )
        })
    }
}

/// The end of a stats window that closes at `now`, including flushes written in `now`'s own
/// millisecond (stores keep milliseconds and a window is `since <= at < until`: a flush just
/// before the query would otherwise be missed).
pub(super) fn through(now: jiff::Timestamp) -> jiff::Timestamp {
    now.checked_add(jiff::SignedDuration::from_millis(1))
        .unwrap_or(now)
}
