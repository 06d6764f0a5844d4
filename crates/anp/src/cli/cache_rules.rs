//! `anp cache rules check|explain|export`: the HTTP cache rules file (`cache.toml`) from a
//! shell — its examples checked and linted before a deploy, one request explained, the rules
//! printed for the CDN.

use std::path::PathBuf;

use alphanode::Error;
use anp_http::rules::{Explanation, Lint, RuleAction, Rules, RulesError, VarnishBackend};
use anp_http::Decision;
use clap::{Args, Subcommand, ValueEnum};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Uri};
use serde::Serialize;
use serde_json::{json, Value};

use super::status::EXIT_ATTENTION;
use super::Ctx;
use crate::config::ConfigFile;
use crate::output;

/// `anp cache rules …`.
#[derive(Subcommand, Debug)]
pub enum RulesCommand {
    /// Check the rules file and every rule's examples, then lint it. Exit 0 when every example
    /// holds (lints are warnings), 8 when one does not (or, with --strict, a lint was found),
    /// 2 when the file is invalid.
    Check {
        #[command(flatten)]
        rules: RulesArg,
        /// Lints fail the check too (exit 8): for CI before a deploy.
        #[arg(long)]
        strict: bool,
    },
    /// Which rule decides a request and why, why each earlier rule did not match, the cache
    /// key, tags, TTLs, and the rule's owner, expected result and rollback.
    Explain {
        /// The method (GET, HEAD, POST…).
        method: String,
        /// `https://host/path?query` or `/path?query` (then give the host with --header).
        url: String,
        /// A request header (repeat for more), e.g. --header 'Cookie: session=abc'.
        #[arg(long = "header", short = 'H', value_name = "'NAME: VALUE'")]
        headers: Vec<String>,
        #[command(flatten)]
        rules: RulesArg,
    },
    /// Print the rules for a CDN: Cloudflare Cache Rules (JSON for the Rulesets API) or
    /// Varnish VCL (with xkey tags).
    Export {
        /// The output.
        #[arg(long, value_enum)]
        format: ExportFormat,
        /// Varnish: the origin (or `anp proxy`) behind it.
        #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:8080")]
        backend: String,
        #[command(flatten)]
        rules: RulesArg,
    },
}

/// `anp cache rules export --format`.
#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum ExportFormat {
    /// Cloudflare Cache Rules: a ruleset for the phase `http_request_cache_settings`.
    Cloudflare,
    /// Varnish 7 VCL 4.1 (needs varnish-modules for xkey).
    Varnish,
}

/// `--rules PATH`.
#[derive(Args, Debug)]
pub struct RulesArg {
    /// The rules file [default: `[http_cache] rules` of ANP_CONFIG or ./anp.toml, else
    /// ./cache.toml].
    #[arg(long = "rules", value_name = "PATH")]
    path: Option<PathBuf>,
}

impl RulesArg {
    /// `--rules`, else the config's `[http_cache] rules`, else `cache.toml`.
    fn path(&self) -> PathBuf {
        if let Some(p) = &self.path {
            return p.clone();
        }
        if let Some(file) = ConfigFile::discover() {
            match file.http_cache_rules() {
                Ok(Some(p)) => return p,
                Ok(None) => {}
                Err(e) => tracing::warn!(
                    config = %file.path.display(),
                    error = %e,
                    "cannot read the config; its [http_cache] rules is ignored"
                ),
            }
        }
        PathBuf::from("cache.toml")
    }

    fn load(&self) -> anyhow::Result<Rules> {
        Rules::load(&self.path()).map_err(|e| rules_error(&e).into())
    }
}

/// A rules file that cannot be used: not found (exit 4) or invalid (exit 2).
fn rules_error(e: &RulesError) -> Error {
    match e.io {
        Some(std::io::ErrorKind::NotFound) => Error::not_found("cache rules", e.to_string()),
        _ => Error::invalid("cache rules", e.to_string()),
    }
}

/// Runs `anp cache rules …`; returns the exit code.
pub fn run(ctx: &Ctx, c: RulesCommand) -> anyhow::Result<u8> {
    match c {
        RulesCommand::Check { rules, strict } => check(ctx, &rules.load()?, strict),
        RulesCommand::Explain {
            method,
            url,
            headers,
            rules,
        } => {
            let rules = rules.load()?;
            let (method, uri, headers) = request(&method, &url, &headers)?;
            explain(ctx, &rules, &rules.explain(&method, &uri, &headers))?;
            Ok(0)
        }
        RulesCommand::Export {
            format,
            backend,
            rules,
        } => {
            let rules = rules.load()?;
            let text = match format {
                ExportFormat::Cloudflare => rules.export_cloudflare(),
                ExportFormat::Varnish => rules.export_varnish(&parse_backend(&backend)?),
            };
            output::out(&text)?;
            Ok(0)
        }
    }
}

