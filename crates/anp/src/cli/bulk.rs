//! `anp bulk FILE`: enqueue many jobs from JSONL, safe to run again.
//!
//! One JSON object per line (the fields are listed in [`LINE_FORMAT`], which `anp bulk --help`
//! prints). Every line gets a unique key — its own `unique`, else one derived by `--unique-by`
//! (a hash of the line, or a template over its fields) — so running the same file again, after
//! it finished or after it stopped halfway, enqueues only the lines whose key no job holds.
//!
//! The whole file is read and checked first (JSON, fields, keys), so a bad line stores nothing;
//! then the jobs go in atomic batches, in line order. A failed batch is reported with the line
//! it starts at and what was committed before it.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::io::BufRead;
use std::path::PathBuf;
use std::time::Duration;

use alphanode::{Admin, Client, Error, NewJob};
use clap::Args as ClapArgs;
use indicatif::{HumanCount, HumanFloatCount, ProgressState, ProgressStyle};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::enqueue::warn_undeclared;
use super::Ctx;
use crate::config::{parse_duration, ConfigFile};
use crate::output;
use crate::wire::{EnqueueRequest, KindLimits, Spelling};

/// The line format and the re-run rules, printed after the options by `anp bulk --help`.
pub const LINE_FORMAT: &str = "\
LINE FORMAT
  One JSON object per line, one job per line; blank lines are skipped, other fields are rejected.
  Example:
    {\"kind\": \"email.send\", \"args\": {\"to\": \"ada@example.com\"}, \"queue\": \"mail\", \"in\": \"10m\"}

  kind          required: the job kind (handler name), e.g. email.send
  args          any JSON value handed to the handler; default {}
  queue         queue name, 1-64 chars of [a-z0-9_-]; default \"default\"
  priority      0 (runs first) to 9 (runs last); default 5
  max_attempts  attempts before the job goes dead, at least 1; default: the kind's
                max_attempts in anp.toml, else 25
  run_at        run at this instant, RFC 3339 (2026-11-25T18:00:00Z); not with `in`
  in            run after this delay (30s, 5m, 1h30m, 2d); not with `run_at`
  unique        this job's unique key, 1-255 chars; wins over --unique-by
  unique_for    also skip this line while a finished job with its key was created within
                this period (e.g. 24h); wins over --unique-for

RUNNING IT AGAIN
  Every line gets a unique key: its own `unique`, else the one --unique-by makes (by default a
  hash of the line). A line is skipped, and counted as already enqueued, when a job in the same
  queue holds its key. A second run of the same file, or of a file whose import stopped
  halfway, enqueues only the lines that are missing. A line whose key an earlier line of the
  same file has is skipped too (counted as repeated).

  How long a key holds: while its job is not finished (scheduled, available, running or
  waiting for a retry). Once the job is completed, cancelled or dead the key is free and the
  same line is enqueued again, unless --unique-for (or the line's unique_for) is given: then a
  finished job created within that period still holds the key, for as long as the store keeps
  it (a worker's retention: keep_finished_for, default 1 day and at most 100,000 jobs per
  queue; dead jobs 180 days).

WHAT IS ATOMIC
  The whole file is read and checked (JSON, fields, names, keys) before anything is stored: a
  bad line stops the import with its line number and nothing is enqueued. Jobs are then
  stored in batches of --batch lines, in line order; each batch is one atomic write (all of it
  or none). If a batch fails, anp names the line it starts at and how many lines were
  committed before it; running the same command again enqueues the rest.";

/// Options of `anp bulk`.
#[derive(ClapArgs, Debug)]
#[command(
    after_help = "The fields a line may carry, when a re-run skips a line, and what is atomic: anp bulk --help",
    after_long_help = LINE_FORMAT
)]
pub struct BulkArgs {
    /// JSONL file, or `-` for stdin. `anp bulk --help` lists the fields a line may carry.
    pub file: PathBuf,
    /// Jobs per atomic batch.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=50_000))]
    pub batch: u32,
    /// How each line's unique key is made, so that a re-run skips what is already enqueued:
    /// `line` hashes the whole line (keys sorted, spacing ignored: `bulk:` and 32 hex digits of
    /// its SHA-256); a template such as '{kind}:{args.row}' puts each {field} of the line in the
    /// key (dotted paths into the line's JSON; a missing field is an error naming the line;
    /// `{{` and `}}` are literal braces); `none` makes no key (every run enqueues every line).
    /// A line's own `unique` wins.
    #[arg(long, value_name = "line|none|TEMPLATE", default_value = "line")]
    pub unique_by: String,
    /// Also skip a line while a finished (completed, cancelled, dead) job with its key was
    /// created within this period, e.g. 24h: a completed import run again within it enqueues
    /// nothing. Without it a key is free again once its job has finished. A line's own
    /// `unique_for` wins.
    #[arg(long, value_name = "DURATION")]
    pub unique_for: Option<String>,
}

