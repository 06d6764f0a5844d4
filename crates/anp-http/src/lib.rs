//! HTTP cache rules for alphanode.
//!
//! - [`decision`]: what the rules decide for one request ([`Decision`]), and the [`Decide`]
//!   seam between the rules and whatever enforces them (the tower layer, `anp proxy`).
//! - [`rules`]: the rules file (`cache.toml`): parsed and checked ([`Rules::load`]), deciding
//!   ([`Decide`] for [`Rules`]), explained ([`Rules::explain`]), its examples checked
//!   ([`Rules::check`]) and linted ([`Rules::lint`]), exported to Cloudflare and Varnish.
//! - [`purge`]: purging CDNs ([`CdnTarget`]: Varnish, Cloudflare) by tag, prefix or URL, with
//!   bounded retries ([`PurgeClient`]).
//! - [`layer`]: the tower/axum layer that enforces a [`Decide`] with the application cache
//!   ([`CacheLayer`]), also used by `anp proxy`.

pub mod decision;
pub mod layer;
pub mod purge;
pub mod rules;

pub use decision::{BypassAction, CacheAction, Decide, Decision};
pub use layer::{CacheLayer, CacheService, LayerMetrics};
pub use purge::{
    parse_retry_after, CdnTarget, PurgeBy, PurgeClient, PurgeError, PurgeReport, PurgeRequest,
    PurgeRetry,
};
pub use rules::{Rules, RulesError};
