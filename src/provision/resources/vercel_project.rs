//! `vercel.project`: exactly one Vercel project per venture, with the spec's Next.js settings,
//! its git link and preview deployments on.

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::kind;
use crate::events::Level;
use crate::platform::api::ErrorKind;
use crate::platform::vercel::{CreateProjectRequest, GitProvider, GitRepository, Project, UpdateProjectRequest};
use crate::provision::graph::{Action, Applied, Change, Resource, Upstream};
use crate::provision::{Context, StepError};
use crate::venture::VentureSpec;

/// The project, for the resources that live in it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProjectId {
    pub id: String,
    pub name: String,
}

pub enum Observed {
    /// Ours: recorded by id, or found by name where a record says we made it (`adopted`).
    Ours {
        project: Box<Project>,
        adopted: bool,
    },
    /// A project with the venture's name that Slipway did not make for it.
    Foreign {
        id: String,
    },
    Absent,
}

pub struct VercelProject;

/// The project settings the spec asks for, as an update that changes only what differs.
fn settings_drift(spec: &VentureSpec, project: &Project) -> UpdateProjectRequest {
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

/// Names the fields an update would change.
fn changed_fields(update: &UpdateProjectRequest) -> Vec<&'static str> {
    [
        ("framework", update.framework.is_some()),
        ("build command", update.build_command.is_some()),
        ("install command", update.install_command.is_some()),
        ("dev command", update.dev_command.is_some()),
        ("output directory", update.output_directory.is_some()),
        ("root directory", update.root_directory.is_some()),
        ("Node.js version", update.node_version.is_some()),
        ("preview deployments", update.preview_deployments_disabled.is_some()),
    ]
    .into_iter()
    .filter_map(|(name, changes)| changes.then_some(name))
    .collect()
}

impl Resource for VercelProject {
    const NAME: &'static str = "vercel.project";
    const TITLE: &'static str = "Vercel project";
    type Output = ProjectId;
    type Observed = Observed;

    async fn observe(ctx: &Context, _upstream: &Upstream) -> Result<Observed, StepError> {
        let vercel = &ctx.platforms.vercel;
        let recorded = ctx.store.resource(&ctx.venture.id, kind::VERCEL_PROJECT).await?;
        if let Some(id) = recorded.as_ref().and_then(|r| r.external_id.clone())
            && let Some(project) = vercel.find_project(&id).await?
        {
            return Ok(Observed::Ours { project: Box::new(project), adopted: false });
        }
        Ok(match vercel.find_project(ctx.spec.name.as_str()).await? {
            Some(project) if recorded.is_some() => Observed::Ours { project: Box::new(project), adopted: true },
            Some(project) => Observed::Foreign { id: project.id },
            None => Observed::Absent,
        })
    }

    fn diff(ctx: &Context, _upstream: &Upstream, observed: &Observed) -> Change {
        let name = ctx.spec.name.as_str();
        match observed {
            Observed::Ours { project, .. } => {
                let fields = changed_fields(&settings_drift(&ctx.spec, project));
                if fields.is_empty() {
                    Change::new(Action::NoChange, format!("{} ({})", project.name, project.id))
                } else {
                    Change::new(Action::Update, format!("change {}", fields.join(", ")))
                }
            }
            Observed::Foreign { id } => Change::new(
                Action::Blocked,
                format!(
                    "A Vercel project named {name} already exists ({id}) and was not created for this venture: \
                     delete it in Vercel or create the venture under another name"
                ),
            ),
            Observed::Absent => {
                Change::new(Action::Create, format!("{name}: Next.js, github.com/{}, previews on", ctx.spec.repository))
            }
        }
    }

    fn current(observed: &Observed) -> Option<ProjectId> {
        match observed {
            Observed::Ours { project, .. } => Some(ProjectId { id: project.id.clone(), name: project.name.clone() }),
            Observed::Foreign { .. } | Observed::Absent => None,
        }
    }

    async fn apply(
        ctx: &Context,
        _upstream: &Upstream,
        observed: Observed,
        _change: &Change,
    ) -> Result<Applied<ProjectId>, StepError> {
        let vercel = &ctx.platforms.vercel;
        let name = ctx.spec.name.as_str();
        let mut changed = false;
        let project = match observed {
            Observed::Ours { project, adopted } => {
                if adopted {
                    let note = format!("Adopting Vercel project {} from an interrupted attempt", project.id);
                    ctx.emit(Self::NAME, Level::Info, note).await;
                }
                *project
            }
            Observed::Foreign { .. } => unreachable!("diff blocks it"),
            Observed::Absent => {
                // The intent goes first: if we die before the answer, the next attempt adopts.
                ctx.store.set_resource(&ctx.venture.id, kind::VERCEL_PROJECT, None, &json!({})).await?;
                let note = format!("Creating Vercel project {name} (github.com/{})", ctx.spec.repository);
                ctx.emit(Self::NAME, Level::Info, note).await;
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
                    // Vercel's answer when its GitHub App cannot see the repository.
                    Err(err) if err.is(ErrorKind::BadRequest) && err.code == "repo_not_found" => {
                        return Err(StepError::Permanent(format!(
                            "Vercel cannot link github.com/{}: {}. Install the Vercel GitHub app for that \
                             repository (github.com/apps/vercel) and apply again",
                            ctx.spec.repository, err.message
                        )));
                    }
                    Err(err) => return Err(err.into()),
                }
            }
        };
        ctx.store.set_vercel_project(&ctx.venture.id, &project.id).await?;
        ctx.store
            .set_resource(&ctx.venture.id, kind::VERCEL_PROJECT, Some(&project.id), &json!({ "name": project.name }))
            .await?;
        let drift = settings_drift(&ctx.spec, &project);
        let project = if drift != UpdateProjectRequest::default() {
            ctx.emit(Self::NAME, Level::Info, "Updating the Vercel project's build settings to the spec").await;
            changed = true;
            vercel.update_project(&project.id, &drift).await?
        } else {
            project
        };
        if let Some(branch) = project.link.as_ref().and_then(|l| l.production_branch.as_deref())
            && branch != ctx.spec.production_branch
        {
            // No API sets it: Vercel takes the repository's default branch.
            let warning = format!(
                "Vercel deploys production from {branch}, not {}: change the production branch in the Vercel \
                 project's Git settings, or the repository's default branch",
                ctx.spec.production_branch
            );
            ctx.emit(Self::NAME, Level::Warn, warning).await;
        }
        ctx.emit(Self::NAME, Level::Info, format!("Vercel project {} ready", project.id)).await;
        Ok(Applied { changed, output: ProjectId { id: project.id, name: project.name } })
    }

    /// Deletes the project (its variables, environments and deployments go with it); one whose
    /// create was under way when an apply stopped is looked up by name.
    async fn destroy(ctx: &Context) -> Result<(), StepError> {
        let vercel = &ctx.platforms.vercel;
        let id = match ctx.store.resource(&ctx.venture.id, kind::VERCEL_PROJECT).await? {
            Some(record) => match record.external_id {
                Some(id) => Some(id),
                None => vercel.find_project(&ctx.venture.name).await?.map(|project| project.id),
            },
            None => None,
        };
        if let Some(id) = id {
            let message = match vercel.delete_project(&id).await {
                Ok(()) => format!("Deleted Vercel project {id}"),
                Err(err) if err.is(ErrorKind::NotFound) => format!("Vercel project {id} was already gone"),
                Err(err) => return Err(err.into()),
            };
            ctx.emit("destroy", Level::Info, message).await;
        }
        Ok(ctx.store.delete_resource(&ctx.venture.id, kind::VERCEL_PROJECT).await?)
    }
}
