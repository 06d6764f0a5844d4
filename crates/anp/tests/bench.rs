//! `anp bench`: a tiny run of every phase against a fresh SQLite file prints the workload's JSON
//! keys, leaves no job of its own behind and another queue's job alone; so do tiny runs with
//! the scaling options (`--queues`, `--workers`, `--payload-bytes`), whose values the JSON
//! reports; bad input exits 2.

use assert_cmd::Command;

fn anp() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_anp"));
    c.env_remove("ANP_STORE").env_remove("ANP_CONFIG");
    c
}

#[test]
fn tiny_run_reports_every_figure_and_cleans_up() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    // A job of someone else's queue: the bench must leave it alone.
    let mine = anp()
        .args(["--store", &url, "enqueue", "greet", "--queue", "mine"])
        .output()
        .unwrap_or_else(|e| panic!("run anp enqueue: {e}"));
    assert!(
        mine.status.success(),
        "{}",
        String::from_utf8_lossy(&mine.stderr)
    );
    let out = anp()
        .args(["--store", &url, "--json", "bench", "--runs", "1"])
        .args([
            "--jobs",
            "300",
            "--single-jobs",
            "50",
            "--latency-jobs",
            "20",
        ])
        .args(["--rate", "200", "--concurrency", "10", "--timeout", "2m"])
        .output()
        .unwrap_or_else(|e| panic!("run anp bench: {e}"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "anp bench failed: {stderr}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not one JSON value ({e}): {stderr}"));
    assert_eq!(v["store"], serde_json::json!(url));
    for key in [
        "enqueue_per_s",
        "enqueue_single_per_s",
        "process_per_s",
        "latency_p50_ms",
        "latency_p99_ms",
        "peak_rss_mib",
    ] {
        let x = v[key]
            .as_f64()
            .unwrap_or_else(|| panic!("{key} missing in {v}"));
        assert!(x > 0.0, "{key} = {x}");
    }
    assert_eq!(v["runs"]["each"].as_array().map(Vec::len), Some(1));

    // Every bench job was deleted and the other queue's job kept: the store lists only it.
    let out = anp()
        .args(["--store", &url, "--json", "queues"])
        .output()
        .unwrap_or_else(|e| panic!("run anp queues: {e}"));
    let queues: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("anp queues --json: {e}"));
    let listed: Vec<_> = queues
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {queues}"))
        .iter()
        .map(|q| (q["queue"].clone(), q["counts"]["available"].clone()))
        .collect();
    assert_eq!(
        listed,
        vec![(serde_json::json!("mine"), serde_json::json!(1))],
        "bench jobs left behind, or another queue's job touched: {queues}"
    );
}

#[test]
fn bad_input_exits_2() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    for args in [
        vec!["--store", url.as_str(), "bench", "--jobs", "0"],
        vec!["--store", url.as_str(), "bench", "--phase", "A,D"],
        vec!["--store", "nosuch://x", "bench"],
        vec!["bench"],
    ] {
        let out = anp()
            .args(&args)
            .output()
            .unwrap_or_else(|e| panic!("run anp: {e}"));
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("expected"), "{args:?}: {stderr}");
    }
}

/// Runs `anp --json bench <args>` against `url` and returns its JSON.
fn bench_json(url: &str, args: &[&str]) -> serde_json::Value {
    let out = anp()
        .args([
            "--store",
            url,
            "--json",
            "bench",
            "--runs",
            "1",
            "--timeout",
            "2m",
        ])
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("run anp bench: {e}"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "anp bench {args:?} failed: {stderr}");
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not one JSON value ({e}): {stderr}"))
}

/// The store lists no queue: every bench job was deleted (or the bench refused its input
/// before it created the store: `anp queues` then finds no store, exit 4, and none is made).
fn assert_no_queue_left(url: &str) {
    let out = anp()
        .args(["--store", url, "--json", "queues"])
        .output()
        .unwrap_or_else(|e| panic!("run anp queues: {e}"));
    let queues: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("anp queues --json: {e}"));
    if out.status.code() == Some(4) {
        assert_eq!(queues["error"]["kind"], "not_found", "{queues}");
        return;
    }
    assert_eq!(queues, serde_json::json!([]), "jobs left behind");
}

fn positive(v: &serde_json::Value, key: &str) -> f64 {
    let x = v[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} missing in {v}"));
    assert!(x > 0.0, "{key} = {x}");
    x
}

#[test]
fn three_queues_spread_jobs_and_are_all_deleted() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let v = bench_json(
        &url,
        &[
            "--queues",
            "3",
            "--jobs",
            "300",
            "--single-jobs",
            "30",
            "--latency-jobs",
            "20",
            "--rate",
            "200",
            "--concurrency",
            "10",
        ],
    );
    for key in [
        "enqueue_per_s",
        "enqueue_single_per_s",
        "process_per_s",
        "latency_p50_ms",
        "peak_rss_mib",
    ] {
        positive(&v, key);
    }
    assert_eq!(v["runs"]["queues"], 3, "{v}");
    assert_eq!(v["runs"]["workers"], 1, "{v}");
    assert_eq!(v["runs"]["total_concurrency"], 10, "{v}");
    assert_eq!(v["runs"]["payload_bytes"], serde_json::Value::Null, "{v}");
    // The workload's own args, {"i":0} .. {"i":299} (and the warm-up {"i":-1}).
    assert_eq!(
        v["runs"]["args_bytes"],
        serde_json::json!({"min": 7, "max": 9}),
        "{v}"
    );
    assert_no_queue_left(&url);
}

