//! A rule's `match`: the conditions, the request as the rules see it ([`Req`]), why a
//! condition holds or not (for `explain`), and whether one match covers another (for the
//! shadowed-rule lint).

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
    /// From `Host`, else the URI's authority; lowercase, without the port.
    pub(crate) host: String,
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
            host: host.to_ascii_lowercase(),
            path,
            query: uri.query().filter(|q| !q.is_empty()),
            headers,
            cookies,
        }
    }

    /// The extension of the last path segment, lowercase.
    pub(crate) fn extension(&self) -> Option<String> {
        let last = self.path.rsplit('/').next().unwrap_or("");
        last.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase())
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
    /// did not.
    pub(crate) fn check(&self, req: &Req<'_>) -> Result<Vec<String>, String> {
        let mut held = Vec::new();
        if !self.methods.is_empty() {
            if !self.methods.contains(req.method) {
                return Err(format!(
                    "method {} is not {}",
                    req.method,
                    list(&self.methods.iter().map(Method::as_str).collect::<Vec<_>>())
                ));
            }
            held.push(format!("method {}", req.method));
        }
        if !self.hosts.is_empty() {
            if !self.hosts.contains(&req.host) {
                return Err(format!("host `{}` is not {}", req.host, list(&self.hosts)));
            }
            held.push(format!("host `{}`", req.host));
        }
        if !self.paths.is_empty() {
            match self.paths.iter().find(|g| g.is_match(req.path)) {
                Some(g) => held.push(format!("path `{}` matches `{}`", req.path, g.as_str())),
                None => {
                    return Err(format!(
                        "path `{}` does not match {}",
                        req.path,
                        list(&self.paths.iter().map(PathGlob::as_str).collect::<Vec<_>>())
                    ))
                }
            }
        }
        if !self.prefixes.is_empty() {
            match self
                .prefixes
                .iter()
                .find(|p| req.path.starts_with(p.as_str()))
            {
                Some(p) => held.push(format!("path `{}` starts with `{p}`", req.path)),
                None => {
                    return Err(format!(
                        "path `{}` does not start with {}",
                        req.path,
                        list(&self.prefixes)
                    ))
                }
            }
        }
        if !self.extensions.is_empty() {
            match req.extension() {
                Some(e) if self.extensions.contains(&e) => held.push(format!("extension `{e}`")),
                Some(e) => {
                    return Err(format!("extension `{e}` is not {}", list(&self.extensions)))
                }
                None => {
                    return Err(format!(
                        "path `{}` has no extension (expected {})",
                        req.path,
                        list(&self.extensions)
                    ))
                }
            }
        }
        match (self.query, req.query) {
            (QueryCondition::Absent, Some(q)) => {
                return Err(format!("the query `{q}` is present (query = \"absent\")"))
            }
            (QueryCondition::Present, None) => {
                return Err("there is no query (query = \"present\")".to_owned())
            }
            (QueryCondition::Absent, None) => held.push("no query".to_owned()),
            (QueryCondition::Present, Some(_)) => held.push("a query".to_owned()),
            (QueryCondition::Any, _) => {}
        }
        for h in &self.headers {
            if !req.headers.contains_key(h) {
                return Err(format!("header `{h}` is absent"));
            }
            held.push(format!("header `{h}` present"));
        }
        for c in &self.cookies {
            if req.cookie(c).is_none() {
                return Err(format!("cookie `{c}` is absent"));
            }
            held.push(format!("cookie `{c}` present"));
        }
        if held.is_empty() {
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
