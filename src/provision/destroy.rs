//! Destroying a venture: its Vercel project (variables, environments and deployments go with
//! it) and its Supabase project, then the records and sealed values that pointed at them.
//! Each part is idempotent: what is already gone counts as done. A project whose create was
//! under way when the apply stopped (only its intent is recorded) is looked up by name, as the
//! apply itself would adopt it.

use crate::events::{EventLog, Level};
use crate::jobs::StepError;
use crate::platform::api::ErrorKind;
use crate::platform::supabase::OrganizationProjectsQuery;
use crate::platforms::Platforms;
use crate::store::Store;
use crate::venture::Venture;

use super::kind;

pub async fn destroy(
    store: &Store,
    events: &EventLog,
    platforms: &Platforms,
    venture: &Venture,
    job_id: &str,
) -> Result<(), StepError> {
    let emit =
        |message: String| async move { events.emit(&venture.id, Some(job_id), "destroy", Level::Info, &message).await };
    let vercel_project = match store.resource(&venture.id, kind::VERCEL_PROJECT).await? {
        Some(record) => match record.external_id {
            Some(id) => Some(id),
            None => platforms.vercel.find_project(&venture.name).await?.map(|project| project.id),
        },
        None => None,
    };
    if let Some(id) = vercel_project {
        match platforms.vercel.delete_project(&id).await {
            Ok(()) => emit(format!("Deleted Vercel project {id}")).await,
            Err(err) if err.is(ErrorKind::NotFound) => emit(format!("Vercel project {id} was already gone")).await,
            Err(err) => return Err(err.into()),
        }
    }
    for gone in [kind::VERCEL_DEPLOYMENT, kind::VERCEL_ENV, kind::VERCEL_STAGING, kind::VERCEL_PROJECT] {
        store.delete_resource(&venture.id, gone).await?;
    }
    let supabase_project = match store.resource(&venture.id, kind::SUPABASE_PROJECT).await? {
        Some(record) => match (record.external_id, record.data["organization"].as_str()) {
            (Some(reference), _) => Some(reference),
            (None, Some(organization)) => {
                let query = OrganizationProjectsQuery { search: Some(venture.name.clone()), ..Default::default() };
                let projects = platforms.supabase.organization_projects(organization, &query).await?;
                projects.into_iter().find(|p| p.name == venture.name).map(|p| p.reference)
            }
            (None, None) => None,
        },
        None => None,
    };
    if let Some(reference) = supabase_project {
        match platforms.supabase.delete_project(&reference).await {
            Ok(_) => emit(format!("Deleted Supabase project {reference}")).await,
            Err(err) if err.is(ErrorKind::NotFound) => {
                emit(format!("Supabase project {reference} was already gone")).await
            }
            // Supabase refuses while a project is still coming up: try again later.
            Err(err) if err.is(ErrorKind::BadRequest) => {
                return Err(StepError::Transient(format!("Supabase cannot delete {reference} yet: {}", err.message)));
            }
            Err(err) => return Err(err.into()),
        }
    }
    store.delete_resource(&venture.id, kind::SUPABASE_PROJECT).await?;
    store.delete_secrets(&venture.id).await?;
    emit("Removed the venture's sealed values".to_string()).await;
    Ok(())
}
