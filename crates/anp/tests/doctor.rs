//! `anp doctor` against real stores: a SQLite file (permissions, durability, exit codes) and a
//! private `redis-server` on a free port (clock skew measured with `TIME`, the settings that
//! lose jobs). Never the shared Redis on 127.0.0.1:6379.

#[path = "../../anp-redis/tests/common/mod.rs"]
mod common;

use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};

use serde_json::Value;

use common::RedisServer;

/// `anp --store URL --json doctor` → (exit code, the JSON report).
fn doctor(url: &str) -> (i32, Value) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let out = Command::new(env!("CARGO_BIN_EXE_anp"))
        .args(["--store", url, "--json", "doctor"])
        .current_dir(dir.path())
        .env_remove("ANP_STORE")
        .env_remove("ANP_CONFIG")
        .env_remove("ANP_TOKEN")
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run anp: {e}"));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "doctor --json printed no JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), report)
}

/// The check named `name` of a report.
fn check<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["check"] == name))
        .unwrap_or_else(|| panic!("no {name:?} check in {report}"))
}

#[test]
fn sqlite_passes_then_flags_a_world_readable_file() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let db = dir.path().join("anp.db");
    let url = format!("sqlite://{}", db.display());
    // Doctor never creates the store it checks: a missing file is a finding (issue 13).
    let (code, report) = doctor(&url);
    assert_eq!(code, 8, "{report}");
    assert_eq!(check(&report, "store")["ok"], false, "{report}");
    assert!(!db.exists(), "doctor created {}", db.display());
    let made = Command::new(env!("CARGO_BIN_EXE_anp"))
        .args(["--store", &url, "enqueue", "seed"])
        .env_remove("ANP_CONFIG")
        .output()
        .unwrap_or_else(|e| panic!("cannot run anp: {e}"));
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let (code, report) = doctor(&url);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["ok"], true);
    assert_eq!(check(&report, "store")["ok"], true);
    assert_eq!(check(&report, "schema")["ok"], true);
    assert!(check(&report, "clock")["detail"]
        .as_str()
        .is_some_and(|d| d.contains("only clock")));

    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644))
        .unwrap_or_else(|e| panic!("{e}"));
    let (code, report) = doctor(&url);
    assert_eq!(
        code, 8,
        "a world-readable database needs attention: {report}"
    );
    assert_eq!(report["ok"], false);
    let failed: Vec<&Value> = report["checks"]
        .as_array()
        .map(|c| c.iter().filter(|c| c["ok"] == false).collect())
        .unwrap_or_default();
    assert_eq!(failed.len(), 1, "{report}");
    assert!(
        failed[0]["fix"]
            .as_str()
            .is_some_and(|f| f.contains("chmod")),
        "{report}"
    );
}

#[test]
fn redis_clock_skew_is_measured_and_lossy_settings_are_flagged() {
    let server = RedisServer::start();
    let (code, report) = doctor(&server.url());
    let clock = check(&report, "clock");
    assert_eq!(clock["ok"], true, "same host, same clock: {report}");
    let detail = clock["detail"].as_str().unwrap_or("");
    assert!(
        detail.contains("the store's server (redis)") && detail.contains(" ms "),
        "the skew is measured, not assumed: {detail}"
    );
    // The harness's server runs without persistence: doctor says so and what to do.
    let settings = check(&report, "redis settings");
    assert_eq!(settings["ok"], false, "{report}");
    let fix = settings["fix"].as_str().unwrap_or("");
    assert!(fix.contains("appendonly"), "{report}");
    // Only persistence is wrong here: no advice about the eviction policy (issue 13).
    assert!(!fix.contains("maxmemory"), "{report}");
    assert_eq!(code, 8);

    // With AOF on, nothing needs fixing.
    let server = RedisServer::start_with(&["--appendonly", "yes", "--appendfsync", "everysec"]);
    let (code, report) = doctor(&server.url());
    assert_eq!(code, 0, "{report}");
    assert_eq!(check(&report, "clock")["ok"], true);
}
