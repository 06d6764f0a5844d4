//! `anp status`: the four questions.
//!
//! `anp status` answers, from the store alone: is it up, is it slow, are jobs failing, and did
//! the last deploy change anything. Exit code 0 when all is well, 8 when something needs
//! attention (the `problems` list says what), 3 when the store is unreachable.

use alphanode::admin::{Status, Window};

use super::Ctx;
use crate::output;

/// Exit code when something needs attention.
pub const EXIT_ATTENTION: u8 = 8;

/// Runs `anp status`; returns the exit code.
pub async fn status(ctx: &Ctx) -> anyhow::Result<u8> {
    let report = ctx.admin().await?.status().await?;
    if ctx.json {
        ctx.json_object(&report)?;
    } else {
        print_status(&report);
    }
    Ok(if report.ok { 0 } else { EXIT_ATTENTION })
}

fn ms(v: Option<f64>) -> String {
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
    let pct = |r: Option<f64>| r.map_or_else(|| "-".to_owned(), |r| format!("{:.1}%", r * 100.0));
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
    if s.ok {
        println!("\nall well");
    } else {
        println!("\nneeds attention:");
        for p in &s.problems {
            println!("  - {p}");
        }
    }
}
