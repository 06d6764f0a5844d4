//! [`LayerMetrics`]: per-rule counters and the upstream time histogram, as Prometheus text.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, RwLock};
use std::time::Duration;

use alphanode::cache::{Cache, RequestOutcome};

use prometheus_client::encoding::{prometheus_text, text, EncodeLabelSet};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

/// The rule label of a request no rule matched.
const NO_RULE: &str = "none";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Labels {
    rule: String,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RuleLabel {
    rule: String,
}

type Seconds = Family<Labels, Histogram, fn() -> Histogram>;

fn seconds_histogram() -> Histogram {
    // 0.5 ms … ~8 s, doubling.
    Histogram::new(exponential_buckets(0.0005, 2.0, 15))
}

/// Counters of one [`CacheLayer`](super::CacheLayer) (every service it made), cheap to clone.
/// Families, each labelled with the deciding `rule` (`none` when no rule matched):
///
/// - `anp_http_cache_requests_total{rule, outcome}`: answers by outcome — `hit`, `miss`
///   (fetched and stored), `stale` (served stale: while revalidating, or because the upstream
///   failed), `bypass` (the rules passed it through), `uncacheable` (a cache rule matched but
///   the response could not be stored, e.g. it set a cookie: passed to that client only).
/// - `anp_http_cache_upstream_errors_total{rule}`: upstream 5xx answers and failed calls.
/// - `anp_http_cache_upstream_seconds{rule, outcome}`: time to the upstream's response head,
///   by what became of it: `stored`, `uncacheable`, `error`, `bypass`.
#[derive(Clone, Debug)]
pub struct LayerMetrics {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    registry: Registry,
    requests: Family<Labels, Counter>,
    /// The `requests` counters of each rule, by [`Outcome`] index, looked up by `&str`: the
    /// per-request count is a map read and an atomic add (the family's lookup wants an owned
    /// label set). Rule names come from the rules file and the built-in bypasses: bounded.
    by_rule: RwLock<HashMap<String, Arc<RuleCounters>>>,
    upstream_errors: Family<RuleLabel, Counter>,
    upstream_seconds: Seconds,
    /// Where the same counts go for `anp status` / `anp cache stats`: the layer's namespace,
    /// flushed to the store with its other counts and summed over every process.
    recorder: Option<Cache>,
}

impl Default for LayerMetrics {
    fn default() -> Self {
        LayerMetrics::new()
    }
}

/// One rule's request counters, created in the family on first use (an outcome never seen is
/// not rendered).
type RuleCounters = [OnceLock<Counter>; 5];

/// One outcome of a request, as counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    Hit,
    Miss,
    Stale,
    Bypass,
    Uncacheable,
}

impl Outcome {
    fn index(self) -> usize {
        match self {
            Outcome::Hit => 0,
            Outcome::Miss => 1,
            Outcome::Stale => 2,
            Outcome::Bypass => 3,
            Outcome::Uncacheable => 4,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Outcome::Hit => "hit",
            Outcome::Miss => "miss",
            Outcome::Stale => "stale",
            Outcome::Bypass => "bypass",
            Outcome::Uncacheable => "uncacheable",
        }
    }
}

impl LayerMetrics {
    /// Empty counters.
    pub fn new() -> LayerMetrics {
        let mut registry = Registry::default();
        let requests = Family::<Labels, Counter>::default();
        let upstream_errors = Family::<RuleLabel, Counter>::default();
        let upstream_seconds: Seconds = Family::new_with_constructor(seconds_histogram);
        registry.register(
            "anp_http_cache_requests",
            "Responses of the HTTP cache layer by rule and outcome (hit, miss, stale, bypass, uncacheable)",
            requests.clone(),
        );
        registry.register(
            "anp_http_cache_upstream_errors",
            "Upstream 5xx answers and failed upstream calls, by rule",
            upstream_errors.clone(),
        );
        registry.register(
            "anp_http_cache_upstream_seconds",
            "Time to the upstream's response head, by rule and what became of the response (stored, uncacheable, error, bypass)",
            upstream_seconds.clone(),
        );
        LayerMetrics {
            inner: Arc::new(Inner {
                registry,
                requests,
                by_rule: RwLock::default(),
                upstream_errors,
                upstream_seconds,
                recorder: None,
            }),
        }
    }

