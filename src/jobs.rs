//! Durable jobs: a small table-based runner with leases, which knows nothing of the work.
//!
//! A runner claims a job by writing its id and a lease expiry into the row, renews the lease
//! while it works, and clears it when done. If the process dies, the lease runs out and the
//! next runner to poll (in this process after a restart, or another process) resumes the job.
//! What a job does is up to the [`JobHandler`] registered for its kind (provisioning registers
//! apply and destroy); the runner only claims, renews, retries with backoff, and gives up.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

use crate::events::{EventLog, Level};
use crate::platform::retry::RetryPolicy;
use crate::store::{ClaimedJob, Store};
use crate::time::now_ms;

/// How the runner works; the defaults are in `EngineConfig::new`.
#[derive(Debug, Clone)]
pub struct RunnerConfig {
    /// Names this runner in job leases (one per process).
    pub instance_id: String,
    /// How long a claimed job stays ours without a renewal.
    pub lease: Duration,
    /// How often an idle runner looks for work.
    pub poll_interval: Duration,
    /// Jobs this runner works on at once.
    pub concurrency: usize,
    /// Attempts before a job that keeps failing transiently is marked failed.
    pub max_attempts: i64,
    /// Backoff between attempts of a job that failed transiently.
    pub job_backoff: RetryPolicy,
}

/// How a job's attempt ended, when it did not succeed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum JobError {
    /// Try again later: after the backoff, or at `after` when the handler knows when.
    #[error("{message}")]
    Retry { message: String, after: Option<Duration> },
    /// Give up: the message says what a person should do.
    #[error("{0}")]
    Fail(String),
    /// Another instance owns the job now (this one's lease ran out, or the job was stopped).
    #[error("the job's lease passed to another instance")]
    LeaseLost,
}

impl From<sqlx::Error> for JobError {
    fn from(err: sqlx::Error) -> Self {
        JobError::Retry { message: format!("storage error: {err}"), after: None }
    }
}

/// The job a handler runs, and the lease it runs under.
#[derive(Debug, Clone)]
pub struct Job {
    pub id: String,
    pub venture_id: String,
    pub kind: String,
    /// 1 for the first attempt.
    pub attempt: i64,
    /// The instance holding the lease (this runner).
    pub owner: String,
}

pub type HandlerFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The work of one job kind.
pub trait JobHandler: Send + Sync + 'static {
    /// The kind this handler runs (`jobs.kind`).
    fn kind(&self) -> &'static str;
    /// One attempt at the job.
    fn run<'a>(&'a self, job: &'a Job) -> HandlerFuture<'a, Result<(), JobError>>;
    /// The job was given up on, with this message (already in the job's log).
    fn failed<'a>(&'a self, job: &'a Job, message: &'a str) -> HandlerFuture<'a, Result<(), JobError>>;
}