fn parse_backend(s: &str) -> Result<VarnishBackend, Error> {
    let bad = || {
        Error::invalid(
            "--backend",
            format!("{s:?} is not HOST:PORT: expected e.g. 127.0.0.1:8080"),
        )
    };
    let (host, port) = s.rsplit_once(':').ok_or_else(bad)?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() || host.contains(['"', ' ', '{', '}']) {
        return Err(bad());
    }
    Ok(VarnishBackend {
        host: host.to_owned(),
        port: port.parse().map_err(|_| bad())?,
    })
}

/// The request `explain` asks about: an absolute URL gives the host; `--header` adds headers.
fn request(method: &str, url: &str, headers: &[String]) -> Result<(Method, Uri, HeaderMap), Error> {
    let method = Method::from_bytes(method.to_ascii_uppercase().as_bytes()).map_err(|_| {
        Error::invalid(
            "method",
            format!("{method:?} is not a method: expected e.g. GET"),
        )
    })?;
    let uri: Uri = url.parse().map_err(|e| {
        Error::invalid(
            "url",
            format!("{url:?} is not a URL ({e}): expected https://host/path?query or /path?query"),
        )
    })?;
    let mut map = HeaderMap::new();
    for h in headers {
        let bad = |why: &str| {
            Error::invalid(
                "--header",
                format!("{h:?} {why}: expected 'Name: value', e.g. 'Cookie: session=abc'"),
            )
        };
        let (name, value) = h.split_once(':').ok_or_else(|| bad("has no `:`"))?;
        let name = HeaderName::from_bytes(name.trim().as_bytes())
            .map_err(|_| bad("has no valid header name"))?;
        let value = HeaderValue::from_str(value.trim()).map_err(|_| bad("has no valid value"))?;
        map.append(name, value);
    }
    if !map.contains_key(http::header::HOST) {
        if let Some(a) = uri.authority() {
            let v = HeaderValue::from_str(a.as_str())
                .map_err(|_| Error::invalid("url", format!("{url:?} has an invalid host")))?;
            map.insert(http::header::HOST, v);
        }
    }
    Ok((method, uri, map))
}

/// A decision as `--json` shows it.
fn decision_json(d: &Decision) -> Value {
    match d {
        Decision::Cache(c) => json!({
            "decision": "cache",
            "rule": c.rule,
            "key": c.key,
            "tags": c.tags,
            "edge_ttl_s": c.edge_ttl.as_secs(),
            "browser_ttl_s": c.browser_ttl.as_secs(),
            "stale_while_revalidate_s": c.stale_while_revalidate.as_secs(),
            "stale_if_error_s": c.stale_if_error.as_secs(),
            "statuses": c.statuses,
        }),
        Decision::Bypass(b) => json!({
            "decision": "bypass",
            "rule": b.rule,
            "reason": b.reason,
        }),
    }
}

