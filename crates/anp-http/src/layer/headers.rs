//! Header rules: which responses may be stored, which headers belong to one hop only, and the
//! diagnostic headers (`X-Cache`, `Cache-Status`, `Server-Timing`) the layer adds.

use std::time::Duration;

use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::StatusCode;

/// `X-Cache: HIT|MISS|STALE|BYPASS`.
pub(crate) static X_CACHE: HeaderName = HeaderName::from_static("x-cache");
/// RFC 9211 `Cache-Status`.
pub(crate) static CACHE_STATUS: HeaderName = header::CACHE_STATUS;
/// W3C `Server-Timing`.
pub(crate) static SERVER_TIMING: HeaderName = HeaderName::from_static("server-timing");
/// The cache's name in `Cache-Status`.
const CACHE_NAME: &str = "alphanode";

/// Headers that describe one connection, never the message (RFC 9110 §7.6.1), plus the
/// obsolete `Proxy-Connection`: a proxy drops them in both directions, and a stored response
/// never keeps them.
const HOP_BY_HOP: [&str; 9] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Removes the hop-by-hop headers (RFC 9110 §7.6.1): the fixed list (`Connection`,
/// `Keep-Alive`, `Proxy-Authenticate`, `Proxy-Authorization`, `TE`, `Trailer`,
/// `Transfer-Encoding`, `Upgrade`, and the obsolete `Proxy-Connection`) and every header the
/// `Connection` header names. For proxies: call it on the request before forwarding and on the
/// response before answering.
pub fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|t| HeaderName::from_bytes(t.trim().as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in HOP_BY_HOP {
        headers.remove(name);
    }
}

/// The directive names of every `Cache-Control` field, lower case (`private="x"` → `private`).
fn cache_control_directives(headers: &HeaderMap) -> impl Iterator<Item = String> + '_ {
    headers
        .get_all(header::CACHE_CONTROL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|d| {
            d.split('=')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
}

/// The `Vary` of a response: header names, lower case, sorted, without duplicates. `Err` for
/// `Vary: *` (the response varies on something no request header shows: never stored).
pub(crate) fn vary_names(headers: &HeaderMap) -> Result<Vec<String>, ()> {
    let mut names = Vec::new();
    for v in headers.get_all(header::VARY) {
        let Ok(v) = v.to_str() else {
            return Err(());
        };
        for name in v.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            if name == "*" {
                return Err(());
            }
            names.push(name.to_ascii_lowercase());
        }
    }
    names.sort();
    names.dedup();
    Ok(names)
}

/// Why a response to a cache-decided request must not be stored, or `None` when it may be.
/// Checked on the status and headers alone, before the body is read, so a response that is
/// not stored streams through.
pub(crate) fn not_storable(
    status: StatusCode,
    headers: &HeaderMap,
    statuses: &[u16],
    rule: &str,
    max_body: usize,
) -> Option<String> {
    if !statuses.contains(&status.as_u16()) {
        return Some(format!(
            "status {} is not one rule {rule} stores",
            status.as_u16()
        ));
    }
    if headers.contains_key(header::SET_COOKIE) {
        return Some("the response sets a cookie".to_owned());
    }
    if let Some(d) = cache_control_directives(headers)
        .find(|d| matches!(d.as_str(), "private" | "no-store" | "no-cache"))
    {
        return Some(format!("the response says Cache-Control: {d}"));
    }
    if vary_names(headers).is_err() {
        return Some("the response says Vary: * (or an unreadable Vary)".to_owned());
    }
    let length = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if length.is_some_and(|n| n > max_body as u64) {
        return Some(format!("the body is larger than {max_body} bytes"));
    }
    if headers
        .iter()
        .any(|(_, v)| std::str::from_utf8(v.as_bytes()).is_err())
    {
        return Some("a header value is not UTF-8".to_owned());
    }
    None
}

/// The headers kept in a stored response: all but the hop-by-hop ones, `Set-Cookie` (never
/// shared), `Age` (recomputed per answer) and the diagnostic headers this layer adds itself.
pub(crate) fn stored_headers(headers: &HeaderMap) -> Vec<(String, String)> {
    let mut h = headers.clone();
    strip_hop_by_hop(&mut h);
    for name in [header::SET_COOKIE, header::AGE, X_CACHE.clone()] {
        h.remove(name);
    }
    h.iter()
        .filter_map(|(n, v)| Some((n.as_str().to_owned(), v.to_str().ok()?.to_owned())))
        .collect()
}

/// What the layer did with one request: the `X-Cache` value and the `Cache-Status` member.
#[derive(Clone, Debug, Default)]
pub(crate) struct Status {
    /// `HIT`, `MISS`, `STALE` or `BYPASS`.
    pub(crate) x_cache: &'static str,
    /// Served from the cache.
    pub(crate) hit: bool,
    /// Why the request went forward (`bypass`, `uri-miss`, `vary-miss`, `stale`, `method`).
    pub(crate) fwd: Option<&'static str>,
    /// The upstream's status when the request went forward.
    pub(crate) fwd_status: Option<u16>,
    /// Freshness left (negative: stale by that much), seconds.
    pub(crate) ttl: Option<i64>,
    /// Whether the response was stored (only said when the request went forward).
    pub(crate) stored: Option<bool>,
    /// Another request's upstream call answered this one.
    pub(crate) collapsed: bool,
    /// Words for the operator.
    pub(crate) detail: Option<String>,
}

impl Status {
    /// The `Cache-Status` member (RFC 9211; structured-field syntax, RFC 8941).
    pub(crate) fn cache_status(&self) -> String {
        let mut s = String::with_capacity(64);
        s.push_str(CACHE_NAME);
        if self.hit {
            s.push_str("; hit");
        }
        if let Some(f) = self.fwd {
            s.push_str("; fwd=");
            s.push_str(f);
        }
        let mut digits = itoa::Buffer::new();
        if let Some(st) = self.fwd_status {
            s.push_str("; fwd-status=");
            s.push_str(digits.format(st));
        }
        if let Some(t) = self.ttl {
            s.push_str("; ttl=");
            s.push_str(digits.format(t));
        }
        match self.stored {
            Some(true) => s.push_str("; stored"),
            Some(false) => s.push_str("; stored=?0"),
            None => {}
        }
        if self.collapsed {
            s.push_str("; collapsed");
        }
        if let Some(d) = &self.detail {
            s.push_str("; detail=\"");
            push_sf_string(&mut s, d);
            s.push('"');
        }
        s
    }

    /// Adds `X-Cache`, appends the `Cache-Status` member and the `Server-Timing` metrics
    /// (after any the upstream sent: the member closest to the client comes last).
    pub(crate) fn apply(
        &self,
        headers: &mut HeaderMap,
        cache: Duration,
        upstream: Option<Duration>,
    ) {
        headers.insert(X_CACHE.clone(), HeaderValue::from_static(self.x_cache));
        if let Ok(v) = HeaderValue::try_from(self.cache_status()) {
            headers.append(CACHE_STATUS.clone(), v);
        }
        let mut timing = String::with_capacity(48);
        timing.push_str("cache;dur=");
        push_ms(&mut timing, cache);
        if let Some(u) = upstream {
            timing.push_str(", upstream;dur=");
            push_ms(&mut timing, u);
        }
        if let Ok(v) = HeaderValue::try_from(timing) {
            headers.append(SERVER_TIMING.clone(), v);
        }
    }
}

/// Appends `d` in milliseconds with three decimals (microseconds), e.g. `0.412`.
fn push_ms(out: &mut String, d: Duration) {
    let us = d.as_micros();
    let mut digits = itoa::Buffer::new();
    out.push_str(digits.format(us / 1000));
    out.push('.');
    let frac = digits.format(us % 1000 + 1000);
    // `1xyz`: the thousand keeps the leading zeros of the three decimals.
    out.push_str(&frac[1..]);
}

/// Appends the content of a structured-field string: printable ASCII, `"` and `\\` escaped,
/// anything else replaced by `?`.
fn push_sf_string(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            ' '..='~' => out.push(c),
            _ => out.push('?'),
        }
    }
}

