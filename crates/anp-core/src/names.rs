//! Checked names. A name is validated once, where it enters (CLI, config, HTTP, library API);
//! everything past that boundary holds a [`QueueName`] or [`Kind`] and never re-validates.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize};

use crate::error::Error;

/// A queue name: 1–64 characters of `[a-z0-9_-]`.
///
/// ```
/// use anp_core::QueueName;
/// assert_eq!(QueueName::parse("emails").unwrap().as_str(), "emails");
/// let err = QueueName::parse("Bad Queue!").unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "queue name: \"Bad Queue!\" is invalid: expected 1-64 chars of [a-z0-9_-]; not retried"
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct QueueName(String);

impl QueueName {
    /// The queue jobs go to when none is named.
    pub const DEFAULT: &'static str = "default";

    /// Checks and wraps a queue name.
    pub fn parse(s: &str) -> Result<QueueName, Error> {
        let ok = (1..=64).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if ok {
            Ok(QueueName(s.to_owned()))
        } else {
            Err(Error::invalid(
                "queue name",
                format!("{s:?} is invalid: expected 1-64 chars of [a-z0-9_-]"),
            ))
        }
    }

    /// The `default` queue.
    pub fn default_queue() -> QueueName {
        QueueName(Self::DEFAULT.to_owned())
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A job kind: the name a handler is registered under. 1–128 characters of
/// `[A-Za-z0-9_.:-]`, starting with a letter or digit.
///
/// ```
/// use anp_core::Kind;
/// assert!(Kind::parse("email.send").is_ok());
/// assert!(Kind::parse("send email").is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Kind(String);

impl Kind {
    /// Checks and wraps a job kind.
    pub fn parse(s: &str) -> Result<Kind, Error> {
        let ok = (1..=128).contains(&s.len())
            && s.as_bytes()[0].is_ascii_alphanumeric()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-'));
        if ok {
            Ok(Kind(s.to_owned()))
        } else {
            Err(Error::invalid(
                "job kind",
                format!(
                    "{s:?} is invalid: expected 1-128 chars of [A-Za-z0-9_.:-] starting with a letter or digit"
                ),
            ))
        }
    }

    /// The kind as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Display, FromStr, AsRef<str> and a validating Deserialize for a checked name type with a
/// `parse` constructor (also used by the cache names in [`crate::cache`]).
macro_rules! name_impls {
    ($t:ty) => {
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl FromStr for $t {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                <$t>::parse(s)
            }
        }
        impl AsRef<str> for $t {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                <$t>::parse(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}
pub(crate) use name_impls;
name_impls!(QueueName);
name_impls!(Kind);
