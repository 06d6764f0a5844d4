//! `anp proxy` as a real process in front of a real app on 127.0.0.1 (the app counts the
//! requests that reach it), with and without a rules file; store: SQLite in a temp dir, and
//! one test with two proxies on a private `redis-server` (never 127.0.0.1:6379).

#[path = "../../anp-redis/tests/common/mod.rs"]
mod common;

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::response::Response;
use axum::Router;
use tokio::sync::Notify;

/// A port nothing listens on right now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("{e}"))
}

/// The app: counts requests per path; `release` lets `/drip` finish.
#[derive(Default)]
struct Upstream {
    counts: Mutex<HashMap<String, usize>>,
    release: Notify,
}

impl Upstream {
    fn count(&self, path: &str) -> usize {
        self.counts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(path)
            .copied()
            .unwrap_or(0)
    }
}

/// `/echo`: the request's headers as JSON (and a hop-by-hop header of its own). `POST
/// /upload`: how many body bytes arrived. `/drip`: `first` at once, `last` after `release`.
/// Anything else: `<path> #<n>`, with `Set-Cookie: sid=<n>` when the path says `cookie`, after
/// 300 ms when it says `slow`.
async fn app(State(up): State<Arc<Upstream>>, req: Request) -> Response {
    let path = req.uri().path().to_owned();
    let n = {
        let mut c = up.counts.lock().unwrap_or_else(|p| p.into_inner());
        let n = c.entry(path.clone()).or_insert(0);
        *n += 1;
        *n
    };
    let ok = Response::builder().header("content-type", "text/plain");
    let res = match path.as_str() {
        "/echo" => {
            let headers: HashMap<String, String> = req
                .headers()
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("?").to_owned()))
                .collect();
            ok.header("connection", "x-upstream-secret")
                .header("x-upstream-secret", "1")
                .body(Body::from(
                    serde_json::to_string(&headers).unwrap_or_else(|e| panic!("{e}")),
                ))
        }
        "/upload" => {
            let body = axum::body::to_bytes(req.into_body(), 64 << 20)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            ok.body(Body::from(format!("got {} bytes", body.len())))
        }
        "/drip" => {
            let up = up.clone();
            let chunks = futures_util::stream::unfold(0, move |i| {
                let up = up.clone();
                async move {
                    match i {
                        0 => Some((Ok::<_, std::io::Error>(Bytes::from("first\n")), 1)),
                        1 => {
                            up.release.notified().await;
                            Some((Ok(Bytes::from("last\n")), 2))
                        }
                        _ => None,
                    }
                }
            });
            ok.body(Body::from_stream(chunks))
        }
        _ => {
            if path.contains("slow") {
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
            let mut res = ok;
            if path.contains("cookie") {
                res = res.header("set-cookie", format!("sid={n}"));
            }
            res.body(Body::from(format!("{path} #{n}")))
        }
    };
    res.unwrap_or_else(|e| panic!("{e}"))
}

/// The app on a free port: its base URL.
async fn start_app(up: Arc<Upstream>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    let router = Router::new().fallback(app).with_state(up);
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    format!("http://{addr}")
}

/// A running `anp proxy`; killed when dropped.
struct Proxy {
    child: Child,
    base: String,
    metrics: String,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `anp --store STORE proxy --upstream UPSTREAM …extra` on free ports (in a folder of its
/// own, so no ./anp.toml or ./cache.toml is found), once `/healthz` on its metrics address
/// answers.
async fn start_proxy(store: &str, upstream: &str, extra: &[&str]) -> Proxy {
    let (port, metrics_port) = (free_port(), free_port());
    let cwd = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let child = Command::new(env!("CARGO_BIN_EXE_anp"))
        .current_dir(cwd.path())
        .env_remove("ANP_CONFIG")
        .args(["--store", store, "proxy", "--upstream", upstream])
        .args(["--bind", &format!("127.0.0.1:{port}")])
        .args(["--metrics-bind", &format!("127.0.0.1:{metrics_port}")])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let proxy = Proxy {
        child,
        base: format!("http://127.0.0.1:{port}"),
        metrics: format!("http://127.0.0.1:{metrics_port}"),
    };
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(r) = client
            .get(format!("{}/healthz", proxy.metrics))
            .send()
            .await
        {
            if r.status().is_success() {
                return proxy;
            }
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("anp proxy did not come up");
}

fn sqlite(dir: &tempfile::TempDir) -> String {
    format!("sqlite://{}", dir.path().join("anp.db").display())
}

fn header<'a>(r: &'a reqwest::Response, name: &str) -> &'a str {
    r.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_rules_everything_passes_through_with_forwarding_headers() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let up = Arc::new(Upstream::default());
    let upstream = start_app(up.clone()).await;
    let proxy = start_proxy(&sqlite(&dir), &upstream, &[]).await;
    let c = reqwest::Client::new();

    let r = c
        .get(format!("{}/echo", proxy.base))
        .header("x-forwarded-for", "203.0.113.7")
        .header("connection", "x-client-secret")
        .header("x-client-secret", "1")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(header(&r, "x-cache"), "BYPASS");
    assert_eq!(
        header(&r, "cache-status"),
        "alphanode; fwd=bypass; detail=\"anp proxy runs without a rules file\""
    );
    assert!(header(&r, "server-timing").contains("upstream;dur="));
    assert_eq!(
        header(&r, "x-upstream-secret"),
        "",
        "hop-by-hop header passed back"
    );
    let seen: HashMap<String, String> = r.json().await.unwrap_or_else(|e| panic!("{e}"));
    let authority = upstream.trim_start_matches("http://");
    let own = proxy.base.trim_start_matches("http://");
    assert_eq!(seen["host"], authority);
    assert_eq!(seen["x-forwarded-host"], own);
    assert_eq!(seen["x-forwarded-for"], "203.0.113.7, 127.0.0.1");
    assert_eq!(seen["x-forwarded-proto"], "http");
    assert!(!seen.contains_key("x-client-secret"), "{seen:?}");

    // A request body goes upstream whole.
    let r = c
        .post(format!("{}/upload", proxy.base))
        .body(vec![7u8; 3 << 20])
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.text().await.unwrap_or_default(), "got 3145728 bytes");

