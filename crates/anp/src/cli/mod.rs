//! One file per subcommand; `bench/` is a folder of rooms (plan, phases, latency, queues,
//! process, report).

pub mod backup;
pub mod bench;
pub mod bulk;
pub mod completions;
pub mod cron;
pub mod doctor;
pub mod enqueue;
pub mod jobs;
pub mod queues;
pub mod schedules;
pub mod status;
pub mod work;

use alphanode::{Admin, Backend, Error};
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
    /// The store URL: `--store`/`ANP_STORE`, else the config's, else the default.
    pub fn url(&self, from_config: Option<&str>) -> String {
        self.store_url
            .clone()
            .or_else(|| from_config.map(str::to_owned))
            .unwrap_or_else(|| alphanode::backend::DEFAULT_URL.to_owned())
    }

    /// Opens the store.
    pub async fn open(&self, from_config: Option<&str>) -> Result<Backend, Error> {
        alphanode::connect(&self.url(from_config)).await
    }

    /// Opens the store named by the global flags for an operator command.
    pub async fn admin(&self) -> Result<Admin, Error> {
        Ok(Admin::new(self.open(None).await?))
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
