//! `anp bench --proxy`: the HTTP cache's paths through a real `anp proxy`, in one run.
//!
//! Starts, on free loopback ports: an upstream in this process (a 2 KiB page `/page.html`
//! and a 100 KiB asset `/asset.bin`, `Cache-Control: public, max-age=3600`, every request
//! counted), and `anp proxy` as a child process in front of it on the `--store` given, with a
//! rules file that caches every path (tags `bench`, `deploy`) and bypasses requests carrying
//! `Authorization`. Then, per run, with `--concurrency` keep-alive connections (default 50):
//!
//! - **closed loop** for `--proxy-seconds` each (every connection sends its next request when
//!   the last answer is in, like `wrk`): the page HIT, the asset HIT, the page from the
//!   upstream directly, the page as a BYPASS (with `Authorization`); req/s, p50, p99;
//! - **one connection**: the same page direct, BYPASS and HIT: what a request costs when
//!   nothing queues;
//! - **fixed offered rates** (`--proxy-rates`, default 5,000 and 10,000 req/s over the same
//!   connections, open loop, like `wrk2` or `oha -q`): the page HIT, direct and BYPASS. A
//!   request's latency counts from when it was due if its connection was still busy then
//!   (waiting for the server is the server's), else from when it was sent (this process's
//!   timer is not the server's);
//! - **coalescing**: 100 concurrent requests for a cold URL; how many reached the upstream.
//!
//! Every answer is checked: 200, and `X-Cache` as the path expects (HIT, BYPASS); a HIT
//! measurement that got anything else fails the bench. The load generator runs in this process
//! and shares the machine with the proxy and the upstream, as `wrk` would: compare ratios, not
//! absolute figures. Peers (Varnish, nginx) are measured by `bench/proxy-peers/run.sh`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use alphanode::Error;
use axum::body::Body;
use axum::http::{header, HeaderValue, Request, StatusCode, Uri};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use hdrhistogram::Histogram;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde::Serialize;

use super::process::status_mib;
use super::report::round;
use crate::output;

/// Options of the proxy bench (from `anp bench`'s arguments).
#[derive(Debug)]
pub struct ProxyPlan {
    pub concurrency: u64,
    pub seconds: Duration,
    pub rates: Vec<u64>,
    pub runs: u64,
    pub l1: bool,
}

/// One measurement: requests per second and latency.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Sample {
    pub rps: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

/// One fixed rate's measurements.
#[derive(Debug, Serialize)]
struct AtRate {
    offered: u64,
    hit: Sample,
    upstream: Sample,
    bypass: Sample,
    bypass_added_p50_ms: f64,
}

/// The figures of one `anp bench --proxy` (its `--json` output): medians over the runs.
#[derive(Debug, Serialize)]
struct ProxyReport {
    store: String,
    l1: bool,
    concurrency: u64,
    seconds: f64,
    runs: u64,
    hit_page: Sample,
    hit_asset: Sample,
    upstream_page: Sample,
    bypass_page: Sample,
    bypass_added_p50_ms: f64,
    one_connection: OneConnection,
    rates: Vec<AtRate>,
    /// Upstream requests caused by 100 concurrent requests for one cold URL (goal: 1).
    coalescing_upstream_requests: Vec<u64>,
    /// The proxy's resident memory after the run, and its peak (MiB).
    proxy_rss_mib: Option<f64>,
    proxy_peak_rss_mib: Option<f64>,
}

#[derive(Debug, Default, Serialize)]
struct OneConnection {
    upstream: Sample,
    bypass: Sample,
    hit: Sample,
}

const PAGE_BYTES: usize = 2048;
const ASSET_BYTES: usize = 100 * 1024;

/// The rules file: also the one `bench/proxy-peers/run.sh` gives every front (its Varnish
/// gets the VCL exported from it), so both benches make the same decisions.
const RULES: &str = include_str!("proxy-cache.toml");

