//! `vercel.deploy`: a production deployment from the production branch, when there is none yet
//! or the variables or settings changed; the apply waits until it is `READY`.

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{EnvVars, VercelProject, kind};
use crate::events::Level;
use crate::platform::api::ErrorKind;
use crate::platform::vercel::{CreateDeploymentRequest, Deployment, GitProvider, GitSource, ReadyState};
use crate::provision::graph::{Action, Applied, Change, Resource, Upstream};
use crate::provision::{Context, StepError, poll};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeploymentId {
    pub id: String,
}

pub struct Observed {
    /// Whether Slipway ever deployed this venture.
    recorded: bool,
    /// The recorded deployment, if Vercel still has it.
    current: Option<Deployment>,
}

pub struct ProductionDeployment;

/// Whether the recorded deployment still serves the spec: nothing it was built from changed,
/// and it did not fail (a deployment still building is waited for).
fn still_current(upstream: &Upstream, deployment: &Deployment) -> bool {
    !upstream.changed::<EnvVars>()
        && !upstream.changed::<VercelProject>()
        && !matches!(deployment.ready_state, ReadyState::Error | ReadyState::Canceled)
}

impl Resource for ProductionDeployment {
    const NAME: &'static str = "vercel.deploy";
    const TITLE: &'static str = "Production deployment";
    type Output = DeploymentId;
    type Observed = Observed;

    async fn observe(ctx: &Context, _upstream: &Upstream) -> Result<Observed, StepError> {
        let recorded = ctx.store.resource(&ctx.venture.id, kind::VERCEL_DEPLOYMENT).await?;
        let current = match recorded.as_ref().and_then(|r| r.external_id.clone()) {
            Some(id) => match ctx.platforms.vercel.get_deployment(&id).await {
                Ok(deployment) => Some(deployment),
                Err(err) if err.is(ErrorKind::NotFound) => None,
                Err(err) => return Err(err.into()),
            },
            None => None,
        };
        Ok(Observed { recorded: recorded.is_some(), current })
    }

    fn diff(ctx: &Context, upstream: &Upstream, observed: &Observed) -> Change {
        let branch = &ctx.spec.production_branch;
        match &observed.current {
            Some(deployment) if still_current(upstream, deployment) => match deployment.ready_state {
                ReadyState::Ready => Change::new(Action::NoChange, format!("https://{} is live", deployment.url)),
                state => {
                    Change::new(Action::NoChange, format!("{} is {state:?}; the apply waits for it", deployment.id))
                }
            },
            Some(_) => Change::new(Action::Update, format!("redeploy from {branch}")),
            None => Change::new(Action::Create, format!("first deployment from {branch}")),
        }
    }

    fn current(observed: &Observed) -> Option<DeploymentId> {
        observed.current.as_ref().map(|d| DeploymentId { id: d.id.clone() })
    }

    async fn apply(
        ctx: &Context,
        upstream: &Upstream,
        observed: Observed,
        change: &Change,
    ) -> Result<Applied<DeploymentId>, StepError> {
        let vercel = &ctx.platforms.vercel;
        let deployment = match observed.current {
            Some(deployment) if !change.writes() => deployment,
            _ => {
                let project = upstream.require::<VercelProject>()?;
                let why = if observed.recorded { "the configuration changed" } else { "the first one" };
                let note = format!("Deploying production from {} ({why})", ctx.spec.production_branch);
                ctx.emit(Self::NAME, Level::Info, note).await;
                let request = CreateDeploymentRequest {
                    name: ctx.spec.name.to_string(),
                    project: Some(project.id),
                    target: Some("production".into()),
                    git_source: Some(GitSource {
                        provider: GitProvider::Github,
                        org: ctx.spec.repository.owner.clone(),
                        repo: ctx.spec.repository.name.clone(),
                        git_ref: ctx.spec.production_branch.clone(),
                        sha: None,
                    }),
                    ..CreateDeploymentRequest::default()
                };
                let deployment = vercel.create_deployment(&request).await?;
                let data = json!({ "url": deployment.url });
                ctx.store.set_resource(&ctx.venture.id, kind::VERCEL_DEPLOYMENT, Some(&deployment.id), &data).await?;
                deployment
            }
        };
        let deployment = wait_until_built(ctx, Self::NAME, deployment).await?;
        let data = json!({ "url": deployment.url, "state": deployment.ready_state });
        ctx.store.set_resource(&ctx.venture.id, kind::VERCEL_DEPLOYMENT, Some(&deployment.id), &data).await?;
        match deployment.ready_state {
            ReadyState::Ready => {
                ctx.emit(Self::NAME, Level::Info, format!("Production is live at https://{}", deployment.url)).await;
                let changed = !observed.recorded || upstream.changed::<EnvVars>();
                Ok(Applied { changed, output: DeploymentId { id: deployment.id } })
            }
            state => Err(StepError::Permanent(format!(
                "The production deployment {} ended {:?}{}: fix the build (see the deployment's logs in Vercel) \
                 and apply again",
                deployment.id,
                state,
                deployment.error_message.map(|m| format!(" ({m})")).unwrap_or_default()
            ))),
        }
    }

    /// It goes with the Vercel project; only the record is Slipway's to remove.
    async fn destroy(ctx: &Context) -> Result<(), StepError> {
        Ok(ctx.store.delete_resource(&ctx.venture.id, kind::VERCEL_DEPLOYMENT).await?)
    }
}

