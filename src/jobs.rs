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

use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

use crate::events::{EventLog, Level};
use crate::platform::api::{ApiError, ErrorKind, Vendor};
use crate::platform::retry::RetryPolicy;
use crate::platforms::Platforms;
use crate::provision::{self, Polling};
use crate::store::{ClaimedJob, Store};
use crate::time::now_ms;
use crate::vault::Vault;
use crate::venture::{NewVenture, VentureStatus};

pub const PROVISION_VENTURE: &str = "provision_venture";
pub const DESTROY_VENTURE: &str = "destroy_venture";

#[derive(Debug, Clone)]
pub struct RunnerConfig {
    /// Names this runner in job leases (one per process).
    pub instance_id: String,
    /// How long a claimed job stays ours without a renewal.
    pub lease: Duration,
    /// How often an idle runner looks for work.
    pub poll_interval: Duration,
    /// Jobs this runner works on at once (each job runs its own independent steps concurrently).
    pub concurrency: usize,
    /// How each apply orders its steps (one at a time only to measure the difference).
    pub schedule: provision::Schedule,
    /// Attempts before a job that keeps failing transiently is marked failed.
    pub max_attempts: i64,
    /// Backoff between attempts of a job that failed transiently.
    pub job_backoff: RetryPolicy,
    /// How steps that wait (for Supabase, for a deployment) poll.
    pub polling: Polling,
}