/// How a line without its own `unique` gets its key (`--unique-by`).
#[derive(Debug)]
enum KeyBy {
    /// `bulk:` and the first 128 bits of the SHA-256 of the line's canonical JSON, in hex.
    Line,
    /// No key.
    None,
    /// A template over the line's fields.
    Template(Template),
}

impl KeyBy {
    fn parse(s: &str) -> Result<KeyBy, Error> {
        match s {
            "line" => Ok(KeyBy::Line),
            "none" => Ok(KeyBy::None),
            t if t.contains('{') => Template::parse(t).map(KeyBy::Template),
            _ => Err(Error::invalid(
                "--unique-by",
                format!(
                    "{s:?} is invalid: expected line, none, or a template with {{field}}s such as '{{kind}}:{{args.row}}'"
                ),
            )),
        }
    }

    /// The key of a line (`None` for `--unique-by none`).
    fn key(&self, text: &str) -> Result<Option<String>, Error> {
        let value = || {
            serde_json::from_str::<Value>(text)
                .map_err(|e| Error::invalid("line", format!("{e}: expected one JSON object")))
        };
        match self {
            KeyBy::None => Ok(None),
            KeyBy::Line => {
                let mut canon = String::with_capacity(text.len());
                canonical(&value()?, &mut canon);
                let digest = Sha256::digest(canon.as_bytes());
                let mut key = String::from("bulk:");
                for b in &digest[..16] {
                    let _ = write!(key, "{b:02x}");
                }
                Ok(Some(key))
            }
            KeyBy::Template(t) => t.render(&value()?).map(Some),
        }
    }
}

/// A `--unique-by` template: text with `{dotted.path}` fields.
#[derive(Debug)]
struct Template(Vec<Piece>);

#[derive(Debug, PartialEq)]
enum Piece {
    Text(String),
    Field(String),
}

impl Template {
    fn parse(s: &str) -> Result<Template, Error> {
        let bad = |why: &str| {
            Error::invalid(
                "--unique-by",
                format!("template {s:?} {why}: expected text with {{field}}s such as '{{kind}}:{{args.row}}' ({{{{ and }}}} for literal braces)"),
            )
        };
        let mut pieces = Vec::new();
        let mut text = String::new();
        let mut chars = s.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    text.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    text.push('}');
                }
                '}' => return Err(bad("has a } without its {")),
                '{' => {
                    let mut path = String::new();
                    loop {
                        match chars.next() {
                            Some('}') => break,
                            Some('{') | None => return Err(bad("has a { without its }")),
                            Some(c) => path.push(c),
                        }
                    }
                    if path.is_empty() || path.split('.').any(str::is_empty) {
                        return Err(bad(&format!("has an empty field name in {{{path}}}")));
                    }
                    if !text.is_empty() {
                        pieces.push(Piece::Text(std::mem::take(&mut text)));
                    }
                    pieces.push(Piece::Field(path));
                }
                c => text.push(c),
            }
        }
        if !text.is_empty() {
            pieces.push(Piece::Text(text));
        }
        if !pieces.iter().any(|p| matches!(p, Piece::Field(_))) {
            return Err(bad("has no {field}, so every line would get the same key"));
        }
        Ok(Template(pieces))
    }

    /// Fills the fields from `line`: strings as they are, other values as canonical JSON.
    fn render(&self, line: &Value) -> Result<String, Error> {
        let mut key = String::new();
        for piece in &self.0 {
            match piece {
                Piece::Text(t) => key.push_str(t),
                Piece::Field(path) => match lookup(line, path) {
                    Some(Value::String(s)) => key.push_str(s),
                    Some(Value::Null) | None => {
                        return Err(Error::invalid(
                            "--unique-by",
                            format!("field {path:?} is missing: expected every line to have it, as the template {{{path}}} uses it"),
                        ))
                    }
                    Some(v) => canonical(v, &mut key),
                },
            }
        }
        Ok(key)
    }
}

