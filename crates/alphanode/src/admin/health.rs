//! Is the store reachable and in the layout this build expects (`/healthz`), and are its
//! settings safe (`anp doctor`)?

use std::time::{Duration, Instant};

use anp_core::store::{StoreCheck, StoreInfo};
use anp_core::Result;
use serde::Serialize;

use super::Admin;

/// Clock skew between this host and the store's server above which [`Admin::checks`] asks
/// for a fix: leases (30 s, heartbeats every third of it) and schedule ticks compare one
/// host's clock with another's through the store.
pub const MAX_CLOCK_SKEW: Duration = Duration::from_millis(500);

/// The answer of [`Admin::health`].
#[derive(Clone, Debug, Serialize)]
pub struct Health {
    /// Reachable, and its schema / key layout is the one this build reads and writes.
    pub ok: bool,
    /// `sqlite`, `redis`.
    pub backend: String,
    /// The store's URL, password hidden.
    pub store: String,
    /// The layout version the store holds.
    pub schema_version: u32,
    /// The layout version this build expects.
    pub expected_schema_version: u32,
    /// The server (or library) version.
    pub server_version: String,
    /// The round trip, in milliseconds (rounded to microseconds).
    pub round_trip_ms: f64,
}

/// Milliseconds of `d`, rounded to the microsecond: enough for a round trip, short in JSON.
pub(crate) fn millis(d: Duration) -> f64 {
    (d.as_secs_f64() * 1_000_000.0).round() / 1000.0
}

impl Admin {
    /// A round trip to the store, with its versions.
    pub async fn ping(&self) -> Result<(StoreInfo, Duration)> {
        let t = Instant::now();
        let info = self.store().store_ping().await?;
        Ok((info, t.elapsed()))
    }

    /// Reachable and current? An unreachable store is an error (`Unavailable`); a reachable one
    /// in another layout version answers `ok: false` (upgrade anp, or migrate the store).
    pub async fn health(&self) -> Result<Health> {
        let (info, rtt) = self.ping().await?;
        let expected = self.store().store_schema_version();
        Ok(Health {
            ok: info.schema_version == expected,
            backend: info.backend,
            store: self.backend.url(),
            schema_version: info.schema_version,
            expected_schema_version: expected,
            server_version: info.server_version,
            round_trip_ms: millis(rtt),
        })
    }

    /// The backend's own checks (durability, file permissions, eviction policy, persistence)
    /// and, for a store with its own server, this host's clock skew against it.
    pub async fn checks(&self) -> Vec<StoreCheck> {
        let mut checks = Vec::new();
        checks.push(self.clock_check().await);
        checks.extend(self.store().store_checks().await);
        checks
    }

    /// This host's clock against the store server's, corrected for half the round trip.
    async fn clock_check(&self) -> StoreCheck {
        let before = self.now();
        let server = match self.store().store_time().await {
            Ok(Some(t)) => t,
            Ok(None) => {
                return StoreCheck::pass(
                    "clock",
                    "embedded store: this host's clock is the only clock",
                )
            }
            Err(e) => {
                return StoreCheck::fail(
                    "clock",
                    format!("cannot read the server's clock: {e}"),
                    "check that this user may read the server's time (Redis: TIME), then retry",
                )
            }
        };
        let after = self.now();
        let rtt_us = after.as_microsecond() - before.as_microsecond();
        let local_mid = before.as_microsecond() + rtt_us / 2;
        let skew_ms = (local_mid - server.as_microsecond()) as f64 / 1000.0;
        let detail = format!(
            "this host is {:.1} ms {} the store's server ({}) (± {:.1} ms, half the round trip)",
            skew_ms.abs(),
            if skew_ms >= 0.0 { "ahead of" } else { "behind" },
            self.backend.name(),
            rtt_us as f64 / 2000.0
        );
        let max_ms = MAX_CLOCK_SKEW.as_secs_f64() * 1000.0;
        if skew_ms.abs() > max_ms {
            StoreCheck::fail(
                "clock",
                format!(
                    "{detail}; more than {max_ms} ms makes leases expire early or late and \
                     schedule ticks fire off time"
                ),
                "run NTP (chrony or systemd-timesyncd) on this host and on the store's host",
            )
        } else {
            StoreCheck::pass("clock", detail)
        }
    }
}
