//! `anp cache get|set|purge|stats`: the application cache from a shell; `purge` also fans out
//! to the `[[cdn]]` targets of `anp.toml`; `anp cache rules` (the HTTP cache rules file) is in
//! `cache_rules.rs`.

use std::time::Duration;

use alphanode::cache::{Cache, CacheClient, CacheOptions, NamespaceOptions, Policy};
use alphanode::{ConnectOptions, Error};
use clap::{Args, Subcommand};
use serde::Serialize;

use anp_http::{PurgeBy, PurgeRequest};

use super::Ctx;
use crate::config::{parse_duration, ConfigFile, ConfigFrom};
use crate::output;
use crate::runners::cdn_purge;

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

/// `anp cache purge` arguments: exactly one of `--key`, `--tag`, `--prefix`, `--url`, and how.
#[derive(Args, Debug)]
pub struct PurgeArgs {
    #[command(flatten)]
    what: PurgeWhat,
    /// The store namespace (default: a tag is purged in every namespace; a URL or URL prefix
    /// in `http`, the HTTP cache's; a key or plain prefix in `default`).
    #[arg(long, short = 'n', value_name = "NS")]
    namespace: Option<String>,
    /// Run the CDN purges in this process now (with the same retries as a job) instead of
    /// enqueueing one `anp.cdn_purge` job per target for `anp work`.
    #[arg(long)]
    now: bool,
    /// Who asks, logged with each CDN purge (default `$USER@hostname`).
    #[arg(long, value_name = "NAME")]
    by: Option<String>,
    /// The HTTP cache rules file, for `--url`: the URL's store entry is the key the rules
    /// compute for `GET URL` [default: `[http_cache] rules` of the config, else ./cache.toml
    /// when present].
    #[arg(long = "rules", value_name = "PATH")]
    rules: Option<std::path::PathBuf>,
    /// Purge the store only, not the `[[cdn]]` targets.
    #[arg(long)]
    no_cdn: bool,
    /// With `--tag`: first count the entries the purge invalidates (those carrying the tag
    /// that a read would serve now), by walking each namespace's entries — O(entries), unlike
    /// the purge (Redis: up to 100,000 keys per namespace, then a lower bound).
    #[arg(long)]
    count: bool,
    /// The config declaring the `[[cdn]]` targets (default: `ANP_CONFIG`, else `./anp.toml`
    /// when present).
    #[arg(long = "config", short = 'c', value_name = "FILE")]
    config: Option<std::path::PathBuf>,
}

/// What `anp cache purge` purges: exactly one of these.
#[derive(Args, Debug)]
#[group(required = true, multiple = false, id = "what")]
pub struct PurgeWhat {
    /// Delete this key (the store only: a key is not a CDN notion).
    #[arg(long, group = "what")]
    key: Option<String>,
    /// Invalidate every entry carrying this tag (O(1): no scan), and the tag at every `[[cdn]]`.
    #[arg(long, group = "what")]
    tag: Option<String>,
    /// Delete every key starting with this (scans the namespace's keys). An http(s) URL prefix
    /// (`https://www.example.com/blog/`) purges the HTTP cache's entries under it (namespace
    /// `http` unless -n says otherwise) and the prefix at every `[[cdn]]`.
    #[arg(long, group = "what")]
    prefix: Option<String>,
    /// Purge this URL (an absolute http(s) URL): its entry in the HTTP cache (the key the
    /// rules compute for `GET URL`; namespace `http` unless -n says otherwise) and at every
    /// `[[cdn]]`.
    #[arg(long, group = "what")]
    url: Option<String>,
}

/// What `anp cache purge` did (its `--json` output).
#[derive(Debug, Serialize)]
struct Purged {
    namespace: String,
    what: &'static str,
    target: String,
    /// Entries deleted (a tag: invalidated, counted with `--count`); `None` for a tag without
    /// `--count` (a tag purge is O(1) and does not count) and when the store was not purged.
    entries: Option<u64>,
    scanned: bool,
    /// With `--count`: `false` when a namespace held more keys than the walk's budget (the
    /// count is then a lower bound).
    #[serde(skip_serializing_if = "Option::is_none")]
    exact: Option<bool>,
    /// Whether the store's entries were purged (`false`: a URL, which only CDNs hold by URL, or
    /// a namespace never opened).
    store: bool,
    /// Why the store was not purged.
    #[serde(skip_serializing_if = "Option::is_none")]
    store_note: Option<String>,
    /// Per `[[cdn]]` target, when the config declares some.
    #[serde(skip_serializing_if = "Option::is_none")]
    cdn: Option<Vec<cdn_purge::CdnOutcome>>,
    /// Who asked (with CDN targets).
    #[serde(skip_serializing_if = "Option::is_none")]
    requested_by: Option<String>,
}

