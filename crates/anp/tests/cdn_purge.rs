//! `anp cache purge` and `anp deploy mark --purge-tag` fanning out to `[[cdn]]` targets, as a
//! user runs them: real `anp` processes, a real SQLite store, and two local HTTP servers
//! standing in for the CDNs — a Cloudflare API that checks every request against the
//! documented shape (method, path with the zone id, bearer token, exactly one of
//! tags/prefixes/files, at most 100 values) and answers 429 once, and a Varnish that records
//! PURGE/BAN requests and serves one page with `X-Cache` like the exported VCL does.
//! (A real varnishd runs the exported VCL in `varnish_export.rs`.)

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use serde_json::{json, Value};

const ZONE: &str = "023e105f4ecef8ad9ca31a8372d0c353";
const TOKEN: &str = "cf-test-token-5b7e1c9a4d";
const TOKEN_ENV: &str = "ANP_TEST_CF_TOKEN";

/// What the mock CDNs saw.
#[derive(Default)]
struct Seen {
    /// Cloudflare: each accepted purge body.
    cf: Vec<Value>,
    /// Cloudflare: requests that broke the documented shape (must stay empty).
    cf_violations: Vec<String>,
    /// Cloudflare: requests answered 429 so far.
    cf_429: u32,
    /// Cloudflare: answer the next this-many requests with 429.
    cf_429_budget: u32,
    /// Cloudflare: when set, the Pro plan's documented purge limit is enforced as the API
    /// does (a token bucket of 25 requests gaining 5 a second; tokens, last refill), and a
    /// request the bucket cannot cover is answered 429.
    cf_pro_bucket: Option<(f64, Instant)>,
    /// Varnish: (method, path and query, Host, xkey-purge, x-ban-path).
    varnish: Vec<(String, String, String, String, String)>,
    /// Varnish: tags whose objects are cached (the page `/page` carries `deploy`).
    cached: HashSet<String>,
    /// `GET /version` requests so far: the first two answer `app v1`, later ones `app v2`.
    version_gets: u32,
}

type Shared = Arc<Mutex<Seen>>;

fn lock(s: &Shared) -> std::sync::MutexGuard<'_, Seen> {
    s.lock().unwrap_or_else(|p| p.into_inner())
}

fn cf_error(status: StatusCode, code: u32, message: &str) -> Response {
    (
        status,
        axum::Json(json!({
            "success": false,
            "errors": [{"code": code, "message": message}],
            "messages": [],
            "result": null
        })),
    )
        .into_response()
}

/// `POST /client/v4/zones/{zone}/purge_cache`, checked as the API documents it
/// (developers.cloudflare.com/api/resources/cache/methods/purge).
async fn cloudflare(
    State(s): State<Shared>,
    UrlPath(zone): UrlPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut seen = lock(&s);
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if auth != format!("Bearer {TOKEN}") {
        // The real API's answer to a bad token; not a shape violation.
        return cf_error(StatusCode::FORBIDDEN, 10000, "Authentication error");
    }
    let mut problems = Vec::new();
    if zone != ZONE {
        problems.push(format!("zone {zone:?} is not {ZONE}"));
    }
    if !headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.starts_with("application/json"))
    {
        problems.push("content-type is not application/json".to_owned());
    }
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    match v.as_object() {
        Some(o) if o.len() == 1 => {
            let (field, values) = o.iter().next().unwrap_or_else(|| panic!("one field"));
            match (field.as_str(), values.as_array()) {
                ("tags" | "prefixes" | "files", Some(a)) if !a.is_empty() && a.len() <= 100 => {
                    for x in a {
                        let Some(x) = x.as_str() else {
                            problems.push(format!("{field}: {x} is not a string"));
                            continue;
                        };
                        let has_scheme = x.starts_with("http://") || x.starts_with("https://");
                        if field == "files" && !has_scheme {
                            problems.push(format!("files: {x:?} is not a URL"));
                        }
                        if field == "prefixes" && has_scheme {
                            problems.push(format!("prefixes: {x:?} has a scheme"));
                        }
                    }
                }
                _ => problems.push(format!(
                    "{field}: expected tags, prefixes or files with 1-100 values"
                )),
            }
        }
        _ => problems.push(format!(
            "body {v} is not an object with exactly one of tags, prefixes, files"
        )),
    }
    if !problems.is_empty() {
        let m = problems.join("; ");
        seen.cf_violations.push(m.clone());
        return cf_error(StatusCode::BAD_REQUEST, 1012, &m);
    }
    let over_limit = match seen.cf_pro_bucket.as_mut() {
        Some((tokens, at)) => {
            let now = Instant::now();
            *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * 5.0).min(25.0);
            *at = now;
            // A hair of slack for float rounding; network delay only adds tokens.
            if *tokens < 0.999 {
                true
            } else {
                *tokens -= 1.0;
                false
            }
        }
        None => false,
    };
    if over_limit || seen.cf_429_budget > 0 {
        if !over_limit {
            seen.cf_429_budget -= 1;
        }
        seen.cf_429 += 1;
        let mut r = cf_error(
            StatusCode::TOO_MANY_REQUESTS,
            971,
            "Please wait and consider throttling your request speed",
        );
        r.headers_mut()
            .insert("retry-after", axum::http::HeaderValue::from_static("1"));
        return r;
    }
    let n = seen.cf.len();
    seen.cf.push(v);
    axum::Json(json!({
        "success": true,
        "errors": [],
        "messages": [],
        "result": {"id": format!("purge-{n}")}
    }))
    .into_response()
}

