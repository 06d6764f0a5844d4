//! What a request may bring, checked before a handler acts, every refusal in the error form:
//! the body size ([`limit_body`], 413), the query string ([`QueryParams`], [`NoQuery`]), path
//! parameters ([`PathText`]) and JSON bodies ([`json_body`]), each 400 naming what was
//! expected.

use std::collections::BTreeMap;
use std::future::poll_fn;
use std::pin::Pin;
use std::time::Duration;

use alphanode::Error;
use axum::body::{Body, Bytes, HttpBody};
use axum::extract::path::ErrorKind as PathErrorKind;
use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// Request bodies above this are refused (413), on every route.
const BODY_LIMIT: usize = 64 * 1024;

/// How much of a refused request's body is read and dropped before the answer…
const DRAIN_MAX: u64 = 1024 * 1024;
/// …and for how long at most.
const DRAIN_TIME: Duration = Duration::from_secs(5);

/// Refuses a body over [`BODY_LIMIT`] with 413: before keeping any of it when `Content-Length`
/// says so, else as soon as the body read so far passes it; either way the rest is [`drain`]ed
/// before the answer. The body is read whole (at most 64 KiB) before the handler runs, so a route that
/// never reads its body refuses an oversized one all the same.
pub(super) async fn limit_body(req: Request, next: Next) -> Response {
    let (parts, mut body) = req.into_parts();
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if let Some(n) = declared.filter(|n| *n > BODY_LIMIT as u64) {
        if n <= DRAIN_MAX {
            drain(body).await;
        }
        return too_large(&format!("{n} bytes")).into_response();
    }
    let mut buf = Vec::new();
    while let Some(frame) = next_frame(&mut body).await {
        let data = match frame {
            Ok(d) => d,
            Err(e) => {
                return ApiError::from(Error::invalid(
                    "request body",
                    format!("cannot be read: {e}: expected a complete body"),
                ))
                .into_response()
            }
        };
        if let Some(data) = data {
            if buf.len() + data.len() > BODY_LIMIT {
                drain(body).await;
                return too_large(&format!("more than {BODY_LIMIT} bytes")).into_response();
            }
            buf.extend_from_slice(&data);
        }
    }
    next.run(Request::from_parts(parts, Body::from(buf))).await
}

/// The body's next frame: its data (`None` for a trailers frame), or `None` at the end.
async fn next_frame(body: &mut Body) -> Option<Result<Option<Bytes>, axum::Error>> {
    poll_fn(|cx| Pin::new(&mut *body).poll_frame(cx))
        .await
        .map(|frame| frame.map(|f| f.into_data().ok()))
}

/// Reads and drops what is left of a refused request's body (at most 1 MiB, for at most 5 s),
/// so a client still sending it reads the answer rather than a reset connection.
pub(super) async fn drain(mut body: Body) {
    let read = async {
        let mut seen = 0u64;
        while let Some(Ok(data)) = next_frame(&mut body).await {
            seen += data.map_or(0, |d| d.len() as u64);
            if seen > DRAIN_MAX {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(DRAIN_TIME, read).await;
}

/// The inner router's answer to a path it does not know (404) or a method the path does not
/// take (405), the body drained; `error::json_errors` writes the message.
pub(super) async fn refuse(status: StatusCode, req: Request) -> StatusCode {
    drain(req.into_body()).await;
    status
}

/// 413 for a body of `size`.
fn too_large(size: &str) -> ApiError {
    ApiError::with_status(
        Error::invalid(
            "request body",
            format!(
                "{size} is too large: expected at most {BODY_LIMIT} bytes (64 KiB); nothing was done"
            ),
        ),
        StatusCode::PAYLOAD_TOO_LARGE,
    )
}

/// Parses a JSON body for `op`; a bad one is 400 saying `expected`.
pub(super) fn json_body<T: DeserializeOwned>(
    op: &str,
    body: &[u8],
    expected: &str,
) -> Result<T, Error> {
    serde_json::from_slice(body).map_err(|e| {
        Error::invalid(
            op.to_owned(),
            format!("the JSON body is invalid ({e}): expected {expected}"),
        )
    })
}

/// A path parameter as text: one that is not UTF-8 once percent-decoded is refused (400).
#[derive(Debug)]
pub(super) struct PathText(pub String);

impl<S: Send + Sync> FromRequestParts<S> for PathText {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Path::<String>::from_request_parts(parts, state).await {
            Ok(Path(s)) => Ok(PathText(s)),
            Err(PathRejection::FailedToDeserializePathParams(e)) => {
                let message = match e.kind() {
                    PathErrorKind::InvalidUtf8InPathParam { key } => format!(
                        "{{{key}}} is not UTF-8 once percent-decoded: expected percent-encoded UTF-8 text"
                    ),
                    _ => format!("{}: expected one percent-encoded segment", e.body_text()),
                };
                Err(Error::invalid("path", message).into())
            }
            Err(e) => Err(Error::internal("path", e.body_text()).into()),
        }
    }
}

/// The query string's parameters, in order; [`QueryParams::only`] checks their names.
#[derive(Debug)]
pub(super) struct QueryParams(Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for QueryParams {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Query::<Vec<(String, String)>>::from_request_parts(parts, state)
            .await
            .map(|Query(pairs)| QueryParams(pairs))
            .map_err(|e| {
                Error::invalid(
                    "query string",
                    format!("{}: expected name=value pairs joined by &", e.body_text()),
                )
                .into()
            })
    }
}

impl QueryParams {
    /// The parameters by name, when each is one of `accepted` and given once; otherwise 400
    /// naming the accepted ones.
    pub(super) fn only(self, accepted: &[&'static str]) -> Result<Params, Error> {
        let mut by_name = BTreeMap::new();
        for (name, value) in self.0 {
            let Some(known) = accepted.iter().find(|a| **a == name) else {
                let expected = if accepted.is_empty() {
                    "no parameters".to_owned()
                } else {
                    format!("one of {}", accepted.join(", "))
                };
                return Err(Error::invalid(
                    "query string",
                    format!("parameter {name:?} is unknown: expected {expected}"),
                ));
            };
            if by_name.insert(*known, value).is_some() {
                return Err(Error::invalid(
                    "query string",
                    format!("parameter {name:?} is given twice: expected it once"),
                ));
            }
        }
        Ok(Params(by_name))
    }
}

/// Checked query parameters, taken one by one.
#[derive(Debug)]
pub(super) struct Params(BTreeMap<&'static str, String>);

impl Params {
    /// The value of `name`, if given.
    pub(super) fn take(&mut self, name: &str) -> Option<String> {
        self.0.remove(name)
    }

    /// A count between 1 and `max` (`default` when not given), e.g. `limit`.
    pub(super) fn count(&mut self, name: &str, default: u32, max: u32) -> Result<u32, Error> {
        let Some(v) = self.take(name) else {
            return Ok(default);
        };
        match v.parse::<u32>() {
            Ok(n) if (1..=max).contains(&n) => Ok(n),
            _ => Err(Error::invalid(
                "query string",
                format!("{name} {v:?} is invalid: expected a whole number 1-{max}"),
            )),
        }
    }
}

/// An endpoint that takes no query parameters: any is refused (400).
#[derive(Debug)]
pub(super) struct NoQuery;

impl<S: Send + Sync> FromRequestParts<S> for NoQuery {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        QueryParams::from_request_parts(parts, state)
            .await?
            .only(&[])?;
        Ok(NoQuery)
    }
}
