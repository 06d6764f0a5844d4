//! The dashboard in a real browser: Debian `chromium` driven through `chromedriver`
//! (fantoccini) against a real `anp serve` on a SQLite store seeded with jobs in every state,
//! a schedule with a fire log and a deploy marker. Every page renders without a script error
//! or CSP violation (the vendored script collects them in `window.__anpErrors`); a dead job
//! retried from its page becomes available; a bulk retry asks for confirmation first; an
//! action without the session or without the CSRF token is refused and changes nothing; the
//! overview draws the deploy marker. Screenshots of every page go to
//! `target/dashboard-screenshots/`.
//!
//! Skips (with a message) only when chromium or chromedriver is missing and
//! `ANP_REQUIRE_BROWSER` is unset; CI sets it. A second test checks, without a browser, that
//! many concurrent clients cost one store read per live interval.

mod serve_support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anp_conformance::util::{ack, err, fetch, new_job, now, plus};
use anp_core::monitor::DeployMarker;
use anp_core::schedule::{ScheduleSyncParams, ScheduleTriggerParams};
use anp_core::store::{AckOutcome, JobEnqueueManyParams};
use anp_core::{Args, JobId, JobState, Store};
use anp_sqlite::SqliteStore;
use fantoccini::{ClientBuilder, Locator};
use serve_support::{free_port, Server};

const TOKEN: &str = "dashboard-token-0123456789";

/// chromedriver, killed when dropped.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The path of `name` on PATH.
fn on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join(name))
            .find(|f| f.is_file())
    })
}

