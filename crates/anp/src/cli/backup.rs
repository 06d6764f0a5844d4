//! `anp backup --to FILE` and `anp restore --from FILE [--force]`: a thin shell over
//! [`alphanode::Admin::backup`] and [`alphanode::Admin::restore`], which own the file format
//! (store-independent JSON lines, verified on write and read) and its consistency rules.

use std::path::PathBuf;

use alphanode::admin::{BackupCounts, BackupFile};
use clap::Args as ClapArgs;

use super::Ctx;
use crate::output;

/// Options of `anp backup`.
#[derive(ClapArgs, Debug)]
pub struct BackupArgs {
    /// File to write (must not exist; created readable by its owner only).
    #[arg(long)]
    pub to: PathBuf,
}

/// Options of `anp restore`.
#[derive(ClapArgs, Debug)]
pub struct RestoreArgs {
    /// Backup file written by `anp backup`.
    #[arg(long)]
    pub from: PathBuf,
    /// Restore even if the target store already holds jobs or schedules (existing job ids are
    /// kept as they are).
    #[arg(long)]
    pub force: bool,
}

/// Runs `anp backup`.
pub async fn backup(ctx: &Ctx, a: BackupArgs) -> anyhow::Result<()> {
    let admin = ctx.admin().await?;
    let pb = output::progress(0, ctx.json, "backup");
    let counts = admin.backup(&a.to, |n| pb.set_position(n)).await?;
    pb.finish_and_clear();
    report(ctx, "backed up", &a.to, &counts)
}

/// Runs `anp restore`.
pub async fn restore(ctx: &Ctx, a: RestoreArgs) -> anyhow::Result<()> {
    let file = BackupFile::read(&a.from)?;
    let admin = ctx.admin_creating().await?;
    let pb = output::progress(file.counts().jobs, ctx.json, "restore");
    admin.restore(&file, a.force, |n| pb.inc(n)).await?;
    pb.finish_and_clear();
    report(ctx, "restored", &a.from, file.counts())
}

fn report(ctx: &Ctx, what: &str, path: &std::path::Path, c: &BackupCounts) -> anyhow::Result<()> {
    if ctx.json {
        return ctx.json_object(&serde_json::json!({
            "file": path, "jobs": c.jobs, "schedules": c.schedules, "deploys": c.deploys,
            "by_queue": c.by_queue,
        }));
    }
    println!(
        "{what} {} jobs, {} schedules, {} deploy markers ({})",
        c.jobs,
        c.schedules,
        c.deploys,
        path.display()
    );
    for (q, states) in &c.by_queue {
        let s: Vec<String> = states.iter().map(|(st, n)| format!("{st} {n}")).collect();
        println!("  {q}: {}", s.join(", "));
    }
    Ok(())
}
