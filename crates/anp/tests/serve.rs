//! A real `anp serve` process: every endpoint over HTTP, /metrics through a Prometheus parser
//! and as OpenMetrics, actions refused without the token, /healthz on a Redis store.

#[path = "../../anp-redis/tests/common/mod.rs"]
mod common;
mod serve_support;

use std::process::{Command, Stdio};

use anp_core::Store;
use serve_support::{get_json, sqlite_with_one_job, start, start_on};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_answers_and_actions_need_the_token() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let db = dir.path().join("anp.db");
    let (store, id) = sqlite_with_one_job(&db).await;
    let token = "s3cret-token-0123456789";
    let (_server, base) = start(&db, Some(token)).await;
    let c = reqwest::Client::new();

    let r = c
        .get(format!("{base}/healthz"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()
            .get("x-content-type-options")
            .map(|v| v.as_bytes()),
        Some(&b"nosniff"[..])
    );
    assert_eq!(
        r.headers().get("x-frame-options").map(|v| v.as_bytes()),
        Some(&b"DENY"[..])
    );
    assert!(r.headers().get("content-security-policy").is_some());
    let h: serde_json::Value = r.json().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(h["status"], "ok");
    assert_eq!(h["backend"], "sqlite");
    assert_eq!(h["schema_version"], h["expected_schema_version"], "{h}");

    for path in [
        "/api/status",
        "/api/queues",
        "/api/jobs",
        "/api/jobs?state=available&queue=default",
        &format!("/api/jobs/{id}"),
        "/api/schedules",
        "/api/workers",
        "/api/deploys",
    ] {
        let r = c
            .get(format!("{base}{path}"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.status(), 200, "{path}");
        let _: serde_json::Value = r.json().await.unwrap_or_else(|e| panic!("{path}: {e}"));
    }
    let (_, st) = get_json(&c, &format!("{base}/api/status")).await;
    for key in ["up", "slow", "failing", "deploy"] {
        assert!(st.get(key).is_some(), "status lacks {key}");
    }
    let r = c
        .get(format!("{base}/api/jobs/not-an-id"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 400);
    let r = c
        .get(format!(
            "{base}/api/jobs/01a213da-1ef9-7031-845b-0ca929d22533"
        ))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 404);

    // /metrics parses as Prometheus text and has the job gauges.
    let r = c
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        r.headers().get("content-type").map(|v| v.as_bytes()),
        Some(&b"text/plain; version=0.0.4; charset=utf-8"[..])
    );
    let text = r.text().await.unwrap_or_else(|e| panic!("{e}"));
    let lines = text.lines().map(|l| Ok(l.to_owned()));
    let scrape = prometheus_parse::Scrape::parse(lines).unwrap_or_else(|e| panic!("{e}"));
    let available = scrape
        .samples
        .iter()
        .find(|s| {
            s.metric == "anp_jobs"
                && s.labels.get("queue") == Some("default")
                && s.labels.get("state") == Some("available")
        })
        .unwrap_or_else(|| panic!("no anp_jobs sample in:\n{text}"));
    assert!(
        matches!(available.value, prometheus_parse::Value::Gauge(v) if v == 1.0),
        "{:?}",
        available.value
    );
    assert!(
        scrape
            .samples
            .iter()
            .any(|s| s.metric == "anp_jobs_enqueued_total"),
        "{text}"
    );
    assert!(
        scrape.samples.iter().any(|s| s.metric == "anp_processes"),
        "{text}"
    );
    for family in [
        "# TYPE anp_queue_depth gauge",
        "# TYPE anp_queue_oldest_available_age_seconds gauge",
        "# TYPE anp_queue_paused gauge",
        "# TYPE anp_jobs_completed_total counter",
        "# TYPE anp_jobs_failed_total counter",
        "# TYPE anp_jobs_dead_total counter",
        "# TYPE anp_job_run_seconds histogram",
        "# TYPE anp_job_wait_seconds histogram",
        "# TYPE anp_schedule_last_tick_timestamp_seconds gauge",
        "# TYPE anp_schedule_lag_seconds gauge",
        "# TYPE anp_store_operation_seconds gauge",
    ] {
        assert!(text.contains(family), "{family} missing from:\n{text}");
    }

    // A scraper that prefers OpenMetrics (as Prometheus does) gets it.
    let r = c
        .get(format!("{base}/metrics"))
        .header(
            "accept",
            "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
        )
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let ct = r
        .headers()
        .get("content-type")
        .map(|v| v.as_bytes().to_vec());
    assert_eq!(
        ct.as_deref(),
        Some(&b"application/openmetrics-text; version=1.0.0; charset=utf-8"[..])
    );
    let om = r.text().await.unwrap_or_else(|e| panic!("{e}"));
    assert!(om.ends_with("# EOF\n"), "{om}");
    assert!(om.contains("# TYPE anp_jobs_enqueued counter\n"), "{om}");
    assert!(
        om.contains("anp_jobs{queue=\"default\",state=\"available\"} 1\n"),
        "{om}"
    );

    // Actions: refused without or with a wrong token; done with it.
    let actions = [
        format!("/api/jobs/{id}/cancel"),
        "/api/queues/default/pause".to_owned(),
        "/api/queues/default/resume".to_owned(),
    ];
    for path in &actions {
        let r = c
            .post(format!("{base}{path}"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.status(), 401, "{path} without a token");
        let r = c
            .post(format!("{base}{path}"))
            .bearer_auth("wrong-token-0123456789")
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.status(), 401, "{path} with a wrong token");
    }
    let r = c
        .post(format!("{base}/api/deploys"))
        .json(&serde_json::json!({"version": "v1"}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 401);
    assert_eq!(
        store.job_get(id).await.map(|j| j.state).ok(),
        Some(anp_core::JobState::Available),
        "refused actions changed nothing"
    );
    for path in &actions {
        let r = c
            .post(format!("{base}{path}"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.status(), 200, "{path} with the token");
    }
    assert_eq!(
        store.job_get(id).await.map(|j| j.state).ok(),
        Some(anp_core::JobState::Cancelled)
    );
    let r = c
        .post(format!("{base}/api/jobs/{id}/retry"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 200);
    let r = c
        .post(format!("{base}/api/deploys"))
        .bearer_auth(token)
        .json(&serde_json::json!({"version": "v2", "rollback": "deploy v1"}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 201);
    assert_eq!(
        store
            .deploy_list(1)
            .await
            .map(|l| l[0].version.clone())
            .ok(),
        Some("v2".into())
    );
    let big = "x".repeat(100 * 1024);
    let r = c
        .post(format!("{base}/api/deploys"))
        .bearer_auth(token)
        .body(big)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 413, "bodies over 64 KiB are refused");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_token_actions_are_disabled() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let db = dir.path().join("anp.db");
    let (_server, base) = start(&db, None).await;
    let r = reqwest::Client::new()
        .post(format!("{base}/api/queues/default/pause"))
        .bearer_auth("anything-at-all-123456")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 403);
}

/// /healthz reads the Redis key-layout version too: a store holding another one is 503.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_checks_the_redis_layout_version() {
    let redis = common::RedisServer::start();
    let (_server, base) = start_on(&format!("redis://127.0.0.1:{}", redis.port), None).await;
    let c = reqwest::Client::new();
    let (status, h) = get_json(&c, &format!("{base}/healthz")).await;
    assert_eq!(status, 200, "{h}");
    assert_eq!(h["status"], "ok", "{h}");
    assert_eq!(h["backend"], "redis", "{h}");
    let set = Command::new("redis-cli")
        .args(["-p", &redis.port.to_string(), "SET", "anp:schema", "99"])
        .stdout(Stdio::null())
        .status()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(set.success());
    let (status, h) = get_json(&c, &format!("{base}/healthz")).await;
    assert_eq!(status, 503, "{h}");
    assert_eq!(h["status"], "unavailable", "{h}");
    assert!(
        h["reason"].as_str().is_some_and(|r| r.contains("99")),
        "{h}"
    );
}