type Http = Client<HttpConnector, Body>;

fn bench_err(message: String) -> anyhow::Error {
    Error::internal("bench --proxy", message).into()
}

/// The upstream: the page and the asset, every request counted.
async fn start_upstream(count: Arc<AtomicU64>) -> anyhow::Result<SocketAddr> {
    let page: &'static [u8] = Box::leak(vec![b'p'; PAGE_BYTES].into_boxed_slice());
    let asset: &'static [u8] = Box::leak(vec![b'a'; ASSET_BYTES].into_boxed_slice());
    let serve = move |body: &'static [u8], kind: &'static str, count: Arc<AtomicU64>| {
        move || {
            count.fetch_add(1, Ordering::Relaxed);
            async move {
                (
                    [
                        (header::CONTENT_TYPE, kind),
                        (header::CACHE_CONTROL, "public, max-age=3600"),
                    ],
                    body,
                )
                    .into_response()
            }
        }
    };
    let app = Router::new()
        .route("/page.html", get(serve(page, "text/html", count.clone())))
        .route(
            "/asset.bin",
            get(serve(asset, "application/octet-stream", count)),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(addr)
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn client(connections: u64) -> Http {
    let mut c = HttpConnector::new();
    c.set_nodelay(true);
    Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(connections as usize)
        .build(c)
}

/// What a measurement asks for and expects back.
#[derive(Clone)]
struct Target {
    uri: Uri,
    authorization: bool,
    /// The `X-Cache` every answer must carry (`None`: the upstream, which sends none).
    x_cache: Option<&'static str>,
}

/// Sends one request and reads the whole answer; an error when it is not as `t` expects.
async fn one(http: &Http, t: &Target) -> anyhow::Result<()> {
    let mut req = Request::get(t.uri.clone());
    if t.authorization {
        req = req.header(header::AUTHORIZATION, "Bearer x");
    }
    let res = http.request(req.body(Body::empty())?).await?;
    let status = res.status();
    let x_cache = res.headers().get("x-cache").cloned();
    let body = axum::body::to_bytes(Body::new(res.into_body()), 1 << 20).await?;
    if status != StatusCode::OK {
        return Err(bench_err(format!("GET {} answered {status}", t.uri)));
    }
    if let Some(want) = t.x_cache {
        if x_cache.as_ref() != Some(&HeaderValue::from_static(want)) {
            return Err(bench_err(format!(
                "GET {} answered X-Cache {x_cache:?} ({} bytes): expected {want}",
                t.uri,
                body.len()
            )));
        }
    }
    Ok(())
}

/// Latencies in µs, 1 µs to 60 s, 3 significant digits (valid bounds: cannot fail).
fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).unwrap_or_else(|e| unreachable!("{e}"))
}

fn sample(h: &Histogram<u64>, elapsed: Duration) -> Sample {
    let ms = |q: f64| round(h.value_at_quantile(q) as f64 / 1000.0, 3);
    Sample {
        rps: (h.len() as f64 / elapsed.as_secs_f64()).round(),
        p50_ms: ms(0.5),
        p99_ms: ms(0.99),
    }
}

/// The connections' latencies in one histogram.
async fn merged(
    tasks: Vec<tokio::task::JoinHandle<anyhow::Result<Histogram<u64>>>>,
) -> anyhow::Result<Histogram<u64>> {
    let mut all = histogram();
    for task in tasks {
        all.add(&task.await??)
            .map_err(|e| bench_err(format!("histogram: {e}")))?;
    }
    Ok(all)
}