/// Varnish: PURGE and BAN are recorded (a PURGE with `xkey-purge` drops the tags' objects);
/// `GET /page` is served with `X-Cache: MISS` then `HIT` until `deploy` is purged;
/// `GET /stuck` always answers HIT (a page the purge does not reach).
async fn varnish(
    State(s): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let h = |k: &str| {
        headers
            .get(k)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let mut seen = lock(&s);
    match method.as_str() {
        "PURGE" | "BAN" => {
            let xkey = h("xkey-purge");
            for t in xkey.split(' ') {
                seen.cached.remove(t);
            }
            seen.varnish.push((
                method.to_string(),
                uri.to_string(),
                h("host"),
                xkey,
                h("x-ban-path"),
            ));
            (StatusCode::OK, "Purged").into_response()
        }
        "GET" if uri.path() == "/page" => {
            let x = if seen.cached.insert("deploy".to_owned()) {
                "MISS"
            } else {
                "HIT"
            };
            ([("x-cache", x)], "page").into_response()
        }
        "GET" if uri.path() == "/stuck" => ([("x-cache", "HIT")], "stuck").into_response(),
        "GET" if uri.path() == "/version" => {
            seen.version_gets += 1;
            if seen.version_gets <= 2 {
                "app v1".into_response()
            } else {
                "app v2".into_response()
            }
        }
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

/// The two mock CDNs, served from a background thread with its own runtime.
struct Mocks {
    cf: SocketAddr,
    varnish: SocketAddr,
    seen: Shared,
}

impl Mocks {
    fn start() -> Mocks {
        let seen: Shared = Arc::default();
        let state = seen.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap_or_else(|e| panic!("runtime: {e}"));
            rt.block_on(async move {
                let cf = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .unwrap_or_else(|e| panic!("bind: {e}"));
                let vn = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .unwrap_or_else(|e| panic!("bind: {e}"));
                let addrs = (
                    cf.local_addr().unwrap_or_else(|e| panic!("{e}")),
                    vn.local_addr().unwrap_or_else(|e| panic!("{e}")),
                );
                let cf_app = Router::new()
                    .route("/client/v4/zones/{zone}/purge_cache", post(cloudflare))
                    .with_state(state.clone());
                let vn_app = Router::new().fallback(varnish).with_state(state);
                let _ = tx.send(addrs);
                let a = axum::serve(cf, cf_app);
                let b = axum::serve(vn, vn_app);
                let _ = tokio::join!(a, b);
            });
        });
        let (cf, varnish) = rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|e| panic!("mock servers did not start: {e}"));
        Mocks { cf, varnish, seen }
    }
}

/// A temp dir with `anp.toml` (a SQLite store and both CDNs) and the `anp` runs in it.
struct Site {
    dir: tempfile::TempDir,
    mocks: Mocks,
}

