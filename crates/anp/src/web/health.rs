//! `GET /healthz`: 200 `{"status": "ok", …}` when the store answers and holds the layout this
//! build expects (the SQLite schema or the Redis key layout alike); 503 `{"status":
//! "unavailable", "reason", …}` otherwise, so a load balancer or orchestrator can act on it.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::Shared;

/// Answers `/healthz` from [`alphanode::Admin::health`].
pub(super) async fn healthz(State(app): State<Shared>) -> Response {
    let health = match app.admin.health().await {
        Ok(h) => h,
        Err(e) => return unavailable(e.to_string(), Value::Null),
    };
    let mut body = match serde_json::to_value(&health) {
        Ok(v) => v,
        Err(e) => return unavailable(format!("cannot encode the answer: {e}"), Value::Null),
    };
    if !health.ok {
        let reason = format!(
            "schema version {} is not the {} this anp expects",
            health.schema_version, health.expected_schema_version
        );
        return unavailable(reason, body);
    }
    if let Some(o) = body.as_object_mut() {
        o.insert("status".to_owned(), json!("ok"));
    }
    Json(body).into_response()
}

/// 503 with `status`, `reason` and whatever else is known (`details`' fields, when an object).
fn unavailable(reason: String, details: Value) -> Response {
    let mut body = json!({"status": "unavailable", "reason": reason});
    if let (Some(b), Value::Object(d)) = (body.as_object_mut(), details) {
        for (k, v) in d {
            b.entry(k).or_insert(v);
        }
    }
    (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
}
