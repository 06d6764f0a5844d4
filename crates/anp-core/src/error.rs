//! The one error type.
//!
//! Every error says what failed, what was expected and whether retrying is safe, in one form:
//! `<op>: <what failed>: expected <X>, got <Y>; <retry safe | not retried>`.
//! `op` names the operation (`"job_fetch"`, `"queue name"`, `"config"`), the message says the
//! rest, and [`Error::retry_safe`] is the machine-readable hint.

use std::error::Error as StdError;
use std::fmt;

/// What went wrong, coarsely; the `anp` binary maps each kind to an exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Input (a name, JSON, duration, URL, config) is not what was expected. Never retry-safe:
    /// the same input fails the same way.
    InvalidInput,
    /// The named job, queue or schedule does not exist.
    NotFound,
    /// The operation does not fit the current state (cancel a completed job, delete a running one).
    Conflict,
    /// The store cannot be reached or is busy. Retry-safe: nothing was changed.
    Unavailable,
    /// The store is not an alphanode store, is from a newer version, or is damaged. Refused
    /// without touching it.
    Incompatible,
    /// The store or a file cannot be written (read-only location, permissions).
    ReadOnly,
    /// The worker's lease on a job was lost (the job was rescued, cancelled or deleted): the
    /// write was rejected and the newer attempt wins.
    LeaseLost,
    /// A bug or an unexpected store reply.
    Internal,
}

impl ErrorKind {
    /// A short stable name, used in `--json` output.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::InvalidInput => "invalid_input",
            ErrorKind::NotFound => "not_found",
            ErrorKind::Conflict => "conflict",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::Incompatible => "incompatible",
            ErrorKind::ReadOnly => "read_only",
            ErrorKind::LeaseLost => "lease_lost",
            ErrorKind::Internal => "internal",
        }
    }
}

/// The alphanode error: the operation, a kind, a message and whether retrying is safe.
#[derive(Debug)]
pub struct Error {
    op: String,
    kind: ErrorKind,
    message: String,
    retry_safe: bool,
    source: Option<Box<dyn StdError + Send + Sync>>,
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A new error. Prefer the kind-named constructors below.
    pub fn new(
        op: impl Into<String>,
        kind: ErrorKind,
        message: impl Into<String>,
        retry_safe: bool,
    ) -> Error {
        Error {
            op: op.into(),
            kind,
            message: message.into(),
            retry_safe,
            source: None,
        }
    }

    /// Invalid input; not retry-safe.
    pub fn invalid(op: impl Into<String>, message: impl Into<String>) -> Error {
        Error::new(op, ErrorKind::InvalidInput, message, false)
    }

    /// Something named does not exist; not retry-safe.
    pub fn not_found(op: impl Into<String>, message: impl Into<String>) -> Error {
        Error::new(op, ErrorKind::NotFound, message, false)
    }

    /// The operation does not fit the current state; not retry-safe.
    pub fn conflict(op: impl Into<String>, message: impl Into<String>) -> Error {
        Error::new(op, ErrorKind::Conflict, message, false)
    }

    /// The store is unreachable or busy; retry-safe (nothing changed).
    pub fn unavailable(op: impl Into<String>, message: impl Into<String>) -> Error {
        Error::new(op, ErrorKind::Unavailable, message, true)
    }

    /// Not an alphanode store, a newer schema, or damaged; not retry-safe.
    pub fn incompatible(op: impl Into<String>, message: impl Into<String>) -> Error {
        Error::new(op, ErrorKind::Incompatible, message, false)
    }

    /// Cannot write; not retry-safe until permissions change.
    pub fn read_only(op: impl Into<String>, message: impl Into<String>) -> Error {
        Error::new(op, ErrorKind::ReadOnly, message, false)
    }

    /// The lease was lost; the newer attempt wins; not retry-safe.
    pub fn lease_lost(op: impl Into<String>, message: impl Into<String>) -> Error {
        Error::new(op, ErrorKind::LeaseLost, message, false)
    }

    /// A bug or unexpected reply; not retry-safe.
    pub fn internal(op: impl Into<String>, message: impl Into<String>) -> Error {
        Error::new(op, ErrorKind::Internal, message, false)
    }

    /// Attaches the underlying cause (shown by `{:#}`-style reporters through `source()`).
    pub fn with_source(mut self, source: impl StdError + Send + Sync + 'static) -> Error {
        self.source = Some(Box::new(source));
        self
    }

    /// The operation that failed.
    pub fn op(&self) -> &str {
        &self.op
    }

    /// The coarse kind.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message without op and retry hint.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Whether retrying the same call may succeed without changing anything.
    pub fn retry_safe(&self) -> bool {
        self.retry_safe
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hint = if self.retry_safe {
            "retry safe"
        } else {
            "not retried"
        };
        write!(f, "{}: {}; {}", self.op, self.message, hint)
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn StdError + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_form_includes_op_and_retry_hint() {
        let e = Error::unavailable(
            "job_fetch",
            "store sqlite://x.db is busy: expected a lock within 5s",
        );
        assert_eq!(
            e.to_string(),
            "job_fetch: store sqlite://x.db is busy: expected a lock within 5s; retry safe"
        );
        assert!(e.retry_safe());
        assert_eq!(e.kind(), ErrorKind::Unavailable);
        let e = Error::invalid("args", "expected a JSON value, got `{`");
        assert_eq!(
            e.to_string(),
            "args: expected a JSON value, got `{`; not retried"
        );
    }
}
