//! HTTP cache rules for alphanode.
//!
//! - [`decision`]: what the rules decide for one request ([`Decision`]), and the [`Decide`]
//!   seam between the rules and whatever enforces them (the tower layer, `anp proxy`).

pub mod decision;

pub use decision::{BypassAction, CacheAction, Decide, Decision};