/// Adds one namespace's `--count` to the output.
fn count_into(out: &mut Purged, u: alphanode::cache::CacheUsage) {
    out.entries = Some(out.entries.unwrap_or(0) + u.entries);
    out.exact = Some(out.exact.unwrap_or(true) && u.exact);
    out.scanned = true;
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

/// The `[[cdn]]` targets of the config given by `--config`, else of the config every command
/// finds (`ANP_CONFIG`, `./anp.toml`); none without a config. A config that does not check is
/// an error: a purge must not silently skip the CDNs.
pub(super) fn cdn_targets(
    config: Option<&std::path::Path>,
) -> anyhow::Result<(Option<ConfigFile>, Vec<anp_http::CdnTarget>)> {
    let file = match config {
        Some(p) => Some(ConfigFile::read(p, ConfigFrom::Flag)),
        None => ConfigFile::discover(),
    };
    let targets = match &file {
        Some(f) => f.load()?.cdn,
        None => Vec::new(),
    };
    Ok((file, targets))
}

/// Whether an error is `NotFound` (a store or namespace never created).
fn is_not_found(e: &anyhow::Error) -> bool {
    e.downcast_ref::<Error>()
        .is_some_and(|a| a.kind() == alphanode::ErrorKind::NotFound)
}

/// The HTTP cache rules: `explicit` (`--rules`; it must load), else the config's
/// `[http_cache] rules` (it must load), else `./cache.toml` when it exists; `None` without any.
pub(super) fn load_rules(
    explicit: Option<&std::path::Path>,
    config: Option<&ConfigFile>,
) -> anyhow::Result<Option<anp_http::Rules>> {
    let discovered;
    let config = match config {
        Some(c) => Some(c),
        None => {
            discovered = ConfigFile::discover();
            discovered.as_ref()
        }
    };
    let path = match explicit {
        Some(p) => p.to_owned(),
        None => match config.map(ConfigFile::http_cache_rules) {
            Some(Ok(Some(p))) => p,
            _ => {
                let p = std::path::PathBuf::from("cache.toml");
                if !p.exists() {
                    return Ok(None);
                }
                p
            }
        },
    };
    anp_http::Rules::load(&path).map(Some).map_err(|e| {
        let err = match e.io {
            Some(std::io::ErrorKind::NotFound) => Error::not_found("cache rules", e.to_string()),
            _ => Error::invalid("cache rules", e.to_string()),
        };
        err.into()
    })
}

/// The store key of `GET url` under the rules; `Err(why)` when the rules do not cache it.
fn url_key(rules: &anp_http::Rules, url: &str) -> anyhow::Result<Result<String, String>> {
    use anp_http::{Decide, Decision};
    let bad = || {
        Error::invalid(
            "cache purge",
            format!("--url {url:?} is not an absolute http(s) URL: expected e.g. https://www.example.com/about"),
        )
    };
    let parsed = reqwest::Url::parse(url).map_err(|_| bad())?;
    let uri: http::Uri = url.parse().map_err(|_| bad())?;
    let mut headers = http::HeaderMap::new();
    if let Some(host) = parsed.host_str() {
        let host = match parsed.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.to_owned(),
        };
        headers.insert(
            http::header::HOST,
            http::HeaderValue::from_str(&host).map_err(|_| bad())?,
        );
    }
    Ok(match rules.decide(&http::Method::GET, &uri, &headers) {
        Decision::Cache(c) => Ok(c.key),
        Decision::Bypass(b) => Err(format!(
            "the rules ({}) do not cache GET {url} ({}): nothing is stored under it",
            rules.file(),
            b.reason
        )),
    })
}