/// The handlers a runner dispatches to, by kind.
#[derive(Clone, Default)]
pub struct Handlers(BTreeMap<&'static str, Arc<dyn JobHandler>>);

impl Handlers {
    pub fn register(mut self, handler: impl JobHandler) -> Self {
        self.0.insert(handler.kind(), Arc::new(handler));
        self
    }
}

#[derive(Clone)]
pub struct Runner {
    store: Store,
    events: EventLog,
    handlers: Handlers,
    config: RunnerConfig,
}

impl Runner {
    pub fn new(store: Store, events: EventLog, handlers: Handlers, config: RunnerConfig) -> Self {
        Runner { store, events, handlers, config }
    }

    /// Works until `shutdown` turns true, on up to `concurrency` jobs at once. On shutdown the
    /// jobs in flight are stopped and handed back to the queue, so a restart (or another
    /// instance) resumes them at once instead of waiting for their leases to run out.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        tracing::info!(instance = %self.config.instance_id, concurrency = self.config.concurrency, "job runner started");
        let slots = Arc::new(Semaphore::new(self.config.concurrency.max(1)));
        let mut in_flight = JoinSet::new();
        loop {
            while in_flight.try_join_next().is_some() {}
            // A dropped engine (no sender left) stops the runner too, instead of spinning.
            if *shutdown.borrow() || shutdown.has_changed().is_err() {
                break;
            }
            let slot = tokio::select! {
                slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
                _ = shutdown.changed() => continue,
            };
            match self.store.claim_job(&self.config.instance_id, self.lease_ms()).await {
                Ok(Some(job)) => {
                    let runner = self.clone();
                    in_flight.spawn(async move {
                        if let Err(err) = runner.run_job(job).await {
                            tracing::warn!(error = %err, "could not record a job's outcome");
                        }
                        drop(slot);
                    });
                    continue;
                }
                Ok(None) => {}
                Err(err) => tracing::warn!(error = %err, "job runner could not poll the store"),
            }
            drop(slot);
            tokio::select! {
                _ = tokio::time::sleep(self.config.poll_interval) => {}
                _ = shutdown.changed() => {}
            }
        }
        in_flight.shutdown().await;
        match self.store.release_jobs(&self.config.instance_id).await {
            Ok(0) => {}
            Ok(released) => tracing::info!(released, "jobs in flight handed back to the queue"),
            Err(err) => tracing::warn!(error = %err, "could not hand jobs back; they resume when their leases expire"),
        }
    }

    fn lease_ms(&self) -> i64 {
        self.config.lease.as_millis() as i64
    }

    /// Claims and runs at most one job; returns whether there was one.
    pub async fn run_once(&self) -> Result<bool, sqlx::Error> {
        match self.store.claim_job(&self.config.instance_id, self.lease_ms()).await? {
            Some(job) => self.run_job(job).await.map(|()| true),
            None => Ok(false),
        }
    }

    async fn run_job(&self, claimed: ClaimedJob) -> Result<(), sqlx::Error> {
        tracing::info!(job = %claimed.id, attempt = claimed.attempts, "job claimed");
        let job = Job {
            id: claimed.id,
            venture_id: claimed.venture_id,
            kind: claimed.kind,
            attempt: claimed.attempts,
            owner: self.config.instance_id.clone(),
        };
        let Some(handler) = self.handlers.0.get(job.kind.as_str()).cloned() else {
            let message = format!("no handler for job kind {:?} in this version", job.kind);
            return self.store.finish_job(&job.id, &job.owner, "failed", None, Some(&message)).await;
        };
        let outcome = tokio::select! {
            outcome = handler.run(&job) => outcome,
            () = self.keep_lease(&job.id) => Err(JobError::LeaseLost),
        };
        match outcome {
            // Another instance owns the job now: leave it, its state and its log to that one.
            Err(JobError::LeaseLost) => {
                tracing::warn!(job = %job.id, "lease lost; leaving the job to its new owner");
                // Stopped rather than taken over (a destroy): free whatever waits on the lease.
                self.store.drop_lease(&job.id, &job.owner).await?;
            }
            Ok(()) => self.store.finish_job(&job.id, &job.owner, "succeeded", None, None).await?,
            Err(JobError::Fail(message)) => self.fail(handler.as_ref(), &job, &message).await?,
            // The handler knows when to come back (a rate-limit budget frees up): no attempt spent.
            Err(JobError::Retry { message, after: Some(after) }) => {
                let run_after = now_ms() + after.as_millis() as i64;
                self.store.finish_job(&job.id, &job.owner, "queued", Some(run_after), Some(&message)).await?;
            }
            Err(JobError::Retry { message, after: None }) if job.attempt >= self.config.max_attempts => {
                self.fail(handler.as_ref(), &job, &format!("gave up after {} attempts: {message}", job.attempt)).await?
            }
            Err(JobError::Retry { message, after: None }) => {
                let wait = self.config.job_backoff.backoff(job.attempt as u32);
                let note = format!("Temporary failure: {message}. Retrying in {} s", wait.as_secs().max(1));
                self.events.emit(&job.venture_id, Some(&job.id), "retry", Level::Warn, &note).await;
                let run_after = now_ms() + wait.as_millis() as i64;
                self.store.finish_job(&job.id, &job.owner, "queued", Some(run_after), Some(&message)).await?;
            }
        }
        Ok(())
    }

    async fn fail(&self, handler: &dyn JobHandler, job: &Job, message: &str) -> Result<(), sqlx::Error> {
        self.events.emit(&job.venture_id, Some(&job.id), "failed", Level::Error, message).await;
        if let Err(err) = handler.failed(job, message).await {
            tracing::warn!(job = %job.id, error = %err, "the handler could not record the failure");
        }
        self.store.finish_job(&job.id, &job.owner, "failed", None, Some(message)).await
    }

    /// Renews the lease at a third of its length; returns only if the lease is lost.
    async fn keep_lease(&self, job_id: &str) {
        let lease_ms = self.lease_ms();
        loop {
            tokio::time::sleep(self.config.lease / 3).await;
            match self.store.renew_lease(job_id, &self.config.instance_id, lease_ms).await {
                Ok(true) => {}
                Ok(false) => return,
                // A store hiccup: keep working; the next renewal may succeed before expiry.
                Err(err) => tracing::warn!(job = job_id, error = %err, "lease renewal failed"),
            }
        }
    }
}