/// The value at a dotted path (`args.items.0.id`: object keys, array indexes).
fn lookup<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(v, |v, seg| match v {
        Value::Object(m) => m.get(seg),
        Value::Array(a) => seg.parse::<usize>().ok().and_then(|i| a.get(i)),
        _ => None,
    })
}

/// JSON with object keys sorted and no spaces, whatever order and spacing the line used.
fn canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(m) => {
            let mut fields: Vec<_> = m.iter().collect();
            fields.sort_unstable_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (k, v)) in fields.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                let _ = write!(out, "{}:", Value::from(k.as_str()));
                canonical(v, out);
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, v) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(v, out);
            }
            out.push(']');
        }
        other => {
            let _ = write!(out, "{other}");
        }
    }
}

/// Checks one line and builds its job, with its unique key. A line is the body of
/// `POST /api/jobs` ([`EnqueueRequest`], checked by the same code, with the config's per-kind
/// `max_attempts`); bulk adds the key (`--unique-by`) and the period (`--unique-for`) where the
/// line has none of its own.
fn parse_line(
    client: &Client,
    limits: &KindLimits,
    text: &str,
    key_by: &KeyBy,
    unique_for: Option<Duration>,
) -> Result<NewJob, Error> {
    let mut req: EnqueueRequest = serde_json::from_str(text).map_err(|e| {
        Error::invalid(
            "line",
            format!("{e}: expected {{\"kind\": \"...\", \"args\": {{...}}}} with optional queue, priority, max_attempts, run_at, in, unique, unique_for (anp bulk --help)"),
        )
    })?;
    if req.unique.is_none() {
        req.unique = key_by.key(text)?;
    }
    let own_period = req.unique_for.is_some();
    if req.unique.is_none() && !own_period && unique_for.is_some() {
        return Err(Error::invalid(
            "unique_for",
            "needs a unique key: expected a `unique` field or --unique-by line|TEMPLATE",
        ));
    }
    let (kind, args, mut opts) = req.parse(Spelling::FIELDS)?;
    if !own_period {
        if let Some(u) = opts.unique.as_mut() {
            u.period = unique_for;
        }
    }
    limits.job(client, kind, args, opts)
}

/// "283,420/s": a rate for people, rounded to the unit.
fn per_sec(rate: f64) -> String {
    format!("{:.0}/s", HumanFloatCount(rate.max(0.0)))
}

/// `1 line` / `12,345 lines`: a count for people.
fn count(n: u64, what: &str) -> String {
    format!("{} {what}{}", HumanCount(n), if n == 1 { "" } else { "s" })
}

/// The checked file: each job with its line number, and how many lines repeated a key.
struct Checked {
    jobs: Vec<(u64, NewJob)>,
    repeated: u64,
}

/// Reads and checks every line before anything is stored.
fn check_all(
    name: &str,
    reader: Box<dyn BufRead>,
    client: &Client,
    limits: &KindLimits,
    key_by: &KeyBy,
    unique_for: Option<Duration>,
) -> Result<Checked, Error> {
    let mut jobs = Vec::new();
    let mut seen: HashSet<(String, String)> = HashSet::new();
    let mut repeated = 0u64;
    for (no, line) in (1u64..).zip(reader.lines()) {
        let line =
            line.map_err(|e| Error::invalid("bulk", format!("{name}:{no}: cannot read: {e}")))?;
        if line.trim().is_empty() {
            continue;
        }
        let job = parse_line(client, limits, &line, key_by, unique_for).map_err(|e| {
            Error::invalid(
                "bulk",
                format!(
                    "{name}:{no}: {}: {}; nothing was enqueued",
                    e.op(),
                    e.message()
                ),
            )
        })?;
        if let Some(u) = &job.unique {
            // Keys are per queue; the store would answer "duplicate" for this line too.
            if !seen.insert((job.queue.as_str().to_owned(), u.key.clone())) {
                repeated += 1;
                continue;
            }
        }
        jobs.push((no, job));
    }
    Ok(Checked { jobs, repeated })
}

