//! `anp deploy mark|rollback|list`: deploy markers, which `anp status` compares before and
//! after; a mark or rollback also moves deploy-sensitive cache namespaces' generations. A mark
//! can then purge tags (the store and every `[[cdn]]`) and show the purge worked: each
//! `--verify` URL is requested twice and must answer MISS, then HIT.

use std::time::Duration;

use alphanode::admin::{DeployMark, DeployRollback, GenerationMoved};
use alphanode::{Clock, ConnectOptions, Error, SystemClock};
use anp_http::{PurgeBy, PurgeRequest};
use clap::{Args, Subcommand};
use serde::Serialize;

use super::Ctx;
use crate::config::{parse_duration, ConfigFile, ConfigFrom};
use crate::output;
use crate::runners::cdn_purge;

/// `anp deploy …`.
#[derive(Subcommand, Debug)]
pub enum DeployCommand {
    /// Record that a version went out (with its owner and how to roll it back).
    Mark {
        /// Version deployed.
        #[arg(long)]
        version: String,
        /// Who owns it.
        #[arg(long)]
        owner: Option<String>,
        /// The command that rolls it back.
        #[arg(long)]
        rollback: Option<String>,
        /// Free text.
        #[arg(long)]
        note: Option<String>,
        // Boxed: the purge options make this variant much larger than the others.
        #[command(flatten)]
        purge: Box<DeployPurgeArgs>,
    },
    /// Record that the newest deploy was rolled back (a `rollback of VERSION` marker) and
    /// return deploy-sensitive cache namespaces to their previous generation, still warm.
    Rollback {
        /// Who rolled back.
        #[arg(long)]
        owner: Option<String>,
        /// Why.
        #[arg(long)]
        note: Option<String>,
    },
    /// The newest deploy markers.
    List {
        /// How many.
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
}

/// `anp deploy mark`'s purge after the marker: tags, where, and the MISS→HIT check.
#[derive(Args, Debug)]
pub struct DeployPurgeArgs {
    /// After recording the marker, purge this tag (repeat for more) in the store namespace
    /// (`--namespace`) and at every `[[cdn]]` target — the deploy tag your HTML routes carry.
    #[arg(long = "purge-tag", value_name = "TAG")]
    purge_tags: Vec<String>,
    /// Purge the rules file's `defaults.deploy_tag` too (the tag HTML routes carry).
    #[arg(long)]
    purge_deploy_tag: bool,
    /// The HTTP cache rules file for `--purge-deploy-tag` [default: `[http_cache] rules` of
    /// the config, else ./cache.toml].
    #[arg(long = "rules", value_name = "PATH")]
    rules: Option<std::path::PathBuf>,
    /// The store namespace the tags are purged in (`anp proxy` and the HTTP cache layer use
    /// `http`).
    #[arg(long, short = 'n', default_value = "http", value_name = "NS")]
    namespace: String,
    /// Then request this URL twice (repeat for more; e.g. through `anp proxy` or the CDN): it
    /// must answer MISS (purged), then HIT (cached again), read from `X-Cache` or
    /// `Cache-Status`. Exit 8 otherwise. With `--verify`, CDN purges run in this process
    /// first.
    #[arg(long = "verify", value_name = "URL")]
    verify: Vec<String>,
    /// Wait this long between the purge and the first verify request, for other processes to
    /// drop the purged entries from their in-memory cache (at most ~100 ms while the store's
    /// invalidation feed is up, `l1_ttl` when it is down).
    #[arg(long, default_value = "1s", value_name = "DURATION")]
    verify_settle: String,
    /// Run the CDN purges in this process (implied by `--verify`) instead of enqueueing
    /// `anp.cdn_purge` jobs for `anp work`.
    #[arg(long)]
    purge_now: bool,
    /// Who asks, logged with each CDN purge (default `$USER@hostname`).
    #[arg(long, value_name = "NAME")]
    by: Option<String>,
    /// The config declaring the `[[cdn]]` targets (default: `ANP_CONFIG`, else `./anp.toml`
    /// when present).
    #[arg(long = "config", short = 'c', value_name = "FILE")]
    config: Option<std::path::PathBuf>,
}

/// What the purge after a deploy did.
#[derive(Debug, Serialize)]
struct DeployPurged {
    namespace: String,
    tags: Vec<String>,
    /// Whether the store's entries were purged (`false`: the namespace was never opened).
    store: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    store_note: Option<String>,
    cdn: Vec<cdn_purge::CdnOutcome>,
    #[serde(skip_serializing_if = "Option::is_none")]
    requested_by: Option<String>,
}

/// One `--verify` URL: what the two requests answered.
#[derive(Debug, Serialize)]
struct Verified {
    url: String,
    /// `HIT`, `MISS`, `STALE`, `BYPASS`, or `-` when neither header says.
    first: String,
    second: String,
    /// `first` is MISS and `second` is HIT.
    ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// Runs `anp deploy …`.
pub async fn deploy(ctx: &Ctx, c: DeployCommand) -> anyhow::Result<()> {
    match c {
        DeployCommand::Mark {
            version,
            owner,
            rollback,
            note,
            purge,
        } => {
            mark(
                ctx,
                DeployMark {
                    version,
                    owner,
                    rollback,
                    note,
                },
                purge,
            )
            .await
        }
        DeployCommand::Rollback { owner, note } => {
            let r = ctx
                .admin()
                .await?
                .deploy_rollback(DeployRollback { owner, note })
                .await?;
            if ctx.json {
                output::json(&r)
            } else {
                output::out(&format!(
                    "rollback of {} (deployed {}) marked at {}\n{}",
                    r.undone.version,
                    output::ts(r.undone.at),
                    output::ts(r.marker.at),
                    moved_text(
                        &r.cache,
                        "back to their previous generation (its values are still stored)"
                    )
                ))
            }
        }
        DeployCommand::List { limit } => {
            let list = ctx.admin().await?.deploy_list(limit).await?;
            if ctx.json {
                return output::json(&list);
            }
            let now = SystemClock.now();
            let mut t = output::table(&["at", "age", "version", "owner", "rollback", "note"]);
            for m in &list {
                t.add_row(vec![
                    output::ts(m.at),
                    output::age(m.at, now),
                    m.version.clone(),
                    m.owner.clone().unwrap_or_default(),
                    m.rollback.clone().unwrap_or_default(),
                    m.note.clone().unwrap_or_default(),
                ]);
            }
            println!("{t}");
            Ok(())
        }
    }
}

async fn mark(ctx: &Ctx, mark: DeployMark, p: Box<DeployPurgeArgs>) -> anyhow::Result<()> {
    // Everything the purge needs is checked before the marker is recorded.
    let settle = parse_duration("--verify-settle", &p.verify_settle)?;
    let mut tags = p.purge_tags.clone();
    if p.purge_deploy_tag {
        let Some(rules) = super::cache::load_rules(
            p.rules.as_deref(),
            p.config
                .as_deref()
                .map(|c| ConfigFile::read(c, ConfigFrom::Flag))
                .as_ref(),
        )?
        else {
            return Err(Error::not_found(
                "deploy mark",
                "--purge-deploy-tag: no rules file: expected --rules PATH, `[http_cache] rules` \
                 in anp.toml, or ./cache.toml",
            )
            .into());
        };
        match &rules.defaults().deploy_tag {
            Some(t) => tags.push(t.clone()),
            None => {
                return Err(Error::invalid(
                    "deploy mark",
                    format!(
                        "--purge-deploy-tag: {} has no `[defaults] deploy_tag`: expected one \
                         (e.g. deploy_tag = \"deploy\", carried by the HTML rules' tags), or \
                         name the tag with --purge-tag",
                        rules.file()
                    ),
                )
                .into())
            }
        }
    }
    if tags.is_empty() && !p.verify.is_empty() {
        return Err(Error::invalid(
            "deploy mark",
            "--verify needs something purged first: expected --purge-tag TAG or --purge-deploy-tag",
        )
        .into());
    }
    let req = if tags.is_empty() {
        None
    } else {
        Some(
            PurgeRequest::new(PurgeBy::Tag, tags)
                .map_err(|e| Error::invalid("deploy mark", e.to_string()))?,
        )
    };
    for u in &p.verify {
        let ok = reqwest::Url::parse(u).is_ok_and(|x| matches!(x.scheme(), "http" | "https"));
        if !ok {
            return Err(Error::invalid(
                "deploy mark",
                format!(
                    "--verify {u:?} is not an http(s) URL: expected e.g. http://127.0.0.1:8080/"
                ),
            )
            .into());
        }
    }
    let (file, targets) = if req.is_some() {
        super::cache::cdn_targets(p.config.as_deref())?
    } else {
        (None, Vec::new())
    };
    let admin = ctx.admin_creating().await?;
    let m = admin.deploy_mark(mark).await?;
    let mut purged = None;
    let mut failed = None;
    if let Some(req) = &req {
        purged = Some(purge_tags(ctx, file.as_ref(), &targets, req, &p, &mut failed).await?);
    }
    let mut verified = Vec::new();
    if failed.is_none() && !p.verify.is_empty() {
        tokio::time::sleep(settle).await;
        verified = verify(&p.verify).await;
        let bad: Vec<&str> = verified
            .iter()
            .filter(|v| !v.ok)
            .map(|v| v.url.as_str())
            .collect();
        if !bad.is_empty() {
            failed = Some(output::Reported {
                code: super::status::EXIT_ATTENTION,
                message: format!(
                    "purge not shown: {} of {} verify URLs did not answer MISS then HIT ({}): \
                     expected the first request after the purge to miss and the second to hit \
                     (is the URL's rule carrying the purged tag? is it served through the cache?)",
                    bad.len(),
                    verified.len(),
                    bad.join(", ")
                ),
            });
        }
    }
    if ctx.json {
        #[derive(Serialize)]
        struct Out<'a> {
            #[serde(flatten)]
            m: &'a alphanode::admin::DeployMarked,
            #[serde(skip_serializing_if = "Option::is_none")]
            purge: Option<&'a DeployPurged>,
            #[serde(skip_serializing_if = "<[Verified]>::is_empty")]
            verify: &'a [Verified],
        }
        ctx.json_object(&Out {
            m: &m,
            purge: purged.as_ref(),
            verify: &verified,
        })?;
    } else {
        let mut text = format!(
            "deploy {} marked at {}\n{}",
            m.marker.version,
            output::ts(m.marker.at),
            moved_text(&m.cache, "moved to a new, empty generation")
        );
        if let (Some(pd), Some(req)) = (&purged, &req) {
            if pd.store {
                text.push_str(&format!(
                    "tags {} purged in namespace {}\n",
                    pd.tags.join(", "),
                    pd.namespace
                ));
            } else {
                text.push_str(&format!(
                    "store: not purged: {}\n",
                    pd.store_note.as_deref().unwrap_or_default()
                ));
            }
            text.push_str(&cdn_purge::describe(req, &pd.cdn));
        }
        for v in &verified {
            text.push_str(&format!(
                "verify {}: {}→{} {}{}\n",
                v.url,
                v.first,
                v.second,
                if v.ok { "ok" } else { "NOT OK" },
                v.error
                    .as_deref()
                    .map(|e| format!(" ({e})"))
                    .unwrap_or_default()
            ));
        }
        output::out(&text)?;
    }
    match failed {
        Some(f) => Err(f.into()),
        None => Ok(()),
    }
}

/// Purges the tags in the store namespace, then at every target (in this process when URLs
/// are to be verified: they must follow the purge).
async fn purge_tags(
    ctx: &Ctx,
    file: Option<&crate::config::ConfigFile>,
    targets: &[anp_http::CdnTarget],
    req: &PurgeRequest,
    p: &DeployPurgeArgs,
    failed: &mut Option<output::Reported>,
) -> anyhow::Result<DeployPurged> {
    let store = alphanode::connect_with(&ctx.url(file), ConnectOptions { create: false }).await?;
    let mut out = DeployPurged {
        namespace: p.namespace.clone(),
        tags: req.values().to_vec(),
        store: true,
        store_note: None,
        cdn: Vec::new(),
        requested_by: None,
    };
    match alphanode::Admin::new(store.clone())
        .cache_namespace(&p.namespace)
        .await
    {
        Ok(ns) => {
            let client = alphanode::cache::CacheClient::new(
                store.clone(),
                alphanode::cache::CacheOptions {
                    l1_max_bytes: 0,
                    stats_interval: Duration::from_secs(3600),
                    ..Default::default()
                },
            )
            .await?;
            let cache = client
                .namespace(
                    &p.namespace,
                    alphanode::cache::NamespaceOptions {
                        deploy_sensitive: ns.deploy_sensitive,
                        ..Default::default()
                    },
                )
                .await?;
            cache
                .purge_tags(req.values().iter().map(String::as_str))
                .await?;
        }
        Err(e) if e.kind() == alphanode::ErrorKind::NotFound => {
            out.store = false;
            out.store_note = Some(format!("nothing stored to purge ({e})"));
        }
        Err(e) => return Err(e.into()),
    }
    if !targets.is_empty() {
        let by = p.by.clone().unwrap_or_else(cdn_purge::default_requester);
        let now = p.purge_now || !p.verify.is_empty();
        let how = if now {
            cdn_purge::FanOut::Now
        } else {
            cdn_purge::FanOut::Jobs(&store)
        };
        out.cdn = cdn_purge::fan_out(how, targets, req, &by).await?;
        *failed = cdn_purge::failure(&out.cdn);
        out.requested_by = Some(by);
    }
    Ok(out)
}

/// Requests each URL twice, one after the other, and reads the cache's verdict from
/// `X-Cache` or, failing that, `Cache-Status` (RFC 9211).
async fn verify(urls: &[String]) -> Vec<Verified> {
    let client = match reqwest::Client::builder()
        .user_agent(concat!("alphanode-verify/", env!("CARGO_PKG_VERSION")))
        .timeout(Duration::from_secs(30))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            return urls
                .iter()
                .map(|u| Verified {
                    url: u.clone(),
                    first: "-".into(),
                    second: "-".into(),
                    ok: false,
                    error: Some(format!("cannot build the HTTP client: {e}")),
                })
                .collect()
        }
    };
    let mut out = Vec::new();
    for u in urls {
        let mut seen = Vec::new();
        let mut error = None;
        for _ in 0..2 {
            match client.get(u).send().await {
                Ok(r) => {
                    seen.push(cache_verdict(r.headers()));
                    // Read the body so the response is complete (and cached) before the next.
                    if let Err(e) = r.bytes().await {
                        error = Some(format!("GET {u}: reading the body failed: {e}"));
                    }
                }
                Err(e) => {
                    error = Some(format!("GET {u} failed: {e}"));
                    break;
                }
            }
        }
        let first = seen.first().cloned().unwrap_or_else(|| "-".into());
        let second = seen.get(1).cloned().unwrap_or_else(|| "-".into());
        out.push(Verified {
            url: u.clone(),
            ok: error.is_none() && first == "MISS" && second == "HIT",
            first,
            second,
            error,
        });
    }
    out
}

