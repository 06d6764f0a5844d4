//! The cache layer in a real axum app on 127.0.0.1, called over real connections, on the
//! SQLite store in a temp dir. The app counts how often each path reached it (the upstream
//! requests); the rules are a small test `Decide`: `/static/…` is cached (tagged `page:<path>`
//! and `site`), a `session` cookie or an `Authorization` header bypasses, anything else
//! bypasses.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use alphanode::cache::{Cache, CacheClient, CacheOptions, NamespaceOptions};
use anp_http::{BypassAction, CacheAction, CacheLayer, Decide, Decision, LayerMetrics};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use axum::Router;
use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode, Uri};
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;

/// `/static/…` is cached; `/static/swr/…` is fresh for 1 s then stale-while-revalidate for
/// 10 min; `/static/sie/…` fresh for 1 s then stale-if-error for 10 min.
#[derive(Debug)]
struct TestRules;

impl Decide for TestRules {
    fn decide(&self, method: &Method, uri: &Uri, headers: &HeaderMap) -> Decision {
        let cookie = headers
            .get_all(http::header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| v.split(';').any(|c| c.trim().starts_with("session=")));
        if cookie {
            return bypass(Some("static"), "cookie `session` is present");
        }
        if headers.contains_key(http::header::AUTHORIZATION) {
            return bypass(Some("static"), "`Authorization` is present");
        }
        let path = uri.path();
        if !path.starts_with("/static/") {
            return bypass(None, "no rule matched");
        }
        let (edge, swr, sie) = if path.starts_with("/static/swr/") {
            (1, 600, 0)
        } else if path.starts_with("/static/sie/") {
            (1, 0, 600)
        } else {
            (60, 0, 0)
        };
        Decision::Cache(CacheAction {
            rule: "static".into(),
            edge_ttl: Duration::from_secs(edge),
            browser_ttl: Duration::from_secs(30),
            stale_while_revalidate: Duration::from_secs(swr),
            stale_if_error: Duration::from_secs(sie),
            key: format!(
                "{method} {}",
                uri.path_and_query().map_or(path, |p| p.as_str())
            ),
            tags: vec![format!("page:{path}"), "site".into()],
            statuses: vec![200, 404],
        })
    }
}

fn bypass(rule: Option<&str>, reason: &str) -> Decision {
    Decision::Bypass(BypassAction {
        rule: rule.map(Into::into),
        reason: reason.into(),
    })
}

/// The app behind the layer: counts requests per path and answers per the path's words.
#[derive(Default)]
struct Upstream {
    counts: Mutex<HashMap<String, usize>>,
    failing: AtomicBool,
}

