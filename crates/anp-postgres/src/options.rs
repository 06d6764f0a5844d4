//! The `postgres://` URL: what `anp --store` and `alphanode::connect` take.

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use anp_core::redact::redact_url;
use anp_core::{Error, Result};

/// How to reach the database, parsed from a URL by [`PostgresOptions::parse_url`].
#[derive(Clone, Debug)]
pub struct PostgresOptions {
    /// The connection settings (host, port, user, database, password, timeouts).
    pub config: tokio_postgres::Config,
    /// TLS: `None` for plain TCP, else verify the server against the OS's roots and, when
    /// given, the CA file `sslrootcert`.
    pub tls: Option<TlsOptions>,
    /// Pooled connections at most (`pool_max`, default 16).
    pub pool_max: usize,
    /// After this many jobs changed (fetched, acknowledged, pruned) since its last one, the
    /// store runs `VACUUM jobs` itself when a worker runs out of work (`vacuum_every`, default
    /// 20,000; 0: never; docs/postgres.md).
    pub vacuum_every: u64,
    /// After this many jobs enqueued or imported since its last one, the store runs `ANALYZE
    /// jobs` itself, at once, in the background (`analyze_every`, default 10,000; 0: never).
    pub analyze_every: u64,
    /// The URL with its password hidden.
    pub redacted: String,
}

/// TLS settings (`sslmode=require|verify-ca|verify-full`).
#[derive(Clone, Debug, Default)]
pub struct TlsOptions {
    /// An extra CA certificate (PEM) to trust, from `sslrootcert=`.
    pub root_cert: Option<PathBuf>,
}

impl PostgresOptions {
    /// Parses `postgres://user[:password]@host[:port]/database[?sslmode=…&pool_max=N&…]`
    /// (also `postgresql://`). The password may also come from `PGPASSWORD`. `sslmode`:
    /// `disable` (default: plain TCP), `require`, `verify-ca`, `verify-full` (TLS through
    /// rustls; the server certificate is always verified, against the OS's roots plus
    /// `sslrootcert=/path/ca.pem` when given). `prefer` and `allow` are plain TCP. Other
    /// parameters are tokio-postgres's (`connect_timeout`, `application_name`, `options`, …).
    pub fn parse_url(url: &str) -> Result<PostgresOptions> {
        const OP: &str = "connect";
        let redacted = redact_url(url);
        let bad = |why: String| {
            Error::invalid(
                OP,
                format!("{redacted:?} is not a PostgreSQL URL: {why}; expected postgres://user:password@host:port/database?sslmode=disable|require|verify-full"),
            )
        };
        let (base, query) = match url.split_once('?') {
            Some((b, q)) => (b, Some(q)),
            None => (url, None),
        };
        let mut tls = None;
        let mut root_cert = None;
        let mut pool_max = 16usize;
        let mut vacuum_every = crate::vacuum::DEFAULT_EVERY;
        let mut analyze_every = crate::vacuum::DEFAULT_ANALYZE_EVERY;
        // `vacuum_every` and `analyze_every`: a number of jobs, 0 for never.
        let jobs = |k: &str, v: &str| {
            v.parse::<u64>()
                .map_err(|_| bad(format!("{k}={v} is not a number of jobs (0: never)")))
        };
        let mut passed = Vec::new();
        for pair in query
            .into_iter()
            .flat_map(|q| q.split('&'))
            .filter(|p| !p.is_empty())
        {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            match k {
                "sslmode" => match v {
                    "disable" | "allow" | "prefer" => tls = None,
                    "require" | "verify-ca" | "verify-full" => tls = Some(()),
                    other => return Err(bad(format!("sslmode={other} is unknown"))),
                },
                "sslrootcert" => root_cert = Some(PathBuf::from(v)),
                "pool_max" => {
                    pool_max = v
                        .parse::<usize>()
                        .ok()
                        .filter(|n| *n > 0)
                        .ok_or_else(|| bad(format!("pool_max={v} is not a positive number")))?;
                }
                "vacuum_every" => vacuum_every = jobs(k, v)?,
                "analyze_every" => analyze_every = jobs(k, v)?,
                _ => passed.push(pair),
            }
        }
        let rest = if passed.is_empty() {
            base.to_owned()
        } else {
            format!("{base}?{}", passed.join("&"))
        };
        let mut config = tokio_postgres::Config::from_str(&rest).map_err(|e| bad(e.to_string()))?;
        config.ssl_mode(tokio_postgres::config::SslMode::Disable);
        if tls.is_some() {
            config.ssl_mode(tokio_postgres::config::SslMode::Require);
        }
        if config.get_password().is_none() {
            if let Ok(p) = std::env::var("PGPASSWORD") {
                config.password(p);
            }
        }
        if config.get_user().is_none() {
            config.user(std::env::var("PGUSER").as_deref().unwrap_or("postgres"));
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        if config.get_application_name().is_none() {
            config.application_name("alphanode");
        }
        config.keepalives_idle(Duration::from_secs(30));
        Ok(PostgresOptions {
            config,
            tls: tls.map(|()| TlsOptions { root_cert }),
            pool_max,
            vacuum_every,
            analyze_every,
            redacted,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_redacts() {
        let o = PostgresOptions::parse_url(
            "postgres://app:s3cret@db.example:6543/jobs?sslmode=verify-full&sslrootcert=/ca.pem&pool_max=4",
        )
        .unwrap();
        assert_eq!(o.config.get_user(), Some("app"));
        assert_eq!(o.config.get_password(), Some(&b"s3cret"[..]));
        assert_eq!(o.config.get_dbname(), Some("jobs"));
        assert_eq!(o.config.get_ports(), &[6543]);
        assert_eq!(o.pool_max, 4);
        assert_eq!(o.vacuum_every, crate::vacuum::DEFAULT_EVERY);
        assert_eq!(o.tls.unwrap().root_cert, Some(PathBuf::from("/ca.pem")));
        assert!(!o.redacted.contains("s3cret"), "{}", o.redacted);
        let o = PostgresOptions::parse_url("postgresql://u@h/d?sslmode=disable").unwrap();
        assert!(o.tls.is_none());
        let o = PostgresOptions::parse_url("postgres://u@h/d?vacuum_every=0").unwrap();
        assert_eq!(o.vacuum_every, 0);
        let o = PostgresOptions::parse_url("postgres://u@h/d?analyze_every=5").unwrap();
        assert_eq!(o.analyze_every, 5);
        let e = PostgresOptions::parse_url("postgres://u@h/d?vacuum_every=lots").unwrap_err();
        assert!(e.to_string().contains("vacuum_every=lots"), "{e}");
        let e = PostgresOptions::parse_url("postgres://u:pw@h/d?sslmode=bogus").unwrap_err();
        assert!(!e.message().contains("pw@"), "{}", e.message());
    }
}