/// `HIT`, `MISS`, `STALE`, `BYPASS` from `X-Cache` (its first word), else from the last
/// (closest to us) member of `Cache-Status`: `hit` is HIT, `fwd=stale` STALE, `fwd=bypass`
/// BYPASS, any other `fwd` MISS; `-` when neither says.
fn cache_verdict(h: &reqwest::header::HeaderMap) -> String {
    if let Some(x) = h.get("x-cache").and_then(|v| v.to_str().ok()) {
        if let Some(w) = x.split([' ', ',']).find(|w| !w.is_empty()) {
            return w.to_ascii_uppercase();
        }
    }
    let status = h
        .get_all("cache-status")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .next_back()
        .map(str::to_owned);
    let Some(member) = status else {
        return "-".into();
    };
    let params: Vec<&str> = member.split(';').skip(1).map(str::trim).collect();
    if params.iter().any(|p| *p == "hit" || p.starts_with("hit=")) {
        return "HIT".into();
    }
    match params.iter().find_map(|p| p.strip_prefix("fwd=")) {
        Some("stale") => "STALE".into(),
        Some("bypass") => "BYPASS".into(),
        Some(_) => "MISS".into(),
        None => "-".into(),
    }
}

/// One line per cache namespace whose generation moved.
fn moved_text(moved: &[GenerationMoved], what: &str) -> String {
    if moved.is_empty() {
        return String::new();
    }
    let list: Vec<String> = moved
        .iter()
        .map(|m| format!("{} ({} → {})", m.namespace, m.from, m.to))
        .collect();
    format!("cache namespaces {what}: {}\n", list.join(", "))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn verdict(pairs: &[(&str, &str)]) -> String {
        let mut h = reqwest::header::HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                reqwest::header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        cache_verdict(&h)
    }

    #[test]
    fn verdict_from_x_cache_or_cache_status() {
        assert_eq!(verdict(&[("x-cache", "HIT")]), "HIT");
        assert_eq!(verdict(&[("x-cache", "miss, HIT")]), "MISS");
        assert_eq!(verdict(&[("cache-status", "anp; fwd=uri-miss")]), "MISS");
        assert_eq!(
            verdict(&[("cache-status", "cdn; fwd=miss, anp; hit")]),
            "HIT"
        );
        assert_eq!(
            verdict(&[
                ("cache-status", "anp; hit"),
                ("cache-status", "cdn; fwd=stale")
            ]),
            "STALE"
        );
        assert_eq!(verdict(&[]), "-");
    }
}
