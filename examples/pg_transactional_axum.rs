//! Jobs in the application's transaction, on PostgreSQL: an axum service whose `POST /orders`
//! writes the order and enqueues its receipt email in one transaction. If the order is refused
//! (here: a duplicate id, or an amount of 0), the transaction rolls back and no email job
//! exists; if it commits, a Worker in the same process sends the receipt.
//!
//! ```sh
//! createdb shop    # any database; alphanode creates its tables in it
//! ANP_STORE=postgres://postgres@127.0.0.1:5432/shop cargo run -p alphanode --example pg_transactional_axum
//!
//! curl -s -X POST localhost:3000/orders -d 'id=1&amount=30'   # 201: order and job committed
//! curl -s -X POST localhost:3000/orders -d 'id=1&amount=30'   # 409: rolled back, no job
//! curl -s -X POST localhost:3000/orders -d 'id=2&amount=0'    # 422: rolled back, no job
//! anp --store postgres://postgres@127.0.0.1:5432/shop jobs list   # one send_receipt, completed
//! ```

use std::net::SocketAddr;

use alphanode::postgres::tokio_postgres;
use alphanode::{Client, EnqueueOptions, JobArgs, JobContext, Outcome, Worker};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;
use serde::{Deserialize, Serialize};

/// The job: email a receipt for an order.
#[derive(Serialize, Deserialize, Debug)]
struct SendReceipt {
    order: i64,
    amount: i64,
}

impl JobArgs for SendReceipt {
    const KIND: &'static str = "send_receipt";
}

#[derive(Clone)]
struct App {
    pool: deadpool_postgres::Pool,
    jobs: Client,
}

/// `id=N&amount=M` (a form body, parsed by hand to keep the example's dependencies small).
fn parse(body: &str) -> Option<(i64, i64)> {
    let mut id = None;
    let mut amount = None;
    for pair in body.trim().split('&') {
        match pair.split_once('=') {
            Some(("id", v)) => id = v.parse().ok(),
            Some(("amount", v)) => amount = v.parse().ok(),
            _ => {}
        }
    }
    Some((id?, amount?))
}

async fn create_order(State(app): State<App>, body: String) -> (StatusCode, String) {
    let Some((id, amount)) = parse(&body) else {
        return (StatusCode::BAD_REQUEST, "expected id=N&amount=M\n".into());
    };
    match place(&app, id, amount).await {
        Ok(job) => (
            StatusCode::CREATED,
            format!("order {id} placed; receipt job {job}\n"),
        ),
        Err((status, why)) => (
            status,
            format!("order {id} refused, nothing enqueued: {why}\n"),
        ),
    }
}

/// The order and its job, in one transaction: both or neither.
async fn place(app: &App, id: i64, amount: i64) -> Result<String, (StatusCode, String)> {
    let internal = |e: &dyn std::fmt::Display| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string());
    let mut conn = app.pool.get().await.map_err(|e| internal(&e))?;
    let tx = conn.transaction().await.map_err(|e| internal(&e))?;
    // The job first: it is written on the transaction, and goes if the order cannot be taken.
    let job = app
        .jobs
        .new_job(
            &SendReceipt { order: id, amount },
            EnqueueOptions::default(),
        )
        .map_err(|e| internal(&e))?;
    let enqueued = alphanode::postgres::enqueue_in_tx(&*tx, vec![job])
        .await
        .map_err(|e| internal(&e))?;
    if let Err(e) = tx
        .execute(
            "INSERT INTO orders (id, amount) VALUES ($1, $2)",
            &[&id, &amount],
        )
        .await
    {
        // The transaction is dropped without commit: rolled back, job and all.
        let status = match e.code() {
            Some(c) if *c == tokio_postgres::error::SqlState::UNIQUE_VIOLATION => {
                StatusCode::CONFLICT
            }
            Some(c) if *c == tokio_postgres::error::SqlState::CHECK_VIOLATION => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let why = e
            .as_db_error()
            .map(|d| d.message().to_owned())
            .unwrap_or_else(|| e.to_string());
        return Err((status, why));
    }
    tx.commit().await.map_err(|e| internal(&e))?;
    Ok(enqueued
        .first()
        .map(|e| e.id.to_string())
        .unwrap_or_default())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("ANP_STORE")
        .map_err(|_| "set ANP_STORE=postgres://user@host:5432/database")?;
    // alphanode's side: opening the store creates (migrates) its tables in that database.
    let backend = alphanode::connect(&url).await?;
    // The application's side: its own pool on the same database, and its own table.
    let opts = alphanode::postgres::PostgresOptions::parse_url(&url)?;
    let pool = deadpool_postgres::Pool::builder(deadpool_postgres::Manager::new(
        opts.config,
        tokio_postgres::NoTls,
    ))
    .max_size(8)
    .build()?;
    pool.get()
        .await?
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS orders (id bigint PRIMARY KEY, amount bigint NOT NULL CHECK (amount > 0))",
        )
        .await?;

    let worker = Worker::builder(backend.clone())
        .queue("default", 4)
        .register(|_ctx: JobContext, r: SendReceipt| async move {
            println!("receipt for order {} ({} EUR) sent", r.order, r.amount);
            Ok::<_, std::io::Error>(Outcome::Complete)
        })
        .build()?;
    let shutdown = worker.shutdown_token();
    let worker = tokio::spawn(worker.run());

    let app = Router::new()
        .route("/orders", post(create_order))
        .with_state(App {
            pool,
            jobs: Client::new(backend),
        });
    let addr: SocketAddr = "127.0.0.1:3000".parse()?;
    println!("listening on http://{addr}; POST /orders with id=N&amount=M");
    let listener = tokio::net::TcpListener::bind(addr).await?;
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    shutdown.cancel();
    worker.await??;
    Ok(())
}
