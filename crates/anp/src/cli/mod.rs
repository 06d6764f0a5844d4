//! One file per subcommand; `bench/` is a folder of rooms (plan, phases, latency, queues,
//! process, report).

pub mod backup;
pub mod bench;
pub mod bulk;
pub mod cache;
pub mod cache_rules;
pub mod completions;
pub mod cron;
pub mod deploy;
pub mod doctor;
pub mod enqueue;
pub mod jobs;
pub mod proxy;
pub mod queues;
pub mod schedules;
pub mod status;
pub mod top;
pub mod work;
pub mod workers;

use std::path::PathBuf;
use std::sync::Mutex;

use alphanode::{Admin, Backend, ConnectOptions, Error};
use jiff::Timestamp;
use serde::Serialize;

use crate::config::ConfigFile;
use crate::output;

/// What every command gets from the global flags, and the store it resolved.
#[derive(Debug)]
pub struct Ctx {
    /// `--store` / `ANP_STORE`.
    pub store_url: Option<String>,
    /// Whether `store_url` came from `ANP_STORE` rather than `--store`.
    pub store_from_env: bool,
    /// `--json`.
    pub json: bool,
    /// The store the command resolved, once it did ([`Ctx::url`]).
    used: Mutex<Option<StoreUsed>>,
}

/// The store a command used and where its URL came from: logged at `-v`, and under `--json` the
/// `store` field of every object a command prints and of its error object.
#[derive(Clone, Debug, Serialize)]
pub struct StoreUsed {
    /// The URL, password hidden.
    pub url: String,
    /// Where it came from: `--store`, `ANP_STORE`, the `store` of a config found by
    /// `--config`, `ANP_CONFIG` or `./anp.toml`, or `default` (`sqlite://anp.db`).
    pub from: &'static str,
    /// The config file, when one set the store.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config: Option<PathBuf>,
}

impl StoreUsed {
    /// For the `-v` log line: `--store`, `./anp.toml's store`, `the default`.
    fn said(&self) -> String {
        match &self.config {
            Some(path) if self.from == "./anp.toml" => format!("{}'s store", path.display()),
            Some(path) => format!("{}'s store ({})", path.display(), self.from),
            None if self.from == "default" => "the default".to_owned(),
            None => self.from.to_owned(),
        }
    }
}

impl Ctx {
    /// The context of one command: `store_url` from `--store` (or from `ANP_STORE` when
    /// `store_from_env`), `--json`.
    pub fn new(store_url: Option<String>, store_from_env: bool, json: bool) -> Ctx {
        Ctx {
            store_url,
            store_from_env,
            json,
            used: Mutex::new(None),
        }
    }

    /// The store URL, in this order: `--store` / `ANP_STORE`; the `store` of `config`, the
    /// config the command was given or already read (`anp work --config …`, `anp enqueue`),
    /// else of the config found the way every command finds it (`ANP_CONFIG`, else
    /// `./anp.toml`); the default `sqlite://anp.db`. Logged (password hidden) with where it
    /// came from at `-v`, and remembered for `--json` ([`Ctx::store_used`]).
    pub fn url(&self, config: Option<&ConfigFile>) -> String {
        let (url, from, path) = self.resolve(config);
        let used = StoreUsed {
            url: alphanode::backend::redact_url(&url),
            from,
            config: path,
        };
        tracing::info!(store = %used.url, from = %used.said(), "using store");
        *self.used.lock().unwrap_or_else(|p| p.into_inner()) = Some(used);
        url
    }

    fn resolve(&self, config: Option<&ConfigFile>) -> (String, &'static str, Option<PathBuf>) {
        if let Some(url) = &self.store_url {
            let from = if self.store_from_env {
                "ANP_STORE"
            } else {
                "--store"
            };
            return (url.clone(), from, None);
        }
        let discovered;
        let file = match config {
            Some(f) => Some(f),
            None => {
                discovered = ConfigFile::discover();
                discovered.as_ref()
            }
        };
        if let Some(f) = file {
            match f.store() {
                Ok(Some(url)) => return (url, f.from.as_str(), Some(f.path.clone())),
                Ok(None) => {}
                Err(e) => tracing::warn!(
                    config = %f.path.display(),
                    error = %e,
                    "cannot read the config; its store setting is ignored (run `anp doctor` to check it)"
                ),
            }
        }
        (alphanode::backend::DEFAULT_URL.to_owned(), "default", None)
    }

    /// The store this command resolved, if it got that far.
    pub fn store_used(&self) -> Option<StoreUsed> {
        self.used.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Prints a JSON object (`--json`) with the `store` this command used added as its last
    /// field. For commands whose output is one object; lists stay bare arrays ([`output::json`]).
    pub fn json_object<T: Serialize + ?Sized>(&self, value: &T) -> anyhow::Result<()> {
        #[derive(Serialize)]
        struct WithStore<'a, T: Serialize + ?Sized> {
            #[serde(flatten)]
            value: &'a T,
            #[serde(skip_serializing_if = "Option::is_none")]
            store: Option<StoreUsed>,
        }
        output::json(&WithStore {
            value,
            store: self.store_used(),
        })
    }

    /// Opens the store, creating an embedded one that does not exist yet: for commands that
    /// add work (enqueue, bulk, work, scheduler, serve, bench).
    pub async fn open(&self, config: Option<&ConfigFile>) -> Result<Backend, Error> {
        alphanode::connect(&self.url(config)).await
    }

    /// Opens an existing store for an operator command: a SQLite path that does not exist is
    /// `NotFound` (exit 4), never a new empty database left behind a typo.
    pub async fn admin(&self) -> Result<Admin, Error> {
        let options = ConnectOptions { create: false };
        Ok(Admin::new(
            alphanode::connect_with(&self.url(None), options).await?,
        ))
    }

    /// Opens the store for an operator command that adds records (deploy marks, restores),
    /// creating an embedded store that does not exist yet.
    pub async fn admin_creating(&self) -> Result<Admin, Error> {
        Ok(Admin::new(self.open(None).await?))
    }
}

/// `--config FILE` of the commands that run a config (`work`, `scheduler`).
#[derive(clap::Args, Debug)]
pub struct ConfigArg {
    /// Config file declaring queues, job kinds and schedules.
    #[arg(
        long = "config",
        short = 'c',
        default_value = "anp.toml",
        env = "ANP_CONFIG",
        hide_env_values = true
    )]
    pub path: std::path::PathBuf,
}

impl ConfigArg {
    /// Reads the file, noting how the command came to it: `ANP_CONFIG` when it names this
    /// file, `./anp.toml` for the default, else `--config`.
    pub fn file(&self) -> ConfigFile {
        use crate::config::ConfigFrom;
        let env = std::env::var_os("ANP_CONFIG").filter(|p| !p.is_empty());
        let from = if env.is_some_and(|p| self.path == std::path::Path::new(&p)) {
            ConfigFrom::Env
        } else if self.path == std::path::Path::new("anp.toml") {
            ConfigFrom::Cwd
        } else {
            ConfigFrom::Flag
        };
        ConfigFile::read(&self.path, from)
    }
}

/// Parses an RFC 3339 timestamp typed by a user.
pub fn parse_timestamp(what: &str, s: &str) -> Result<Timestamp, Error> {
    s.trim().parse::<Timestamp>().map_err(|_| {
        Error::invalid(
            what.to_owned(),
            format!("{s:?} is not a timestamp: expected RFC 3339 with an offset such as 2026-11-25T18:00:00Z"),
        )
    })
}
