//! What was typed: serde types with unknown keys rejected and values kept with their byte
//! spans, checked into [`Rules`](super::Rules) by `build.rs`.

use serde::Deserialize;
use serde_spanned::Spanned;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFile {
    pub(super) version: Option<Spanned<i64>>,
    pub(super) bypass: Option<RawBypass>,
    pub(super) defaults: Option<RawDefaults>,
    #[serde(default)]
    pub(super) rule: Vec<Spanned<RawRule>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawBypass {
    pub(super) session_cookies: Option<Vec<Spanned<String>>>,
    pub(super) headers: Option<Vec<Spanned<String>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDefaults {
    pub(super) statuses: Option<Vec<Spanned<i64>>>,
    pub(super) deploy_tag: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRule {
    pub(super) name: Option<Spanned<String>>,
    pub(super) owner: Option<Spanned<String>>,
    pub(super) expected: Option<Spanned<String>>,
    pub(super) rollback: Option<Spanned<String>>,
    #[serde(rename = "match")]
    pub(super) matches: Option<Spanned<RawMatch>>,
    pub(super) action: Option<Spanned<String>>,
    pub(super) reason: Option<Spanned<String>>,
    pub(super) edge_ttl: Option<Spanned<String>>,
    pub(super) browser_ttl: Option<Spanned<String>>,
    pub(super) stale_while_revalidate: Option<Spanned<String>>,
    pub(super) stale_if_error: Option<Spanned<String>>,
    pub(super) key: Option<Spanned<RawKey>>,
    pub(super) tags: Option<Vec<Spanned<String>>>,
    pub(super) statuses: Option<Vec<Spanned<i64>>>,
    pub(super) should_cache: Option<Vec<Spanned<String>>>,
    pub(super) should_bypass: Option<Vec<Spanned<String>>>,
}

/// A string or a list of strings (`extension = "js"` or `extension = ["js", "css"]`).
#[derive(Deserialize)]
#[serde(untagged)]
pub(super) enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMatch {
    pub(super) host: Option<Spanned<OneOrMany>>,
    pub(super) method: Option<Spanned<OneOrMany>>,
    pub(super) path: Option<Spanned<OneOrMany>>,
    pub(super) prefix: Option<Spanned<OneOrMany>>,
    pub(super) extension: Option<Spanned<OneOrMany>>,
    pub(super) query: Option<Spanned<String>>,
    pub(super) header: Option<Spanned<OneOrMany>>,
    pub(super) cookie: Option<Spanned<OneOrMany>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawKey {
    pub(super) query: Option<Spanned<OneOrMany>>,
    pub(super) headers: Option<Vec<Spanned<String>>>,
    pub(super) cookies: Option<Vec<Spanned<String>>>,
}
