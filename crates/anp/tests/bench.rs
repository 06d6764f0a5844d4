//! `anp bench`: a tiny run of every phase against a fresh SQLite file prints the workload's JSON
//! keys and leaves no job behind; bad input exits 2.

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

    // Every bench job was deleted: the store lists no queue.
    let out = anp()
        .args(["--store", &url, "--json", "queues"])
        .output()
        .unwrap_or_else(|e| panic!("run anp queues: {e}"));
    let queues: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("anp queues --json: {e}"));
    assert_eq!(queues, serde_json::json!([]), "jobs left behind");
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