/// `connections` connections, each sending its next request when its last answer is in, for
/// `secs` (after one unmeasured request each, which opens the connection).
async fn closed(t: &Target, connections: u64, secs: Duration) -> anyhow::Result<Sample> {
    let http = client(connections);
    let mut tasks = Vec::new();
    let start = Instant::now();
    for _ in 0..connections {
        let (http, t) = (http.clone(), t.clone());
        tasks.push(tokio::spawn(async move {
            one(&http, &t).await?;
            let mut h = histogram();
            let end = Instant::now() + secs;
            loop {
                let s = Instant::now();
                if s >= end {
                    break;
                }
                one(&http, &t).await?;
                h.saturating_record(s.elapsed().as_micros() as u64);
            }
            anyhow::Ok(h)
        }));
    }
    let all = merged(tasks).await?;
    // The connections' first requests are not counted in the time either (roughly).
    let elapsed = start.elapsed().min(secs).max(Duration::from_millis(1));
    Ok(sample(&all, elapsed))
}

/// `rate` requests a second over `connections` connections, each request due at its time
/// (open loop), for `secs`.
async fn open(t: &Target, connections: u64, rate: u64, secs: Duration) -> anyhow::Result<Sample> {
    let http = client(connections);
    for _ in 0..connections.min(8) {
        one(&http, t).await?;
    }
    let every = Duration::from_secs_f64(connections as f64 / rate as f64);
    let step = Duration::from_secs_f64(1.0 / rate as f64);
    let start = tokio::time::Instant::now() + Duration::from_millis(20);
    let end = start + secs;
    let mut tasks = Vec::new();
    for i in 0..connections {
        let (http, t) = (http.clone(), t.clone());
        tasks.push(tokio::spawn(async move {
            let mut h = histogram();
            let mut due = start + step * i as u32;
            let mut free_at = start;
            while due < end {
                tokio::time::sleep_until(due).await;
                let sent = tokio::time::Instant::now();
                one(&http, &t).await?;
                let done = tokio::time::Instant::now();
                // Still busy with the last request when this one was due: the wait counts.
                let from = if free_at > due { due } else { sent };
                h.saturating_record((done - from).as_micros() as u64);
                free_at = done;
                due += every;
            }
            anyhow::Ok(h)
        }));
    }
    let all = merged(tasks).await?;
    let elapsed = (tokio::time::Instant::now() - start).max(Duration::from_millis(1));
    Ok(sample(&all, elapsed))
}

/// `anp proxy` as a child process; stopped (SIGKILL) when dropped.
struct ProxyChild {
    child: tokio::process::Child,
    log: PathBuf,
}

