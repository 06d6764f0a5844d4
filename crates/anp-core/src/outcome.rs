//! What a handler returns.
//!
//! Outcomes are not errors: a handler returns `Result<Outcome, E>`. Any `Err` — or a panic —
//! is a failed, retry-safe attempt: the job is retried with backoff until `max_attempts`, then
//! goes `dead`. Nothing needs downcasting.

use std::time::Duration;

/// The result of one attempt, as decided by the handler.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Done: the job becomes `completed`.
    Complete,
    /// A failed attempt that is safe to run again: the job becomes `retryable` and runs again
    /// after `after` (or the kind's backoff when `None`). Spends an attempt; when this was the
    /// last one the job goes `dead`.
    Retry {
        /// Delay before the next attempt; `None` uses the retry policy.
        after: Option<Duration>,
        /// Why, recorded in the error history.
        reason: String,
    },
    /// Failed in a way that is not retry-safe (the email may have been sent; the input is
    /// wrong): the job goes straight to `dead` with `reason` in its history, whatever attempts
    /// remain. An operator may still retry it by hand.
    Fail {
        /// Why, recorded in the error history as not retry-safe.
        reason: String,
    },
    /// Not now: the job becomes `scheduled` again and runs after the delay. Does not spend an
    /// attempt, so a job can be snoozed any number of times without ever going dead.
    Snooze(Duration),
    /// Stop: the job becomes `cancelled` (final) and is not run again.
    Cancel {
        /// Why, recorded in the error history.
        reason: String,
    },
}

impl Outcome {
    /// [`Outcome::Retry`] using the retry policy's delay.
    pub fn retry(reason: impl Into<String>) -> Outcome {
        Outcome::Retry {
            after: None,
            reason: reason.into(),
        }
    }

    /// [`Outcome::Retry`] after a given delay.
    pub fn retry_after(after: Duration, reason: impl Into<String>) -> Outcome {
        Outcome::Retry {
            after: Some(after),
            reason: reason.into(),
        }
    }

    /// [`Outcome::Fail`].
    pub fn fail(reason: impl Into<String>) -> Outcome {
        Outcome::Fail {
            reason: reason.into(),
        }
    }

    /// [`Outcome::Cancel`].
    pub fn cancel(reason: impl Into<String>) -> Outcome {
        Outcome::Cancel {
            reason: reason.into(),
        }
    }
}
