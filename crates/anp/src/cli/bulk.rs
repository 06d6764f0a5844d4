//! `anp bulk FILE`: enqueue many jobs from JSONL.
//!
//! One JSON object per line: `{"kind": "email.send", "args": {...}}` plus optional `queue`,
//! `priority`, `max_attempts`, `unique` (key), `run_at` (RFC 3339) or `in` (duration). Blank
//! lines are skipped. The whole file is checked before anything is enqueued, so a bad line
//! changes nothing; then jobs go in atomic batches.

use std::io::BufRead;
use std::path::PathBuf;

use alphanode::Error;
use alphanode::{Args, Client, EnqueueOptions, Kind, NewJob, QueueName, Unique};
use clap::Args as ClapArgs;
use serde::Deserialize;

use super::{parse_timestamp, Ctx};
use crate::config::parse_duration;
use crate::output;

/// Options of `anp bulk`.
#[derive(ClapArgs, Debug)]
pub struct BulkArgs {
    /// JSONL file, or `-` for stdin.
    pub file: PathBuf,
    /// Jobs per atomic batch.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=50_000))]
    pub batch: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    kind: String,
    #[serde(default)]
    args: Option<Box<serde_json::value::RawValue>>,
    queue: Option<String>,
    priority: Option<u8>,
    max_attempts: Option<u32>,
    unique: Option<String>,
    run_at: Option<String>,
    #[serde(rename = "in")]
    run_in: Option<String>,
}

fn parse_line(client: &Client, text: &str) -> Result<NewJob, Error> {
    let l: Line = serde_json::from_str(text).map_err(|e| {
        Error::invalid(
            "line",
            format!("{e}: expected {{\"kind\": \"...\", \"args\": {{...}}}} with optional queue, priority, max_attempts, unique, run_at, in"),
        )
    })?;
    let kind = Kind::parse(&l.kind)?;
    let args = match l.args {
        Some(raw) => Args::from_json(raw.get())?,
        None => Args::empty_object(),
    };
    let opts = EnqueueOptions {
        queue: l.queue.as_deref().map(QueueName::parse).transpose()?,
        priority: l.priority,
        max_attempts: l.max_attempts,
        run_at: l
            .run_at
            .as_deref()
            .map(|t| parse_timestamp("run_at", t))
            .transpose()?,
        run_in: l
            .run_in
            .as_deref()
            .map(|d| parse_duration("in", d))
            .transpose()?,
        unique: l.unique.map(Unique::key).transpose()?,
    };
    client.new_raw_job(kind, args, opts)
}

/// Runs `anp bulk`.
pub async fn run(ctx: &Ctx, a: BulkArgs) -> anyhow::Result<()> {
    let name = a.file.display().to_string();
    let reader: Box<dyn BufRead> = if name == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        Box::new(std::io::BufReader::new(
            std::fs::File::open(&a.file).map_err(|e| {
                Error::invalid(
                    "bulk",
                    format!("cannot read {name}: {e}: expected a readable JSONL file"),
                )
            })?,
        ))
    };
    let store = ctx.open(None).await?;
    let client = Client::new(store);
    let mut jobs = Vec::new();
    for (i, line) in reader.lines().enumerate() {
        let line = line
            .map_err(|e| Error::invalid("bulk", format!("{name}:{}: cannot read: {e}", i + 1)))?;
        if line.trim().is_empty() {
            continue;
        }
        let job = parse_line(&client, &line).map_err(|e| {
            Error::invalid(
                "bulk",
                format!(
                    "{name}:{}: {}: {}; nothing was enqueued",
                    i + 1,
                    e.op(),
                    e.message()
                ),
            )
        })?;
        jobs.push(job);
    }
    let total = jobs.len() as u64;
    let pb = output::progress(total, ctx.json, "enqueue");
    let (mut added, mut duplicates) = (0u64, 0u64);
    let started = std::time::Instant::now();
    let mut rest = jobs;
    while !rest.is_empty() {
        let tail = rest.split_off(rest.len().min(a.batch as usize));
        let batch = std::mem::replace(&mut rest, tail);
        let n = batch.len() as u64;
        let res = client.insert_many(batch).await.map_err(|e| {
            anyhow::Error::new(e).context(format!(
                "bulk: {added} of {total} jobs were enqueued before this failure (each batch is atomic)"
            ))
        })?;
        let d = res.iter().filter(|r| r.duplicate).count() as u64;
        duplicates += d;
        added += n - d;
        pb.inc(n);
    }
    pb.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    if ctx.json {
        output::json(&serde_json::json!({
            "enqueued": added, "duplicates": duplicates, "lines": total, "seconds": secs,
        }))?;
    } else {
        println!("enqueued {added} jobs ({duplicates} duplicates skipped) in {secs:.2}s");
    }
    Ok(())
}
