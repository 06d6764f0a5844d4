//! `GET /healthz`: 200 `{"status": "ok", …}` when the store answers and holds the layout this
//! build expects (the SQLite schema or the Redis key layout alike); 503 `{"status":
//! "unavailable", "reason", "error": {…}, …}` otherwise, so a load balancer or orchestrator can
//! act on it (`error` is the error form every other 4xx/5xx answer carries).

use alphanode::Error;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::error::ApiError;
use super::Shared;

/// Answers `/healthz` from [`alphanode::Admin::health`].
pub(super) async fn healthz(State(app): State<Shared>) -> Response {
    let health = match app.admin.health().await {
        Ok(h) => h,
        Err(e) => return unavailable(e, Value::Null),
    };
    let mut body = match serde_json::to_value(&health) {
        Ok(v) => v,
        Err(e) => {
            let e = Error::internal("healthz", format!("cannot encode the answer: {e}"));
            return unavailable(e, Value::Null);
        }
    };
    if !health.ok {
        let e = Error::incompatible(
            "healthz",
            format!(
                "schema version {} is not the {} this anp expects",
                health.schema_version, health.expected_schema_version
            ),
        );
        return unavailable(e, body);
    }
    if let Some(o) = body.as_object_mut() {
        o.insert("status".to_owned(), json!("ok"));
    }
    Json(body).into_response()
}

/// 503 with `status`, `reason` (the error's text), `error` and whatever else is known
/// (`details`' fields, when an object).
fn unavailable(e: Error, details: Value) -> Response {
    let reason = e.to_string();
    let mut body = ApiError::from(e).body();
    if let Some(b) = body.as_object_mut() {
        b.insert("status".to_owned(), json!("unavailable"));
        b.insert("reason".to_owned(), json!(reason));
        if let Value::Object(d) = details {
            for (k, v) in d {
                b.entry(k).or_insert(v);
            }
        }
    }
    (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
}
