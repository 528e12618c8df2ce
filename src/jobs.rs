//! Durable jobs: a small table-based runner with leases.
//!
//! A runner claims a job by writing its id and a lease expiry into the row, renews the lease
//! while it works, and clears it when done. If the process dies, the lease runs out and the
//! next runner to poll (in this process after a restart, or another process) resumes the job.
//! Steps record an *intent* before they create anything remotely and their *outcome* after,
//! so a resumed step looks up what an interrupted attempt may have created instead of
//! creating it twice.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::events::{EventLog, Level};
use crate::platform::api::{ApiError, ErrorKind, Vendor};
use crate::platform::retry::RetryPolicy;
use crate::platform::vercel::{CreateProjectRequest, GitProvider, GitRepository, Project, VercelClient};
use crate::store::{ClaimedJob, Store};
use crate::time::now_ms;
use crate::venture::{Venture, VentureStatus};

pub const PROVISION_VENTURE: &str = "provision_venture";

#[derive(Debug, Clone)]
pub struct RunnerConfig {
    /// Names this runner in job leases (one per process).
    pub instance_id: String,
    /// How long a claimed job stays ours without a renewal.
    pub lease: Duration,
    /// How often an idle runner looks for work.
    pub poll_interval: Duration,
    /// Attempts before a job that keeps failing transiently is marked failed.
    pub max_attempts: i64,
    /// Backoff between attempts of a job that failed transiently.
    pub job_backoff: RetryPolicy,
}

impl Default for RunnerConfig {
    fn default() -> Self {
        RunnerConfig {
            instance_id: format!("runner-{}", uuid::Uuid::new_v4()),
            lease: Duration::from_secs(30),
            poll_interval: Duration::from_millis(500),
            max_attempts: 8,
            job_backoff: RetryPolicy {
                base_delay: Duration::from_secs(2),
                max_delay: Duration::from_secs(300),
                ..RetryPolicy::default()
            },
        }
    }
}

/// Why a step stopped.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StepError {
    /// Worth another attempt later (rate limits, outages, lost connections).
    #[error("{0}")]
    Transient(String),
    /// Needs a person: retrying will not help. The message says what to do.
    #[error("{0}")]
    Permanent(String),
}

impl From<sqlx::Error> for StepError {
    fn from(err: sqlx::Error) -> Self {
        StepError::Transient(format!("storage error: {err}"))
    }
}

impl From<ApiError> for StepError {
    fn from(err: ApiError) -> Self {
        use crate::platform::retry::Retryable;
        if err.is(ErrorKind::Unauthorized) {
            let hint = match err.vendor {
                Vendor::Vercel => "Check that VERCEL_TOKEN is valid and has access to the configured team.",
                Vendor::Supabase => "Check that SUPABASE_ACCESS_TOKEN is valid and has access to the organization.",
                Vendor::Cloudflare => "Check that the Cloudflare API token may edit DNS in this zone.",
            };
            StepError::Permanent(format!("{err}. {hint}"))
        } else if err.is_retryable() || err.is(ErrorKind::Unconfirmed) {
            // An unconfirmed create is retried by the step, which looks up before it creates.
            StepError::Transient(err.to_string())
        } else {
            StepError::Permanent(err.to_string())
        }
    }
}

#[derive(Clone)]
pub struct Runner {
    store: Store,
    events: EventLog,
    vercel: Arc<VercelClient>,
    config: RunnerConfig,
}

impl Runner {
    pub fn new(store: Store, events: EventLog, vercel: Arc<VercelClient>, config: RunnerConfig) -> Self {
        Runner { store, events, vercel, config }
    }

