//! Cloudflare Cache Rules: one ruleset for the Rulesets API (phase
//! `http_request_cache_settings`), expressions in the Rules language.
//!
//! Cloudflare applies every matching rule in order and the **last** one wins, where alphanode
//! takes the **first**. So the export is, in order:
//! 1. a catch-all bypass (`true`): no rule matched means bypass, as in alphanode;
//! 2. the cache rules in reverse file order (an earlier rule comes later and wins);
//! 3. the bypass rules, each narrowed with `and not (…)` by the cache rules before it in the
//!    file (which win in alphanode), so bypass rules come after every cache rule and still
//!    decide exactly as alphanode does;
//! 4. the built-in bypass last (methods, `Authorization` and `bypass.headers`, session
//!    cookies): it wins over everything.
//!
//! Globs the language cannot say with `eq` or `starts_with` use `matches` (a regex), which
//! needs a Business or Enterprise plan; such rules say so in their description.

use serde_json::{json, Value};

use super::super::glob::PathGlob;
use super::super::key::QueryKey;
use super::super::matcher::{Match, QueryCondition};
use super::super::{RuleAction, Rules};
use super::cookie_glob_regex;

/// A string literal of the Rules language.
fn lit(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

fn set(values: impl IntoIterator<Item = String>) -> String {
    format!(
        "{{{}}}",
        values
            .into_iter()
            .map(|v| lit(&v))
            .collect::<Vec<_>>()
            .join(" ")
    )
}

fn any_of(parts: Vec<String>) -> String {
    match parts.len() {
        1 => parts.into_iter().next().unwrap_or_default(),
        _ => format!("({})", parts.join(" or ")),
    }
}

/// One path glob; `regex` is set when it needs `matches`.
fn path_expr(g: &PathGlob, regex: &mut bool) -> String {
    if g.is_literal() {
        format!("http.request.uri.path eq {}", lit(g.as_str()))
    } else if let Some(base) = g.subtree_base() {
        format!("starts_with(http.request.uri.path, {})", lit(base))
    } else {
        *regex = true;
        format!("http.request.uri.path matches {}", lit(&g.to_regex()))
    }
}

/// A rule's match in the Rules language; `regex` is set when it uses `matches`.
fn match_expr(m: &Match, regex: &mut bool) -> String {
    let mut parts = Vec::new();
    if !m.methods.is_empty() {
        parts.push(format!(
            "http.request.method in {}",
            set(m.methods.iter().map(|x| x.to_string()))
        ));
    }
    match m.hosts.as_slice() {
        [] => {}
        [h] => parts.push(format!("http.host eq {}", lit(h))),
        hs => parts.push(format!("http.host in {}", set(hs.iter().cloned()))),
    }
    if !m.paths.is_empty() {
        parts.push(any_of(
            m.paths.iter().map(|g| path_expr(g, regex)).collect(),
        ));
    }
    if !m.prefixes.is_empty() {
        parts.push(any_of(
            m.prefixes
                .iter()
                .map(|p| format!("starts_with(http.request.uri.path, {})", lit(p)))
                .collect(),
        ));
    }
    if !m.extensions.is_empty() {
        parts.push(format!(
            "http.request.uri.path.extension in {}",
            set(m.extensions.iter().cloned())
        ));
    }
    match m.query {
        QueryCondition::Any => {}
        QueryCondition::Absent => parts.push("http.request.uri.query eq \"\"".to_owned()),
        QueryCondition::Present => parts.push("http.request.uri.query ne \"\"".to_owned()),
    }
    for h in &m.headers {
        parts.push(format!(
            "any(lower(http.request.headers.names[*])[*] eq {})",
            lit(h.as_str())
        ));
    }
    for c in &m.cookies {
        parts.push(format!("http.cookie contains {}", lit(&format!("{c}="))));
    }
    if parts.is_empty() {
        "true".to_owned()
    } else {
        parts.join(" and ")
    }
}

/// The built-in bypass in the Rules language; `regex` is set when it uses `matches`.
fn builtin_expr(rules: &Rules, regex: &mut bool) -> String {
    let mut parts = vec!["not http.request.method in {\"GET\" \"HEAD\"}".to_owned()];
    parts.push(format!(
        "any(lower(http.request.headers.names[*])[*] in {})",
        set(rules.bypass.headers.iter().map(|h| h.to_string()))
    ));
    for c in &rules.bypass.session_cookies {
        let glob = c.contains(['*', '?']);
        match c.strip_suffix('*') {
            // `wordpress_logged_in_*`: any cookie whose name starts with that.
            Some(prefix) if !prefix.contains(['*', '?']) => {
                parts.push(format!("http.cookie contains {}", lit(prefix)))
            }
            _ if glob => {
                *regex = true;
                parts.push(format!(
                    "http.cookie matches {}",
                    lit(&format!("(^|;\\s*){}(=|;|$)", cookie_glob_regex(c)))
                ));
            }
            _ => parts.push(format!("http.cookie contains {}", lit(&format!("{c}=")))),
        }
    }
    parts.join(" or ")
}

fn description(text: String, regex: bool) -> String {
    if regex {
        format!("{text} · uses `matches` (regex): needs a Business or Enterprise plan")
    } else {
        text
    }
}

pub(crate) fn export(rules: &Rules) -> String {
    let mut out: Vec<Value> = vec![json!({
        "ref": "anp_no_rule_matched",
        "description": "no rule matched: bypass (alphanode's default; later rules override this)",
        "expression": "true",
        "action": "set_cache_settings",
        "action_parameters": { "cache": false },
        "enabled": true,
    })];
    // Cache rules, reverse file order: Cloudflare's last match is alphanode's first.
    for rule in rules.rules.iter().rev() {
        let RuleAction::Cache(c) = &rule.action else {
            continue;
        };
        let mut regex = false;
        let expression = match_expr(&rule.matches, &mut regex);
        let query_string = match &c.key.query {
            QueryKey::All => json!({ "include": { "all": true } }),
            QueryKey::None => json!({ "exclude": { "all": true } }),
            QueryKey::Only(names) => json!({ "include": { "list": names } }),
        };
        let mut custom_key = json!({
            "query_string": query_string,
            "host": { "resolved": false },
        });
        if !c.key.headers.is_empty() {
            custom_key["header"] =
                json!({ "include": c.key.headers.iter().map(|h| h.as_str()).collect::<Vec<_>>() });
        }
        if !c.key.cookies.is_empty() {
            custom_key["cookie"] = json!({ "include": c.key.cookies });
        }
        out.push(json!({
            "ref": format!("anp_{}", rule.name),
            "description": description(format!("{} — {}", rule.name, rule.owner), regex),
            "expression": expression,
            "action": "set_cache_settings",
            "action_parameters": {
                "cache": true,
                "edge_ttl": {
                    "mode": "override_origin",
                    "default": c.edge_ttl.as_secs(),
                    "status_code_ttl": no_store_statuses(&c.statuses),
                },
                "browser_ttl": { "mode": "override_origin", "default": c.browser_ttl.as_secs() },
                "serve_stale": { "disable_stale_while_updating": c.stale_while_revalidate.is_zero() },
                "respect_strong_etags": true,
                "cache_key": {
                    "ignore_query_strings_order": c.key.query != QueryKey::None,
                    "custom_key": custom_key,
                },
            },
            "enabled": true,
        }));
    }
    // Bypass rules, each without the requests an earlier cache rule takes in alphanode.
    for (i, rule) in rules.rules.iter().enumerate() {
        let RuleAction::Bypass { reason } = &rule.action else {
            continue;
        };
        let mut regex = false;
        let mut expression = match_expr(&rule.matches, &mut regex);
        let earlier: Vec<String> = rules.rules[..i]
            .iter()
            .filter(|r| matches!(r.action, RuleAction::Cache(_)))
            .map(|r| format!("({})", match_expr(&r.matches, &mut regex)))
            .collect();
        if !earlier.is_empty() {
            expression = format!("({expression}) and not ({})", earlier.join(" or "));
        }
        out.push(json!({
            "ref": format!("anp_{}", rule.name),
            "description": description(format!("{} — {}: {reason}", rule.name, rule.owner), regex),
            "expression": expression,
            "action": "set_cache_settings",
            "action_parameters": { "cache": false },
            "enabled": true,
        }));
    }
    let mut regex = false;
    let expression = builtin_expr(rules, &mut regex);
    out.push(json!({
        "ref": "anp_builtin_bypass",
        "description": description(
            "built-in bypass: methods other than GET/HEAD, Authorization and [bypass] headers, session cookies (wins over every rule)".to_owned(),
            regex,
        ),
        "expression": expression,
        "action": "set_cache_settings",
        "action_parameters": { "cache": false },
        "enabled": true,
    }));
    let ruleset = json!({
        "name": "alphanode cache rules",
        "description": format!(
            "generated by `anp cache rules export --format cloudflare` from {}; edit that file, not this",
            rules.file
        ),
        "kind": "zone",
        "phase": "http_request_cache_settings",
        "rules": out,
    });
    let mut text = serde_json::to_string_pretty(&ruleset).unwrap_or_default();
    text.push('\n');
    text
}

/// `status_code_ttl` entries that keep every status outside `allowed` out of the cache
/// (`-1`: no-store), as ranges over 100-599.
fn no_store_statuses(allowed: &[u16]) -> Vec<Value> {
    let mut out = Vec::new();
    let mut from = 100u16;
    for &code in allowed.iter().chain(std::iter::once(&600)) {
        if code > from {
            let to = code - 1;
            out.push(if from == to {
                json!({ "status_code": from, "value": -1 })
            } else {
                json!({ "status_code_range": { "from": from, "to": to }, "value": -1 })
            });
        }
        from = from.max(code + 1);
    }
    out
}