fn explain(ctx: &Ctx, rules: &Rules, ex: &Explanation) -> anyhow::Result<()> {
    let rule = ex.matched.and_then(|i| rules.rules().get(i));
    if ctx.json {
        let mut v = decision_json(&ex.decision);
        v["file"] = json!(rules.file());
        v["method"] = json!(ex.method.as_str());
        v["url"] = json!(ex.uri);
        v["host"] = json!(ex.host);
        v["builtin_bypass"] = match &ex.builtin_bypass {
            Some(b) => json!({ "condition": b.rule, "reason": b.reason }),
            None => Value::Null,
        };
        v["matched_rule"] = match rule {
            Some(r) => json!({
                "name": r.name,
                "line": r.line,
                "owner": r.owner,
                "expected": r.expected,
                "rollback": r.rollback,
            }),
            None => Value::Null,
        };
        v["steps"] = ex
            .steps
            .iter()
            .map(|s| json!({ "rule": s.rule, "line": s.line, "matched": s.matched, "why": s.why }))
            .collect();
        return output::json(&v);
    }
    let mut t = format!("{} {} (host {:?})\n", ex.method, ex.uri, ex.host);
    for s in &ex.steps {
        let mark = if s.matched { "✓" } else { "✗" };
        t.push_str(&format!(
            "  {mark} {} (line {}): {}\n",
            s.rule,
            s.line,
            s.why.join(", ")
        ));
    }
    if ex.steps.len() < rules.rules().len() {
        t.push_str("  (later rules not looked at: the first match wins)\n");
    }
    if ex.matched.is_none() {
        t.push_str("  no rule matched\n");
    }
    if let Some(b) = &ex.builtin_bypass {
        t.push_str(&format!(
            "built-in bypass {}: {} (wins over every rule)\n",
            b.rule.as_deref().unwrap_or("-"),
            b.reason
        ));
    }
    match &ex.decision {
        Decision::Cache(c) => {
            t.push_str(&format!("decision: CACHE by rule {:?}\n", c.rule));
            t.push_str(&format!("  key       {}\n", c.key));
            t.push_str(&format!("  tags      {}\n", c.tags.join(", ")));
            t.push_str(&format!(
                "  ttl       edge {} · browser {} · stale-while-revalidate {} · stale-if-error {}\n",
                output::span_of(c.edge_ttl),
                output::span_of(c.browser_ttl),
                output::span_of(c.stale_while_revalidate),
                output::span_of(c.stale_if_error)
            ));
            let statuses: Vec<String> = c.statuses.iter().map(u16::to_string).collect();
            t.push_str(&format!("  statuses  {}\n", statuses.join(", ")));
        }
        Decision::Bypass(b) => t.push_str(&format!(
            "decision: BYPASS{}: {}\n",
            b.rule
                .as_deref()
                .map(|r| format!(" by {r}"))
                .unwrap_or_default(),
            b.reason
        )),
    }
    if let Some(r) = rule {
        t.push_str(&format!(
            "  owner     {}\n  expected  {}\n  rollback  {}\n",
            r.owner, r.expected, r.rollback
        ));
    }
    output::out(&t)
}

/// `anp cache rules check --json`.
#[derive(Serialize)]
struct CheckReport {
    file: String,
    rules: usize,
    examples: usize,
    failures: Vec<Value>,
    lints: Vec<Value>,
    strict: bool,
    ok: bool,
}

fn lint_json(l: &Lint) -> Value {
    json!({
        "kind": l.kind.as_str(),
        "rule": l.rule,
        "location": l.location,
        "message": l.message,
    })
}

fn check(ctx: &Ctx, rules: &Rules, strict: bool) -> anyhow::Result<u8> {
    let failures = rules.check();
    let lints = rules.lint();
    let examples: usize = rules
        .rules()
        .iter()
        .map(|r| r.should_cache.len() + r.should_bypass.len())
        .sum();
    let ok = failures.is_empty() && (!strict || lints.is_empty());
    if ctx.json {
        output::json(&CheckReport {
            file: rules.file().to_owned(),
            rules: rules.rules().len(),
            examples,
            failures: failures
                .iter()
                .map(|f| {
                    json!({
                        "rule": f.rule,
                        "location": f.location,
                        "example": f.example,
                        "expected": match f.expected {
                            anp_http::rules::Expected::Cache => "cache",
                            anp_http::rules::Expected::Bypass => "bypass",
                        },
                        "got": decision_json(&f.got),
                        "message": f.to_string(),
                    })
                })
                .collect(),
            lints: lints.iter().map(lint_json).collect(),
            strict,
            ok,
        })?;
    } else {
        let cache = rules
            .rules()
            .iter()
            .filter(|r| matches!(r.action, RuleAction::Cache(_)))
            .count();
        let mut t = format!(
            "{}: {} rules ({cache} cache, {} bypass), {examples} examples\n",
            rules.file(),
            rules.rules().len(),
            rules.rules().len() - cache
        );
        for f in &failures {
            t.push_str(&format!("FAIL {f}\n"));
        }
        let label = if strict { "LINT" } else { "warning" };
        for l in &lints {
            t.push_str(&format!("{label} {l}\n"));
        }
        t.push_str(&match (failures.len(), lints.len()) {
            (0, 0) => "ok: every example holds, no lint findings\n".to_owned(),
            (0, n) if !strict => {
                format!("ok: every example holds; {n} lint warning(s) (--strict makes them fail)\n")
            }
            (f, n) => format!("failed: {f} example(s) do not hold, {n} lint finding(s)\n"),
        });
        output::out(&t)?;
    }
    Ok(if ok { 0 } else { EXIT_ATTENTION })
}
