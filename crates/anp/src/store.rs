//! Opening a store from its URL.

use std::sync::Arc;

use anp_core::{Error, Store};

/// The store used when neither `--store`, `ANP_STORE` nor the config names one.
pub const DEFAULT_STORE: &str = "sqlite://anp.db";

/// Opens (and, for SQLite, creates and migrates) the store at `url`.
pub async fn open(url: &str) -> Result<Arc<dyn Store>, Error> {
    let scheme = url.split_once("://").map(|(s, _)| s);
    match scheme {
        Some("sqlite") => {
            let opts = anp_sqlite::SqliteStore::parse_url(url)?;
            Ok(Arc::new(anp_sqlite::SqliteStore::open(opts).await?))
        }
        Some("redis" | "rediss" | "redis+cluster" | "rediss+cluster") => {
            Ok(Arc::new(anp_redis::RedisStore::open(url).await?))
        }
        _ => Err(Error::invalid(
            "store url",
            format!(
                "{:?} is not a store URL: expected sqlite://PATH (e.g. sqlite://anp.db), redis://host:port, rediss://host:port or redis+cluster://host:port,host:port",
                redact(url)
            ),
        )),
    }
}

/// Replaces a password in a URL (`scheme://user:password@host`) with `***`.
pub fn redact(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://") {
        if let Some((creds, host)) = rest.split_once('@') {
            if let Some((user, _)) = creds.split_once(':') {
                return format!("{scheme}://{user}:***@{host}");
            }
            return format!("{scheme}://***@{host}");
        }
    }
    url.to_owned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn redacts_passwords() {
        assert_eq!(
            super::redact("redis://u:secret@h:1/0"),
            "redis://u:***@h:1/0"
        );
        assert_eq!(super::redact("redis://secret@h"), "redis://***@h");
        assert_eq!(super::redact("sqlite://a.db"), "sqlite://a.db");
    }
}
