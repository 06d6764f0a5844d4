//! [`CacheService`]: one request through the rules, the cache and the upstream.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use alphanode::cache::{ComputeError, Policy};
use bytes::Bytes;
use futures_util::future::FutureExt;
use http::header::{self, HeaderMap, HeaderValue};
use http::{Extensions, Method, Request, Response, StatusCode, Uri, Version};
use http_body::Body;
use tower::{Service, ServiceExt};

use super::body::{collect_limited, BoxError, CacheBody, Collected};
use super::coalesce::{Flight, Outcome};
use super::headers::{
    if_none_match, not_modified_since, not_storable, stored_headers, vary_names, Status,
    CONDITIONAL,
};
use super::metrics::Outcome as Counted;
use super::stored::{now_ms, variant_key, Stored, StoredResponse, VaryMarker, Windows};
use super::Shared;
use crate::decision::{CacheAction, Decision};

/// The service [`CacheLayer`](super::CacheLayer) wraps around an inner service (the app, or
/// `anp proxy`'s upstream client). See the [module docs](super) for what it does per request.
pub struct CacheService<S> {
    pub(super) inner: S,
    pub(super) shared: Arc<Shared>,
}

impl<S: Clone> Clone for CacheService<S> {
    fn clone(&self) -> Self {
        CacheService {
            inner: self.inner.clone(),
            shared: self.shared.clone(),
        }
    }
}

impl<S> std::fmt::Debug for CacheService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CacheService")
            .field("layer", &self.shared)
            .finish_non_exhaustive()
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for CacheService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ReqBody: Default + Send + 'static,
    ResBody: Body<Data = Bytes> + Send + 'static,
    ResBody::Error: Into<BoxError>,
{
    type Response = Response<CacheBody>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response<CacheBody>, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        // The ready service answers this request; a fresh clone waits for the next poll_ready
        // (the usual tower pattern for services that move into a future).
        let clone = self.inner.clone();
        let svc = std::mem::replace(&mut self.inner, clone);
        let shared = self.shared.clone();
        Box::pin(handle(shared, svc, req))
    }
}

/// A request as the layer sends it upstream to fill the cache: a `GET` (also for a client's
/// `HEAD`, so the stored entry has its body) without the conditional and range headers (the
/// cache wants the full response and answers those itself), and without a body.
#[derive(Debug)]
struct Template {
    uri: Uri,
    version: Version,
    headers: HeaderMap,
    extensions: Extensions,
}

impl Template {
    fn of<B>(req: &Request<B>) -> Template {
        let mut headers = req.headers().clone();
        for h in &CONDITIONAL {
            headers.remove(h);
        }
        headers.remove(header::CONTENT_LENGTH);
        Template {
            uri: req.uri().clone(),
            version: req.version(),
            headers,
            extensions: req.extensions().clone(),
        }
    }

    fn request<B: Default>(&self) -> Request<B> {
        let mut req = Request::new(B::default());
        *req.method_mut() = Method::GET;
        *req.uri_mut() = self.uri.clone();
        *req.version_mut() = self.version;
        *req.headers_mut() = self.headers.clone();
        *req.extensions_mut() = self.extensions.clone();
        req
    }
}

/// Why a fetch stored nothing (the `get_or_compute` error; the response itself, when there is
/// one, waits in the fetching caller's [`Mailbox`]).
#[derive(Debug)]
struct Unstored {
    reason: String,
    status: Option<u16>,
}

impl std::fmt::Display for Unstored {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.reason)
    }
}

/// What one caller's fetch left for that caller: how it went, and the response when it was not
/// stored (it goes to this caller's client only).
struct Mail<E> {
    /// The value this fetch produced and the cache stored.
    produced: Option<Stored>,
    upstream: Option<Duration>,
    status: Option<u16>,
    failed: bool,
    response: Option<Result<Response<CacheBody>, E>>,
}

type Mailbox<E> = Arc<Mutex<Mail<E>>>;

fn mailbox<E>() -> Mailbox<E> {
    Arc::new(Mutex::new(Mail {
        produced: None,
        upstream: None,
        status: None,
        failed: false,
        response: None,
    }))
}

