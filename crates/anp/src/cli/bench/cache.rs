//! `anp bench --cache`: the application cache on a store, in one run.
//!
//! - **get-hit (store)**: `--concurrency` callers (default 50) read `--cache-keys` prefilled
//!   keys of `--value-bytes` (1 KiB) at random through `Cache::get`, L1 off: every read is a
//!   store round trip with the envelope decoded and the tags checked. Reads per second.
//! - **redis-benchmark GET**, same run, same concurrency and value size, when the store is a
//!   plain `redis://host:port` and `redis-benchmark` is on the PATH: the ceiling a Redis client
//!   can reach; the ratio is ours over it.
//! - **get-hit (L1)**: the same with L1 on; and the median time of one L1 hit, one caller.
//! - **stampede**: 200 callers over 4 cache clients (each its own L1, flights and compute
//!   leases' tokens, as 4 processes have; they share this process's store connection) on one cold key whose computation takes 100 ms: how many
//!   times it ran (the goal is 1).
//! - **tag purge**: `--tag-entries` (100k) entries carrying one tag are written; the time of
//!   `purge_tag` (O(1): one store write), then reads of a sample are checked to miss.
//! - **bytes per entry**: the store's own count of key + envelope bytes over the value size;
//!   on a plain `redis://` URL with `redis-cli` on the PATH, also the server's `used_memory`
//!   (`INFO memory`) just before and after the tag-purge fill: bytes per entry over the value.
//!
//! Everything is written in a fresh namespace `anp-bench-<random>` and deleted at the end
//! (`purge_prefix`); its purged tag version expires after 10 minutes.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use alphanode::cache::{Cache, CacheClient, CacheOptions, NamespaceOptions, Policy};
use alphanode::{Backend, Error};
use serde::Serialize;

use crate::output;

/// Options of the cache bench (from `anp bench`'s arguments).
#[derive(Debug)]
pub struct CachePlan {
    pub concurrency: u64,
    pub keys: u64,
    pub value_bytes: usize,
    pub reads: u64,
    pub tag_entries: u64,
    pub runs: u64,
}

/// The figures of one `anp bench --cache` (its `--json` output).
#[derive(Debug, Default, Serialize)]
pub struct CacheReport {
    backend: String,
    concurrency: u64,
    value_bytes: usize,
    /// Median reads per second over the runs, L1 off.
    store_hits_per_s: f64,
    /// `redis-benchmark -t get` requests per second, same run (median), when measured.
    redis_benchmark_get_per_s: Option<f64>,
    /// store_hits_per_s / redis_benchmark_get_per_s.
    ratio_to_redis_benchmark: Option<f64>,
    /// Median reads per second over the runs, L1 on.
    l1_hits_per_s: f64,
    /// Median time of one L1 hit, nanoseconds.
    l1_hit_median_ns: f64,
    /// Computations of one cold key under 200 callers over 4 clients (goal: 1).
    stampede_computes: u64,
    /// Wall time until all 200 callers had the value, ms.
    stampede_ms: f64,
    /// Entries written with one tag.
    tag_entries: u64,
    /// Time of `purge_tag` on them, ms.
    tag_purge_ms: f64,
    /// Store bytes (key + envelope) per entry over the value size.
    bytes_per_entry_over_value: f64,
    /// Redis `used_memory` just before and just after writing the `tag_entries` tagged
    /// entries, when measured (a plain `redis://` URL and `redis-cli` on the PATH).
    redis_used_memory_before: Option<u64>,
    redis_used_memory_after: Option<u64>,
    /// (after - before) / tag_entries - value_bytes: what one entry costs the server's memory
    /// (key, envelope, TTL, allocator and dict overhead) beyond its value.
    redis_bytes_per_entry_over_value: Option<f64>,
}

pub(super) fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

async fn client(backend: &Backend, l1: bool) -> anyhow::Result<CacheClient> {
    Ok(CacheClient::new(
        backend.clone(),
        CacheOptions {
            l1_max_bytes: if l1 { 256 << 20 } else { 0 },
            l1_ttl: Duration::from_secs(60),
            stats_interval: Duration::from_secs(3600),
            ..Default::default()
        },
    )
    .await?)
}

async fn open(c: &CacheClient, ns: &str) -> anyhow::Result<Cache> {
    Ok(c.namespace(
        ns,
        NamespaceOptions {
            deploy_sensitive: false,
            max_lifetime: Duration::from_secs(600),
        },
    )
    .await?)
}

