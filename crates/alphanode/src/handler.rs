//! Handlers: typed jobs ([`JobArgs`]) and JSON handlers ([`RawHandler`]).

use std::fmt::{Debug, Display};
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;

use anp_core::{Job, JobId, Outcome, RetryPolicy};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

/// A typed job: its arguments are this type, serialized as JSON.
pub trait JobArgs: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// The kind name handlers are registered under (1–128 of `[A-Za-z0-9_.:-]`).
    const KIND: &'static str;
    /// The queue used when enqueue options name none.
    const QUEUE: &'static str = "default";
    /// Retries for this kind: attempts and backoff.
    fn retry_policy() -> RetryPolicy {
        RetryPolicy::default()
    }
}

/// What a handler knows about the attempt it runs.
#[derive(Clone, Debug)]
pub struct JobContext {
    job: std::sync::Arc<Job>,
    cancel: CancellationToken,
}

impl JobContext {
    pub(crate) fn new(job: std::sync::Arc<Job>, cancel: CancellationToken) -> JobContext {
        JobContext { job, cancel }
    }

    /// The job id.
    pub fn id(&self) -> JobId {
        self.job.id
    }

    /// This attempt's number (1-based).
    pub fn attempt(&self) -> u32 {
        self.job.attempt
    }

    /// The whole job row as fetched (args, queue, earlier errors…).
    pub fn job(&self) -> &Job {
        &self.job
    }

    /// Resolves when the attempt should stop early: the worker is shutting down past its grace
    /// period, or the lease was lost (the job was cancelled or rescued). Long handlers should
    /// `select!` on it; whatever they return afterwards is not recorded (the job is handed
    /// back or already belongs to someone else).
    pub async fn cancelled(&self) {
        self.cancel.cancelled().await
    }

    /// Whether [`JobContext::cancelled`] has fired.
    pub fn is_cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }
}

/// The future a [`RawHandler`] returns.
pub type HandlerFuture = Pin<Box<dyn Future<Output = Result<Outcome, String>> + Send + 'static>>;

/// A handler that takes the job as stored (JSON args). An `Err(message)` is a failed,
/// retry-safe attempt.
pub trait RawHandler: Send + Sync + Debug + 'static {
    /// Runs one attempt.
    fn call(&self, ctx: JobContext) -> HandlerFuture;
    /// The retry policy for this handler's kind.
    fn retry_policy(&self) -> RetryPolicy {
        RetryPolicy::default()
    }
}

/// Adapts a typed closure to a [`RawHandler`].
pub(crate) struct TypedHandler<J, F> {
    f: F,
    _j: PhantomData<fn() -> J>,
}

impl<J, F> TypedHandler<J, F> {
    pub(crate) fn new(f: F) -> Self {
        TypedHandler { f, _j: PhantomData }
    }
}

impl<J, F> Debug for TypedHandler<J, F>
where
    J: JobArgs,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TypedHandler")
            .field("kind", &J::KIND)
            .finish()
    }
}

impl<J, F, Fut, E> RawHandler for TypedHandler<J, F>
where
    J: JobArgs,
    F: Fn(JobContext, J) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Outcome, E>> + Send + 'static,
    E: Display + Send + 'static,
{
    fn call(&self, ctx: JobContext) -> HandlerFuture {
        let args: Result<J, _> = ctx.job().args.decode();
        match args {
            // Args that don't decode will never decode: not retry-safe.
            Err(e) => Box::pin(async move { Ok(Outcome::fail(e.to_string())) }),
            Ok(args) => {
                let fut = (self.f)(ctx, args);
                Box::pin(async move { fut.await.map_err(|e| e.to_string()) })
            }
        }
    }

    fn retry_policy(&self) -> RetryPolicy {
        J::retry_policy()
    }
}