async fn purge(ctx: &Ctx, p: PurgeArgs) -> anyhow::Result<()> {
    if p.count && p.what.tag.is_none() {
        return Err(Error::invalid(
            "cache purge --count",
            "--count counts the entries a tag purge invalidates: expected --tag T (a --key, \
             --prefix or --url purge deletes entries and always says how many)",
        )
        .into());
    }
    // What the CDNs purge, checked before anything is purged.
    let url_prefix = p
        .what
        .prefix
        .as_deref()
        .filter(|v| v.starts_with("http://") || v.starts_with("https://"));
    let cdn_req = match (&p.what.tag, url_prefix, &p.what.url) {
        (Some(t), _, _) => Some(PurgeRequest::new(PurgeBy::Tag, vec![t.clone()])),
        (_, Some(v), _) => Some(PurgeRequest::new(PurgeBy::Prefix, vec![v.to_owned()])),
        (_, _, Some(u)) => Some(PurgeRequest::new(PurgeBy::Url, vec![u.clone()])),
        _ => None,
    }
    .transpose()
    .map_err(|e| Error::invalid("cache purge", e.to_string()))?;
    let (file, targets) = if p.no_cdn {
        (None, Vec::new())
    } else {
        cdn_targets(p.config.as_deref())?
    };
    let namespace = p.namespace.clone().unwrap_or_else(|| {
        if url_prefix.is_some() || p.what.url.is_some() {
            "http".to_owned()
        } else {
            "default".to_owned()
        }
    });
    let mut out = Purged {
        namespace: namespace.clone(),
        what: "key",
        target: String::new(),
        entries: None,
        scanned: false,
        exact: None,
        store: true,
        store_note: None,
        cdn: None,
        requested_by: None,
    };
    if let Some(u) = &p.what.url {
        out.what = "url";
        out.target = u.clone();
        let rules = load_rules(p.rules.as_deref(), file.as_ref())?;
        match rules.as_ref().map(|r| url_key(r, u)).transpose()? {
            None => {
                out.store = false;
                out.store_note = Some(
                    "no rules file (--rules, [http_cache] rules, ./cache.toml) to compute the \
                     URL's cache key: purge the store by tag or URL prefix"
                        .to_owned(),
                );
            }
            Some(Err(why)) => {
                out.store = false;
                out.store_note = Some(why);
            }
            Some(Ok(key)) => match open_in(ctx, file.as_ref(), &namespace, false).await {
                Ok(cache) => {
                    out.entries = Some(u64::from(cache.delete(&key).await?));
                }
                Err(e) if is_not_found(&e) => {
                    out.store = false;
                    out.store_note = Some(format!("nothing stored to purge ({e})"));
                }
                Err(e) => return Err(e),
            },
        }
    } else if let (Some(tag), None) = (&p.what.tag, &p.namespace) {
        // A tag without -n: every namespace carrying entries (the application's and the HTTP
        // cache's), since "everything about post 42" is wherever it was cached. O(1) each.
        out.what = "tag";
        out.target = tag.clone();
        let url = ctx.url(file.as_ref());
        let names = match alphanode::connect_with(&url, ConnectOptions { create: false }).await {
            Ok(backend) => {
                // One connection and one client for every namespace.
                let names = alphanode::Admin::new(backend.clone())
                    .cache_namespaces()
                    .await?;
                let client = shell_client(backend).await?;
                for n in &names {
                    let options = NamespaceOptions {
                        deploy_sensitive: n.deploy_sensitive,
                        ..Default::default()
                    };
                    let cache = client.namespace(n.ns.as_str(), options).await?;
                    if p.count {
                        count_into(&mut out, cache.count_tagged(tag).await?);
                    }
                    cache.purge_tag(tag).await?;
                }
                names
            }
            // A site purging only its CDNs may never have created a store.
            Err(e) if !targets.is_empty() && e.kind() == alphanode::ErrorKind::NotFound => {
                Vec::new()
            }
            Err(e) => return Err(e.into()),
        };
        out.namespace = names
            .iter()
            .map(|n| n.ns.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        if names.is_empty() {
            out.store = false;
            out.store_note =
                Some("no cache namespace in the store: nothing stored to purge".into());
        }
    } else {
        match open_in(ctx, file.as_ref(), &namespace, false).await {
            Ok(cache) => {
                if let Some(key) = &p.what.key {
                    let existed = cache.delete(key).await?;
                    out.target = key.clone();
                    out.entries = Some(u64::from(existed));
                } else if let Some(tag) = &p.what.tag {
                    if p.count {
                        count_into(&mut out, cache.count_tagged(tag).await?);
                    }
                    cache.purge_tag(tag).await?;
                    out.what = "tag";
                    out.target = tag.clone();
                } else if let Some(prefix) = &p.what.prefix {
                    let key_prefix = match url_prefix {
                        Some(u) => anp_http::purge::store_key_prefix(u)
                            .map_err(|e| Error::invalid("cache purge", e.to_string()))?,
                        None => prefix.clone(),
                    };
                    out.entries = Some(cache.purge_prefix(&key_prefix).await?);
                    out.what = "prefix";
                    out.target = prefix.clone();
                    out.scanned = true;
                } else {
                    return Err(Error::invalid(
                        "cache purge",
                        "expected one of --key, --tag, --prefix, --url",
                    )
                    .into());
                }
            }
            // A site purging only its CDNs may never have opened this namespace.
            Err(e) if !targets.is_empty() && cdn_req.is_some() && is_not_found(&e) => {
                out.what = cdn_req.as_ref().map_or("key", |r| r.by().as_str());
                out.target = p
                    .what
                    .tag
                    .clone()
                    .or_else(|| p.what.prefix.clone())
                    .unwrap_or_default();
                out.store = false;
                out.store_note = Some(format!("nothing stored to purge ({e})"));
            }
            Err(e) => return Err(e),
        }
    }
    let mut failed = None;
    if let (Some(req), false) = (&cdn_req, targets.is_empty()) {
        let by = p.by.clone().unwrap_or_else(cdn_purge::default_requester);
        let outcomes = if p.now {
            cdn_purge::fan_out(cdn_purge::FanOut::Now, &targets, req, &by).await?
        } else {
            // The jobs go where the workers look: an existing store, never a new one left
            // behind a typo.
            let store =
                alphanode::connect_with(&ctx.url(file.as_ref()), ConnectOptions { create: false })
                    .await?;
            cdn_purge::fan_out(cdn_purge::FanOut::Jobs(&store), &targets, req, &by).await?
        };
        failed = cdn_purge::failure(&outcomes);
        out.cdn = Some(outcomes);
        out.requested_by = Some(by);
    }
    if ctx.json {
        output::json(&out)?;
    } else {
        let mut text = if !out.store {
            format!(
                "store: not purged: {}\n",
                out.store_note.as_deref().unwrap_or_default()
            )
        } else {
            match (out.what, out.entries) {
                ("tag", Some(n)) => format!(
                    "tag {:?} purged in namespace {}: {n} entr{} invalidated{}, in every process \
                     (counted before the purge by walking the namespace's entries; entries \
                     written since are purged too)\n",
                    out.target,
                    out.namespace,
                    if n == 1 { "y" } else { "ies" },
                    if out.exact == Some(false) {
                        " at least (more keys than the walk's budget)"
                    } else {
                        ""
                    }
                ),
                ("tag", _) => format!(
                    "tag {:?} purged in namespace {}: every entry carrying it is invalid from \
                     now, in every process (a tag purge is O(1), so it does not count entries; \
                     --count counts them first)\n",
                    out.target, out.namespace
                ),
                ("url", Some(n)) => format!(
                    "url {:?}: {} in namespace {}\n",
                    out.target,
                    if n == 1 {
                        "its entry deleted"
                    } else {
                        "nothing was stored under its key"
                    },
                    out.namespace
                ),
                ("prefix", Some(n)) => format!(
                    "{n} entries with prefix {:?} deleted in namespace {} (scanned the \
                     namespace's keys)\n",
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
            }
        };
        match (&out.cdn, &cdn_req) {
            (Some(outcomes), Some(req)) => {
                text.push_str(&cdn_purge::describe(req, outcomes));
                if let Some(by) = &out.requested_by {
                    text.push_str(&format!("requested by {by}\n"));
                }
            }
            (None, Some(_)) if !p.no_cdn => {
                text.push_str("no [[cdn]] target configured: only the store was purged\n")
            }
            _ => {}
        }
        output::out(&text)?;
    }
    match failed {
        Some(f) => Err(f.into()),
        None => Ok(()),
    }
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
        "miss %",
        "stale %",
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
    let pct = |r: Option<f64>| r.map_or("-".into(), |r| format!("{:.1}", r * 100.0));
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
            pct(s.hit_ratio),
            pct(s.miss_ratio),
            pct(s.stale_ratio),
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
    open_in(ctx, None, name, create).await
}

/// [`open`] in the store of `config` (when `--store` / `ANP_STORE` do not say otherwise).
async fn open_in(
    ctx: &Ctx,
    config: Option<&ConfigFile>,
    name: &str,
    create: bool,
) -> anyhow::Result<Cache> {
    let url = ctx.url(config);
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
    let client = shell_client(backend).await?;
    Ok(client.namespace(name, options).await?)
}

/// The cache client of a one-shot command: no L1 and an hourly stats interval (it serves
/// nothing twice and has no traffic to report).
async fn shell_client(backend: alphanode::Backend) -> anyhow::Result<CacheClient> {
    Ok(CacheClient::new(
        backend,
        CacheOptions {
            l1_max_bytes: 0,
            stats_interval: Duration::from_secs(3600),
            ..Default::default()
        },
    )
    .await?)
}
