//! Varnish running the VCL of `anp cache rules export --format varnish`.
//!
//! | purge | request |
//! |---|---|
//! | tags | `PURGE /` with `xkey-purge: TAG TAG…` (at most [`VARNISH_MAX_TAGS_PER_REQUEST`] tags) |
//! | URL | `PURGE /path?query` with `Host: <the URL's host>` |
//! | prefix | `BAN /` with `Host: <the prefix's host>` and `x-ban-path: ^<the path, regex-escaped>` |
//!
//! The VCL allows these from its `anp_purgers` ACL only (loopback by default); a 403 is
//! reported as a configuration problem, not retried.

use regex::escape;

use super::retry::Verdict;
use super::{snippet, PurgeBy, PurgeClient, PurgeError, PurgeReport, PurgeRequest};

/// The request header of a `PURGE` naming the `xkey` tags to purge, space-separated (the
/// header varnish-modules' `xkey.purge()` is called with in the exported VCL).
pub const XKEY_PURGE_HEADER: &str = "xkey-purge";

/// The request header of a `BAN` holding the regex matched against stored objects' paths
/// (on the `Host` of the request), as the exported VCL reads it.
pub const BAN_PATH_HEADER: &str = "x-ban-path";

/// Tags per `PURGE` request, keeping the header well under Varnish's default 8 KiB
/// (`http_req_hdr_len`).
pub const VARNISH_MAX_TAGS_PER_REQUEST: usize = 100;

/// A Varnish reachable over HTTP for purges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Varnish {
    name: String,
    origin: String,
}

impl Varnish {
    /// A target named `name` at `url` (`http://127.0.0.1:6081`: scheme, host and port; a path
    /// is not allowed, purges are sent to the paths they concern).
    pub fn new(name: &str, url: &str) -> Result<Varnish, PurgeError> {
        let bad = |why: &str| {
            PurgeError::invalid(format!(
                "varnish {name:?}: url {url:?} {why}: expected http://HOST:PORT (or https://), \
                 e.g. http://127.0.0.1:6081"
            ))
        };
        let u = reqwest::Url::parse(url).map_err(|_| bad("is not a URL"))?;
        if !matches!(u.scheme(), "http" | "https") || u.host_str().is_none() {
            return Err(bad("is not an http(s) URL with a host"));
        }
        if u.path() != "/" || u.query().is_some() {
            return Err(bad("has a path or query"));
        }
        let origin = u.origin().ascii_serialization();
        Ok(Varnish {
            name: name.to_owned(),
            origin,
        })
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Where purges are sent (`http://127.0.0.1:6081`).
    pub fn origin(&self) -> &str {
        &self.origin
    }

    pub(super) async fn purge(
        &self,
        client: &PurgeClient,
        req: &PurgeRequest,
        report: &mut PurgeReport,
    ) -> Result<(), PurgeError> {
        let purge = reqwest::Method::from_bytes(b"PURGE")
            .map_err(|e| PurgeError::at(&self.name, format!("method PURGE: {e}"), false))?;
        let ban = reqwest::Method::from_bytes(b"BAN")
            .map_err(|e| PurgeError::at(&self.name, format!("method BAN: {e}"), false))?;
        match req.by() {
            PurgeBy::Tag => {
                for batch in req.values().chunks(VARNISH_MAX_TAGS_PER_REQUEST) {
                    let tags = batch.join(" ");
                    let what = format!("PURGE {}/ ({XKEY_PURGE_HEADER}: {tags})", self.origin);
                    let url = format!("{}/", self.origin);
                    client
                        .send(
                            report,
                            &what,
                            None,
                            |http| {
                                http.request(purge.clone(), &url)
                                    .header(XKEY_PURGE_HEADER, &tags)
                            },
                            |s, after, body| classify(&what, s, after, body),
                        )
                        .await?;
                }
            }
            PurgeBy::Url => {
                for v in req.values() {
                    let u = super::parse_url(PurgeBy::Url, v)?;
                    let path = match u.query() {
                        Some(q) => format!("{}?{q}", u.path()),
                        None => u.path().to_owned(),
                    };
                    let host = host_header(&u);
                    let what = format!("PURGE {path} (Host: {host}) at {}", self.origin);
                    let url = format!("{}{path}", self.origin);
                    client
                        .send(
                            report,
                            &what,
                            None,
                            |http| {
                                http.request(purge.clone(), &url)
                                    .header(reqwest::header::HOST, &host)
                            },
                            |s, after, body| classify(&what, s, after, body),
                        )
                        .await?;
                }
            }
            PurgeBy::Prefix => {
                for v in req.values() {
                    let u = super::parse_url(PurgeBy::Prefix, v)?;
                    let host = host_header(&u);
                    let regex = format!("^{}", escape(u.path()));
                    let what = format!(
                        "BAN (Host: {host}, {BAN_PATH_HEADER}: {regex}) at {}",
                        self.origin
                    );
                    let url = format!("{}/", self.origin);
                    client
                        .send(
                            report,
                            &what,
                            None,
                            |http| {
                                http.request(ban.clone(), &url)
                                    .header(reqwest::header::HOST, &host)
                                    .header(BAN_PATH_HEADER, &regex)
                            },
                            |s, after, body| classify(&what, s, after, body),
                        )
                        .await?;
                }
            }
        }
        Ok(())
    }
}

/// `host[:port]` as a `Host` header names it.
fn host_header(u: &reqwest::Url) -> String {
    let host = u.host_str().unwrap_or_default();
    match u.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_owned(),
    }
}

fn classify(
    what: &str,
    status: reqwest::StatusCode,
    after: Option<std::time::Duration>,
    body: &str,
) -> Verdict {
    let answer = snippet(body, 200);
    if status.is_success() {
        return Verdict::Done(format!("{} {answer}", status.as_u16()).trim().to_owned());
    }
    let code = status.as_u16();
    if code == 408 || code == 429 || status.is_server_error() {
        return Verdict::Retry {
            after,
            why: format!("{what} returned {status}: {answer}"),
        };
    }
    let expected = match code {
        403 => "expected this host to be in the VCL's purge ACL (`anp_purgers`)",
        404 | 405 | 501 => {
            "expected a VCL that handles PURGE and BAN (`anp cache rules export --format varnish`)"
        }
        _ => "expected 200 from the VCL's purge handler",
    };
    Verdict::Fail(format!("{what} returned {status}: {answer}: {expected}"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked() {
        let v = Varnish::new("v", "http://127.0.0.1:6081").unwrap();
        assert_eq!(v.origin(), "http://127.0.0.1:6081");
        let e = Varnish::new("v", "http://127.0.0.1:6081/purge").unwrap_err();
        assert!(e.to_string().contains("has a path or query"), "{e}");
        assert!(Varnish::new("v", "127.0.0.1:6081").is_err());
    }

    #[test]
    fn failures_say_what_was_expected() {
        let v = classify("PURGE /", reqwest::StatusCode::FORBIDDEN, None, "Forbidden");
        assert!(matches!(v, Verdict::Fail(m) if m.contains("purge ACL")));
        let v = classify(
            "PURGE /",
            reqwest::StatusCode::SERVICE_UNAVAILABLE,
            None,
            "",
        );
        assert!(matches!(v, Verdict::Retry { .. }));
    }
}