/// `anp serve` on `db` with the token and extra args; once /healthz answers.
async fn serve(db: &Path, extra: &[&str]) -> (Server, String) {
    let port = free_port();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_anp"));
    cmd.args([
        "--store",
        &format!("sqlite://{}", db.display()),
        "serve",
        "--bind",
        &format!("127.0.0.1:{port}"),
    ])
    .args(extra)
    .env("ANP_TOKEN", TOKEN)
    .stdout(Stdio::null())
    .stderr(Stdio::null());
    let server = Server::new(cmd.spawn().unwrap_or_else(|e| panic!("{e}")));
    let base = format!("http://127.0.0.1:{port}");
    let prefix = extra
        .iter()
        .position(|a| *a == "--base-path")
        .map(|i| extra[i + 1])
        .unwrap_or("");
    let c = reqwest::Client::new();
    for _ in 0..400 {
        if let Ok(r) = c.get(format!("{base}{prefix}/healthz")).send().await {
            if r.status().is_success() {
                return (server, base);
            }
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("anp serve did not become healthy");
}

/// What the seeded store holds.
struct Seeded {
    store: SqliteStore,
    dead: Vec<JobId>,
    available: JobId,
}

/// Jobs in every state, a schedule with a fire-log entry, a deploy marker 10 minutes ago.
async fn seed(db: &Path) -> Seeded {
    let store = SqliteStore::open(
        SqliteStore::parse_url(&format!("sqlite://{}", db.display()))
            .unwrap_or_else(|e| panic!("{e}")),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let t = now();
    let mut jobs: Vec<_> = (1..9)
        .map(|n| new_job("email.send", "default", n))
        .collect();
    let mut later = new_job("report.build", "reports", 99);
    later.run_at = Some(plus(t, 3600));
    jobs.push(later);
    store
        .job_enqueue_many(JobEnqueueManyParams { jobs, now: t })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    // Of the eight on `default`: two complete, one retryable, two dead, two stay running, one
    // stays available (cancelled below).
    let got = fetch(&store, "default", 7, t).await;
    let mut dead = Vec::new();
    for (i, j) in got.iter().enumerate() {
        let outcome = match i {
            0 | 1 => AckOutcome::Complete,
            2 => AckOutcome::Retry {
                at: plus(t, 600),
                error: err(1, t, "SMTP 451: try again later", true),
            },
            3 | 4 => {
                dead.push(j.id);
                AckOutcome::Dead {
                    error: err(
                        1,
                        t,
                        "SMTP 550: mailbox <unknown@example.com> does not exist",
                        false,
                    ),
                }
            }
            _ => continue, // stays running
        };
        ack(&store, j, outcome, t).await;
    }
    // One cancelled; then the one the text search finds, available.
    let left = store
        .job_list(anp_core::store::JobListParams {
            states: vec![JobState::Available],
            queue: None,
            kind: None,
            before: None,
            limit: 10,
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    if let Some(j) = left.first() {
        store
            .job_cancel(j.id, t)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let mut needle = new_job("email.send", "default", 0);
    needle.args =
        Args::from_json(r#"{"to":"needle@example.com"}"#).unwrap_or_else(|e| panic!("{e}"));
    let available = needle.id;
    store
        .job_enqueue_many(JobEnqueueManyParams {
            jobs: vec![needle],
            now: t,
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut def = anp_conformance::schedule::def("nightly-report", "0 3 * * *");
    def.tz = "Europe/Paris".into();
    store
        .schedule_sync(ScheduleSyncParams {
            defs: vec![def.clone()],
            now: t,
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    store
        .schedule_trigger(ScheduleTriggerParams {
            name: def.name.clone(),
            now: t,
            by: "seed".into(),
            log_max: 100,
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    store
        .deploy_mark(DeployMarker {
            at: t
                .checked_sub(jiff::SignedDuration::from_secs(600))
                .unwrap_or(t),
            version: "v2.7.0".into(),
            owner: Some("payments-team".into()),
            rollback: Some("deploy v2.6.3".into()),
            note: Some("new mailer".into()),
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(dead.len(), 2, "seeding made two dead jobs");
    Seeded {
        store,
        dead,
        available,
    }
}

/// The state of a job in the store.
/// Finds the element and clicks it.
async fn click(b: &fantoccini::Client, at: Locator<'_>) {
    b.find(at)
        .await
        .unwrap_or_else(|e| panic!("{at:?}: {e}"))
        .click()
        .await
        .unwrap_or_else(|e| panic!("{at:?}: {e}"));
}

async fn state(s: &SqliteStore, id: JobId) -> JobState {
    s.job_get(id).await.unwrap_or_else(|e| panic!("{e}")).state
}

/// A session cookie and CSRF token got over plain HTTP (the login form, then a page's form).
async fn http_session(base: &str) -> (String, String) {
    let c = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let r = c
        .post(format!("{base}/login"))
        .form(&[("token", TOKEN)])
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 303);
    let set = r
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("no session cookie"))
        .to_owned();
    assert!(set.contains("HttpOnly"), "{set}");
    assert!(set.contains("SameSite=Strict"), "{set}");
    assert!(
        !set.contains(TOKEN),
        "the cookie must not carry the token: {set}"
    );
    let cookie = set.split(';').next().unwrap_or_default().to_owned();
    let page = c
        .get(format!("{base}/queues"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .text()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let csrf = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap_or_else(|| panic!("no csrf field in {page}"))
        .to_owned();
    (cookie, csrf)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_in_a_real_browser() {
    let started = std::time::Instant::now();
    let (Some(chromium), Some(driver_bin)) = (on_path("chromium"), on_path("chromedriver")) else {
        if std::env::var_os("ANP_REQUIRE_BROWSER").is_some() {
            panic!("ANP_REQUIRE_BROWSER is set but chromium or chromedriver is not on PATH: apt-get install -y chromium chromium-driver");
        }
        eprintln!("SKIPPED dashboard_in_a_real_browser: chromium or chromedriver not on PATH (apt-get install -y chromium chromium-driver; set ANP_REQUIRE_BROWSER=1 to make this a failure)");
        return;
    };
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let db = dir.path().join("anp.db");
    let seeded = seed(&db).await;
    // A config naming the example HTTP cache rules file: the cache page shows its rules with
    // their examples checked.
    let rules = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/cache.toml");
    std::fs::copy(rules, dir.path().join("cache.toml")).unwrap_or_else(|e| panic!("{e}"));
    let config = dir.path().join("anp.toml");
    std::fs::write(&config, "[http_cache]\nrules = \"cache.toml\"\n")
        .unwrap_or_else(|e| panic!("{e}"));
    let config = config.display().to_string();
    let (_server, origin) = serve(
        &db,
        &[
            "--base-path",
            "/ops",
            "--live-interval",
            "500ms",
            "--config",
            &config,
        ],
    )
    .await;
    let base = format!("{origin}/ops");

    // Refused actions, over plain HTTP: without a session, and with a session but no CSRF token.
    let victim = seeded.available;
    let c = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let r = c
        .post(format!("{base}/ui/jobs/{victim}/cancel"))
        .form(&[("csrf", "x")])
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 403);
    let (cookie, csrf) = http_session(&base).await;
    let r = c
        .post(format!("{base}/ui/jobs/{victim}/cancel"))
        .header("cookie", &cookie)
        .form(&[("other", "1")])
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 403);
    let r = c
        .post(format!("{base}/ui/jobs/{victim}/cancel"))
        .header("cookie", &cookie)
        .form(&[("csrf", &format!("{csrf}0")[..])])
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 403);
    let r = c
        .post(format!("{base}/ui/jobs/{victim}/cancel"))
        .form(&[("csrf", &csrf[..])])
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 403, "a CSRF token without its session cookie");
    assert_eq!(state(&seeded.store, victim).await, JobState::Available);
    // The page headers.
    let r = c.get(&base).send().await.unwrap_or_else(|e| panic!("{e}"));
    let csp = r
        .headers()
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert_eq!(
        r.headers().get("x-frame-options").map(|v| v.as_bytes()),
        Some(&b"DENY"[..])
    );

    // The browser.
    let port = free_port();
    let _driver = Driver(
        Command::new(&driver_bin)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{}: {e}", driver_bin.display())),
    );
    let webdriver = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let mut ready = false;
    for _ in 0..400 {
        if let Ok(r) = http.get(format!("{webdriver}/status")).send().await {
            if r.status().is_success() {
                ready = true;
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(ready, "chromedriver did not start");
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": chromium.display().to_string(),
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                     "--disable-dev-shm-usage", "--window-size=1280,1000"]
        }),
    );
    let b = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&webdriver)
        .await
        .unwrap_or_else(|e| panic!("cannot start chromium through chromedriver: {e}"));
    let shots = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/dashboard-screenshots");
    std::fs::create_dir_all(&shots).unwrap_or_else(|e| panic!("{e}"));

    // Loads a page, waits for the script, checks it collected no error, takes a screenshot.
    let visit = |path: String, name: &'static str| {
        let (b, base, shots) = (b.clone(), base.clone(), shots.clone());
        async move {
            b.goto(&format!("{base}{path}"))
                .await
                .unwrap_or_else(|e| panic!("{path}: {e}"));
            b.wait()
                .for_element(Locator::Css("body[data-ready]"))
                .await
                .unwrap_or_else(|e| panic!("{path}: the script did not run: {e}"));
            let errors = b
                .execute("return window.__anpErrors;", vec![])
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(errors, serde_json::json!([]), "{path}: script errors");
            let png = b.screenshot().await.unwrap_or_else(|e| panic!("{e}"));
            std::fs::write(shots.join(format!("{name}.png")), png)
                .unwrap_or_else(|e| panic!("{e}"));
        }
    };

    // Read-only pages.
    visit("/".into(), "overview").await;
    let marker = b
        .find(Locator::Css("svg .deploy-marker title"))
        .await
        .unwrap_or_else(|e| panic!("the overview draws no deploy marker: {e}"));
    let hover = marker.html(true).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(
        hover.contains("v2.7.0")
            && hover.contains("payments-team")
            && hover.contains("deploy v2.6.3"),
        "{hover}"
    );
    visit("/queues".into(), "queues").await;
    visit("/jobs".into(), "jobs").await;
    visit("/jobs?q=needle".into(), "jobs-search").await;
    let found = b
        .find_all(Locator::Css("a.job-link"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        found.len(),
        1,
        "text search finds the one job whose args mention it"
    );
    visit(format!("/jobs/{}", seeded.dead[0]), "job-dead").await;
    visit("/schedules".into(), "schedules").await;
    visit("/schedules/nightly-report".into(), "schedule").await;
    visit("/workers".into(), "workers").await;
    visit("/deploys".into(), "deploys").await;
    visit("/cache".into(), "cache").await;
    let cache = b.source().await.unwrap_or_else(|e| panic!("{e}"));
    assert!(
        cache.contains("cache.toml")
            && cache.contains("account")
            && cache.contains("must bypass: <code>GET /account</code>")
            && !cache.contains("FAILS"),
        "the cache page lists the rules file's rules with their examples, all holding: {cache}"
    );

    // Sign in through the form.
    visit("/login".into(), "login").await;
    b.find(Locator::Id("token"))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .send_keys(TOKEN)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    click(&b, Locator::Css("form.login button")).await;
    b.wait()
        .for_element(Locator::Css("header .session button"))
        .await
        .unwrap_or_else(|e| panic!("sign-in did not start a session: {e}"));

    // Retry a dead job from its page.
    let dead = seeded.dead[0];
    visit(format!("/jobs/{dead}"), "job-dead-signed-in").await;
    click(&b, Locator::Id("retry")).await;
    b.wait()
        .for_element(Locator::Css("#job-state.state-available"))
        .await
        .unwrap_or_else(|e| panic!("the page does not show the job available: {e}"));
    assert_eq!(state(&seeded.store, dead).await, JobState::Available);

    // Bulk retry: a confirmation page with the count first; nothing changes until confirmed.
    visit("/jobs?state=dead".into(), "jobs-dead").await;
    click(&b, Locator::Id("bulk-retry")).await;
    let confirm = b
        .wait()
        .for_element(Locator::Id("confirm-count"))
        .await
        .unwrap_or_else(|e| panic!("no confirmation page: {e}"));
    let text = confirm.text().await.unwrap_or_else(|e| panic!("{e}"));
    assert!(text.contains("1 dead job "), "{text}");
    let shot = b.screenshot().await.unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(shots.join("confirm-retry-dead.png"), shot).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(state(&seeded.store, seeded.dead[1]).await, JobState::Dead);
    click(&b, Locator::Id("confirm")).await;
    b.wait()
        .for_element(Locator::Css("p.notice"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        state(&seeded.store, seeded.dead[1]).await,
        JobState::Available
    );

    // An API action (bearer token) is audited too.
    let r = c
        .post(format!("{base}/api/queues/reports/pause"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 200);

    // The audit page lists the actions with who took them.
    visit("/audit".into(), "audit").await;
    let audit = b.source().await.unwrap_or_else(|e| panic!("{e}"));
    assert!(
        audit.contains("dashboard session")
            && audit.contains("job retry")
            && audit.contains("retry dead jobs"),
        "audit page lacks the actions"
    );

    // Narrow screen.
    b.set_window_size(360, 800)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    visit("/".into(), "overview-360px").await;
    let wide = b
        .execute(
            "return document.documentElement.scrollWidth <= window.innerWidth + 1;",
            vec![],
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        wide,
        serde_json::json!(true),
        "the overview scrolls sideways at 360 px"
    );

    b.close().await.unwrap_or_else(|e| panic!("{e}"));
    eprintln!(
        "dashboard_in_a_real_browser: {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

/// However many clients poll at once, the live snapshot reads the store once per interval
/// (here an interval longer than the test: exactly one read, counted by the server).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_clients_share_one_store_read_per_interval() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let db = dir.path().join("anp.db");
    let _seeded = seed(&db).await;
    let (_server, base) = serve(&db, &["--live-interval", "1h"]).await;
    let c = reqwest::Client::new();
    let mut tasks = Vec::new();
    for i in 0..24 {
        let (c, base) = (c.clone(), base.clone());
        tasks.push(tokio::spawn(async move {
            let path = if i % 3 == 0 { "/" } else { "/ui/live.json" };
            let r = c
                .get(format!("{base}{path}"))
                .send()
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(r.status(), 200, "{path}");
        }));
    }
    for t in tasks {
        t.await.unwrap_or_else(|e| panic!("{e}"));
    }
    let v: serde_json::Value = c
        .get(format!("{base}/ui/live.json"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .json()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(v["store_reads"], 1, "{v}");
    assert!(
        v["values"]["deploy"]
            .as_str()
            .unwrap_or_default()
            .contains("v2.7.0"),
        "{v}"
    );
}
