//! What the layer keeps in the application cache: a response (status, headers, body, validators,
//! windows), or — under the primary key of a response that varies — the list of request
//! headers it varies on.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

/// One cache value of the layer. Externally tagged JSON: `{"response": {…}}` or
/// `{"vary": {…}}`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Stored {
    /// A response, served as it is.
    Response(Arc<StoredResponse>),
    /// The response under this key varies: its variants are stored under
    /// [`variant_key`]s built from these request headers.
    Vary(Arc<VaryMarker>),
}

impl Stored {
    /// The very same value (one computation's result), not just an equal one.
    pub(crate) fn same(&self, other: &Stored) -> bool {
        match (self, other) {
            (Stored::Response(a), Stored::Response(b)) => Arc::ptr_eq(a, b),
            (Stored::Vary(a), Stored::Vary(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

/// The request headers a response varies on.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct VaryMarker {
    /// Header names, lower case, sorted.
    pub(crate) names: Vec<String>,
}

/// A stored response as it travels in JSON.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Wire {
    /// Status code.
    pub(crate) status: u16,
    /// Headers kept ([`super::headers::stored_headers`]), in order, ETag included.
    pub(crate) headers: Vec<(String, String)>,
    /// The body, base64 in JSON.
    #[serde(with = "b64")]
    pub(crate) body: Bytes,
    /// The upstream's `ETag`, or a strong one made from the body's SHA-256.
    pub(crate) etag: String,
    /// The upstream's `Last-Modified`.
    pub(crate) last_modified: Option<String>,
    /// The `Vary` header names (lower case, sorted); empty when it does not vary.
    pub(crate) vary: Vec<String>,
    /// When it was stored (Unix ms).
    pub(crate) stored_at_ms: i64,
    /// Fresh until (Unix ms): the rule's edge TTL after `stored_at_ms`.
    pub(crate) fresh_until_ms: i64,
    /// Served stale while one refresh runs until (Unix ms).
    pub(crate) stale_until_ms: i64,
}

/// A stored response with its headers parsed once, so an L1 hit only clones a map.
#[derive(Debug)]
pub(crate) struct StoredResponse {
    pub(crate) wire: Wire,
    /// The headers as every answer from this entry starts: the kept ones without `Expires`
    /// (the layer says `Cache-Control` instead), with the body's `Content-Length`.
    pub(crate) headers: HeaderMap,
}

impl Serialize for StoredResponse {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.wire.serialize(s)
    }
}

impl<'de> Deserialize<'de> for StoredResponse {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let wire = Wire::deserialize(d)?;
        let headers =
            served_headers(&wire.headers, wire.body.len()).map_err(serde::de::Error::custom)?;
        Ok(StoredResponse { wire, headers })
    }
}

/// [`StoredResponse::headers`] from the stored pairs.
fn served_headers(pairs: &[(String, String)], body_len: usize) -> Result<HeaderMap, String> {
    let mut map = HeaderMap::with_capacity(pairs.len() + 1);
    for (n, v) in pairs {
        let name = HeaderName::from_bytes(n.as_bytes())
            .map_err(|e| format!("stored header name {n:?}: {e}"))?;
        if name == header::EXPIRES || name == header::CONTENT_LENGTH {
            continue;
        }
        let value = HeaderValue::from_bytes(v.as_bytes())
            .map_err(|e| format!("stored value of header {n}: {e}"))?;
        map.append(name, value);
    }
    map.insert(header::CONTENT_LENGTH, HeaderValue::from(body_len));
    Ok(map)
}

impl StoredResponse {
    /// A response to store: its status, the headers to keep, its body and its windows.
    pub(crate) fn new(
        status: u16,
        mut kept: Vec<(String, String)>,
        body: Bytes,
        vary: Vec<String>,
        windows: Windows,
    ) -> Result<StoredResponse, String> {
        let etag = match kept.iter().find(|(n, _)| n == header::ETAG.as_str()) {
            Some((_, v)) => v.clone(),
            None => {
                let digest = Sha256::digest(&body);
                let tag = format!("\"{}\"", hex(&digest[..16]));
                kept.push((header::ETAG.as_str().to_owned(), tag.clone()));
                tag
            }
        };
        let last_modified = kept
            .iter()
            .find(|(n, _)| n == header::LAST_MODIFIED.as_str())
            .map(|(_, v)| v.clone());
        let headers = served_headers(&kept, body.len())?;
        Ok(StoredResponse {
            wire: Wire {
                status,
                headers: kept,
                body,
                etag,
                last_modified,
                vary,
                stored_at_ms: windows.stored_at_ms,
                fresh_until_ms: windows.fresh_until_ms,
                stale_until_ms: windows.stale_until_ms,
            },
            headers,
        })
    }
}

/// When a response was stored and how long it is served.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Windows {
    pub(crate) stored_at_ms: i64,
    pub(crate) fresh_until_ms: i64,
    pub(crate) stale_until_ms: i64,
}

