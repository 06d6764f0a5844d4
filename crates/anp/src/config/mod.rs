//! `anp.toml`: queues, job kinds (commands and HTTP calls) and worker settings for `anp work`,
//! schedules, and the CDNs cache purges fan out to (`[[cdn]]`).
//!
//! Parsing happens in two steps (ripgrep's low/high split): serde reads what was typed into
//! `Raw*` types, rejecting unknown keys, then [`Config::load`] checks every value and builds
//! the checked [`Config`]. Every error names the file, the line and the key, and what was
//! expected.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use alphanode::{Error, Kind, QueueName, RetryPolicy};
use anp_http::CdnTarget;
mod cdn;
mod raw;
mod schedule;

use raw::{Ctx, RawConfig};

pub use alphanode::parse_duration;

/// The checked configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where it was read from.
    pub path: PathBuf,
    /// `[worker]`.
    pub worker: WorkerSection,
    /// `[[queue]]`, in order.
    pub queues: Vec<QueueSection>,
    /// `[[job]]` by kind.
    pub jobs: BTreeMap<Kind, JobSection>,
    /// `[[schedule]]`, checked (cron expression and zone parsed).
    pub schedules: Vec<alphanode::scheduler::Schedule>,
    /// `[[cdn]]`, checked, in order: where `anp cache purge` fans out to.
    pub cdn: Vec<CdnTarget>,
}

/// `[worker]`.
#[derive(Debug, Clone)]
pub struct WorkerSection {
    pub lease: Duration,
    pub grace: Duration,
    pub max_concurrency: Option<usize>,
    pub strict_order: bool,
    pub finished_max_age: Duration,
    pub finished_max_count: u64,
    pub dead_max_age: Duration,
    pub dead_max_count: u64,
}

/// `[[queue]]`.
#[derive(Debug, Clone)]
pub struct QueueSection {
    pub name: QueueName,
    pub concurrency: usize,
    pub weight: u32,
}

/// `[[job]]`: how a kind runs.
#[derive(Debug, Clone)]
pub struct JobSection {
    pub run: Runner,
    pub timeout: Duration,
    pub retry: RetryPolicy,
}

/// A command or an HTTP call.
#[derive(Debug, Clone)]
pub enum Runner {
    /// argv; args JSON on stdin.
    Command {
        argv: Vec<String>,
        env: BTreeMap<String, String>,
        dir: Option<PathBuf>,
    },
    /// POST args JSON to `url`.
    Http {
        url: String,
        headers: BTreeMap<String, String>,
    },
    /// Completes at once without running anything: `builtin = "noop"`, for benchmarks and
    /// smoke tests of a deployment.
    Noop,
}

/// How a command came to its config file; where its store came from when the config set it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigFrom {
    /// `--config FILE`.
    Flag,
    /// `ANP_CONFIG`.
    Env,
    /// `./anp.toml` in the working directory.
    Cwd,
}

impl ConfigFrom {
    /// As `--json` names it (`"store": {"from": …}`).
    pub fn as_str(self) -> &'static str {
        match self {
            ConfigFrom::Flag => "--config",
            ConfigFrom::Env => "ANP_CONFIG",
            ConfigFrom::Cwd => "./anp.toml",
        }
    }
}

/// A config file, read once: its `store` (read alone, so a command that needs no jobs or
/// schedules is not held up by them) and, on demand, the whole checked [`Config`], both from
/// the same text.
#[derive(Debug)]
pub struct ConfigFile {
    /// The file.
    pub path: PathBuf,
    /// How the command came to it.
    pub from: ConfigFrom,
    /// Its text, or why it could not be read.
    text: Result<String, String>,
}

impl ConfigFile {
    /// Reads `path`.
    pub fn read(path: &Path, from: ConfigFrom) -> ConfigFile {
        ConfigFile {
            path: path.to_owned(),
            from,
            text: std::fs::read_to_string(path).map_err(|e| e.to_string()),
        }
    }

