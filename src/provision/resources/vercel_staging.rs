//! `vercel.staging`: the `staging` custom environment, fed by the spec's branch.

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{VercelProject, kind};
use crate::events::Level;
use crate::platform::api::ErrorKind;
use crate::platform::vercel::{BranchMatcher, BranchMatcherType, CreateCustomEnvironment, UpdateCustomEnvironment};
use crate::provision::graph::{Action, Applied, Change, Resource, Upstream};
use crate::provision::{Context, StepError};

pub const STAGING_SLUG: &str = "staging";

/// The environment's id, which staging's variables are bound to; `None` when disabled.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StagingId {
    pub id: Option<String>,
}

pub enum Observed {
    Disabled,
    /// The project does not exist yet.
    NoProject,
    /// The project has it; `matches` whether it follows the spec's branch.
    Present {
        project: String,
        id: String,
        matches: bool,
    },
    Absent {
        project: String,
    },
}

pub struct StagingEnvironment;

fn matcher(branch: &str) -> BranchMatcher {
    BranchMatcher { matcher: BranchMatcherType::Equals, pattern: branch.to_string() }
}

impl Resource for StagingEnvironment {
    const NAME: &'static str = "vercel.staging";
    const TITLE: &'static str = "Staging environment";
    type Output = StagingId;
    type Observed = Observed;

    async fn observe(ctx: &Context, upstream: &Upstream) -> Result<Observed, StepError> {
        let Some(branch) = &ctx.spec.staging_branch else { return Ok(Observed::Disabled) };
        let Some(project) = upstream.get::<VercelProject>() else { return Ok(Observed::NoProject) };
        let existing = ctx.platforms.vercel.list_custom_environments(&project.id).await?;
        Ok(match existing.into_iter().find(|e| e.slug == STAGING_SLUG) {
            Some(environment) => Observed::Present {
                project: project.id,
                matches: environment.branch_matcher.as_ref() == Some(&matcher(branch)),
                id: environment.id,
            },
            None => Observed::Absent { project: project.id },
        })
    }

    fn diff(ctx: &Context, _upstream: &Upstream, observed: &Observed) -> Change {
        let branch = ctx.spec.staging_branch.as_deref().unwrap_or_default();
        match observed {
            Observed::Disabled => Change::new(Action::NoChange, "disabled in the spec"),
            Observed::Present { matches: true, .. } => Change::new(Action::NoChange, format!("from branch {branch}")),
            Observed::Present { .. } => Change::new(Action::Update, format!("point at branch {branch}")),
            Observed::NoProject | Observed::Absent { .. } => {
                Change::new(Action::Create, format!("staging, from branch {branch}"))
            }
        }
    }

    fn current(observed: &Observed) -> Option<StagingId> {
        match observed {
            Observed::Disabled => Some(StagingId { id: None }),
            Observed::Present { id, .. } => Some(StagingId { id: Some(id.clone()) }),
            Observed::NoProject | Observed::Absent { .. } => None,
        }
    }

    async fn apply(
        ctx: &Context,
        _upstream: &Upstream,
        observed: Observed,
        _change: &Change,
    ) -> Result<Applied<StagingId>, StepError> {
        let vercel = &ctx.platforms.vercel;
        let branch = ctx.spec.staging_branch.clone().unwrap_or_default();
        let (environment, changed) = match observed {
            Observed::Disabled => return Ok(Applied { changed: false, output: StagingId { id: None } }),
            Observed::NoProject => return Err(StepError::Permanent("the Vercel project id is missing".into())),
            Observed::Present { id, matches: true, .. } => (id, false),
            Observed::Present { project, id, matches: false } => {
                ctx.emit(Self::NAME, Level::Info, format!("Pointing staging at branch {branch}")).await;
                let patch = UpdateCustomEnvironment { branch_matcher: Some(matcher(&branch)), ..Default::default() };
                let updated = vercel.update_custom_environment(&project, &id, &patch).await?;
                (updated.id, true)
            }
            Observed::Absent { project } => {
                ctx.emit(Self::NAME, Level::Info, format!("Creating the staging environment (branch {branch})")).await;
                let request = CreateCustomEnvironment {
                    slug: STAGING_SLUG.into(),
                    description: Some("Pre-production, managed by Slipway".into()),
                    branch_matcher: Some(matcher(&branch)),
                };
                let environment = match vercel.create_custom_environment(&project, &request).await {
                    Ok(environment) => environment,
                    // An unconfirmed or retried create that landed: it is there now.
                    Err(err) if err.is(ErrorKind::Conflict) => {
                        vercel.get_custom_environment(&project, STAGING_SLUG).await?
                    }
                    Err(err) => return Err(err.into()),
                };
                (environment.id, true)
            }
        };
        let data = json!({ "id": environment, "branch": branch });
        ctx.store.set_resource(&ctx.venture.id, kind::VERCEL_STAGING, Some(&environment), &data).await?;
        Ok(Applied { changed, output: StagingId { id: Some(environment) } })
    }

    /// It goes with the Vercel project; only the record is Slipway's to remove.
    async fn destroy(ctx: &Context) -> Result<(), StepError> {
        Ok(ctx.store.delete_resource(&ctx.venture.id, kind::VERCEL_STAGING).await?)
    }
}
