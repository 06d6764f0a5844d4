//! A rule's `match`: the conditions, the request as the rules see it ([`Req`]), why a
//! condition holds or not (for `explain`), and whether one match covers another (for the
//! shadowed-rule lint).

use std::borrow::Cow;

use http::header::{COOKIE, HOST};
use http::{HeaderMap, HeaderName, Method, Uri};

use super::glob::PathGlob;

/// A rule's match conditions. Every condition given must hold; a list condition holds when
/// any of its values does. Empty lists are conditions not given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Match {
    /// `host`: the request's host (lowercase, port dropped) is one of these.
    pub hosts: Vec<String>,
    /// `method`: GET and/or HEAD (every other method is bypassed before any rule).
    pub methods: Vec<Method>,
    /// `path`: the path matches one of these globs.
    pub paths: Vec<PathGlob>,
    /// `prefix`: the path starts with one of these.
    pub prefixes: Vec<String>,
    /// `extension`: the last path segment ends with `.EXT` for one of these (lowercase).
    pub extensions: Vec<String>,
    /// `query`: whether the URL must have a query string.
    pub query: QueryCondition,
    /// `header`: each of these request headers is present.
    pub headers: Vec<HeaderName>,
    /// `cookie`: each of these cookies is present.
    pub cookies: Vec<String>,
}

/// `match.query`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum QueryCondition {
    /// `"any"` (the default): with or without a query string.
    #[default]
    Any,
    /// `"absent"`: no query string (a bare `?` counts as none).
    Absent,
    /// `"present"`: a non-empty query string.
    Present,
}

/// The parts of a request the rules look at, read once.
#[derive(Debug)]
pub(crate) struct Req<'a> {
    pub(crate) method: &'a Method,
    /// From `Host`, else the URI's authority; lowercase, without the port (borrowed when it
    /// was lowercase already, as it nearly always is).
    pub(crate) host: Cow<'a, str>,
    pub(crate) path: &'a str,
    /// `None` for no query or an empty one.
    pub(crate) query: Option<&'a str>,
    pub(crate) headers: &'a HeaderMap,
    /// Every `name=value` pair of every `Cookie` header, in order.
    pub(crate) cookies: Vec<(&'a str, &'a str)>,
}

impl<'a> Req<'a> {
    pub(crate) fn new(method: &'a Method, uri: &'a Uri, headers: &'a HeaderMap) -> Req<'a> {
        let host = headers
            .get(HOST)
            .and_then(|h| h.to_str().ok())
            .or_else(|| uri.authority().map(|a| a.as_str()))
            .unwrap_or("");
        // `[::1]:8080` keeps its brackets; `example.com:8080` loses the port.
        let host = match host.rfind(':') {
            Some(i) if !host[i..].contains(']') => &host[..i],
            _ => host,
        };
        let path = match uri.path() {
            "" => "/",
            p => p,
        };
        let cookies = headers
            .get_all(COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(|c| c.split_once('=').unwrap_or((c, "")))
            .map(|(n, v)| (n.trim(), v.trim()))
            .collect();
        Req {
            method,
            host: if host.bytes().any(|b| b.is_ascii_uppercase()) {
                Cow::Owned(host.to_ascii_lowercase())
            } else {
                Cow::Borrowed(host)
            },
            path,
            query: uri.query().filter(|q| !q.is_empty()),
            headers,
            cookies,
        }
    }

    /// The extension of the last path segment, as written (compare it ignoring ASCII case).
    pub(crate) fn extension(&self) -> Option<&'a str> {
        let last = self.path.rsplit('/').next().unwrap_or("");
        last.rsplit_once('.').map(|(_, e)| e)
    }

    pub(crate) fn cookie(&self, name: &str) -> Option<&'a str> {
        self.cookies
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| *v)
    }
}

