//! The cache rules file (`cache.toml`): named rules with match conditions, an action
//! (`cache` with TTLs, key parts and tags, or `bypass` with a reason), an owner, what a good
//! result looks like, how to roll back, and example requests that must be cached or must not.
//!
//! # How a request is decided ([`Decide`] for [`Rules`])
//! 1. Built-in bypass, whatever the order of the rules: a method other than GET or HEAD; a path
//!    that is not normalized (`//`, `/./`, `/../`, `%2e`, `%2f`, `%5c`, a backslash), which an
//!    upstream might resolve to another route than the one matched; an `Authorization` header
//!    or any header in `bypass.headers`; a cookie whose name matches `bypass.session_cookies`.
//! 2. Then the **first** rule in file order whose `match` holds decides (first match wins).
//! 3. No rule matched: bypass.
//!
//! The format is documented in `docs/http-cache.md`; `examples/cache.toml` is a complete file.
//!
//! # Layout
//! - `raw.rs`: what was typed (serde, unknown keys rejected, byte spans kept);
//! - `build.rs`: checks it into [`Rules`], every problem naming file, line, rule and key;
//! - `matcher.rs`: [`Match`] and the request as the rules see it; `glob.rs`: [`PathGlob`];
//! - `key.rs`: the cache key and tags; `example.rs`: examples and [`Rules::check`];
//! - `lint.rs`: [`Rules::lint`]; `export/`: Cloudflare Cache Rules and Varnish VCL.

mod build;
mod error;
mod example;
mod export;
mod glob;
mod key;
mod lint;
mod matcher;
mod raw;

use std::path::Path;
use std::time::Duration;

use globset::GlobSet;
use http::{HeaderMap, HeaderName, Method, Uri};

use crate::decision::{BypassAction, CacheAction, Decide, Decision};

pub use error::{Problem, RulesError};
pub use example::{Example, ExampleFailure, Expected};
pub use export::VarnishBackend;
pub use glob::PathGlob;
pub use key::{KeySpec, QueryKey};
pub use lint::{Lint, LintKind};
pub use matcher::{Match, QueryCondition};

use matcher::Req;

/// The statuses a rule may list as cacheable: those HTTP caches may store by default
/// (RFC 9110 §15.1), without 206 (partial content is not stored whole).
pub const SAFE_STATUSES: [u16; 11] = [200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501];

/// `defaults.statuses` when not given.
pub const DEFAULT_STATUSES: [u16; 8] = [200, 203, 204, 300, 301, 308, 404, 410];

/// A checked rules file.
#[derive(Debug, Clone)]
pub struct Rules {
    file: String,
    bypass: GlobalBypass,
    defaults: Defaults,
    rules: Vec<Rule>,
}

/// `[bypass]`: conditions that bypass the cache before any rule is looked at.
#[derive(Debug, Clone)]
pub struct GlobalBypass {
    /// Cookie name globs (`session`, `wordpress_logged_in_*`): present means logged in.
    pub session_cookies: Vec<String>,
    /// Headers whose presence bypasses; `authorization` is always among them.
    pub headers: Vec<HeaderName>,
    cookie_globs: GlobSet,
}

/// `[defaults]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Defaults {
    /// Statuses a `cache` rule stores unless it lists its own.
    pub statuses: Vec<u16>,
    /// The tag `anp deploy mark` purges for HTML routes; cache rules for HTML should carry it.
    pub deploy_tag: Option<String>,
}

/// One `[[rule]]`.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Its unique name (`[a-z0-9_-]`, at most 64).
    pub name: String,
    /// Who answers for it.
    pub owner: String,
    /// What a good result looks like ("hit ratio above 95% on /assets").
    pub expected: String,
    /// How to turn it off safely.
    pub rollback: String,
    /// The line of its `[[rule]]` in the file.
    pub line: usize,
    /// When it applies.
    pub matches: Match,
    /// What it does.
    pub action: RuleAction,
    /// Requests it must cache.
    pub should_cache: Vec<Example>,
    /// Requests that must bypass the cache.
    pub should_bypass: Vec<Example>,
    /// The line of each example, in the order of `should_cache` then `should_bypass`.
    example_lines: Vec<usize>,
}

/// A rule's action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleAction {
    /// `action = "cache"`.
    Cache(CacheSettings),
    /// `action = "bypass"`, with its `reason`.
    Bypass {
        /// Why these requests are not cached.
        reason: String,
    },
}

/// The settings of a `cache` rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheSettings {
    /// `edge_ttl` (required, above zero).
    pub edge_ttl: Duration,
    /// `browser_ttl` (default 0).
    pub browser_ttl: Duration,
    /// `stale_while_revalidate` (default 0).
    pub stale_while_revalidate: Duration,
    /// `stale_if_error` (default 0).
    pub stale_if_error: Duration,
    /// `key`.
    pub key: KeySpec,
    /// `tags`, placeholders `{path}` and `{host}` unresolved.
    pub tags: Vec<String>,
    /// `statuses`, else `defaults.statuses`.
    pub statuses: Vec<u16>,
}

