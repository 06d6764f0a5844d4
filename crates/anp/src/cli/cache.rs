//! `anp cache get|set|purge|stats`: the application cache from a shell; `anp cache rules`
//! (the HTTP cache rules file) is in `cache_rules.rs`.

use std::time::Duration;

use alphanode::cache::{Cache, CacheClient, CacheOptions, NamespaceOptions, Policy};
use alphanode::{ConnectOptions, Error};
use clap::{Args, Subcommand};
use serde::Serialize;

use super::Ctx;
use crate::config::parse_duration;
use crate::output;

/// `anp cache …`.
#[derive(Subcommand, Debug)]
pub enum CacheCommand {
    /// Show what is stored under a key: the value, whether a read would find it fresh, stale,
    /// expired or purged, its windows and tags. Exit 4 when nothing is stored.
    Get {
        /// The key.
        key: String,
        #[command(flatten)]
        ns: NsArg,
    },
    /// Store a JSON value under a key (strings need JSON quotes: '"text"').
    Set {
        /// The key.
        key: String,
        /// The value, as JSON.
        value: String,
        /// Fresh for this long.
        #[arg(long, default_value = "60s", value_name = "DURATION")]
        ttl: String,
        /// Then served stale (while one refresh runs) for this long.
        #[arg(long, default_value = "0s", value_name = "DURATION")]
        stale: String,
        /// A tag (repeat for more); `anp cache purge --tag` invalidates every entry with it.
        #[arg(long = "tag", value_name = "TAG")]
        tags: Vec<String>,
        #[command(flatten)]
        ns: NsArg,
    },
    /// Invalidate entries: one key, every entry with a tag, or every key with a prefix.
    Purge(PurgeArgs),
    /// Per namespace: generation, entries, bytes, hit / miss / stale counts and ratio, compute
    /// time p50/p99 and the keys with the most misses, over a recent window, summed over every
    /// process.
    Stats {
        /// Over the last …
        #[arg(long, default_value = "1h", value_name = "DURATION")]
        since: String,
        /// Skip counting entries and bytes (on Redis that is a bounded SCAN).
        #[arg(long)]
        no_usage: bool,
        /// Only this namespace.
        #[arg(long, short = 'n', value_name = "NS")]
        namespace: Option<String>,
    },
    /// The HTTP cache rules file (cache.toml): `check [--strict]`, `explain METHOD URL
    /// [--header 'K: V']…`, `export --format cloudflare|varnish`; `--rules PATH` on each.
    #[command(subcommand)]
    Rules(super::cache_rules::RulesCommand),
}

/// `--namespace`.
#[derive(Args, Debug)]
pub struct NsArg {
    /// The namespace.
    #[arg(long, short = 'n', default_value = "default", value_name = "NS")]
    namespace: String,
}

/// `anp cache purge` arguments: exactly one of `--key`, `--tag`, `--prefix`.
#[derive(Args, Debug)]
#[group(required = true, multiple = false, id = "what")]
pub struct PurgeArgs {
    /// Delete this key.
    #[arg(long, group = "what")]
    key: Option<String>,
    /// Invalidate every entry carrying this tag (O(1): no scan).
    #[arg(long, group = "what")]
    tag: Option<String>,
    /// Delete every key starting with this (scans the namespace's keys).
    #[arg(long, group = "what")]
    prefix: Option<String>,
    #[command(flatten)]
    ns: NsArg,
}

/// What `anp cache purge` did (its `--json` output).
#[derive(Debug, Serialize)]
struct Purged {
    namespace: String,
    what: &'static str,
    target: String,
    /// Entries deleted; `None` for a tag (a tag purge is O(1) and does not count).
    entries: Option<u64>,
    scanned: bool,
}

