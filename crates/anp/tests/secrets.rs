//! A store password never reaches output: not in human output, `--json`, errors or logs, even
//! when it holds `@` or `:` (issue 12: the binary split credentials at the first `@` and printed
//! the rest of such a password). Runs `anp` against a private `redis-server` with an ACL user
//! whose password has those characters, and against a port where nothing listens.

#[path = "../../anp-redis/tests/common/mod.rs"]
mod common;

use std::process::{Command, Stdio};

use common::RedisServer;

const USER: &str = "app";
/// The secret, and pieces of it that a wrong split would print.
const PASSWORD: &str = "s3cr@t:pa@ss";
const PIECES: [&str; 4] = ["s3cr", "t:pa", "pa@ss", "@ss@"];

/// Runs `anp` with `args` (store URL in `ANP_STORE`, the way doctor recommends, or on the
/// command line) and returns (exit code, stdout + stderr).
fn anp(url: &str, on_command_line: bool, args: &[&str]) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_anp"));
    if on_command_line {
        cmd.args(["--store", url]);
        cmd.env_remove("ANP_STORE");
    } else {
        cmd.env("ANP_STORE", url);
    }
    let out = cmd
        .args(["-vv"])
        .args(args)
        .current_dir(dir.path())
        .env_remove("ANP_CONFIG")
        .env_remove("ANP_TOKEN")
        .env_remove("ANP_LOG")
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run anp: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

fn assert_no_secret(what: &str, text: &str) {
    for piece in PIECES {
        assert!(
            !text.contains(piece),
            "{what} printed {piece:?}, a piece of the password:\n{text}"
        );
    }
}

#[test]
fn a_password_with_at_and_colon_never_appears_in_any_output() {
    let server = RedisServer::start();
    let password = format!(">{PASSWORD}");
    let ok = server.cli(
        &[],
        &["ACL", "SETUSER", USER, "on", &password, "~*", "&*", "+@all"],
    );
    assert!(ok.contains("OK"), "ACL SETUSER: {ok}");
    let url = format!("redis://{USER}:{PASSWORD}@127.0.0.1:{}", server.port);

    let commands: [&[&str]; 8] = [
        &["enqueue", "report.build", "{\"n\":1}"],
        &["--json", "enqueue", "report.build", "{\"n\":2}"],
        &["queues"],
        &["--json", "jobs", "list"],
        &["status"],
        &["--json", "status"],
        &["doctor"],
        &["--json", "doctor"],
    ];
    for args in commands {
        for on_command_line in [false, true] {
            let (_, text) = anp(&url, on_command_line, args);
            assert_no_secret(&format!("anp {args:?}"), &text);
        }
    }
    // The password works: the four jobs (two enqueues, each run twice) are there, so the
    // runs above really used it.
    let (code, text) = anp(&url, false, &["--json", "queues"]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("\"available\": 4"), "{text}");

    // Errors name the store too: a port where nothing listens, and a bad form.
    let dead = format!("redis://{USER}:{PASSWORD}@127.0.0.1:1");
    for args in [
        &["queues"][..],
        &["--json", "status"],
        &["--json", "doctor"],
    ] {
        let (code, text) = anp(&dead, false, args);
        assert_ne!(code, 0, "{text}");
        assert_no_secret(&format!("anp {args:?} (unreachable)"), &text);
    }
    let bad = format!("redis://{USER}:{PASSWORD}@127.0.0.1:1/notadb");
    let (code, text) = anp(&bad, false, &["--json", "queues"]);
    assert_eq!(code, 2, "a bad URL is invalid input: {text}");
    assert_no_secret("anp queues (bad URL)", &text);
}
