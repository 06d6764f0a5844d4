//! `anp cache …` and `anp deploy rollback` on a real SQLite file, as a user types them.

use assert_cmd::Command;
use serde_json::Value;

struct Store {
    dir: tempfile::TempDir,
}

impl Store {
    fn new() -> Store {
        Store {
            dir: tempfile::tempdir().unwrap_or_else(|e| panic!("{e}")),
        }
    }

    fn url(&self) -> String {
        format!("sqlite://{}", self.dir.path().join("anp.db").display())
    }

    /// Runs `anp --store URL ARGS…`; returns (exit code, stdout, stderr).
    fn anp(&self, args: &[&str]) -> (i32, String, String) {
        let out = Command::cargo_bin("anp")
            .unwrap_or_else(|e| panic!("{e}"))
            .env_remove("ANP_CONFIG")
            .env_remove("ANP_STORE")
            .current_dir(self.dir.path())
            .arg("--store")
            .arg(self.url())
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let (code, out, err) = self.anp(&all);
        assert_eq!(code, 0, "anp {args:?}: {err}{out}");
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
    }
}

#[test]
fn set_get_purge_by_key_tag_and_prefix() {
    let s = Store::new();
    s.json(&[
        "cache",
        "set",
        "post:1",
        r#"{"title":"a"}"#,
        "--tag",
        "post:1",
        "--ttl",
        "10m",
    ]);
    s.json(&["cache", "set", "post:2", r#""two""#, "--tag", "post:2"]);
    s.json(&["cache", "set", "other", "3"]);
    let got = s.json(&["cache", "get", "post:1"]);
    assert_eq!(got["value"], serde_json::json!({"title": "a"}));
    assert_eq!(got["state"], "fresh");
    assert_eq!(got["tags"], serde_json::json!(["post:1"]));

    // A tag purge makes the entry read as purged (and leaves the other tag's entry alone);
    // --count says how many entries it reached, counted before the purge: one, then none.
    s.json(&[
        "cache",
        "set",
        "post:1-b",
        "2",
        "--tag",
        "post:1",
        "--namespace",
        "b",
    ]);
    let purged = s.json(&["cache", "purge", "--tag", "post:1", "--count"]);
    assert_eq!(purged["what"], "tag");
    assert_eq!(purged["entries"], 2, "{purged}");
    assert_eq!(purged["exact"], true, "{purged}");
    assert_eq!(purged["scanned"], true, "{purged}");
    let (code, out, err) = s.anp(&["cache", "purge", "--tag", "post:1", "--count"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(": 0 entries invalidated"), "{out}");
    let (code, _, err) = s.anp(&["cache", "purge", "--key", "post:1", "--count"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--tag"), "{err}");
    let purged = s.json(&["cache", "purge", "--tag", "post:1"]);
    assert_eq!(purged["entries"], serde_json::Value::Null);
    assert_eq!(s.json(&["cache", "get", "post:1"])["state"], "purged");
    assert_eq!(s.json(&["cache", "get", "post:2"])["state"], "fresh");

    let p = s.json(&["cache", "purge", "--prefix", "post:"]);
    assert_eq!(p["entries"], 2);
    assert_eq!(p["scanned"], true);
    let (code, out, err) = s.anp(&["cache", "get", "post:2"]);
    assert_eq!(code, 4, "{out}{err}");
    assert!(err.contains("nothing stored under \"post:2\""), "{err}");
    assert_eq!(s.json(&["cache", "purge", "--key", "other"])["entries"], 1);
    assert_eq!(s.json(&["cache", "purge", "--key", "other"])["entries"], 0);
}

#[test]
fn bad_input_is_refused_with_the_rule() {
    let s = Store::new();
    let (code, _, err) = s.anp(&["cache", "set", "k", "not json"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("is not JSON"), "{err}");
    assert!(err.contains("'\"text\"' (with the quotes)"), "{err}");
    let (code, _, err) = s.anp(&["cache", "set", "k", "1", "--namespace", "Bad NS"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("[a-z0-9_.-]"), "{err}");
    let (code, _, err) = s.anp(&["cache", "purge"]);
    assert_eq!(code, 2, "{err}");
    let (code, out, _) = s.anp(&["--json", "cache", "set", "k", "1", "--ttl", "soon"]);
    assert_eq!(code, 2);
    let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert!(v["error"].is_object() || v["error"].is_string(), "{v}");
}

#[test]
fn read_commands_do_not_create_a_store() {
    let s = Store::new();
    let (code, _, err) = s.anp(&["cache", "get", "k"]);
    assert_eq!(code, 4, "{err}");
    let (code, _, err) = s.anp(&["cache", "stats"]);
    assert_eq!(code, 4, "{err}");
    assert!(!s.dir.path().join("anp.db").exists());
}

#[test]
fn stats_lists_namespaces_with_usage() {
    let s = Store::new();
    s.json(&["cache", "set", "a", "1", "-n", "pages"]);
    s.json(&["cache", "set", "b", "2", "-n", "pages"]);
    let stats = s.json(&["cache", "stats"]);
    let pages = stats
        .as_array()
        .and_then(|a| a.iter().find(|n| n["namespace"] == "pages"))
        .unwrap_or_else(|| panic!("{stats}"))
        .clone();
    assert_eq!(pages["usage"]["entries"], 2, "{pages}");
    assert_eq!(pages["generation"], 0);
    // No process has read through the cache yet: no ratios, but the fields are there.
    for ratio in ["hit_ratio", "miss_ratio", "stale_ratio"] {
        assert!(
            pages.get(ratio).is_some_and(serde_json::Value::is_null),
            "{ratio}: {pages}"
        );
    }
    let (code, out, err) = s.anp(&["cache", "stats"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("pages"), "{out}");
    assert!(out.contains("miss %") && out.contains("stale %"), "{out}");
}

#[test]
fn deploy_rollback_marks_it_and_needs_a_deploy() {
    let s = Store::new();
    let (code, _, err) = s.anp(&["deploy", "mark", "--version", "v1"]);
    assert_eq!(code, 0, "{err}");
    let m = s.json(&["deploy", "mark", "--version", "v2"]);
    assert_eq!(m["version"], "v2");
    assert_eq!(m["cache"], serde_json::json!([]));
    let r = s.json(&["deploy", "rollback", "--note", "v2 broke checkout"]);
    assert_eq!(r["version"], "rollback of v2");
    assert_eq!(r["undone"]["version"], "v2");
    assert_eq!(r["note"], "v2 broke checkout");
    let list = s.json(&["deploy", "list"]);
    assert_eq!(list[0]["version"], "rollback of v2");

    let empty = Store::new();
    empty.json(&["cache", "set", "k", "1"]);
    let (code, _, err) = empty.anp(&["deploy", "rollback"]);
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("no deploy marker to roll back"), "{err}");
}
