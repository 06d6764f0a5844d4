//! apalis + apalis-postgres driver for the PostgreSQL peers harness (database from DATABASE_URL).
//!   bench-apalis-postgres enqueue N bulk|single | work N CONC [latency] | produce N RATE | version
//! Same command line and JSON objects as the shared peers harness's apalis drivers.
use apalis::prelude::*;
use apalis_postgres::{Config, PgPool, PostgresStorage};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const QNAME: &str = "bench";

#[derive(Serialize, Deserialize, Clone, Debug)]
struct P {
    i: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ts: Option<f64>,
}

static DONE: AtomicUsize = AtomicUsize::new(0);
static LATS: OnceLock<Mutex<Vec<f64>>> = OnceLock::new();

fn now_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs_f64()
        * 1000.0
}
fn pct(v: &[f64], p: f64) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    let idx = (((p / 100.0) * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1;
    Some(v[idx])
}
fn env_u64(k: &str) -> Option<u64> {
    std::env::var(k).ok().and_then(|v| v.parse().ok())
}
async fn pool() -> PgPool {
    let url = std::env::var("DATABASE_URL").expect("DATABASE_URL (set by run.sh)");
    let pool = PgPool::connect(&url).await.expect("connect to PostgreSQL");
    PostgresStorage::setup(&pool)
        .await
        .expect("apalis-postgres setup/migrate");
    pool
}
fn config() -> Config {
    let mut cfg = Config::default().queue(QNAME);
    // APALIS_BATCH=n: jobs fetched per query (apalis-postgres default 10).
    if let Some(b) = env_u64("APALIS_BATCH") {
        cfg = cfg.batch_size(b as usize);
    }
    // APALIS_HEARTBEAT_MS=n shortens the worker heartbeat (default 30 s).
    if let Some(ms) = env_u64("APALIS_HEARTBEAT_MS") {
        cfg = cfg.heartbeat_interval(Duration::from_millis(ms));
    }
    cfg
}
fn storage(pool: &PgPool) -> PostgresStorage<P> {
    PostgresStorage::new(pool).with_config(config())
}
async fn count(pool: &PgPool, status: &str) -> i64 {
    let (c,): (i64,) =
        sqlx::query_as("SELECT count(*) FROM apalis.jobs WHERE job_type = $1 AND status = $2")
            .bind(QNAME)
            .bind(status)
            .fetch_one(pool)
            .await
            .expect("count jobs");
    c
}

async fn enqueue(n: usize, mode: &str) -> serde_json::Value {
    let pool = pool().await;
    let mut st = storage(&pool);
    let t0 = Instant::now();
    if mode == "bulk" {
        // push_bulk: one multi-row INSERT (UNNEST) per call; chunks of 1,000 like the shared drivers.
        let mut s = 0;
        while s < n {
            let v: Vec<P> = (s..(s + 1000).min(n))
                .map(|i| P {
                    i: i as u64,
                    ts: None,
                })
                .collect();
            st.push_bulk(v).await.expect("push_bulk");
            s += 1000;
        }
    } else {
        for i in 0..n {
            st.push(P {
                i: i as u64,
                ts: None,
            })
            .await
            .expect("push");
        }
    }
    let secs = t0.elapsed().as_secs_f64();
    let cnt = count(&pool, "Pending").await;
    json!({"jobs": n, "seconds": secs, "per_s": n as f64 / secs, "check_pending": cnt})
}

async fn produce(n: usize, rate: f64) -> serde_json::Value {
    let pool = pool().await;
    let mut st = storage(&pool);
    let t0 = Instant::now();
    for i in 0..n {
        tokio::time::sleep_until((t0 + Duration::from_secs_f64(i as f64 / rate)).into()).await;
        st.push(P {
            i: i as u64,
            ts: Some(now_ms()),
        })
        .await
        .expect("push");
    }
    let secs = t0.elapsed().as_secs_f64();
    json!({"jobs": n, "seconds": secs, "per_s": n as f64 / secs})
}

async fn handler(job: P) -> Result<(), BoxDynError> {
    if let Some(ts) = job.ts {
        LATS.get()
            .expect("LATS set")
            .lock()
            .expect("LATS lock")
            .push(now_ms() - ts);
    }
    DONE.fetch_add(1, Ordering::Relaxed);
    Ok(())
}

async fn work(n: usize, conc: usize, latency: bool) -> serde_json::Value {
    LATS.set(Mutex::new(Vec::with_capacity(n)))
        .expect("LATS once");
    let t0 = Instant::now();
    let pool = pool().await;
    let st = storage(&pool);
    // Default: apalis-postgres's LISTEN/NOTIFY wake-ups (`with_pubsub`), its documented way to
    // wake an idle worker on PostgreSQL. APALIS_POLL_MS=n polls every n ms instead.
    let poll_ms = env_u64("APALIS_POLL_MS");
    let h = if let Some(ms) = poll_ms {
        let st = st.poll_with_interval(Duration::from_millis(ms));
        let worker = WorkerBuilder::new("bench-worker")
            .backend(st)
            .concurrency(conc)
            .build(handler);
        tokio::spawn(async move { worker.run().await.map_err(|e| e.to_string()) })
    } else {
        let st = st.with_pubsub();
        let worker = WorkerBuilder::new("bench-worker")
            .backend(st)
            .concurrency(conc)
            .build(handler);
        tokio::spawn(async move { worker.run().await.map_err(|e| e.to_string()) })
    };
    if let Ok(f) = std::env::var("READY_FILE") {
        std::fs::write(f, "ready").expect("write READY_FILE");
    }
    // Completion = all N rows of the queue marked Done in apalis.jobs.
    let tmo = env_u64("TMO").unwrap_or(600).saturating_sub(10).max(10);
    let deadline = Instant::now() + Duration::from_secs(tmo);
    let mut acked: i64 = 0;
    while Instant::now() < deadline {
        if DONE.load(Ordering::Relaxed) >= n {
            acked = count(&pool, "Done").await;
            if acked as usize >= n {
                break;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        } else {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    let secs = t0.elapsed().as_secs_f64();
    h.abort();
    let handled = DONE.load(Ordering::Relaxed);
    if (acked as usize) < n {
        eprintln!("timed out after {secs:.1} s: {handled} handled, {acked} Done of {n}");
        std::process::exit(1);
    }
    let mut res = json!({"jobs": n, "seconds": secs, "per_s": n as f64 / secs,
                         "handled": handled, "acked": acked, "poll_ms": poll_ms,
                         "wakeup": if poll_ms.is_some() { "poll" } else { "listen/notify" },
                         "batch_size": config().batch_size,
                         "heartbeat_ms": env_u64("APALIS_HEARTBEAT_MS")});
    if latency {
        let mut v = LATS
            .get()
            .expect("LATS set")
            .lock()
            .expect("LATS lock")
            .clone();
        v.sort_by(|a, b| a.total_cmp(b));
        res["p50_ms"] = json!(pct(&v, 50.0));
        res["p99_ms"] = json!(pct(&v, 99.0));
        res["max_ms"] = json!(v.last().copied());
        res["seconds"] = serde_json::Value::Null;
        res["per_s"] = serde_json::Value::Null;
    }
    res
}

#[tokio::main]
async fn main() {
    let a: Vec<String> = std::env::args().collect();
    let arg = |i: usize, d: &str| a.get(i).cloned().unwrap_or_else(|| d.to_string());
    let num = |i: usize, d: &str| -> usize { arg(i, d).parse().expect("a number") };
    let out = match arg(1, "").as_str() {
        "enqueue" => enqueue(num(2, "100000"), &arg(3, "bulk")).await,
        "work" => work(num(2, "100000"), num(3, "50"), arg(4, "") == "latency").await,
        "produce" => produce(num(2, "2000"), arg(3, "500").parse().expect("a rate")).await,
        "version" => json!({"version": "apalis 1.0.0 / apalis-postgres 1.0.0"}),
        _ => {
            eprintln!(
                "usage: enqueue N bulk|single | work N CONC [latency] | produce N RATE | version"
            );
            std::process::exit(2)
        }
    };
    println!("{out}");
    std::process::exit(0);
}