/// Runs `anp cache …`.
pub async fn run(ctx: &Ctx, c: CacheCommand) -> anyhow::Result<()> {
    match c {
        CacheCommand::Get { key, ns } => {
            let cache = open(ctx, &ns.namespace, false).await?;
            let Some(found) = cache.inspect(&key).await? else {
                return Err(Error::not_found(
                    "cache get",
                    format!(
                        "nothing stored under {key:?} in namespace {:?} (generation {}): expected \
                         a key written by `anp cache set` or the application",
                        ns.namespace,
                        cache.generation()
                    ),
                )
                .into());
            };
            if ctx.json {
                return output::json(&found);
            }
            let tags: Vec<&str> = found.tags.iter().map(|t| t.as_str()).collect();
            output::out(&format!(
                "{}\n{} · stored {} · fresh until {} · stale until {} · kept until {}{}{}\n",
                serde_json::to_string_pretty(&found.value)?,
                found.state,
                output::ts(found.stored_at),
                output::ts(found.fresh_until),
                output::ts(found.stale_until),
                output::ts(found.stale_if_error_until),
                if tags.is_empty() {
                    String::new()
                } else {
                    format!(" · tags {}", tags.join(", "))
                },
                if found.negative {
                    " · cached not-found"
                } else {
                    ""
                },
            ))
        }
        CacheCommand::Set {
            key,
            value,
            ttl,
            stale,
            tags,
            ns,
        } => {
            let value: serde_json::Value = serde_json::from_str(&value).map_err(|e| {
                Error::invalid(
                    "cache set",
                    format!(
                        "the value {value:?} is not JSON ({e}): expected JSON, e.g. '{{\"a\": 1}}', \
                         42 or '\"text\"' (with the quotes)"
                    ),
                )
            })?;
            let policy = Policy::fresh(parse_duration("--ttl", &ttl)?)
                .stale_while_revalidate(parse_duration("--stale", &stale)?)
                .tags(tags);
            let cache = open(ctx, &ns.namespace, true).await?;
            cache.set(&key, &value, &policy).await?;
            if ctx.json {
                output::json(&serde_json::json!({
                    "namespace": ns.namespace,
                    "key": key,
                    "generation": cache.generation(),
                    "stored": true,
                }))
            } else {
                output::out(&format!("stored {key:?} in namespace {}\n", ns.namespace))
            }
        }
        CacheCommand::Purge(p) => purge(ctx, p).await,
        CacheCommand::Stats {
            since,
            no_usage,
            namespace,
        } => stats(ctx, &since, !no_usage, namespace).await,
        // Dispatched by main.rs (it has its own exit codes).
        CacheCommand::Rules(r) => {
            super::cache_rules::run(ctx, r)?;
            Ok(())
        }
    }
}

async fn purge(ctx: &Ctx, p: PurgeArgs) -> anyhow::Result<()> {
    let cache = open(ctx, &p.ns.namespace, false).await?;
    let out = if let Some(key) = p.key {
        let existed = cache.delete(&key).await?;
        Purged {
            namespace: p.ns.namespace,
            what: "key",
            target: key,
            entries: Some(u64::from(existed)),
            scanned: false,
        }
    } else if let Some(tag) = p.tag {
        cache.purge_tag(&tag).await?;
        Purged {
            namespace: p.ns.namespace,
            what: "tag",
            target: tag,
            entries: None,
            scanned: false,
        }
    } else if let Some(prefix) = p.prefix {
        let n = cache.purge_prefix(&prefix).await?;
        Purged {
            namespace: p.ns.namespace,
            what: "prefix",
            target: prefix,
            entries: Some(n),
            scanned: true,
        }
    } else {
        return Err(Error::invalid("cache purge", "expected one of --key, --tag, --prefix").into());
    };
    if ctx.json {
        return output::json(&out);
    }
    let text = match (out.what, out.entries) {
        ("tag", _) => format!(
            "tag {:?} purged in namespace {}: every entry carrying it is invalid from now, in \
             every process (a tag purge is O(1), so it does not count entries)\n",
            out.target, out.namespace
        ),
        ("prefix", Some(n)) => format!(
            "{n} entries with prefix {:?} deleted in namespace {} (scanned the namespace's keys)\n",
            out.target, out.namespace
        ),
        (_, Some(1)) => format!(
            "key {:?} deleted in namespace {}\n",
            out.target, out.namespace
        ),
        _ => format!(
            "key {:?} was not stored in namespace {} (nothing to delete)\n",
            out.target, out.namespace
        ),
    };
    output::out(&text)
}

