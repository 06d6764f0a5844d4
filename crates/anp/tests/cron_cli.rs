//! `anp cron next` with expressions copied from other systems.

use assert_cmd::Command;

#[test]
fn cron_next_accepts_a_star_inside_a_list() {
    // Vixie cron: `*,1` is every day and, starting with `*`, leaves the
    // day-of-week field in charge: Mondays only. 2026-01-01 is a Thursday.
    let out = Command::cargo_bin("anp")
        .unwrap_or_else(|e| panic!("{e}"))
        .env_remove("ANP_CONFIG")
        .env_remove("ANP_STORE")
        .args([
            "cron",
            "next",
            "0 0 *,1 * 1",
            "--tz",
            "UTC",
            "--after",
            "2026-01-01T00:00:00Z",
            "-n",
            "3",
        ])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "2026-01-05T00:00:00+00:00\n2026-01-12T00:00:00+00:00\n2026-01-19T00:00:00+00:00\n"
    );
    assert_eq!(stderr, "");
}
