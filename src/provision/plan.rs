//! The plan: what an apply would do to each resource, found by comparing the spec with what
//! the store recorded and what the platforms hold. Reads only.

use serde::{Deserialize, Serialize};

use super::vercel::{STAGING_SLUG, settings_drift};
use super::{Context, env, kind};
use crate::jobs::StepError;
use crate::platform::api::ErrorKind;
use crate::platform::supabase::OrganizationProjectsQuery;
use crate::platform::vercel::{BranchMatcher, BranchMatcherType, ReadyState, UpdateProjectRequest};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Create,
    Update,
    NoChange,
    /// The apply would stop here; `detail` says why and what to do.
    Blocked,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedAction {
    pub resource: String,
    pub action: Action,
    pub detail: String,
}

fn planned(resource: &str, action: Action, detail: impl Into<String>) -> PlannedAction {
    PlannedAction { resource: resource.into(), action, detail: detail.into() }
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

/// What applying `ctx.spec` to `ctx.venture` would do. A venture not yet created has no
/// records, so everything is a create, unless a platform already holds the name.
pub async fn plan(ctx: &Context) -> Result<Vec<PlannedAction>, StepError> {
    let mut actions = Vec::new();
    let venture = &ctx.venture.id;
    let name = ctx.spec.name.as_str();

    // Supabase project.
    let recorded = ctx.store.resource(venture, kind::SUPABASE_PROJECT).await?;
    let supabase = match recorded.as_ref().and_then(|r| r.external_id.clone()) {
        Some(reference) => match ctx.platforms.supabase.get_project(&reference).await {
            Ok(project) => Some(planned(
                "Supabase project",
                Action::NoChange,
                format!("{reference} in {} ({:?})", project.region, project.status),
            )),
            Err(err) if err.is(ErrorKind::NotFound) => None,
            Err(err) => return Err(err.into()),
        },
        None => None,
    };
    let supabase_exists = supabase.is_some();
    actions.push(match supabase {
        Some(action) => action,
        None => {
            let organization = ctx.spec.supabase_organization.clone().or(ctx.platforms.supabase_organization.clone());
            match organization {
                None => planned(
                    "Supabase project",
                    Action::Blocked,
                    "no organization: set supabase.organization in the spec, or SUPABASE_ORGANIZATION",
                ),
                Some(organization) => {
                    let query = OrganizationProjectsQuery { search: Some(name.to_string()), ..Default::default() };
                    let projects = ctx.platforms.supabase.organization_projects(&organization, &query).await;
                    let projects = match projects {
                        Err(err) if err.is(crate::platform::api::ErrorKind::NotFound) => Err(planned(
                            "Supabase project",
                            Action::Blocked,
                            format!("organization {organization} does not exist or the Supabase token cannot see it"),
                        )),
                        other => Ok(other?),
                    };
                    match projects.map(|projects| projects.into_iter().find(|p| p.name == name)) {
                        Err(blocked) => blocked,
                        Ok(Some(project)) if recorded.is_none() => planned(
                            "Supabase project",
                            Action::Blocked,
                            format!(
                                "{organization} already has a project named {name} ({}) not made by Slipway",
                                project.reference
                            ),
                        ),
                        Ok(Some(project)) => {
                            planned("Supabase project", Action::NoChange, format!("adopt {}", project.reference))
                        }
                        Ok(None) => planned(
                            "Supabase project",
                            Action::Create,
                            format!(
                                "{name} in {organization}, region {}, with a generated database password",
                                ctx.spec.supabase_region
                            ),
                        ),
                    }
                }
            }
        }
    });

    // Vercel project and its settings.
    let recorded = ctx.store.resource(venture, kind::VERCEL_PROJECT).await?;
    let known = match recorded.as_ref().and_then(|r| r.external_id.clone()) {
        Some(id) => ctx.platforms.vercel.find_project(&id).await?,
        None => None,
    };
    let project = match known {
        Some(project) => Some(project),
        None => match ctx.platforms.vercel.find_project(name).await? {
            Some(project) if recorded.is_none() => {
                actions.push(planned(
                    "Vercel project",
                    Action::Blocked,
                    format!("a project named {name} already exists ({}) and was not made for this venture", project.id),
                ));
                None
            }
            found => found,
        },
    };
    let mut settings_change = false;
    match &project {
        Some(project) => {
            let fields = changed_fields(&settings_drift(&ctx.spec, project));
            settings_change = !fields.is_empty();
            actions.push(if fields.is_empty() {
                planned("Vercel project", Action::NoChange, format!("{} ({})", project.name, project.id))
            } else {
                planned("Vercel project", Action::Update, format!("change {}", fields.join(", ")))
            });
        }
        None if actions.iter().any(|a| a.resource == "Vercel project") => {}
        None => actions.push(planned(
            "Vercel project",
            Action::Create,
            format!("{name}: Next.js, github.com/{}, previews on", ctx.spec.repository),
        )),
    }

    // Staging.
    let mut staging_id = None;
    actions.push(match (&ctx.spec.staging_branch, &project) {
        (None, _) => planned("Staging environment", Action::NoChange, "disabled in the spec"),
        (Some(branch), None) => {
            planned("Staging environment", Action::Create, format!("staging, from branch {branch}"))
        }
        (Some(branch), Some(project)) => {
            let existing = ctx.platforms.vercel.list_custom_environments(&project.id).await?;
            let wanted = BranchMatcher { matcher: BranchMatcherType::Equals, pattern: branch.clone() };
            match existing.into_iter().find(|e| e.slug == STAGING_SLUG) {
                Some(environment) if environment.branch_matcher.as_ref() == Some(&wanted) => {
                    staging_id = Some(environment.id);
                    planned("Staging environment", Action::NoChange, format!("from branch {branch}"))
                }
                Some(environment) => {
                    staging_id = Some(environment.id);
                    planned("Staging environment", Action::Update, format!("point at branch {branch}"))
                }
                None => planned("Staging environment", Action::Create, format!("staging, from branch {branch}")),
            }
        }
    });

    // Environment variables.
    let count = env::DESIRED.len();
    let mut env_change = true;
    actions.push(match &project {
        Some(project) if supabase_exists => match env::compare(ctx, &project.id, staging_id.as_deref()).await? {
            Some((_, stale)) if stale.is_empty() => {
                env_change = false;
                planned("Environment variables", Action::NoChange, format!("{count} variables in place"))
            }
            Some((wanted, stale)) => planned(
                "Environment variables",
                Action::Update,
                format!("write {} of {} entries", stale.len(), wanted.len()),
            ),
            None => planned("Environment variables", Action::Create, format!("{count} variables from Supabase")),
        },
        _ => planned("Environment variables", Action::Create, format!("{count} variables from Supabase")),
    });

    // Production deployment.
    let recorded = ctx.store.resource(venture, kind::VERCEL_DEPLOYMENT).await?;
    let live = match recorded.as_ref().and_then(|r| r.external_id.clone()) {
        Some(id) => match ctx.platforms.vercel.get_deployment(&id).await {
            Ok(deployment) => Some(deployment),
            Err(err) if err.is(ErrorKind::NotFound) => None,
            Err(err) => return Err(err.into()),
        },
        None => None,
    };
    let branch = &ctx.spec.production_branch;
    actions.push(match live {
        Some(deployment) if !env_change && !settings_change && deployment.ready_state == ReadyState::Ready => {
            planned("Production deployment", Action::NoChange, format!("https://{} is live", deployment.url))
        }
        Some(_) => planned("Production deployment", Action::Update, format!("redeploy from {branch}")),
        None => planned("Production deployment", Action::Create, format!("first deployment from {branch}")),
    });
    Ok(actions)
}