impl Upstream {
    fn count(&self, path: &str) -> usize {
        self.lock().get(path).copied().unwrap_or(0)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, usize>> {
        self.counts.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Body `<path> #<n>` (n: this path's request number), plus, by the words in the path:
/// `slow` waits 300 ms, `cookie` sets `sid=<n>`, `vary` varies on Accept-Language (echoed),
/// `etag` sends its own validators, `private` says `Cache-Control: private`, `missing` is a
/// 404; under `/static/sie/` a 500 while failing. An `Authorization` is echoed.
async fn app(State(up): State<Arc<Upstream>>, req: Request) -> Response {
    let path = req.uri().path().to_owned();
    let n = {
        let mut c = up.lock();
        let n = c.entry(path.clone()).or_insert(0);
        *n += 1;
        *n
    };
    if path.contains("slow") {
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    if path.starts_with("/static/sie/") && up.failing.load(Ordering::SeqCst) {
        return Response::builder()
            .status(500)
            .body(Body::from("upstream down"))
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let mut body = format!("{path} #{n}");
    let mut res = Response::builder().header("content-type", "text/plain");
    if let Some(a) = req.headers().get("authorization") {
        body.push_str(&format!(" private for {}", a.to_str().unwrap_or("?")));
    }
    if path.contains("cookie") {
        res = res.header("set-cookie", format!("sid={n}; HttpOnly"));
    }
    if path.contains("vary") {
        let lang = req
            .headers()
            .get("accept-language")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("none")
            .to_owned();
        body.push_str(&format!(" lang={lang}"));
        res = res.header("vary", "Accept-Language");
    }
    if path.contains("etag") {
        res = res
            .header("etag", "\"v1\"")
            .header("last-modified", "Wed, 21 Oct 2015 07:28:00 GMT");
    }
    if path.contains("private") {
        res = res.header("cache-control", "private");
    } else {
        res = res.header("cache-control", "public, s-maxage=999");
    }
    if path.contains("missing") {
        res = res.status(404);
    }
    res.body(Body::from(body)).unwrap_or_else(|e| panic!("{e}"))
}

/// One app with the layer, on a free port.
struct Site {
    base: String,
    up: Arc<Upstream>,
    cache: Cache,
    metrics: LayerMetrics,
    http: Client<HttpConnector, Empty<Bytes>>,
    _dir: Option<tempfile::TempDir>,
}

/// The cache namespace `http` on the SQLite file `db`.
async fn open_cache(db: &std::path::Path) -> Cache {
    let backend = alphanode::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let client = CacheClient::new(backend, CacheOptions::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    client
        .namespace("http", NamespaceOptions::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

async fn serve(up: Arc<Upstream>, cache: Cache) -> (String, LayerMetrics) {
    let layer = CacheLayer::new(Arc::new(TestRules), cache);
    let metrics = layer.metrics();
    let router = Router::new().fallback(app).with_state(up).layer(layer);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let addr: SocketAddr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    (format!("http://{addr}"), metrics)
}

async fn site() -> Site {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let cache = open_cache(&dir.path().join("anp.db")).await;
    let up = Arc::new(Upstream::default());
    let (base, metrics) = serve(up.clone(), cache.clone()).await;
    Site {
        base,
        up,
        cache,
        metrics,
        http: Client::builder(hyper_util::rt::TokioExecutor::new()).build_http(),
        _dir: Some(dir),
    }
}

/// One answer: status, headers, body text.
#[derive(Debug)]
struct Got {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Got {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    fn x_cache(&self) -> &str {
        self.header("x-cache")
    }
}

impl Site {
    async fn request(&self, method: Method, path: &str, headers: &[(&str, &str)]) -> Got {
        let mut req = http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req.body(Empty::new()).unwrap_or_else(|e| panic!("{e}"));
        let res = self
            .http
            .request(req)
            .await
            .unwrap_or_else(|e| panic!("{path}: {e}"));
        let (parts, body) = res.into_parts();
        let body = body
            .collect()
            .await
            .unwrap_or_else(|e| panic!("{path}: {e}"))
            .to_bytes();
        Got {
            status: parts.status,
            headers: parts.headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        }
    }

    async fn get(&self, path: &str) -> Got {
        self.request(Method::GET, path, &[]).await
    }

    /// GETs `path` until `done` holds (every 50 ms, for at most 30 s); the last answer.
    async fn poll(&self, path: &str, what: &str, done: impl Fn(&Got) -> bool) -> Got {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let got = self.get(path).await;
            if done(&got) {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "{path}: never {what}; last: {got:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn static_routes_hit_after_the_first_request() {
    let s = site().await;
    let first = s.get("/static/app.css").await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(first.x_cache(), "MISS", "{first:?}");
    assert!(
        first
            .header("cache-status")
            .starts_with("alphanode; fwd=uri-miss; fwd-status=200; ttl="),
        "{first:?}"
    );
    assert!(
        first.header("cache-status").ends_with("; stored"),
        "{first:?}"
    );
    assert!(
        first.header("server-timing").contains("upstream;dur="),
        "{first:?}"
    );
    for _ in 0..3 {
        let hit = s.get("/static/app.css").await;
        assert_eq!(hit.x_cache(), "HIT", "{hit:?}");
        assert_eq!(hit.body, "/static/app.css #1");
        assert!(
            hit.header("cache-status")
                .starts_with("alphanode; hit; ttl="),
            "{hit:?}"
        );
        assert!(
            hit.header("server-timing").starts_with("cache;dur="),
            "{hit:?}"
        );
        assert!(!hit.header("server-timing").contains("upstream"), "{hit:?}");
        // The rule's browser TTL, not the upstream's s-maxage.
        assert_eq!(hit.header("cache-control"), "public, max-age=30");
        assert!(hit.header("age").parse::<u64>().is_ok(), "{hit:?}");
        assert_eq!(hit.header("content-length"), "18");
    }
    assert_eq!(s.up.count("/static/app.css"), 1);
    // A listed status (404) is stored too; its own key.
    assert_eq!(s.get("/static/missing").await.x_cache(), "MISS");
    let again = s.get("/static/missing").await;
    assert_eq!(
        (again.status, again.x_cache()),
        (StatusCode::NOT_FOUND, "HIT")
    );
    // No rule: passed through.
    let other = s.get("/about").await;
    assert_eq!(other.x_cache(), "BYPASS");
    assert_eq!(
        other.header("cache-status"),
        "alphanode; fwd=bypass; detail=\"no rule matched\""
    );
    assert!(other.header("server-timing").contains("upstream;dur="));
    assert_eq!(
        other.header("cache-control"),
        "public, s-maxage=999",
        "untouched"
    );
    let text = s.metrics.render_prometheus();
    for line in [
        r#"anp_http_cache_requests_total{rule="static",outcome="hit"} 4"#,
        r#"anp_http_cache_requests_total{rule="static",outcome="miss"} 2"#,
        r#"anp_http_cache_requests_total{rule="none",outcome="bypass"} 1"#,
        r#"anp_http_cache_upstream_seconds_count{rule="static",outcome="stored"} 2"#,
    ] {
        assert!(text.contains(line), "{line} not in\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_cookie_and_authorization_bypass_and_are_never_stored() {
    let s = site().await;
    let with_cookie = s
        .request(
            Method::GET,
            "/static/page",
            &[("cookie", "theme=dark; session=abc")],
        )
        .await;
    assert_eq!(with_cookie.x_cache(), "BYPASS", "{with_cookie:?}");
    assert!(with_cookie
        .header("cache-status")
        .contains("cookie `session` is present"));
    let with_auth = s
        .request(
            Method::GET,
            "/static/page",
            &[("authorization", "Bearer x")],
        )
        .await;
    assert_eq!(with_auth.x_cache(), "BYPASS");
    assert_eq!(with_auth.body, "/static/page #2 private for Bearer x");
    assert!(
        s.cache
            .inspect("GET /static/page")
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .is_none(),
        "a bypassed response was stored"
    );
    let anonymous = s.get("/static/page").await;
    assert_eq!(anonymous.x_cache(), "MISS");
    assert_eq!(anonymous.body, "/static/page #3");
    // And a logged-in request after that still bypasses the stored page.
    let again = s
        .request(
            Method::GET,
            "/static/page",
            &[("authorization", "Bearer y")],
        )
        .await;
    assert_eq!(
        (again.x_cache(), again.body.as_str()),
        ("BYPASS", "/static/page #4 private for Bearer y")
    );
    assert_eq!(s.up.count("/static/page"), 4);
    // A POST is never cached, even where a cache rule matches.
    let post = s.request(Method::POST, "/static/page", &[]).await;
    assert_eq!(post.x_cache(), "BYPASS");
    assert!(post.header("cache-status").contains("fwd=method"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_set_cookie_response_is_never_served_to_another_client() {
    let s = site().await;
    let first = s.get("/static/cookie").await;
    assert_eq!(first.header("set-cookie"), "sid=1; HttpOnly");
    assert_eq!(first.x_cache(), "MISS");
    assert!(
        first
            .header("cache-status")
            .contains("stored=?0; detail=\"the response sets a cookie\""),
        "{first:?}"
    );
    let second = s.get("/static/cookie").await;
    assert_eq!(second.header("set-cookie"), "sid=2; HttpOnly", "{second:?}");
    assert_eq!(s.up.count("/static/cookie"), 2);

    // Concurrent cold requests coalesce into one upstream call; its response sets a cookie,
    // so it goes to its own client only and every other client gets its own response.
    let n = 20;
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let s = Site {
                base: s.base.clone(),
                up: s.up.clone(),
                cache: s.cache.clone(),
                metrics: s.metrics.clone(),
                http: s.http.clone(),
                _dir: None,
            };
            tokio::spawn(async move { s.get("/static/slow/cookie").await })
        })
        .collect();
    let mut cookies = Vec::new();
    for t in tasks {
        let got = t.await.unwrap_or_else(|e| panic!("{e}"));
        let number = got.body.rsplit('#').next().unwrap_or("").to_owned();
        assert_eq!(
            got.header("set-cookie"),
            format!("sid={number}; HttpOnly"),
            "{got:?}"
        );
        assert_eq!(got.x_cache(), "MISS");
        cookies.push(number);
    }
    cookies.sort();
    cookies.dedup();
    assert_eq!(cookies.len(), n, "a cookie was served to two clients");
    assert_eq!(s.up.count("/static/slow/cookie"), n);
    // Cache-Control: private is not stored either.
    assert!(s
        .get("/static/private")
        .await
        .header("cache-status")
        .contains("stored=?0"));
    assert_eq!(s.get("/static/private").await.x_cache(), "MISS");
    assert_eq!(s.up.count("/static/private"), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_concurrent_cold_requests_cause_one_upstream_request() {
    let s = Arc::new(site().await);
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let s = s.clone();
            tokio::spawn(async move { s.get("/static/slow/report").await })
        })
        .collect();
    for t in tasks {
        let got = t.await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(got.status, StatusCode::OK);
        assert_eq!(got.body, "/static/slow/report #1");
    }
    assert_eq!(s.up.count("/static/slow/report"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tag_purge_removes_exactly_the_tagged_pages() {
    let s = site().await;
    for p in ["/static/a", "/static/b", "/static/c"] {
        assert_eq!(s.get(p).await.x_cache(), "MISS");
        assert_eq!(s.get(p).await.x_cache(), "HIT");
    }
    s.cache
        .purge_tag("page:/static/a")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let a = s.get("/static/a").await;
    assert_eq!((a.x_cache(), a.body.as_str()), ("MISS", "/static/a #2"));
    assert_eq!(s.get("/static/b").await.x_cache(), "HIT");
    assert_eq!(s.get("/static/c").await.x_cache(), "HIT");
    s.cache
        .purge_tag("site")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    for p in ["/static/a", "/static/b", "/static/c"] {
        assert_eq!(s.get(p).await.x_cache(), "MISS", "{p} after purging `site`");
    }
    assert_eq!(
        (
            s.up.count("/static/a"),
            s.up.count("/static/b"),
            s.up.count("/static/c")
        ),
        (3, 2, 2)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vary_keeps_the_variants_apart() {
    let s = site().await;
    let get = |lang: &'static str| {
        let s = &s;
        async move {
            s.request(Method::GET, "/static/vary", &[("accept-language", lang)])
                .await
        }
    };
    let en = get("en").await;
    assert_eq!(
        (en.x_cache(), en.body.as_str()),
        ("MISS", "/static/vary #1 lang=en")
    );
    assert!(en.header("cache-status").contains("fwd=uri-miss"), "{en:?}");
    let fr = get("fr").await;
    assert_eq!(
        (fr.x_cache(), fr.body.as_str()),
        ("MISS", "/static/vary #2 lang=fr")
    );
    assert!(
        fr.header("cache-status").contains("fwd=vary-miss"),
        "{fr:?}"
    );
    for _ in 0..2 {
        let en = get("en").await;
        assert_eq!(
            (en.x_cache(), en.body.as_str()),
            ("HIT", "/static/vary #1 lang=en")
        );
        let fr = get("fr").await;
        assert_eq!(
            (fr.x_cache(), fr.body.as_str()),
            ("HIT", "/static/vary #2 lang=fr")
        );
    }
    // No Accept-Language at all is a variant of its own.
    let none = s.get("/static/vary").await;
    assert_eq!(
        (none.x_cache(), none.body.as_str()),
        ("MISS", "/static/vary #3 lang=none")
    );
    assert_eq!(s.up.count("/static/vary"), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn if_none_match_gets_a_304_and_head_gets_the_headers_only() {
    let s = site().await;
    let full = s.get("/static/etag").await;
    assert_eq!(full.header("etag"), "\"v1\"");
    let not_modified = s
        .request(
            Method::GET,
            "/static/etag",
            &[("if-none-match", "\"v0\", \"v1\"")],
        )
        .await;
    assert_eq!(
        not_modified.status,
        StatusCode::NOT_MODIFIED,
        "{not_modified:?}"
    );
    assert_eq!(not_modified.body, "");
    assert_eq!(not_modified.header("etag"), "\"v1\"");
    assert_eq!(not_modified.x_cache(), "HIT");
    let changed = s
        .request(Method::GET, "/static/etag", &[("if-none-match", "\"v0\"")])
        .await;
    assert_eq!(
        (changed.status, changed.body.as_str()),
        (StatusCode::OK, "/static/etag #1")
    );
    let since = s
        .request(
            Method::GET,
            "/static/etag",
            &[("if-modified-since", "Thu, 22 Oct 2015 07:28:00 GMT")],
        )
        .await;
    assert_eq!(since.status, StatusCode::NOT_MODIFIED);
    assert_eq!(s.up.count("/static/etag"), 1);

    // An upstream without validators: the layer makes a strong ETag from the body.
    let plain = s.get("/static/plain").await;
    let etag = plain.header("etag").to_owned();
    assert!(etag.starts_with('"') && etag.len() == 34, "{plain:?}");
    let revalidated = s
        .request(
            Method::GET,
            "/static/plain",
            &[("if-none-match", etag.as_str())],
        )
        .await;
    assert_eq!(revalidated.status, StatusCode::NOT_MODIFIED);

    // HEAD: a miss fetches the GET (the entry is complete), answers headers only.
    let head = s.request(Method::HEAD, "/static/head", &[]).await;
    assert_eq!(
        (head.status, head.x_cache(), head.body.as_str()),
        (StatusCode::OK, "MISS", "")
    );
    assert_eq!(head.header("content-length"), "15", "{head:?}");
    let get = s.get("/static/head").await;
    assert_eq!(
        (get.x_cache(), get.body.as_str()),
        ("HIT", "/static/head #1")
    );
    let head = s.request(Method::HEAD, "/static/head", &[]).await;
    assert_eq!((head.x_cache(), head.body.as_str()), ("HIT", ""));
    assert_eq!(s.up.count("/static/head"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_while_revalidate_serves_stale_then_the_refreshed_response() {
    let s = site().await;
    assert_eq!(s.get("/static/swr/news").await.x_cache(), "MISS");
    // After the 1 s edge TTL: the stale response, at once, while one refresh runs.
    let stale = s
        .poll("/static/swr/news", "stale", |g| g.x_cache() != "HIT")
        .await;
    assert_eq!(stale.x_cache(), "STALE", "{stale:?}");
    assert_eq!(stale.body, "/static/swr/news #1");
    assert!(
        stale
            .header("cache-status")
            .contains("hit; fwd=stale; ttl=-"),
        "{stale:?}"
    );
    let fresh = s
        .poll("/static/swr/news", "refreshed", |g| {
            g.x_cache() == "HIT" && g.body != "/static/swr/news #1"
        })
        .await;
    assert!(fresh.body.starts_with("/static/swr/news #"), "{fresh:?}");
    assert!(s.up.count("/static/swr/news") >= 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_if_error_serves_the_stale_response_when_the_upstream_fails() {
    let s = site().await;
    assert_eq!(s.get("/static/sie/home").await.x_cache(), "MISS");
    s.up.failing.store(true, Ordering::SeqCst);
    let stale = s
        .poll("/static/sie/home", "served past its TTL", |g| {
            g.x_cache() != "HIT"
        })
        .await;
    assert_eq!(stale.status, StatusCode::OK, "{stale:?}");
    assert_eq!(stale.x_cache(), "STALE");
    assert_eq!(stale.body, "/static/sie/home #1");
    assert!(
        stale
            .header("cache-status")
            .contains("fwd=stale; fwd-status=500"),
        "{stale:?}"
    );
    assert!(
        s.up.count("/static/sie/home") >= 2,
        "the upstream was asked"
    );
    // Nothing stale to fall back on: the 500 goes to the client, not stored.
    let cold = s.get("/static/sie/cold").await;
    assert_eq!(
        (cold.status, cold.x_cache()),
        (StatusCode::INTERNAL_SERVER_ERROR, "MISS")
    );
    assert!(
        cold.header("cache-status")
            .contains("fwd-status=500; stored=?0"),
        "{cold:?}"
    );
    assert!(s
        .metrics
        .render_prometheus()
        .contains(r#"anp_http_cache_upstream_errors_total{rule="static"}"#));
    s.up.failing.store(false, Ordering::SeqCst);
    let back = s
        .poll("/static/sie/home", "refreshed", |g| g.x_cache() == "MISS")
        .await;
    assert_eq!(back.status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_layers_on_one_store_share_their_entries() {
    // Two cache clients (as two processes would have) on one SQLite file, each with its own
    // layer in front of the same app.
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let db = dir.path().join("anp.db");
    let up = Arc::new(Upstream::default());
    let (a, _) = serve(up.clone(), open_cache(&db).await).await;
    let (b, _) = serve(up.clone(), open_cache(&db).await).await;
    let http: Client<HttpConnector, Empty<Bytes>> =
        Client::builder(hyper_util::rt::TokioExecutor::new()).build_http();
    let get = |base: &str| {
        let req = http::Request::get(format!("{base}/static/shared"))
            .body(Empty::new())
            .unwrap_or_else(|e| panic!("{e}"));
        let http = http.clone();
        async move {
            let res = http.request(req).await.unwrap_or_else(|e| panic!("{e}"));
            res.headers()
                .get("x-cache")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned()
        }
    };
    assert_eq!(get(&a).await, "MISS");
    assert_eq!(get(&b).await, "HIT");
    assert_eq!(up.count("/static/shared"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_rules_file_drives_the_layer() {
    let rules = anp_http::Rules::parse(
        r#"
[bypass]
session_cookies = ["session"]

[[rule]]
name = "static"
owner = "web"
expected = "hit ratio above 90% on /static"
rollback = "set action = bypass"
match = { prefix = "/static/" }
action = "cache"
edge_ttl = "60s"
browser_ttl = "10s"
tags = ["static"]
statuses = [200]
"#,
        "cache.toml",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let cache = open_cache(&dir.path().join("anp.db")).await;
    let up = Arc::new(Upstream::default());
    let router = Router::new()
        .fallback(app)
        .with_state(up.clone())
        .layer(CacheLayer::new(Arc::new(rules), cache.clone()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    let s = Site {
        base: format!("http://{addr}"),
        up,
        cache,
        metrics: LayerMetrics::new(),
        http: Client::builder(hyper_util::rt::TokioExecutor::new()).build_http(),
        _dir: Some(dir),
    };
    assert_eq!(s.get("/static/site.css").await.x_cache(), "MISS");
    let hit = s.get("/static/site.css").await;
    assert_eq!(hit.x_cache(), "HIT");
    assert_eq!(hit.header("cache-control"), "public, max-age=10");
    let logged_in = s
        .request(Method::GET, "/static/site.css", &[("cookie", "session=1")])
        .await;
    assert_eq!(logged_in.x_cache(), "BYPASS", "{logged_in:?}");
    let with_auth = s
        .request(
            Method::HEAD,
            "/static/site.css",
            &[("authorization", "Basic eDp5")],
        )
        .await;
    assert_eq!(with_auth.x_cache(), "BYPASS");
    assert_eq!(s.get("/elsewhere").await.x_cache(), "BYPASS");
    assert_eq!(s.up.count("/static/site.css"), 3);
}