async fn stats(
    ctx: &Ctx,
    since: &str,
    with_usage: bool,
    namespace: Option<String>,
) -> anyhow::Result<()> {
    let window = parse_duration("--since", since)?;
    let ns = namespace
        .as_deref()
        .map(alphanode::cache::Namespace::parse)
        .transpose()?;
    let admin = ctx.admin().await?;
    if let Some(n) = &namespace {
        admin.cache_namespace(n).await?;
    }
    let list = admin.cache_stats(window, ns, with_usage).await?;
    if ctx.json {
        return output::json(&list);
    }
    let mut t = output::table(&[
        "namespace",
        "gen",
        "entries",
        "bytes",
        "hit %",
        "hits",
        "l1",
        "stale",
        "misses",
        "computes",
        "errors",
        "p50",
        "p99",
        "top misses",
    ]);
    t.when_empty("no cache namespaces yet (a namespace is recorded when a process first opens it)");
    for s in &list {
        let c = &s.counts;
        let (entries, bytes) = match s.usage {
            Some(u) => {
                let approx = if u.exact { "" } else { "≥" };
                (
                    format!("{approx}{}", u.entries),
                    format!("{approx}{}", u.bytes),
                )
            }
            None => ("-".into(), "-".into()),
        };
        t.add_row(vec![
            s.namespace.to_string(),
            format!(
                "{}{}",
                s.generation,
                if s.deploy_sensitive { "*" } else { "" }
            ),
            entries,
            bytes,
            s.hit_ratio
                .map_or("-".into(), |r| format!("{:.1}", r * 100.0)),
            c.hits.to_string(),
            c.l1_hits.to_string(),
            (c.stale + c.stale_errors).to_string(),
            c.misses.to_string(),
            c.computes.to_string(),
            c.compute_errors.to_string(),
            s.compute_p50_ms.map_or("-".into(), output::ms),
            s.compute_p99_ms.map_or("-".into(), output::ms),
            c.top_misses
                .iter()
                .take(3)
                .map(|(k, n)| format!("{k} ({n})"))
                .collect::<Vec<_>>()
                .join(", "),
        ]);
    }
    output::out(&format!(
        "{t}\nover the last {}; gen * = deploy-sensitive (moves at `anp deploy mark`)\n",
        output::span(i64::try_from(window.as_secs()).unwrap_or(i64::MAX))
    ))
}

/// Opens one namespace with the options it was recorded with (a namespace never opened
/// before gets the defaults when `create` is set, else `NotFound`).
async fn open(ctx: &Ctx, name: &str, create: bool) -> anyhow::Result<Cache> {
    let url = ctx.url(None);
    let backend = alphanode::connect_with(&url, ConnectOptions { create }).await?;
    let admin = alphanode::Admin::new(backend.clone());
    let options = match admin.cache_namespace(name).await {
        Ok(n) => NamespaceOptions {
            deploy_sensitive: n.deploy_sensitive,
            ..Default::default()
        },
        Err(e) if create && e.kind() == alphanode::ErrorKind::NotFound => {
            NamespaceOptions::default()
        }
        Err(e) => return Err(e.into()),
    };
    let client = CacheClient::new(
        backend,
        CacheOptions {
            l1_max_bytes: 0,
            stats_interval: Duration::from_secs(3600),
            ..Default::default()
        },
    )
    .await?;
    Ok(client.namespace(name, options).await?)
}
