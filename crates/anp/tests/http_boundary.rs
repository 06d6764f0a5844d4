//! The HTTP boundary of a real `anp serve` (issue 13): the 64 KiB body limit on every route,
//! one JSON error form for every 4xx (unknown route, wrong method, bad query string, bad path
//! parameter, bad body, no token), enqueue over HTTP (one job, unique duplicates, bulk), and the
//! API answering with the same objects as `anp … --json`.

mod serve_support;

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::Command;

use anp_core::schedule::{ScheduleName, ScheduleSyncParams};
use anp_core::store::JobListParams;
use anp_core::{JobId, JobState, QueueName, Store};
use anp_sqlite::SqliteStore;
use reqwest::header::HeaderMap;
use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};
use serve_support::{sqlite_with_one_job, start, Server};

const TOKEN: &str = "s3cret-token-0123456789";

/// `anp serve` (with [`TOKEN`]) on a SQLite store in a temp dir that holds one available job on
/// queue `default` and the schedule `nightly` (03:00 UTC).
struct Serving {
    dir: tempfile::TempDir,
    store: SqliteStore,
    /// The seeded job.
    id: JobId,
    base: String,
    c: Client,
    _server: Server,
}

impl Serving {
    async fn start() -> Serving {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let (store, id) = sqlite_with_one_job(&dir.path().join("anp.db")).await;
        store
            .schedule_sync(ScheduleSyncParams {
                defs: vec![anp_conformance::schedule::def("nightly", "0 3 * * *")],
                now: jiff::Timestamp::now(),
            })
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let (server, base) = start(&dir.path().join("anp.db"), Some(TOKEN)).await;
        Serving {
            dir,
            store,
            id,
            base,
            c: Client::new(),
            _server: server,
        }
    }

    fn db(&self) -> PathBuf {
        self.dir.path().join("anp.db")
    }

    /// Sends a request to `path`: the status, the headers and the body, which must be JSON (and
    /// say so in `Content-Type`).
    async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> (StatusCode, HeaderMap, Value) {
        let mut rb = self
            .c
            .request(method.clone(), format!("{}{path}", self.base));
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        if let Some(b) = body {
            rb = rb.body(b);
        }
        let r = rb
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let (status, headers) = (r.status(), r.headers().clone());
        let ct = headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert!(
            ct.starts_with("application/json"),
            "{method} {path}: {status} with content-type {ct:?}"
        );
        let text = r.text().await.unwrap_or_else(|e| panic!("{e}"));
        let v = serde_json::from_str(&text).unwrap_or_else(|e| {
            panic!("{method} {path}: {status} body is not JSON ({e}): {text:?}")
        });
        (status, headers, v)
    }

    /// GETs `path` without a token.
    async fn get(&self, path: &str) -> (StatusCode, HeaderMap, Value) {
        self.send(Method::GET, path, None, None).await
    }

    /// GETs `path`, which must answer 200: its JSON.
    async fn get_ok(&self, path: &str) -> Value {
        let (status, _, v) = self.get(path).await;
        assert_eq!(status, 200, "{path}: {v}");
        v
    }

    /// POSTs `body` as JSON to `path` with the token.
    async fn post(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        let body = Some(body.to_string().into_bytes());
        let (s, _, v) = self.send(Method::POST, path, Some(TOKEN), body).await;
        (s, v)
    }