    /// Counters that also record every request in `cache`'s namespace statistics
    /// ([`Cache::record_request`]).
    pub(crate) fn recording_to(cache: Cache) -> LayerMetrics {
        let mut m = LayerMetrics::new();
        if let Some(inner) = Arc::get_mut(&mut m.inner) {
            inner.recorder = Some(cache);
        }
        m
    }

    pub(crate) fn count(&self, rule: Option<&str>, outcome: Outcome) {
        if let Some(cache) = &self.inner.recorder {
            let o = match outcome {
                Outcome::Hit => RequestOutcome::Hit,
                Outcome::Miss => RequestOutcome::Miss,
                Outcome::Stale => RequestOutcome::Stale,
                Outcome::Bypass => RequestOutcome::Bypass,
                Outcome::Uncacheable => RequestOutcome::Uncacheable,
            };
            cache.record_request(rule.unwrap_or(NO_RULE), Some(o), None);
        }
        let rule = rule.unwrap_or(NO_RULE);
        let known = self
            .inner
            .by_rule
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(rule)
            .cloned();
        let counters = match known {
            Some(c) => c,
            None => self
                .inner
                .by_rule
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .entry(rule.to_owned())
                .or_default()
                .clone(),
        };
        counters[outcome.index()]
            .get_or_init(|| {
                self.inner
                    .requests
                    .get_or_create(&Labels {
                        rule: rule.to_owned(),
                        outcome: outcome.label(),
                    })
                    .clone()
            })
            .inc();
    }

    pub(crate) fn upstream(&self, rule: Option<&str>, outcome: &'static str, took: Duration) {
        if let Some(cache) = &self.inner.recorder {
            // Every failed call is reported here with outcome "error" (and to
            // `upstream_error` for the Prometheus counter): counted once.
            cache.record_request(
                rule.unwrap_or(NO_RULE),
                None,
                Some((took, outcome == "error")),
            );
        }
        self.inner
            .upstream_seconds
            .get_or_create(&Labels {
                rule: rule.unwrap_or(NO_RULE).to_owned(),
                outcome,
            })
            .observe(took.as_secs_f64());
    }

    pub(crate) fn upstream_error(&self, rule: Option<&str>) {
        self.inner
            .upstream_errors
            .get_or_create(&RuleLabel {
                rule: rule.unwrap_or(NO_RULE).to_owned(),
            })
            .inc();
    }

    /// The counters in the Prometheus text format 0.0.4 (`Content-Type`:
    /// [`LayerMetrics::PROMETHEUS_CONTENT_TYPE`]).
    pub fn render_prometheus(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail; an encoder error would leave what was written.
        let _ = prometheus_text::encode(&mut out, &self.inner.registry);
        out
    }

    /// The counters in the OpenMetrics 1.0 text format, `# EOF` included (`Content-Type`:
    /// [`LayerMetrics::OPENMETRICS_CONTENT_TYPE`]).
    pub fn render_openmetrics(&self) -> String {
        let mut out = String::new();
        let _ = text::encode(&mut out, &self.inner.registry);
        out
    }

    /// `Content-Type` of [`LayerMetrics::render_prometheus`].
    pub const PROMETHEUS_CONTENT_TYPE: &'static str = prometheus_text::CONTENT_TYPE;
    /// `Content-Type` of [`LayerMetrics::render_openmetrics`].
    pub const OPENMETRICS_CONTENT_TYPE: &'static str =
        "application/openmetrics-text; version=1.0.0; charset=utf-8";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_by_rule_and_outcome() {
        let m = LayerMetrics::new();
        m.count(Some("static"), Outcome::Hit);
        m.count(Some("static"), Outcome::Hit);
        m.count(None, Outcome::Bypass);
        m.upstream(Some("static"), "stored", Duration::from_millis(3));
        m.upstream_error(Some("static"));
        let text = m.render_prometheus();
        assert!(
            text.contains(r#"anp_http_cache_requests_total{rule="static",outcome="hit"} 2"#),
            "{text}"
        );
        assert!(text.contains(r#"anp_http_cache_requests_total{rule="none",outcome="bypass"} 1"#));
        assert!(text.contains(r#"anp_http_cache_upstream_errors_total{rule="static"} 1"#));
        assert!(text.contains(
            r#"anp_http_cache_upstream_seconds_count{rule="static",outcome="stored"} 1"#
        ));
        assert!(m.render_openmetrics().ends_with("# EOF\n"));
    }
}
