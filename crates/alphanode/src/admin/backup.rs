//! The backup file: store-independent JSON lines, written from one store and restored into any.
//!
//! A header line `{"format": "alphanode-backup", "version": 1, …}`, then one line per job
//! (`{"job": …}`: every field and the whole error history), schedule (`{"schedule": …}`:
//! definition and pause flag) and deploy marker (`{"deploy": …}`), then a trailer
//! `{"end": {counts}}` so a truncated file is detected. A SQLite backup restores into Redis and
//! back.
//!
//! Consistency: where the backend offers a point-in-time copy ([`Store::store_snapshot`]:
//! SQLite's online backup API, workers keep running), the file is written from it, so jobs,
//! schedules and markers are of one instant. Otherwise (Redis) each queue is exported as of one
//! instant ([`Store::job_export`]: copy-on-write while the queue is read in short steps), queue
//! after queue.

use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::path::Path;
use std::sync::Arc;

use anp_core::monitor::DeployMarker;
use anp_core::schedule::{ScheduleDef, ScheduleSyncParams};
use anp_core::store::JobExportParams;
use anp_core::{Error, Job, Result, Store};
use serde::{Deserialize, Serialize};

use super::Admin;

const FORMAT: &str = "alphanode-backup";
const VERSION: u32 = 1;
/// Jobs restored per store call.
const IMPORT_BATCH: usize = 1000;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    format: String,
    version: u32,
    created_at: jiff::Timestamp,
    source: String,
}

/// What a backup file holds.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupCounts {
    /// Jobs.
    pub jobs: u64,
    /// Schedules.
    pub schedules: u64,
    /// Deploy markers.
    pub deploys: u64,
    /// Jobs per queue and state.
    pub by_queue: BTreeMap<String, BTreeMap<String, u64>>,
}

impl BackupCounts {
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
    End(BackupCounts),
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScheduleEntry {
    def: ScheduleDef,
    paused: bool,
}

/// A backup file read back whole and checked (header, every line, the trailer's counts):
/// nothing is restored from a file that fails to read.
pub struct BackupFile {
    source: String,
    counts: BackupCounts,
    jobs: Vec<Job>,
    schedules: Vec<ScheduleEntry>,
    deploys: Vec<DeployMarker>,
}

impl std::fmt::Debug for BackupFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BackupFile")
            .field("source", &self.source)
            .field("counts", &self.counts)
            .finish_non_exhaustive()
    }
}

fn io_err(op: &str, path: &Path, e: std::io::Error) -> Error {
    Error::invalid(op.to_owned(), format!("{}: {e}", path.display()))
}

fn write_line(w: &mut impl Write, v: &impl Serialize, path: &Path) -> Result<()> {
    serde_json::to_writer(&mut *w, v)
        .map_err(std::io::Error::from)
        .and_then(|()| w.write_all(b"\n"))
        .map_err(|e| io_err("backup", path, e))
}

impl BackupFile {
    /// Reads and checks the file at `path`.
    pub fn read(path: &Path) -> Result<BackupFile> {
        let f = std::fs::File::open(path).map_err(|e| io_err("restore", path, e))?;
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
            .map_err(|e| io_err("restore", path, e))?
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
        let mut b = BackupFile {
            source: header.source,
            counts: BackupCounts::default(),
            jobs: Vec::new(),
            schedules: Vec::new(),
            deploys: Vec::new(),
        };
        let mut end = None;
        for (i, line) in lines.enumerate() {
            let n = i + 2;
            let line = line.map_err(|e| io_err("restore", path, e))?;
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
            Some(_) => Ok(b),
        }
    }

    /// What the file holds.
    pub fn counts(&self) -> &BackupCounts {
        &self.counts
    }

    /// The backend it was written from (`sqlite`, `redis`).
    pub fn source(&self) -> &str {
        &self.source
    }
}

