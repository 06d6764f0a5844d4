//! # anp-core
//!
//! The heart of alphanode with no I/O: what a job is, how it moves between states, what a handler
//! may answer, how failures are described and retried, and the one internal seam ([`Store`]) that
//! every storage backend implements.
//!
//! # Layout
//!
//! - [`id`]: [`JobId`], a time-sortable UUIDv7.
//! - [`names`]: checked names: [`QueueName`] and [`Kind`].
//! - [`job`]: [`Job`], [`JobState`], [`AttemptError`], [`NewJob`] and the JSON [`Args`].
//! - [`outcome`]: [`Outcome`], what a handler returns.
//! - [`error`]: [`Error`] and [`ErrorKind`], the one error type, in the message form
//!   `<op>: <what failed>: expected <X>, got <Y>; <retry safe | not retried>`.
//! - [`backoff`]: [`RetryPolicy`], exponential backoff with jitter.
//! - [`clock`]: [`Clock`], [`SystemClock`] and the test [`ManualClock`].
//! - [`monitor`]: what operators watch: live processes, per-minute stats, deploy markers.
//! - [`redact`]: [`redact::redact_url`], the one place that hides a store URL's password.
//! - [`cache`]: the application cache's names, its stored envelope and the
//!   [`cache::CacheStore`] seam (internal like [`Store`]).
//! - [`store`]: the [`Store`] trait and its `…Params` types. Internal: not for external
//!   implementation; it changes without notice while the `alphanode` facade stays stable.

pub mod backoff;
pub mod cache;
pub mod clock;
pub mod duration;
pub mod error;
pub mod id;
pub mod job;
pub mod monitor;
pub mod names;
pub mod outcome;
pub mod redact;
pub mod schedule;
pub mod store;

pub use backoff::RetryPolicy;
pub use clock::{Clock, ManualClock, SystemClock};
pub use duration::parse_duration;
pub use error::{Error, ErrorKind, Result};
pub use id::JobId;
pub use job::{Args, AttemptError, Job, JobState, NewJob, Unique};
pub use names::{Kind, QueueName};
pub use outcome::Outcome;
pub use store::Store;
