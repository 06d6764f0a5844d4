//! Who may act, and what every response says to the browser.
//!
//! Actions need `Authorization: Bearer $ANP_TOKEN` (at least 16 characters, compared in
//! constant time); with no token configured every action is refused (403). A bearer header is
//! never attached by a browser on its own, so a cross-site form, image or script cannot forge
//! an action (CSRF): the token must never move into a cookie or a URL. Every response carries
//! `X-Content-Type-Options: nosniff`, `X-Frame-Options: DENY`, `Cache-Control: no-store`,
//! `Referrer-Policy: no-referrer` and a `Content-Security-Policy` that allows nothing
//! (docs/security.md) — except dashboard pages, which set their own (the served script and
//! stylesheet only). The dashboard's own sign-in (a session cookie holding a random id, never the
//! token, plus a CSRF token per form) is in `dashboard/session.rs`.

use alphanode::Error;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use super::input::drain;
use super::{App, Shared};

/// The shortest `ANP_TOKEN` accepted.
const MIN_TOKEN_LEN: usize = 16;

/// `ANP_TOKEN` (unset or empty: `None`); `InvalidInput` when it is too short to be a secret.
pub(super) fn token_from_env() -> Result<Option<String>, Error> {
    let token = std::env::var("ANP_TOKEN").ok().filter(|t| !t.is_empty());
    if token.as_ref().is_some_and(|t| t.len() < MIN_TOKEN_LEN) {
        return Err(Error::invalid(
            "ANP_TOKEN",
            format!("is too short: expected at least {MIN_TOKEN_LEN} characters"),
        ));
    }
    Ok(token)
}

/// Whether a request may act: `Ok` when it carries the configured bearer token.
fn authorize(headers: &HeaderMap, app: &App) -> Result<(), ApiError> {
    let Some(token) = &app.token else {
        return Err(ApiError::unauthorized(
            StatusCode::FORBIDDEN,
            "actions are disabled: start anp serve with ANP_TOKEN set",
        ));
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match given {
        Some(g) if same(g.as_bytes(), token.as_bytes()) => Ok(()),
        _ => Err(ApiError::unauthorized(
            StatusCode::UNAUTHORIZED,
            "missing or wrong bearer token: expected Authorization: Bearer $ANP_TOKEN",
        )),
    }
}

/// The middleware in front of every action: a request without the token is refused (401, or
/// 403 when no token is configured) before its path, query or body is looked at (the body is
/// drained, so a client still sending it reads the answer).
pub(super) async fn guard(State(app): State<Shared>, req: Request, next: Next) -> Response {
    match authorize(req.headers(), &app) {
        Ok(()) => next.run(req).await,
        Err(refused) => {
            drain(req.into_body()).await;
            refused.into_response()
        }
    }
}

/// Records an API action that passed the guard in the audit log as `api token`: what
/// (`POST /api/jobs/{id}/retry`, the route), on which path, and its HTTP status. A failure to
/// record is logged; the answer is unchanged.
pub(super) async fn audited(State(app): State<Shared>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map(|m| m.as_str().to_owned())
        .unwrap_or_default();
    let what = format!("{} {route}", req.method());
    let target = req.uri().path().to_owned();
    let res = next.run(req).await;
    let status = res.status();
    let result = if status.is_success() {
        format!("ok: HTTP {}", status.as_u16())
    } else {
        format!("error: HTTP {}", status.as_u16())
    };
    if let Err(e) = app
        .admin
        .audit_record("api token", &what, &target, &result)
        .await
    {
        tracing::warn!(error = %e, what, "could not record an API action in the audit log");
    }
    res
}

/// Constant-time comparison, so response timing says nothing about the token.
pub(super) fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Adds the security headers to every response.
pub(super) async fn security_headers(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // Dashboard pages set their own (scripts and styles from 'self'); everything else allows
    // nothing.
    if !h.contains_key("content-security-policy") {
        h.insert(
            "content-security-policy",
            HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
        );
    }
    h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    r
}

#[cfg(test)]
mod tests {
    use super::same;

    #[test]
    fn same_compares_whole_tokens() {
        assert!(same(b"0123456789abcdef", b"0123456789abcdef"));
        assert!(!same(b"0123456789abcdef", b"0123456789abcdeF"));
        assert!(!same(b"0123456789abcdef", b"0123456789abcde"));
        assert!(!same(b"", b"x"));
    }
}
