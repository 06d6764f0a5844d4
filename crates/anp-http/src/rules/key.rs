//! The cache key and the tags of one request under a `cache` rule.

use std::fmt::Write;

use http::HeaderName;

use super::matcher::Req;

/// `key`: which parts of a request, beyond its host and path, make its cache key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeySpec {
    /// `key.query`.
    pub query: QueryKey,
    /// `key.headers`: these request headers' values (e.g. `accept-language`).
    pub headers: Vec<HeaderName>,
    /// `key.cookies`: these cookies' values. No other cookie value is ever in a key.
    pub cookies: Vec<String>,
}

/// `key.query`: which query parameters are in the key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum QueryKey {
    /// `"all"` (the default): every parameter, sorted, so `?b=2&a=1` and `?a=1&b=2` share
    /// an entry.
    #[default]
    All,
    /// `"none"`: the query is ignored (every query string shares one entry).
    None,
    /// `["page", "sort"]`: only these parameters, sorted.
    Only(Vec<String>),
}

/// A query pair's name (`a` of `a=1`).
fn name(pair: &str) -> Option<&str> {
    pair.split('=').next()
}

/// Appends `s` with the key's separator (`|`) and the escape character itself escaped, so
/// parts chosen by the client cannot imitate other parts.
fn push_escaped(key: &mut String, s: &str) {
    let mut rest = s;
    while let Some(i) = rest.find(['%', '|']) {
        key.push_str(&rest[..i]);
        key.push_str(if rest.as_bytes()[i] == b'%' {
            "%25"
        } else {
            "%7C"
        });
        rest = &rest[i + 1..];
    }
    key.push_str(rest);
}

/// The key: `GET|host|/path|?sorted=query|header=value|cookie:name=value`. HEAD and GET
/// share it (a HEAD is answered from a GET's entry). A header or cookie named by the key
/// but absent from the request appears without `=`.
pub(crate) fn cache_key(req: &Req<'_>, spec: &KeySpec) -> String {
    let mut key = String::with_capacity(8 + req.host.len() + req.path.len());
    key.push_str("GET|");
    push_escaped(&mut key, &req.host);
    key.push('|');
    push_escaped(&mut key, req.path);
    key.push_str("|?");
    let mut pairs: Vec<&str> = match (&spec.query, req.query) {
        (QueryKey::None, _) | (_, None) => Vec::new(),
        (QueryKey::All, Some(q)) => q.split('&').filter(|p| !p.is_empty()).collect(),
        (QueryKey::Only(names), Some(q)) => q
            .split('&')
            .filter(|p| names.iter().any(|n| name(p) == Some(n)))
            .collect(),
    };
    pairs.sort_by(|a, b| name(a).cmp(&name(b)).then(a.cmp(b)));
    for (i, p) in pairs.iter().enumerate() {
        if i > 0 {
            key.push('&');
        }
        push_escaped(&mut key, p);
    }
    for h in &spec.headers {
        key.push('|');
        key.push_str(h.as_str());
        // Each value escaped; a value that is not UTF-8 as `%XX` bytes (which an escaped
        // value cannot look like: its `%` became `%25`).
        for (i, v) in req.headers.get_all(h).iter().enumerate() {
            key.push(if i == 0 { '=' } else { ',' });
            match v.to_str() {
                Ok(s) => push_escaped(&mut key, s),
                Err(_) => {
                    for b in v.as_bytes() {
                        let _ = write!(key, "%{b:02X}");
                    }
                }
            }
        }
    }
    for c in &spec.cookies {
        key.push_str("|cookie:");
        push_escaped(&mut key, c);
        if let Some(v) = req.cookie(c) {
            key.push('=');
            push_escaped(&mut key, v);
        }
    }
    key
}

/// The rule's tags with `{path}` and `{host}` resolved.
pub(crate) fn tags(req: &Req<'_>, tags: &[String]) -> Vec<String> {
    tags.iter()
        .map(|t| {
            if t.contains('{') {
                t.replace("{path}", req.path).replace("{host}", &req.host)
            } else {
                t.clone()
            }
        })
        .collect()
}