fn open<E>(m: &Mailbox<E>) -> std::sync::MutexGuard<'_, Mail<E>> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Which entry a fetch fills.
#[derive(Clone, Debug)]
enum Expect {
    /// The primary key: a response, or the Vary marker (its variant stored beside it).
    Primary,
    /// A variant of a response that varies on `names`.
    Variant { primary: String, names: Vec<String> },
}

/// Everything a cached request's lookups and fetches share.
struct Ctx<S> {
    shared: Arc<Shared>,
    svc: S,
    template: Arc<Template>,
    action: Arc<CacheAction>,
    policy: Policy,
    /// Edge TTL and stale-while-revalidate, as the policy has them.
    windows: (Duration, Duration),
}

impl<S: Clone> Clone for Ctx<S> {
    fn clone(&self) -> Self {
        Ctx {
            shared: self.shared.clone(),
            svc: self.svc.clone(),
            template: self.template.clone(),
            action: self.action.clone(),
            policy: self.policy.clone(),
            windows: self.windows,
        }
    }
}

async fn handle<S, ReqBody, ResBody>(
    shared: Arc<Shared>,
    svc: S,
    req: Request<ReqBody>,
) -> Result<Response<CacheBody>, S::Error>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ReqBody: Default + Send + 'static,
    ResBody: Body<Data = Bytes> + Send + 'static,
    ResBody::Error: Into<BoxError>,
{
    let started = Instant::now();
    let head = req.method() == Method::HEAD;
    // A HEAD is decided, keyed and stored as the GET it mirrors.
    let method = if head { &Method::GET } else { req.method() };
    let action = match shared.decide.decide(method, req.uri(), req.headers()) {
        Decision::Bypass(b) => {
            let status = Status {
                x_cache: "BYPASS",
                fwd: Some("bypass"),
                detail: Some(b.reason),
                ..Status::default()
            };
            return forward(
                &shared,
                svc,
                req,
                b.rule.as_deref(),
                status,
                Counted::Bypass,
                started,
            )
            .await;
        }
        Decision::Cache(a) => a,
    };
    if req.method() != Method::GET && !head {
        let status = Status {
            x_cache: "BYPASS",
            fwd: Some("method"),
            detail: Some(format!("method {} is never cached", req.method())),
            ..Status::default()
        };
        return forward(
            &shared,
            svc,
            req,
            Some(&action.rule),
            status,
            Counted::Bypass,
            started,
        )
        .await;
    }
    // The hot path: a fresh response this process holds in memory is served at once, without
    // joining a flight or touching the store.
    if let Some(Stored::Response(r)) = shared.cache.get_local::<Stored>(&action.key) {
        let now = now_ms();
        if now < r.wire.fresh_until_ms {
            let status = Status {
                x_cache: "HIT",
                hit: true,
                // Whole seconds, rounded down, as on the other paths.
                ttl: Some((r.wire.fresh_until_ms - now).div_euclid(1000)),
                ..Status::default()
            };
            shared.metrics.count(Some(&action.rule), Counted::Hit);
            return Ok(serve_stored(
                &r,
                req.headers(),
                head,
                &action,
                &status,
                started.elapsed(),
                None,
            ));
        }
    }
    // The windows fit in the namespace's max lifetime (tag purges are kept that long): the
    // edge TTL first, then stale-while-revalidate, then stale-if-error.
    let max = shared.max_lifetime;
    let edge = action.edge_ttl.min(max);
    let swr = action.stale_while_revalidate.min(max.saturating_sub(edge));
    let sie = action
        .stale_if_error
        .min(max.saturating_sub(edge).saturating_sub(swr));
    let policy = Policy::fresh(edge)
        .stale_while_revalidate(swr)
        .stale_if_error(sie)
        .tags(action.tags.iter().cloned());
    let ctx = Ctx {
        shared,
        svc,
        template: Arc::new(Template::of(&req)),
        action: Arc::new(action),
        policy,
        windows: (edge, swr),
    };
    cached(ctx, req, head, started).await
}