/// What the batches did so far.
#[derive(Default)]
struct Tally {
    enqueued: u64,
    skipped: u64,
}

/// The error of a batch that failed: where the import stopped and whether a re-run is safe.
fn stopped(name: &str, first: u64, last: u64, t: &Tally, a: &BulkArgs, e: &Error) -> Error {
    let rerun = if a.unique_by == "none" {
        format!("with --unique-by none a re-run would enqueue the committed lines again (but those with their own `unique`); enqueue the rest with: tail -n +{first} {name} | anp bulk --unique-by none -")
    } else {
        let when = if e.retry_safe() {
            "run the same command again"
        } else {
            "once that is fixed, run the same command again"
        };
        // A period given on the re-run applies to the keys stored by this run too.
        let finished = if a.unique_for.is_some() {
            ""
        } else {
            " while their jobs are unfinished (add --unique-for 1d if workers may finish some before the re-run)"
        };
        format!("{when} to enqueue the rest: committed lines are skipped by their unique keys{finished}")
    };
    Error::new(
        "bulk",
        e.kind(),
        format!(
            "{name}: stopped at line {first}: {}: {}; lines {first}-{last} (one atomic batch) were not stored, lines before {first} are committed ({} enqueued, {} skipped as already enqueued); {rerun}",
            e.op(),
            e.message(),
            t.enqueued,
            t.skipped,
        ),
        e.retry_safe(),
    )
}