    /// Works until `shutdown` turns true.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        tracing::info!(instance = %self.config.instance_id, "job runner started");
        loop {
            if *shutdown.borrow() {
                break;
            }
            let worked = match self.run_once().await {
                Ok(worked) => worked,
                Err(err) => {
                    tracing::warn!(error = %err, "job runner could not poll the store");
                    false
                }
            };
            if !worked {
                tokio::select! {
                    _ = tokio::time::sleep(self.config.poll_interval) => {}
                    _ = shutdown.changed() => {}
                }
            }
        }
    }

    /// Claims and runs at most one job; returns whether there was one.
    pub async fn run_once(&self) -> Result<bool, sqlx::Error> {
        let lease_ms = self.config.lease.as_millis() as i64;
        let Some(job) = self.store.claim_job(&self.config.instance_id, lease_ms).await? else {
            return Ok(false);
        };
        tracing::info!(job = %job.id, attempt = job.attempts, "job claimed");
        let work = self.execute(&job);
        let heartbeat = self.keep_lease(&job.id);
        let outcome = tokio::select! {
            outcome = work => Some(outcome),
            // The lease was lost (another runner took over): stop without touching the job.
            () = heartbeat => None,
        };
        match outcome {
            None => tracing::warn!(job = %job.id, "lease lost; leaving the job to its new owner"),
            Some(Ok(())) => {
                self.store.finish_job(&job.id, &self.config.instance_id, "succeeded", None, None).await?;
            }
            Some(Err(StepError::Permanent(message))) => self.fail(&job, &message).await?,
            Some(Err(StepError::Transient(message))) if job.attempts >= self.config.max_attempts => {
                self.fail(&job, &format!("gave up after {} attempts: {message}", job.attempts)).await?
            }
            Some(Err(StepError::Transient(message))) => {
                let wait = self.config.job_backoff.backoff(job.attempts as u32);
                self.events
                    .emit(
                        &job.venture_id,
                        Some(&job.id),
                        "retry",
                        Level::Warn,
                        &format!("Temporary failure: {message}. Retrying in {} s", wait.as_secs().max(1)),
                    )
                    .await;
                let run_after = now_ms() + wait.as_millis() as i64;
                self.store
                    .finish_job(&job.id, &self.config.instance_id, "queued", Some(run_after), Some(&message))
                    .await?;
            }
        }
        Ok(true)
    }

    async fn fail(&self, job: &ClaimedJob, message: &str) -> Result<(), sqlx::Error> {
        self.events.emit(&job.venture_id, Some(&job.id), "failed", Level::Error, message).await;
        self.store.set_venture_status(&job.venture_id, VentureStatus::Failed).await?;
        self.store.finish_job(&job.id, &self.config.instance_id, "failed", None, Some(message)).await
    }

    /// Renews the lease at a third of its length; returns only if the lease is lost.
    async fn keep_lease(&self, job_id: &str) {
        let lease_ms = self.config.lease.as_millis() as i64;
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

    async fn execute(&self, job: &ClaimedJob) -> Result<(), StepError> {
        match job.kind.as_str() {
            PROVISION_VENTURE => self.provision_venture(job).await,
            other => Err(StepError::Permanent(format!("unknown job kind {other:?}"))),
        }
    }

    async fn provision_venture(&self, job: &ClaimedJob) -> Result<(), StepError> {
        let venture = self
            .store
            .venture(&job.venture_id)
            .await?
            .ok_or_else(|| StepError::Permanent("the venture no longer exists".into()))?;
        let note = if job.attempts > 1 {
            format!("Resuming provisioning of {} (attempt {})", venture.name, job.attempts)
        } else {
            format!("Provisioning {} from github.com/{}", venture.name, venture.repository)
        };
        self.events.emit(&venture.id, Some(&job.id), "start", Level::Info, &note).await;

        let project = self.ensure_vercel_project(job, &venture).await?;
        self.store.set_vercel_project(&venture.id, &project.id).await?;

        self.store.set_venture_status(&venture.id, VentureStatus::Ready).await?;
        self.events
            .emit(
                &venture.id,
                Some(&job.id),
                "done",
                Level::Info,
                &format!("Venture ready: Vercel project {}", project.id),
            )
            .await;
        Ok(())
    }

    /// Step `vercel.project`: exactly one Vercel project per venture, however often this runs.
    async fn ensure_vercel_project(&self, job: &ClaimedJob, venture: &Venture) -> Result<Project, StepError> {
        const STEP: &str = "vercel.project";
        let emit = |level, message: String| async move {
            self.events.emit(&venture.id, Some(&job.id), STEP, level, &message).await
        };
        let record = self.store.step(&job.id, STEP).await?;
        if let Some(record) = &record
            && record.status == "done"
            && let Some(id) = &record.output
        {
            emit(Level::Info, format!("Vercel project {id} already created")).await;
            return Ok(self.vercel.get_project(id).await?);
        }
        let intent_recorded = record.is_some_and(|r| r.status == "intent");

        emit(Level::Info, format!("Looking up Vercel project {}", venture.name)).await;
        let project = match self.vercel.find_project(&venture.name).await? {
            Some(project) if intent_recorded => {
                emit(Level::Info, format!("Adopting Vercel project {} created by an interrupted attempt", project.id))
                    .await;
                project
            }
            Some(project) => {
                return Err(StepError::Permanent(format!(
                    "A Vercel project named {} already exists ({}) and was not created for this venture. \
                     Delete it in Vercel or create the venture under another name.",
                    venture.name, project.id
                )));
            }
            None => {
                // Written before the create call: if we die between the call and the outcome
                // below, the next attempt knows the project may exist and adopts it.
                self.store.set_step(&job.id, STEP, "intent", None).await?;
                emit(
                    Level::Info,
                    format!("Creating Vercel project {} (Next.js, github.com/{})", venture.name, venture.repository),
                )
                .await;
                let request = CreateProjectRequest {
                    name: venture.name.clone(),
                    framework: Some("nextjs".into()),
                    git_repository: Some(GitRepository {
                        provider: GitProvider::Github,
                        repo: venture.repository.clone(),
                    }),
                    ..CreateProjectRequest::default()
                };
                match self.vercel.create_project(&request).await {
                    Ok(project) => project,
                    // A retried create whose first try landed: the project is ours.
                    Err(err) if err.is(ErrorKind::Conflict) => self.vercel.get_project(&venture.name).await?,
                    Err(err) => return Err(err.into()),
                }
            }
        };
        self.store.set_step(&job.id, STEP, "done", Some(&project.id)).await?;
        emit(Level::Info, format!("Vercel project created: {}", project.id)).await;
        Ok(project)
    }
}

