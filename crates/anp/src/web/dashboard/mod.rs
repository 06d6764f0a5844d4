//! The web dashboard of `anp serve`: server-rendered pages (askama templates under
//! `crates/anp/templates/`), one served stylesheet and one small script (`crates/anp/assets/`,
//! compiled in), for on-call people who look before they type. Pages read through
//! [`alphanode::Admin`] only; they work without JavaScript (forms post normally), the script
//! adds live figures, local times and an error collector.
//!
//! # Layout
//! - `mod.rs`: the routes, the page frame every template shares ([`Frame`]), rendering, the
//!   dashboard's security headers and its HTML error page.
//! - `session.rs`: the login form, session cookies and CSRF tokens, who an action is recorded as.
//! - `live.rs`: the one shared snapshot behind `/ui/live.json` and the overview, read from the
//!   store at most once per interval however many tabs poll.
//! - `pages.rs`: the read-only pages.
//! - `actions.rs`: the actions (retry, cancel, delete, bulk retry, pause, resume, trigger,
//!   purge), each refused without a session and its CSRF token, each recorded in the audit log.
//! - `chart.rs`: the overview's inline SVG charts with deploy markers.
//!
//! docs/dashboard.md describes the pages, the security model, `--base-path` and the cost of
//! live updates.

mod actions;
mod chart;
pub(super) mod live;
mod pages;
pub(super) mod session;

use askama::Template;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

use super::Shared;

/// The dashboard pages' Content-Security-Policy: the served script and stylesheet only, no
/// inline code, no framing, forms only to this origin.
pub(super) const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; \
     base-uri 'none'";

/// The stylesheet, compiled in.
const CSS: &str = include_str!("../../../assets/dashboard.css");
/// The script, compiled in.
const JS: &str = include_str!("../../../assets/dashboard.js");

/// The dashboard's routes (relative to `--base-path`).
pub(super) fn routes() -> Router<Shared> {
    Router::new()
        .route("/", get(pages::overview))
        .route("/queues", get(pages::queues))
        .route("/jobs", get(pages::jobs))
        .route("/jobs/{id}", get(pages::job))
        .route("/schedules", get(pages::schedules))
        .route("/schedules/{name}", get(pages::schedule))
        .route("/workers", get(pages::workers))
        .route("/deploys", get(pages::deploys))
        .route("/cache", get(pages::cache))
        .route("/audit", get(pages::audit))
        .route("/login", get(session::login_page).post(session::login))
        .route("/logout", post(session::logout))
        .route("/ui/live.json", get(live::live_json))
        .route("/ui/jobs/{id}/retry", post(actions::job_retry))
        .route("/ui/jobs/{id}/cancel", post(actions::job_cancel))
        .route("/ui/jobs/{id}/delete", post(actions::job_delete))
        .route(
            "/ui/jobs/retry-dead",
            get(actions::retry_dead_confirm).post(actions::retry_dead),
        )
        .route("/ui/queues/{queue}/pause", post(actions::queue_pause))
        .route("/ui/queues/{queue}/resume", post(actions::queue_resume))
        .route(
            "/ui/schedules/{name}/trigger",
            post(actions::schedule_trigger),
        )
        .route("/ui/schedules/{name}/pause", post(actions::schedule_pause))
        .route(
            "/ui/schedules/{name}/resume",
            post(actions::schedule_resume),
        )
        .route("/ui/cache/purge", post(actions::cache_purge))
        .route("/assets/dashboard.css", get(css))
        .route("/assets/dashboard.js", get(js))
}

/// `GET /assets/dashboard.css`.
async fn css() -> Response {
    asset(CSS, "text/css; charset=utf-8")
}

/// `GET /assets/dashboard.js`.
async fn js() -> Response {
    asset(JS, "text/javascript; charset=utf-8")
}

/// A compiled-in asset.
fn asset(body: &'static str, kind: &'static str) -> Response {
    let mut r = body.into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    r
}

/// What every page's frame (`base.html`) shows: where the dashboard is mounted, which tab is
/// current, whether an operator is signed in (and the CSRF token their forms carry).
#[derive(Debug, Clone)]
pub(super) struct Frame {
    /// `--base-path` ("" at the root); every link, form and asset starts with it.
    pub(super) base: String,
    /// The page's title and current tab.
    pub(super) title: String,
    /// The nav entry to mark current (`overview`, `queues`, …).
    pub(super) tab: &'static str,
    /// The session's CSRF token when signed in (forms then show their buttons).
    pub(super) csrf: Option<String>,
    /// The session's short id, shown next to "sign out".
    pub(super) who: Option<String>,
    /// A one-line notice (e.g. what an action did), from `?done=`.
    pub(super) notice: Option<String>,
    /// Whether actions are possible at all (`ANP_TOKEN` set).
    pub(super) actions_enabled: bool,
}