impl Default for RunnerConfig {
    fn default() -> Self {
        RunnerConfig {
            instance_id: format!("runner-{}", uuid::Uuid::new_v4()),
            lease: Duration::from_secs(30),
            poll_interval: Duration::from_millis(500),
            concurrency: 16,
            schedule: provision::Schedule::Concurrent,
            max_attempts: 8,
            job_backoff: RetryPolicy {
                base_delay: Duration::from_secs(2),
                max_delay: Duration::from_secs(300),
                ..RetryPolicy::default()
            },
            polling: Polling::default(),
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
    /// Another instance has taken the job over (this one's lease ran out): stop touching it.
    #[error("the job's lease passed to another instance")]
    LeaseLost,
    /// Only for work run with a patience (plans): a call would have waited for the rate limiter
    /// longer than allowed, and was not sent.
    #[error("the platforms' rate limits are in use; try again in {} s", retry_after.as_secs().max(1))]
    OverBudget { retry_after: Duration },
}

impl From<sqlx::Error> for StepError {
    fn from(err: sqlx::Error) -> Self {
        StepError::Transient(format!("storage error: {err}"))
    }
}

impl From<ApiError> for StepError {
    fn from(err: ApiError) -> Self {
        use crate::platform::retry::Retryable;
        if err.is(ErrorKind::OverBudget) {
            StepError::OverBudget { retry_after: err.retry_after.unwrap_or(Duration::from_secs(1)) }
        } else if err.is(ErrorKind::Unauthorized) {
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
    platforms: Platforms,
    vault: Arc<Vault>,
    config: RunnerConfig,
}

impl Runner {
    pub fn new(store: Store, events: EventLog, platforms: Platforms, vault: Arc<Vault>, config: RunnerConfig) -> Self {
        Runner { store, events, platforms, vault, config }
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

    async fn run_job(&self, job: ClaimedJob) -> Result<(), sqlx::Error> {
        tracing::info!(job = %job.id, attempt = job.attempts, "job claimed");
        let work = self.execute(&job);
        let heartbeat = self.keep_lease(&job.id);
        let outcome = tokio::select! {
            outcome = work => outcome,
            () = heartbeat => Err(StepError::LeaseLost),
        };
        match outcome {
            // Another instance owns the job now: leave it, its state and its log to that one.
            Err(StepError::LeaseLost) => {
                tracing::warn!(job = %job.id, "lease lost; leaving the job to its new owner");
                // Stopped rather than taken over (a destroy): free whatever waits on the lease.
                self.store.drop_lease(&job.id, &self.config.instance_id).await?;
            }
            Ok(()) => {
                self.store.finish_job(&job.id, &self.config.instance_id, "succeeded", None, None).await?;
            }
            Err(StepError::Permanent(message)) => self.fail(&job, &message).await?,
            // Jobs run without a patience, so their calls wait for the budget; should one not,
            // the job goes back in the queue until the budget frees up.
            Err(err @ StepError::OverBudget { retry_after }) => {
                let run_after = now_ms() + retry_after.as_millis() as i64;
                let message = err.to_string();
                self.store
                    .finish_job(&job.id, &self.config.instance_id, "queued", Some(run_after), Some(&message))
                    .await?;
            }
            Err(StepError::Transient(message)) if job.attempts >= self.config.max_attempts => {
                self.fail(&job, &format!("gave up after {} attempts: {message}", job.attempts)).await?
            }
            Err(StepError::Transient(message)) => {
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
        Ok(())
    }

    async fn fail(&self, job: &ClaimedJob, message: &str) -> Result<(), sqlx::Error> {
        self.events.emit(&job.venture_id, Some(&job.id), "failed", Level::Error, message).await;
        self.store.set_venture_status(&job.venture_id, VentureStatus::Failed).await?;
        self.store.finish_job(&job.id, &self.config.instance_id, "failed", None, Some(message)).await
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

    async fn execute(&self, job: &ClaimedJob) -> Result<(), StepError> {
        match job.kind.as_str() {
            PROVISION_VENTURE => self.provision_venture(job).await,
            DESTROY_VENTURE => self.destroy_venture(job).await,
            other => Err(StepError::Permanent(format!("unknown job kind {other:?}"))),
        }
    }

    async fn destroy_venture(&self, job: &ClaimedJob) -> Result<(), StepError> {
        let venture = self
            .store
            .venture(&job.venture_id)
            .await?
            .ok_or_else(|| StepError::Permanent("the venture no longer exists".into()))?;
        self.events
            .emit(&venture.id, Some(&job.id), "destroy", Level::Info, &format!("Destroying {}", venture.name))
            .await;
        provision::destroy(&self.store, &self.events, &self.platforms, &venture, &job.id).await?;
        self.store.set_venture_status(&venture.id, VentureStatus::Destroyed).await?;
        self.events
            .emit(&venture.id, Some(&job.id), "destroy", Level::Info, &format!("{} is destroyed", venture.name))
            .await;
        Ok(())
    }

    async fn provision_venture(&self, job: &ClaimedJob) -> Result<(), StepError> {
        let venture = self
            .store
            .venture(&job.venture_id)
            .await?
            .ok_or_else(|| StepError::Permanent("the venture no longer exists".into()))?;
        let input = match self.store.venture_spec(&venture.id).await? {
            Some(json) => serde_json::from_str::<NewVenture>(&json)
                .map_err(|e| StepError::Permanent(format!("the stored venture spec does not read back: {e}")))?,
            None => NewVenture::new(&venture.name, &venture.repository),
        };
        let spec = input.validate().map_err(|errors| {
            let rules: Vec<String> = errors.iter().map(ToString::to_string).collect();
            StepError::Permanent(format!("the venture spec is invalid: {}", rules.join("; ")))
        })?;
        let instance = &self.config.instance_id;
        let note = if job.attempts > 1 {
            format!("Resuming the apply of {} (attempt {}, on {instance})", venture.name, job.attempts)
        } else {
            format!("Applying {} from github.com/{} (on {instance})", venture.name, venture.repository)
        };
        self.events.emit(&venture.id, Some(&job.id), "start", Level::Info, &note).await;
        self.store.set_venture_status(&venture.id, VentureStatus::Provisioning).await?;
        let context = provision::Context {
            store: self.store.clone(),
            events: self.events.clone(),
            platforms: self.platforms.clone(),
            vault: self.vault.clone(),
            venture: venture.clone(),
            spec,
            job_id: job.id.clone(),
            owner: self.config.instance_id.clone(),
            polling: self.config.polling.clone(),
        };
        provision::apply(&context, self.config.schedule).await?;
        self.store.set_venture_status(&venture.id, VentureStatus::Ready).await?;
        self.events.emit(&venture.id, Some(&job.id), "done", Level::Info, &format!("{} is ready", venture.name)).await;
        Ok(())
    }
}

#[cfg(test)]
mod postgres_tests;

#[cfg(test)]
mod tests {
    use secrecy::{ExposeSecret, SecretString};

    use super::*;
    use crate::auth::Role;
    use crate::platforms::{ApiAccess, PlatformSettings, Sandbox, SandboxSettings};
    use crate::provision::Polling;
    use crate::sim::faults::{Fault, FaultPlan};
    use crate::sim::supabase::SupabaseSim;
    use crate::sim::vercel::VercelSim;
    use crate::venture::NewVenture;
    use crate::{Engine, EngineConfig, VaultSettings};

    const TOKEN: &str = "durability-token";

    /// The platforms (simulated) and the vault key that every "process" of a test shares.
    pub(super) struct World {
        pub(super) sims: Sandbox,
        pub(super) key: SecretString,
        /// How often steps that wait look again.
        pub(super) polling: Duration,
        /// Jobs each process works on at once.
        pub(super) concurrency: usize,
    }

    impl World {
        pub(super) async fn new(faults: FaultPlan) -> World {
            let settings = SandboxSettings {
                faults,
                supabase_ready_after: Duration::from_millis(300),
                vercel_build_time: Duration::from_millis(200),
            };
            World {
                sims: Sandbox::start(&settings, TOKEN).await.unwrap(),
                key: crate::vault::generate_key(),
                polling: Duration::from_millis(50),
                concurrency: 4,
            }
        }

        pub(super) fn vercel(&self) -> &VercelSim {
            &self.sims.vercel
        }

        pub(super) fn supabase(&self) -> &SupabaseSim {
            &self.sims.supabase
        }

        /// An engine as one process would open it, against the shared database and platforms.
        pub(super) async fn open_process(&self, db_url: &str, instance: &str) -> Engine {
            let vault = VaultSettings::Key { current: self.key.clone(), previous: vec![] };
            self.open_process_with(db_url, instance, vault).await
        }

        /// The same, with a vault of its own (a master-key rotation).
        pub(super) async fn open_process_with(&self, db_url: &str, instance: &str, vault: VaultSettings) -> Engine {
            let access = |base_url: String| ApiAccess { base_url, token: SecretString::from(TOKEN) };
            let platforms = PlatformSettings::Real {
                vercel: access(self.sims.vercel.base_url()),
                vercel_team_id: None,
                supabase: access(self.sims.supabase.base_url()),
                supabase_organization: Some(crate::platforms::SANDBOX_ORGANIZATION.into()),
                cloudflare: None,
            };
            let mut config = EngineConfig::new(db_url, platforms, vault);
            config.runner.instance_id = instance.into();
            config.runner.lease = Duration::from_millis(900);
            config.runner.poll_interval = Duration::from_millis(50);
            config.runner.concurrency = self.concurrency;
            config.runner.job_backoff =
                RetryPolicy { base_delay: Duration::from_millis(100), ..RetryPolicy::default() };
            config.runner.polling = Polling { every: self.polling, ..Polling::default() };
            config.platform_retry = RetryPolicy {
                max_attempts: 3,
                base_delay: Duration::from_millis(10),
                max_delay: Duration::from_millis(50),
                max_total: Duration::from_secs(10),
            };
            Engine::open(config).await.unwrap()
        }
    }

    pub(super) fn database() -> (tempfile::TempDir, String) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/slipway.db?mode=rwc", dir.path().display());
        (dir, url)
    }

    pub(super) async fn wait_for(what: &str, mut check: impl AsyncFnMut() -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
        while !check().await {
            assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub(super) async fn creator(engine: &Engine) -> crate::auth::User {
        engine
            .create_user_unchecked("casey", &SecretString::from("a long enough password"), Role::Creator)
            .await
            .unwrap()
    }

    pub(super) async fn settle(engine: &Engine, user: &crate::auth::User, id: &str) -> VentureStatus {
        let runner = engine.start_runner();
        let mut status = VentureStatus::Provisioning;
        wait_for("the venture to settle", async || {
            status = engine.venture(user, id).await.unwrap().status;
            status != VentureStatus::Provisioning
        })
        .await;
        engine.shutdown();
        runner.await.unwrap();
        status
    }

    pub(super) fn writes(requests: &[crate::sim::RecordedRequest]) -> Vec<String> {
        requests.iter().filter(|r| r.method != "GET").map(|r| format!("{} {}", r.method, r.path)).collect()
    }

    #[tokio::test]
    async fn a_venture_goes_from_spec_to_a_ready_deployment_and_applying_again_writes_nothing() {
        let (_dir, db) = database();
        let world = World::new(FaultPlan::default()).await;
        let engine = world.open_process(&db, "process-a").await;
        let user = creator(&engine).await;
        let venture = engine.create_venture(&user, &NewVenture::new("acme-shop", "acme/shop")).await.unwrap();
        assert_eq!(settle(&engine, &user, &venture.id).await, VentureStatus::Ready);

        let projects = world.vercel().projects();
        assert_eq!(projects.len(), 1);
        let project_id = projects[0]["id"].as_str().unwrap();
        assert_eq!(
            (projects[0]["framework"].as_str(), projects[0]["nodeVersion"].as_str()),
            (Some("nextjs"), Some("22.x"))
        );
        let supabase = world.supabase().projects();
        assert_eq!(supabase.len(), 1);
        let reference = supabase[0]["ref"].as_str().unwrap();

        // Every variable, with its value, type and targets.
        let vars = world.vercel().env_vars(project_id);
        let resources = engine.venture_resources(&user, &venture.id).await.unwrap();
        let staging = resources.iter().find(|(kind, _)| kind == crate::provision::kind::VERCEL_STAGING).unwrap();
        let staging_id = staging.1.external_id.clone().unwrap();
        for name in crate::provision::desired_env_names() {
            let entries: Vec<_> = vars.iter().filter(|v| v["key"] == name).collect();
            assert!(!entries.is_empty(), "{name} is missing");
            let deployed = entries.iter().find(|v| v["target"].as_array().unwrap().iter().any(|t| t == "production"));
            let deployed = deployed.unwrap_or_else(|| panic!("{name} has no production entry"));
            assert!(deployed["target"].as_array().unwrap().iter().any(|t| t == "preview"), "{name}: preview");
            assert_eq!(deployed["customEnvironmentIds"][0].as_str(), Some(staging_id.as_str()), "{name}: staging");
            let in_development =
                entries.iter().any(|v| v["target"].as_array().unwrap().iter().any(|t| t == "development"));
            assert!(in_development, "{name}: development");
        }
        let entry = |key: &str| vars.iter().find(|v| v["key"] == key && v["type"] == "sensitive").cloned();
        let pooled = entry("POSTGRES_URL").expect("POSTGRES_URL is sensitive");
        let admin = engine
            .create_user_unchecked("ada", &SecretString::from("another long password"), Role::Admin)
            .await
            .unwrap();
        assert!(engine.reveal_secret(&user, &venture.id, "SUPABASE_DB_PASSWORD").await.is_err(), "admins only");
        let password = engine.reveal_secret(&admin, &venture.id, "SUPABASE_DB_PASSWORD").await.unwrap();
        let url = pooled["value"].as_str().unwrap();
        assert!(url.contains(password.expose_secret()) && url.contains(":6543/") && url.contains(reference), "{url}");
        assert!(!url.contains("[YOUR-PASSWORD]"));
        assert!(entry("SUPABASE_SERVICE_ROLE_KEY").is_some() && entry("SUPABASE_SECRET_KEY").is_some());
        let public = vars.iter().find(|v| v["key"] == "NEXT_PUBLIC_SUPABASE_URL").unwrap();
        assert_eq!(public["value"], format!("https://{reference}.supabase.co"));
        assert_eq!(public["type"], "encrypted");

        // Nothing secret reached the log.
        let log = engine.venture_events(&user, &venture.id, 0, 1000).await.unwrap();
        let text = format!("{log:?}");
        assert!(!text.contains(password.expose_secret()), "the log carries no password");
        assert!(log.iter().any(|e| e.step == "vercel.deploy" && e.message.contains("Production is live")), "{log:#?}");

        // Applying again converges with reads only.
        let before = world.vercel().requests().len() + world.supabase().requests().len();
        let seen_vercel = world.vercel().requests().len();
        let seen_supabase = world.supabase().requests().len();
        engine.apply_venture(&user, &venture.id).await.unwrap();
        let engine = world.open_process(&db, "process-a2").await;
        assert_eq!(settle(&engine, &user, &venture.id).await, VentureStatus::Ready);
        let again: Vec<_> = world.vercel().requests()[seen_vercel..]
            .iter()
            .chain(&world.supabase().requests()[seen_supabase..])
            .cloned()
            .collect();
        assert!(world.vercel().requests().len() + world.supabase().requests().len() > before, "it did look");
        assert_eq!(writes(&again), Vec::<String>::new(), "a converged venture needs no write");
    }

    #[tokio::test]
    async fn a_job_killed_mid_create_resumes_and_adopts_what_it_made() {
        let (_dir, db) = database();
        // Creates land at once but answers take a while: the crash below falls between.
        let world = World::new(FaultPlan { latency: Duration::from_millis(400), ..FaultPlan::default() }).await;
        let first = world.open_process(&db, "process-a").await;
        let user = creator(&first).await;
        let venture = first.create_venture(&user, &NewVenture::new("acme-shop", "acme/shop")).await.unwrap();
        let runner = first.runner();
        let crashed = tokio::spawn(async move { runner.run_once().await });
        wait_for("both projects to exist", async || {
            !world.vercel().projects().is_empty() && !world.supabase().projects().is_empty()
        })
        .await;
        crashed.abort(); // the process dies with the create answers in flight
        let _ = crashed.await;
        drop(first);

        let second = world.open_process(&db, "process-b").await;
        assert_eq!(settle(&second, &user, &venture.id).await, VentureStatus::Ready);
        assert_eq!(world.vercel().projects().len(), 1, "exactly one Vercel project");
        assert_eq!(world.supabase().projects().len(), 1, "exactly one Supabase project");
        let creates = |requests: Vec<crate::sim::RecordedRequest>, path: &str| {
            requests.iter().filter(|r| r.method == "POST" && r.path == path).count()
        };
        assert_eq!(creates(world.vercel().requests(), "/v11/projects"), 1, "looked up, not created again");
        assert_eq!(creates(world.supabase().requests(), "/v1/projects"), 1, "looked up, not created again");
        let log = second.venture_events(&user, &venture.id, 0, 1000).await.unwrap();
        assert!(log.iter().filter(|e| e.message.contains("Adopting")).count() >= 2, "{log:#?}");
        assert!(log.iter().any(|e| e.message.contains("attempt 2")), "{log:#?}");
    }

    #[tokio::test]
    async fn a_foreign_project_stops_its_branch_and_the_other_branch_still_finishes() {
        let (_dir, db) = database();
        let world = World::new(FaultPlan::default()).await;
        let engine = world.open_process(&db, "process-a").await;
        let user = creator(&engine).await;
        reqwest::Client::new()
            .post(format!("{}/v11/projects", world.vercel().base_url()))
            .bearer_auth(TOKEN)
            .json(&serde_json::json!({"name": "taken"}))
            .send()
            .await
            .unwrap();
        let taken = engine.create_venture(&user, &NewVenture::new("taken", "acme/taken")).await.unwrap();
        assert_eq!(settle(&engine, &user, &taken.id).await, VentureStatus::Failed);
        let log = engine.venture_events(&user, &taken.id, 0, 1000).await.unwrap();
        let last = log.last().unwrap();
        assert_eq!(last.level, "error");
        assert!(last.message.contains("already exists") && last.message.contains("another name"), "{}", last.message);
        // The Supabase branch went on and is recorded: applying again after a rename adopts it.
        assert_eq!(world.supabase().projects().len(), 1);
        let resources = engine.venture_resources(&user, &taken.id).await.unwrap();
        let supabase = resources.iter().find(|(kind, _)| kind == crate::provision::kind::SUPABASE_PROJECT).unwrap();
        assert!(supabase.1.external_id.is_some());
        assert_eq!(world.vercel().projects().len(), 1, "the foreign project was left alone");
    }

    #[tokio::test]
    async fn transient_failures_and_a_lost_answer_are_retried_until_ready() {
        let (_dir, db) = database();
        let world = World::new(FaultPlan::default()).await;
        let engine = world.open_process(&db, "process-a").await;
        let user = creator(&engine).await;
        // More consecutive 503s than one call's retry budget allows: the job itself retries,
        // then the create's answer is lost: the next attempt looks the project up.
        let mut faults = vec![Fault::ServerError(503); 4];
        faults.push(Fault::Dropped { handled: true });
        world.vercel().queue_faults_for("POST", "/v11/projects", faults);
        world.supabase().queue_faults_for("POST", "/v1/projects", [Fault::Dropped { handled: true }]);
        let venture = engine.create_venture(&user, &NewVenture::new("flaky", "acme/flaky")).await.unwrap();
        assert_eq!(settle(&engine, &user, &venture.id).await, VentureStatus::Ready);
        assert_eq!(world.vercel().projects().len(), 1);
        assert_eq!(world.supabase().projects().len(), 1);
        let log = engine.venture_events(&user, &venture.id, 0, 1000).await.unwrap();
        assert!(log.iter().any(|e| e.level == "warn" && e.message.contains("Retrying")), "{log:#?}");
        assert!(log.iter().any(|e| e.message.contains("Adopting")), "{log:#?}");
    }

    #[tokio::test]
    async fn a_supabase_project_that_fails_to_start_fails_with_what_to_do() {
        let (_dir, db) = database();
        let world = World::new(FaultPlan::default()).await;
        world.supabase().fail_next_project_init();
        let engine = world.open_process(&db, "process-a").await;
        let user = creator(&engine).await;
        let venture = engine.create_venture(&user, &NewVenture::new("doomed", "acme/doomed")).await.unwrap();
        assert_eq!(settle(&engine, &user, &venture.id).await, VentureStatus::Failed);
        let log = engine.venture_events(&user, &venture.id, 0, 1000).await.unwrap();
        let failure = log.iter().find(|e| e.level == "error").unwrap();
        assert!(
            failure.message.contains("InitFailed") && failure.message.contains("apply again"),
            "{}",
            failure.message
        );
        assert_eq!(world.vercel().projects().len(), 1, "the Vercel branch finished");
        assert!(writes(&world.vercel().requests()).iter().all(|w| !w.contains("/env")), "nothing wired without keys");
    }

    #[tokio::test]
    async fn the_plan_shows_creates_then_nothing_then_the_drift_an_apply_repairs() {
        use crate::provision::Action;
        let (_dir, db) = database();
        let world = World::new(FaultPlan::default()).await;
        let engine = world.open_process(&db, "process-a").await;
        let user = creator(&engine).await;
        let input = NewVenture::new("planned", "acme/planned");
        let actions = |plan: &[crate::provision::PlannedAction]| plan.iter().map(|a| a.action).collect::<Vec<_>>();

        let before = engine.plan_new_venture(&user, &input).await.unwrap();
        assert_eq!(actions(&before), [Action::Create; 5], "{before:#?}");
        assert!(writes(&world.vercel().requests()).is_empty(), "planning writes nothing");

        let venture = engine.create_venture(&user, &input).await.unwrap();
        assert_eq!(settle(&engine, &user, &venture.id).await, VentureStatus::Ready);
        let converged = engine.plan_venture(&user, &venture.id).await.unwrap();
        assert_eq!(actions(&converged), [Action::NoChange; 5], "{converged:#?}");

        // Someone changes the build command and deletes a variable in Vercel's dashboard.
        let http = reqwest::Client::new();
        let project = world.vercel().projects()[0]["id"].as_str().unwrap().to_string();
        http.patch(format!("{}/v9/projects/{project}", world.vercel().base_url()))
            .bearer_auth(TOKEN)
            .json(&serde_json::json!({"buildCommand": "rm -rf /"}))
            .send()
            .await
            .unwrap();
        let victim =
            world.vercel().env_vars(&project).iter().find(|v| v["key"] == "SUPABASE_URL").unwrap()["id"].clone();
        http.delete(format!("{}/v9/projects/{project}/env/{}", world.vercel().base_url(), victim.as_str().unwrap()))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        let drifted = engine.plan_venture(&user, &venture.id).await.unwrap();
        let by_resource = |plan: &[crate::provision::PlannedAction], resource: &str| {
            plan.iter().find(|a| a.resource == resource).unwrap().clone()
        };
        let vercel = by_resource(&drifted, "Vercel project");
        assert_eq!((vercel.action, vercel.detail.as_str()), (Action::Update, "change build command"));
        assert_eq!(by_resource(&drifted, "Environment variables").action, Action::Update);
        assert_eq!(by_resource(&drifted, "Production deployment").action, Action::Update);
        assert_eq!(by_resource(&drifted, "Supabase project").action, Action::NoChange);

        engine.apply_venture(&user, &venture.id).await.unwrap();
        let engine = world.open_process(&db, "process-a2").await;
        assert_eq!(settle(&engine, &user, &venture.id).await, VentureStatus::Ready);
        let repaired = engine.plan_venture(&user, &venture.id).await.unwrap();
        assert_eq!(actions(&repaired), [Action::NoChange; 5], "{repaired:#?}");
        assert!(world.vercel().projects()[0]["buildCommand"].is_null());

        // A name held by someone else's project is shown before anything is created.
        http.post(format!("{}/v11/projects", world.vercel().base_url()))
            .bearer_auth(TOKEN)
            .json(&serde_json::json!({"name": "squatted"}))
            .send()
            .await
            .unwrap();
        let blocked = engine.plan_new_venture(&user, &NewVenture::new("squatted", "acme/squatted")).await.unwrap();
        let vercel = by_resource(&blocked, "Vercel project");
        assert_eq!(vercel.action, Action::Blocked, "{blocked:#?}");
        assert!(vercel.detail.contains("already exists"));
    }

    #[tokio::test]
    async fn destroy_needs_the_name_repeated_and_removes_everything_it_made() {
        let (_dir, db) = database();
        let world = World::new(FaultPlan::default()).await;
        let engine = world.open_process(&db, "process-a").await;
        let user = creator(&engine).await;
        let venture = engine.create_venture(&user, &NewVenture::new("short-lived", "acme/short")).await.unwrap();
        assert_eq!(settle(&engine, &user, &venture.id).await, VentureStatus::Ready);
        assert_eq!((world.vercel().projects().len(), world.supabase().projects().len()), (1, 1));

        match engine.destroy_venture(&user, &venture.id, "short-lived-typo").await {
            Err(crate::EngineError::Invalid(errors)) => assert_eq!(errors[0].field, "confirm"),
            other => panic!("a wrong confirmation must be refused: {other:?}"),
        }
        assert_eq!(world.vercel().projects().len(), 1, "nothing happened");

        engine.destroy_venture(&user, &venture.id, "short-lived").await.unwrap();
        let engine = world.open_process(&db, "process-a2").await;
        let runner = engine.start_runner();
        wait_for("the venture to be destroyed", async || {
            engine.venture(&user, &venture.id).await.unwrap().status == VentureStatus::Destroyed
        })
        .await;
        engine.shutdown();
        runner.await.unwrap();
        assert!(world.vercel().projects().is_empty());
        assert!(world.supabase().projects().is_empty());
        assert!(engine.venture_resources(&user, &venture.id).await.unwrap().is_empty());
        assert!(engine.secret_names(&user, &venture.id).await.unwrap().is_empty());
        let log = engine.venture_events(&user, &venture.id, 0, 1000).await.unwrap();
        assert!(log.iter().any(|e| e.message == "short-lived is destroyed"), "{log:#?}");
    }

    #[tokio::test]
    async fn a_destroy_during_an_apply_stops_it_and_removes_what_it_made_in_flight_creates_included() {
        let (_dir, db) = database();
        // Creates land at once, but their answers come only after the apply has been stopped
        // (its lease renewal fails within 300 ms): only the intents are recorded, and the
        // destroy must find the projects by name.
        let world = World::new(FaultPlan { latency: Duration::from_millis(1500), ..FaultPlan::default() }).await;
        let engine = world.open_process(&db, "process-a").await;
        let user = creator(&engine).await;
        let venture = engine.create_venture(&user, &NewVenture::new("change-of-mind", "acme/mind")).await.unwrap();
        let runner = engine.start_runner();
        wait_for("both creates to land", async || {
            !world.vercel().projects().is_empty() && !world.supabase().projects().is_empty()
        })
        .await;
        let job = engine.destroy_venture(&user, &venture.id, "change-of-mind").await.expect("not refused");
        wait_for("the venture to be destroyed", async || {
            engine.venture(&user, &venture.id).await.unwrap().status == VentureStatus::Destroyed
        })
        .await;
        engine.shutdown();
        runner.await.unwrap();

        assert!(world.vercel().projects().is_empty(), "{:#?}", world.vercel().projects());
        assert!(world.supabase().projects().is_empty(), "{:#?}", world.supabase().projects());
        let log = engine.venture_events(&user, &venture.id, 0, 1000).await.unwrap();
        assert!(log.iter().any(|e| e.step == "cancelled"), "{log:#?}");
        let destroyed_at = log.iter().find(|e| e.job_id.as_deref() == Some(job.as_str()) && e.step == "destroy");
        let apply_after = log.iter().filter(|e| {
            e.job_id.as_deref() != Some(job.as_str())
                && (e.step.starts_with("vercel.") || e.step.starts_with("supabase."))
        });
        let last_apply_line = apply_after.map(|e| e.id).max().unwrap_or(0);
        assert!(destroyed_at.unwrap().id > last_apply_line, "the apply said nothing once the destroy began: {log:#?}");
    }

    /// The fault drill: 50 ventures applied while 10% of all platform requests fail
    /// transiently (429, 5xx, connections dropped before or after the request took effect).
    /// All converge, and each platform holds exactly one project per venture.
    #[tokio::test]
    async fn fifty_ventures_converge_through_ten_percent_faults() {
        let (_dir, db) = database();
        let faults = FaultPlan {
            rate_limit_share: 0.03,
            server_error_share: 0.04,
            dropped_share: 0.03,
            retry_after_secs: 0,
            seed: 50,
            ..FaultPlan::default()
        };
        let mut world = World::new(faults).await;
        // Polls at a pace the documented per-endpoint budgets allow for 50 ventures at once.
        world.polling = Duration::from_millis(150);
        let engine = world.open_process(&db, "process-a").await;
        let user = creator(&engine).await;
        let mut ids = Vec::new();
        for i in 0..50 {
            let venture = engine.create_venture(&user, &NewVenture::new(&format!("drill-{i:02}"), "acme/drill")).await;
            ids.push(venture.unwrap().id);
        }
        // Several runners, as several processes would have.
        let runners: Vec<_> = (0..4).map(|_| engine.start_runner()).collect();
        wait_for("every venture to settle", async || {
            let mut settled = 0;
            for id in &ids {
                if engine.venture(&user, id).await.unwrap().status != VentureStatus::Provisioning {
                    settled += 1;
                }
            }
            settled == ids.len()
        })
        .await;
        engine.shutdown();
        for runner in runners {
            runner.await.unwrap();
        }
        for id in &ids {
            let venture = engine.venture(&user, id).await.unwrap();
            let log = engine.venture_events(&user, id, 0, 1000).await.unwrap();
            assert_eq!(venture.status, VentureStatus::Ready, "{}: {:#?}", venture.name, log.last());
        }
        let names = |projects: Vec<serde_json::Value>| {
            let mut names: Vec<String> = projects.iter().map(|p| p["name"].as_str().unwrap().to_string()).collect();
            names.sort();
            names
        };
        let expected: Vec<String> = (0..50).map(|i| format!("drill-{i:02}")).collect();
        assert_eq!(names(world.vercel().projects()), expected, "one Vercel project per venture, none orphaned");
        assert_eq!(names(world.supabase().projects()), expected, "one Supabase project per venture, none orphaned");
        let failed = |requests: Vec<crate::sim::RecordedRequest>| requests.iter().filter(|r| r.status >= 429).count();
        assert!(failed(world.vercel().requests()) + failed(world.supabase().requests()) >= 50, "faults happened");
    }

    #[tokio::test]
    async fn after_a_master_key_rotation_every_value_is_resealed_and_opens_with_the_new_key_alone() {
        let (_dir, db) = database();
        let world = World::new(FaultPlan::default()).await;
        let before = world.open_process(&db, "process-a").await;
        let user = creator(&before).await;
        let venture = before.create_venture(&user, &NewVenture::new("acme-shop", "acme/shop")).await.unwrap();
        assert_eq!(settle(&before, &user, &venture.id).await, VentureStatus::Ready);
        let names = before.secret_names(&user, &venture.id).await.unwrap();
        assert!(names.len() >= 5, "{names:?}");
        drop(before);

        let new_key = crate::vault::generate_key();
        let rotated = VaultSettings::Key { current: new_key.clone(), previous: vec![world.key.clone()] };
        let during = world.open_process_with(&db, "process-b", rotated).await;
        let admin = during
            .create_user_unchecked("ada", &SecretString::from("another long password"), Role::Admin)
            .await
            .unwrap();
        let old_values: Vec<String> = {
            let mut values = Vec::new();
            for name in &names {
                values.push(during.reveal_secret(&admin, &venture.id, name).await.unwrap().expose_secret().to_string());
            }
            values
        };
        let report = during.reseal_secrets().await.unwrap();
        assert_eq!(report.resealed, names.len());
        assert!(report.unreadable.is_empty());
        assert_eq!(
            report.per_key,
            vec![(report.current_key_id.clone(), names.len() as i64)],
            "none left under the old key"
        );
        assert_eq!(during.reseal_secrets().await.unwrap().resealed, 0, "a second run has nothing to do");
        drop(during);

        let after =
            world.open_process_with(&db, "process-c", VaultSettings::Key { current: new_key, previous: vec![] }).await;
        for (name, old) in names.iter().zip(&old_values) {
            let value = after.reveal_secret(&admin, &venture.id, name).await.unwrap();
            assert_eq!(value.expose_secret(), old, "{name} survives the rotation unchanged");
        }

        // A process that lost the old key before re-sealing cannot read, and says which values.
        let (_dir2, db2) = database();
        let stale = world.open_process(&db2, "process-d").await;
        let user = creator(&stale).await;
        let venture = stale.create_venture(&user, &NewVenture::new("acme-blog", "acme/blog")).await.unwrap();
        assert_eq!(settle(&stale, &user, &venture.id).await, VentureStatus::Ready);
        drop(stale);
        let forgetful = VaultSettings::Key { current: crate::vault::generate_key(), previous: vec![] };
        let report = world.open_process_with(&db2, "process-e", forgetful).await.reseal_secrets().await.unwrap();
        assert_eq!(report.resealed, 0);
        assert!(report.unreadable.iter().any(|u| u.contains("SUPABASE_DB_PASSWORD")), "{:?}", report.unreadable);
    }
}
