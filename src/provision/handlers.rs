//! Apply and destroy as job handlers: what the runner calls for a venture's job.

use std::sync::Arc;

use super::resources::{EnvVars, RedeployTarget, redeploy};
use super::{Context, GRAPH, JobLease, ProvisionConfig, StepError, graph};
use crate::events::{EventLog, Level};
use crate::jobs::{HandlerFuture, Job, JobError, JobHandler};
use crate::platforms::Platforms;
use crate::provision::graph::Resource;
use crate::store::Store;
use crate::vault::Vault;
use crate::venture::{NewVenture, Venture, VentureSpec, VentureStatus};

/// Job kind: apply a venture's spec.
pub const APPLY_VENTURE: &str = "provision_venture";
/// Job kind: destroy what a venture's applies made.
pub const DESTROY_VENTURE: &str = "destroy_venture";
/// Job kind: sync the venture's variables to Vercel, without deploying.
pub const SYNC_ENV: &str = "sync_env";
// The redeploy jobs' kinds are `RedeployTarget::kind()`.

/// What both handlers use.
#[derive(Clone)]
pub struct Provisioner {
    pub store: Store,
    pub events: EventLog,
    pub platforms: Platforms,
    pub vault: Arc<Vault>,
    pub config: ProvisionConfig,
}

impl From<StepError> for JobError {
    fn from(err: StepError) -> Self {
        match err {
            StepError::Transient(message) => JobError::Retry { message, after: None },
            // Jobs run without a patience, so their calls wait for the budget; should one not,
            // the job goes back in the queue until the budget frees up.
            err @ StepError::OverBudget { retry_after } => {
                JobError::Retry { message: err.to_string(), after: Some(retry_after) }
            }
            StepError::Permanent(message) => JobError::Fail(message),
            StepError::LeaseLost => JobError::LeaseLost,
        }
    }
}

impl Provisioner {
    /// The venture and its spec (as stored; a venture from before specs were stored gets the
    /// defaults), ready for its resources.
    pub async fn context(&self, venture: Venture, job: Option<JobLease>) -> Result<Context, StepError> {
        let input = match self.store.venture_spec(&venture.id).await? {
            Some(json) => serde_json::from_str::<NewVenture>(&json)
                .map_err(|e| StepError::Permanent(format!("the stored venture spec does not read back: {e}")))?,
            None => NewVenture::new(&venture.name, &venture.repository),
        };
        let spec = input.validate().map_err(|errors| {
            let rules: Vec<String> = errors.iter().map(ToString::to_string).collect();
            StepError::Permanent(format!("the venture spec is invalid: {}", rules.join("; ")))
        })?;
        Ok(self.context_for(venture, spec, job))
    }

    pub fn context_for(&self, venture: Venture, spec: VentureSpec, job: Option<JobLease>) -> Context {
        Context {
            store: self.store.clone(),
            events: self.events.clone(),
            platforms: self.platforms.clone(),
            vault: self.vault.clone(),
            venture,
            spec,
            job,
            polling: self.config.polling.clone(),
        }
    }

    async fn venture(&self, job: &Job) -> Result<Venture, StepError> {
        self.store
            .venture(&job.venture_id)
            .await?
            .ok_or_else(|| StepError::Permanent("the venture no longer exists".into()))
    }

    async fn mark_failed(&self, job: &Job) -> Result<(), JobError> {
        Ok(self.store.set_venture_status(&job.venture_id, VentureStatus::Failed).await?)
    }
}

pub(super) fn lease(job: &Job) -> Option<JobLease> {
    Some(JobLease { id: job.id.clone(), owner: job.owner.clone() })
}

/// Applies a venture's spec: every resource of the graph, converging what drifted.
pub struct ApplyVenture(pub Provisioner);

impl ApplyVenture {
    async fn apply(&self, job: &Job) -> Result<(), StepError> {
        let p = &self.0;
        let venture = p.venture(job).await?;
        let ctx = p.context(venture.clone(), lease(job)).await?;
        let note = if job.attempt > 1 {
            format!("Resuming the apply of {} (attempt {}, on {})", venture.name, job.attempt, job.owner)
        } else {
            format!("Applying {} from github.com/{} (on {})", venture.name, venture.repository, job.owner)
        };
        ctx.emit("start", Level::Info, &note).await;
        p.store.set_venture_status(&venture.id, VentureStatus::Provisioning).await?;
        graph::apply(&ctx, GRAPH, p.config.schedule).await?;
        let errors = super::lint_errors(&p.store, &venture.id).await?;
        if errors > 0 {
            p.store.set_venture_status(&venture.id, VentureStatus::NeedsAttention).await?;
            let note = format!(
                "{} is applied but needs attention: the database linter found {errors} error(s) (see the Database & Auth tab)",
                venture.name
            );
            ctx.emit("done", Level::Warn, note).await;
        } else {
            p.store.set_venture_status(&venture.id, VentureStatus::Ready).await?;
            ctx.emit("done", Level::Info, format!("{} is ready", venture.name)).await;
        }
        Ok(())
    }
}