/// Sends `req` upstream as it is and streams the answer back with `status`'s headers.
async fn forward<S, ReqBody, ResBody>(
    shared: &Shared,
    svc: S,
    req: Request<ReqBody>,
    rule: Option<&str>,
    mut status: Status,
    counted: Counted,
    started: Instant,
) -> Result<Response<CacheBody>, S::Error>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: Body<Data = Bytes> + Send + 'static,
    ResBody::Error: Into<BoxError>,
{
    let before = started.elapsed();
    let t = Instant::now();
    let res = svc.oneshot(req).await;
    let took = t.elapsed();
    shared.metrics.count(rule, counted);
    let histogram = if counted == Counted::Bypass {
        "bypass"
    } else {
        "uncacheable"
    };
    let res = match res {
        Ok(r) => r,
        Err(e) => {
            shared.metrics.upstream_error(rule);
            shared.metrics.upstream(rule, "error", took);
            return Err(e);
        }
    };
    if res.status().is_server_error() {
        shared.metrics.upstream_error(rule);
        shared.metrics.upstream(rule, "error", took);
    } else {
        shared.metrics.upstream(rule, histogram, took);
    }
    if status.fwd != Some("bypass") && status.fwd != Some("method") {
        status.fwd_status = Some(res.status().as_u16());
    }
    let (mut parts, body) = res.into_parts();
    status.apply(&mut parts.headers, before, Some(took));
    Ok(Response::from_parts(parts, CacheBody::stream(body)))
}

/// The cache path of a GET or HEAD a cache rule matched.
async fn cached<S, ReqBody, ResBody>(
    ctx: Ctx<S>,
    req: Request<ReqBody>,
    head: bool,
    started: Instant,
) -> Result<Response<CacheBody>, S::Error>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ReqBody: Default + Send + 'static,
    ResBody: Body<Data = Bytes> + Send + 'static,
    ResBody::Error: Into<BoxError>,
{
    let rule = ctx.action.rule.clone();
    let mut upstream: Option<Duration> = None;
    let mut fetched_any = false;
    // Why the request went forward: the primary key missed, or only this request's variant.
    let mut fwd = "vary-miss";
    let mut collapsed = false;
    let mut key = ctx.action.key.clone();
    let mut expect = Expect::Primary;
    loop {
        let (flight, own) = lookup(&ctx, &key, expect.clone());
        let outcome = flight.await;
        let own_mail = own.as_ref().map(|m| {
            let mut m = open(m);
            (m.upstream, m.status, m.response.take())
        });
        let status = match outcome {
            Outcome::Value {
                stored: Stored::Vary(marker),
                fetched,
                ..
            } if matches!(expect, Expect::Primary) => {
                if fetched {
                    fetched_any = true;
                    fwd = "uri-miss";
                    collapsed = own.is_none();
                    upstream = own_mail.and_then(|m| m.0);
                }
                key = variant_key(&key, &marker.names, req.headers());
                expect = Expect::Variant {
                    primary: ctx.action.key.clone(),
                    names: marker.names.clone(),
                };
                continue;
            }
            Outcome::Value {
                stored: Stored::Response(r),
                fetched,
                failed_status,
            } => {
                if fetched {
                    fetched_any = true;
                    collapsed = own.is_none();
                    upstream = upstream.or(own_mail.as_ref().and_then(|m| m.0));
                }
                let now = now_ms();
                let w = &r.wire;
                // Whole seconds, rounded down: a response stale by 0.3 s says ttl=-1.
                let ttl = (w.fresh_until_ms - now).div_euclid(1000);
                let mut status = Status {
                    ttl: Some(ttl),
                    ..Status::default()
                };
                let counted = if fetched_any {
                    status.x_cache = "MISS";
                    status.fwd = Some(if matches!(expect, Expect::Variant { .. }) {
                        fwd
                    } else {
                        "uri-miss"
                    });
                    status.fwd_status = Some(w.status);
                    status.stored = Some(true);
                    status.collapsed = collapsed;
                    Counted::Miss
                } else if now < w.fresh_until_ms {
                    status.x_cache = "HIT";
                    status.hit = true;
                    Counted::Hit
                } else if now < w.stale_until_ms {
                    // Within stale-while-revalidate the stale value is served at once, whatever
                    // the refresh it started finds.
                    status.x_cache = "STALE";
                    status.hit = true;
                    status.fwd = Some("stale");
                    status.detail = Some("stale-while-revalidate: one refresh runs".to_owned());
                    Counted::Stale
                } else {
                    status.x_cache = "STALE";
                    status.hit = true;
                    status.fwd = Some("stale");
                    status.fwd_status = failed_status;
                    status.detail = Some("stale-if-error: the upstream failed".to_owned());
                    upstream = own_mail.as_ref().and_then(|m| m.0);
                    Counted::Stale
                };
                ctx.shared.metrics.count(Some(&rule), counted);
                let spent = started
                    .elapsed()
                    .saturating_sub(upstream.unwrap_or_default());
                return Ok(serve_stored(
                    &r,
                    req.headers(),
                    head,
                    &ctx.action,
                    &status,
                    spent,
                    upstream,
                ));
            }
            Outcome::Value {
                stored: Stored::Vary(_),
                ..
            } => uncached(
                "the variant's key holds a Vary marker: expected a response".to_owned(),
                None,
                true,
            ),
            Outcome::NotStored { reason, fwd_status } => {
                if let Some((took, st, Some(response))) = own_mail {
                    // This caller's own fetch: its response goes to its client, and only there.
                    ctx.shared.metrics.count(Some(&rule), Counted::Uncacheable);
                    let mut response = response?;
                    let status = uncached(reason.to_string(), st.or(fwd_status), false);
                    let spent = started.elapsed().saturating_sub(took.unwrap_or_default());
                    status.apply(response.headers_mut(), spent, took);
                    return Ok(response);
                }
                // Another request's response was not stored: never serve it here; ask the
                // upstream for this request's own.
                uncached(reason.to_string(), None, true)
            }
            Outcome::Refused { reason } => {
                tracing::warn!(rule = %rule, key = %key, error = %reason, "http cache: the cache refused the request; passed through");
                uncached(format!("the cache refused it: {reason}"), None, false)
            }
        };
        // Not served from the cache and not stored: this request goes upstream on its own.
        return forward(
            &ctx.shared,
            ctx.svc,
            req,
            Some(&rule),
            status,
            Counted::Uncacheable,
            started,
        )
        .await;
    }
}