    /// How many jobs the store holds.
    async fn job_count(&self) -> usize {
        self.store
            .job_list(JobListParams {
                states: Vec::new(),
                queue: None,
                kind: None,
                before: None,
                limit: 10_000,
            })
            .await
            .map(|l| l.len())
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// `anp --json ARGS` on the same store: its exit code and the JSON it printed.
    fn anp(&self, args: &[&str]) -> (Option<i32>, Value) {
        let out = Command::new(env!("CARGO_BIN_EXE_anp"))
            .args([
                "--store",
                &format!("sqlite://{}", self.db().display()),
                "--json",
            ])
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        let v = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "anp {args:?}: {e}: {}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
        (out.status.code(), v)
    }

    /// `anp --json ARGS`'s output, which must succeed.
    fn anp_ok(&self, args: &[&str]) -> Value {
        let (code, v) = self.anp(args);
        assert_eq!(code, Some(0), "anp {args:?}: {v}");
        v
    }

    /// `anp --json ARGS`'s object, which must succeed, without the `store` field the command
    /// line adds to every object it prints (the API answers the same object without it).
    fn anp_object(&self, args: &[&str]) -> Value {
        without_store(self.anp_ok(args))
    }

    /// The store's job `id`.
    async fn job(&self, id: &Value) -> anp_core::Job {
        let id = JobId::parse(id.as_str().unwrap_or_default()).unwrap_or_else(|e| panic!("{e}"));
        self.store
            .job_get(id)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }
}

/// `v` without its `store` field, which must be there: `{"url", "from"}` of the store the
/// command used (the command line's addition to an object it prints).
fn without_store(mut v: Value) -> Value {
    let store = v.as_object_mut().and_then(|o| o.remove("store"));
    assert!(
        store
            .as_ref()
            .is_some_and(|s| s["url"].is_string() && s["from"] == "--store"),
        "the CLI names its store: {store:?} in {v}"
    );
    v
}

/// Asserts `v` is the error form (`{"error": {"op", "kind", "message", "retry_safe"}}`) with
/// this kind and a message containing `needle`; returns the message.
fn assert_error(what: &str, v: &Value, kind: &str, needle: &str) -> String {
    let e = &v["error"];
    assert!(e["op"].is_string(), "{what}: no op in {v}");
    assert_eq!(e["kind"], kind, "{what}: {v}");
    assert!(e["retry_safe"].is_boolean(), "{what}: {v}");
    let message = e["message"].as_str().unwrap_or_default().to_owned();
    assert!(
        message.contains(needle),
        "{what}: {message:?} lacks {needle:?}"
    );
    message
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_refuses_a_body_over_64_kib_and_nothing_changes() {
    let t = Serving::start().await;
    let id = t.id;
    let big = vec![b'x'; 70 * 1024];
    let actions = [
        "/api/jobs".to_owned(),
        "/api/jobs/bulk".to_owned(),
        format!("/api/jobs/{id}/retry"),
        format!("/api/jobs/{id}/cancel"),
        "/api/queues/default/pause".to_owned(),
        "/api/queues/default/resume".to_owned(),
        "/api/schedules/nightly/trigger".to_owned(),
        "/api/deploys".to_owned(),
    ];
    for path in &actions {
        let (status, _, v) = t
            .send(Method::POST, path, Some(TOKEN), Some(big.clone()))
            .await;
        assert_eq!(status, 413, "POST {path}: {v}");
        assert_error(path, &v, "invalid_input", "expected at most 65536 bytes");
        // The token is still checked first.
        let (status, _, v) = t.send(Method::POST, path, None, Some(big.clone())).await;
        assert_eq!(status, 401, "POST {path} without a token: {v}");
        assert_error(path, &v, "unauthorized", "bearer token");
    }
    for path in ["/api/status", "/api/jobs", "/healthz"] {
        let (status, _, v) = t.send(Method::GET, path, None, Some(big.clone())).await;
        assert_eq!(status, 413, "GET {path}: {v}");
    }
    // A chunked body (no Content-Length) is cut off as it passes the limit, on an action that
    // never reads its body.
    let status = chunked_post(&t.base, &format!("/api/jobs/{id}/cancel"), 80 * 1024);
    assert_eq!(status, 413, "chunked POST cancel");

    let job = t.store.job_get(id).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(job.state, JobState::Available, "the job was not cancelled");
    assert_eq!(t.job_count().await, 1, "nothing was enqueued");
    let queues = t.store.queue_list().await.unwrap_or_else(|e| panic!("{e}"));
    assert!(queues.iter().all(|q| !q.paused), "no queue was paused");
    let deploys = t
        .store
        .deploy_list(10)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(deploys.is_empty(), "no deploy was marked");
    let name = ScheduleName::parse("nightly").unwrap_or_else(|e| panic!("{e}"));
    let (_, log) = t
        .store
        .schedule_get(name, 10)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(log.is_empty(), "the schedule was not triggered");

    // 64 KiB exactly is within the limit (and then refused for what it is).
    let (status, _, v) = t
        .send(
            Method::POST,
            "/api/deploys",
            Some(TOKEN),
            Some(vec![b' '; 64 * 1024]),
        )
        .await;
    assert_eq!(status, 400, "{v}");
    assert_error(
        "64 KiB deploy body",
        &v,
        "invalid_input",
        "the JSON body is invalid",
    );
}

/// POSTs `len` bytes with `Transfer-Encoding: chunked` over a raw connection; the status.
fn chunked_post(base: &str, path: &str, len: usize) -> u16 {
    let addr = base.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).unwrap_or_else(|e| panic!("{e}"));
    s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap_or_else(|e| panic!("{e}"));
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {TOKEN}\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    let _ = s.write_all(head.as_bytes());
    let chunk = vec![b'x'; 8 * 1024];
    for _ in 0..len / chunk.len() {
        // The server may answer and stop reading before the end.
        if s.write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
            .is_err()
            || s.write_all(&chunk).is_err()
            || s.write_all(b"\r\n").is_err()
        {
            break;
        }
    }
    let _ = s.write_all(b"0\r\n\r\n");
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out);
    text.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_routes_and_wrong_methods_answer_the_error_form() {
    let t = Serving::start().await;
    // (`/` is the dashboard's overview now: an HTML page, docs/dashboard.md.)
    for path in [
        "/nope",
        "/api/nope",
        "/api/jobs/",
        "/api/queues/default/nope",
    ] {
        let (status, h, v) = t.get(path).await;
        assert_eq!(status, 404, "GET {path}: {v}");
        assert_error(path, &v, "not_found", &format!("no endpoint GET {path}"));
        assert_eq!(
            h.get("x-content-type-options").map(|v| v.as_bytes()),
            Some(&b"nosniff"[..]),
            "security headers on a 404 too"
        );
    }
    let cases: &[(Method, &str, &[&str])] = &[
        (Method::DELETE, "/api/jobs", &["GET", "POST"]),
        (Method::PUT, "/api/status", &["GET"]),
        (Method::GET, "/api/jobs/bulk", &["POST"]),
        (Method::GET, "/api/queues/default/pause", &["POST"]),
        (Method::POST, "/api/workers", &["GET"]),
    ];
    for (method, path, allowed) in cases {
        // With the token, so the answer is about the method alone.
        let (status, h, v) = t.send(method.clone(), path, Some(TOKEN), None).await;
        assert_eq!(status, 405, "{method} {path}: {v}");
        let allow = h
            .get("allow")
            .and_then(|a| a.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let message = assert_error(
            path,
            &v,
            "invalid_input",
            &format!("does not take {method}"),
        );
        for m in *allowed {
            assert!(
                allow.contains(m),
                "{method} {path}: Allow {allow:?} lacks {m}"
            );
            assert!(
                message.contains(m),
                "{method} {path}: {message:?} lacks {m}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_query_strings_and_path_parameters_are_400_naming_what_was_expected() {
    let t = Serving::start().await;
    let id = t.id;
    for limit in ["abc", "-1", "1e999", "0", "10001", "", "2.5"] {
        let (status, _, v) = t.get(&format!("/api/jobs?limit={limit}")).await;
        assert_eq!(status, 400, "limit={limit}: {v}");
        assert_error(
            "limit",
            &v,
            "invalid_input",
            &format!("limit {limit:?} is invalid: expected a whole number 1-10000"),
        );
    }
    let (status, _, v) = t.get("/api/jobs?limit=10000").await;
    assert_eq!(status, 200, "{v}");
    let cases = [
        (
            "/api/jobs?foo=1",
            "parameter \"foo\" is unknown: expected one of state, queue, kind, before, limit",
        ),
        (
            "/api/jobs?limit=1&limit=2",
            "parameter \"limit\" is given twice",
        ),
        (
            "/api/jobs?state=nope",
            "is not a job state: expected one of",
        ),
        (
            "/api/jobs?queue=Bad%20Queue!",
            "expected 1-64 chars of [a-z0-9_-]",
        ),
        ("/api/jobs?before=xyz", "is not a job id"),
        (
            "/api/status?verbose=1",
            "parameter \"verbose\" is unknown: expected no parameters",
        ),
        ("/api/queues?x", "parameter \"x\" is unknown"),
        (
            "/api/deploys?limit=0",
            "limit \"0\" is invalid: expected a whole number 1-10000",
        ),
        ("/api/schedules/nightly?log=abc", "log \"abc\" is invalid"),
        ("/api/schedules/nightly?limit=3", "expected one of log"),
        (&format!("/api/jobs/{id}?x=1"), "expected no parameters"),
        ("/api/jobs/not-an-id", "\"not-an-id\" is not a job id"),
        ("/api/jobs/%FF%FE", "{id} is not UTF-8 once percent-decoded"),
        (
            "/api/schedules/%C3%28",
            "{name} is not UTF-8 once percent-decoded",
        ),
        ("/api/schedules/Bad%20Name!", "is invalid"),
    ];
    for (path, needle) in cases {
        let (status, _, v) = t.get(path).await;
        assert_eq!(status, 400, "GET {path}: {v}");
        assert_error(path, &v, "invalid_input", needle);
    }
    // Actions: the token first, then the path.
    let url = "/api/jobs/%FF/cancel";
    let (status, _, v) = t.send(Method::POST, url, None, None).await;
    assert_eq!(status, 401, "{v}");
    let (status, _, v) = t.send(Method::POST, url, Some(TOKEN), None).await;
    assert_eq!(status, 400, "{v}");
    assert_error("cancel %FF", &v, "invalid_input", "not UTF-8");
    let url = "/api/queues/Bad%20Queue!/pause";
    let (status, _, v) = t.send(Method::POST, url, Some(TOKEN), None).await;
    assert_eq!(status, 400, "{v}");
    assert_error(
        "pause a bad queue",
        &v,
        "invalid_input",
        "expected 1-64 chars",
    );
    // A wrong token is 401 in the same form; 404s and bad bodies too.
    let url = "/api/deploys";
    let (status, h, v) = t
        .send(Method::POST, url, Some("wrong-token-0123456789"), None)
        .await;
    assert_eq!(status, 401, "{v}");
    assert_eq!(
        h.get("www-authenticate").map(|v| v.as_bytes()),
        Some(&b"Bearer"[..])
    );
    assert_error(
        "wrong token",
        &v,
        "unauthorized",
        "expected Authorization: Bearer",
    );
    let (status, v) = t.post(url, &json!({"version": 3})).await;
    assert_eq!(status, 400, "{v}");
    assert_error(
        "deploy with a number",
        &v,
        "invalid_input",
        "expected {\"version\"",
    );
    let (status, _, v) = t
        .get("/api/jobs/01a213da-1ef9-7031-845b-0ca929d22533")
        .await;
    assert_eq!(status, 404, "{v}");
    assert_error("unknown job", &v, "not_found", "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enqueue_over_http_as_anp_enqueue_does() {
    let t = Serving::start().await;
    let url = "/api/jobs";
    let one = json!({"kind": "email.send", "args": {"to": "a@example.com"}});

    // No token: refused, nothing enqueued.
    let (status, _, v) = t
        .send(Method::POST, url, None, Some(one.to_string().into_bytes()))
        .await;
    assert_eq!(status, 401, "{v}");
    assert_error(
        "enqueue without a token",
        &v,
        "unauthorized",
        "bearer token",
    );
    assert_eq!(t.job_count().await, 1);

    // One job with every option.
    let before = jiff::Timestamp::now();
    let (status, v) = t
        .post(
            url,
            &json!({"kind": "report.build", "args": {"day": "2026-01-02"}, "queue": "reports",
                "priority": 2, "max_attempts": 3, "in": "1h"}),
        )
        .await;
    assert_eq!(status, 201, "{v}");
    assert_eq!(v["duplicate"], false, "{v}");
    assert_eq!(v["state"], "scheduled", "{v}");
    let job = t.job(&v["id"]).await;
    assert_eq!(job.kind.as_str(), "report.build");
    assert_eq!(
        job.queue,
        QueueName::parse("reports").unwrap_or_else(|e| panic!("{e}"))
    );
    assert_eq!((job.priority, job.max_attempts), (2, 3));
    let args: Value = serde_json::from_str(job.args.as_json()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(args, json!({"day": "2026-01-02"}));
    let delay = job.run_at.duration_since(before).as_secs();
    assert!((3590..=3610).contains(&delay), "run in 1h, got {delay}s");

    // Defaults as `anp enqueue`'s: queue default, priority 5, 25 attempts, available now.
    let (status, v) = t.post(url, &one).await;
    assert_eq!(status, 201, "{v}");
    assert_eq!(v["state"], "available", "{v}");
    let job = t.job(&v["id"]).await;
    assert_eq!(
        (job.queue.as_str(), job.priority, job.max_attempts),
        ("default", 5, 25)
    );

    // Unique: the second enqueue answers the first job, 200, duplicate.
    let unique = json!({"kind": "invoice.send", "args": {"n": 7}, "unique": "invoice-7",
                        "unique_for": "1h"});
    let (status, first) = t.post(url, &unique).await;
    assert_eq!(status, 201, "{first}");
    let (status, again) = t.post(url, &unique).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["duplicate"], true, "{again}");
    assert_eq!(again["id"], first["id"], "{again}");
    let count = t.job_count().await;
    assert_eq!(count, 4, "one seeded + three enqueued");

    // Bad input: 400 in the error form, nothing enqueued; the same message as `anp enqueue`.
    let bad = [
        (json!({"kind": "bad kind"}), "expected 1-128 chars"),
        (
            json!({"kind": "k", "queue": "Bad Queue!"}),
            "expected 1-64 chars of [a-z0-9_-]",
        ),
        (
            json!({"kind": "k", "priority": 12}),
            "12 is out of range: expected 0-9",
        ),
        (json!({"kind": "k", "max_attempts": 0}), "expected 1-1000"),
        (
            json!({"kind": "k", "in": "soon"}),
            "\"soon\" is not a duration",
        ),
        (
            json!({"kind": "k", "run_at": "tomorrow"}),
            "\"tomorrow\" is not a timestamp",
        ),
        (
            json!({"kind": "k", "in": "1m", "run_at": "2030-01-01T00:00:00Z"}),
            "not both",
        ),
        (
            json!({"kind": "k", "unique_for": "1h"}),
            "is given without unique",
        ),
        (
            json!({"kind": "k", "unique": ""}),
            "expected 1-255 characters",
        ),
        (json!({"kind": "k", "nope": 1}), "unknown field `nope`"),
        (json!({"args": {}}), "missing field `kind`"),
        (json!(["k"]), "expected {\"kind\""),
    ];
    for (body, needle) in &bad {
        let (status, v) = t.post(url, body).await;
        assert_eq!(status, 400, "{body}: {v}");
        assert_error(&body.to_string(), &v, "invalid_input", needle);
    }
    let (status, _, v) = t
        .send(Method::POST, url, Some(TOKEN), Some(b"{bad".to_vec()))
        .await;
    assert_eq!(status, 400, "{v}");
    assert_error(
        "invalid JSON",
        &v,
        "invalid_input",
        "the JSON body is invalid",
    );
    let (status, _, v) = t.send(Method::POST, url, Some(TOKEN), None).await;
    assert_eq!(status, 400, "{v}");
    for (body, flags) in [
        (
            json!({"kind": "k", "queue": "Bad Queue!"}),
            vec!["enqueue", "k", "--queue", "Bad Queue!"],
        ),
        (json!({"kind": "bad kind"}), vec!["enqueue", "bad kind"]),
        (
            json!({"kind": "k", "priority": 12}),
            vec!["enqueue", "k", "--priority", "12"],
        ),
    ] {
        let (_, v) = t.post(url, &body).await;
        let (code, cli) = t.anp(&flags);
        assert_eq!(code, Some(2), "anp {flags:?}: {cli}");
        assert_eq!(v["error"]["op"], cli["error"]["op"], "{body}");
        assert_eq!(v["error"]["message"], cli["error"]["message"], "{body}");
        assert_eq!(v["error"]["kind"], cli["error"]["kind"], "{body}");
    }
    assert_eq!(t.job_count().await, count, "bad input enqueued nothing");

    // Bulk: one atomic batch, results in input order, duplicates named.
    let bulk = "/api/jobs/bulk";
    let (status, v) = t
        .post(
            bulk,
            &json!({"jobs": [
                {"kind": "a.one", "args": {"i": 0}},
                {"kind": "invoice.send", "args": {"n": 7}, "unique": "invoice-7"},
                {"kind": "a.two", "queue": "other", "priority": 1},
            ]}),
        )
        .await;
    assert_eq!(status, 201, "{v}");
    assert_eq!(
        (v["enqueued"].as_u64(), v["duplicates"].as_u64()),
        (Some(2), Some(1)),
        "{v}"
    );
    let results = v["jobs"].as_array().cloned().unwrap_or_default();
    assert_eq!(results.len(), 3, "{v}");
    assert_eq!(results[1]["id"], first["id"], "{v}");
    assert_eq!(results[1]["duplicate"], true, "{v}");
    for (r, kind) in [(&results[0], "a.one"), (&results[2], "a.two")] {
        assert_eq!(r["duplicate"], false, "{v}");
        let job = t.job(&r["id"]).await;
        assert_eq!(job.kind.as_str(), kind, "results are in input order");
    }
    let count = t.job_count().await;
    assert_eq!(count, 6);

    // All duplicates: 200.
    let (status, v) = t.post(bulk, &json!({"jobs": [unique]})).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["enqueued"], 0, "{v}");

    // One bad job enqueues none; more than 1,000 are refused.
    let (status, v) = t
        .post(
            bulk,
            &json!({"jobs": [{"kind": "fine"}, {"kind": "fine", "queue": "Bad Queue!"}]}),
        )
        .await;
    assert_eq!(status, 400, "{v}");
    assert_error(
        "bulk with a bad job",
        &v,
        "invalid_input",
        "jobs[1]: queue name",
    );
    let many = |n: usize| json!({"jobs": vec![json!({"kind": "k"}); n]});
    let (status, v) = t.post(bulk, &many(1001)).await;
    assert_eq!(status, 400, "{v}");
    assert_error(
        "1001 jobs",
        &v,
        "invalid_input",
        "1001 jobs given: expected at most 1000",
    );
    let (status, v) = t.post(bulk, &json!({"job": []})).await;
    assert_eq!(status, 400, "{v}");
    assert_error(
        "bulk without jobs",
        &v,
        "invalid_input",
        "expected {\"jobs\": [",
    );
    assert_eq!(
        t.job_count().await,
        count,
        "refused batches enqueued nothing"
    );
    let (status, v) = t.post(bulk, &many(1000)).await;
    assert_eq!(status, 201, "{v}");
    assert_eq!(v["enqueued"], 1000, "{v}");
    assert_eq!(t.job_count().await, count + 1000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_answers_with_the_objects_anp_json_prints() {
    let t = Serving::start().await;
    // A fire-log entry and a deploy marker, so there is something to compare.
    let (status, v) = t.post("/api/schedules/nightly/trigger", &json!({})).await;
    assert_eq!(status, 200, "{v}");
    let (status, v) = t.post("/api/deploys", &json!({"version": "v1"})).await;
    assert_eq!(status, 201, "{v}");

    let list = t.get_ok("/api/schedules").await;
    assert_eq!(list, t.anp_ok(&["schedules", "list"]), "schedules list");
    let s = &list[0];
    assert_eq!(s["name"], "nightly", "flat, not nested in def: {s}");
    assert!(s.get("def").is_none(), "{s}");
    assert!(
        s["next_run"]
            .as_str()
            .is_some_and(|t| t.contains("T03:00:00")),
        "{s}"
    );
    let show = t.get_ok("/api/schedules/nightly?log=100").await;
    assert_eq!(
        show,
        t.anp_object(&["schedules", "show", "nightly", "--log", "100"]),
        "schedules show"
    );
    assert_eq!(show["fire_log"].as_array().map(Vec::len), Some(1), "{show}");

    assert_eq!(
        t.get_ok("/api/jobs").await,
        t.anp_ok(&["jobs", "list"]),
        "jobs list"
    );
    let id = show["fire_log"][0]["job_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let (status, _, job) = t.get(&format!("/api/jobs/{id}")).await;
    assert_eq!(status, 200, "{job}");
    assert_eq!(job, t.anp_object(&["jobs", "show", &id]), "jobs show");
    assert_eq!(
        t.get_ok("/api/deploys?limit=20").await,
        t.anp_ok(&["deploy", "list"]),
        "deploy list"
    );
    assert_eq!(
        t.get_ok("/api/workers").await,
        t.anp_ok(&["workers"]),
        "workers"
    );

    // Queues: the same object, `oldest_available_age_s` aside (it moves with the clock).
    let strip = |mut v: Value| {
        for q in v.as_array_mut().into_iter().flatten() {
            let age = q
                .as_object_mut()
                .and_then(|o| o.remove("oldest_available_age_s"));
            assert!(
                age.is_some_and(|a| a.is_f64()),
                "oldest_available_age_s in {q}"
            );
        }
        v
    };
    assert_eq!(
        strip(t.get_ok("/api/queues").await),
        strip(t.anp_ok(&["queues"])),
        "queues"
    );

    // Status: the same fields (the numbers move between two reads).
    let keys = |v: &Value| {
        v.as_object()
            .map(|o| o.keys().cloned().collect::<Vec<_>>())
            .unwrap_or_default()
    };
    let (_, cli_status) = t.anp(&["status"]);
    assert_eq!(
        keys(&t.get_ok("/api/status").await),
        keys(&without_store(cli_status)),
        "status"
    );
}
