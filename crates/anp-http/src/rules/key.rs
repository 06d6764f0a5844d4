//! The cache key and the tags of one request under a `cache` rule.

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

/// Escapes the key's separator (`|`) and the escape character itself, so parts chosen by
/// the client cannot imitate other parts.
fn esc(s: &str) -> String {
    s.replace('%', "%25").replace('|', "%7C")
}

/// The key: `GET|host|/path|?sorted=query|header=value|cookie:name=value`. HEAD and GET
/// share it (a HEAD is answered from a GET's entry). A header or cookie named by the key
/// but absent from the request appears without `=`.
pub(crate) fn cache_key(req: &Req<'_>, spec: &KeySpec) -> String {
    let mut key = format!("GET|{}|{}|?", esc(&req.host), esc(req.path));
    let mut pairs: Vec<&str> = match &spec.query {
        QueryKey::None => Vec::new(),
        QueryKey::All => req
            .query
            .map(|q| q.split('&').filter(|p| !p.is_empty()).collect())
            .unwrap_or_default(),
        QueryKey::Only(names) => req
            .query
            .map(|q| {
                q.split('&')
                    .filter(|p| names.iter().any(|n| p.split('=').next() == Some(n)))
                    .collect()
            })
            .unwrap_or_default(),
    };
    pairs.sort_by(|a, b| a.split('=').next().cmp(&b.split('=').next()).then(a.cmp(b)));
    key.push_str(&esc(&pairs.join("&")));
    for h in &spec.headers {
        // Each value escaped; a value that is not UTF-8 as `%XX` bytes (which an escaped
        // value cannot look like: its `%` became `%25`).
        let values: Vec<String> = req
            .headers
            .get_all(h)
            .iter()
            .map(|v| match v.to_str() {
                Ok(s) => esc(s),
                Err(_) => v.as_bytes().iter().map(|b| format!("%{b:02X}")).collect(),
            })
            .collect();
        if values.is_empty() {
            key.push_str(&format!("|{h}"));
        } else {
            key.push_str(&format!("|{h}={}", values.join(",")));
        }
    }
    for c in &spec.cookies {
        match req.cookie(c) {
            Some(v) => key.push_str(&format!("|cookie:{}={}", esc(c), esc(v))),
            None => key.push_str(&format!("|cookie:{}", esc(c))),
        }
    }
    key
}

/// The rule's tags with `{path}` and `{host}` resolved.
pub(crate) fn tags(req: &Req<'_>, tags: &[String]) -> Vec<String> {
    tags.iter()
        .map(|t| t.replace("{path}", req.path).replace("{host}", &req.host))
        .collect()
}
