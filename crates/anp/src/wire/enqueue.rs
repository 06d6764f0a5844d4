//! One job to enqueue, as `anp enqueue`, `anp bulk` and `POST /api/jobs` receive it, and the
//! per-kind limits of a config every one of them applies.

use std::collections::BTreeMap;
use std::path::PathBuf;

use alphanode::{Args, Client, EnqueueOptions, Error, Kind, NewJob, QueueName, Unique};
use serde::{Deserialize, Deserializer};

use crate::cli::parse_timestamp;
use crate::config::{parse_duration, Config, ConfigFile};

/// One job to enqueue, unchecked: `anp enqueue`'s arguments, or a JSON object `{"kind",
/// "args"?, "queue"?, "priority"?, "max_attempts"?, "unique"?, "unique_for"?, "run_at"?,
/// "in"?}` (unknown fields are refused). What is not given takes the library's default
/// (queue `default`, priority 5, 25 attempts, run now, not unique).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnqueueRequest {
    /// Job kind (handler name).
    pub kind: String,
    /// Arguments as JSON text; `{}` when absent. In a JSON request, any JSON value.
    #[serde(default, deserialize_with = "json_text")]
    pub args: Option<String>,
    /// Queue name.
    pub queue: Option<String>,
    /// 0 (runs first) to 9.
    pub priority: Option<u8>,
    /// Attempts before the job goes dead.
    pub max_attempts: Option<u32>,
    /// Unique key: while a job with this key is unfinished in the queue, enqueue answers that
    /// job (a duplicate) instead of adding one.
    pub unique: Option<String>,
    /// With `unique`: finished jobs created within this duration count as duplicates too.
    pub unique_for: Option<String>,
    /// Run at this instant (RFC 3339).
    pub run_at: Option<String>,
    /// Run after this delay (`30s`, `5m`, `1h30m`, `2d`).
    #[serde(rename = "in")]
    pub run_in: Option<String>,
}

/// How errors name the fields that differ between the command line and JSON.
#[derive(Clone, Copy, Debug)]
pub struct Spelling {
    /// The delay (`--in` / `in`).
    pub run_in: &'static str,
    /// The instant (`--at` / `run_at`).
    pub run_at: &'static str,
    /// The unique key (`--unique` / `unique`).
    pub unique: &'static str,
    /// The unique period (`--unique-for` / `unique_for`).
    pub unique_for: &'static str,
}

impl Spelling {
    /// `anp enqueue`'s flags.
    pub const FLAGS: Spelling = Spelling {
        run_in: "--in",
        run_at: "--at",
        unique: "--unique",
        unique_for: "--unique-for",
    };
    /// The JSON fields.
    pub const FIELDS: Spelling = Spelling {
        run_in: "in",
        run_at: "run_at",
        unique: "unique",
        unique_for: "unique_for",
    };
}

impl EnqueueRequest {
    /// Checks everything that can be checked before the store is touched, into what
    /// [`alphanode::Client::new_raw_job`] takes. Errors name fields as `names` spells them.
    pub fn parse(&self, names: Spelling) -> Result<(Kind, Args, EnqueueOptions), Error> {
        let kind = Kind::parse(&self.kind)?;
        let args = match &self.args {
            Some(s) => Args::from_json(s)?,
            None => Args::empty_object(),
        };
        let unique = match (&self.unique, &self.unique_for) {
            (Some(k), period) => {
                let mut u = Unique::key(k.clone())?;
                u.period = period
                    .as_deref()
                    .map(|p| parse_duration(names.unique_for, p))
                    .transpose()?;
                Some(u)
            }
            (None, Some(_)) => {
                return Err(Error::invalid(
                    names.unique_for,
                    format!(
                        "is given without {}: expected a unique key with it",
                        names.unique
                    ),
                ))
            }
            (None, None) => None,
        };
        if self.run_in.is_some() && self.run_at.is_some() {
            return Err(Error::invalid(
                names.run_in,
                format!(
                    "is given with {}: expected one of them, not both",
                    names.run_at
                ),
            ));
        }
        let run_in = self
            .run_in
            .as_deref()
            .map(|d| parse_duration(names.run_in, d))
            .transpose()?;
        let run_at = self
            .run_at
            .as_deref()
            .map(|t| parse_timestamp(names.run_at, t))
            .transpose()?;
        Ok((
            kind,
            args,
            EnqueueOptions {
                queue: self.queue.as_deref().map(QueueName::parse).transpose()?,
                priority: self.priority,
                max_attempts: self.max_attempts,
                run_at,
                run_in,
                unique,
            },
        ))
    }
}

