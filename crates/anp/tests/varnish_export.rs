//! `anp cache rules check|explain|export` as a user types them, and the exported VCL loaded
//! into a real `varnishd` in front of a test app, replaying every example of
//! `examples/cache.toml`: the same HIT / BYPASS decisions as `Rules::decide`, and as a real
//! `anp proxy` with the same rules in front of the same app.
//!
//! The Varnish test needs Debian's `varnish` and `varnish-modules` (xkey). Without `varnishd`
//! it is skipped with a message, unless `ANP_REQUIRE_VARNISH` is set (CI sets it), where a
//! missing `varnishd` fails it.

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anp_http::rules::Rules;
use anp_http::{Decide, Decision};
use assert_cmd::Command;
use serde_json::Value;

fn example_rules() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/cache.toml")
}

/// Runs `anp ARGS…` in `dir`; returns (exit code, stdout, stderr).
fn anp(dir: &Path, args: &[&str], env: &[(&str, &Path)]) -> (i32, String, String) {
    let mut cmd = Command::cargo_bin("anp").unwrap_or_else(|e| panic!("{e}"));
    cmd.env_remove("ANP_CONFIG")
        .env_remove("ANP_STORE")
        .current_dir(dir)
        .args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap_or_else(|e| panic!("{e}"));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap_or_else(|e| panic!("{e}"));
    p
}

const RULE: &str = r#"[bypass]
session_cookies = ["session"]
[defaults]
deploy_tag = "deploy"
[[rule]]
name = "pages"
owner = "web"
expected = "hits"
rollback = "remove it"
action = "cache"
edge_ttl = "1m"
tags = ["deploy"]
"#;