#[cfg(test)]
mod tests {
    use secrecy::SecretString;

    use super::*;
    use crate::auth::Role;
    use crate::sim::faults::FaultPlan;
    use crate::sim::vercel::VercelSim;
    use crate::venture::NewVenture;
    use crate::{Engine, EngineConfig, VercelTarget};

    const TOKEN: &str = "durability-token";

    /// An engine as one process would open it, against the shared database and simulator.
    async fn open_process(db_url: &str, sim: &VercelSim, instance: &str) -> Engine {
        let target = VercelTarget::Api { base_url: sim.base_url(), token: SecretString::from(TOKEN), team_id: None };
        let mut config = EngineConfig::new(db_url, target);
        config.runner.instance_id = instance.into();
        config.runner.lease = Duration::from_millis(900);
        config.runner.poll_interval = Duration::from_millis(50);
        config.runner.job_backoff = RetryPolicy { base_delay: Duration::from_millis(100), ..RetryPolicy::default() };
        config.platform_retry = RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(50),
            max_total: Duration::from_secs(10),
        };
        Engine::open(config).await.unwrap()
    }

    async fn wait_for(what: &str, mut check: impl AsyncFnMut() -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while !check().await {
            assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn creator(engine: &Engine) -> crate::auth::User {
        engine
            .create_user_unchecked("casey", &SecretString::from("a long enough password"), Role::Creator)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn a_job_killed_mid_create_resumes_and_adopts_the_project() {
        let dir = tempfile::tempdir().unwrap();
        let db = format!("sqlite://{}/slipway.db?mode=rwc", dir.path().display());
        // The project is created at once but the response takes a while: the crash below lands
        // after Vercel created the project and before the runner recorded it.
        let sim = VercelSim::start(TOKEN, FaultPlan { latency: Duration::from_millis(400), ..FaultPlan::default() })
            .await
            .unwrap();

        let first = open_process(&db, &sim, "process-a").await;
        let user = creator(&first).await;
        let venture = first.create_venture(&user, &NewVenture::new("acme-shop", "acme/shop")).await.unwrap();
        let runner = first.runner();
        let crashed = tokio::spawn(async move { runner.run_once().await });
        wait_for("the project to exist at Vercel", async || !sim.projects().is_empty()).await;
        crashed.abort(); // the process dies with the create response in flight
        let _ = crashed.await;
        drop(first);

        let second = open_process(&db, &sim, "process-b").await;
        let runner = second.start_runner();
        wait_for("the venture to be ready", async || {
            second.venture(&user, &venture.id).await.unwrap().status == VentureStatus::Ready
        })
        .await;
        second.shutdown();
        runner.await.unwrap();

        let projects = sim.projects();
        assert_eq!(projects.len(), 1, "exactly one Vercel project");
        let ready = second.venture(&user, &venture.id).await.unwrap();
        assert_eq!(ready.vercel_project_id.as_deref(), projects[0]["id"].as_str());
        let creates = sim.requests().iter().filter(|r| r.method == "POST").count();
        assert_eq!(creates, 1, "the resumed job looked the project up instead of creating it again");
        let log = second.venture_events(&user, &venture.id, 0, 100).await.unwrap();
        assert!(log.iter().any(|e| e.message.contains("Adopting")), "{log:#?}");
        assert!(log.iter().any(|e| e.message.contains("attempt 2")), "{log:#?}");
    }

    #[tokio::test]
    async fn a_finished_step_is_not_repeated_and_a_foreign_project_is_not_adopted() {
        let dir = tempfile::tempdir().unwrap();
        let db = format!("sqlite://{}/slipway.db?mode=rwc", dir.path().display());
        let sim = VercelSim::start(TOKEN, FaultPlan::default()).await.unwrap();
        let engine = open_process(&db, &sim, "process-a").await;
        let user = creator(&engine).await;

        // Someone else's project already holds the name: the job stops with a clear message.
        let client = reqwest::Client::new();
        client
            .post(format!("{}/v11/projects", sim.base_url()))
            .bearer_auth(TOKEN)
            .json(&serde_json::json!({"name": "taken"}))
            .send()
            .await
            .unwrap();
        let taken = engine.create_venture(&user, &NewVenture::new("taken", "acme/taken")).await.unwrap();
        assert!(engine.runner().run_once().await.unwrap());
        let failed = engine.venture(&user, &taken.id).await.unwrap();
        assert_eq!(failed.status, VentureStatus::Failed);
        let log = engine.venture_events(&user, &taken.id, 0, 100).await.unwrap();
        let last = log.last().unwrap();
        assert_eq!(last.level, "error");
        assert!(last.message.contains("already exists") && last.message.contains("another name"), "{}", last.message);

        let fresh = engine.create_venture(&user, &NewVenture::new("fresh", "acme/fresh")).await.unwrap();
        assert!(engine.runner().run_once().await.unwrap());
        assert_eq!(engine.venture(&user, &fresh.id).await.unwrap().status, VentureStatus::Ready);
        assert!(!engine.runner().run_once().await.unwrap(), "nothing left to run");
        assert_eq!(sim.projects().len(), 2);
    }

    #[tokio::test]
    async fn transient_failures_are_retried_until_the_venture_is_ready() {
        let dir = tempfile::tempdir().unwrap();
        let db = format!("sqlite://{}/slipway.db?mode=rwc", dir.path().display());
        let sim = VercelSim::start(TOKEN, FaultPlan::default()).await.unwrap();
        let engine = open_process(&db, &sim, "process-a").await;
        let user = creator(&engine).await;
        // More consecutive 503s than one call's retry budget allows: the job itself must retry.
        sim.queue_faults(std::iter::repeat_n(crate::sim::faults::Fault::ServerError(503), 8));
        let venture = engine.create_venture(&user, &NewVenture::new("flaky", "acme/flaky")).await.unwrap();
        let runner = engine.start_runner();
        wait_for("the venture to be ready", async || {
            engine.venture(&user, &venture.id).await.unwrap().status == VentureStatus::Ready
        })
        .await;
        engine.shutdown();
        runner.await.unwrap();
        assert_eq!(sim.projects().len(), 1);
        let log = engine.venture_events(&user, &venture.id, 0, 100).await.unwrap();
        assert!(log.iter().any(|e| e.level == "warn" && e.message.contains("Retrying")), "{log:#?}");
    }

    #[tokio::test]
    async fn a_create_whose_answer_was_lost_is_looked_up_not_repeated() {
        use crate::sim::faults::Fault;
        let dir = tempfile::tempdir().unwrap();
        let db = format!("sqlite://{}/slipway.db?mode=rwc", dir.path().display());
        let sim = VercelSim::start(TOKEN, FaultPlan::default()).await.unwrap();
        let engine = open_process(&db, &sim, "process-a").await;
        let user = creator(&engine).await;
        // Vercel creates the project, then the connection drops before the answer arrives.
        sim.queue_faults_for("POST", "/v11/projects", [Fault::Dropped { handled: true }]);
        let venture = engine.create_venture(&user, &NewVenture::new("lost-answer", "acme/lost")).await.unwrap();
        let runner = engine.start_runner();
        wait_for("the venture to be ready", async || {
            engine.venture(&user, &venture.id).await.unwrap().status == VentureStatus::Ready
        })
        .await;
        engine.shutdown();
        runner.await.unwrap();
        assert_eq!(sim.projects().len(), 1);
        let creates = sim.requests().iter().filter(|r| r.method == "POST").count();
        assert_eq!(creates, 1, "the unconfirmed create was not sent again");
        let log = engine.venture_events(&user, &venture.id, 0, 100).await.unwrap();
        assert!(log.iter().any(|e| e.message.contains("Adopting")), "{log:#?}");
    }
}