/// Reads `reads` random keys with `concurrency` callers; reads per second.
async fn read_rate(cache: &Cache, p: &CachePlan) -> anyhow::Result<f64> {
    let per = (p.reads / p.concurrency).max(1);
    let misses = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for t in 0..p.concurrency {
        let (cache, keys, misses) = (cache.clone(), p.keys, misses.clone());
        tasks.push(tokio::spawn(async move {
            let mut x = t.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
            for _ in 0..per {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let key = format!("k{}", x % keys);
                match cache.get::<String>(&key).await {
                    Ok(Some(_)) => {}
                    Ok(None) => {
                        misses.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => return Err(e),
                }
            }
            Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let secs = started.elapsed().as_secs_f64();
    let m = misses.load(Ordering::Relaxed);
    if m > 0 {
        return Err(Error::internal(
            "bench cache",
            format!("{m} reads of prefilled keys missed: expected every read to hit"),
        )
        .into());
    }
    Ok((per * p.concurrency) as f64 / secs)
}

/// Host, port and password of a plain `redis://[user:pass@]host:port[/db]` URL: the form
/// `redis-benchmark` and `redis-cli` can be pointed at.
fn plain_redis(url: &str) -> Option<(&str, &str, Option<&str>)> {
    let rest = url.strip_prefix("redis://")?;
    let (auth, host_port) = match rest.rsplit_once('@') {
        Some((a, h)) => (Some(a), h),
        None => (None, rest),
    };
    let host_port = host_port.split(['/', '?']).next()?;
    let (host, port) = host_port.rsplit_once(':')?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let pass = auth.map(|a| a.rsplit_once(':').map_or(a, |(_, p)| p));
    Some((host, port, pass))
}

/// A `redis-benchmark` or `redis-cli` command aimed at the URL's server (the password, if any,
/// in `REDISCLI_AUTH`, which both read).
fn redis_tool(tool: &str, url: &str) -> Option<std::process::Command> {
    let (host, port, pass) = plain_redis(url)?;
    let mut cmd = std::process::Command::new(tool);
    cmd.args(["-h", host, "-p", port]);
    if let Some(pass) = pass {
        cmd.env("REDISCLI_AUTH", pass);
    }
    Some(cmd)
}

/// `redis-benchmark` GET with the same concurrency and value size, when the URL is a plain
/// `redis://[user:pass@]host:port` and the tool is installed.
fn redis_benchmark(url: &str, p: &CachePlan) -> Option<f64> {
    let mut cmd = redis_tool("redis-benchmark", url)?;
    cmd.arg("-c")
        .arg(p.concurrency.to_string())
        .args(["-n"])
        .arg(p.reads.to_string())
        .args(["-d"])
        .arg(p.value_bytes.to_string())
        .args(["-t", "get", "-q"]);
    let out = cmd.output().ok()?;
    parse_redis_benchmark_get(&String::from_utf8_lossy(&out.stdout))
}

/// The requests per second of `redis-benchmark -t get -q`'s output. Its last line is
/// `GET: rps=…\r GET: 123456.79 requests per second, p50=0.199 msec`: progress updates end
/// in `\r`, not `\n`, even when the output is not a terminal.
fn parse_redis_benchmark_get(text: &str) -> Option<f64> {
    let part = text
        .split(['\r', '\n'])
        .rev()
        .find(|l| l.contains("GET:") && l.contains("requests per second"))?;
    let after = part.rsplit("GET:").next()?;
    after.split_whitespace().next()?.parse().ok()
}

/// The server's `used_memory` (`INFO memory`, bytes) through `redis-cli`, when the URL is a
/// plain `redis://[user:pass@]host:port` and the tool is installed.
fn redis_used_memory(url: &str) -> Option<u64> {
    let out = redis_tool("redis-cli", url)?
        .args(["INFO", "memory"])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("used_memory:"))?
        .trim()
        .parse()
        .ok()
}

/// Runs every cache measurement `p.runs` times (the read rates) and once (the rest).
pub async fn run(backend: Backend, url: &str, p: CachePlan, json: bool) -> anyhow::Result<()> {
    let ns = format!("anp-bench-{:08x}", rand_u32());
    let store = client(&backend, false).await?;
    let cache = open(&store, &ns).await?;
    let value = "x".repeat(p.value_bytes.saturating_sub(2));
    let long = Policy::fresh(Duration::from_secs(300));
    let result = measure(&backend, url, &p, &ns, &cache, &value, &long, json).await;
    // Clean up whatever happened.
    let _ = cache.purge_prefix("").await;
    let report = result?;
    if json {
        return output::json(&report);
    }
    let ratio = report
        .ratio_to_redis_benchmark
        .map_or("-".into(), |r| format!("{r:.2}×"));
    output::out(&format!(
        "cache bench on {} ({} callers, {} B values, medians of {} runs)\n\
         get-hit, store (L1 off)   {:>12.0} reads/s\n\
         redis-benchmark GET       {:>12} reads/s   ours / redis-benchmark: {ratio}\n\
         get-hit, L1               {:>12.0} reads/s   one L1 hit: {:.0} ns (median)\n\
         stampede: 200 callers, 4 clients, one cold key → computed {} time(s) in {:.0} ms\n\
         tag purge of {} entries: {:.2} ms\n\
         store bytes per entry over the value: {:.0}\n\
         Redis used_memory per entry over the value: {}\n",
        report.backend,
        report.concurrency,
        report.value_bytes,
        p.runs,
        report.store_hits_per_s,
        report
            .redis_benchmark_get_per_s
            .map_or("-".into(), |v| format!("{v:.0}")),
        report.l1_hits_per_s,
        report.l1_hit_median_ns,
        report.stampede_computes,
        report.stampede_ms,
        report.tag_entries,
        report.tag_purge_ms,
        report.bytes_per_entry_over_value,
        report
            .redis_bytes_per_entry_over_value
            .map_or("-".into(), |v| format!("{v:.0}")),
    ))
}

fn rand_u32() -> u32 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    nanos ^ std::process::id().rotate_left(16)
}

#[allow(clippy::too_many_arguments)]
async fn measure(
    backend: &Backend,
    url: &str,
    p: &CachePlan,
    ns: &str,
    cache: &Cache,
    value: &str,
    long: &Policy,
    json: bool,
) -> anyhow::Result<CacheReport> {
    let say = |s: &str| {
        if !json {
            eprintln!("anp bench --cache: {s}");
        }
    };
    say(&format!("prefilling {} keys", p.keys));
    fill(cache, p.keys, p.concurrency, value, long, None).await?;

    let (mut store_rates, mut redis_rates, mut l1_rates) = (Vec::new(), Vec::new(), Vec::new());
    // Ours over redis-benchmark per run (measured back to back), so noise between runs cancels.
    let mut ratios = Vec::new();
    let l1_client = client(backend, true).await?;
    let l1 = open(&l1_client, ns).await?;
    for run in 1..=p.runs {
        say(&format!("run {run}/{}: get-hit from the store", p.runs));
        let ours = read_rate(cache, p).await?;
        store_rates.push(ours);
        if let Some(r) = redis_benchmark(url, p) {
            say(&format!("run {run}/{}: redis-benchmark GET", p.runs));
            redis_rates.push(r);
            ratios.push(ours / r);
        }
        say(&format!("run {run}/{}: get-hit from L1", p.runs));
        l1_rates.push(read_rate(&l1, p).await?);
    }
    // One L1 hit, one caller: the median of many.
    let _ = l1.get::<String>("k0").await?;
    let mut times = Vec::with_capacity(100_000);
    for _ in 0..100_000 {
        let t = Instant::now();
        let v = l1.get::<String>("k0").await?;
        times.push(t.elapsed().as_nanos() as f64);
        if v.is_none() {
            return Err(Error::internal("bench cache", "k0 missed in L1: expected a hit").into());
        }
    }

    say("stampede: 200 callers on one cold key");
    let mut clients = Vec::new();
    for _ in 0..4 {
        let c = client(backend, true).await?;
        clients.push(open(&c, ns).await?);
    }
    let runs = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut calls = Vec::new();
    for i in 0..200 {
        let (c, runs, policy) = (clients[i % 4].clone(), runs.clone(), long.clone());
        calls.push(tokio::spawn(async move {
            c.get_or_compute("stampede", &policy, move || async move {
                runs.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(100)).await;
                Ok::<_, std::io::Error>("computed".to_string())
            })
            .await
        }));
    }
    for c in calls {
        c.await?.map_err(|e| anyhow::anyhow!("stampede: {e}"))?;
    }
    let stampede_ms = started.elapsed().as_secs_f64() * 1000.0;

    say(&format!(
        "tag purge: writing {} tagged entries",
        p.tag_entries
    ));
    let tagged = long.clone().tag("bench-tag");
    let memory_before = redis_used_memory(url);
    fill(
        cache,
        p.tag_entries,
        p.concurrency,
        value,
        &tagged,
        Some("t"),
    )
    .await?;
    let memory_after = memory_before.and_then(|_| redis_used_memory(url));
    let usage = cache.usage().await?;
    let t = Instant::now();
    cache.purge_tag("bench-tag").await?;
    let tag_purge_ms = t.elapsed().as_secs_f64() * 1000.0;
    for i in (0..p.tag_entries).step_by(((p.tag_entries / 100).max(1)) as usize) {
        if cache.get::<String>(&format!("t{i}")).await?.is_some() {
            return Err(Error::internal(
                "bench cache",
                format!("t{i} still served after its tag was purged"),
            )
            .into());
        }
    }
    let entries = usage.entries.max(1) as f64;
    let redis_bytes_per_entry_over_value = match (memory_before, memory_after) {
        (Some(b), Some(a)) if p.tag_entries > 0 => {
            Some((a as f64 - b as f64) / p.tag_entries as f64 - p.value_bytes as f64)
        }
        _ => None,
    };
    Ok(CacheReport {
        backend: backend.name().to_owned(),
        concurrency: p.concurrency,
        value_bytes: p.value_bytes,
        store_hits_per_s: median(store_rates),
        redis_benchmark_get_per_s: (!redis_rates.is_empty()).then(|| median(redis_rates.clone())),
        ratio_to_redis_benchmark: (!ratios.is_empty()).then(|| median(ratios)),
        l1_hits_per_s: median(l1_rates),
        l1_hit_median_ns: median(times),
        stampede_computes: runs.load(Ordering::SeqCst),
        stampede_ms,
        tag_entries: p.tag_entries,
        tag_purge_ms,
        bytes_per_entry_over_value: usage.bytes as f64 / entries - value.len() as f64 - 2.0,
        redis_used_memory_before: memory_before,
        redis_used_memory_after: memory_after,
        redis_bytes_per_entry_over_value,
    })
}

/// Writes `n` keys `<prefix>k<i>` (or `k<i>`) with `concurrency` writers.
async fn fill(
    cache: &Cache,
    n: u64,
    concurrency: u64,
    value: &str,
    policy: &Policy,
    prefix: Option<&str>,
) -> anyhow::Result<()> {
    let next = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (cache, next, value, policy) = (
            cache.clone(),
            next.clone(),
            value.to_owned(),
            policy.clone(),
        );
        let prefix = prefix.unwrap_or("k").to_owned();
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return Ok::<_, alphanode::Error>(());
                }
                cache.set(&format!("{prefix}{i}"), &value, &policy).await?;
            }
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_redis_urls_give_host_port_and_password() {
        assert_eq!(
            plain_redis("redis://127.0.0.1:6390"),
            Some(("127.0.0.1", "6390", None))
        );
        assert_eq!(
            plain_redis("redis://user:s3cret@localhost:7000/2"),
            Some(("localhost", "7000", Some("s3cret")))
        );
        assert_eq!(
            plain_redis("redis://:pw@[::1]:6379?protocol=resp3"),
            Some(("::1", "6379", Some("pw")))
        );
        // Not the kind redis-cli / redis-benchmark are pointed at.
        assert_eq!(plain_redis("rediss://h:6379"), None);
        assert_eq!(plain_redis("redis+cluster://h:7000"), None);
        assert_eq!(plain_redis("sqlite:///tmp/b.db"), None);
        assert_eq!(plain_redis("redis://localhost"), None);
    }

    #[test]
    fn redis_benchmark_output_gives_the_final_rate_not_a_progress_line() {
        let out = "GET: rps=91234.0 (overall: 90000.0) avg_msec=0.300 (overall: 0.310)\r\
                   GET: 95693.77 requests per second, p50=0.207 msec\n\n";
        assert_eq!(parse_redis_benchmark_get(out), Some(95693.77));
        assert_eq!(
            parse_redis_benchmark_get("GET: 1000.00 requests per second\n"),
            Some(1000.0)
        );
        assert_eq!(parse_redis_benchmark_get("GET: rps=9.0\r"), None);
        assert_eq!(parse_redis_benchmark_get(""), None);
    }
}