/// Why one request got its decision ([`Rules::explain`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explanation {
    /// The method.
    pub method: Method,
    /// The URI as given.
    pub uri: String,
    /// The host the rules saw (lowercase, no port).
    pub host: String,
    /// The built-in bypass that fired (`bypass.method`, `bypass.path`, `bypass.headers`,
    /// `bypass.session_cookies`) and why; it wins over every rule.
    pub builtin_bypass: Option<BypassAction>,
    /// Each rule looked at, in file order, up to and including the first that matched.
    pub steps: Vec<RuleStep>,
    /// The rule that matched (whether or not a built-in bypass overrode it).
    pub matched: Option<usize>,
    /// The decision, as [`Decide::decide`] returns it.
    pub decision: Decision,
}

/// One rule as `explain` looked at it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleStep {
    /// The rule's name.
    pub rule: String,
    /// Its line.
    pub line: usize,
    /// Whether its match held.
    pub matched: bool,
    /// What held (matched) or the first condition that did not.
    pub why: Vec<String>,
}

impl Rule {
    /// The first host the rule matches, else `example.com`: the host of examples that name none.
    pub(crate) fn example_host(&self) -> &str {
        self.matches
            .hosts
            .first()
            .map_or("example.com", String::as_str)
    }

    /// Every example with its line and what it says must happen.
    pub(crate) fn examples(&self) -> impl Iterator<Item = (&Example, usize, Expected)> {
        self.should_cache
            .iter()
            .map(|e| (e, Expected::Cache))
            .chain(self.should_bypass.iter().map(|e| (e, Expected::Bypass)))
            .zip(self.example_lines.iter().copied())
            .map(|((e, x), line)| (e, line, x))
    }
}