impl Frame {
    /// True when signed in: forms with actions are shown.
    pub(super) fn signed_in(&self) -> bool {
        self.csrf.is_some()
    }

    /// The CSRF token for a hidden field ("" when not signed in).
    pub(super) fn csrf_token(&self) -> &str {
        self.csrf.as_deref().unwrap_or("")
    }

    /// The overview's address: the base path itself (`/` at the root).
    pub(super) fn home(&self) -> String {
        home(&self.base)
    }

    /// The class of a nav link: `current` for this page's tab.
    pub(super) fn nav(&self, tab: &str) -> &'static str {
        if self.tab == tab {
            "current"
        } else {
            ""
        }
    }

    /// `aria-current` for a nav link.
    pub(super) fn aria(&self, tab: &str) -> &'static str {
        if self.tab == tab {
            "page"
        } else {
            "false"
        }
    }
}

/// The overview's address under `base`: `/` at the root, else `base` itself (a nested
/// router's root has no trailing slash; `base/` redirects there).
pub(super) fn home(base: &str) -> String {
    if base.is_empty() {
        "/".to_owned()
    } else {
        base.to_owned()
    }
}

/// A rendered page with the dashboard's headers.
pub(super) fn render(status: StatusCode, t: &impl Template) -> Response {
    match t.render() {
        Ok(html) => page_response(status, html),
        Err(e) => {
            tracing::error!(error = %e, "dashboard template failed");
            page_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!(
                    "<!doctype html><title>error</title><p>the page could not be rendered: {}</p>",
                    escape(&e.to_string())
                ),
            )
        }
    }
}

/// An HTML body with the dashboard's CSP (the general security headers are added around the
/// whole router; `auth::security_headers` keeps this CSP).
fn page_response(status: StatusCode, html: String) -> Response {
    let mut r = (status, Html(html)).into_response();
    r.headers_mut()
        .insert("content-security-policy", HeaderValue::from_static(CSP));
    r
}

/// The dashboard's error page.
#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    /// The frame.
    f: Frame,
    /// The HTTP status, e.g. "403 Forbidden".
    status: String,
    /// What failed, what was expected, whether a retry is safe.
    message: String,
}

/// An error page with `status` and `message`.
pub(super) fn error_page(f: Frame, status: StatusCode, message: &str) -> Response {
    let title = format!(
        "{} {}",
        status.as_u16(),
        status.canonical_reason().unwrap_or("error")
    );
    render(
        status,
        &ErrorPage {
            f: Frame {
                title: title.clone(),
                ..f
            },
            status: title,
            message: message.to_owned(),
        },
    )
}

/// A library error as an error page with its HTTP status.
pub(super) fn lib_error(f: Frame, e: alphanode::Error) -> Response {
    let message = e.to_string();
    let status = super::error::ApiError::from(e).status();
    error_page(f, status, &message)
}

/// HTML-escapes text put into hand-written markup (the SVG charts).
pub(super) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A redirect after a successful form post (303: the browser GETs the page).
pub(super) fn see_other(location: &str) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

/// Percent-encodes a query or path component.
pub(super) fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A time for people: `2026-12-06 14:05:09 UTC`, with the machine-readable instant for
/// `<time datetime>` (the script adds the viewer's zone).
pub(super) fn utc(t: jiff::Timestamp) -> String {
    t.strftime("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// A ratio as a percentage with its unit, or "–" for none.
pub(super) fn pct(r: Option<f64>) -> String {
    r.map_or_else(|| "–".to_owned(), |r| format!("{:.1} %", r * 100.0))
}

/// Milliseconds with their unit, or "–".
pub(super) fn ms(x: Option<f64>) -> String {
    x.map_or_else(
        || "–".to_owned(),
        |x| format!("{} ms", crate::output::ms(x)),
    )
}

/// A count with thousands separators: `1,204,331`.
pub(super) fn count(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{count, enc, escape};

    #[test]
    fn helpers_format_for_people() {
        assert_eq!(count(0), "0");
        assert_eq!(count(1_204_331), "1,204,331");
        assert_eq!(count(999), "999");
        assert_eq!(enc("a b/é"), "a%20b%2F%C3%A9");
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
