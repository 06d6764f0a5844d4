//! Store URLs: parsed and checked once, with a redacted form for every message and log.
//!
//! | form | meaning |
//! |---|---|
//! | `redis://[user:pass@]host:port[/db]` | one server (or a primary), plain TCP |
//! | `rediss://[user:pass@]host:port[/db][?ca=/path/ca.pem]` | the same over TLS |
//! | `redis+cluster://[user:pass@]host:port,host:port,…` | Redis Cluster, seed nodes |
//! | `rediss+cluster://[user:pass@]host:port,…[?ca=/path/ca.pem]` | Redis Cluster over TLS |
//!
//! `ca=` names a PEM file of CA certificates to trust instead of the system roots (a private
//! CA, a self-signed test certificate). There is no "accept any certificate" option.

use anp_core::Error;

const FORMS: &str = "redis://[user:pass@]host:port[/db], rediss://…[?ca=/path/ca.pem] (TLS), redis+cluster://host:port,host:port (cluster) or rediss+cluster://… (cluster over TLS)";

/// Standalone or Cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// One server.
    Standalone,
    /// Redis Cluster.
    Cluster,
}

/// A checked store URL.
#[derive(Clone)]
pub(crate) struct RedisUrl {
    pub(crate) mode: Mode,
    pub(crate) tls: bool,
    /// `user:pass@` as typed (percent-encoding kept), or empty.
    userinfo: String,
    /// `host:port` of each node (one unless cluster).
    pub(crate) hosts: Vec<String>,
    /// The `/db` suffix, standalone only (empty for db 0).
    db: String,
    /// The `ca=` file.
    pub(crate) ca: Option<std::path::PathBuf>,
    redacted: String,
}

impl std::fmt::Debug for RedisUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted)
    }
}

fn invalid(url_redacted: &str, why: &str) -> Error {
    Error::invalid(
        "store url",
        format!("{url_redacted:?} is not a Redis store URL ({why}): expected {FORMS}"),
    )
}

/// The one redaction of store URLs (the same function every crate uses).
pub(crate) use anp_core::redact::redact_url as redact;

