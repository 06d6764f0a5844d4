//! The `cached` crate's async Redis store (`cached::AsyncRedisCache`) on the get-hit workload
//! of `anp bench --cache`: `--concurrency` Tokio tasks read `--keys` prefilled keys of
//! `--value-bytes` at random, `--reads` reads per run in all, `--runs` runs. One JSON line per
//! run on stdout:
//!
//! ```text
//! {"peer":"cached-redis","version":"4.1.0","phase":"get_hit","concurrency":50,"value_bytes":1024,
//!  "reads":200000,"secs":…,"reads_per_s":…,"run":1,"keys":1000,"misses":0,
//!  "backend":"redis-7.0.15"}
//! ```
//!
//! Same shape as `anp bench --cache`'s read phase (`crates/anp/src/cli/bench/cache.rs`):
//! `reads / concurrency` reads per task, keys `k<n>` chosen by the same xorshift generator
//! seeded per task, values a string of `--value-bytes` `x`s (stored by `cached` as MessagePack),
//! every read must hit: a miss or a value of the wrong length fails the run (exit 1). The store
//! is `cached`'s default: one multiplexed connection shared by every task, no refresh on hit,
//! a TTL of 10 minutes. The keys live under the prefix `anp-bench-cached-<random>` and are
//! removed at the end (`async_cache_clear`: SCAN of that prefix and DEL).
//!
//! Usage: `bench-cached-redis --url redis://127.0.0.1:6390 [--concurrency 50] [--keys 1000]
//! [--value-bytes 1024] [--reads 200000] [--runs 3]`

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use cached::{AsyncRedisCache, ConcurrentCachedAsync};
use serde_json::json;

const CACHED_VERSION: &str = "4.1.0";

struct Args {
    url: String,
    concurrency: u64,
    keys: u64,
    value_bytes: usize,
    reads: u64,
    runs: u64,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        url: String::new(),
        concurrency: 50,
        keys: 1000,
        value_bytes: 1024,
        reads: 200_000,
        runs: 3,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let num = |v: &str| {
            v.parse::<u64>()
                .map_err(|e| format!("{flag} {v}: expected a whole number ({e})"))
        };
        match flag.as_str() {
            "--url" => a.url = value,
            "--concurrency" => a.concurrency = num(&value)?,
            "--keys" => a.keys = num(&value)?,
            "--value-bytes" => a.value_bytes = num(&value)? as usize,
            "--reads" => a.reads = num(&value)?,
            "--runs" => a.runs = num(&value)?,
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    if a.url.is_empty() {
        return Err("--url redis://host:port is required".into());
    }
    if a.concurrency == 0 || a.keys == 0 || a.reads == 0 || a.runs == 0 {
        return Err("--concurrency, --keys, --reads and --runs must be at least 1".into());
    }
    Ok(a)
}

type Store = AsyncRedisCache<String, String>;

/// Writes `k0..k<keys>` with `concurrency` writers.
async fn prefill(store: &Store, a: &Args, value: &str) -> Result<(), String> {
    let next = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..a.concurrency {
        let (store, next, value, keys) = (store.clone(), next.clone(), value.to_owned(), a.keys);
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= keys {
                    return Ok::<_, String>(());
                }
                store
                    .async_cache_set(format!("k{i}"), value.clone())
                    .await
                    .map_err(|e| format!("prefill k{i}: {e}"))?;
            }
        }));
    }
    for t in tasks {
        t.await.map_err(|e| e.to_string())??;
    }
    Ok(())
}

/// One run: reads per second, or why it failed.
async fn read_rate(store: &Store, a: &Args) -> Result<(f64, f64, u64), String> {
    let per = (a.reads / a.concurrency).max(1);
    let misses = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for t in 0..a.concurrency {
        let (store, keys, misses, len) = (store.clone(), a.keys, misses.clone(), a.value_bytes);
        tasks.push(tokio::spawn(async move {
            // The generator of anp bench --cache's read phase.
            let mut x = t.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
            for _ in 0..per {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let key = format!("k{}", x % keys);
                match store.async_cache_get(&key).await {
                    Ok(Some(v)) if v.len() == len => {}
                    Ok(_) => {
                        misses.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => return Err(format!("get {key}: {e}")),
                }
            }
            Ok(())
        }));
    }
    for t in tasks {
        t.await.map_err(|e| e.to_string())??;
    }
    let secs = started.elapsed().as_secs_f64();
    let reads = per * a.concurrency;
    Ok((secs, reads as f64 / secs, misses.load(Ordering::Relaxed)))
}

/// `redis-<version>` from `INFO server`, or `redis` when it cannot be read.
async fn backend(url: &str) -> String {
    let version = async {
        let client = redis::Client::open(url).ok()?;
        let mut conn = client.get_multiplexed_async_connection().await.ok()?;
        let info: String = redis::cmd("INFO")
            .arg("server")
            .query_async(&mut conn)
            .await
            .ok()?;
        info.lines()
            .find_map(|l| l.strip_prefix("redis_version:"))
            .map(|v| v.trim().to_owned())
    }
    .await;
    version.map_or_else(|| "redis".into(), |v| format!("redis-{v}"))
}

async fn run(a: Args) -> Result<(), String> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let prefix = format!(
        "anp-bench-cached-{:08x}",
        nanos ^ std::process::id().rotate_left(16)
    );
    let store: Store = AsyncRedisCache::builder(prefix)
        .connection_string(&a.url)
        .ttl(Duration::from_secs(600))
        .build()
        .await
        .map_err(|e| format!("connecting the cached store: {e}"))?;
    let value = "x".repeat(a.value_bytes);
    let backend = backend(&a.url).await;
    let result = async {
        prefill(&store, &a, &value).await?;
        for run in 1..=a.runs {
            let (secs, per_s, misses) = read_rate(&store, &a).await?;
            let reads = (a.reads / a.concurrency).max(1) * a.concurrency;
            println!(
                "{}",
                json!({
                    "peer": "cached-redis",
                    "version": CACHED_VERSION,
                    "phase": "get_hit",
                    "concurrency": a.concurrency,
                    "value_bytes": a.value_bytes,
                    "reads": reads,
                    "secs": secs,
                    "reads_per_s": per_s,
                    "run": run,
                    "keys": a.keys,
                    "misses": misses,
                    "backend": backend,
                })
            );
            if misses > 0 {
                return Err(format!(
                    "run {run}: {misses} of {reads} reads of prefilled keys missed or read a \
                     value of the wrong length: expected every read to hit"
                ));
            }
        }
        Ok(())
    }
    .await;
    let cleared = store.async_cache_clear().await;
    result?;
    cleared.map_err(|e| format!("removing the bench keys: {e}"))
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("bench-cached-redis: {e}");
            return ExitCode::from(2);
        }
    };
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench-cached-redis: {e}");
            ExitCode::from(1)
        }
    }
}