/// The `max_attempts` a config declares for each job kind: what `anp enqueue`, `anp bulk` and
/// `anp serve` give a job enqueued without its own limit, so `jobs list` shows the same
/// `x/3` whichever way a job came in.
#[derive(Debug, Clone, Default)]
pub struct KindLimits {
    /// The config they come from (`None`: no config, so no limits).
    pub path: Option<PathBuf>,
    /// `[[job]]` kinds and their `max_attempts`.
    attempts: BTreeMap<Kind, u32>,
}

impl KindLimits {
    /// The limits of a checked config.
    pub fn of(config: &Config) -> KindLimits {
        KindLimits {
            path: Some(config.path.clone()),
            attempts: config
                .jobs
                .iter()
                .map(|(k, j)| (k.clone(), j.retry.max_attempts))
                .collect(),
        }
    }

    /// The limits of `file`; none, with a warning, when it does not check (the jobs are
    /// enqueued with the defaults; `anp doctor` says what is wrong with it).
    pub fn load(file: &ConfigFile) -> KindLimits {
        match file.load() {
            Ok(c) => KindLimits::of(&c),
            Err(e) => {
                tracing::warn!(
                    error = %e,
                    "the config does not check: its per-kind max_attempts are not applied \
                     (run `anp doctor`)"
                );
                KindLimits {
                    path: Some(file.path.clone()),
                    attempts: BTreeMap::new(),
                }
            }
        }
    }

    /// Whether the config declares `kind`.
    pub fn declares(&self, kind: &Kind) -> bool {
        self.attempts.contains_key(kind)
    }

    /// The job every enqueue path stores (`anp enqueue`, `anp bulk`, `POST /api/jobs` and
    /// `/api/jobs/bulk`): a job without its own `max_attempts` gets its kind's, then the
    /// library checks it ([`Client::new_raw_job`]).
    pub fn job(
        &self,
        client: &Client,
        kind: Kind,
        args: Args,
        mut opts: EnqueueOptions,
    ) -> Result<NewJob, Error> {
        if opts.max_attempts.is_none() {
            opts.max_attempts = self.attempts.get(&kind).copied();
        }
        client.new_raw_job(kind, args, opts)
    }
}

/// Reads any JSON value as its JSON text (`args` is a JSON value in a request, text on the
/// command line).
fn json_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let raw = Box::<serde_json::value::RawValue>::deserialize(d)?;
    Ok(Some(raw.get().to_owned()))
}

#[cfg(test)]
mod tests {
    use super::{EnqueueRequest, Spelling};

    fn request(json: &str) -> EnqueueRequest {
        serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn a_json_request_becomes_options() {
        let r = request(
            r#"{"kind": "email.send", "args": {"to": 1}, "queue": "mail", "priority": 2,
                "unique": "k", "unique_for": "1h", "in": "5m"}"#,
        );
        let (kind, args, opts) = r.parse(Spelling::FIELDS).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(kind.as_str(), "email.send");
        assert_eq!(args.as_json(), r#"{"to": 1}"#);
        assert_eq!(opts.queue.map(|q| q.to_string()).as_deref(), Some("mail"));
        assert_eq!(opts.priority, Some(2));
        assert_eq!(
            opts.unique.and_then(|u| u.period).map(|d| d.as_secs()),
            Some(3600)
        );
        assert_eq!(opts.run_in.map(|d| d.as_secs()), Some(300));
    }

    #[test]
    fn errors_name_fields_as_the_caller_spells_them() {
        let r = request(r#"{"kind": "k", "unique_for": "1h"}"#);
        let e = r.parse(Spelling::FIELDS).err().map(|e| e.to_string());
        assert!(
            e.as_deref()
                .is_some_and(|e| e.starts_with("unique_for: is given without unique")),
            "{e:?}"
        );
        let r = request(r#"{"kind": "k", "in": "soon"}"#);
        let e = r.parse(Spelling::FLAGS).err().map(|e| e.to_string());
        assert!(
            e.as_deref()
                .is_some_and(|e| e.starts_with("--in: \"soon\" is not a duration")),
            "{e:?}"
        );
        let r = request(r#"{"kind": "k", "in": "1m", "run_at": "2030-01-01T00:00:00Z"}"#);
        assert!(r.parse(Spelling::FIELDS).is_err());
        assert!(serde_json::from_str::<EnqueueRequest>(r#"{"kind": "k", "nope": 1}"#).is_err());
    }
}