impl RedisUrl {
    /// Parses one of the documented forms.
    pub(crate) fn parse(url: &str) -> Result<RedisUrl, Error> {
        let redacted = redact(url.trim());
        let url = url.trim();
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| invalid(&redacted, "no scheme"))?;
        let (mode, tls) = match scheme {
            "redis" => (Mode::Standalone, false),
            "rediss" => (Mode::Standalone, true),
            "redis+cluster" => (Mode::Cluster, false),
            "rediss+cluster" => (Mode::Cluster, true),
            _ => return Err(invalid(&redacted, &format!("unknown scheme {scheme:?}"))),
        };
        if rest.contains('#') {
            return Err(invalid(
                &redacted,
                "fragments such as #insecure are not supported",
            ));
        }
        let (rest, query) = match rest.split_once('?') {
            Some((r, q)) => (r, Some(q)),
            None => (rest, None),
        };
        let mut ca = None;
        for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                Some(("ca", path)) if tls && !path.is_empty() => ca = Some(path.into()),
                Some(("ca", _)) if !tls => {
                    return Err(invalid(&redacted, "ca= needs a rediss:// URL"));
                }
                _ => {
                    return Err(invalid(
                        &redacted,
                        &format!(
                            "unknown parameter {:?}; only ca=/path/ca.pem is known",
                            pair
                        ),
                    ))
                }
            }
        }
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        let (userinfo, hostlist) = match authority.rfind('@') {
            Some(i) => (&authority[..=i], &authority[i + 1..]),
            None => ("", authority),
        };
        let hosts: Vec<String> = hostlist.split(',').map(str::to_owned).collect();
        if hosts.iter().any(|h| h.is_empty()) {
            return Err(invalid(&redacted, "missing host"));
        }
        for h in &hosts {
            let port = h.rsplit_once(':').map(|(_, p)| p);
            if let Some(p) = port {
                if !h.ends_with(']') && p.parse::<u16>().is_err() {
                    return Err(invalid(&redacted, &format!("bad port in {h:?}")));
                }
            }
        }
        let db = match path.trim_start_matches('/') {
            "" | "0" => String::new(),
            d if mode == Mode::Standalone && d.parse::<u16>().is_ok() => format!("/{d}"),
            d if mode == Mode::Cluster => {
                return Err(invalid(
                    &redacted,
                    &format!("a cluster has only database 0, got /{d}"),
                ))
            }
            d => return Err(invalid(&redacted, &format!("bad database number {d:?}"))),
        };
        if mode == Mode::Standalone && hosts.len() > 1 {
            return Err(invalid(
                &redacted,
                "several hosts need redis+cluster:// or rediss+cluster://",
            ));
        }
        Ok(RedisUrl {
            mode,
            tls,
            userinfo: userinfo.to_owned(),
            hosts,
            db,
            ca,
            redacted,
        })
    }

    /// The URL with the password replaced by `***`.
    pub(crate) fn redacted(&self) -> &str {
        &self.redacted
    }

    /// The redis-rs URL of one node (credentials included: never log it).
    pub(crate) fn node_url(&self, host: &str) -> String {
        let scheme = if self.tls { "rediss" } else { "redis" };
        format!("{scheme}://{}{host}{}", self.userinfo, self.db)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_documented_form() {
        let u = RedisUrl::parse("redis://127.0.0.1:6380/2").unwrap();
        assert_eq!((u.mode, u.tls), (Mode::Standalone, false));
        assert_eq!(u.node_url(&u.hosts[0]), "redis://127.0.0.1:6380/2");
        let u = RedisUrl::parse("rediss://anp:s3cret@h:1?ca=/tmp/ca.pem").unwrap();
        assert!(u.tls);
        assert_eq!(u.ca.as_deref(), Some(std::path::Path::new("/tmp/ca.pem")));
        assert_eq!(u.node_url("h:1"), "rediss://anp:s3cret@h:1");
        assert_eq!(u.redacted(), "rediss://anp:***@h:1?ca=/tmp/ca.pem");
        let u = RedisUrl::parse("redis+cluster://u:p@a:1,b:2,c:3").unwrap();
        assert_eq!(u.mode, Mode::Cluster);
        assert_eq!(u.hosts, vec!["a:1", "b:2", "c:3"]);
        assert_eq!(u.redacted(), "redis+cluster://u:***@a:1,b:2,c:3");
        assert!(RedisUrl::parse("rediss+cluster://a:1").unwrap().tls);
    }

    #[test]
    fn bad_urls_name_the_expected_forms_without_the_password() {
        for bad in [
            "http://h:1",
            "redis://u:pw@",
            "redis://u:pw@h:x",
            "redis://u:pw@a:1,b:2",
            "redis://u:pw@h:1/x",
            "redis+cluster://u:pw@a:1/3",
            "redis://u:pw@h:1?ca=/x",
            "rediss://u:pw@h:1?foo=1",
            "rediss://u:pw@h:1/#insecure",
            "nothing",
        ] {
            let e = RedisUrl::parse(bad)
                .err()
                .unwrap_or_else(|| panic!("{bad} parsed"));
            assert_eq!(e.kind(), anp_core::ErrorKind::InvalidInput);
            let msg = e.to_string();
            assert!(!msg.contains("pw"), "{msg}");
            assert!(msg.contains("expected redis://"), "{msg}");
            assert!(msg.ends_with("not retried"), "{msg}");
        }
    }

    #[test]
    fn redacts_passwords() {
        assert_eq!(redact("redis://u:secret@h:1/0"), "redis://u:***@h:1/0");
        assert_eq!(redact("redis://secret@h"), "redis://***@h");
        assert_eq!(redact("redis://h:1"), "redis://h:1");
        assert_eq!(redact("redis://u:p@ss@h:1"), "redis://u:***@h:1");
    }
}