/// The status of a cache-decided request whose response is not from the cache and not stored.
fn uncached(reason: String, fwd_status: Option<u16>, collapsed: bool) -> Status {
    Status {
        x_cache: "MISS",
        fwd: Some("uri-miss"),
        fwd_status,
        stored: Some(false),
        collapsed,
        detail: Some(reason),
        ..Status::default()
    }
}

/// This process's flight looking `key` up (started when there is none), and this caller's
/// mailbox when it leads the flight.
fn lookup<S, ReqBody, ResBody>(
    ctx: &Ctx<S>,
    key: &str,
    expect: Expect,
) -> (Flight, Option<Mailbox<S::Error>>)
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ReqBody: Default + Send + 'static,
    ResBody: Body<Data = Bytes> + Send + 'static,
    ResBody::Error: Into<BoxError>,
{
    let mail: Mailbox<S::Error> = mailbox();
    let (flight, leader) = ctx.shared.flights.join_or_start(key, || {
        let fetch_ctx = ctx.clone();
        let fetch_mail = mail.clone();
        let fetch_key = key.to_owned();
        let cache = ctx.shared.cache.clone();
        let policy = ctx.policy.clone();
        let key = key.to_owned();
        let mail = mail.clone();
        async move {
            let compute = move || fetch(fetch_ctx, fetch_key, expect, fetch_mail);
            let got = cache
                .get_or_compute::<Stored, Unstored, _, _>(&key, &policy, compute)
                .await;
            match got {
                Ok(stored) => {
                    let m = open(&mail);
                    let fetched = m.produced.as_ref().is_some_and(|p| p.same(&stored));
                    let failed_status = if m.failed && !fetched {
                        Some(m.status.unwrap_or(502))
                    } else {
                        None
                    };
                    Outcome::Value {
                        stored,
                        fetched,
                        failed_status,
                    }
                }
                Err(ComputeError::Compute(e)) => Outcome::NotStored {
                    reason: e.reason.as_str().into(),
                    fwd_status: e.status,
                },
                Err(ComputeError::Cache(e)) => Outcome::Refused {
                    reason: e.to_string().into(),
                },
            }
        }
        .boxed()
    });
    (flight, leader.then_some(mail))
}

