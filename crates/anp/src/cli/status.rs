//! `anp status`: the four questions.
//!
//! `anp status` answers, from the store alone: is it up, is it slow, are jobs failing, and did
//! the last deploy change anything. Exit code 0 when all is well, 8 when something needs
//! attention (the `problems` list says what), 3 when the store is unreachable.

use alphanode::admin::{HttpRuleStatus, Status, Window};
use serde::Serialize;

use super::Ctx;
use crate::output;

/// A rule of the HTTP cache rules file with what it is for, beside its figures.
#[derive(Debug, Serialize)]
struct RuleCard {
    /// The rule's name.
    name: String,
    /// `cache` or `bypass`.
    action: &'static str,
    owner: String,
    expected: String,
    rollback: String,
    /// Its requests now and around the last deploy, when an HTTP layer recorded any.
    #[serde(skip_serializing_if = "Option::is_none")]
    figures: Option<HttpRuleStatus>,
}

/// `anp status --json`: the status, and the rules file's rules when there is one.
#[derive(Debug, Serialize)]
struct Report<'a> {
    #[serde(flatten)]
    status: &'a Status,
    /// The HTTP cache rules (`[http_cache] rules` of the config, else `./cache.toml`).
    #[serde(skip_serializing_if = "Option::is_none")]
    http_rules: Option<Vec<RuleCard>>,
    /// Why the rules file could not be read (the status itself does not depend on it).
    #[serde(skip_serializing_if = "Option::is_none")]
    http_rules_error: Option<String>,
}

/// The rules file's rules with their figures; the error text when the file is bad.
fn rule_cards(status: &Status) -> (Option<Vec<RuleCard>>, Option<String>) {
    let rules = match super::cache::load_rules(None, None) {
        Ok(Some(r)) => r,
        Ok(None) => return (None, None),
        Err(e) => return (None, Some(format!("{e:#}"))),
    };
    let figures = |name: &str| {
        status
            .cache
            .http
            .as_ref()
            .and_then(|h| h.rules.iter().find(|r| r.rule == name).cloned())
    };
    let cards = rules
        .rules()
        .iter()
        .map(|r| RuleCard {
            name: r.name.clone(),
            action: match r.action {
                anp_http::rules::RuleAction::Cache(_) => "cache",
                anp_http::rules::RuleAction::Bypass { .. } => "bypass",
            },
            owner: r.owner.clone(),
            expected: r.expected.clone(),
            rollback: r.rollback.clone(),
            figures: figures(&r.name),
        })
        .collect();
    (Some(cards), None)
}

/// Exit code when something needs attention.
pub const EXIT_ATTENTION: u8 = 8;

/// Runs `anp status`; returns the exit code.
pub async fn status(ctx: &Ctx) -> anyhow::Result<u8> {
    let report = ctx.admin().await?.status().await?;
    let (cards, cards_error) = rule_cards(&report);
    if ctx.json {
        ctx.json_object(&Report {
            status: &report,
            http_rules: cards,
            http_rules_error: cards_error,
        })?;
    } else {
        print_status(&report);
        print_rules(cards.as_deref(), cards_error.as_deref());
        print_verdict(&report);
    }
    Ok(if report.ok { 0 } else { EXIT_ATTENTION })
}

/// A latency bucket bound for people: `≤12ms`, `>5min`, `-` for none.
pub(super) fn ms(v: Option<f64>) -> String {
    v.map(|x| {
        if x.is_finite() {
            format!("≤{}ms", output::ms(x))
        } else {
            ">5min".into()
        }
    })
    .unwrap_or_else(|| "-".into())
}