impl Windows {
    /// Stored now, fresh for `fresh`, then stale for `stale`.
    pub(crate) fn from_now(fresh: Duration, stale: Duration) -> Windows {
        let at = now_ms();
        let f = at.saturating_add(duration_ms(fresh));
        Windows {
            stored_at_ms: at,
            fresh_until_ms: f,
            stale_until_ms: f.saturating_add(duration_ms(stale)),
        }
    }
}

fn duration_ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Now, Unix milliseconds.
pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, duration_ms)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The key of one variant of a response that varies: the primary key, the header names, and a
/// SHA-256 of this request's values of those headers (so the key stays short whatever the
/// values, and a value never shows in plain text).
pub(crate) fn variant_key(primary: &str, names: &[String], request: &HeaderMap) -> String {
    let mut h = Sha256::new();
    for n in names {
        h.update(n.as_bytes());
        h.update([0]);
        for v in request.get_all(n.as_str()) {
            h.update(v.as_bytes());
            h.update([1]);
        }
        h.update([2]);
    }
    let digest = h.finalize();
    format!("{primary} vary:{}#{}", names.join(","), hex(&digest[..16]))
}

/// Base64 (standard alphabet, padded) for the body in JSON.
mod b64 {
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;
    use bytes::Bytes;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(body: &Bytes, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(body))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Bytes, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        STANDARD
            .decode(text.as_bytes())
            .map(Bytes::from)
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_response_round_trips_through_json() {
        let r = StoredResponse::new(
            200,
            vec![("content-type".into(), "text/plain; charset=utf-8".into())],
            Bytes::from_static(b"hello \x00\xff"),
            Vec::new(),
            Windows::from_now(Duration::from_secs(60), Duration::ZERO),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(r.wire.etag.starts_with('"') && r.wire.etag.len() == 34);
        let json =
            serde_json::to_string(&Stored::Response(Arc::new(r))).unwrap_or_else(|e| panic!("{e}"));
        assert!(json.starts_with("{\"response\":"), "{json}");
        let back: Stored = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}"));
        let Stored::Response(back) = back else {
            panic!("expected a response")
        };
        assert_eq!(&back.wire.body[..], b"hello \x00\xff");
        assert_eq!(
            back.headers.get("etag").map(|v| v.as_bytes()),
            Some(back.wire.etag.as_bytes())
        );
    }

    #[test]
    fn variant_keys_differ_by_header_value() {
        let names = vec!["accept-language".to_owned()];
        let mut en = HeaderMap::new();
        en.insert("accept-language", HeaderValue::from_static("en"));
        let mut fr = HeaderMap::new();
        fr.insert("accept-language", HeaderValue::from_static("fr"));
        let a = variant_key("GET /x", &names, &en);
        assert_ne!(a, variant_key("GET /x", &names, &fr));
        assert_eq!(a, variant_key("GET /x", &names, &en.clone()));
        assert_ne!(a, variant_key("GET /x", &names, &HeaderMap::new()));
        assert!(a.starts_with("GET /x vary:accept-language#"));
    }
}