#[test]
fn two_workers_share_the_backlog() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let v = bench_json(
        &url,
        &[
            "--workers",
            "2",
            "--phase",
            "B,C",
            "--jobs",
            "300",
            "--latency-jobs",
            "20",
            "--rate",
            "200",
            "--concurrency",
            "5",
        ],
    );
    positive(&v, "process_per_s");
    positive(&v, "latency_p50_ms");
    let peak = positive(&v, "peak_rss_mib");
    let sum = positive(&v, "peak_rss_sum_mib");
    assert!(sum >= peak, "sum {sum} < largest {peak}");
    let each = v["runs"]["each"][0]["peak_rss_each_mib"]
        .as_array()
        .map(Vec::len);
    assert_eq!(each, Some(2), "{v}");
    assert_eq!(v["runs"]["workers"], 2, "{v}");
    assert_eq!(v["runs"]["total_concurrency"], 10, "{v}");
    assert_eq!(
        v["enqueue_per_s"],
        serde_json::Value::Null,
        "A was not run: {v}"
    );
    assert_no_queue_left(&url);
}

#[test]
fn payload_pads_args_to_the_size_asked() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let v = bench_json(
        &url,
        &[
            "--payload-bytes",
            "10240",
            "--phase",
            "A,B",
            "--jobs",
            "200",
            "--concurrency",
            "10",
        ],
    );
    positive(&v, "enqueue_per_s");
    positive(&v, "process_per_s");
    assert_eq!(v["runs"]["payload_bytes"], 10240, "{v}");
    assert_eq!(
        v["runs"]["args_bytes"],
        serde_json::json!({"min": 10240, "max": 10240}),
        "{v}"
    );
    assert_eq!(v["runs"]["batch_effective"], 5000, "{v}");
    assert_no_queue_left(&url);
}

#[test]
fn bad_scaling_values_exit_2_saying_what_was_expected() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    for (args, expected) in [
        (
            vec!["--queues", "0"],
            "--queues: 0 is out of range: expected 1-1000",
        ),
        (vec!["--queues", "1001"], "expected 1-1000"),
        (
            vec!["--workers", "0"],
            "--workers: 0 is out of range: expected 1-16",
        ),
        (vec!["--workers", "17"], "expected 1-16"),
        (vec!["--payload-bytes", "10"], "expected 32-1048576"),
        (vec!["--payload-bytes", "1048577"], "expected 32-1048576"),
        (
            vec!["--queues", "many"],
            "invalid value 'many' for '--queues <N>'",
        ),
        (
            vec!["--workers=-1"],
            "invalid value '-1' for '--workers <N>'",
        ),
    ] {
        let out = anp()
            .args(["--store", url.as_str(), "bench"])
            .args(&args)
            .output()
            .unwrap_or_else(|e| panic!("run anp: {e}"));
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
    // Nothing was created: the checks come before any store write.
    assert_no_queue_left(&url);
}

/// An `anp bench --json` result as the plots read it: the figures and the options in `runs`.
fn result(backend: &str, queues: u64, jobs: u64, process: f64, rss: f64) -> serde_json::Value {
    serde_json::json!({
        "store": "sqlite:///tmp/x.db",
        "process_per_s": process,
        "peak_rss_mib": rss,
        "enqueue_per_s": null,
        "runs": {
            "backend": backend, "jobs": jobs, "queues": queues, "workers": 1,
            "concurrency": 50, "payload_bytes": null, "args_bytes": {"min": 7, "max": 11}
        }
    })
}

