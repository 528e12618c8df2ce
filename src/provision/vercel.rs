//! The Vercel branch: the project (Next.js settings, git link, previews on), the `staging`
//! custom environment, and the production deployment.

use std::collections::BTreeMap;

use serde_json::json;

use super::{Context, Step, StepOutput, kind, poll};
use crate::events::Level;
use crate::jobs::StepError;
use crate::platform::api::ErrorKind;
use crate::platform::vercel::{
    BranchMatcher, BranchMatcherType, CreateCustomEnvironment, CreateDeploymentRequest, CreateProjectRequest,
    GitProvider, GitRepository, GitSource, Project, ReadyState, UpdateCustomEnvironment, UpdateProjectRequest,
};
use crate::venture::VentureSpec;

/// The project settings the spec asks for, as an update that changes only what differs.
pub(super) fn settings_drift(spec: &VentureSpec, project: &Project) -> UpdateProjectRequest {
    let framework = &spec.framework;
    let differs = |have: &Option<String>, want: &Option<String>| (have != want).then(|| want.clone());
    UpdateProjectRequest {
        framework: differs(&project.framework, &Some(framework.framework.clone())),
        build_command: differs(&project.build_command, &framework.build_command),
        install_command: differs(&project.install_command, &framework.install_command),
        dev_command: differs(&project.dev_command, &framework.dev_command),
        output_directory: differs(&project.output_directory, &framework.output_directory),
        root_directory: differs(&project.root_directory, &framework.root_directory),
        node_version: (project.node_version != framework.node_version).then(|| framework.node_version.clone()),
        // Preview deployments for branches and pull requests are part of the promise.
        preview_deployments_disabled: (project.preview_deployments_disabled == Some(true)).then_some(false),
    }
}

/// Step `vercel.project`: exactly one Vercel project per venture, with the spec's settings.
pub async fn project(ctx: &Context) -> Result<StepOutput, StepError> {
    let step = Step::VercelProject;
    let vercel = &ctx.platforms.vercel;
    let name = ctx.spec.name.as_str();
    let recorded = ctx.store.resource(&ctx.venture.id, kind::VERCEL_PROJECT).await?;
    let mut changed = false;
    let known = match recorded.as_ref().and_then(|r| r.external_id.clone()) {
        Some(id) => vercel.find_project(&id).await?,
        None => None,
    };
    let project = match known {
        Some(project) => project,
        None => match vercel.find_project(name).await? {
            Some(project) if recorded.is_some() => {
                ctx.emit(
                    step,
                    Level::Info,
                    format!("Adopting Vercel project {} from an interrupted attempt", project.id),
                )
                .await;
                project
            }
            Some(project) => {
                return Err(StepError::Permanent(format!(
                    "A Vercel project named {name} already exists ({}) and was not created for this venture: \
                     delete it in Vercel or create the venture under another name",
                    project.id
                )));
            }
            None => {
                // The intent goes first: if we die before the answer, the next attempt adopts.
                ctx.store.set_resource(&ctx.venture.id, kind::VERCEL_PROJECT, None, &json!({})).await?;
                ctx.emit(
                    step,
                    Level::Info,
                    format!("Creating Vercel project {name} (github.com/{})", ctx.spec.repository),
                )
                .await;
                let framework = &ctx.spec.framework;
                let request = CreateProjectRequest {
                    name: name.to_string(),
                    framework: Some(framework.framework.clone()),
                    build_command: framework.build_command.clone(),
                    install_command: framework.install_command.clone(),
                    dev_command: framework.dev_command.clone(),
                    output_directory: framework.output_directory.clone(),
                    root_directory: framework.root_directory.clone(),
                    git_repository: Some(GitRepository {
                        provider: GitProvider::Github,
                        repo: ctx.spec.repository.to_string(),
                    }),
                    preview_deployments_disabled: Some(false),
                };
                changed = true;
                match vercel.create_project(&request).await {
                    Ok(project) => project,
                    // A retried create whose first try landed: ours, by the intent above.
                    Err(err) if err.is(ErrorKind::Conflict) => vercel.get_project(name).await?,
                    Err(err) if err.is(ErrorKind::BadRequest) && err.message.to_lowercase().contains("github") => {
                        return Err(StepError::Permanent(format!(
                            "Vercel cannot link github.com/{}: {}. Install the Vercel GitHub app for that \
                             repository (github.com/apps/vercel) and apply again",
                            ctx.spec.repository, err.message
                        )));
                    }
                    Err(err) => return Err(err.into()),
                }
            }
        },
    };
    ctx.store.set_vercel_project(&ctx.venture.id, &project.id).await?;
    ctx.store
        .set_resource(&ctx.venture.id, kind::VERCEL_PROJECT, Some(&project.id), &json!({ "name": project.name }))
        .await?;
    let drift = settings_drift(&ctx.spec, &project);
    let project = if drift != UpdateProjectRequest::default() {
        ctx.emit(step, Level::Info, "Updating the Vercel project's build settings to the spec").await;
        changed = true;
        vercel.update_project(&project.id, &drift).await?
    } else {
        project
    };
    if let Some(branch) = project.link.as_ref().and_then(|l| l.production_branch.as_deref())
        && branch != ctx.spec.production_branch
    {
        // No API sets it: Vercel takes the repository's default branch.
        ctx.emit(
            step,
            Level::Warn,
            format!(
                "Vercel deploys production from {branch}, not {}: change the production branch in the Vercel \
                 project's Git settings, or the repository's default branch",
                ctx.spec.production_branch
            ),
        )
        .await;
    }
    ctx.emit(step, Level::Info, format!("Vercel project {} ready", project.id)).await;
    Ok(StepOutput { changed, data: json!({ "id": project.id, "name": project.name }) })
}