/// Fetches `key`'s response from the upstream for the cache: the `get_or_compute` computation.
/// A response that may not be stored is left in `mail` for the caller that asked, and the
/// computation fails (so the cache stores nothing, and other callers go upstream themselves).
async fn fetch<S, ReqBody, ResBody>(
    ctx: Ctx<S>,
    key: String,
    expect: Expect,
    mail: Mailbox<S::Error>,
) -> Result<Stored, Unstored>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ReqBody: Default + Send + 'static,
    ResBody: Body<Data = Bytes> + Send + 'static,
    ResBody::Error: Into<BoxError>,
{
    let rule = Some(ctx.action.rule.as_str());
    let metrics = &ctx.shared.metrics;
    let t = Instant::now();
    let res = ctx.svc.oneshot(ctx.template.request::<ReqBody>()).await;
    let took = t.elapsed();
    let leave = |response: Result<Response<CacheBody>, S::Error>, failed: bool| {
        let mut m = open(&mail);
        m.upstream = Some(took);
        m.failed = failed;
        m.response = Some(response);
    };
    let res = match res {
        Ok(r) => r,
        Err(e) => {
            metrics.upstream_error(rule);
            metrics.upstream(rule, "error", took);
            leave(Err(e), true);
            return Err(Unstored {
                reason: "the upstream call failed".to_owned(),
                status: None,
            });
        }
    };
    let status = res.status();
    open(&mail).status = Some(status.as_u16());
    if status.is_server_error() {
        metrics.upstream_error(rule);
        metrics.upstream(rule, "error", took);
        let (parts, body) = res.into_parts();
        leave(
            Ok(Response::from_parts(parts, CacheBody::stream(body))),
            true,
        );
        return Err(Unstored {
            reason: format!("the upstream answered {}", status.as_u16()),
            status: Some(status.as_u16()),
        });
    }
    let max = ctx.shared.max_body_bytes;
    if let Some(reason) = not_storable(
        status,
        res.headers(),
        &ctx.action.statuses,
        &ctx.action.rule,
        max,
    ) {
        metrics.upstream(rule, "uncacheable", took);
        let (parts, body) = res.into_parts();
        leave(
            Ok(Response::from_parts(parts, CacheBody::stream(body))),
            false,
        );
        return Err(Unstored {
            reason,
            status: Some(status.as_u16()),
        });
    }
    let (parts, body) = res.into_parts();
    let bytes = match collect_limited(body, max).await {
        Collected::Full(b) => b,
        Collected::TooLarge(body) => {
            metrics.upstream(rule, "uncacheable", took);
            leave(Ok(Response::from_parts(parts, body)), false);
            return Err(Unstored {
                reason: format!("the body is larger than {max} bytes"),
                status: Some(status.as_u16()),
            });
        }
        Collected::Failed(body, message) => {
            metrics.upstream_error(rule);
            metrics.upstream(rule, "error", took);
            leave(Ok(Response::from_parts(parts, body)), true);
            return Err(Unstored {
                reason: format!("the upstream body failed: {message}"),
                status: Some(status.as_u16()),
            });
        }
    };
    let vary = vary_names(&parts.headers).unwrap_or_default();
    let windows = Windows::from_now(ctx.windows.0, ctx.windows.1);
    let whole = |parts: http::response::Parts, bytes: Bytes| {
        Response::from_parts(parts, CacheBody::full(bytes))
    };
    let stored = match StoredResponse::new(
        status.as_u16(),
        stored_headers(&parts.headers),
        bytes.clone(),
        vary.clone(),
        windows,
    ) {
        Ok(s) => Arc::new(s),
        Err(e) => {
            metrics.upstream(rule, "uncacheable", took);
            leave(Ok(whole(parts, bytes)), false);
            return Err(Unstored {
                reason: format!("the response cannot be stored: {e}"),
                status: Some(status.as_u16()),
            });
        }
    };
    let value = match expect {
        Expect::Primary if vary.is_empty() => Stored::Response(stored),
        Expect::Primary => {
            // Stored under this request's variant key; the primary key says what to vary on.
            let vkey = variant_key(&key, &vary, &ctx.template.headers);
            let set = ctx
                .shared
                .cache
                .set(&vkey, &Stored::Response(stored), &ctx.policy)
                .await;
            if let Err(e) = set {
                metrics.upstream(rule, "uncacheable", took);
                leave(Ok(whole(parts, bytes)), false);
                return Err(Unstored {
                    reason: format!("the variant cannot be stored: {e}"),
                    status: Some(status.as_u16()),
                });
            }
            Stored::Vary(Arc::new(VaryMarker { names: vary }))
        }
        Expect::Variant { names, .. } if names == vary => Stored::Response(stored),
        Expect::Variant { primary, .. } => {
            // The upstream varies differently now: forget the marker so the next request
            // learns the new Vary.
            let _ = ctx.shared.cache.delete(&primary).await;
            metrics.upstream(rule, "uncacheable", took);
            leave(Ok(whole(parts, bytes)), false);
            return Err(Unstored {
                reason: "the upstream's Vary changed; the next request stores the new one"
                    .to_owned(),
                status: Some(status.as_u16()),
            });
        }
    };
    metrics.upstream(rule, "stored", took);
    let mut m = open(&mail);
    m.upstream = Some(took);
    m.produced = Some(value.clone());
    Ok(value)
}