/// Runs `anp bulk`.
pub async fn run(ctx: &Ctx, a: BulkArgs) -> anyhow::Result<()> {
    let key_by = KeyBy::parse(&a.unique_by)?;
    let unique_for = a
        .unique_for
        .as_deref()
        .map(|p| parse_duration("--unique-for", p))
        .transpose()?;
    if unique_for.is_some() && matches!(key_by, KeyBy::None) {
        return Err(Error::invalid(
            "--unique-for",
            "needs unique keys: expected --unique-by line or a template, not none",
        )
        .into());
    }
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
    // The config is read once, for its store and its kinds' limits.
    let config = ConfigFile::discover();
    let backend = ctx.open(config.as_ref()).await?;
    let limits = config.as_ref().map(KindLimits::load).unwrap_or_default();
    let client = Client::new(backend.clone());
    let Checked { jobs, repeated } =
        check_all(&name, reader, &client, &limits, &key_by, unique_for)?;
    let kinds = jobs.iter().map(|(_, j)| (&j.kind, &j.queue));
    warn_undeclared(&Admin::new(backend), &limits, kinds).await;
    let total = jobs.len() as u64;
    let pb = output::progress(total, ctx.json, "enqueue");
    if !pb.is_hidden() {
        let style = ProgressStyle::with_template(
            "{msg} [{elapsed_precise}] {wide_bar} {pos}/{len} ({rate}, eta {eta})",
        )
        .map(|s| {
            s.with_key("rate", |s: &ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = w.write_str(&per_sec(s.per_sec()));
            })
        });
        if let Ok(style) = style {
            pb.set_style(style);
        }
    }
    let mut t = Tally::default();
    let started = std::time::Instant::now();
    let mut rest = jobs.into_iter().peekable();
    while rest.peek().is_some() {
        let batch: Vec<(u64, NewJob)> = rest.by_ref().take(a.batch as usize).collect();
        let (first, last) = (batch[0].0, batch[batch.len() - 1].0);
        let n = batch.len() as u64;
        let res = match client
            .insert_many(batch.into_iter().map(|(_, j)| j).collect())
            .await
        {
            Ok(res) => res,
            Err(e) => {
                pb.finish_and_clear();
                // main prints it (and `--json` puts it in {"error": …}), with the exit code of
                // the store's error.
                return Err(stopped(&name, first, last, &t, &a, &e).into());
            }
        };
        let d = res.iter().filter(|r| r.duplicate).count() as u64;
        t.skipped += d;
        t.enqueued += n - d;
        pb.inc(n);
    }
    pb.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    let rate = if secs > 0.0 { total as f64 / secs } else { 0.0 };
    if ctx.json {
        ctx.json_object(&serde_json::json!({
            "enqueued": t.enqueued,
            "skipped": t.skipped,
            "repeated": repeated,
            "duplicates": t.skipped + repeated,
            "lines": total + repeated,
            "unique_by": a.unique_by,
            "seconds": secs,
            "per_s": rate.round() as u64,
        }))?;
    } else {
        let mut msg = format!(
            "enqueued {}, skipped {} already enqueued",
            count(t.enqueued, "job"),
            count(t.skipped, "line")
        );
        if repeated > 0 {
            let _ = write!(
                msg,
                " and {} repeating an earlier line's key",
                count(repeated, "line")
            );
        }
        let _ = write!(
            msg,
            " ({} in {secs:.2}s, {})",
            count(total + repeated, "line"),
            per_sec(rate)
        );
        if matches!(key_by, KeyBy::None) {
            msg.push_str("; --unique-by none: running it again enqueues every line again");
        }
        println!("{msg}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_print_with_separators() {
        assert_eq!(count(1, "line"), "1 line");
        assert_eq!(count(200_000, "job"), "200,000 jobs");
    }

    #[test]
    fn rates_print_rounded_with_separators() {
        assert_eq!(per_sec(283_419.925), "283,420/s");
        assert_eq!(per_sec(0.4), "0/s");
        assert_eq!(per_sec(999.5), "1,000/s");
    }

    #[test]
    fn the_line_key_ignores_key_order_and_spacing() {
        let a = KeyBy::Line.key(r#"{"kind": "a", "args": {"x": 1, "y": [1, {"b": 2, "a": 1}]}}"#);
        let b = KeyBy::Line.key(r#"{"args":{"y":[1,{"a":1,"b":2}],"x":1},"kind":"a"}"#);
        let c = KeyBy::Line.key(r#"{"args":{"y":[1,{"a":1,"b":3}],"x":1},"kind":"a"}"#);
        let a = a.unwrap_or_else(|e| panic!("{e}")).unwrap_or_default();
        assert_eq!(Some(a.clone()), b.unwrap_or_else(|e| panic!("{e}")));
        assert_ne!(Some(a.clone()), c.unwrap_or_else(|e| panic!("{e}")));
        assert!(a.starts_with("bulk:") && a.len() == 5 + 32, "{a}");
    }

    #[test]
    fn templates_fill_dotted_paths() {
        let t = Template::parse("{kind}:{args.row}:{args.tags.1}:{{x}}")
            .unwrap_or_else(|e| panic!("{e}"));
        let line = serde_json::json!({"kind": "imp", "args": {"row": 7, "tags": ["a", "b"]}});
        assert_eq!(
            t.render(&line).unwrap_or_else(|e| panic!("{e}")),
            "imp:7:b:{x}"
        );
        let missing = serde_json::json!({"kind": "imp", "args": {}});
        let e = t.render(&missing).err().map(|e| e.to_string());
        assert!(
            e.as_deref().unwrap_or_default().contains("\"args.row\""),
            "{e:?}"
        );
    }

    #[test]
    fn bad_templates_are_refused() {
        for t in ["{kind", "kind}", "{}", "{args..row}", "plain", "{a{b}}"] {
            assert!(KeyBy::parse(t).is_err(), "{t} was accepted");
        }
        assert!(matches!(KeyBy::parse("line"), Ok(KeyBy::Line)));
        assert!(matches!(KeyBy::parse("none"), Ok(KeyBy::None)));
    }
}