impl Site {
    /// A site whose Cloudflare account is on the Pro plan (`plan = "pro"`).
    fn new() -> Site {
        Site::with_plan("pro")
    }

    fn with_plan(plan: &str) -> Site {
        let mocks = Mocks::start();
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let config = format!(
            r#"store = "sqlite://{db}"

[[cdn]]
name = "varnish-eu"
kind = "varnish"
url = "http://{varnish}"

[[cdn]]
name = "cloudflare"
kind = "cloudflare"
zone_id = "{ZONE}"
api_token_env = "{TOKEN_ENV}"
api_base = "http://{cf}/client/v4"
plan = "{plan}"
"#,
            db = dir.path().join("anp.db").display(),
            varnish = mocks.varnish,
            cf = mocks.cf,
        );
        std::fs::write(dir.path().join("anp.toml"), config).unwrap_or_else(|e| panic!("{e}"));
        Site { dir, mocks }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn command(&self, token: Option<&str>) -> Command {
        let mut c = Command::new(anp());
        c.current_dir(self.path())
            .env_remove("ANP_CONFIG")
            .env_remove("ANP_STORE")
            .env_remove("ANP_LOG")
            .env_remove(TOKEN_ENV);
        if let Some(t) = token {
            c.env(TOKEN_ENV, t);
        }
        c
    }

    /// Runs `anp ARGS…` in the site with the token (or `token`); (exit code, stdout, stderr).
    fn anp_with(&self, token: Option<&str>, args: &[&str]) -> (i32, String, String) {
        let out = self
            .command(token)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        let r = (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        );
        assert!(
            !r.1.contains(TOKEN) && !r.2.contains(TOKEN),
            "the token leaked: {args:?}: {}{}",
            r.1,
            r.2
        );
        r
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let (code, out, err) = self.anp_with(Some(TOKEN), &all);
        assert_eq!(code, 0, "anp {args:?}: {err}{out}");
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
    }
}

fn anp() -> PathBuf {
    assert_cmd::cargo::cargo_bin("anp")
}

/// The string `key` of each object in the JSON list `v`.
fn each<'a>(v: &'a Value, key: &str) -> Vec<&'a str> {
    v.as_array()
        .unwrap_or_else(|| panic!("not a list: {v}"))
        .iter()
        .filter_map(|o| o[key].as_str())
        .collect()
}

