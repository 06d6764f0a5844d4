//! `anp doctor`: checks the config, the store and the settings that lose jobs or leak secrets,
//! and says what to fix. Exit 0 when every check passes, 8 when one needs attention.

use std::path::PathBuf;
use std::time::Instant;

use alphanode::SystemClock;
use anp_core::Clock;
use clap::Args as ClapArgs;
use serde::Serialize;

use super::status::EXIT_ATTENTION;
use super::Ctx;
use crate::config::Config;
use crate::output;

/// Options of `anp doctor`.
#[derive(ClapArgs, Debug)]
pub struct DoctorArgs {
    /// Config file to check (checked when given, or when ./anp.toml exists).
    #[arg(long, short)]
    pub config: Option<PathBuf>,
}

#[derive(Serialize, Debug)]
struct Check {
    check: &'static str,
    ok: bool,
    detail: String,
    /// What to do when not ok.
    fix: Option<String>,
}

fn pass(check: &'static str, detail: impl Into<String>) -> Check {
    Check {
        check,
        ok: true,
        detail: detail.into(),
        fix: None,
    }
}

fn fail(check: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Check {
    Check {
        check,
        ok: false,
        detail: detail.into(),
        fix: Some(fix.into()),
    }
}

/// Runs `anp doctor`; returns the exit code.
pub async fn run(ctx: &Ctx, a: DoctorArgs) -> anyhow::Result<u8> {
    let mut checks = Vec::new();
    let config_path = a.config.clone().or_else(|| {
        let p = PathBuf::from("anp.toml");
        p.exists().then_some(p)
    });
    let mut config_store = None;
    match &config_path {
        None => checks.push(pass(
            "config",
            "no config given and no ./anp.toml: nothing to check",
        )),
        Some(p) => match Config::load(p) {
            Ok(c) => {
                checks.push(pass(
                    "config",
                    format!(
                        "{}: {} queue(s), {} job kind(s), {} schedule(s)",
                        p.display(),
                        c.queues.len(),
                        c.jobs.len(),
                        c.schedules.len()
                    ),
                ));
                config_store = c.store.clone();
            }
            Err(e) => checks.push(fail(
                "config",
                e.to_string(),
                "fix the file at the line named above",
            )),
        },
    }

    let url = ctx.url(config_store.as_deref());
    let redacted = crate::store::redact(&url);
    let t = Instant::now();
    match crate::store::open(&url).await {
        Err(e) => checks.push(fail(
            "store",
            e.to_string(),
            if e.retry_safe() {
                "start the store or fix the network, then retry"
            } else {
                "fix the store URL or the file named above"
            },
        )),
        Ok(store) => {
            match store.store_ping().await {
                Ok(info) => {
                    checks.push(pass(
                        "store",
                        format!(
                            "{redacted} reachable ({} {}), round trip {:.1} ms",
                            info.backend,
                            info.server_version,
                            t.elapsed().as_secs_f64() * 1000.0
                        ),
                    ));
                    let expected = match info.backend.as_str() {
                        "sqlite" => Some(anp_sqlite::SCHEMA_VERSION),
                        "redis" => Some(anp_redis::SCHEMA_VERSION),
                        _ => None,
                    };
                    match expected {
                        Some(v) if v == info.schema_version => {
                            checks.push(pass("schema", format!("version {v}, current")))
                        }
                        Some(v) => checks.push(fail(
                            "schema",
                            format!("version {} but this anp expects {v}", info.schema_version),
                            "upgrade anp, or restore a backup made by this version",
                        )),
                        None => {}
                    }
                }
                Err(e) => checks.push(fail("store", e.to_string(), "check the store and retry")),
            }
            if url.starts_with("sqlite://") {
                checks.push(pass(
                    "clock",
                    "embedded store: this host's clock is the only clock",
                ));
                if let Ok(opts) = anp_sqlite::SqliteStore::parse_url(&url) {
                    checks.push(sqlite_permissions(&opts.path));
                    if opts.synchronous == anp_sqlite::Synchronous::Normal {
                        checks.push(pass("durability", "synchronous=NORMAL: a process crash loses nothing; a power loss may lose the last commits (use ?synchronous=full to avoid that)"));
                    } else {
                        checks.push(pass(
                            "durability",
                            "synchronous=FULL: every commit survives a power loss",
                        ));
                    }
                }
            } else {
                if let Ok(r) = anp_redis::RedisStore::open(&url).await {
                    checks.push(clock_skew(&r).await);
                    let warnings = r.server_warnings().await;
                    if warnings.is_empty() {
                        checks.push(pass("redis settings", "maxmemory-policy noeviction and persistence on (or not readable with this ACL)"));
                    }
                    for w in warnings {
                        checks.push(fail("redis settings", w, "CONFIG SET maxmemory-policy noeviction; enable AOF (appendonly yes, appendfsync everysec) — see README \"Redis\""));
                    }
                }
            }
        }
    }

    match std::env::var("ANP_TOKEN") {
        Ok(t) if t.len() >= 16 => checks.push(pass(
            "token",
            "ANP_TOKEN set (length ok); actions on anp serve need it",
        )),
        Ok(_) => checks.push(fail(
            "token",
            "ANP_TOKEN is shorter than 16 characters: anp serve refuses to start",
            "use a long random token, e.g. `openssl rand -hex 32`",
        )),
        Err(_) => checks.push(pass(
            "token",
            "ANP_TOKEN not set: anp serve refuses every action (read-only API only)",
        )),
    }
    if url.contains('@')
        && url.contains(':')
        && std::env::var("ANP_STORE").is_err()
        && ctx.store_url.is_some()
    {
        checks.push(fail(
            "secrets",
            "the store URL with its password was given on the command line, where `ps` shows it to every user",
            "pass it in the ANP_STORE environment variable instead",
        ));
    }

    let ok = checks.iter().all(|c| c.ok);
    if ctx.json {
        output::json(&serde_json::json!({"ok": ok, "checks": checks}))?;
    } else {
        for c in &checks {
            println!(
                "{} {:<15} {}",
                if c.ok { "ok  " } else { "FIX " },
                c.check,
                c.detail
            );
            if let Some(f) = &c.fix {
                println!("     {:<15} → {f}", "");
            }
        }
        println!(
            "{}",
            if ok {
                "\nall checks passed"
            } else {
                "\nsome checks need attention"
            }
        );
    }
    Ok(if ok { 0 } else { EXIT_ATTENTION })
}

/// Skew above which `anp doctor` asks for a fix: leases (default 30 s, heartbeats every
/// third of it) and schedule ticks compare one host's clock with another's through the store.
const MAX_SKEW_MS: f64 = 500.0;

/// This host's clock against the Redis server's (`TIME`), corrected for half the round trip.
async fn clock_skew(r: &anp_redis::RedisStore) -> Check {
    let before = SystemClock.now();
    let server = match r.server_time().await {
        Ok(t) => t,
        Err(e) => {
            return fail(
                "clock",
                format!("cannot read the server's clock: {e}"),
                "check that this ACL user may run TIME, then retry",
            )
        }
    };
    let after = SystemClock.now();
    let rtt_us = after.as_microsecond() - before.as_microsecond();
    let local_mid = before.as_microsecond() + rtt_us / 2;
    let skew_ms = (local_mid - server.as_microsecond()) as f64 / 1000.0;
    let detail = format!(
        "this host is {:.1} ms {} the Redis server (± {:.1} ms, half the round trip)",
        skew_ms.abs(),
        if skew_ms >= 0.0 { "ahead of" } else { "behind" },
        rtt_us as f64 / 2000.0
    );
    if skew_ms.abs() > MAX_SKEW_MS {
        fail(
            "clock",
            format!("{detail}; more than {MAX_SKEW_MS} ms makes leases expire early or late and schedule ticks fire off time"),
            "run NTP (chrony or systemd-timesyncd) on this host and on the Redis host",
        )
    } else {
        pass("clock", detail)
    }
}

#[cfg(unix)]
fn sqlite_permissions(path: &std::path::Path) -> Check {
    use std::os::unix::fs::PermissionsExt;
    let mut loose = Vec::new();
    for suffix in ["", "-wal", "-shm"] {
        let p = PathBuf::from(format!("{}{suffix}", path.display()));
        if let Ok(m) = std::fs::metadata(&p) {
            let mode = m.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                loose.push(format!("{} is {mode:o}", p.display()));
            }
        }
    }
    if loose.is_empty() {
        pass(
            "file permissions",
            format!(
                "{} and its -wal/-shm are readable by their owner only",
                path.display()
            ),
        )
    } else {
        fail(
            "file permissions",
            format!("readable by other users: {}", loose.join(", ")),
            format!("chmod 600 {}*", path.display()),
        )
    }
}

#[cfg(not(unix))]
fn sqlite_permissions(path: &std::path::Path) -> Check {
    pass(
        "file permissions",
        format!("{}: not checked on this platform", path.display()),
    )
}
