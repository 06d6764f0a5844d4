//! `anp backup --to FILE` and `anp restore --from FILE [--force]`.
//!
//! The backup format does not depend on the store (JSON lines): a header line
//! `{"format": "alphanode-backup", "version": 1, ...}`, then one line per job (`{"job": …}`,
//! every field and the whole error history), schedule (`{"schedule": …}`: definition and pause
//! flag) and deploy marker (`{"deploy": …}`), then a trailer `{"end": {counts}}` so a truncated
//! file is detected. A SQLite backup restores into Redis and back.
//!
//! Consistency: from SQLite, the file is written from a snapshot taken with SQLite's online
//! backup API (a point in time; workers keep running, waiting at most one short step), read in
//! one read transaction. From Redis, each queue is exported as of one instant
//! ([`Store::job_export`]: copy-on-write while the queue is read in short steps), queue after
//! queue, so the backup is consistent per queue while workers run.

use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::sync::Arc;

use alphanode::SystemClock;
use anp_core::monitor::DeployMarker;
use anp_core::schedule::{ScheduleDef, ScheduleSyncParams};
use anp_core::store::JobExportParams;
use anp_core::{Clock, Error, Job, Store};
use clap::Args as ClapArgs;
use serde::{Deserialize, Serialize};

use super::Ctx;
use crate::output;

const FORMAT: &str = "alphanode-backup";
const VERSION: u32 = 1;

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

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    format: String,
    version: u32,
    created_at: jiff::Timestamp,
    source: String,
}

#[derive(Serialize, Deserialize, Default, PartialEq, Eq, Debug, Clone)]
#[serde(deny_unknown_fields)]
struct Counts {
    jobs: u64,
    schedules: u64,
    deploys: u64,
    /// Jobs per queue and state.
    by_queue: BTreeMap<String, BTreeMap<String, u64>>,
}

