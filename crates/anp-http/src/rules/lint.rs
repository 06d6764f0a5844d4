//! [`Rules::lint`]: rules that are valid but probably wrong.

use std::fmt;

use http::{HeaderMap, HeaderValue, Method, Uri};

use super::matcher::Req;
use super::{RuleAction, Rules};

/// What kind of finding a [`Lint`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LintKind {
    /// A cache rule would store a page such as `/account` or `/admin` for everyone who is not
    /// caught by a session-cookie bypass.
    LoggedInPath,
    /// There are cache rules but `bypass.session_cookies` is empty: logged-in traffic is only
    /// told apart by `Authorization`.
    NoSessionBypass,
    /// A cache rule for HTML (no static extension) does not carry `defaults.deploy_tag`, so
    /// `anp deploy mark` cannot purge its pages and old HTML keeps pointing at old assets.
    HtmlWithoutDeployTag,
    /// Every request the rule matches is matched by an earlier rule first: it never applies.
    Shadowed,
}

impl LintKind {
    /// Its name in `--json` output: `logged_in_path`, `no_session_bypass`,
    /// `html_without_deploy_tag`, `shadowed`.
    pub fn as_str(self) -> &'static str {
        match self {
            LintKind::LoggedInPath => "logged_in_path",
            LintKind::NoSessionBypass => "no_session_bypass",
            LintKind::HtmlWithoutDeployTag => "html_without_deploy_tag",
            LintKind::Shadowed => "shadowed",
        }
    }
}

/// A finding of [`Rules::lint`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lint {
    /// What kind.
    pub kind: LintKind,
    /// The rule it is about (`None`: the file as a whole).
    pub rule: Option<String>,
    /// `file:line`.
    pub location: String,
    /// What is wrong and what to do.
    pub message: String,
}

impl fmt::Display for Lint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.location)?;
        if let Some(r) = &self.rule {
            write!(f, "rule {r:?}: ")?;
        }
        write!(f, "{} [{}]", self.message, self.kind.as_str())
    }
}

/// Paths of logged-in areas a cache rule must not serve to everyone.
const LOGGED_IN_PATHS: [&str; 14] = [
    "/account",
    "/account/settings",
    "/admin",
    "/admin/",
    "/login",
    "/logout",
    "/dashboard",
    "/user",
    "/users/me",
    "/profile",
    "/settings",
    "/checkout",
    "/cart",
    "/wp-admin/",
];

/// Extensions of static files: a rule limited to these is not an HTML route.
const STATIC_EXTENSIONS: [&str; 30] = [
    "js",
    "mjs",
    "css",
    "map",
    "png",
    "jpg",
    "jpeg",
    "gif",
    "svg",
    "webp",
    "avif",
    "ico",
    "woff",
    "woff2",
    "ttf",
    "otf",
    "eot",
    "mp4",
    "webm",
    "mp3",
    "ogg",
    "pdf",
    "zip",
    "gz",
    "txt",
    "xml",
    "json",
    "wasm",
    "csv",
    "webmanifest",
];

pub(super) fn lint(rules: &Rules) -> Vec<Lint> {
    let mut out = Vec::new();
    let at = |line: usize| format!("{}:{line}", rules.file);
    let cache_rules = rules
        .rules
        .iter()
        .filter(|r| matches!(r.action, RuleAction::Cache(_)))
        .count();
    if cache_rules > 0 && rules.bypass.session_cookies.is_empty() {
        out.push(Lint {
            kind: LintKind::NoSessionBypass,
            rule: None,
            location: format!("{}:1", rules.file),
            message: "bypass.session_cookies is empty, so only `Authorization` tells logged-in \
                      traffic apart: list your session cookie names (e.g. \"session\", \
                      \"PHPSESSID\", \"wordpress_logged_in_*\")"
                .to_owned(),
        });
    }
    for (i, rule) in rules.rules.iter().enumerate() {
        if let RuleAction::Cache(c) = &rule.action {
            let html = rule.matches.extensions.is_empty()
                || rule
                    .matches
                    .extensions
                    .iter()
                    .any(|e| !STATIC_EXTENSIONS.contains(&e.as_str()));
            if html {
                // Which logged-in paths would reach this rule first.
                let served: Vec<&str> = LOGGED_IN_PATHS
                    .iter()
                    .copied()
                    .filter(|p| first_rule_for(rules, rule.example_host(), p) == Some(i))
                    .collect();
                if !served.is_empty() {
                    out.push(Lint {
                        kind: LintKind::LoggedInPath,
                        rule: Some(rule.name.clone()),
                        location: at(rule.line),
                        message: format!(
                            "caches {} for everyone without a session cookie: restrict its \
                             match (path, prefix, extension) or put a bypass rule for these \
                             paths before it",
                            served.join(", ")
                        ),
                    });
                }
                match &rules.defaults.deploy_tag {
                    Some(tag) if c.tags.contains(tag) => {}
                    Some(tag) => out.push(Lint {
                        kind: LintKind::HtmlWithoutDeployTag,
                        rule: Some(rule.name.clone()),
                        location: at(rule.line),
                        message: format!(
                            "caches HTML (no static extension) without the deploy tag {tag:?}: \
                             add it to tags so `anp deploy mark` purges these pages"
                        ),
                    }),
                    None => out.push(Lint {
                        kind: LintKind::HtmlWithoutDeployTag,
                        rule: Some(rule.name.clone()),
                        location: at(rule.line),
                        message: "caches HTML (no static extension) but there is no \
                                  defaults.deploy_tag: set one (e.g. \"deploy\") and add it to \
                                  this rule's tags so `anp deploy mark` purges these pages"
                            .to_owned(),
                    }),
                }
            }
        }
        // Shadowed: an earlier rule covers every request this one matches…
        if let Some(earlier) = rules.rules[..i]
            .iter()
            .find(|e| e.matches.covers(&rule.matches))
        {
            out.push(Lint {
                kind: LintKind::Shadowed,
                rule: Some(rule.name.clone()),
                location: at(rule.line),
                message: format!(
                    "every request it matches is matched first by rule {:?} (line {}), so it \
                     never applies: narrow that rule or move this one before it",
                    earlier.name, earlier.line
                ),
            });
            continue;
        }
        // …or at least every one of its examples goes to an earlier rule.
        let examples: Vec<_> = rule.examples().collect();
        let firsts: Vec<Option<usize>> = examples
            .iter()
            .map(|(e, _, _)| {
                let req = Req::new(&e.method, &e.uri, &e.headers);
                rules.first_match(&req, None)
            })
            .collect();
        if !examples.is_empty() && firsts.iter().all(|f| f.is_some_and(|f| f < i)) {
            let mut names: Vec<&str> = firsts
                .iter()
                .flatten()
                .map(|f| rules.rules[*f].name.as_str())
                .collect();
            names.dedup();
            out.push(Lint {
                kind: LintKind::Shadowed,
                rule: Some(rule.name.clone()),
                location: at(rule.line),
                message: format!(
                    "each of its examples is matched first by an earlier rule ({}): it probably \
                     never applies; move it before them or narrow them",
                    names.join(", ")
                ),
            });
        }
    }
    out
}

/// The first rule a plain `GET path` on `host` (no query, cookies or other headers) matches.
fn first_rule_for(rules: &Rules, host: &str, path: &str) -> Option<usize> {
    let uri: Uri = path.parse().ok()?;
    let mut headers = HeaderMap::new();
    headers.insert(http::header::HOST, HeaderValue::from_str(host).ok()?);
    let req = Req::new(&Method::GET, &uri, &headers);
    rules.first_match(&req, None)
}