impl ProxyChild {
    async fn start(
        exe: &Path,
        store: &str,
        dir: &Path,
        upstream: SocketAddr,
        port: u16,
        l1: bool,
    ) -> anyhow::Result<ProxyChild> {
        let rules = dir.join("cache.toml");
        std::fs::write(&rules, RULES)?;
        let log = dir.join("proxy.log");
        let out = std::fs::File::create(&log)?;
        let mut cmd = tokio::process::Command::new(exe);
        cmd.arg("--store")
            .arg(store)
            .arg("proxy")
            .arg("--upstream")
            .arg(format!("http://{upstream}"))
            .arg("--bind")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--rules")
            .arg(&rules)
            .env_remove("ANP_LOG")
            .stdout(out.try_clone()?)
            .stderr(out)
            .kill_on_drop(true);
        if !l1 {
            cmd.arg("--l1-bytes").arg("0");
        }
        let child = cmd.spawn()?;
        let p = ProxyChild { child, log };
        let http = client(1);
        let probe = Target {
            uri: format!("http://127.0.0.1:{port}/page.html").parse()?,
            authorization: true,
            x_cache: Some("BYPASS"),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match one(&http, &probe).await {
                Ok(()) => return Ok(p),
                Err(e) if Instant::now() > deadline => {
                    return Err(bench_err(format!(
                        "anp proxy did not answer within 30 s ({e}): its log: {}",
                        p.log_tail()
                    )))
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read(&self.log).unwrap_or_default();
        crate::runners::tail(&text, 2048)
    }

    /// `VmRSS` and `VmHWM` of the proxy, MiB.
    fn rss_mib(&self) -> (Option<f64>, Option<f64>) {
        match self.child.id() {
            Some(pid) => (status_mib(pid, "VmRSS"), status_mib(pid, "VmHWM")),
            None => (None, None),
        }
    }
}

fn median_of(v: &[Sample]) -> Sample {
    let m = |f: fn(&Sample) -> f64| super::cache::median(v.iter().map(f).collect());
    Sample {
        rps: m(|s| s.rps),
        p50_ms: m(|s| s.p50_ms),
        p99_ms: m(|s| s.p99_ms),
    }
}

fn added(bypass: &Sample, direct: &Sample) -> f64 {
    round(bypass.p50_ms - direct.p50_ms, 3)
}

/// Runs the proxy bench on `store` and prints its report.
pub async fn run(store: &str, exe: &Path, plan: ProxyPlan, json: bool) -> anyhow::Result<()> {
    let dir = tempfile::Builder::new()
        .prefix("anp-bench-proxy-")
        .tempdir()?;
    let upstream_count = Arc::new(AtomicU64::new(0));
    let up = start_upstream(upstream_count.clone()).await?;
    let port = free_port()?;
    let proxy = ProxyChild::start(exe, store, dir.path(), up, port, plan.l1).await?;
    let via = |path: &str| -> anyhow::Result<Uri> {
        Ok(format!("http://127.0.0.1:{port}{path}").parse()?)
    };
    let hit_page = Target {
        uri: via("/page.html")?,
        authorization: false,
        x_cache: Some("HIT"),
    };
    let hit_asset = Target {
        uri: via("/asset.bin")?,
        authorization: false,
        x_cache: Some("HIT"),
    };
    let direct = Target {
        uri: format!("http://{up}/page.html").parse()?,
        authorization: false,
        x_cache: None,
    };
    let bypass = Target {
        uri: via("/page.html")?,
        authorization: true,
        x_cache: Some("BYPASS"),
    };
    // Warm: the first request of each path is the MISS that stores it.
    let warm = client(1);
    for path in ["/page.html", "/asset.bin"] {
        let t = Target {
            uri: via(path)?,
            authorization: false,
            x_cache: None,
        };
        one(&warm, &t).await?;
    }
    let c = plan.concurrency;
    let secs = plan.seconds;
    let (mut hp, mut ha, mut dp, mut bp) = (vec![], vec![], vec![], vec![]);
    let (mut d1, mut b1, mut h1) = (vec![], vec![], vec![]);
    let mut at: Vec<(Vec<Sample>, Vec<Sample>, Vec<Sample>)> = plan
        .rates
        .iter()
        .map(|_| (vec![], vec![], vec![]))
        .collect();
    let mut coalescing = Vec::new();
    for run in 0..plan.runs {
        hp.push(closed(&hit_page, c, secs).await?);
        ha.push(closed(&hit_asset, c, secs).await?);
        dp.push(closed(&direct, c, secs).await?);
        bp.push(closed(&bypass, c, secs).await?);
        d1.push(closed(&direct, 1, secs).await?);
        b1.push(closed(&bypass, 1, secs).await?);
        h1.push(closed(&hit_page, 1, secs).await?);
        for (i, &rate) in plan.rates.iter().enumerate() {
            at[i].0.push(open(&hit_page, c, rate, secs).await?);
            at[i].1.push(open(&direct, c, rate, secs).await?);
            at[i].2.push(open(&bypass, c, rate, secs).await?);
        }
        // 100 concurrent requests for a URL nobody asked for yet.
        let cold = Target {
            uri: via(&format!("/page.html?cold={run}-{}", rand::random::<u64>()))?,
            authorization: false,
            x_cache: None,
        };
        let before = upstream_count.load(Ordering::Relaxed);
        let http = client(100);
        let mut tasks = Vec::new();
        for _ in 0..100 {
            let (http, t) = (http.clone(), cold.clone());
            tasks.push(tokio::spawn(async move { one(&http, &t).await }));
        }
        for t in tasks {
            t.await??;
        }
        coalescing.push(upstream_count.load(Ordering::Relaxed) - before);
    }
    let (rss, peak) = proxy.rss_mib();
    let hit_page = median_of(&hp);
    let upstream_page = median_of(&dp);
    let bypass_page = median_of(&bp);
    let one_connection = OneConnection {
        upstream: median_of(&d1),
        bypass: median_of(&b1),
        hit: median_of(&h1),
    };
    let rates = plan
        .rates
        .iter()
        .zip(&at)
        .map(|(&offered, (h, d, b))| {
            let (hit, upstream, bypass) = (median_of(h), median_of(d), median_of(b));
            AtRate {
                offered,
                hit,
                upstream,
                bypass,
                bypass_added_p50_ms: added(&bypass, &upstream),
            }
        })
        .collect();
    let report = ProxyReport {
        store: alphanode::backend::redact_url(store),
        l1: plan.l1,
        concurrency: c,
        seconds: secs.as_secs_f64(),
        runs: plan.runs,
        hit_page,
        hit_asset: median_of(&ha),
        upstream_page,
        bypass_page,
        bypass_added_p50_ms: added(&bypass_page, &upstream_page),
        one_connection,
        rates,
        coalescing_upstream_requests: coalescing,
        proxy_rss_mib: rss,
        proxy_peak_rss_mib: peak,
    };
    drop(proxy);
    if json {
        return output::json(&report);
    }
    output::out(&describe(&report))
}

fn describe(r: &ProxyReport) -> String {
    let s = |x: &Sample| {
        format!(
            "{:>9.0} req/s  p50 {:.3} ms  p99 {:.3} ms",
            x.rps, x.p50_ms, x.p99_ms
        )
    };
    let l = |x: &Sample| format!("p50 {:.3} ms  p99 {:.3} ms", x.p50_ms, x.p99_ms);
    let mut out = format!(
        "anp bench --proxy: anp proxy on {} (L1 {}), {} connections, {:.0} s per measurement, \
         medians of {} run(s)\n\n",
        r.store,
        if r.l1 { "on" } else { "off" },
        r.concurrency,
        r.seconds,
        r.runs
    );
    out.push_str(&format!("HIT page (2 KiB)     {}\n", s(&r.hit_page)));
    out.push_str(&format!("HIT asset (100 KiB)  {}\n", s(&r.hit_asset)));
    out.push_str(&format!("upstream directly    {}\n", s(&r.upstream_page)));
    out.push_str(&format!(
        "BYPASS page          {}  (+{:.3} ms p50 over direct)\n",
        s(&r.bypass_page),
        r.bypass_added_p50_ms
    ));
    out.push_str(&format!(
        "\none connection: upstream {}; BYPASS {} (+{:.3} ms p50); HIT {}\n",
        l(&r.one_connection.upstream),
        l(&r.one_connection.bypass),
        added(&r.one_connection.bypass, &r.one_connection.upstream),
        l(&r.one_connection.hit)
    ));
    for a in &r.rates {
        out.push_str(&format!(
            "at {} req/s offered: HIT {}; upstream {}; BYPASS {} (+{:.3} ms p50)\n",
            a.offered,
            l(&a.hit),
            l(&a.upstream),
            l(&a.bypass),
            a.bypass_added_p50_ms
        ));
    }
    out.push_str(&format!(
        "\ncoalescing: 100 concurrent cold requests -> {:?} upstream request(s) per run\n",
        r.coalescing_upstream_requests
    ));
    if let (Some(rss), Some(peak)) = (r.proxy_rss_mib, r.proxy_peak_rss_mib) {
        out.push_str(&format!("anp proxy RSS {rss} MiB (peak {peak} MiB)\n"));
    }
    out
}
