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
    /// Also verify a sample of the purged pages, taken from the rules file: the `should_cache`
    /// examples (GET) of every cache rule carrying a purged tag, requested at this base URL
    /// (e.g. https://www.example.com or the `anp proxy` address) with the example's headers,
    /// each MISS then HIT as for `--verify`.
    #[arg(long = "verify-examples", value_name = "BASE_URL")]
    verify_examples: Option<String>,
    /// At most this many examples are verified with `--verify-examples`, in the rules file's
    /// order.
    #[arg(long, default_value_t = 10, value_name = "N")]
    verify_max: usize,
    /// Wait this long between the purge and the first verify request, for other processes to
    /// drop the purged entries from their in-memory cache (at most ~100 ms while the store's
    /// invalidation feed is up, `l1_ttl` when it is down).
    #[arg(long, default_value = "1s", value_name = "DURATION")]
    verify_settle: String,
    /// Before anything is recorded or purged, poll this URL (e.g. the site's `/version`, through
    /// the load balancer) about once a second until it answers 2xx with `--wait-for-text` in its
    /// body or in a header value: the purge then runs once the new version serves, so old
    /// instances still answering do not cache old pages again. On timeout nothing is recorded
    /// or purged (exit 3, as when the store is unreachable: nothing changed, re-running is safe).
    #[arg(long = "wait-for", value_name = "URL")]
    wait_for: Option<String>,
    /// The text `--wait-for` must show [default: the `--version` being marked].
    #[arg(long = "wait-for-text", value_name = "TEXT")]
    wait_for_text: Option<String>,
    /// How long `--wait-for` may take.
    #[arg(long, default_value = "5m", value_name = "DURATION")]
    wait_timeout: String,
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

/// What `--wait-for` saw before the marker was recorded.
#[derive(Debug, Serialize)]
struct Waited {
    url: String,
    text: String,
    /// Requests made, the last one showing the text.
    polls: u32,
    seconds: f64,
}

/// A URL to verify after the purge: a `--verify` URL, or a rule's example at the
/// `--verify-examples` base.
#[derive(Debug, Clone)]
struct VerifyTarget {
    url: String,
    headers: reqwest::header::HeaderMap,
    /// For an example: the rule and the example line.
    from: Option<(String, String)>,
}

