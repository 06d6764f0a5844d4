//! The one error form of `anp serve`: every 4xx and 5xx answer carries `{"error": {"op",
//! "kind", "message", "retry_safe"}}`, the object `anp --json` prints when a command fails
//! (less its `exit_code`; the HTTP status says the same). `kind` is the library's
//! [`ErrorKind`] name, or `unauthorized` for a missing or wrong token.

use alphanode::{Error, ErrorKind};
use axum::extract::Request;
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;

/// An error as an HTTP response: the status from its kind unless told, the body in the form.
#[derive(Debug)]
pub(super) struct ApiError {
    /// The HTTP status.
    status: StatusCode,
    /// `kind` in the body: the error's kind, or `unauthorized`.
    kind: &'static str,
    /// What failed, what was expected, whether a retry may succeed.
    error: Error,
}

impl From<Error> for ApiError {
    fn from(error: Error) -> Self {
        let status = match error.kind() {
            ErrorKind::InvalidInput => StatusCode::BAD_REQUEST,
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::Conflict | ErrorKind::LeaseLost => StatusCode::CONFLICT,
            ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError {
            status,
            kind: error.kind().as_str(),
            error,
        }
    }
}

impl ApiError {
    /// `error` answered with `status` rather than its kind's.
    pub(super) fn with_status(error: Error, status: StatusCode) -> ApiError {
        ApiError {
            status,
            ..ApiError::from(error)
        }
    }

    /// A refused token: 401 (missing or wrong) or 403 (actions disabled), kind `unauthorized`.
    pub(super) fn unauthorized(status: StatusCode, message: &str) -> ApiError {
        ApiError {
            status,
            kind: "unauthorized",
            error: Error::invalid("authorization", message),
        }
    }

    /// The HTTP status it answers with.
    pub(super) fn status(&self) -> StatusCode {
        self.status
    }

    /// The body: `{"error": {…}}`.
    pub(super) fn body(&self) -> serde_json::Value {
        let e = &self.error;
        crate::wire::error_body(e.op(), self.kind, e.message(), e.retry_safe(), None)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut res = (self.status, Json(self.body())).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            res.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
        }
        res
    }
}

/// What every endpoint returns.
pub(super) type ApiResult = Result<Response, ApiError>;

/// `v` as a 200 JSON response.
pub(super) fn ok<T: serde::Serialize>(v: T) -> ApiResult {
    Ok(Json(v).into_response())
}

/// `v` as a JSON response with `status` (201 for something created).
pub(super) fn with_status<T: serde::Serialize>(status: StatusCode, v: T) -> ApiResult {
    Ok((status, Json(v)).into_response())
}

/// Puts the answers axum gives on its own into the form: no such endpoint (404), a method the
/// endpoint does not take (405, with its `Allow` header kept and named in the message), and
/// any other error that is not JSON yet (its text becomes the message). Runs around the whole
/// router, so it sees `Allow` as axum sets it.
pub(super) async fn json_errors(req: Request, next: Next) -> Response {
    let (method, path) = (req.method().clone(), req.uri().path().to_owned());
    let res = next.run(req).await;
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error())
        || is_json(res.headers())
        || is_html(res.headers())
    {
        return res;
    }
    let allow = res.headers().get(header::ALLOW).cloned();
    let error = match status {
        StatusCode::NOT_FOUND => Error::not_found(
            "route",
            format!("no endpoint {method} {path}: expected a dashboard page (/, /queues, /jobs, …; docs/dashboard.md), /healthz, /metrics or an /api/ endpoint listed in README.md (\"anp serve\")"),
        ),
        StatusCode::METHOD_NOT_ALLOWED => Error::invalid(
            "route",
            format!(
                "{path} does not take {method}: expected {}",
                allow
                    .as_ref()
                    .and_then(|a| a.to_str().ok())
                    .filter(|a| !a.is_empty())
                    .unwrap_or("another method")
            ),
        ),
        _ => {
            let text = axum::body::to_bytes(res.into_body(), 4096)
                .await
                .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
                .unwrap_or_default();
            let reason = status.canonical_reason().unwrap_or("error");
            let message = if text.is_empty() {
                reason.to_owned()
            } else {
                text
            };
            let retry_safe = status == StatusCode::SERVICE_UNAVAILABLE;
            let kind = if status.is_client_error() {
                ErrorKind::InvalidInput
            } else {
                ErrorKind::Internal
            };
            Error::new("http", kind, message, retry_safe)
        }
    };
    let mut out = ApiError::with_status(error, status).into_response();
    if let Some(a) = allow {
        out.headers_mut().insert(header::ALLOW, a);
    }
    out
}

/// True when the response is a dashboard page (its own error page).
fn is_html(h: &HeaderMap) -> bool {
    h.get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"))
}

/// True when the response already says it is JSON.
fn is_json(h: &HeaderMap) -> bool {
    h.get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}
