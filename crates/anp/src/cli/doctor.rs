//! `anp doctor`: checks the config, the store and the settings that lose jobs or leak secrets,
//! and says what to fix. Exit 0 when every check passes, 8 when one needs attention.

use alphanode::{Admin, StoreCheck};
use clap::Args as ClapArgs;
use std::path::PathBuf;

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

fn pass(check: &str, detail: impl Into<String>) -> StoreCheck {
    StoreCheck::pass(check, detail)
}

fn fail(check: &str, detail: impl Into<String>, fix: impl Into<String>) -> StoreCheck {
    StoreCheck::fail(check, detail, fix)
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
    let redacted = alphanode::backend::redact_url(&url);
    match alphanode::connect(&url).await {
        Err(e) => checks.push(fail(
            "store",
            e.to_string(),
            if e.retry_safe() {
                "start the store or fix the network, then retry"
            } else {
                "fix the store URL or the file named above"
            },
        )),
        Ok(backend) => {
            let admin = Admin::new(backend);
            match admin.health().await {
                Ok(h) => {
                    checks.push(pass(
                        "store",
                        format!(
                            "{redacted} reachable ({} {}), round trip {:.1} ms",
                            h.backend, h.server_version, h.round_trip_ms
                        ),
                    ));
                    if h.ok {
                        checks.push(pass(
                            "schema",
                            format!("version {}, current", h.schema_version),
                        ));
                    } else {
                        checks.push(fail(
                            "schema",
                            format!(
                                "version {} but this anp expects {}",
                                h.schema_version, h.expected_schema_version
                            ),
                            "upgrade anp, or restore a backup made by this version",
                        ));
                    }
                }
                Err(e) => checks.push(fail("store", e.to_string(), "check the store and retry")),
            }
            checks.extend(admin.checks().await);
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
