//! `anp doctor`: checks the config, the store and the settings that lose jobs or leak secrets,
//! and says what to fix. Exit 0 when every check passes, 8 when one needs attention.

use alphanode::{Admin, StoreCheck};
use clap::Args as ClapArgs;
use std::path::{Path, PathBuf};

use super::status::EXIT_ATTENTION;
use super::Ctx;
use crate::config::{Config, ConfigFile, ConfigFrom, Runner};

/// Options of `anp doctor`.
#[derive(ClapArgs, Debug)]
pub struct DoctorArgs {
    /// Config file to check [default: ANP_CONFIG, else ./anp.toml if it exists].
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
    let file = match &a.config {
        Some(p) => Some(ConfigFile::read(p, ConfigFrom::Flag)),
        None => ConfigFile::discover(),
    };
    match &file {
        None => checks.push(pass(
            "config",
            "no config given, no ANP_CONFIG and no ./anp.toml: nothing to check",
        )),
        Some(f) => match f.load() {
            Ok(c) => {
                let p = &f.path;
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
                checks.extend(job_checks(&c));
            }
            Err(e) => checks.push(fail(
                "config",
                e.to_string(),
                "fix the file at the line named above",
            )),
        },
    }

    let url = ctx.url(file.as_ref());
    let redacted = alphanode::backend::redact_url(&url);
    // Checking never creates: a missing SQLite file is a finding, not something to make.
    match alphanode::connect_with(&url, alphanode::ConnectOptions { create: false }).await {
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
        ctx.json_object(&serde_json::json!({"ok": ok, "checks": checks}))?;
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

/// Every job kind's runner as `anp work` will start it: a command must resolve to an
/// executable file (on PATH when it has no `/`, else relative to the job's `dir` or here).
/// One failing check per broken kind, or one pass.
fn job_checks(c: &Config) -> Vec<StoreCheck> {
    let mut failed = Vec::new();
    let (mut commands, mut urls) = (0, 0);
    for (kind, job) in &c.jobs {
        match &job.run {
            Runner::Command { argv, dir, .. } => {
                commands += 1;
                let program = argv.first().map(String::as_str).unwrap_or_default();
                if let Err(why) = executable(program, dir.as_deref()) {
                    failed.push(fail(
                        "job command",
                        format!("job {kind}: command {program:?} {why}"),
                        format!(
                            "fix `command` of [[job]] {kind} in {} (a path with / is relative to \
                             the job's `dir`, or to where `anp work` runs)",
                            c.path.display()
                        ),
                    ));
                }
            }
            // Loading the config already parsed every URL (http or https, or refused).
            Runner::Http { .. } => urls += 1,
            Runner::Noop => {}
        }
    }
    if failed.is_empty() {
        vec![pass(
            "job kinds",
            format!("{commands} command(s) found and executable, {urls} URL(s) valid"),
        )]
    } else {
        failed
    }
}

/// Ok when `program` names an executable file, else why not ("not found on PATH", …).
fn executable(program: &str, dir: Option<&Path>) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    if program.is_empty() {
        return Err("is empty".into());
    }
    let path = if program.contains('/') {
        let p = Path::new(program);
        match dir {
            Some(d) if p.is_relative() => d.join(p),
            _ => p.to_owned(),
        }
    } else {
        return which::which(program)
            .map(|_| ())
            .map_err(|_| "is not found on PATH".to_owned());
    };
    match std::fs::metadata(&path) {
        Err(e) => Err(format!("cannot be run: {}: {e}", path.display())),
        Ok(m) if !m.is_file() => Err(format!("is not a file: {}", path.display())),
        Ok(m) if m.permissions().mode() & 0o111 == 0 => Err(format!(
            "is not executable: {} (chmod +x it)",
            path.display()
        )),
        Ok(_) => Ok(()),
    }
}