/// Whether an `If-None-Match` list matches `etag` (weak comparison, RFC 9110 §13.1.2).
pub(crate) fn if_none_match(request: &HeaderMap, etag: &str) -> Option<bool> {
    let mut values = request.get_all(header::IF_NONE_MATCH).iter().peekable();
    values.peek()?;
    fn weak(t: &str) -> &str {
        t.strip_prefix("W/").unwrap_or(t)
    }
    let ours = weak(etag);
    for v in values {
        let Ok(v) = v.to_str() else { continue };
        for tag in v.split(',').map(str::trim) {
            if tag == "*" || weak(tag) == ours {
                return Some(true);
            }
        }
    }
    Some(false)
}

/// Whether `If-Modified-Since` is at or after `last_modified` (both HTTP dates).
pub(crate) fn not_modified_since(request: &HeaderMap, last_modified: Option<&str>) -> bool {
    let Some(since) = request
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| httpdate::parse_http_date(v).ok())
    else {
        return false;
    };
    last_modified
        .and_then(|lm| httpdate::parse_http_date(lm).ok())
        .is_some_and(|lm| lm <= since)
}

/// The request headers that make the upstream answer a conditional or partial response: the
/// layer drops them from the request it sends to fill the cache (it wants the full 200) and
/// answers them itself from the stored entry.
pub(crate) static CONDITIONAL: [HeaderName; 6] = [
    header::IF_NONE_MATCH,
    header::IF_MODIFIED_SINCE,
    header::IF_MATCH,
    header::IF_UNMODIFIED_SINCE,
    header::IF_RANGE,
    header::RANGE,
];

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (n, v) in pairs {
            h.append(
                HeaderName::from_bytes(n.as_bytes()).unwrap_or_else(|e| panic!("{e}")),
                HeaderValue::from_str(v).unwrap_or_else(|e| panic!("{e}")),
            );
        }
        h
    }

    #[test]
    fn diagnostic_headers_are_written_exactly() {
        let status = Status {
            x_cache: "MISS",
            fwd: Some("uri-miss"),
            fwd_status: Some(200),
            ttl: Some(-3),
            stored: Some(true),
            collapsed: true,
            detail: Some("say \"hi\"\u{e9}".to_owned()),
            ..Status::default()
        };
        let mut h = HeaderMap::new();
        status.apply(
            &mut h,
            Duration::from_micros(1_002_034),
            Some(Duration::from_micros(7)),
        );
        assert_eq!(h["x-cache"], "MISS");
        assert_eq!(
            h["cache-status"],
            "alphanode; fwd=uri-miss; fwd-status=200; ttl=-3; stored; collapsed; detail=\"say \\\"hi\\\"?\""
        );
        assert_eq!(h["server-timing"], "cache;dur=1002.034, upstream;dur=0.007");
        let hit = Status {
            x_cache: "HIT",
            hit: true,
            ttl: Some(59),
            ..Status::default()
        };
        let mut h = HeaderMap::new();
        hit.apply(&mut h, Duration::from_micros(120), None);
        assert_eq!(h["cache-status"], "alphanode; hit; ttl=59");
        assert_eq!(h["server-timing"], "cache;dur=0.120");
    }

    #[test]
    fn hop_by_hop_headers_and_the_ones_connection_names_are_removed() {
        let mut h = map(&[
            ("connection", "close, x-secret"),
            ("x-secret", "1"),
            ("transfer-encoding", "chunked"),
            ("keep-alive", "timeout=5"),
            ("content-type", "text/plain"),
        ]);
        strip_hop_by_hop(&mut h);
        assert_eq!(h.len(), 1, "{h:?}");
        assert!(h.contains_key("content-type"));
    }

    #[test]
    fn storable_checks_name_the_reason() {
        let ok = [200];
        let check = |pairs: &[(&str, &str)], status: u16| {
            not_storable(
                StatusCode::from_u16(status).unwrap_or_else(|e| panic!("{e}")),
                &map(pairs),
                &ok,
                "static",
                10,
            )
        };
        assert_eq!(check(&[("content-type", "text/css")], 200), None);
        assert!(check(&[], 404).is_some_and(|r| r.contains("status 404")));
        assert!(check(&[("set-cookie", "a=b")], 200).is_some_and(|r| r.contains("cookie")));
        for cc in ["private", "no-store", "public, No-Cache", "private=\"x\""] {
            assert!(check(&[("cache-control", cc)], 200).is_some(), "{cc}");
        }
        assert_eq!(check(&[("cache-control", "public, max-age=60")], 200), None);
        assert!(check(&[("vary", "accept, *")], 200).is_some());
        assert!(check(&[("content-length", "11")], 200).is_some_and(|r| r.contains("larger")));
    }

    #[test]
    fn vary_names_are_sorted_lower_case() {
        let h = map(&[
            ("vary", "Accept-Language, accept-encoding"),
            ("vary", "Accept-Language"),
        ]);
        assert_eq!(
            vary_names(&h),
            Ok(vec![
                "accept-encoding".to_owned(),
                "accept-language".to_owned()
            ])
        );
    }

    #[test]
    fn cache_status_is_a_structured_field() {
        let s = Status {
            x_cache: "MISS",
            fwd: Some("uri-miss"),
            fwd_status: Some(200),
            stored: Some(false),
            detail: Some("the \"x\" header\n".to_owned()),
            ..Status::default()
        };
        assert_eq!(
            s.cache_status(),
            r#"alphanode; fwd=uri-miss; fwd-status=200; stored=?0; detail="the \"x\" header?""#
        );
        let hit = Status {
            x_cache: "HIT",
            hit: true,
            ttl: Some(42),
            ..Status::default()
        };
        assert_eq!(hit.cache_status(), "alphanode; hit; ttl=42");
    }

    #[test]
    fn conditionals() {
        let etag = "\"abc\"";
        assert_eq!(if_none_match(&map(&[]), etag), None);
        assert_eq!(
            if_none_match(&map(&[("if-none-match", "\"x\", W/\"abc\"")]), etag),
            Some(true)
        );
        assert_eq!(
            if_none_match(&map(&[("if-none-match", "\"x\"")]), etag),
            Some(false)
        );
        assert_eq!(
            if_none_match(&map(&[("if-none-match", "*")]), etag),
            Some(true)
        );
        let lm = "Wed, 21 Oct 2015 07:28:00 GMT";
        assert!(not_modified_since(
            &map(&[("if-modified-since", lm)]),
            Some(lm)
        ));
        assert!(!not_modified_since(
            &map(&[("if-modified-since", "Tue, 20 Oct 2015 07:28:00 GMT")]),
            Some(lm)
        ));
    }
}