/// Polls `deployment` until it is ready, failed or canceled, logging each state it passes
/// through under `step`; one still building after the polling budget is a transient error
/// (the job looks again).
async fn wait_until_built(ctx: &Context, step: &str, deployment: Deployment) -> Result<Deployment, StepError> {
    let vercel = &ctx.platforms.vercel;
    let last = &std::sync::Mutex::new(None);
    let id = deployment.id.as_str();
    let finished = poll(ctx.polling.every, ctx.polling.deployment_ready_within, || async move {
        let deployment = vercel.get_deployment(id).await?;
        if *last.lock().unwrap() != Some(deployment.ready_state) {
            *last.lock().unwrap() = Some(deployment.ready_state);
            ctx.emit(step, Level::Info, format!("Deployment {id}: {:?}", deployment.ready_state)).await;
        }
        Ok(deployment.ready_state.is_final().then_some(deployment))
    })
    .await?;
    finished.ok_or_else(|| StepError::Transient(format!("deployment {id} is still building; will look again")))
}

/// Which running deployment a redeploy renews.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedeployTarget {
    Production,
    Staging,
}

impl RedeployTarget {
    /// Its redeploy's job kind, which also names the record of the build that job started.
    pub const fn kind(self) -> &'static str {
        match self {
            RedeployTarget::Production => "redeploy_production",
            RedeployTarget::Staging => "redeploy_staging",
        }
    }

    fn label(self) -> &'static str {
        match self {
            RedeployTarget::Production => "Production",
            RedeployTarget::Staging => "Staging",
        }
    }
}

/// Builds `target` again so it runs with the variables as they are at Vercel now, and waits
/// until it is live. Production is rebuilt from its recorded deployment (same commit, new
/// variables, as Vercel's "Redeploy"); staging from its branch into the staging environment.
/// `purpose` tells apart the builds one job starts for the same target (a rotation's, and its
/// rollback's): a resumed job waits for its build of that purpose instead of starting another.
pub async fn redeploy(ctx: &Context, target: RedeployTarget, purpose: &str) -> Result<Deployment, StepError> {
    let step = "redeploy";
    let project = ctx
        .store
        .resource(&ctx.venture.id, kind::VERCEL_PROJECT)
        .await?
        .and_then(|r| r.external_id)
        .ok_or_else(|| StepError::Permanent("the venture has no Vercel project yet: apply it first".into()))?;
    let request = match target {
        RedeployTarget::Production => {
            let last = ctx.store.resource(&ctx.venture.id, kind::VERCEL_DEPLOYMENT).await?.and_then(|r| r.external_id);
            let last = last.ok_or_else(|| {
                StepError::Permanent("production has no deployment yet: apply the venture first".into())
            })?;
            ctx.emit(step, Level::Info, format!("Redeploying production ({last}) with the current variables")).await;
            CreateDeploymentRequest {
                name: ctx.spec.name.to_string(),
                project: Some(project),
                target: Some("production".into()),
                deployment_id: Some(last),
                ..CreateDeploymentRequest::default()
            }
        }
        RedeployTarget::Staging => {
            let branch = ctx
                .spec
                .staging_branch
                .clone()
                .ok_or_else(|| StepError::Permanent("staging is off for this venture".into()))?;
            let environment =
                ctx.store.resource(&ctx.venture.id, kind::VERCEL_STAGING).await?.and_then(|r| r.external_id);
            let environment = environment.ok_or_else(|| {
                StepError::Permanent("the staging environment is not made yet: apply the venture first".into())
            })?;
            ctx.emit(step, Level::Info, format!("Deploying staging from {branch} with the current variables")).await;
            CreateDeploymentRequest {
                name: ctx.spec.name.to_string(),
                project: Some(project),
                custom_environment_slug_or_id: Some(environment),
                git_source: Some(GitSource {
                    provider: GitProvider::Github,
                    org: ctx.spec.repository.owner.clone(),
                    repo: ctx.spec.repository.name.clone(),
                    git_ref: branch,
                    sha: None,
                }),
                ..CreateDeploymentRequest::default()
            }
        }
    };
    // The build this job started, if an earlier attempt of it got that far: waited for again,
    // never started twice.
    let in_flight = target.kind();
    let job = ctx.job.as_ref().map(|j| j.id.clone());
    let started = ctx.store.resource(&ctx.venture.id, in_flight).await?.filter(|r| {
        r.data["job"].as_str() == job.as_deref() && r.data["purpose"].as_str().unwrap_or("redeploy") == purpose
    });
    let deployment = match started.and_then(|r| r.external_id) {
        Some(id) => ctx.platforms.vercel.get_deployment(&id).await?,
        None => {
            let deployment = ctx.platforms.vercel.create_deployment(&request).await?;
            let data = json!({ "job": job, "purpose": purpose });
            ctx.store.set_resource(&ctx.venture.id, in_flight, Some(&deployment.id), &data).await?;
            deployment
        }
    };
    let deployment = wait_until_built(ctx, step, deployment).await?;
    let name = target.label();
    match deployment.ready_state {
        ReadyState::Ready => {
            if target == RedeployTarget::Production {
                let data = json!({ "url": deployment.url, "state": deployment.ready_state });
                ctx.store.set_resource(&ctx.venture.id, kind::VERCEL_DEPLOYMENT, Some(&deployment.id), &data).await?;
            }
            ctx.emit(step, Level::Info, format!("{name} is live at https://{}", deployment.url)).await;
            Ok(deployment)
        }
        state => Err(StepError::Permanent(format!(
            "the {} deployment {} ended {state:?}{}: the running one stays as it was",
            name.to_lowercase(),
            deployment.id,
            deployment.error_message.map(|m| format!(" ({m})")).unwrap_or_default()
        ))),
    }
}