fn print_status(s: &Status) {
    let u = &s.up;
    println!(
        "UP       store {} ({}), round trip {} ms; {} worker(s), {} scheduler(s)",
        u.store,
        u.backend,
        output::ms(u.round_trip_ms),
        u.workers,
        u.schedulers
    );
    let (r, b): (&Window, &Window) = (&s.slow.last_15m, &s.slow.hour_before);
    println!(
        "SLOW     wait p50/p95 {} / {} (hour before {} / {}); run p50/p95 {} / {} (hour before {} / {})",
        ms(r.wait_p50_ms),
        ms(r.wait_p95_ms),
        ms(b.wait_p50_ms),
        ms(b.wait_p95_ms),
        ms(r.run_p50_ms),
        ms(r.run_p95_ms),
        ms(b.run_p50_ms),
        ms(b.run_p95_ms)
    );
    for (q, age) in &s.slow.oldest_available_age_s {
        if let Some(a) = age {
            println!(
                "         queue {q}: oldest available job waited {}",
                output::span(*a as i64)
            );
        }
    }
    let f = &s.failing;
    println!(
        "FAILING  {} attempts failed and {} jobs went dead in the last 15 min (failure rate {}); {} dead jobs in the store now",
        f.failed_15m,
        f.dead_15m,
        f.failure_rate_15m
            .map(|r| format!("{:.1}%", r * 100.0))
            .unwrap_or_else(|| "-".into()),
        f.dead_total
    );
    for e in &f.top_errors {
        println!("         {}× {}: {}", e.count, e.kind, e.message);
    }
    let d = &s.deploy;
    match &d.last {
        None => println!("DEPLOY   no deploy marker (anp deploy mark --version V)"),
        Some(m) => println!(
            "DEPLOY   {} ({} ago, owner {}), verdict: {} — {}; rollback: {}",
            m.version,
            output::span(i64::try_from(m.age_s).unwrap_or(i64::MAX)),
            m.owner.as_deref().unwrap_or("-"),
            d.verdict,
            d.why.as_deref().unwrap_or(""),
            m.rollback.as_deref().unwrap_or("-")
        ),
    }
    let c = &s.cache;
    if c.namespaces == 0 {
        println!("CACHE    no cache namespaces");
    } else {
        println!(
            "CACHE    hit ratio {} over {} lookups in the last 15 min; around the last deploy {} → {} ({} namespace(s))",
            pct(c.hit_ratio_15m),
            c.lookups_15m,
            pct(c.hit_ratio_before_deploy),
            pct(c.hit_ratio_after_deploy),
            c.namespaces
        );
    }
    if let Some(h) = &c.http {
        let t = &h.total;
        println!(
            "HTTP     hit ratio {} · bypass rate {} over {} requests in the last 15 min; around the last deploy hit {} → {}, bypass {} → {}",
            pct(t.hit_ratio_15m),
            pct(t.bypass_rate_15m),
            t.requests_15m,
            pct(t.hit_ratio_before_deploy),
            pct(t.hit_ratio_after_deploy),
            pct(t.bypass_rate_before_deploy),
            pct(t.bypass_rate_after_deploy),
        );
    }
}

/// Percent with one decimal, `-` for none.
pub(super) fn pct(r: Option<f64>) -> String {
    r.map_or_else(|| "-".to_owned(), |r| format!("{:.1}%", r * 100.0))
}

/// The rules file's rules: figures, owner, what good looks like, how to roll back.
fn print_rules(cards: Option<&[RuleCard]>, error: Option<&str>) {
    if let Some(e) = error {
        println!("RULES    cannot read the HTTP cache rules: {e}");
    }
    if let Some(cards) = cards {
        println!("RULES    {} HTTP cache rule(s):", cards.len());
        for r in cards {
            let figures = r.figures.as_ref().map_or_else(
                || "no requests recorded".to_owned(),
                |f| {
                    format!(
                        "hit {} · bypass {} over {} req (deploy: hit {} → {})",
                        pct(f.hit_ratio_15m),
                        pct(f.bypass_rate_15m),
                        f.requests_15m,
                        pct(f.hit_ratio_before_deploy),
                        pct(f.hit_ratio_after_deploy)
                    )
                },
            );
            println!(
                "  {} [{}] {} — owner {}; expected: {}; rollback: {}",
                r.name, r.action, figures, r.owner, r.expected, r.rollback
            );
        }
    }
}

/// All well, or what needs attention.
fn print_verdict(s: &Status) {
    if s.ok {
        println!("\nall well");
    } else {
        println!("\nneeds attention:");
        for p in &s.problems {
            println!("  - {p}");
        }
    }
}