fn statuses(v: &Value) -> Vec<(String, String)> {
    v.as_array()
        .unwrap_or_else(|| panic!("cdn is not a list: {v}"))
        .iter()
        .map(|o| {
            (
                o["target"].as_str().unwrap_or_default().to_owned(),
                o["status"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

#[test]
fn a_tag_purge_enqueues_one_job_per_cdn_and_anp_work_runs_them() {
    let site = Site::new();
    lock(&site.mocks.seen).cf_429_budget = 1;
    site.json(&["cache", "set", "post:1", r#"{"a":1}"#, "--tag", "post:1"]);
    let out = site.json(&["cache", "purge", "--tag", "post:1", "--by", "ops-tester"]);
    assert_eq!(out["what"], "tag");
    assert_eq!(out["store"], true);
    assert_eq!(out["requested_by"], "ops-tester");
    assert_eq!(
        statuses(&out["cdn"]),
        [
            ("varnish-eu".to_owned(), "enqueued".to_owned()),
            ("cloudflare".to_owned(), "enqueued".to_owned())
        ]
    );
    // The store's entry is purged at once; the CDNs wait for a worker.
    assert_eq!(site.json(&["cache", "get", "post:1"])["state"], "purged");
    assert!(lock(&site.mocks.seen).varnish.is_empty());
    assert!(lock(&site.mocks.seen).cf.is_empty());

    // `anp work` runs the built-in kind with no [[job]] declared.
    let mut child = site
        .command(Some(TOKEN))
        .args(["work", "--config", "anp.toml", "--exit-when-drained"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let deadline = Instant::now() + Duration::from_secs(120);
    while child.try_wait().unwrap_or_else(|e| panic!("{e}")).is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("anp work did not drain the purge jobs within 120 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = child.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "anp work: {stderr}");
    assert!(!stderr.contains(TOKEN), "the token leaked: {stderr}");
    assert!(
        stderr.contains("cdn purge done") && stderr.contains("ops-tester"),
        "{stderr}"
    );

    let seen = lock(&site.mocks.seen);
    assert_eq!(seen.cf_violations, Vec::<String>::new());
    assert_eq!(
        seen.varnish,
        [(
            "PURGE".to_owned(),
            "/".to_owned(),
            site.mocks.varnish.to_string(),
            "post:1".to_owned(),
            String::new()
        )]
    );
    // One 429 (Retry-After: 1) then the same purge again, accepted.
    assert_eq!(seen.cf_429, 1);
    assert_eq!(seen.cf, [json!({"tags": ["post:1"]})]);
    drop(seen);
    let jobs = site.json(&["jobs", "list", "--state", "completed"]);
    assert_eq!(
        each(&jobs, "kind"),
        ["anp.cdn_purge", "anp.cdn_purge"],
        "{jobs}"
    );
}

#[test]
fn now_purges_urls_and_prefixes_in_process_and_batches_to_the_api_limit() {
    let site = Site::new();
    let u = "https://www.example.com/about?x=1";
    let out = site.json(&["cache", "purge", "--url", u, "--now"]);
    assert_eq!(out["store"], false);
    assert_eq!(
        statuses(&out["cdn"]),
        [
            ("varnish-eu".to_owned(), "purged".to_owned()),
            ("cloudflare".to_owned(), "purged".to_owned())
        ]
    );
    assert_eq!(out["cdn"][1]["answers"], json!(["purge id purge-0"]));
    let out = site.json(&[
        "cache",
        "purge",
        "--prefix",
        "https://www.example.com/blog/v1.2/",
        "--now",
    ]);
    assert_eq!(out["namespace"], "http");
    {
        let seen = lock(&site.mocks.seen);
        assert_eq!(seen.cf_violations, Vec::<String>::new());
        assert_eq!(
            seen.cf,
            [
                json!({"files": [u]}),
                json!({"prefixes": ["www.example.com/blog/v1.2/"]})
            ]
        );
        let v: Vec<(&str, &str, &str, &str)> = seen
            .varnish
            .iter()
            .map(|(m, p, h, _, b)| (m.as_str(), p.as_str(), h.as_str(), b.as_str()))
            .collect();
        assert_eq!(
            v,
            [
                ("PURGE", "/about?x=1", "www.example.com", ""),
                ("BAN", "/", "www.example.com", r"^/blog/v1\.2/")
            ]
        );
    }

    // 150 tags after a deploy: Cloudflare gets them in two requests (100 + 50).
    let tags: Vec<String> = (0..150).map(|i| format!("t{i}")).collect();
    let mut args = vec!["deploy", "mark", "--version", "v2", "--purge-now"];
    for t in &tags {
        args.extend(["--purge-tag", t.as_str()]);
    }
    let out = site.json(&args);
    assert_eq!(out["version"], "v2");
    assert_eq!(out["purge"]["cdn"][1]["requests"], 2);
    let seen = lock(&site.mocks.seen);
    assert_eq!(seen.cf_violations, Vec::<String>::new());
    let sizes: Vec<usize> = seen.cf[2..]
        .iter()
        .map(|b| b["tags"].as_array().map_or(0, Vec::len))
        .collect();
    assert_eq!(sizes, [100, 50]);
    // Varnish: two PURGEs of 100 and 50 tags, space-separated.
    let xkeys: Vec<usize> = seen.varnish[2..]
        .iter()
        .map(|(_, _, _, x, _)| x.split(' ').count())
        .collect();
    assert_eq!(xkeys, [100, 50]);
}

/// `deploy mark --purge-now` of 3,000 tags: 30 Cloudflare requests; (the JSON output, the
/// command's wall time).
fn purge_3000_tags(site: &Site) -> (Value, Duration) {
    let tags: Vec<String> = (0..3000).map(|i| format!("t{i}")).collect();
    let mut args = vec!["deploy", "mark", "--version", "v2", "--purge-now"];
    for t in &tags {
        args.extend(["--purge-tag", t.as_str()]);
    }
    let t0 = Instant::now();
    let out = site.json(&args);
    (out, t0.elapsed())
}

#[test]
fn purges_keep_to_the_plans_rate_limit_instead_of_meeting_429() {
    // The account is on Pro and the API enforces Pro's bucket: 25 requests at once, then one
    // per 200 ms. 30 requests: the last 6 wait for the bucket (this process keeps one request
    // of it in reserve), none is refused.
    let site = Site::new();
    lock(&site.mocks.seen).cf_pro_bucket = Some((25.0, Instant::now()));
    let (out, took) = purge_3000_tags(&site);
    let cf = &out["purge"]["cdn"][1];
    assert_eq!(cf["target"], "cloudflare", "{out}");
    assert_eq!(cf["requests"], 30, "{out}");
    assert_eq!(cf["retries"], 0, "{out}");
    let paced = cf["paced_ms"].as_u64().unwrap_or(0);
    assert!(paced >= 900, "waited {paced} ms for the bucket: {out}");
    assert!(took >= Duration::from_millis(900), "{took:?}");
    let seen = lock(&site.mocks.seen);
    assert_eq!(seen.cf_violations, Vec::<String>::new());
    assert_eq!(seen.cf_429, 0);
    assert_eq!(seen.cf.len(), 30);
}

#[test]
fn a_plan_set_too_high_meets_429_and_still_purges_everything() {
    // The same API, but anp.toml claims Enterprise (500 requests at once): the API refuses
    // what Pro's bucket cannot cover; each refusal empties this process's bucket and is
    // retried after Retry-After, so every tag is still purged.
    let site = Site::with_plan("enterprise");
    lock(&site.mocks.seen).cf_pro_bucket = Some((25.0, Instant::now()));
    let (out, _) = purge_3000_tags(&site);
    let cf = &out["purge"]["cdn"][1];
    assert_eq!(cf["requests"], 30, "{out}");
    let retries = cf["retries"].as_u64().unwrap_or(0);
    let seen = lock(&site.mocks.seen);
    assert_eq!(seen.cf_violations, Vec::<String>::new());
    assert!(
        seen.cf_429 >= 1,
        "the API never refused: is its bucket enforced?"
    );
    assert_eq!(u64::from(seen.cf_429), retries);
    let purged: HashSet<&str> = seen
        .cf
        .iter()
        .flat_map(|b| b["tags"].as_array().into_iter().flatten())
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(purged.len(), 3000);
}

#[test]
fn a_refused_token_is_reported_with_the_api_error_and_never_printed() {
    let site = Site::new();
    let (code, out, err) = site.anp_with(
        Some("a-wrong-token"),
        &["cache", "purge", "--tag", "x", "--now", "--no-cdn"],
    );
    // --no-cdn: the store only; the namespace was never opened.
    assert_eq!(code, 4, "{out}{err}");
    let (code, out, err) = site.anp_with(
        Some("a-wrong-token"),
        &[
            "--json",
            "cache",
            "purge",
            "--url",
            "https://a.test/",
            "--now",
        ],
    );
    assert_eq!(code, 2, "{out}{err}");
    let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(v["cdn"][0]["status"], "purged");
    assert_eq!(v["cdn"][1]["status"], "failed");
    let e = v["cdn"][1]["error"].as_str().unwrap_or_default();
    assert!(
        e.contains("403")
            && e.contains("[10000] Authentication error")
            && e.ends_with("not retried"),
        "{e}"
    );
    assert!(
        err.contains("cdn purge failed at 1 of 2 targets (cloudflare)"),
        "{err}"
    );
    // No token at all: the variable is named, nothing is sent.
    let before = lock(&site.mocks.seen).cf_violations.len();
    let (code, out, err) = site.anp_with(
        None,
        &["cache", "purge", "--url", "https://a.test/", "--now"],
    );
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        out.contains(&format!("environment variable {TOKEN_ENV} is not set")),
        "{out}"
    );
    assert_eq!(lock(&site.mocks.seen).cf_violations.len(), before);
}

#[test]
fn deploy_mark_verify_shows_miss_then_hit_and_fails_when_a_page_stays_cached() {
    let site = Site::new();
    let page = format!("http://{}/page", site.mocks.varnish);
    // Warm the page: it is cached (HIT) before the deploy.
    for _ in 0..2 {
        reqwest_get(&page);
    }
    let out = site.json(&[
        "deploy",
        "mark",
        "--version",
        "v1",
        "--purge-tag",
        "deploy",
        "--verify",
        &page,
        "--verify-settle",
        "0s",
    ]);
    assert_eq!(
        out["verify"],
        json!([{"url": page, "first": "MISS", "second": "HIT", "ok": true}])
    );
    let stuck = format!("http://{}/stuck", site.mocks.varnish);
    let (code, out, err) = site.anp_with(
        Some(TOKEN),
        &[
            "deploy",
            "mark",
            "--version",
            "v2",
            "--purge-tag",
            "deploy",
            "--verify",
            &stuck,
            "--verify-settle",
            "0s",
        ],
    );
    assert_eq!(code, 8, "{out}{err}");
    assert!(
        out.contains(&format!("verify {stuck}: HIT→HIT NOT OK")),
        "{out}"
    );
    assert!(err.contains("did not answer MISS then HIT"), "{err}");
}

/// `--verify-examples`: the `should_cache` GET examples of the rules carrying the purged tag
/// are requested at the base URL (MISS then HIT); rules without the tag, HEAD examples and
/// bypass examples are not; a purge whose rules have no such example is refused up front.
#[test]
fn deploy_mark_verifies_the_purged_rules_examples() {
    let site = Site::new();
    std::fs::write(
        site.path().join("cache.toml"),
        r#"version = 1
[defaults]
deploy_tag = "deploy"

[[rule]]
name = "assets"
owner = "web"
expected = "hits"
rollback = "bypass"
match = { prefix = "/assets/" }
action = "cache"
edge_ttl = "1d"
tags = ["assets"]
should_cache = ["GET /assets/app.js"]

[[rule]]
name = "html"
owner = "web"
expected = "hits"
rollback = "bypass"
match = { prefix = "/" }
action = "cache"
edge_ttl = "60s"
tags = ["deploy"]
should_cache = ["HEAD /page", "GET /page?from=deploy"]
should_bypass = ["GET /page cookie:session=abc"]
"#,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let base = format!("http://{}", site.mocks.varnish);
    reqwest_get(&format!("{base}/page"));
    let out = site.json(&[
        "deploy",
        "mark",
        "--version",
        "v1",
        "--purge-deploy-tag",
        "--verify-examples",
        &base,
        "--verify-settle",
        "0s",
    ]);
    assert_eq!(
        out["verify"],
        json!([{
            "url": format!("{base}/page?from=deploy"),
            "rule": "html",
            "example": "GET /page?from=deploy",
            "first": "MISS",
            "second": "HIT",
            "ok": true
        }]),
        "{out}"
    );
    // A tag no rule with a GET example carries: refused before anything is recorded.
    let (code, out, err) = site.anp_with(
        Some(TOKEN),
        &[
            "deploy",
            "mark",
            "--version",
            "v2",
            "--purge-tag",
            "other",
            "--verify-examples",
            &base,
        ],
    );
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.contains("--verify-examples: no cache rule") && err.contains("carrying other"),
        "{err}"
    );
    let listed = site.json(&["deploy", "list"]);
    assert!(
        listed.to_string().contains("\"v1\"") && !listed.to_string().contains("\"v2\""),
        "v1 recorded, v2 not: {listed}"
    );
}

/// `--wait-for`: the marker is recorded and the tag purged only once the URL shows the new
/// version; when it never does, nothing is recorded or purged and the error says so.
#[test]
fn deploy_mark_waits_for_the_new_version_before_recording_and_purging() {
    let site = Site::new();
    let version = format!("http://{}/version", site.mocks.varnish);
    let started = Instant::now();
    let out = site.json(&[
        "deploy",
        "mark",
        "--version",
        "v2",
        "--wait-for",
        &version,
        "--wait-timeout",
        "30s",
        "--purge-tag",
        "deploy",
    ]);
    assert_eq!(out["waited"]["url"], version.as_str(), "{out}");
    assert_eq!(out["waited"]["text"], "v2", "{out}");
    assert_eq!(out["waited"]["polls"], 3, "v1, v1, then v2: {out}");
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "it polled about once a second"
    );
    assert_eq!(out["version"], "v2", "{out}");
    assert!(
        out["purge"]["store"].is_boolean(),
        "the purge ran after the wait: {out}"
    );
    let purges = lock(&site.mocks.seen).varnish.len();
    // A version that never shows: nothing recorded, nothing purged, a clear error.
    let (code, out, err) = site.anp_with(
        Some(TOKEN),
        &[
            "deploy",
            "mark",
            "--version",
            "v3",
            "--wait-for",
            &version,
            "--wait-timeout",
            "2s",
            "--purge-tag",
            "deploy",
        ],
    );
    assert_eq!(code, 3, "unavailable, nothing changed: {out}{err}");
    assert!(
        err.contains("did not show \"v3\"") && err.contains("nothing was recorded"),
        "{err}"
    );
    assert_eq!(
        lock(&site.mocks.seen).varnish.len(),
        purges,
        "nothing purged"
    );
    let list = site.json(&["deploy", "list"]);
    assert_eq!(each(&list, "version"), ["v2"], "{list}");
    // Bad input is refused before anything is recorded.
    let (code, _, err) = site.anp_with(
        Some(TOKEN),
        &[
            "deploy",
            "mark",
            "--version",
            "v4",
            "--wait-for",
            "ftp://x/",
        ],
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("--wait-for \"ftp://x/\" is not an http(s) URL"),
        "{err}"
    );
}

/// A plain GET (the mock's cache state changes with each).
fn reqwest_get(url: &str) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    rt.block_on(async {
        reqwest::get(url)
            .await
            .unwrap_or_else(|e| panic!("GET {url}: {e}"))
            .bytes()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    });
}

#[test]
fn url_and_prefix_purges_reach_the_http_cache_entries_the_rules_keyed() {
    let site = Site::new();
    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/cache.toml");
    std::fs::copy(&rules, site.path().join("cache.toml")).unwrap_or_else(|e| panic!("{e}"));
    let asset = "https://www.example.com/assets/app.3f9c.js";
    let key = site.json(&["cache", "rules", "explain", "GET", asset])["key"]
        .as_str()
        .unwrap_or_else(|| panic!("explain gives no key"))
        .to_owned();
    let other = "GET|www.example.com|/blog/|?";
    for k in [key.as_str(), other] {
        site.json(&["cache", "set", "-n", "http", k, r#""page""#]);
    }
    // --url: the key the rules compute for GET URL, in namespace http.
    let out = site.json(&["cache", "purge", "--url", asset, "--no-cdn"]);
    assert_eq!(
        (out["store"].clone(), out["entries"].clone()),
        (json!(true), json!(1))
    );
    let (code, _, _) = site.anp_with(Some(TOKEN), &["cache", "get", "-n", "http", &key]);
    assert_eq!(code, 4, "the URL's entry is still stored");
    // --prefix with a URL: the entries under it only.
    site.json(&["cache", "set", "-n", "http", &key, r#""page""#]);
    let out = site.json(&[
        "cache",
        "purge",
        "--prefix",
        "https://www.example.com/assets/",
        "--no-cdn",
    ]);
    assert_eq!(out["entries"], 1);
    assert_eq!(
        site.json(&["cache", "get", "-n", "http", other])["state"],
        "fresh"
    );

    // --purge-deploy-tag: the rules' `[defaults] deploy_tag` ("deploy"), store and CDNs.
    let out = site.json(&[
        "deploy",
        "mark",
        "--version",
        "v9",
        "--purge-deploy-tag",
        "--purge-now",
    ]);
    assert_eq!(out["purge"]["tags"], json!(["deploy"]));
    assert_eq!(out["purge"]["store"], true);
    let seen = lock(&site.mocks.seen);
    assert_eq!(seen.cf, [json!({"tags": ["deploy"]})]);
    assert_eq!(seen.varnish[0].3, "deploy");
}