/// The answer from a stored response: its headers with `Cache-Control: public,
/// max-age=<browser TTL>` (the upstream's own directives, `s-maxage` among them, and `Expires`
/// dropped: the rule decides), `Age`, and a 304 or no body where the request asks for that.
fn serve_stored(
    r: &StoredResponse,
    request: &HeaderMap,
    head: bool,
    action: &CacheAction,
    status: &Status,
    cache: Duration,
    upstream: Option<Duration>,
) -> Response<CacheBody> {
    let w = &r.wire;
    let mut headers = r.headers.clone();
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::try_from(format!("public, max-age={}", action.browser_ttl.as_secs()))
            .unwrap_or_else(|_| HeaderValue::from_static("public")),
    );
    let age = (now_ms() - w.stored_at_ms).max(0) / 1000;
    headers.insert(header::AGE, HeaderValue::from(age));
    let code = StatusCode::from_u16(w.status).unwrap_or(StatusCode::OK);
    let not_modified = code.is_success()
        && match if_none_match(request, &w.etag) {
            Some(m) => m,
            None => not_modified_since(request, w.last_modified.as_deref()),
        };
    let (code, body) = if not_modified {
        // RFC 9110 §15.4.5: the validators and caching headers, no representation metadata.
        let keep = [
            header::CACHE_CONTROL,
            header::CONTENT_LOCATION,
            header::DATE,
            header::ETAG,
            header::LAST_MODIFIED,
            header::VARY,
            header::AGE,
        ];
        let mut trimmed = HeaderMap::new();
        for name in keep {
            for v in headers.get_all(&name) {
                trimmed.append(name.clone(), v.clone());
            }
        }
        headers = trimmed;
        (StatusCode::NOT_MODIFIED, CacheBody::empty())
    } else {
        let body = if head {
            CacheBody::empty()
        } else {
            CacheBody::full(w.body.clone())
        };
        (code, body)
    };
    status.apply(&mut headers, cache, upstream);
    let mut res = Response::new(body);
    *res.status_mut() = code;
    *res.headers_mut() = headers;
    res
}