/// One verified URL: what the two requests answered.
#[derive(Debug, Serialize)]
struct Verified {
    url: String,
    /// The rule whose example this is (`--verify-examples`).
    #[serde(skip_serializing_if = "Option::is_none")]
    rule: Option<String>,
    /// The example line.
    #[serde(skip_serializing_if = "Option::is_none")]
    example: Option<String>,
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
    let rules = if p.purge_deploy_tag || p.verify_examples.is_some() {
        let flag = if p.purge_deploy_tag {
            "--purge-deploy-tag"
        } else {
            "--verify-examples"
        };
        match super::cache::load_rules(
            p.rules.as_deref(),
            p.config
                .as_deref()
                .map(|c| ConfigFile::read(c, ConfigFrom::Flag))
                .as_ref(),
        )? {
            Some(r) => Some(r),
            None => {
                return Err(Error::not_found(
                    "deploy mark",
                    format!(
                        "{flag}: no rules file: expected --rules PATH, `[http_cache] rules` \
                         in anp.toml, or ./cache.toml"
                    ),
                )
                .into())
            }
        }
    } else {
        None
    };
    if let (true, Some(rules)) = (p.purge_deploy_tag, &rules) {
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
    if tags.is_empty() && (!p.verify.is_empty() || p.verify_examples.is_some()) {
        return Err(Error::invalid(
            "deploy mark",
            "--verify and --verify-examples need something purged first: expected --purge-tag \
             TAG or --purge-deploy-tag",
        )
        .into());
    }
    let req = if tags.is_empty() {
        None
    } else {
        Some(
            PurgeRequest::new(PurgeBy::Tag, tags.clone())
                .map_err(|e| Error::invalid("deploy mark", e.to_string()))?,
        )
    };
    let mut targets_to_verify = Vec::new();
    for u in &p.verify {
        check_url("--verify", u)?;
        targets_to_verify.push(VerifyTarget {
            url: u.clone(),
            headers: Default::default(),
            from: None,
        });
    }
    if let (Some(base), Some(rules)) = (&p.verify_examples, &rules) {
        check_url("--verify-examples", base)?;
        let examples = purged_examples(rules, &tags, base, p.verify_max);
        if examples.is_empty() {
            return Err(Error::invalid(
                "deploy mark",
                format!(
                    "--verify-examples: no cache rule in {} carrying {} has a GET \
                     `should_cache` example: expected one (e.g. should_cache = [\"GET /\"] on \
                     the HTML rule), or name URLs with --verify",
                    rules.file(),
                    tags.join(", ")
                ),
            )
            .into());
        }
        targets_to_verify.extend(examples);
    }
    let (file, targets) = if req.is_some() {
        super::cache::cdn_targets(p.config.as_deref())?
    } else {
        (None, Vec::new())
    };
    let wait_timeout = parse_duration("--wait-timeout", &p.wait_timeout)?;
    let wait_text = p
        .wait_for_text
        .clone()
        .unwrap_or_else(|| mark.version.clone());
    if let Some(u) = &p.wait_for {
        check_url("--wait-for", u)?;
        if wait_text.is_empty() {
            return Err(Error::invalid(
                "deploy mark",
                "--wait-for-text is empty: expected the text the new version serves (e.g. its version)",
            )
            .into());
        }
    }
    let admin = ctx.admin_creating().await?;
    let waited = match &p.wait_for {
        Some(u) => Some(wait_for(u, &wait_text, wait_timeout).await?),
        None => None,
    };
    let m = admin.deploy_mark(mark).await?;
    let mut purged = None;
    let mut failed = None;
    if let Some(req) = &req {
        purged = Some(purge_tags(ctx, file.as_ref(), &targets, req, &p, &mut failed).await?);
    }
    let mut verified = Vec::new();
    if failed.is_none() && !targets_to_verify.is_empty() {
        tokio::time::sleep(settle).await;
        verified = verify(&targets_to_verify).await;
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
            waited: Option<&'a Waited>,
            #[serde(skip_serializing_if = "Option::is_none")]
            purge: Option<&'a DeployPurged>,
            #[serde(skip_serializing_if = "<[Verified]>::is_empty")]
            verify: &'a [Verified],
        }
        ctx.json_object(&Out {
            m: &m,
            waited: waited.as_ref(),
            purge: purged.as_ref(),
            verify: &verified,
        })?;
    } else {
        let mut text = waited
            .as_ref()
            .map(|w| {
                format!(
                    "{} showed {:?} after {:.1} s ({} requests)\n",
                    w.url, w.text, w.seconds, w.polls
                )
            })
            .unwrap_or_default();
        text.push_str(&format!(
            "deploy {} marked at {}\n{}",
            m.marker.version,
            output::ts(m.marker.at),
            moved_text(&m.cache, "moved to a new, empty generation")
        ));
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
            let from = match (&v.rule, &v.example) {
                (Some(r), Some(e)) => format!(" (rule {r}, example {e:?})"),
                _ => String::new(),
            };
            text.push_str(&format!(
                "verify {}{from}: {}→{} {}{}\n",
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
        let now = p.purge_now || !p.verify.is_empty() || p.verify_examples.is_some();
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
/// `u` is an http(s) URL, or an invalid-input error naming `flag`.
fn check_url(flag: &str, u: &str) -> anyhow::Result<()> {
    let ok = reqwest::Url::parse(u).is_ok_and(|x| matches!(x.scheme(), "http" | "https"));
    if ok {
        return Ok(());
    }
    Err(Error::invalid(
        "deploy mark",
        format!("{flag} {u:?} is not an http(s) URL: expected e.g. http://127.0.0.1:8080/"),
    )
    .into())
}

/// Polls `url` about once a second until a 2xx answer carries `text` in its body or a header
/// value; an unavailable error (retry safe: nothing was recorded) after `timeout`.
async fn wait_for(url: &str, text: &str, timeout: Duration) -> anyhow::Result<Waited> {
    let client = reqwest::Client::builder()
        .user_agent(concat!("alphanode-deploy-wait/", env!("CARGO_PKG_VERSION")))
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| {
            Error::internal("deploy mark", format!("cannot build the HTTP client: {e}"))
        })?;
    let started = std::time::Instant::now();
    let mut polls = 0u32;
    loop {
        polls += 1;
        let last = match client.get(url).send().await {
            Ok(r) => {
                let status = r.status();
                let in_header = r
                    .headers()
                    .values()
                    .any(|v| v.to_str().is_ok_and(|v| v.contains(text)));
                match r.text().await {
                    Ok(body) if status.is_success() && (in_header || body.contains(text)) => {
                        return Ok(Waited {
                            url: url.to_owned(),
                            text: text.to_owned(),
                            polls,
                            seconds: (started.elapsed().as_secs_f64() * 10.0).round() / 10.0,
                        });
                    }
                    Ok(_) if status.is_success() => format!("{status}, without the text"),
                    Ok(_) => status.to_string(),
                    Err(e) => format!("{status}, reading the body failed: {e}"),
                }
            }
            Err(e) => format!("request failed: {e}"),
        };
        let left = timeout.saturating_sub(started.elapsed());
        if left.is_zero() {
            return Err(Error::unavailable(
                "deploy mark",
                format!(
                    "--wait-for {url} did not show {text:?} within {} ({polls} requests; the last \
                     answered {last}): expected the new version to serve it; nothing was recorded \
                     or purged, so re-running is safe",
                    output::span(i64::try_from(timeout.as_secs()).unwrap_or(i64::MAX))
                ),
            )
            .into());
        }
        tokio::time::sleep(left.min(Duration::from_secs(1))).await;
    }
}

/// The `should_cache` GET examples of the cache rules carrying one of `tags`, as URLs at
/// `base` with the example's headers, at most `max`, in file order. The example's `host` is
/// sent only when the rule matches on host or the example names one (else the base URL's
/// host applies).
fn purged_examples(
    rules: &anp_http::Rules,
    tags: &[String],
    base: &str,
    max: usize,
) -> Vec<VerifyTarget> {
    let base = base.trim_end_matches('/');
    let mut out = Vec::new();
    for r in rules.rules() {
        let anp_http::rules::RuleAction::Cache(c) = &r.action else {
            continue;
        };
        if !c.tags.iter().any(|t| tags.contains(t)) {
            continue;
        }
        for e in &r.should_cache {
            if out.len() >= max {
                return out;
            }
            if e.method != reqwest::Method::GET {
                continue;
            }
            let path = e.uri.path_and_query().map_or("/", |pq| pq.as_str());
            let mut headers = e.headers.clone();
            let named_host = e.text.split_whitespace().any(|w| {
                w.split_once(':')
                    .is_some_and(|(n, _)| n.eq_ignore_ascii_case("host"))
            });
            if r.matches.hosts.is_empty() && !named_host {
                headers.remove(reqwest::header::HOST);
            }
            out.push(VerifyTarget {
                url: format!("{base}{path}"),
                headers,
                from: Some((r.name.clone(), e.text.clone())),
            });
        }
    }
    out
}

async fn verify(targets: &[VerifyTarget]) -> Vec<Verified> {
    let client = match reqwest::Client::builder()
        .user_agent(concat!("alphanode-verify/", env!("CARGO_PKG_VERSION")))
        .timeout(Duration::from_secs(30))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            return targets
                .iter()
                .map(|t| Verified {
                    url: t.url.clone(),
                    rule: t.from.as_ref().map(|f| f.0.clone()),
                    example: t.from.as_ref().map(|f| f.1.clone()),
                    first: "-".into(),
                    second: "-".into(),
                    ok: false,
                    error: Some(format!("cannot build the HTTP client: {e}")),
                })
                .collect()
        }
    };
    let mut out = Vec::new();
    for t in targets {
        let u = &t.url;
        let mut seen = Vec::new();
        let mut error = None;
        for _ in 0..2 {
            match client.get(u).headers(t.headers.clone()).send().await {
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
            rule: t.from.as_ref().map(|f| f.0.clone()),
            example: t.from.as_ref().map(|f| f.1.clone()),
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
