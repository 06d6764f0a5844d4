//! What `anp` reads and writes as JSON, one form for the command line and for `anp serve`.
//!
//! - `enqueue.rs`: [`EnqueueRequest`], one job to enqueue (`anp enqueue`'s flags, the body of
//!   `POST /api/jobs`, an item of `POST /api/jobs/bulk`), checked into what the library takes.
//! - `views.rs`: the JSON objects that add to the library's own (a schedule's next run, a
//!   queue's oldest-job age), so `anp … --json` and `/api/…` print the same object.

pub mod enqueue;
pub mod views;

pub use enqueue::{EnqueueRequest, Spelling};