impl Admin {
    /// Writes a backup of the whole store to `path` (a new file, created readable by its owner
    /// only; an existing file is `InvalidInput` and left alone), then reads it back and checks
    /// it. `progress` sees the number of jobs written so far, page by page.
    pub async fn backup(
        &self,
        path: &Path,
        mut progress: impl FnMut(u64) + Send,
    ) -> Result<BackupCounts> {
        let snapshot_dir = tempfile::tempdir()
            .map_err(|e| Error::unavailable("backup", format!("cannot make a temp dir: {e}")))?;
        let source: Arc<dyn Store> = match self.store().store_snapshot(snapshot_dir.path()).await? {
            Some(snap) => snap,
            None => self.backend.store().clone(),
        };
        let file = {
            use std::os::unix::fs::OpenOptionsExt;
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
                .map_err(|e| io_err("backup", path, e))?
        };
        let mut w = std::io::BufWriter::new(file);
        write_line(
            &mut w,
            &Header {
                format: FORMAT.into(),
                version: VERSION,
                created_at: self.now(),
                source: self.backend.name().into(),
            },
            path,
        )?;
        let mut counts = BackupCounts::default();
        source
            .job_export(JobExportParams::default(), &mut |page| {
                for j in page {
                    counts.add_job(&j);
                    write_line(&mut w, &Line::Job(Box::new(j)), path)?;
                }
                progress(counts.jobs);
                Ok(())
            })
            .await?;
        for s in source.schedule_list().await? {
            counts.schedules += 1;
            let entry = ScheduleEntry {
                def: s.def,
                paused: s.paused,
            };
            write_line(&mut w, &Line::Schedule(entry), path)?;
        }
        for d in source.deploy_list(u32::MAX).await?.into_iter().rev() {
            counts.deploys += 1;
            write_line(&mut w, &Line::Deploy(d), path)?;
        }
        write_line(&mut w, &Line::End(counts.clone()), path)?;
        w.flush().map_err(|e| io_err("backup", path, e))?;
        drop(w);
        // Verify: read the file back as restore would.
        let read_back = BackupFile::read(path)?;
        if read_back.counts != counts {
            return Err(Error::internal(
                "backup",
                format!(
                    "{} reads back differently from what was written",
                    path.display()
                ),
            ));
        }
        Ok(counts)
    }

    /// Restores `file` into this store: jobs exactly as they were (state, attempts, history,
    /// lease), schedules with their pause flag, deploy markers. Refuses (`Conflict`) a store
    /// that already holds jobs or schedules unless `force`; with `force`, a job whose id
    /// exists is left as it is. `progress` sees each batch's count of jobs.
    pub async fn restore(
        &self,
        file: &BackupFile,
        force: bool,
        mut progress: impl FnMut(u64),
    ) -> Result<u64> {
        let existing: u64 = self
            .store()
            .queue_list()
            .await?
            .iter()
            .flat_map(|q| q.counts.values())
            .sum();
        let schedules = self.store().schedule_list().await?.len();
        if (existing > 0 || schedules > 0) && !force {
            return Err(Error::conflict(
                "restore",
                format!(
                    "{} already holds {existing} jobs and {schedules} schedules: expected an \
                     empty store (use --force to merge; existing job ids are kept)",
                    self.backend.url()
                ),
            ));
        }
        let mut added = 0;
        for chunk in file.jobs.chunks(IMPORT_BATCH) {
            added += self.store().job_import_many(chunk.to_vec()).await?;
            progress(chunk.len() as u64);
        }
        let now = self.now();
        if !file.schedules.is_empty() {
            self.store()
                .schedule_sync(ScheduleSyncParams {
                    defs: file.schedules.iter().map(|s| s.def.clone()).collect(),
                    now,
                })
                .await?;
            for s in file.schedules.iter().filter(|s| s.paused) {
                self.store()
                    .schedule_set_paused(s.def.name.clone(), true, now)
                    .await?;
            }
        }
        for d in &file.deploys {
            self.store().deploy_mark(d.clone()).await?;
        }
        tracing::info!(source = %file.source, jobs = added, "restore finished");
        Ok(added)
    }
}
