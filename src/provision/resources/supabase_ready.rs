//! `supabase.ready` (and staging's): waits until the project is `ACTIVE_HEALTHY` and every
//! service is healthy. A wait, not a change: the plan does not list it.

use std::marker::PhantomData;

use super::supabase_project::{ForTier, ProjectRef, SupabaseProject, wanted};
use crate::events::Level;
use crate::platform::supabase::{HEALTH_SERVICES, ProjectStatus};
use crate::provision::graph::{Action, Applied, Change, Resource, Upstream};
use crate::provision::{Context, StepError, poll};

pub struct SupabaseReady<T>(PhantomData<T>);

impl<T: ForTier> Resource for SupabaseReady<T> {
    const NAME: &'static str = T::READY.0;
    const TITLE: &'static str = T::READY.1;
    const IN_PLAN: bool = false;
    /// `None`: the spec wants no such project.
    type Output = Option<ProjectRef>;
    /// The project to wait for, once it exists (`None` also when there is none to wait for).
    type Observed = Option<ProjectRef>;

    async fn observe(_ctx: &Context, upstream: &Upstream) -> Result<Option<ProjectRef>, StepError> {
        Ok(upstream.get::<SupabaseProject<T>>().flatten())
    }

    fn diff(_ctx: &Context, _upstream: &Upstream, _observed: &Option<ProjectRef>) -> Change {
        Change::new(Action::NoChange, "waits until every Supabase service is healthy")
    }

    fn current(observed: &Option<ProjectRef>) -> Option<Option<ProjectRef>> {
        observed.clone().map(Some)
    }

    async fn apply(
        ctx: &Context,
        _upstream: &Upstream,
        observed: Option<ProjectRef>,
        _change: &Change,
    ) -> Result<Applied<Option<ProjectRef>>, StepError> {
        if !wanted::<T>(ctx) {
            return Ok(Applied { changed: false, output: None });
        }
        let project =
            observed.ok_or_else(|| StepError::Permanent("the Supabase project reference is missing".into()))?;
        let supabase = &ctx.platforms.supabase;
        let last_status = &std::sync::Mutex::new(None);
        let reference = project.reference.as_str();
        let healthy = poll(ctx.polling.every, ctx.polling.supabase_ready_within, || async move {
            let project = supabase.get_project(reference).await?;
            if *last_status.lock().unwrap() != Some(project.status) {
                *last_status.lock().unwrap() = Some(project.status);
                ctx.emit(Self::NAME, Level::Info, format!("Supabase project {reference}: {:?}", project.status)).await;
            }
            if project.status.is_terminal_failure() {
                return Err(StepError::Permanent(format!(
                    "Supabase could not bring project {reference} up ({:?}): delete it in Supabase and apply again",
                    project.status
                )));
            }
            if project.status != ProjectStatus::ActiveHealthy {
                return Ok(None);
            }
            let services = supabase.health(reference, HEALTH_SERVICES).await?;
            Ok(services.iter().all(|s| s.healthy).then_some(()))
        })
        .await?;
        match healthy {
            Some(()) => {
                ctx.emit(Self::NAME, Level::Info, "Every Supabase service is healthy").await;
                Ok(Applied { changed: false, output: Some(project) })
            }
            None => Err(StepError::Transient(format!(
                "Supabase project {reference} is not healthy after {} s; will look again",
                ctx.polling.supabase_ready_within.as_secs()
            ))),
        }
    }

    /// Nothing of its own: the project goes with `supabase.project`.
    async fn destroy(_ctx: &Context) -> Result<(), StepError> {
        Ok(())
    }
}