    /// The config every command reads its store from when none is given: `ANP_CONFIG`, else
    /// `./anp.toml` if it exists.
    pub fn discover() -> Option<ConfigFile> {
        match std::env::var_os("ANP_CONFIG") {
            Some(p) if !p.is_empty() => Some(ConfigFile::read(Path::new(&p), ConfigFrom::Env)),
            _ => {
                let p = Path::new("anp.toml");
                p.exists().then(|| ConfigFile::read(p, ConfigFrom::Cwd))
            }
        }
    }

    /// Its `store`, if it names one; an error (the file cannot be read, or is not TOML) says
    /// why — callers report it and ignore the store (`anp doctor` checks the file in full).
    pub fn store(&self) -> Result<Option<String>, String> {
        let text = self.text.as_ref().map_err(String::clone)?;
        let table = text.parse::<toml::Table>().map_err(|e| e.to_string())?;
        Ok(table
            .get("store")
            .and_then(|v| v.as_str())
            .map(str::to_owned))
    }

    /// Its `[http_cache] rules`, the HTTP cache rules file, relative to the config's folder;
    /// `None` when it names none. An error says why the file cannot be read.
    pub fn http_cache_rules(&self) -> Result<Option<PathBuf>, String> {
        let text = self.text.as_ref().map_err(String::clone)?;
        let table = text.parse::<toml::Table>().map_err(|e| e.to_string())?;
        let rules = table
            .get("http_cache")
            .and_then(|v| v.get("rules"))
            .and_then(|v| v.as_str());
        Ok(rules.map(|r| match self.path.parent() {
            Some(dir) if Path::new(r).is_relative() => dir.join(r),
            _ => PathBuf::from(r),
        }))
    }

    /// The whole config, checked ([`Config::parse`]).
    pub fn load(&self) -> Result<Config, Error> {
        match &self.text {
            Ok(text) => Config::parse(&self.path, text),
            Err(e) => Err(unreadable(&self.path, e)),
        }
    }
}

/// The error for a config file that cannot be read.
fn unreadable(path: &Path, e: &str) -> Error {
    Error::invalid(
        "config",
        format!(
            "cannot read {}: {e}: expected a readable anp.toml (see examples/anp.toml)",
            path.display()
        ),
    )
}

