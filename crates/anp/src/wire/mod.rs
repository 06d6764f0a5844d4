//! What `anp` reads and writes as JSON, one form for the command line and for `anp serve`.
//!
//! - `enqueue.rs`: [`EnqueueRequest`], one job to enqueue (`anp enqueue`'s flags, a line of
//!   `anp bulk`, the body of `POST /api/jobs`, an item of `POST /api/jobs/bulk`), checked into
//!   what the library takes; [`KindLimits`], a config's per-kind `max_attempts`, which every
//!   one of them applies through one function ([`KindLimits::job`]).
//! - [`error_body`]: the `{"error": …}` object every failure prints under `--json` and every
//!   4xx/5xx of `anp serve` answers.
//! - `views.rs`: the JSON objects that add to the library's own (a schedule's next run, a
//!   queue's oldest-job age), so `anp … --json` and `/api/…` print the same object.

pub mod enqueue;
pub mod views;

pub use enqueue::{EnqueueRequest, KindLimits, Spelling};

/// The one error object: `{"error": {"op", "kind", "message", "retry_safe"[, "exit_code"]}}`.
/// The command line adds its exit code; HTTP answers carry their status instead.
pub fn error_body(
    op: &str,
    kind: &str,
    message: &str,
    retry_safe: bool,
    exit_code: Option<u8>,
) -> serde_json::Value {
    let mut e = serde_json::json!({
        "op": op, "kind": kind, "message": message, "retry_safe": retry_safe,
    });
    if let Some(code) = exit_code {
        e["exit_code"] = code.into();
    }
    serde_json::json!({ "error": e })
}