impl Counts {
    fn add_job(&mut self, j: &Job) {
        self.jobs += 1;
        *self
            .by_queue
            .entry(j.queue.to_string())
            .or_default()
            .entry(j.state.to_string())
            .or_default() += 1;
    }
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum Line {
    Job(Box<Job>),
    Schedule(ScheduleEntry),
    Deploy(DeployMarker),
    End(Counts),
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScheduleEntry {
    def: ScheduleDef,
    paused: bool,
}

fn io_err(what: &str, path: &std::path::Path, e: std::io::Error) -> Error {
    Error::invalid(what.to_owned(), format!("{}: {e}", path.display()))
}

/// Runs `anp backup`.
pub async fn backup(ctx: &Ctx, a: BackupArgs) -> anyhow::Result<()> {
    let url = ctx.url(None);
    let live = crate::store::open(&url).await?;
    // From SQLite, export from a point-in-time snapshot (online backup API).
    let snapshot_dir = tempfile::tempdir()?;
    let source: Arc<dyn Store> = if url.starts_with("sqlite://") {
        let opts = anp_sqlite::SqliteStore::parse_url(&url)?;
        let sqlite = anp_sqlite::SqliteStore::open(opts).await?;
        let snap = snapshot_dir.path().join("snapshot.db");
        sqlite.snapshot_to(&snap).await?;
        let snap_opts =
            anp_sqlite::SqliteStore::parse_url(&format!("sqlite://{}", snap.display()))?;
        Arc::new(anp_sqlite::SqliteStore::open(snap_opts).await?)
    } else {
        live.clone()
    };
    let file = {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&a.to)
            .map_err(|e| io_err("backup --to", &a.to, e))?
    };
    let mut w = std::io::BufWriter::new(file);
    let mut put = |v: &dyn erased::Ser| -> anyhow::Result<()> {
        v.write_line(&mut w)?;
        Ok(())
    };
    put(&Header {
        format: FORMAT.into(),
        version: VERSION,
        created_at: SystemClock.now(),
        source: live.backend().into(),
    })?;
    let mut counts = Counts::default();
    let pb = output::progress(0, ctx.json, "backup");
    source
        .job_export(JobExportParams::default(), &mut |page| {
            for j in page {
                counts.add_job(&j);
                put(&Line::Job(Box::new(j)))
                    .map_err(|e| Error::invalid("backup --to", format!("{e:#}")))?;
                pb.inc(1);
            }
            Ok(())
        })
        .await?;
    pb.finish_and_clear();
    for s in source.schedule_list().await? {
        counts.schedules += 1;
        put(&Line::Schedule(ScheduleEntry {
            def: s.def,
            paused: s.paused,
        }))?;
    }
    for d in source.deploy_list(u32::MAX).await?.into_iter().rev() {
        counts.deploys += 1;
        put(&Line::Deploy(d))?;
    }
    put(&Line::End(counts.clone()))?;
    w.flush().map_err(|e| io_err("backup --to", &a.to, e))?;
    // Verify: read the file back as restore would.
    let (_, read_back) = read(&a.to)?;
    if read_back.counts != counts {
        return Err(Error::internal(
            "backup",
            format!(
                "{} reads back differently from what was written",
                a.to.display()
            ),
        )
        .into());
    }
    report(ctx, "backed up", &a.to, &counts)
}

fn report(ctx: &Ctx, what: &str, path: &std::path::Path, c: &Counts) -> anyhow::Result<()> {
    if ctx.json {
        return output::json(
            &serde_json::json!({"file": path, "jobs": c.jobs, "schedules": c.schedules, "deploys": c.deploys, "by_queue": c.by_queue}),
        );
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

struct Backup {
    counts: Counts,
    jobs: Vec<Job>,
    schedules: Vec<ScheduleEntry>,
    deploys: Vec<DeployMarker>,
}

/// Reads and checks a whole backup file; nothing is restored from a file that fails here.
fn read(path: &std::path::Path) -> Result<(Header, Backup), Error> {
    let f = std::fs::File::open(path).map_err(|e| io_err("restore --from", path, e))?;
    let mut lines = std::io::BufReader::new(f).lines();
    let bad = |n: usize, msg: String| {
        Error::invalid(
            "backup file",
            format!("{}:{n}: {msg}; nothing was restored", path.display()),
        )
    };
    let first = lines
        .next()
        .transpose()
        .map_err(|e| io_err("restore --from", path, e))?
        .unwrap_or_default();
    let header: Header = serde_json::from_str(&first)
        .map_err(|e| bad(1, format!("{e}: expected an alphanode backup header")))?;
    if header.format != FORMAT || header.version > VERSION {
        return Err(bad(
            1,
            format!(
                "format {:?} version {}: expected {FORMAT} version {VERSION} or older",
                header.format, header.version
            ),
        ));
    }
    let mut b = Backup {
        counts: Counts::default(),
        jobs: Vec::new(),
        schedules: Vec::new(),
        deploys: Vec::new(),
    };
    let mut end = None;
    for (i, line) in lines.enumerate() {
        let n = i + 2;
        let line = line.map_err(|e| io_err("restore --from", path, e))?;
        if end.is_some() {
            return Err(bad(
                n,
                "data after the end line: expected the end line last".into(),
            ));
        }
        match serde_json::from_str::<Line>(&line).map_err(|e| bad(n, format!("{e}")))? {
            Line::Job(j) => {
                b.counts.add_job(&j);
                b.jobs.push(*j);
            }
            Line::Schedule(s) => {
                b.counts.schedules += 1;
                b.schedules.push(s);
            }
            Line::Deploy(d) => {
                b.counts.deploys += 1;
                b.deploys.push(d);
            }
            Line::End(c) => end = Some(c),
        }
    }
    match end {
        None => Err(bad(0, "no end line: the file is truncated".into())),
        Some(c) if c != b.counts => Err(bad(
            0,
            "the end line's counts differ from the lines read: the file is damaged".into(),
        )),
        Some(_) => Ok((header, b)),
    }
}

/// Runs `anp restore`.
pub async fn restore(ctx: &Ctx, a: RestoreArgs) -> anyhow::Result<()> {
    let (header, b) = read(&a.from)?;
    let store = ctx.open(None).await?;
    let existing: u64 = store
        .queue_list()
        .await?
        .iter()
        .flat_map(|q| q.counts.values())
        .sum();
    let schedules = store.schedule_list().await.map(|l| l.len()).unwrap_or(0);
    if (existing > 0 || schedules > 0) && !a.force {
        return Err(Error::conflict(
            "restore",
            format!("{} already holds {existing} jobs and {schedules} schedules: expected an empty store (use --force to merge; existing job ids are kept)", store.redacted_url()),
        )
        .into());
    }
    let pb = output::progress(b.jobs.len() as u64, ctx.json, "restore");
    let mut added = 0;
    for chunk in b.jobs.chunks(1000) {
        added += store.job_import_many(chunk.to_vec()).await?;
        pb.inc(chunk.len() as u64);
    }
    pb.finish_and_clear();
    let now = SystemClock.now();
    if !b.schedules.is_empty() {
        store
            .schedule_sync(ScheduleSyncParams {
                defs: b.schedules.iter().map(|s| s.def.clone()).collect(),
                now,
            })
            .await?;
        for s in b.schedules.iter().filter(|s| s.paused) {
            store
                .schedule_set_paused(s.def.name.clone(), true, now)
                .await?;
        }
    }
    for d in &b.deploys {
        store.deploy_mark(d.clone()).await?;
    }
    tracing::info!(source = %header.source, jobs = added, "restore finished");
    report(ctx, "restored", &a.from, &b.counts)
}

/// Serializing heterogeneous lines through one closure.
mod erased {
    use std::io::Write;

    pub(super) trait Ser {
        fn write_line(&self, w: &mut dyn Write) -> anyhow::Result<()>;
    }

    impl<T: serde::Serialize> Ser for T {
        fn write_line(&self, w: &mut dyn Write) -> anyhow::Result<()> {
            serde_json::to_writer(&mut *w, self)?;
            w.write_all(b"\n")?;
            Ok(())
        }
    }
}