impl Rules {
    /// Reads and checks a rules file.
    pub fn load(path: &Path) -> Result<Rules, RulesError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| RulesError {
            problems: vec![Problem {
                file: file.clone(),
                line: None,
                rule: None,
                key: None,
                message: format!(
                    "cannot read it ({e}): expected a readable rules file (see examples/cache.toml)"
                ),
            }],
            io: Some(e.kind()),
        })?;
        Rules::parse(&text, &file)
    }

    /// Checks rules file text; `file_name` names it in errors.
    pub fn parse(text: &str, file_name: &str) -> Result<Rules, RulesError> {
        build::build(text, file_name)
    }

    /// The file name given to [`Rules::load`] or [`Rules::parse`].
    pub fn file(&self) -> &str {
        &self.file
    }

    /// The rules, in file order (name, owner, expected, rollback, match, action, examples).
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// `[bypass]`.
    pub fn bypass(&self) -> &GlobalBypass {
        &self.bypass
    }

    /// `[defaults]`.
    pub fn defaults(&self) -> &Defaults {
        &self.defaults
    }

    /// The rule with this name.
    pub fn rule(&self, name: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.name == name)
    }

    /// The built-in bypass that holds for this request, if any.
    fn builtin_bypass(&self, req: &Req<'_>) -> Option<BypassAction> {
        let bypass = |rule: &str, reason: String| {
            Some(BypassAction {
                rule: Some(rule.to_owned()),
                reason,
            })
        };
        if req.method != Method::GET && req.method != Method::HEAD {
            return bypass(
                "bypass.method",
                format!("method {} is not GET or HEAD", req.method),
            );
        }
        if !path_is_normalized(req.path) {
            return bypass(
                "bypass.path",
                format!(
                    "path `{}` is not normalized (//, /./, /../, %2e, %2f, %5c or \\): an \
                     upstream may resolve it to another route than the one matched",
                    req.path
                ),
            );
        }
        if let Some(h) = self
            .bypass
            .headers
            .iter()
            .find(|h| req.headers.contains_key(*h))
        {
            return bypass("bypass.headers", format!("header `{h}` is present"));
        }
        if let Some((name, _)) = req
            .cookies
            .iter()
            .find(|(n, _)| self.bypass.cookie_globs.is_match(n))
        {
            return bypass(
                "bypass.session_cookies",
                format!("cookie `{name}` is present (a session cookie: logged-in traffic)"),
            );
        }
        None
    }

    /// The first rule whose match holds, with what `explain` says about each rule looked at
    /// (only worded when `steps` is given).
    fn first_match(&self, req: &Req<'_>, steps: Option<&mut Vec<RuleStep>>) -> Option<usize> {
        let Some(steps) = steps else {
            return self.rules.iter().position(|r| r.matches.holds(req));
        };
        for (i, rule) in self.rules.iter().enumerate() {
            let result = rule.matches.check(req);
            let matched = result.is_ok();
            steps.push(RuleStep {
                rule: rule.name.clone(),
                line: rule.line,
                matched,
                why: match result {
                    Ok(held) => held,
                    Err(why) => vec![why],
                },
            });
            if matched {
                return Some(i);
            }
        }
        None
    }

    /// The decision once no built-in bypass holds: the matched rule's action, or bypass when
    /// no rule matched.
    fn decide_matched(&self, req: &Req<'_>, matched: Option<usize>) -> Decision {
        let Some(rule) = matched.and_then(|i| self.rules.get(i)) else {
            return Decision::Bypass(BypassAction {
                rule: None,
                reason: "no rule matched".to_owned(),
            });
        };
        match &rule.action {
            RuleAction::Bypass { reason } => Decision::Bypass(BypassAction {
                rule: Some(rule.name.clone()),
                reason: reason.clone(),
            }),
            RuleAction::Cache(c) => Decision::Cache(CacheAction {
                rule: rule.name.clone(),
                edge_ttl: c.edge_ttl,
                browser_ttl: c.browser_ttl,
                stale_while_revalidate: c.stale_while_revalidate,
                stale_if_error: c.stale_if_error,
                key: key::cache_key(req, &c.key),
                tags: key::tags(req, &c.tags),
                statuses: c.statuses.clone(),
            }),
        }
    }

    /// Which rule matched and why, why each earlier rule did not, the built-in bypass that
    /// fired, and the decision (with the key, tags and TTLs of a cache decision).
    pub fn explain(&self, method: &Method, uri: &Uri, headers: &HeaderMap) -> Explanation {
        let req = Req::new(method, uri, headers);
        let builtin = self.builtin_bypass(&req);
        let mut steps = Vec::new();
        let matched = self.first_match(&req, Some(&mut steps));
        Explanation {
            method: method.clone(),
            uri: uri.to_string(),
            host: req.host.to_string(),
            builtin_bypass: builtin.clone(),
            steps,
            matched,
            decision: match builtin {
                Some(b) => Decision::Bypass(b),
                None => self.decide_matched(&req, matched),
            },
        }
    }

    /// Checks every example of every rule: a `should_cache` example must be cached by the
    /// rule that lists it, a `should_bypass` example must be bypassed. Empty when all hold.
    pub fn check(&self) -> Vec<ExampleFailure> {
        let mut failures = Vec::new();
        for rule in &self.rules {
            for (example, line, expected) in rule.examples() {
                let got = self.decide(&example.method, &example.uri, &example.headers);
                let ok = match (&got, expected) {
                    (Decision::Cache(c), Expected::Cache) => c.rule == rule.name,
                    (Decision::Bypass(_), Expected::Bypass) => true,
                    _ => false,
                };
                if !ok {
                    failures.push(ExampleFailure {
                        rule: rule.name.clone(),
                        location: format!("{}:{line}", self.file),
                        example: example.text.clone(),
                        expected,
                        got,
                    });
                }
            }
        }
        failures
    }

    /// Findings that are not errors but usually are mistakes: a cache rule that could serve a
    /// logged-in page, an HTML route cached without the deploy tag, a shadowed rule.
    pub fn lint(&self) -> Vec<Lint> {
        lint::lint(self)
    }

    /// Cloudflare Cache Rules (Rulesets API, phase `http_request_cache_settings`) as JSON.
    pub fn export_cloudflare(&self) -> String {
        export::cloudflare::export(self)
    }

    /// Varnish VCL 4.1 (with `xkey` tags) in front of `backend`.
    pub fn export_varnish(&self, backend: &VarnishBackend) -> String {
        export::varnish::export(self, backend)
    }
}

/// Whether a path has no dot segments, empty segments or encoded separators and dots.
fn path_is_normalized(path: &str) -> bool {
    let bytes = path.as_bytes();
    let encoded = |i: usize| {
        // `%2e`, `%2f`, `%5c` in either case.
        matches!(
            (
                bytes.get(i + 1),
                bytes.get(i + 2).map(u8::to_ascii_lowercase)
            ),
            (Some(b'2'), Some(b'e' | b'f')) | (Some(b'5'), Some(b'c'))
        )
    };
    let bad_byte = bytes.iter().enumerate().any(|(i, &b)| match b {
        b'\\' => true,
        b'/' => bytes.get(i + 1) == Some(&b'/'),
        b'%' => encoded(i),
        _ => false,
    });
    !(bad_byte || path.split('/').any(|s| s == "." || s == ".."))
}

impl Decide for Rules {
    fn decide(&self, method: &Method, uri: &Uri, headers: &HeaderMap) -> Decision {
        let req = Req::new(method, uri, headers);
        if let Some(b) = self.builtin_bypass(&req) {
            return Decision::Bypass(b);
        }
        let matched = self.first_match(&req, None);
        self.decide_matched(&req, matched)
    }
}
