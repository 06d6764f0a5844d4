//! Rule examples (`should_cache`, `should_bypass`): request lines parsed into requests, and
//! [`Rules::check`](super::Rules::check)'s findings.

use std::fmt;

use http::{HeaderMap, HeaderName, HeaderValue, Method, Uri};

use crate::decision::Decision;

/// One example request line: `METHOD /path?query [name:value]…`.
///
/// Each word with a `:` starts a header (`authorization:Bearer x`: the words after it without
/// a `:` continue its value); `cookie:name=value` adds a cookie; `host:www.example.com` sets
/// the host (default: the rule's first `match.host`, else `example.com`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Example {
    /// The line as written.
    pub text: String,
    /// The method.
    pub method: Method,
    /// Path and query.
    pub uri: Uri,
    /// The headers, `host` and `cookie` among them.
    pub headers: HeaderMap,
}

impl Example {
    /// Parses an example line; `default_host` is used when it names no `host:`.
    pub fn parse(text: &str, default_host: &str) -> Result<Example, String> {
        let mut words = text.split_whitespace();
        let expected = "expected `METHOD /path?query [header:value]…`, e.g. `GET /assets/app.js cookie:session=abc`";
        let method = words
            .next()
            .ok_or_else(|| format!("the example is empty: {expected}"))?;
        let method = Method::from_bytes(method.to_ascii_uppercase().as_bytes())
            .map_err(|_| format!("{method:?} is not a method: {expected}"))?;
        let target = words
            .next()
            .ok_or_else(|| format!("{text:?} has no path: {expected}"))?;
        if !target.starts_with('/') {
            return Err(format!("{target:?} is not a path: {expected}"));
        }
        let uri: Uri = target
            .parse()
            .map_err(|e| format!("{target:?} is not a valid path and query ({e}): {expected}"))?;
        let mut pairs: Vec<(String, String)> = Vec::new();
        for word in words {
            match word.split_once(':') {
                Some((name, value)) if !name.is_empty() => {
                    pairs.push((name.to_ascii_lowercase(), value.to_owned()))
                }
                _ => match pairs.last_mut() {
                    Some((_, value)) => {
                        value.push(' ');
                        value.push_str(word);
                    }
                    None => return Err(format!("{word:?} is not a header: {expected}")),
                },
            }
        }
        let mut headers = HeaderMap::new();
        let mut cookies = Vec::new();
        for (name, value) in pairs {
            if name == "cookie" {
                cookies.push(value);
                continue;
            }
            let n = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| format!("{name:?} is not a header name: {expected}"))?;
            let v = HeaderValue::from_str(&value)
                .map_err(|_| format!("the value of {name} ({value:?}) is not a header value"))?;
            headers.append(n, v);
        }
        if !cookies.is_empty() {
            let v = HeaderValue::from_str(&cookies.join("; "))
                .map_err(|_| format!("the cookies {cookies:?} are not a header value"))?;
            headers.insert(http::header::COOKIE, v);
        }
        if !headers.contains_key(http::header::HOST) {
            let v = HeaderValue::from_str(default_host)
                .map_err(|_| format!("the host {default_host:?} is not a header value"))?;
            headers.insert(http::header::HOST, v);
        }
        Ok(Example {
            text: text.to_owned(),
            method,
            uri,
            headers,
        })
    }
}

/// What an example says must happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expected {
    /// `should_cache`: cached, by the rule that lists it.
    Cache,
    /// `should_bypass`: bypassed (by any rule or built-in condition).
    Bypass,
}

/// An example the rules do not honour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExampleFailure {
    /// The rule that lists the example.
    pub rule: String,
    /// `file:line` of the example.
    pub location: String,
    /// The example line.
    pub example: String,
    /// What it says must happen.
    pub expected: Expected,
    /// What the rules decided.
    pub got: Decision,
}

impl fmt::Display for ExampleFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (list, want) = match self.expected {
            Expected::Cache => ("should_cache", "be cached by this rule"),
            Expected::Bypass => ("should_bypass", "bypass the cache"),
        };
        write!(
            f,
            "{}: rule {:?}: {list} example {:?} should {want}, but ",
            self.location, self.rule, self.example
        )?;
        match &self.got {
            Decision::Cache(c) => write!(f, "rule {:?} caches it (key {})", c.rule, c.key),
            Decision::Bypass(b) => match &b.rule {
                Some(r) => write!(f, "it is bypassed by {r}: {}", b.reason),
                None => write!(f, "it is bypassed: {}", b.reason),
            },
        }
    }
}
