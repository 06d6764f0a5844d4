//! Checks what was typed ([`raw`](super::raw)) into [`Rules`]: every problem found names the
//! file, the line, the rule and the key, and says what was expected.

use std::collections::HashMap;
use std::ops::Range;
use std::time::Duration;

use globset::{Glob, GlobSetBuilder};
use http::{HeaderName, Method};
use serde_spanned::Spanned;

use super::error::{Problem, RulesError};
use super::example::Example;
use super::glob::PathGlob;
use super::key::{KeySpec, QueryKey};
use super::matcher::{Match, QueryCondition};
use super::raw::{OneOrMany, RawFile, RawKey, RawMatch, RawRule};
use super::{
    CacheSettings, Defaults, GlobalBypass, Rule, RuleAction, Rules, DEFAULT_STATUSES, SAFE_STATUSES,
};

struct Checker<'a> {
    file: &'a str,
    text: &'a str,
    problems: Vec<Problem>,
}

impl Checker<'_> {
    fn line(&self, at: usize) -> usize {
        line_of(self.text, at)
    }

    fn problem(&mut self, at: usize, rule: Option<&str>, key: &str, message: impl Into<String>) {
        self.problems.push(Problem {
            file: self.file.to_owned(),
            line: Some(self.line(at)),
            rule: rule.map(str::to_owned),
            key: (!key.is_empty()).then(|| key.to_owned()),
            message: message.into(),
        });
    }

    fn duration(&mut self, v: &Option<Spanned<String>>, rule: &str, key: &str) -> Option<Duration> {
        let s = v.as_ref()?;
        // The grammar of anp.toml and the command line (alphanode::parse_duration).
        match alphanode::parse_duration(key, s.get_ref()) {
            Ok(d) => Some(d),
            Err(_) => {
                self.problem(
                    s.span().start,
                    Some(rule),
                    key,
                    format!(
                        "{:?} is not a duration: expected e.g. \"60s\", \"5m\", \"1h30m\" or \"1d\"",
                        s.get_ref()
                    ),
                );
                None
            }
        }
    }

    fn statuses(&mut self, v: &[Spanned<i64>], rule: Option<&str>, key: &str) -> Vec<u16> {
        let mut out = Vec::new();
        for s in v {
            match u16::try_from(*s.get_ref()) {
                Ok(code) if SAFE_STATUSES.contains(&code) => out.push(code),
                _ => self.problem(
                    s.span().start,
                    rule,
                    key,
                    format!(
                        "status {} is not one a shared cache may store by default: expected some \
                         of {SAFE_STATUSES:?}",
                        s.get_ref()
                    ),
                ),
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    fn tag(&mut self, t: &Spanned<String>, rule: Option<&str>, key: &str) -> Option<String> {
        let s = t.get_ref();
        let rest = s.replace("{path}", "").replace("{host}", "");
        let bad = s.is_empty()
            || s.len() > 200
            || s.chars()
                .any(|c| !c.is_ascii_graphic() || matches!(c, '"' | ',' | '\\'))
            || rest.contains(['{', '}']);
        if bad {
            self.problem(
                t.span().start,
                rule,
                key,
                format!(
                    "{s:?} is not a tag: expected 1-200 printable ASCII characters without spaces, \
                     quotes, commas or backslashes; placeholders {{path}} and {{host}}"
                ),
            );
            return None;
        }
        Some(s.clone())
    }
}

/// The line (1-based) of a byte offset.
pub(crate) fn line_of(text: &str, at: usize) -> usize {
    text.as_bytes()[..at.min(text.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// The name of the `[[rule]]` that contains a byte offset, read from the text (for errors
/// the TOML parser reports before any rule is built).
fn rule_name_at(text: &str, at: usize) -> Option<String> {
    let mut name = None;
    let mut offset = 0;
    let mut in_rule = false;
    for line in text.split_inclusive('\n') {
        if offset > at && !in_rule {
            break;
        }
        let t = line.trim();
        if t.starts_with('[') {
            if offset > at {
                break;
            }
            in_rule = t.replace(' ', "") == "[[rule]]";
            name = None;
        } else if in_rule && name.is_none() {
            if let Some((k, v)) = t.split_once('=') {
                if k.trim() == "name" {
                    name = Some(v.trim().trim_matches(['"', '\'']).to_owned());
                }
            }
        }
        offset += line.len();
    }
    if in_rule {
        name
    } else {
        None
    }
}

/// Host names in `match.host`: lowercase letters, digits, dots and dashes.
fn valid_host(h: &str) -> bool {
    !h.is_empty()
        && h.len() <= 253
        && h.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
}

/// Cookie names are HTTP tokens.
fn valid_cookie(name: &str, allow_glob: bool) -> bool {
    !name.is_empty()
        && name.chars().all(|c| {
            (c.is_ascii_alphanumeric() || "!#$%&'+-.^_`|~".contains(c))
                || (allow_glob && (c == '*' || c == '?'))
        })
}

fn valid_rule_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

pub(super) fn build(text: &str, file: &str) -> Result<Rules, RulesError> {
    let raw: RawFile = toml::from_str(text).map_err(|e| {
        let at = e.span().map(|s| s.start);
        RulesError::one(Problem {
            file: file.to_owned(),
            line: at.map(|a| line_of(text, a)),
            rule: at.and_then(|a| rule_name_at(text, a)),
            key: None,
            message: format!(
                "{}: expected a rules file as in examples/cache.toml (docs/http-cache.md)",
                e.message().trim()
            ),
        })
    })?;
    let mut c = Checker {
        file,
        text,
        problems: Vec::new(),
    };
    if let Some(v) = &raw.version {
        if *v.get_ref() != 1 {
            c.problem(
                v.span().start,
                None,
                "version",
                format!("version {} is not supported: expected 1", v.get_ref()),
            );
        }
    }

    // [bypass]
    let mut session_cookies = Vec::new();
    let mut globs = GlobSetBuilder::new();
    let mut bypass_headers = vec![http::header::AUTHORIZATION];
    if let Some(b) = &raw.bypass {
        for s in b.session_cookies.iter().flatten() {
            let name = s.get_ref();
            match Glob::new(name) {
                Ok(g) if valid_cookie(name, true) => {
                    globs.add(g);
                    session_cookies.push(name.clone());
                }
                _ => c.problem(
                    s.span().start,
                    None,
                    "bypass.session_cookies",
                    format!(
                        "{name:?} is not a cookie name: expected a cookie name, `*` and `?` as \
                         wildcards (e.g. \"wordpress_logged_in_*\")"
                    ),
                ),
            }
        }
        for h in b.headers.iter().flatten() {
            match HeaderName::from_bytes(h.get_ref().trim().to_ascii_lowercase().as_bytes()) {
                Ok(n) if !bypass_headers.contains(&n) => bypass_headers.push(n),
                Ok(_) => {}
                Err(_) => c.problem(
                    h.span().start,
                    None,
                    "bypass.headers",
                    format!("{:?} is not a header name", h.get_ref()),
                ),
            }
        }
    }
    let cookie_globs = globs.build().unwrap_or_else(|_| globset::GlobSet::empty());
    let bypass = GlobalBypass {
        session_cookies,
        headers: bypass_headers,
        cookie_globs,
    };

    // [defaults]
    let mut defaults = Defaults {
        statuses: DEFAULT_STATUSES.to_vec(),
        deploy_tag: None,
    };
    if let Some(d) = &raw.defaults {
        if let Some(s) = &d.statuses {
            defaults.statuses = c.statuses(s, None, "defaults.statuses");
        }
        if let Some(t) = &d.deploy_tag {
            defaults.deploy_tag = c.tag(t, None, "defaults.deploy_tag");
        }
    }

    let mut rules: Vec<Rule> = Vec::new();
    let mut names: HashMap<String, usize> = HashMap::new();
    for (i, spanned) in raw.rule.iter().enumerate() {
        let at = spanned.span().start;
        let r = spanned.get_ref();
        let name = match &r.name {
            None => {
                c.problem(
                    at,
                    None,
                    "name",
                    format!(
                        "rule #{} has no name: expected name = \"…\" ([a-z0-9_-], at most 64)",
                        i + 1
                    ),
                );
                format!("#{}", i + 1)
            }
            Some(n) if !valid_rule_name(n.get_ref()) => {
                c.problem(
                    n.span().start,
                    None,
                    "name",
                    format!(
                        "{:?} is not a rule name: expected 1-64 characters of [a-z0-9_-]",
                        n.get_ref()
                    ),
                );
                format!("#{}", i + 1)
            }
            Some(n) => n.get_ref().clone(),
        };
        let line = r.name.as_ref().map_or(at, |n| n.span().start);
        let line = c.line(line);
        if let Some(first) = names.get(&name) {
            c.problem(
                r.name.as_ref().map_or(at, |n| n.span().start),
                Some(&name),
                "name",
                format!(
                    "the name is used twice (first at line {first}): expected unique rule names"
                ),
            );
        } else {
            names.insert(name.clone(), line);
        }
        if let Some(rule) = build_rule(&mut c, r, &name, at, line, &bypass, &defaults) {
            rules.push(rule);
        }
    }

    // Conflicts: the same conditions with opposite actions.
    for (j, b) in rules.iter().enumerate() {
        for a in &rules[..j] {
            let opposite = matches!(a.action, RuleAction::Cache(_))
                != matches!(b.action, RuleAction::Cache(_));
            if a.matches == b.matches && opposite {
                let at = raw
                    .rule
                    .iter()
                    .find(|r| {
                        r.get_ref()
                            .name
                            .as_ref()
                            .is_some_and(|n| *n.get_ref() == b.name)
                    })
                    .map_or(0, |r| r.span().start);
                c.problem(
                    at,
                    Some(&b.name),
                    "match",
                    format!(
                        "conflicts with rule {:?} (line {}): the same match with the opposite \
                         action, so this rule never applies: expected different conditions, or \
                         one of the two rules removed",
                        a.name, a.line
                    ),
                );
            }
        }
    }

    if c.problems.is_empty() {
        Ok(Rules {
            file: file.to_owned(),
            bypass,
            defaults,
            rules,
        })
    } else {
        c.problems.sort_by_key(|p| p.line);
        Err(RulesError {
            problems: c.problems,
            io: None,
        })
    }
}

fn required(
    c: &mut Checker<'_>,
    v: &Option<Spanned<String>>,
    at: usize,
    rule: &str,
    key: &str,
    what: &str,
) -> String {
    match v {
        Some(s) if !s.get_ref().trim().is_empty() => s.get_ref().trim().to_owned(),
        Some(s) => {
            c.problem(
                s.span().start,
                Some(rule),
                key,
                format!("is empty: expected {what}"),
            );
            String::new()
        }
        None => {
            c.problem(at, Some(rule), key, format!("is missing: expected {what}"));
            String::new()
        }
    }
}

fn build_rule(
    c: &mut Checker<'_>,
    r: &RawRule,
    name: &str,
    at: usize,
    line: usize,
    bypass: &GlobalBypass,
    defaults: &Defaults,
) -> Option<Rule> {
    let before = c.problems.len();
    let owner = required(
        c,
        &r.owner,
        at,
        name,
        "owner",
        "who answers for this rule (a team or person)",
    );
    let expected = required(
        c,
        &r.expected,
        at,
        name,
        "expected",
        "what a good result looks like, e.g. \"hit ratio above 95% on /assets\"",
    );
    let rollback = required(
        c,
        &r.rollback,
        at,
        name,
        "rollback",
        "how to turn the rule off safely",
    );
    let matches = match &r.matches {
        Some(m) => build_match(c, m.get_ref(), name),
        None => Match::default(),
    };
    let action = match r
        .action
        .as_ref()
        .map(|a| (a.get_ref().as_str(), a.span().start))
    {
        Some(("cache", _)) => {
            if let Some(reason) = &r.reason {
                c.problem(reason.span().start, Some(name), "reason", "is for bypass rules: expected no reason on a cache rule (say why in `expected`)");
            }
            let edge_ttl = c.duration(&r.edge_ttl, name, "edge_ttl");
            match (&r.edge_ttl, edge_ttl) {
                (None, _) => c.problem(
                    at,
                    Some(name),
                    "edge_ttl",
                    "is missing: a cache rule needs edge_ttl, e.g. edge_ttl = \"1h\"",
                ),
                (Some(s), Some(d)) if d.is_zero() => c.problem(
                    s.span().start,
                    Some(name),
                    "edge_ttl",
                    "is zero: expected a positive duration (use action = \"bypass\" to not cache)",
                ),
                _ => {}
            }
            let browser_ttl = c.duration(&r.browser_ttl, name, "browser_ttl");
            let swr = c.duration(&r.stale_while_revalidate, name, "stale_while_revalidate");
            let sie = c.duration(&r.stale_if_error, name, "stale_if_error");
            let key = r
                .key
                .as_ref()
                .map(|k| build_key(c, k.get_ref(), name, bypass))
                .unwrap_or_default();
            let tags = r
                .tags
                .iter()
                .flatten()
                .filter_map(|t| c.tag(t, Some(name), "tags"))
                .collect();
            let statuses = match &r.statuses {
                Some(s) => c.statuses(s, Some(name), "statuses"),
                None => defaults.statuses.clone(),
            };
            RuleAction::Cache(CacheSettings {
                edge_ttl: edge_ttl.unwrap_or_default(),
                browser_ttl: browser_ttl.unwrap_or_default(),
                stale_while_revalidate: swr.unwrap_or_default(),
                stale_if_error: sie.unwrap_or_default(),
                key,
                tags,
                statuses,
            })
        }
        Some(("bypass", _)) => {
            let cache_only: [(&str, Option<Range<usize>>); 8] = [
                ("edge_ttl", r.edge_ttl.as_ref().map(Spanned::span)),
                ("browser_ttl", r.browser_ttl.as_ref().map(Spanned::span)),
                (
                    "stale_while_revalidate",
                    r.stale_while_revalidate.as_ref().map(Spanned::span),
                ),
                (
                    "stale_if_error",
                    r.stale_if_error.as_ref().map(Spanned::span),
                ),
                ("key", r.key.as_ref().map(Spanned::span)),
                (
                    "tags",
                    r.tags.as_ref().and_then(|t| t.first()).map(Spanned::span),
                ),
                (
                    "statuses",
                    r.statuses
                        .as_ref()
                        .and_then(|t| t.first())
                        .map(Spanned::span),
                ),
                (
                    "should_cache",
                    r.should_cache
                        .as_ref()
                        .and_then(|t| t.first())
                        .map(Spanned::span),
                ),
            ];
            for (key, span) in cache_only {
                if let Some(span) = span {
                    c.problem(span.start, Some(name), key, "has no effect on a bypass rule: expected it only on action = \"cache\" rules");
                }
            }
            let reason = required(
                c,
                &r.reason,
                at,
                name,
                "reason",
                "why these requests are not cached, e.g. \"personal pages\"",
            );
            RuleAction::Bypass { reason }
        }
        Some((other, at)) => {
            c.problem(
                at,
                Some(name),
                "action",
                format!("{other:?} is not an action: expected \"cache\" or \"bypass\""),
            );
            RuleAction::Bypass {
                reason: String::new(),
            }
        }
        None => {
            c.problem(
                at,
                Some(name),
                "action",
                "is missing: expected action = \"cache\" or \"bypass\"",
            );
            RuleAction::Bypass {
                reason: String::new(),
            }
        }
    };
    let host = matches
        .hosts
        .first()
        .map_or("example.com", String::as_str)
        .to_owned();
    let mut example_lines = Vec::new();
    let mut parse_examples =
        |c: &mut Checker<'_>, list: &Option<Vec<Spanned<String>>>, key: &str| -> Vec<Example> {
            let mut out = Vec::new();
            for e in list.iter().flatten() {
                match Example::parse(e.get_ref(), &host) {
                    Ok(ex) => {
                        out.push(ex);
                        example_lines.push(c.line(e.span().start));
                    }
                    Err(msg) => c.problem(e.span().start, Some(name), key, msg),
                }
            }
            out
        };
    let should_cache = parse_examples(c, &r.should_cache, "should_cache");
    let should_bypass = parse_examples(c, &r.should_bypass, "should_bypass");
    (c.problems.len() == before).then_some(Rule {
        name: name.to_owned(),
        owner,
        expected,
        rollback,
        line,
        matches,
        action,
        should_cache,
        should_bypass,
        example_lines,
    })
}

fn strings(v: &Option<Spanned<OneOrMany>>) -> Option<(Vec<String>, usize)> {
    v.as_ref().map(|s| {
        let at = s.span().start;
        let values = match s.get_ref() {
            OneOrMany::One(x) => vec![x.clone()],
            OneOrMany::Many(xs) => xs.clone(),
        };
        (values, at)
    })
}

fn build_match(c: &mut Checker<'_>, m: &RawMatch, rule: &str) -> Match {
    let mut out = Match::default();
    if let Some((hosts, at)) = strings(&m.host) {
        for h in hosts {
            let h = h.trim().to_ascii_lowercase();
            if valid_host(&h) {
                out.hosts.push(h);
            } else {
                c.problem(at, Some(rule), "match.host", format!("{h:?} is not a host name: expected e.g. \"www.example.com\" (no port, no wildcard)"));
            }
        }
    }
    if let Some((methods, at)) = strings(&m.method) {
        for x in methods {
            match x.trim().to_ascii_uppercase().as_str() {
                "GET" => out.methods.push(Method::GET),
                "HEAD" => out.methods.push(Method::HEAD),
                other => c.problem(at, Some(rule), "match.method", format!("{other:?} is never cached (every method but GET and HEAD bypasses): expected \"GET\" and/or \"HEAD\"")),
            }
        }
    }
    if let Some((paths, at)) = strings(&m.path) {
        for p in paths {
            match PathGlob::new(p.trim()) {
                Ok(g) => out.paths.push(g),
                Err(e) => c.problem(at, Some(rule), "match.path", e),
            }
        }
    }
    if let Some((prefixes, at)) = strings(&m.prefix) {
        for p in prefixes {
            if p.starts_with('/')
                && p.chars()
                    .all(|c| c.is_ascii_graphic() && !matches!(c, '"' | '\\'))
            {
                out.prefixes.push(p);
            } else {
                c.problem(at, Some(rule), "match.prefix", format!("{p:?} is not a path prefix: expected printable ASCII starting with /, e.g. \"/api/\""));
            }
        }
    }
    if let Some((exts, at)) = strings(&m.extension) {
        for e in exts {
            let e = e.trim().trim_start_matches('.').to_ascii_lowercase();
            if !e.is_empty() && e.chars().all(|c| c.is_ascii_alphanumeric()) {
                out.extensions.push(e);
            } else {
                c.problem(
                    at,
                    Some(rule),
                    "match.extension",
                    format!("{e:?} is not an extension: expected letters and digits, e.g. \"js\""),
                );
            }
        }
    }
    if let Some(q) = &m.query {
        out.query = match q.get_ref().as_str() {
            "any" => QueryCondition::Any,
            "absent" => QueryCondition::Absent,
            "present" => QueryCondition::Present,
            other => {
                c.problem(q.span().start, Some(rule), "match.query", format!("{other:?} is not a query condition: expected \"any\", \"absent\" or \"present\""));
                QueryCondition::Any
            }
        };
    }
    if let Some((headers, at)) = strings(&m.header) {
        for h in headers {
            match HeaderName::from_bytes(h.trim().to_ascii_lowercase().as_bytes()) {
                Ok(n) => out.headers.push(n),
                Err(_) => c.problem(
                    at,
                    Some(rule),
                    "match.header",
                    format!("{h:?} is not a header name"),
                ),
            }
        }
    }
    if let Some((cookies, at)) = strings(&m.cookie) {
        for k in cookies {
            if valid_cookie(&k, false) {
                out.cookies.push(k);
            } else {
                c.problem(
                    at,
                    Some(rule),
                    "match.cookie",
                    format!("{k:?} is not a cookie name"),
                );
            }
        }
    }
    // Canonical order, so equal conditions compare equal (conflict check).
    out.hosts.sort();
    out.hosts.dedup();
    out.methods.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    out.methods.dedup();
    out.paths.sort();
    out.paths.dedup();
    out.prefixes.sort();
    out.prefixes.dedup();
    out.extensions.sort();
    out.extensions.dedup();
    out.headers.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    out.headers.dedup();
    out.cookies.sort();
    out.cookies.dedup();
    out
}

fn build_key(c: &mut Checker<'_>, k: &RawKey, rule: &str, bypass: &GlobalBypass) -> KeySpec {
    let mut out = KeySpec::default();
    if let Some(q) = &k.query {
        out.query = match q.get_ref() {
            OneOrMany::One(s) if s == "all" => QueryKey::All,
            OneOrMany::One(s) if s == "none" => QueryKey::None,
            OneOrMany::Many(names)
                if names
                    .iter()
                    .all(|n| !n.is_empty() && !n.contains(['&', '=', ' '])) =>
            {
                let mut names = names.clone();
                names.sort();
                names.dedup();
                QueryKey::Only(names)
            }
            _ => {
                c.problem(q.span().start, Some(rule), "key.query", "expected \"all\", \"none\" or a list of parameter names, e.g. [\"page\", \"sort\"]");
                QueryKey::All
            }
        };
    }
    for h in k.headers.iter().flatten() {
        match HeaderName::from_bytes(h.get_ref().trim().to_ascii_lowercase().as_bytes()) {
            Ok(n) if n == http::header::COOKIE => c.problem(h.span().start, Some(rule), "key.headers", "`cookie` would put every cookie value in the key: expected key.cookies = [\"name\"] for the cookies that change the page"),
            Ok(n) if bypass.headers.contains(&n) => c.problem(h.span().start, Some(rule), "key.headers", format!("`{n}` always bypasses the cache (bypass.headers): expected a header that can reach a cache rule")),
            Ok(n) => out.headers.push(n),
            Err(_) => c.problem(h.span().start, Some(rule), "key.headers", format!("{:?} is not a header name", h.get_ref())),
        }
    }
    for k in k.cookies.iter().flatten() {
        let name = k.get_ref().trim();
        if !valid_cookie(name, false) {
            c.problem(
                k.span().start,
                Some(rule),
                "key.cookies",
                format!("{name:?} is not a cookie name"),
            );
        } else if bypass.cookie_globs.is_match(name) {
            c.problem(k.span().start, Some(rule), "key.cookies", format!("`{name}` is a session cookie (bypass.session_cookies): requests carrying it are never cached, and its value must never be in a key"));
        } else {
            out.cookies.push(name.to_owned());
        }
    }
    out.headers.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    out.headers.dedup();
    out.cookies.sort();
    out.cookies.dedup();
    out
}
