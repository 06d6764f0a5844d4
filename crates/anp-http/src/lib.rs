//! HTTP cache rules for alphanode.
//!
//! - [`decision`]: what the rules decide for one request ([`Decision`]), and the [`Decide`]
//!   seam between the rules and whatever enforces them (the tower layer, `anp proxy`).
//! - [`layer`]: the tower/axum layer that enforces a [`Decide`] with the application cache
//!   ([`CacheLayer`]), also used by `anp proxy`.

pub mod decision;
pub mod layer;

pub use decision::{BypassAction, CacheAction, Decide, Decision};
pub use layer::{CacheLayer, CacheService, LayerMetrics};
