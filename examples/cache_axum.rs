//! A small blog in axum whose post pages are cached with alphanode: rendered once however
//! many requests arrive together, served stale while one refresh runs, tagged with the post so
//! an edit purges exactly that post's pages, and kept warm across a rollback.
//!
//! ```sh
//! cargo run -p alphanode --example cache_axum            # SQLite file cache-demo.db
//! ANP_STORE=redis://127.0.0.1:6380 cargo run -p alphanode --example cache_axum
//!
//! curl -si localhost:3000/posts/1 | grep -i x-cache   # MISS (rendered, ~300 ms)
//! curl -si localhost:3000/posts/1 | grep -i x-cache   # HIT
//! curl -s -X POST localhost:3000/posts/1 -d 'New title'   # edit → purge_tag("post:1")
//! curl -s localhost:3000/posts/1                        # the new title, rendered again
//! anp --store sqlite://cache-demo.db cache stats        # hits, misses, compute p50/p99
//! ```

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use alphanode::cache::{Cache, CacheClient, NamespaceOptions, Policy};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;

/// The "database": post id → title.
type Db = Arc<Mutex<HashMap<u64, String>>>;

#[derive(Clone)]
struct App {
    db: Db,
    pages: Cache,
}

/// Renders a post page: slow on purpose (a query and a template), and what the cache saves.
async fn render(db: Db, id: u64) -> Result<Option<String>, std::io::Error> {
    tokio::time::sleep(Duration::from_millis(300)).await;
    let title = db
        .lock()
        .map_err(|_| std::io::Error::other("db lock poisoned"))?
        .get(&id)
        .cloned();
    Ok(title.map(|t| {
        format!(
            "<h1>{t}</h1><p>post {id}, rendered at {}</p>",
            jiff::Timestamp::now()
        )
    }))
}

/// The cache rule of a post page: fresh a minute, then served stale up to ten minutes while
/// one refresh runs, or an hour if rendering fails; tagged with the post; a missing post is
/// remembered for 5 s.
fn page_policy(id: u64) -> Policy {
    Policy::fresh(Duration::from_secs(60))
        .stale_while_revalidate(Duration::from_secs(600))
        .stale_if_error(Duration::from_secs(3600))
        .tag(format!("post:{id}"))
        .negative(Duration::from_secs(5))
        .jitter(0.1)
}

async fn show(State(app): State<App>, Path(id): Path<u64>) -> Response {
    let started = std::time::Instant::now();
    let db = app.db.clone();
    let page = app
        .pages
        .get_or_compute(&format!("post:{id}:html"), &page_policy(id), move || {
            render(db, id)
        })
        .await;
    // A render takes 300 ms: a response much faster than that came from the cache.
    let cached = if started.elapsed() < Duration::from_millis(250) {
        "HIT"
    } else {
        "MISS"
    };
    let mut headers = HeaderMap::new();
    headers.insert("x-cache", HeaderValue::from_static(cached));
    match page {
        Ok(Some(html)) => (headers, Html(html)).into_response(),
        Ok(None) => (StatusCode::NOT_FOUND, headers, "no such post\n").into_response(),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, format!("{e}\n")).into_response(),
    }
}

async fn edit(State(app): State<App>, Path(id): Path<u64>, body: String) -> Response {
    if let Ok(mut db) = app.db.lock() {
        db.insert(id, body.trim().to_owned());
    }
    // Every cached page carrying the tag — in every process — is invalid from now.
    match app.pages.purge_tag(&format!("post:{id}")).await {
        Ok(()) => (
            StatusCode::OK,
            format!("post {id} saved; its pages purged\n"),
        )
            .into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response(),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("ANP_STORE").unwrap_or_else(|_| "sqlite://cache-demo.db".into());
    let caches = CacheClient::new(alphanode::connect(&url).await?, Default::default()).await?;
    // Deploy-sensitive: `anp deploy mark` starts the page cache afresh (new templates), and
    // `anp deploy rollback` returns to the previous generation, still warm.
    let pages = caches
        .namespace(
            "pages",
            NamespaceOptions {
                deploy_sensitive: true,
                ..Default::default()
            },
        )
        .await?;
    let db: Db = Arc::new(Mutex::new(HashMap::from([
        (1, "Hello, cache".to_owned()),
        (2, "Tags, not scans".to_owned()),
    ])));
    let app = Router::new()
        .route("/posts/{id}", get(show).post(edit))
        .with_state(App { db, pages });
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    println!(
        "listening on http://{addr} (store {})",
        alphanode::backend::redact_url(&url)
    );
    let listener = tokio::net::TcpListener::bind(addr).await?;
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    caches.flush_stats().await?;
    Ok(())
}