#[test]
fn rules_check_explain_and_export_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let d = dir.path();
    let example = example_rules();
    let example = example.to_str().unwrap_or_else(|| panic!("path"));

    // The example file: every example holds, no lint.
    let (code, out, err) = anp(
        d,
        &["cache", "rules", "check", "--strict", "--rules", example],
        &[],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("ok: every example holds, no lint findings"),
        "{out}"
    );

    // A failing example: exit 8, naming the rule and the example.
    let bad = write(
        d,
        "bad.toml",
        &format!("{RULE}should_bypass = [\"GET /page\"]\n"),
    );
    let (code, out, _) = anp(
        d,
        &[
            "cache",
            "rules",
            "check",
            "--rules",
            bad.to_str().unwrap_or(""),
        ],
        &[],
    );
    assert_eq!(code, 8, "{out}");
    assert!(out.contains("bad.toml:13: rule \"pages\": should_bypass example \"GET /page\" should bypass the cache, but rule \"pages\" caches it"), "{out}");

    // Lints are warnings (exit 0), errors with --strict (exit 8); the config names the file.
    write(
        d,
        "cache.toml",
        &RULE.replace("[bypass]\nsession_cookies = [\"session\"]\n", ""),
    );
    let (code, out, _) = anp(d, &["cache", "rules", "check"], &[]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("warning cache.toml:1: bypass.session_cookies is empty"),
        "{out}"
    );
    let conf = write(d, "anp.toml", "[http_cache]\nrules = \"cache.toml\"\n");
    let (code, out, _) = anp(
        d,
        &["--json", "cache", "rules", "check", "--strict"],
        &[("ANP_CONFIG", &conf)],
    );
    assert_eq!(code, 8, "{out}");
    let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(v["ok"], false);
    assert!(
        v["file"].as_str().unwrap_or("").ends_with("cache.toml"),
        "{v}"
    );
    let kinds: Vec<&str> = v["lints"]
        .as_array()
        .map(|l| l.iter().filter_map(|x| x["kind"].as_str()).collect())
        .unwrap_or_default();
    assert!(
        kinds.contains(&"no_session_bypass") && kinds.contains(&"logged_in_path"),
        "{v}"
    );

    // An invalid file: exit 2, file:line:rule on stderr. A missing one: exit 4.
    let invalid = write(d, "invalid.toml", &format!("{RULE}edge_tll = \"1h\"\n"));
    let (code, _, err) = anp(
        d,
        &[
            "cache",
            "rules",
            "check",
            "--rules",
            invalid.to_str().unwrap_or(""),
        ],
        &[],
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("invalid.toml:13: rule \"pages\": unknown field `edge_tll`"),
        "{err}"
    );
    let (code, _, err) = anp(d, &["cache", "rules", "check", "--rules", "nope.toml"], &[]);
    assert_eq!(code, 4, "{err}");

    // explain: the rule, the key without the cookie's value, owner/expected/rollback.
    let (code, out, err) = anp(
        d,
        &[
            "--json",
            "cache",
            "rules",
            "explain",
            "GET",
            "https://www.example.com/blog/a",
            "--header",
            "Cookie: theme=dark",
            "--rules",
            example,
        ],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(v["decision"], "cache");
    assert_eq!(v["rule"], "public-html");
    assert_eq!(v["key"], "GET|www.example.com|/blog/a|?");
    assert_eq!(v["matched_rule"]["owner"], "web-platform");
    assert_eq!(
        v["steps"][0]["why"][0],
        "path `/blog/a` does not match `/assets/**`"
    );
    let (_, out, _) = anp(
        d,
        &[
            "cache",
            "rules",
            "explain",
            "GET",
            "https://www.example.com/blog/a",
            "-H",
            "Cookie: session=1",
            "--rules",
            example,
        ],
        &[],
    );
    assert!(
        out.contains("built-in bypass bypass.session_cookies: cookie `session` is present"),
        "{out}"
    );
    assert!(
        out.contains("decision: BYPASS by bypass.session_cookies"),
        "{out}"
    );

    // export: Cloudflare JSON; Varnish with the backend given.
    let (code, out, _) = anp(
        d,
        &[
            "cache",
            "rules",
            "export",
            "--format",
            "cloudflare",
            "--rules",
            example,
        ],
        &[],
    );
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(v["phase"], "http_request_cache_settings");
    let (code, out, _) = anp(
        d,
        &[
            "cache",
            "rules",
            "export",
            "--format",
            "varnish",
            "--backend",
            "10.1.2.3:8081",
            "--rules",
            example,
        ],
        &[],
    );
    assert_eq!(code, 0);
    assert!(out.contains(".host = \"10.1.2.3\";"), "{out}");
    let (code, _, err) = anp(
        d,
        &[
            "cache",
            "rules",
            "export",
            "--format",
            "varnish",
            "--backend",
            "nope",
            "--rules",
            example,
        ],
        &[],
    );
    assert_eq!(code, 2, "{err}");
}

/// Kills varnishd's process group when the test ends, also on a panic.
struct Varnishd(Child);

impl Drop for Varnishd {
    fn drop(&mut self) {
        let pid = nix::unistd::Pid::from_raw(self.0.id() as i32);
        let _ = nix::sys::signal::killpg(pid, nix::sys::signal::Signal::SIGKILL);
        let _ = self.0.wait();
    }
}

/// A child process killed (and reaped) when the test ends, also on a panic.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    l.local_addr().unwrap_or_else(|e| panic!("{e}")).port()
}

