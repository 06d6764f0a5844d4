//! One file per subcommand; `bench/` is a folder of rooms (plan, phases, latency, queues,
//! process, report).

pub mod backup;
pub mod bench;
pub mod bulk;
pub mod cache;
pub mod completions;
pub mod cron;
pub mod deploy;
pub mod doctor;
pub mod enqueue;
pub mod jobs;
pub mod queues;
pub mod schedules;
pub mod status;
pub mod work;
pub mod workers;

use alphanode::{Admin, Backend, ConnectOptions, Error};
use jiff::Timestamp;

/// What every command gets from the global flags.
#[derive(Debug)]
pub struct Ctx {
    /// `--store` / `ANP_STORE`.
    pub store_url: Option<String>,
    /// `--json`.
    pub json: bool,
}

impl Ctx {
    /// The store URL, in this order: `--store` / `ANP_STORE`; the store of the config the
    /// command was given (`from_config`: `anp work --config …`); the `store` of the config
    /// found the way every command finds it (`ANP_CONFIG`, else `./anp.toml`); the default
    /// `sqlite://anp.db`. Logged (password hidden) with where it came from, at `-v`.
    pub fn url(&self, from_config: Option<&str>) -> String {
        let (url, from) = self.resolve(from_config);
        tracing::info!(
            store = %alphanode::backend::redact_url(&url),
            from = %from,
            "using store"
        );
        url
    }

    fn resolve(&self, from_config: Option<&str>) -> (String, String) {
        if let Some(url) = &self.store_url {
            return (url.clone(), "--store / ANP_STORE".into());
        }
        if let Some(url) = from_config {
            return (url.to_owned(), "the config's store".into());
        }
        if let Some((path, url)) = crate::config::discovered_store() {
            return (url, format!("{}'s store", path.display()));
        }
        (
            alphanode::backend::DEFAULT_URL.to_owned(),
            "the default".into(),
        )
    }

    /// Opens the store, creating an embedded one that does not exist yet: for commands that
    /// add work (enqueue, bulk, work, scheduler, serve, bench).
    pub async fn open(&self, from_config: Option<&str>) -> Result<Backend, Error> {
        alphanode::connect(&self.url(from_config)).await
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

/// Parses an RFC 3339 timestamp typed by a user.
pub fn parse_timestamp(what: &str, s: &str) -> Result<Timestamp, Error> {
    s.trim().parse::<Timestamp>().map_err(|_| {
        Error::invalid(
            what.to_owned(),
            format!("{s:?} is not a timestamp: expected RFC 3339 with an offset such as 2026-11-25T18:00:00Z"),
        )
    })
}