    // A response streams: the first chunk arrives while the app still holds the rest.
    let mut r = c
        .get(format!("{}/drip", proxy.base))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let first = tokio::time::timeout(Duration::from_secs(30), r.chunk())
        .await
        .unwrap_or_else(|_| panic!("the first chunk did not come through before the body ended"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(first.as_deref(), Some(&b"first\n"[..]));
    up.release.notify_one();
    let rest = r.chunk().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(rest.as_deref(), Some(&b"last\n"[..]));

    // Nothing was stored: the same path reaches the app every time.
    for _ in 0..2 {
        let r = c
            .get(format!("{}/page", proxy.base))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(header(&r, "x-cache"), "BYPASS");
    }
    assert_eq!(up.count("/page"), 2);

    let text = c
        .get(format!("{}/metrics", proxy.metrics))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .text()
        .await
        .unwrap_or_default();
    assert!(
        text.contains(r#"anp_http_cache_requests_total{rule="none",outcome="bypass"} 5"#),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preserve_host_and_an_unreachable_upstream() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let up = Arc::new(Upstream::default());
    let upstream = start_app(up.clone()).await;
    let proxy = start_proxy(&sqlite(&dir), &upstream, &["--preserve-host"]).await;
    let c = reqwest::Client::new();
    let seen: HashMap<String, String> = c
        .get(format!("{}/echo", proxy.base))
        .header("host", "www.example.com")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .json()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(seen["host"], "www.example.com");

    let nothing = format!("http://127.0.0.1:{}", free_port());
    let down = start_proxy(&sqlite(&dir), &nothing, &[]).await;
    let r = c
        .get(format!("{}/page", down.base))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status().as_u16(), 502);
    assert_eq!(header(&r, "x-cache"), "BYPASS");
    let body = r.text().await.unwrap_or_default();
    assert!(
        body.contains("did not answer") && body.contains("retry"),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_arguments_are_refused_and_sigterm_stops_it_cleanly() {
    let out = Command::new(env!("CARGO_BIN_EXE_anp"))
        .args(["proxy", "--upstream", "https://example.com"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("expected http://HOST:PORT"), "{err}");

    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let upstream = start_app(Arc::new(Upstream::default())).await;
    let mut proxy = start_proxy(&sqlite(&dir), &upstream, &[]).await;
    let status = sigterm(&mut proxy).await;
    assert!(status.success(), "{status:?}");
}

/// SIGTERM to the proxy; its exit status once it stopped.
async fn sigterm(proxy: &mut Proxy) -> std::process::ExitStatus {
    let pid = nix::unistd::Pid::from_raw(i32::try_from(proxy.child.id()).unwrap_or(0));
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM)
        .unwrap_or_else(|e| panic!("{e}"));
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(s) = proxy.child.try_wait().unwrap_or_else(|e| panic!("{e}")) {
            return s;
        }
        assert!(
            Instant::now() < deadline,
            "anp proxy did not stop on SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// The rules of the tests below: `/assets/` is cached for a minute (tags `assets` and
/// `path:<path>`), a `session` cookie bypasses, anything else passes through.
const RULES: &str = r#"
version = 1

[bypass]
session_cookies = ["session"]

[[rule]]
name = "assets"
owner = "web"
expected = "hit ratio above 90% on /assets"
rollback = "set action = bypass, then anp cache purge -n http --tag assets"
match = { prefix = "/assets/" }
action = "cache"
edge_ttl = "60s"
browser_ttl = "1h"
tags = ["assets", "path:{path}"]
statuses = [200]
should_cache = ["GET /assets/app.js", "HEAD /assets/app.js"]
should_bypass = ["GET /assets/app.js cookie:session=abc", "GET /assets/app.js authorization:Bearer x"]
"#;

/// The rules file in `dir`: its path.
fn rules_file(dir: &tempfile::TempDir) -> String {
    let path = dir.path().join("cache.toml");
    std::fs::write(&path, RULES).unwrap_or_else(|e| panic!("{e}"));
    path.display().to_string()
}

/// GETs `url` with `headers`: (X-Cache, body, Set-Cookie).
async fn get(c: &reqwest::Client, url: &str, headers: &[(&str, &str)]) -> (String, String, String) {
    let mut req = c.get(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let r = req.send().await.unwrap_or_else(|e| panic!("{url}: {e}"));
    let x_cache = header(&r, "x-cache").to_owned();
    let cookie = header(&r, "set-cookie").to_owned();
    (x_cache, r.text().await.unwrap_or_default(), cookie)
}

/// `anp --store STORE cache purge --tag TAG` (no `-n`: every namespace, `http` among them).
fn purge_tag(store: &str, tag: &str) {
    let out = Command::new(env!("CARGO_BIN_EXE_anp"))
        .args(["--store", store, "cache", "purge", "--tag", tag])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_rules_assets_hit_sessions_bypass_cookies_stay_private_and_purges_are_precise() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let store = sqlite(&dir);
    let up = Arc::new(Upstream::default());
    let upstream = start_app(up.clone()).await;
    let mut proxy = start_proxy(&store, &upstream, &["--rules", &rules_file(&dir)]).await;
    let c = reqwest::Client::new();
    let base = proxy.base.clone();
    let url = |p: &str| format!("{base}{p}");

    assert_eq!(get(&c, &url("/assets/app.js"), &[]).await.0, "MISS");
    for _ in 0..3 {
        let (x, body, _) = get(&c, &url("/assets/app.js"), &[]).await;
        assert_eq!((x.as_str(), body.as_str()), ("HIT", "/assets/app.js #1"));
    }
    assert_eq!(up.count("/assets/app.js"), 1);

    // Logged-in traffic passes through and is never stored or served from the cache.
    let (x, body, _) = get(&c, &url("/assets/app.js"), &[("cookie", "session=abc")]).await;
    assert_eq!((x.as_str(), body.as_str()), ("BYPASS", "/assets/app.js #2"));
    let (x, _, _) = get(&c, &url("/assets/app.js"), &[("authorization", "Bearer x")]).await;
    assert_eq!(x, "BYPASS");
    assert_eq!(up.count("/assets/app.js"), 3);
    assert_eq!(
        get(&c, &url("/assets/me.js"), &[("cookie", "session=abc")])
            .await
            .0,
        "BYPASS"
    );
    assert_eq!(
        get(&c, &url("/assets/me.js"), &[]).await.0,
        "MISS",
        "a bypassed response was stored"
    );

    // A response that sets a cookie goes to its own client only.
    let (x, _, first) = get(&c, &url("/assets/cookie.js"), &[]).await;
    assert_eq!((x.as_str(), first.as_str()), ("MISS", "sid=1"));
    let (_, _, second) = get(&c, &url("/assets/cookie.js"), &[]).await;
    assert_eq!(second, "sid=2");

    // 100 concurrent cold requests: one upstream request.
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let (c, u) = (c.clone(), url("/assets/slow.js"));
            tokio::spawn(async move { get(&c, &u, &[]).await.1 })
        })
        .collect();
    for t in tasks {
        assert_eq!(
            t.await.unwrap_or_else(|e| panic!("{e}")),
            "/assets/slow.js #1"
        );
    }
    assert_eq!(up.count("/assets/slow.js"), 1);

    // No rule matched: through.
    assert_eq!(get(&c, &url("/about"), &[]).await.0, "BYPASS");

    // `anp cache purge --tag` removes exactly the tagged page.
    assert_eq!(get(&c, &url("/assets/other.js"), &[]).await.0, "MISS");
    purge_tag(&store, "path:/assets/app.js");
    // The proxy's L1 hears of another process's purge through the store's feed (docs/cache.md:
    // within about 100 ms): poll until it misses, then the page was fetched once more.
    let deadline = Instant::now() + Duration::from_secs(30);
    while get(&c, &url("/assets/app.js"), &[]).await.0 != "MISS" {
        assert!(
            Instant::now() < deadline,
            "the purge never reached the proxy"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(up.count("/assets/app.js"), 4);
    assert_eq!(get(&c, &url("/assets/other.js"), &[]).await.0, "HIT");
    assert_eq!(get(&c, &url("/assets/slow.js"), &[]).await.0, "HIT");

    let text = c
        .get(format!("{}/metrics", proxy.metrics))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .text()
        .await
        .unwrap_or_default();
    for line in [
        r#"anp_http_cache_requests_total{rule="assets",outcome="hit"}"#,
        r#"anp_http_cache_requests_total{rule="assets",outcome="uncacheable"} 2"#,
        r#"anp_http_cache_requests_total{rule="none",outcome="bypass"} 1"#,
        r#"anp_http_cache_upstream_seconds_count{rule="assets",outcome="stored"}"#,
    ] {
        assert!(text.contains(line), "{line} not in\n{text}");
    }

    // The same counts reach the store (flushed on shutdown): `anp status` shows the hit ratio
    // and bypass rate per rule, beside each rule's owner, expectation and rollback from the
    // rules file (found as ./cache.toml).
    assert!(sigterm(&mut proxy).await.success());
    let out = Command::new(env!("CARGO_BIN_EXE_anp"))
        .current_dir(dir.path())
        .env_remove("ANP_CONFIG")
        .args(["--store", &store, "--json", "status"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let http = &status["cache"]["http"];
    let rule = |name: &str| {
        http["rules"]
            .as_array()
            .and_then(|rules| rules.iter().find(|r| r["rule"] == name))
            .cloned()
            .unwrap_or_else(|| panic!("rule {name} not in {http}"))
    };
    assert_eq!(rule("none")["bypass_rate_15m"], 1.0, "{http}");
    // The session-cookie requests count under the built-in bypass that decided.
    assert_eq!(
        rule("bypass.session_cookies")["bypass_rate_15m"],
        1.0,
        "{http}"
    );
    let assets = rule("assets");
    let hit = assets["hit_ratio_15m"].as_f64().unwrap_or(0.0);
    assert!(hit > 0.0 && hit < 1.0, "{assets}");
    assert_eq!(assets["bypass_rate_15m"], 0.0, "{assets}");
    assert!(
        http["total"]["requests_15m"].as_u64().unwrap_or(0) >= 10,
        "{http}"
    );
    let card = &status["http_rules"][0];
    assert_eq!(card["name"], "assets", "{status}");
    assert_eq!(card["owner"], "web");
    assert_eq!(card["expected"], "hit ratio above 90% on /assets");
    assert_eq!(card["figures"]["rule"], "assets");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_rules_file_stops_the_proxy_with_its_line() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("cache.toml");
    std::fs::write(&path, "[[rule]]\nname = \"x\"\nbogus = 1\n").unwrap_or_else(|e| panic!("{e}"));
    let out = Command::new(env!("CARGO_BIN_EXE_anp"))
        .args([
            "--store",
            &sqlite(&dir),
            "proxy",
            "--upstream",
            "http://127.0.0.1:9",
        ])
        .args([
            "--rules",
            &path.display().to_string(),
            "--bind",
            "127.0.0.1:0",
        ])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cache.toml") && err.contains("bogus"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_proxies_on_one_redis_share_entries_and_purges() {
    let redis = common::RedisServer::start();
    let store = redis.url();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let rules = rules_file(&dir);
    let up = Arc::new(Upstream::default());
    let upstream = start_app(up.clone()).await;
    let a = start_proxy(&store, &upstream, &["--rules", &rules]).await;
    let b = start_proxy(&store, &upstream, &["--rules", &rules]).await;
    let c = reqwest::Client::new();
    let on = |p: &Proxy| format!("{}/assets/shared.js", p.base);
    assert_eq!(get(&c, &on(&a), &[]).await.0, "MISS");
    let (x, body, _) = get(&c, &on(&b), &[]).await;
    assert_eq!((x.as_str(), body.as_str()), ("HIT", "/assets/shared.js #1"));
    assert_eq!(up.count("/assets/shared.js"), 1);
    purge_tag(&store, "assets");
    // Each proxy hears of the purge through the store's feed (its L1 may hold the entry for up
    // to its feed delay): poll until one misses, then the other serves what that one stored.
    let deadline = Instant::now() + Duration::from_secs(30);
    while get(&c, &on(&b), &[]).await.0 != "MISS" {
        assert!(Instant::now() < deadline, "the purge never reached proxy b");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(up.count("/assets/shared.js"), 2);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (x, body, _) = get(&c, &on(&a), &[]).await;
        if x == "HIT" && body == "/assets/shared.js #2" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "proxy a never served b's refreshed entry: {x} {body}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