fn project_id(inputs: &BTreeMap<Step, StepOutput>) -> Result<String, StepError> {
    inputs
        .get(&Step::VercelProject)
        .and_then(|o| o.data["id"].as_str())
        .map(str::to_string)
        .ok_or_else(|| StepError::Permanent("the Vercel project id is missing".into()))
}

pub const STAGING_SLUG: &str = "staging";

/// Step `vercel.staging`: the `staging` custom environment, fed by the spec's branch.
pub async fn staging(ctx: &Context, inputs: &BTreeMap<Step, StepOutput>) -> Result<StepOutput, StepError> {
    let step = Step::VercelStaging;
    let project = project_id(inputs)?;
    let Some(branch) = ctx.spec.staging_branch.clone() else {
        return Ok(StepOutput { changed: false, data: json!({ "id": null }) });
    };
    let vercel = &ctx.platforms.vercel;
    let matcher = BranchMatcher { matcher: BranchMatcherType::Equals, pattern: branch.clone() };
    let existing = vercel.list_custom_environments(&project).await?.into_iter().find(|e| e.slug == STAGING_SLUG);
    let (environment, changed) = match existing {
        Some(environment) if environment.branch_matcher.as_ref() == Some(&matcher) => (environment, false),
        Some(environment) => {
            ctx.emit(step, Level::Info, format!("Pointing staging at branch {branch}")).await;
            let patch = UpdateCustomEnvironment { branch_matcher: Some(matcher), ..Default::default() };
            (vercel.update_custom_environment(&project, &environment.id, &patch).await?, true)
        }
        None => {
            ctx.emit(step, Level::Info, format!("Creating the staging environment (branch {branch})")).await;
            let request = CreateCustomEnvironment {
                slug: STAGING_SLUG.into(),
                description: Some("Pre-production, managed by Slipway".into()),
                branch_matcher: Some(matcher),
            };
            match vercel.create_custom_environment(&project, &request).await {
                Ok(environment) => (environment, true),
                // An unconfirmed or retried create that landed: it is there now.
                Err(err) if err.is(ErrorKind::Conflict) => {
                    (vercel.get_custom_environment(&project, STAGING_SLUG).await?, true)
                }
                Err(err) => return Err(err.into()),
            }
        }
    };
    let data = json!({ "id": environment.id, "branch": branch });
    ctx.store.set_resource(&ctx.venture.id, kind::VERCEL_STAGING, Some(&environment.id), &data).await?;
    Ok(StepOutput { changed, data: json!({ "id": environment.id }) })
}

/// Step `vercel.deploy`: a production deployment from the production branch, when there is
/// none yet or the variables or settings changed; waits until it is `READY`.
pub async fn deploy(ctx: &Context, inputs: &BTreeMap<Step, StepOutput>) -> Result<StepOutput, StepError> {
    let step = Step::VercelDeploy;
    let env = inputs.get(&Step::VercelEnv).cloned().unwrap_or_default();
    let project = env.data["project"].as_str().map(str::to_string).unwrap_or_default();
    let settings_changed = env.data["project_changed"].as_bool().unwrap_or(false);
    let vercel = &ctx.platforms.vercel;
    let recorded = ctx.store.resource(&ctx.venture.id, kind::VERCEL_DEPLOYMENT).await?;
    let current = match recorded.as_ref().and_then(|r| r.external_id.clone()) {
        Some(id) => match vercel.get_deployment(&id).await {
            Ok(deployment) => Some(deployment),
            Err(err) if err.is(ErrorKind::NotFound) => None,
            Err(err) => return Err(err.into()),
        },
        None => None,
    };
    let deployment = match current {
        Some(deployment)
            if !env.changed
                && !settings_changed
                && deployment.ready_state != ReadyState::Error
                && deployment.ready_state != ReadyState::Canceled =>
        {
            deployment
        }
        _ => {
            let why = if recorded.is_some() { "the configuration changed" } else { "the first one" };
            ctx.emit(step, Level::Info, format!("Deploying production from {} ({why})", ctx.spec.production_branch))
                .await;
            let request = CreateDeploymentRequest {
                name: ctx.spec.name.to_string(),
                project: Some(project.clone()),
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
    let Some(deployment) = finished else {
        return Err(StepError::Transient(format!("deployment {id} is still building; will look again")));
    };
    let data = json!({ "url": deployment.url, "state": deployment.ready_state });
    ctx.store.set_resource(&ctx.venture.id, kind::VERCEL_DEPLOYMENT, Some(&deployment.id), &data).await?;
    match deployment.ready_state {
        ReadyState::Ready => {
            ctx.emit(step, Level::Info, format!("Production is live at https://{}", deployment.url)).await;
            Ok(StepOutput { changed: recorded.is_none() || env.changed, data: json!({ "id": deployment.id }) })
        }
        state => Err(StepError::Permanent(format!(
            "The production deployment {} ended {:?}{}: fix the build (see the deployment's logs in Vercel) and \
             apply again",
            deployment.id,
            state,
            deployment.error_message.map(|m| format!(" ({m})")).unwrap_or_default()
        ))),
    }
}
