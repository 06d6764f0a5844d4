//! What was typed: the `Raw*` serde types (unknown keys rejected, values kept with their byte
//! spans) and [`Ctx`], which turns a span into `file:line: key: message` errors.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use alphanode::Error;
use serde::Deserialize;
use serde_spanned::Spanned;

use super::parse_duration;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    // Checked here (a string, the one top-level key besides the sections); commands read it
    // on its own, leniently, with `ConfigFile::store`.
    #[allow(dead_code)]
    pub(super) store: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) worker: RawWorker,
    #[serde(default)]
    pub(super) queue: Vec<RawQueue>,
    #[serde(default)]
    pub(super) job: Vec<RawJob>,
    #[serde(default)]
    pub(super) schedule: Vec<RawSchedule>,
    // Read on its own by `anp cache rules` ([`super::ConfigFile::http_cache_rules`]); here
    // only so the key is known.
    #[allow(dead_code)]
    pub(super) http_cache: Option<RawHttpCache>,
    #[serde(default)]
    pub(super) cdn: Vec<RawCdn>,
}

/// `[http_cache]`: where the HTTP cache rules file is (`anp cache rules`, `anp proxy`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHttpCache {
    #[allow(dead_code)]
    pub(super) rules: Option<Spanned<String>>,
}

/// `[[cdn]]`: a CDN that `anp cache purge` fans out to. Which keys apply depends on `kind`
/// (checked in `cdn.rs`); a key no kind knows (`api_token` among them: secrets come from the
/// environment) is rejected here.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCdn {
    pub(super) name: Spanned<String>,
    pub(super) kind: Spanned<String>,
    pub(super) url: Option<Spanned<String>>,
    pub(super) zone_id: Option<Spanned<String>>,
    pub(super) api_token_env: Option<Spanned<String>>,
    pub(super) api_base: Option<Spanned<String>>,
    pub(super) plan: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSchedule {
    pub(super) name: Spanned<String>,
    pub(super) cron: Spanned<String>,
    pub(super) tz: Option<Spanned<String>>,
    pub(super) kind: Spanned<String>,
    pub(super) args: Option<toml::Value>,
    pub(super) queue: Option<Spanned<String>>,
    pub(super) priority: Option<Spanned<i64>>,
    pub(super) max_attempts: Option<Spanned<i64>>,
    pub(super) owner: Option<String>,
    pub(super) expected: Option<String>,
    pub(super) rollback: Option<String>,
    pub(super) catch_up: Option<Spanned<String>>,
    pub(super) catch_up_max: Option<Spanned<i64>>,
    #[serde(default)]
    pub(super) skip_if_running: bool,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawWorker {
    pub(super) lease: Option<Spanned<String>>,
    pub(super) grace: Option<Spanned<String>>,
    pub(super) max_concurrency: Option<Spanned<i64>>,
    pub(super) order: Option<Spanned<String>>,
    pub(super) keep_finished_for: Option<Spanned<String>>,
    pub(super) keep_finished_max: Option<Spanned<i64>>,
    pub(super) keep_dead_for: Option<Spanned<String>>,
    pub(super) keep_dead_max: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawQueue {
    pub(super) name: Spanned<String>,
    pub(super) concurrency: Option<Spanned<i64>>,
    pub(super) weight: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawJob {
    pub(super) kind: Spanned<String>,
    pub(super) command: Option<Spanned<Vec<String>>>,
    #[serde(default)]
    pub(super) env: BTreeMap<String, String>,
    pub(super) dir: Option<PathBuf>,
    pub(super) url: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) headers: BTreeMap<String, String>,
    pub(super) builtin: Option<Spanned<String>>,
    pub(super) timeout: Option<Spanned<String>>,
    pub(super) max_attempts: Option<Spanned<i64>>,
    pub(super) backoff_base: Option<Spanned<String>>,
    pub(super) backoff_max: Option<Spanned<String>>,
}

pub(super) struct Ctx<'a> {
    pub(super) path: &'a Path,
    pub(super) text: &'a str,
}

impl Ctx<'_> {
    pub(super) fn line(&self, span: std::ops::Range<usize>) -> usize {
        self.text[..span.start.min(self.text.len())]
            .bytes()
            .filter(|b| *b == b'\n')
            .count()
            + 1
    }

    pub(super) fn err<T>(
        &self,
        span: std::ops::Range<usize>,
        key: &str,
        msg: impl std::fmt::Display,
    ) -> Result<T, Error> {
        Err(Error::invalid(
            "config",
            format!("{}:{}: {key}: {msg}", self.path.display(), self.line(span)),
        ))
    }

    pub(super) fn duration(
        &self,
        v: &Option<Spanned<String>>,
        key: &str,
        default: Duration,
    ) -> Result<Duration, Error> {
        match v {
            None => Ok(default),
            Some(s) => match parse_duration(key, s.get_ref()) {
                Ok(d) if !d.is_zero() => Ok(d),
                _ => self.err(
                    s.span(),
                    key,
                    format!(
                        "{:?} is not a duration: expected a positive duration such as 30s, 5m or 1h",
                        s.get_ref()
                    ),
                ),
            },
        }
    }

    pub(super) fn int(
        &self,
        v: &Option<Spanned<i64>>,
        key: &str,
        range: std::ops::RangeInclusive<i64>,
        default: i64,
    ) -> Result<i64, Error> {
        match v {
            None => Ok(default),
            Some(n) if range.contains(n.get_ref()) => Ok(*n.get_ref()),
            Some(n) => self.err(
                n.span(),
                key,
                format!(
                    "{} is out of range: expected {}-{}",
                    n.get_ref(),
                    range.start(),
                    range.end()
                ),
            ),
        }
    }
}
