//! The one error type of this crate.

use std::fmt;

/// A field of a cron expression, in the order the fields are written.
///
/// The seconds field only exists in the 6-field form, where it comes first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CronField {
    /// Seconds, 0-59 (6-field form only, written first).
    Second,
    /// Minutes, 0-59.
    Minute,
    /// Hours, 0-23.
    Hour,
    /// Day of the month, 1-31, plus `L`, `LW` and `nW`.
    DayOfMonth,
    /// Month, 1-12 or `JAN`-`DEC`.
    Month,
    /// Day of the week, 0-7 (0 and 7 are Sunday) or `SUN`-`SAT`, plus `nL` and `n#k`.
    DayOfWeek,
}

impl CronField {
    /// The field's name as it appears in error messages, e.g. `day-of-month`.
    pub fn name(self) -> &'static str {
        match self {
            CronField::Second => "second",
            CronField::Minute => "minute",
            CronField::Hour => "hour",
            CronField::DayOfMonth => "day-of-month",
            CronField::Month => "month",
            CronField::DayOfWeek => "day-of-week",
        }
    }
}

impl fmt::Display for CronField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a cron expression or a time zone name was rejected.
///
/// Every message says what failed, what was expected, and ends in
/// `; not retried`: the same input can never succeed, so callers must not
/// retry it. For example:
///
/// ```text
/// cron expression "61 * * * *": minute field: value 61 out of range: expected 0-59; not retried
/// time zone "Mars/Base": unknown IANA time zone name: expected a name from the tz database such as "Europe/Berlin"; not retried
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CronError {
    /// One field of the expression is invalid.
    #[error(
        "cron expression {expr:?}: {field} field: {problem}: expected {expected}; not retried"
    )]
    Field {
        /// The expression as given.
        expr: String,
        /// The field that is wrong.
        field: CronField,
        /// What is wrong with it, naming the bad value.
        problem: String,
        /// What the field accepts.
        expected: String,
    },
    /// The expression as a whole is invalid: wrong number of fields, unknown or
    /// unsupported macro, empty text.
    #[error("cron expression {expr:?}: {problem}: expected {expected}; not retried")]
    Expression {
        /// The expression as given.
        expr: String,
        /// What is wrong with it.
        problem: String,
        /// What is accepted instead.
        expected: String,
    },
    /// The time zone name is not in the tz database.
    #[error("time zone {name:?}: unknown IANA time zone name: expected a name from the tz database such as \"Europe/Berlin\"; not retried")]
    UnknownTimeZone {
        /// The name as given.
        name: String,
    },
}

impl CronError {
    /// Whether retrying the same call could succeed. Always `false`: every
    /// variant is a property of the input. (Named like `anp_core::Error`'s.)
    pub fn retry_safe(&self) -> bool {
        false
    }

    /// What was being read, e.g. `cron expression "61 * * * *"` or
    /// `time zone "Mars/Base"`: the part of the message before the first
    /// `: `, in the project's error form.
    pub fn op(&self) -> String {
        match self {
            CronError::Field { expr, .. } | CronError::Expression { expr, .. } => {
                format!("cron expression {expr:?}")
            }
            CronError::UnknownTimeZone { name } => format!("time zone {name:?}"),
        }
    }

    /// What failed and what was expected, without [`CronError::op`] and the
    /// retry hint. `format!("{}: {}; not retried", e.op(), e.message())` is the
    /// `Display` text.
    pub fn message(&self) -> String {
        match self {
            CronError::Field {
                field,
                problem,
                expected,
                ..
            } => format!("{field} field: {problem}: expected {expected}"),
            CronError::Expression {
                problem, expected, ..
            } => format!("{problem}: expected {expected}"),
            CronError::UnknownTimeZone { .. } => "unknown IANA time zone name: expected a name \
                 from the tz database such as \"Europe/Berlin\""
                .to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_op_message_and_hint() {
        let errors = [
            CronError::Field {
                expr: "61 * * * *".to_owned(),
                field: CronField::Minute,
                problem: "value 61 out of range".to_owned(),
                expected: "0-59".to_owned(),
            },
            CronError::Expression {
                expr: "@reboot".to_owned(),
                problem: "@reboot is not supported".to_owned(),
                expected: "a macro".to_owned(),
            },
            CronError::UnknownTimeZone {
                name: "Mars/Base".to_owned(),
            },
        ];
        for e in errors {
            assert_eq!(
                e.to_string(),
                format!("{}: {}; not retried", e.op(), e.message())
            );
            assert!(!e.retry_safe());
        }
    }
}