fn list(items: &[impl AsRef<str>]) -> String {
    items
        .iter()
        .map(|s| format!("`{}`", s.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Match {
    /// Whether the request matches: `Ok` with what held, `Err` with the first condition that
    /// did not (for `explain`).
    pub(crate) fn check(&self, req: &Req<'_>) -> Result<Vec<String>, String> {
        self.evaluate(req, true)
    }

    /// Whether the request matches, without saying why: the per-request path, which
    /// allocates nothing.
    pub(crate) fn holds(&self, req: &Req<'_>) -> bool {
        self.evaluate(req, false).is_ok()
    }

    /// The one evaluation behind [`Match::check`] and [`Match::holds`]: the words are only
    /// written when `explain` is set (otherwise `held` stays empty and an `Err` is empty).
    fn evaluate(&self, req: &Req<'_>, explain: bool) -> Result<Vec<String>, String> {
        let mut held = Vec::new();
        let mut note = |words: &dyn Fn() -> String| {
            if explain {
                held.push(words());
            }
        };
        let fail = |words: &dyn Fn() -> String| if explain { words() } else { String::new() };
        if !self.methods.is_empty() {
            if !self.methods.contains(req.method) {
                return Err(fail(&|| {
                    format!(
                        "method {} is not {}",
                        req.method,
                        list(&self.methods.iter().map(Method::as_str).collect::<Vec<_>>())
                    )
                }));
            }
            note(&|| format!("method {}", req.method));
        }
        if !self.hosts.is_empty() {
            if !self.hosts.iter().any(|h| *h == req.host) {
                return Err(fail(&|| {
                    format!("host `{}` is not {}", req.host, list(&self.hosts))
                }));
            }
            note(&|| format!("host `{}`", req.host));
        }
        if !self.paths.is_empty() {
            match self.paths.iter().find(|g| g.is_match(req.path)) {
                Some(g) => note(&|| format!("path `{}` matches `{}`", req.path, g.as_str())),
                None => {
                    return Err(fail(&|| {
                        format!(
                            "path `{}` does not match {}",
                            req.path,
                            list(&self.paths.iter().map(PathGlob::as_str).collect::<Vec<_>>())
                        )
                    }))
                }
            }
        }
        if !self.prefixes.is_empty() {
            match self
                .prefixes
                .iter()
                .find(|p| req.path.starts_with(p.as_str()))
            {
                Some(p) => note(&|| format!("path `{}` starts with `{p}`", req.path)),
                None => {
                    return Err(fail(&|| {
                        format!(
                            "path `{}` does not start with {}",
                            req.path,
                            list(&self.prefixes)
                        )
                    }))
                }
            }
        }
        if !self.extensions.is_empty() {
            match req.extension() {
                Some(e) if self.extensions.iter().any(|x| x.eq_ignore_ascii_case(e)) => {
                    note(&|| format!("extension `{}`", e.to_ascii_lowercase()))
                }
                Some(e) => {
                    return Err(fail(&|| {
                        format!(
                            "extension `{}` is not {}",
                            e.to_ascii_lowercase(),
                            list(&self.extensions)
                        )
                    }))
                }
                None => {
                    return Err(fail(&|| {
                        format!(
                            "path `{}` has no extension (expected {})",
                            req.path,
                            list(&self.extensions)
                        )
                    }))
                }
            }
        }
        match (self.query, req.query) {
            (QueryCondition::Absent, Some(q)) => {
                return Err(fail(&|| {
                    format!("the query `{q}` is present (query = \"absent\")")
                }))
            }
            (QueryCondition::Present, None) => {
                return Err(fail(&|| {
                    "there is no query (query = \"present\")".to_owned()
                }))
            }
            (QueryCondition::Absent, None) => note(&|| "no query".to_owned()),
            (QueryCondition::Present, Some(_)) => note(&|| "a query".to_owned()),
            (QueryCondition::Any, _) => {}
        }
        for h in &self.headers {
            if !req.headers.contains_key(h) {
                return Err(fail(&|| format!("header `{h}` is absent")));
            }
            note(&|| format!("header `{h}` present"));
        }
        for c in &self.cookies {
            if req.cookie(c).is_none() {
                return Err(fail(&|| format!("cookie `{c}` is absent")));
            }
            note(&|| format!("cookie `{c}` present"));
        }
        if explain && held.is_empty() {
            held.push("no conditions: matches every request".to_owned());
        }
        Ok(held)
    }

    /// Whether every request this match could hold for, `self` holds for too — decided
    /// soundly (a `true` is certain; some coverings are not recognised).
    pub(crate) fn covers(&self, other: &Match) -> bool {
        let subset = |a: &[String], b: &[String]| {
            a.is_empty() || (!b.is_empty() && b.iter().all(|x| a.contains(x)))
        };
        let methods = self.methods.is_empty()
            || (!other.methods.is_empty()
                && other.methods.iter().all(|m| self.methods.contains(m)));
        methods
            && subset(&self.hosts, &other.hosts)
            && subset(&self.extensions, &other.extensions)
            && (self.query == QueryCondition::Any || self.query == other.query)
            && self.headers.iter().all(|h| other.headers.contains(h))
            && self.cookies.iter().all(|c| other.cookies.contains(c))
            && (self.paths.is_empty()
                || paths_within(
                    other,
                    |p| glob_covers_prefix(&self.paths, p),
                    |g| glob_covers_glob(&self.paths, g),
                ))
            && (self.prefixes.is_empty()
                || paths_within(
                    other,
                    |p| self.prefixes.iter().any(|a| p.starts_with(a.as_str())),
                    |g| {
                        self.prefixes
                            .iter()
                            .any(|a| g.literal_prefix().starts_with(a.as_str()))
                    },
                ))
    }
}

/// Whether every path `m` allows is covered: all of its prefixes are, or all of its globs are.
fn paths_within(
    m: &Match,
    prefix_covered: impl Fn(&str) -> bool,
    glob_covered: impl Fn(&PathGlob) -> bool,
) -> bool {
    (!m.prefixes.is_empty() && m.prefixes.iter().all(|p| prefix_covered(p)))
        || (!m.paths.is_empty() && m.paths.iter().all(glob_covered))
}

fn glob_covers_prefix(globs: &[PathGlob], prefix: &str) -> bool {
    globs.iter().any(|a| {
        a.as_str() == "/**"
            || a.subtree_base()
                .is_some_and(|base| prefix.starts_with(base))
    })
}

fn glob_covers_glob(globs: &[PathGlob], b: &PathGlob) -> bool {
    globs.iter().any(|a| {
        a == b
            || a.as_str() == "/**"
            || (b.is_literal() && a.is_match(b.as_str()))
            || a.subtree_base()
                .is_some_and(|base| b.literal_prefix().starts_with(base))
    })
}