/// `varnishd` on PATH, else Debian's `/usr/sbin/varnishd` (not on a user's PATH).
fn varnishd() -> Option<PathBuf> {
    ["varnishd", "/usr/sbin/varnishd"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| {
            std::process::Command::new(p)
                .arg("-V")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
}

/// Sends an example through varnish: (status, `X-Cache`, `X-Cache-Rule`).
async fn send(
    client: &reqwest::Client,
    base: &str,
    e: &anp_http::rules::Example,
) -> (u16, String, String) {
    let method = reqwest::Method::from_bytes(e.method.as_str().as_bytes())
        .unwrap_or_else(|err| panic!("{err}"));
    let mut r = client.request(method, format!("{base}{}", e.uri));
    for (k, v) in &e.headers {
        r = r.header(k.as_str(), v.as_bytes());
    }
    let resp = r
        .send()
        .await
        .unwrap_or_else(|err| panic!("{}: {err}", e.text));
    let get = |h: &str| {
        resp.headers()
            .get(h)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let out = (resp.status().as_u16(), get("x-cache"), get("x-cache-rule"));
    let _ = resp.bytes().await;
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exported_vcl_in_varnishd_makes_the_same_decisions_as_the_rules() {
    let Some(varnishd_bin) = varnishd() else {
        if std::env::var_os("ANP_REQUIRE_VARNISH").is_some() {
            panic!("varnishd is not installed but ANP_REQUIRE_VARNISH is set: apt-get install varnish varnish-modules");
        }
        eprintln!("SKIPPED: varnishd is not installed (apt-get install varnish varnish-modules); set ANP_REQUIRE_VARNISH=1 to make this a failure");
        return;
    };
    let rules = Rules::load(&example_rules()).unwrap_or_else(|e| panic!("{e}"));

    // The upstream: 200 and a body for every request, counted.
    let hits = Arc::new(AtomicU64::new(0));
    let counter = hits.clone();
    let app = axum::Router::new().fallback(move |uri: axum::http::Uri| {
        let counter = counter.clone();
        async move {
            counter.fetch_add(1, Ordering::SeqCst);
            format!("page {uri}\n")
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let upstream = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });

    // The VCL, exported by the command line for this upstream.
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let example = example_rules();
    let (code, vcl, err) = anp(
        dir.path(),
        &[
            "cache",
            "rules",
            "export",
            "--format",
            "varnish",
            "--backend",
            &upstream.to_string(),
            "--rules",
            example.to_str().unwrap_or(""),
        ],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    let vcl_path = write(dir.path(), "exported.vcl", &vcl);

    // varnishd in the foreground, in its own process group; `-j none` runs it as whoever we
    // are (root in CI) without its jail users.
    let port = free_port();
    let mut cmd = std::process::Command::new(&varnishd_bin);
    cmd.arg("-F")
        .args(["-j", "none"])
        .args(["-a", &format!("127.0.0.1:{port}")])
        .arg("-f")
        .arg(&vcl_path)
        .arg("-n")
        .arg(dir.path().join("varnish"))
        .args(["-s", "malloc,16m"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start varnishd: {e}"));
    let mut varnishd = Varnishd(child);

    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let base = format!("http://127.0.0.1:{port}");
    // Compiling the VCL takes a few seconds on a loaded machine: poll, generous deadline.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Ok(r) = client.get(format!("{base}/ready")).send().await {
            if r.headers().contains_key("x-cache") {
                break;
            }
        }
        if let Ok(Some(status)) = varnishd.0.try_wait() {
            let mut err = String::new();
            if let Some(mut e) = varnishd.0.stderr.take() {
                let _ = std::io::Read::read_to_string(&mut e, &mut err);
            }
            panic!("varnishd exited ({status}) before answering:\n{err}");
        }
        assert!(
            Instant::now() < deadline,
            "varnishd did not answer within 120 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let mut replayed = 0;
    for rule in rules.rules() {
        for e in rule.should_cache.iter().chain(&rule.should_bypass) {
            let decision = rules.decide(&e.method, &e.uri, &e.headers);
            let (status, first, _) = send(&client, &base, e).await;
            assert_eq!(status, 200, "{}: first request", e.text);
            let before = hits.load(Ordering::SeqCst);
            let (status, second, by) = send(&client, &base, e).await;
            assert_eq!(status, 200, "{}: second request", e.text);
            let upstream_calls = hits.load(Ordering::SeqCst) - before;
            match &decision {
                Decision::Cache(c) => {
                    assert_eq!(
                        second, "HIT",
                        "{}: rules cache it (rule {}), varnish said {second}",
                        e.text, c.rule
                    );
                    assert_eq!(by, c.rule, "{}: decided by another rule in varnish", e.text);
                    assert_eq!(upstream_calls, 0, "{}: a HIT reached the upstream", e.text);
                }
                Decision::Bypass(b) => {
                    assert_eq!(first, "BYPASS", "{}: rules bypass it ({b:?})", e.text);
                    assert_eq!(second, "BYPASS", "{}: rules bypass it ({b:?})", e.text);
                    assert_eq!(
                        upstream_calls, 1,
                        "{}: a bypass must reach the upstream each time",
                        e.text
                    );
                }
            }
            replayed += 1;
        }
    }
    assert!(replayed >= 20, "only {replayed} examples replayed");

    // The same examples through a real `anp proxy` with the same rules, in front of the same
    // app: the same HIT / BYPASS answers as varnishd gave, and the same upstream calls.
    let proxy_port = free_port();
    let health_port = free_port();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_anp"));
    cmd.current_dir(dir.path())
        .env_remove("ANP_CONFIG")
        .env_remove("ANP_STORE")
        .arg("--store")
        .arg(format!(
            "sqlite://{}",
            dir.path().join("proxy.db").display()
        ))
        .args(["proxy", "--upstream", &format!("http://{upstream}")])
        .args(["--bind", &format!("127.0.0.1:{proxy_port}")])
        .args(["--metrics-bind", &format!("127.0.0.1:{health_port}")])
        .arg("--rules")
        .arg(&example)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let _proxy = Killed(cmd.spawn().unwrap_or_else(|e| panic!("anp proxy: {e}")));
    let deadline = Instant::now() + Duration::from_secs(60);
    while !client
        .get(format!("http://127.0.0.1:{health_port}/healthz"))
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        assert!(Instant::now() < deadline, "anp proxy did not come up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let proxy = format!("http://127.0.0.1:{proxy_port}");
    for rule in rules.rules() {
        for e in rule.should_cache.iter().chain(&rule.should_bypass) {
            let cached = matches!(
                rules.decide(&e.method, &e.uri, &e.headers),
                Decision::Cache(_)
            );
            let (status, first, _) = send(&client, &proxy, e).await;
            assert_eq!(status, 200, "{}: first request through anp proxy", e.text);
            let before = hits.load(Ordering::SeqCst);
            let (_, second, _) = send(&client, &proxy, e).await;
            let upstream_calls = hits.load(Ordering::SeqCst) - before;
            // A cached example's first answer may already be a HIT: an earlier example can
            // share its key (HEAD and GET do).
            let (want_first, want_second, want_calls) = if cached {
                (if first == "HIT" { "HIT" } else { "MISS" }, "HIT", 0)
            } else {
                ("BYPASS", "BYPASS", 1)
            };
            assert_eq!(
                (first.as_str(), second.as_str(), upstream_calls),
                (want_first, want_second, want_calls),
                "{}: anp proxy answered {first} then {second} ({upstream_calls} upstream call(s)), where varnishd answered {want_second} the second time",
                e.text
            );
        }
    }

    // A tag purge through xkey: the assets are fetched again, the pages are not.
    let purge = client
        .request(
            reqwest::Method::from_bytes(b"PURGE").unwrap_or_else(|e| panic!("{e}")),
            format!("{base}/"),
        )
        .header("xkey-purge", "assets")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(purge.status().as_u16(), 200);
    let asset = anp_http::rules::Example::parse("GET /assets/app.3f9c.js", "example.com")
        .unwrap_or_else(|e| panic!("{e}"));
    let page = anp_http::rules::Example::parse("GET /", "www.example.com")
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(send(&client, &base, &asset).await.1, "MISS");
    assert_eq!(send(&client, &base, &page).await.1, "HIT");
}