impl Config {
    /// Checks config text read from `path`.
    pub fn parse(path: &Path, text: &str) -> Result<Config, Error> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|s| Ctx { path, text }.line(s))
                .map(|l| format!(":{l}"))
                .unwrap_or_default();
            let msg = e.message().trim().replace('\n', " ");
            Error::invalid("config", format!("{}{line}: {msg}", path.display()))
        })?;
        let cx = Ctx { path, text };
        let w = &raw.worker;
        let order_strict = match &w.order {
            None => false,
            Some(o) => match o.get_ref().as_str() {
                "weighted" => false,
                "strict" => true,
                other => {
                    return cx.err(
                        o.span(),
                        "worker.order",
                        format!("{other:?} is not an order: expected \"weighted\" or \"strict\""),
                    )
                }
            },
        };
        let defaults = alphanode::maintenance::pruner::Retention::default();
        let worker = WorkerSection {
            lease: cx.duration(&w.lease, "worker.lease", Duration::from_secs(30))?,
            grace: cx.duration(&w.grace, "worker.grace", Duration::from_secs(25))?,
            max_concurrency: match &w.max_concurrency {
                None => None,
                Some(_) => {
                    Some(
                        cx.int(&w.max_concurrency, "worker.max_concurrency", 1..=10_000, 1)?
                            as usize,
                    )
                }
            },
            strict_order: order_strict,
            finished_max_age: cx.duration(
                &w.keep_finished_for,
                "worker.keep_finished_for",
                defaults.finished_max_age,
            )?,
            finished_max_count: cx.int(
                &w.keep_finished_max,
                "worker.keep_finished_max",
                0..=100_000_000,
                defaults.finished_max_count as i64,
            )? as u64,
            dead_max_age: cx.duration(
                &w.keep_dead_for,
                "worker.keep_dead_for",
                defaults.dead_max_age,
            )?,
            dead_max_count: cx.int(
                &w.keep_dead_max,
                "worker.keep_dead_max",
                0..=100_000_000,
                defaults.dead_max_count as i64,
            )? as u64,
        };
        if worker.lease < Duration::from_secs(1) {
            if let Some(l) = &w.lease {
                return cx.err(
                    l.span(),
                    "worker.lease",
                    "is too short: expected at least 1s",
                );
            }
        }

        let mut queues = Vec::new();
        for q in &raw.queue {
            let name = match QueueName::parse(q.name.get_ref()) {
                Ok(n) => n,
                Err(e) => return cx.err(q.name.span(), "queue.name", e.message()),
            };
            if queues.iter().any(|x: &QueueSection| x.name == name) {
                return cx.err(
                    q.name.span(),
                    "queue.name",
                    format!("{name} is declared twice: expected each queue once"),
                );
            }
            queues.push(QueueSection {
                name,
                concurrency: cx.int(&q.concurrency, "queue.concurrency", 1..=10_000, 10)? as usize,
                weight: cx.int(&q.weight, "queue.weight", 1..=1000, 1)? as u32,
            });
        }

        let mut jobs = BTreeMap::new();
        for j in &raw.job {
            let kind = match Kind::parse(j.kind.get_ref()) {
                Ok(k) => k,
                Err(e) => return cx.err(j.kind.span(), "job.kind", e.message()),
            };
            let run =
                match (&j.command, &j.url, &j.builtin) {
                    (None, None, Some(b)) => match b.get_ref().as_str() {
                        "noop" => Runner::Noop,
                        other => return cx.err(
                            b.span(),
                            "job.builtin",
                            format!("{other:?} is not a builtin: expected \"noop\""),
                        ),
                    },
                    (Some(argv), None, None) => {
                        if argv.get_ref().is_empty() || argv.get_ref()[0].is_empty() {
                            return cx.err(
                            argv.span(),
                            "job.command",
                            "is empty: expected an argv array such as [\"./send.sh\", \"--fast\"]",
                        );
                        }
                        Runner::Command {
                            argv: argv.get_ref().clone(),
                            env: j.env.clone(),
                            dir: j.dir.clone(),
                        }
                    }
                    (None, Some(url), None) => {
                        let u = url.get_ref();
                        if !(u.starts_with("http://") || u.starts_with("https://"))
                            || reqwest::Url::parse(u).is_err()
                        {
                            return cx.err(
                                url.span(),
                                "job.url",
                                format!("{u:?} is not a URL: expected http:// or https://"),
                            );
                        }
                        Runner::Http {
                            url: u.clone(),
                            headers: j.headers.clone(),
                        }
                    }
                    _ => return cx.err(
                        j.kind.span(),
                        &format!("job {kind}"),
                        "expected exactly one of `command` (argv array), `url` (HTTP endpoint) or `builtin`",
                    ),
                };
            let mut retry = RetryPolicy {
                max_attempts: cx.int(&j.max_attempts, "job.max_attempts", 1..=1000, 25)? as u32,
                ..RetryPolicy::default()
            };
            if j.backoff_base.is_some() {
                retry.base_secs = cx
                    .duration(&j.backoff_base, "job.backoff_base", Duration::from_secs(15))?
                    .as_secs_f64();
            }
            if j.backoff_max.is_some() {
                retry.max_delay_secs = cx
                    .duration(&j.backoff_max, "job.backoff_max", Duration::from_secs(1))?
                    .as_secs_f64();
            }
            let section = JobSection {
                run,
                timeout: cx.duration(&j.timeout, "job.timeout", Duration::from_secs(300))?,
                retry,
            };
            if jobs.insert(kind.clone(), section).is_some() {
                return cx.err(
                    j.kind.span(),
                    "job.kind",
                    format!("{kind} is declared twice: expected each kind once"),
                );
            }
        }
        let mut schedules = Vec::new();
        for r in &raw.schedule {
            schedules.push(cx.schedule(r)?);
        }
        if let Some(dup) = schedules.iter().enumerate().find_map(|(i, s)| {
            schedules[..i]
                .iter()
                .any(|o: &alphanode::scheduler::Schedule| o.def().name == s.def().name)
                .then_some(i)
        }) {
            let r = &raw.schedule[dup];
            return cx.err(
                r.name.span(),
                "schedule.name",
                format!(
                    "{} is declared twice: expected unique schedule names",
                    r.name.get_ref()
                ),
            );
        }
        let mut cdn: Vec<CdnTarget> = Vec::new();
        for r in &raw.cdn {
            let t = cx.cdn(r)?;
            if cdn.iter().any(|o| o.name() == t.name()) {
                return cx.err(
                    r.name.span(),
                    "cdn.name",
                    format!("{} is declared twice: expected unique CDN names", t.name()),
                );
            }
            cdn.push(t);
        }
        Ok(Config {
            path: path.to_owned(),
            worker,
            queues,
            jobs,
            schedules,
            cdn,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, Error> {
        Config::parse(Path::new("anp.toml"), text)
    }

    #[test]
    fn durations() {
        assert_eq!(
            parse_duration("d", "30s").ok(),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_duration("d", "1h30m").ok(),
            Some(Duration::from_secs(5400))
        );
        assert_eq!(
            parse_duration("d", "2d").ok(),
            Some(Duration::from_secs(172_800))
        );
        assert_eq!(
            parse_duration("d", "500ms").ok(),
            Some(Duration::from_millis(500))
        );
        let e = parse_duration("--in", "soon").unwrap_err().to_string();
        assert_eq!(e, "--in: \"soon\" is not a duration: expected a positive duration such as 500ms, 30s, 5m, 1h30m or 2d; not retried");
    }

    #[test]
    fn unknown_key_names_file_line_and_key() {
        let e = parse("[[queue]]\nname = \"a\"\nconcurency = 3\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("config: anp.toml:3: unknown field `concurency`"),
            "{e}"
        );
        assert!(e.contains("expected one of"), "{e}");
    }

    #[test]
    fn bad_values_name_line_and_key() {
        let e = parse("[[queue]]\nname = \"Bad Queue!\"\n")
            .unwrap_err()
            .to_string();
        assert_eq!(e, "config: anp.toml:2: queue.name: \"Bad Queue!\" is invalid: expected 1-64 chars of [a-z0-9_-]; not retried");
        let e = parse("[[job]]\nkind = \"x\"\ncommand = [\"true\"]\ntimeout = \"forever\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("config: anp.toml:4: job.timeout: \"forever\" is not a duration"),
            "{e}"
        );
        let e = parse("[[job]]\nkind = \"x\"\n").unwrap_err().to_string();
        assert!(
            e.contains("anp.toml:2: job x: expected exactly one of `command`"),
            "{e}"
        );
        let e = parse("[[queue]]\nname = \"a\"\nconcurrency = 0\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("anp.toml:3: queue.concurrency: 0 is out of range: expected 1-10000"),
            "{e}"
        );
    }

    #[test]
    fn a_config_file_gives_its_store_without_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("anp.toml");
        // The [[job]] does not check, the store is still read.
        std::fs::write(&path, "store = \"sqlite://x.db\"\n[[job]]\nkind = \"x\"\n").unwrap();
        let f = ConfigFile::read(&path, ConfigFrom::Flag);
        assert_eq!(f.store(), Ok(Some("sqlite://x.db".to_owned())));
        assert!(f.load().is_err());
        let missing = ConfigFile::read(&dir.path().join("nope.toml"), ConfigFrom::Env);
        assert!(missing.store().is_err());
        assert!(missing
            .load()
            .unwrap_err()
            .to_string()
            .starts_with("config: cannot read"));
    }

    #[test]
    fn cdn_targets_are_checked_with_file_and_line() {
        let c = parse(
            r#"
[[cdn]]
name = "varnish-eu"
kind = "varnish"
url = "http://127.0.0.1:6081"
[[cdn]]
name = "cloudflare"
kind = "cloudflare"
zone_id = "023e105f4ecef8ad9ca31a8372d0c353"
api_token_env = "CLOUDFLARE_API_TOKEN"
api_base = "http://127.0.0.1:9/client/v4"
plan = "business"
"#,
        )
        .unwrap();
        assert_eq!(c.cdn.len(), 2);
        assert_eq!(c.cdn[0].name(), "varnish-eu");
        assert_eq!(c.cdn[1].kind(), "cloudflare");
        match &c.cdn[1] {
            CdnTarget::Cloudflare(cf) => {
                assert_eq!(cf.plan(), anp_http::purge::CloudflarePlan::Business)
            }
            other => panic!("{other:?}"),
        }
        let e = parse("[[cdn]]\nname = \"cf\"\nkind = \"cloudflare\"\nzone_id = \"023e105f4ecef8ad9ca31a8372d0c353\"\napi_token_env = \"T\"\nplan = \"gold\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("anp.toml:6: cdn cf: plan \"gold\" is not a Cloudflare plan"),
            "{e}"
        );
        let e = parse("[[cdn]]\nname = \"v\"\nkind = \"varnish\"\nurl = \"http://127.0.0.1:6081\"\nplan = \"pro\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("`plan` does not apply to kind \"varnish\""),
            "{e}"
        );
        let e = parse("[[cdn]]\nname = \"cf\"\nkind = \"cloudflare\"\nzone_id = \"023e105f4ecef8ad9ca31a8372d0c353\"\napi_token = \"secret\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("config: anp.toml:5: unknown field `api_token`"),
            "{e}"
        );
        assert!(!e.contains("secret"), "{e}");
        let e = parse("[[cdn]]\nname = \"v\"\nkind = \"varnish\"\nurl = \"http://127.0.0.1:6081\"\nzone_id = \"x\"\n")
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "config: anp.toml:5: cdn v: `zone_id` does not apply to kind \"varnish\"; not retried"
        );
        let e = parse("[[cdn]]\nname = \"v\"\nkind = \"fastly\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("anp.toml:3: cdn.kind: \"fastly\" is not a CDN kind"),
            "{e}"
        );
        let e = parse("[[cdn]]\nname = \"cf\"\nkind = \"cloudflare\"\nzone_id = \"nope\"\napi_token_env = \"T\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("anp.toml:4: cdn cf:") && e.contains("32 hex"),
            "{e}"
        );
        let e = parse("[[cdn]]\nname = \"v\"\nkind = \"varnish\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("anp.toml:3: cdn v: kind \"varnish\" needs `url`"),
            "{e}"
        );
    }

    #[test]
    fn full_config() {
        let c = parse(
            r#"
store = "sqlite://x.db"
[worker]
lease = "10s"
order = "strict"
max_concurrency = 4
[[queue]]
name = "default"
concurrency = 2
[[job]]
kind = "echo"
command = ["sh", "-c", "cat"]
timeout = "5s"
max_attempts = 3
[[job]]
kind = "hook"
url = "http://127.0.0.1:9/x"
"#,
        )
        .unwrap();
        assert_eq!(c.worker.lease, Duration::from_secs(10));
        assert!(c.worker.strict_order);
        assert_eq!(c.queues[0].concurrency, 2);
        assert_eq!(c.jobs.len(), 2);
    }
}