impl JobHandler for ApplyVenture {
    fn kind(&self) -> &'static str {
        APPLY_VENTURE
    }

    fn run<'a>(&'a self, job: &'a Job) -> HandlerFuture<'a, Result<(), JobError>> {
        Box::pin(async move { Ok(self.apply(job).await?) })
    }

    fn failed<'a>(&'a self, job: &'a Job, _message: &'a str) -> HandlerFuture<'a, Result<(), JobError>> {
        Box::pin(self.0.mark_failed(job))
    }
}

/// Destroys what a venture's applies made, dependents first, then its sealed values. Each
/// resource's destroy is idempotent: what is already gone counts as done.
pub struct DestroyVenture(pub Provisioner);

impl DestroyVenture {
    async fn destroy(&self, job: &Job) -> Result<(), StepError> {
        let p = &self.0;
        let venture = p.venture(job).await?;
        // The destroy needs only the name; a spec that no longer validates must not stop it.
        let ctx = match p.context(venture.clone(), lease(job)).await {
            Ok(ctx) => ctx,
            Err(_) => {
                let fallback = NewVenture::new(&venture.name, &venture.repository).validate().map_err(|_| {
                    StepError::Permanent(format!("{} has no name Slipway can destroy by", venture.name))
                })?;
                p.context_for(venture.clone(), fallback, lease(job))
            }
        };
        ctx.emit("destroy", Level::Info, format!("Destroying {}", venture.name)).await;
        graph::destroy(&ctx, GRAPH).await?;
        p.store.delete_secrets(&venture.id).await?;
        ctx.emit("destroy", Level::Info, "Removed the venture's sealed values").await;
        p.store.set_venture_status(&venture.id, VentureStatus::Destroyed).await?;
        ctx.emit("destroy", Level::Info, format!("{} is destroyed", venture.name)).await;
        Ok(())
    }
}

impl JobHandler for DestroyVenture {
    fn kind(&self) -> &'static str {
        DESTROY_VENTURE
    }

    fn run<'a>(&'a self, job: &'a Job) -> HandlerFuture<'a, Result<(), JobError>> {
        Box::pin(async move { Ok(self.destroy(job).await?) })
    }

    fn failed<'a>(&'a self, job: &'a Job, _message: &'a str) -> HandlerFuture<'a, Result<(), JobError>> {
        Box::pin(self.0.mark_failed(job))
    }
}

/// Syncs the venture's variables: the `vercel.env` resource and what it reads from, nothing
/// after it (no deployment). The venture's status stays as it is; a refused variable shows in
/// the env manager and the log.
pub struct SyncEnv(pub Provisioner);

impl SyncEnv {
    async fn sync(&self, job: &Job) -> Result<(), StepError> {
        let p = &self.0;
        let venture = p.venture(job).await?;
        let ctx = p.context(venture.clone(), lease(job)).await?;
        ctx.emit("start", Level::Info, format!("Syncing {}'s variables to Vercel (on {})", venture.name, job.owner))
            .await;
        graph::apply(&ctx, &graph::through(GRAPH, EnvVars::NAME), p.config.schedule).await?;
        let note = "Variables synced; running deployments get them when they are redeployed";
        ctx.emit("done", Level::Info, note).await;
        Ok(())
    }
}

impl JobHandler for SyncEnv {
    fn kind(&self) -> &'static str {
        SYNC_ENV
    }

    fn run<'a>(&'a self, job: &'a Job) -> HandlerFuture<'a, Result<(), JobError>> {
        Box::pin(async move { Ok(self.sync(job).await?) })
    }

    fn failed<'a>(&'a self, _job: &'a Job, _message: &'a str) -> HandlerFuture<'a, Result<(), JobError>> {
        Box::pin(async { Ok(()) })
    }
}

/// Redeploys production or staging (see [`redeploy`]); the venture's status stays as it is,
/// and a failed build leaves the running deployment serving.
pub struct Redeploy(pub Provisioner, pub RedeployTarget);

impl Redeploy {
    async fn redeploy(&self, job: &Job) -> Result<(), StepError> {
        let p = &self.0;
        let venture = p.venture(job).await?;
        let ctx = p.context(venture, lease(job)).await?;
        redeploy(&ctx, self.1, "redeploy").await.map(|_| ())
    }
}

impl JobHandler for Redeploy {
    fn kind(&self) -> &'static str {
        self.1.kind()
    }

    fn run<'a>(&'a self, job: &'a Job) -> HandlerFuture<'a, Result<(), JobError>> {
        Box::pin(async move { Ok(self.redeploy(job).await?) })
    }

    fn failed<'a>(&'a self, _job: &'a Job, _message: &'a str) -> HandlerFuture<'a, Result<(), JobError>> {
        Box::pin(async { Ok(()) })
    }
}