/// `--plots DIR --from …`: one chart per figure of each dimension that varies within one
/// store's results (here queues 1/10/100 and backlog 1,000/1,000,000 on SQLite), the peers'
/// points and the `NAME=` series on the same axes, labelled axes with units, log axes where
/// the values span decades; no store is needed. Files without a series are refused, saying
/// what was expected.
#[test]
fn plots_draw_each_scaling_series_with_the_peers() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let write = |name: &str, lines: &[serde_json::Value]| {
        let path = dir.path().join(name);
        let text: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
        std::fs::write(&path, text.join("\n")).unwrap_or_else(|e| panic!("write: {e}"));
        path.display().to_string()
    };
    let ours = write(
        "ours.jsonl",
        &[
            result("sqlite", 1, 50_000, 43_000.0, 14.5),
            result("sqlite", 10, 50_000, 41_000.0, 14.6),
            result("sqlite", 100, 50_000, 39_000.0, 14.9),
            result("sqlite", 1, 1_000, 23_000.0, 12.0),
            result("sqlite", 1, 1_000_000, 47_000.0, 15.0),
        ],
    );
    let before = write(
        "before.json",
        &[result("sqlite", 10, 50_000, 25_000.0, 14.6)],
    );
    let before_1 = write(
        "before1.json",
        &[result("sqlite", 1, 50_000, 43_000.0, 14.5)],
    );
    let peers = write(
        "peers.jsonl",
        &[
            serde_json::json!({"peer": "rust-apalis-sqlite", "version": "1.0.0", "workload": "B",
                "jobs": 100000, "per_s": 6181.0, "peak_rss_mib": 29.8, "backend": "sqlite",
                "concurrency": 50}),
            serde_json::json!({"peer": "rust-apalis-sqlite", "version": "1.0.0", "workload": "A",
                "jobs": 100000, "per_s": 50000.0, "backend": "sqlite", "error": null}),
        ],
    );
    let out_dir = dir.path().join("plots");
    let out = anp()
        .args(["--json", "bench", "--plots"])
        .arg(&out_dir)
        .args(["--from", &ours, "--from", &peers])
        .args(["--from", &format!("before={before}")])
        .args(["--from", &format!("before={before_1}")])
        .output()
        .unwrap_or_else(|e| panic!("run anp bench --plots: {e}"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "anp bench --plots failed: {stderr}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {stderr}"));
    let mut names: Vec<String> = v["plots"]
        .as_array()
        .unwrap_or_else(|| panic!("no plots in {v}"))
        .iter()
        .map(|p| {
            let p = std::path::PathBuf::from(p.as_str().unwrap_or_default());
            p.file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "backlog-b-process.svg",
            "backlog-b-rss.svg",
            "queues-b-process.svg",
            "queues-b-rss.svg"
        ]
    );
    let svg = |name: &str| {
        std::fs::read_to_string(out_dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
    };
    let queues = svg("queues-b-process.svg");
    assert!(queues.starts_with("<svg"), "{queues}");
    for text in [
        "B. process vs queues",
        "queues served by one worker (log scale)",
        "B: jobs processed per second",
        "alphanode sqlite",
        "before",
        "rust-apalis-sqlite 1.0.0 (sqlite) (peer)",
        "43,000",
    ] {
        assert!(
            queues.contains(text),
            "{text} missing in queues-b-process.svg"
        );
    }
    let backlog = svg("backlog-b-process.svg");
    assert!(
        backlog.contains("(log scale)") && !backlog.contains("before"),
        "the backlog chart is log-scaled and holds no series of one point"
    );
    assert!(svg("queues-b-rss.svg").contains("B: worker peak RSS (MiB)"));

    let lone = write("lone.json", &[result("sqlite", 1, 50_000, 43_000.0, 14.5)]);
    let out = anp()
        .args(["bench", "--plots"])
        .arg(&out_dir)
        .args(["--from", &lone])
        .output()
        .unwrap_or_else(|e| panic!("run anp bench --plots: {e}"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("no scaling series") && stderr.contains("--queues"),
        "{stderr}"
    );
}

/// `anp bench --proxy`: a tiny run through a real `anp proxy` reports every figure (each
/// answer was checked to be the HIT or BYPASS it measures, or the run fails) and 100 cold
/// requests coalesced into one upstream request.
#[test]
fn proxy_bench_reports_hit_bypass_rates_and_coalescing() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let url = format!("sqlite://{}", dir.path().join("proxy.db").display());
    let out = anp()
        .args(["--store", &url, "--json", "bench", "--proxy", "--runs", "1"])
        .args(["--concurrency", "4", "--proxy-seconds", "300ms"])
        .args(["--proxy-rates", "200"])
        .output()
        .unwrap_or_else(|e| panic!("run anp bench --proxy: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value =
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    for path in [
        "/hit_page",
        "/hit_asset",
        "/upstream_page",
        "/bypass_page",
        "/one_connection/hit",
        "/one_connection/bypass",
        "/rates/0/hit",
        "/rates/0/bypass",
    ] {
        let s = v
            .pointer(path)
            .unwrap_or_else(|| panic!("{path} missing: {v}"));
        for k in ["rps", "p50_ms", "p99_ms"] {
            let x = s[k].as_f64().unwrap_or(-1.0);
            assert!(x > 0.0, "{path}.{k} = {x}: {v}");
        }
    }
    assert_eq!(v["rates"][0]["offered"], 200, "{v}");
    assert_eq!(
        v["coalescing_upstream_requests"],
        serde_json::json!([1]),
        "{v}"
    );
    assert_eq!(v["l1"], true);
    assert!(v["proxy_rss_mib"].as_f64().unwrap_or(0.0) > 0.0, "{v}");
    // Bad input says what it expected.
    let bad = anp()
        .args(["--store", &url, "bench", "--proxy", "--proxy-seconds", "0s"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--proxy-seconds"));
}
