//! `supabase.project` and `supabase.staging_project`: the venture's production project and,
//! when staging, previews and development get a database of their own, its staging project
//! (`<name>-staging`, same organization and region). Each is created with a generated database
//! password that is sealed before the create call.

use std::marker::PhantomData;

use rand::Rng;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::kind;
use crate::env::Tier;
use crate::events::Level;
use crate::platform::api::ErrorKind;
use crate::platform::supabase::{CreateProjectRequest, OrganizationProjectsQuery, ProjectStatus, RegionSelection};
use crate::provision::graph::{Action, Applied, Change, Resource, Upstream};
use crate::provision::{Context, StepError};
use crate::venture::{NonProductionDatabase, SupabaseRegion};

/// The vault name of the production database's password (`Tier::sealed` names staging's).
pub const DB_PASSWORD: &str = "SUPABASE_DB_PASSWORD";

/// Which project a Supabase resource is for. Each marker names its steps and its record, so
/// the two projects' steps are the same code with different names.
pub trait ForTier: Send + Sync + 'static {
    const TIER: Tier;
    /// The project step's name and title.
    const PROJECT: (&'static str, &'static str);
    const READY: (&'static str, &'static str);
    const KEYS: (&'static str, &'static str);
    const AUTH: (&'static str, &'static str);
    const POLICIES: (&'static str, &'static str);
    /// `venture_resources.kind` of the project.
    const KIND: &'static str;
    /// `venture_resources.kind` of its sign-in settings (what Slipway wrote there).
    const AUTH_KIND: &'static str;
    /// `venture_resources.kind` of its row-level security and last lint.
    const POLICIES_KIND: &'static str;
}

pub struct Production;
pub struct Staging;

impl ForTier for Production {
    const TIER: Tier = Tier::Production;
    const PROJECT: (&'static str, &'static str) = ("supabase.project", "Supabase project");
    const READY: (&'static str, &'static str) = ("supabase.ready", "Supabase project healthy");
    const KEYS: (&'static str, &'static str) = ("supabase.keys", "Supabase keys and connection strings");
    const AUTH: (&'static str, &'static str) = ("supabase.auth", "Supabase sign-in");
    const POLICIES: (&'static str, &'static str) = ("supabase.policies", "Supabase row-level security");
    const KIND: &'static str = kind::SUPABASE_PROJECT;
    const AUTH_KIND: &'static str = kind::SUPABASE_AUTH;
    const POLICIES_KIND: &'static str = kind::SUPABASE_POLICIES;
}

impl ForTier for Staging {
    const TIER: Tier = Tier::Staging;
    const PROJECT: (&'static str, &'static str) = ("supabase.staging_project", "Supabase staging project");
    const READY: (&'static str, &'static str) = ("supabase.staging_ready", "Supabase staging project healthy");
    const KEYS: (&'static str, &'static str) =
        ("supabase.staging_keys", "Supabase staging keys and connection strings");
    const AUTH: (&'static str, &'static str) = ("supabase.staging_auth", "Supabase staging sign-in");
    const POLICIES: (&'static str, &'static str) = ("supabase.staging_policies", "Supabase staging row-level security");
    const KIND: &'static str = kind::SUPABASE_STAGING_PROJECT;
    const AUTH_KIND: &'static str = kind::SUPABASE_STAGING_AUTH;
    const POLICIES_KIND: &'static str = kind::SUPABASE_STAGING_POLICIES;
}

/// Whether the venture has this project: production always; staging when its spec says
/// `staging-project`.
pub fn wanted<T: ForTier>(ctx: &Context) -> bool {
    T::TIER == Tier::Production || ctx.spec.non_production == NonProductionDatabase::StagingProject
}

/// The project's reference, which every Supabase call after it needs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProjectRef {
    #[serde(rename = "ref")]
    pub reference: String,
}

pub enum Observed {
    /// The spec wants no such project (staging's, when the spec says `none` or `production`).
    NotWanted,
    /// The recorded project, live at Supabase.
    Live { reference: String, region: String, status: ProjectStatus },
    /// No organization to create it in.
    NoOrganization,
    /// The organization is unknown to Supabase or hidden from the token.
    UnknownOrganization(String),
    /// A project with the venture's name in the organization, and whether an intent says it is
    /// ours (an interrupted create).
    Named { organization: String, reference: String, region: String, ours: bool },
    /// None yet; `gone` is a recorded project Supabase no longer has.
    Absent { organization: String, gone: Option<String> },
}

pub struct SupabaseProject<T>(PhantomData<T>);

fn organization(ctx: &Context) -> Option<String> {
    ctx.spec.supabase_organization.clone().or_else(|| ctx.platforms.supabase_organization.clone())
}

/// 32 characters from 62: about 190 bits, and no character a connection string must escape.
pub fn generate_password() -> SecretString {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rngs::OsRng;
    SecretString::from((0..32).map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char).collect::<String>())
}

impl<T: ForTier> Resource for SupabaseProject<T> {
    const NAME: &'static str = T::PROJECT.0;
    const TITLE: &'static str = T::PROJECT.1;
    /// `None`: the spec wants no such project.
    type Output = Option<ProjectRef>;
    type Observed = Observed;

    async fn observe(ctx: &Context, _upstream: &Upstream) -> Result<Observed, StepError> {
        if !wanted::<T>(ctx) {
            return Ok(Observed::NotWanted);
        }
        let supabase = &ctx.platforms.supabase;
        let recorded = ctx.store.resource(&ctx.venture.id, T::KIND).await?;
        let mut gone = None;
        if let Some(reference) = recorded.as_ref().and_then(|r| r.external_id.clone()) {
            match supabase.get_project(&reference).await {
                Ok(project) => {
                    return Ok(Observed::Live { reference, region: project.region, status: project.status });
                }
                Err(err) if err.is(ErrorKind::NotFound) => gone = Some(reference),
                Err(err) => return Err(err.into()),
            }
        }
        let Some(organization) = organization(ctx) else { return Ok(Observed::NoOrganization) };
        let name = T::TIER.project_name(ctx.spec.name.as_str());
        let query = OrganizationProjectsQuery { search: Some(name.clone()), ..Default::default() };
        let projects = match supabase.organization_projects(&organization, &query).await {
            Err(err) if err.is(ErrorKind::NotFound) => return Ok(Observed::UnknownOrganization(organization)),
            other => other?,
        };
        Ok(match projects.into_iter().find(|p| p.name == name) {
            // Only an intent (a record without an id) makes a project found by name ours.
            Some(found) => Observed::Named {
                organization,
                reference: found.reference,
                region: found.region,
                ours: recorded.is_some_and(|r| r.external_id.is_none()),
            },
            None => Observed::Absent { organization, gone },
        })
    }

    fn diff(ctx: &Context, _upstream: &Upstream, observed: &Observed) -> Change {
        let name = T::TIER.project_name(ctx.spec.name.as_str());
        match observed {
            Observed::NotWanted => match ctx.spec.non_production {
                NonProductionDatabase::Production => Change::new(
                    Action::NoChange,
                    "none: staging, previews and development get the production database's values, secrets \
                     included (supabase.non_production = production)",
                )
                .warning(
                    "Every preview deployment, from any branch or pull request, can read and write production \
                     data, and every developer's local copy holds the production database's password",
                ),
                _ => Change::new(
                    Action::NoChange,
                    "none: staging, previews and development get no database variables \
                     (supabase.non_production = none)",
                ),
            },
            Observed::Live { reference, region, status } => {
                Change::new(Action::NoChange, format!("{reference} in {region} ({status:?})"))
            }
            Observed::NoOrganization => Change::new(
                Action::Blocked,
                "No Supabase organization: set supabase.organization in the venture spec, or SUPABASE_ORGANIZATION",
            ),
            Observed::UnknownOrganization(organization) => Change::new(
                Action::Blocked,
                format!("organization {organization} does not exist or the Supabase token cannot see it"),
            ),
            Observed::Named { reference, ours: true, .. } => {
                Change::new(Action::NoChange, format!("adopt {reference}"))
            }
            Observed::Named { organization, reference, .. } => Change::new(
                Action::Blocked,
                format!(
                    "A Supabase project named {name} already exists in organization {organization} ({reference}) \
                     and was not created by Slipway for this venture: rename the venture, or delete that project"
                ),
            ),
            Observed::Absent { organization, gone } => Change::new(
                Action::Create,
                format!(
                    "{name} in {organization}, region {}, with a generated database password{}{}",
                    ctx.spec.supabase_region,
                    match T::TIER {
                        Tier::Production => "",
                        Tier::Staging => {
                            " (for staging, previews and development; a second project, billed by Supabase)"
                        }
                    },
                    gone.as_ref().map(|r| format!(" (the recorded project {r} is gone)")).unwrap_or_default()
                ),
            ),
        }
    }

    fn current(observed: &Observed) -> Option<Option<ProjectRef>> {
        match observed {
            Observed::NotWanted => Some(None),
            Observed::Live { reference, .. } | Observed::Named { reference, ours: true, .. } => {
                Some(Some(ProjectRef { reference: reference.clone() }))
            }
            _ => None,
        }
    }

    async fn apply(
        ctx: &Context,
        _upstream: &Upstream,
        observed: Observed,
        _change: &Change,
    ) -> Result<Applied<Option<ProjectRef>>, StepError> {
        let (organization, gone) = match observed {
            Observed::NotWanted => return Ok(Applied { changed: false, output: None }),
            Observed::Live { reference, .. } => {
                return Ok(Applied { changed: false, output: Some(ProjectRef { reference }) });
            }
            Observed::Named { organization, reference, region, ours: true } => {
                let note = format!("Adopting Supabase project {reference} from an interrupted attempt");
                ctx.emit(Self::NAME, Level::Info, note).await;
                return record::<T>(ctx, &reference, &region, &organization, false).await;
            }
            Observed::Absent { organization, gone } => (organization, gone),
            Observed::Named { .. } | Observed::NoOrganization | Observed::UnknownOrganization(_) => {
                unreachable!("diff blocks these")
            }
        };
        if let Some(reference) = gone {
            ctx.emit(Self::NAME, Level::Warn, format!("Supabase project {reference} is gone; creating it again")).await;
            ctx.store.delete_resource(&ctx.venture.id, T::KIND).await?;
        }
        // The password is sealed, and the intent recorded, before the create call: if we die
        // before the answer, the next attempt adopts the project and still knows its password.
        let password_name = T::TIER.sealed(DB_PASSWORD);
        let password = match ctx.secret(&password_name).await? {
            Some(password) => password,
            None => {
                let password = generate_password();
                ctx.put_secret(&password_name, &password).await?;
                password
            }
        };
        ctx.store.set_resource(&ctx.venture.id, T::KIND, None, &json!({ "organization": organization })).await?;
        let region_selection = match &ctx.spec.supabase_region {
            SupabaseRegion::Specific(code) => RegionSelection::Specific(code.clone()),
            SupabaseRegion::SmartGroup(group) => RegionSelection::SmartGroup(group.clone()),
        };
        let name = T::TIER.project_name(ctx.spec.name.as_str());
        ctx.emit(Self::NAME, Level::Info, format!("Creating Supabase project {name} in {organization}")).await;
        let request = CreateProjectRequest {
            name,
            organization_slug: organization.clone(),
            db_pass: password,
            region_selection: Some(region_selection),
            desired_instance_size: None,
        };
        let created = ctx.platforms.supabase.create_project(&request).await?;
        record::<T>(ctx, &created.reference, &created.region, &organization, true).await
    }

    /// Deletes the project; one whose create was under way when an apply stopped (only its
    /// intent is recorded) is looked up by name, as the apply itself would adopt it.
    async fn destroy(ctx: &Context) -> Result<(), StepError> {
        let supabase = &ctx.platforms.supabase;
        let name = &T::TIER.project_name(&ctx.venture.name);
        let reference = match ctx.store.resource(&ctx.venture.id, T::KIND).await? {
            Some(record) => match (record.external_id, record.data["organization"].as_str()) {
                (Some(reference), _) => Some(reference),
                (None, Some(organization)) => {
                    let query = OrganizationProjectsQuery { search: Some(name.clone()), ..Default::default() };
                    let projects = supabase.organization_projects(organization, &query).await?;
                    projects.into_iter().find(|p| p.name == *name).map(|p| p.reference)
                }
                (None, None) => None,
            },
            None => None,
        };
        if let Some(reference) = reference {
            let message = match supabase.delete_project(&reference).await {
                Ok(_) => format!("Deleted Supabase project {reference}"),
                Err(err) if err.is(ErrorKind::NotFound) => format!("Supabase project {reference} was already gone"),
                // Supabase refuses while a project is still coming up: try again later.
                Err(err) if err.is(ErrorKind::BadRequest) => {
                    return Err(StepError::Transient(format!(
                        "Supabase cannot delete {reference} yet: {}",
                        err.message
                    )));
                }
                Err(err) => return Err(err.into()),
            };
            ctx.emit("destroy", Level::Info, message).await;
        }
        Ok(ctx.store.delete_resource(&ctx.venture.id, T::KIND).await?)
    }
}

async fn record<T: ForTier>(
    ctx: &Context,
    reference: &str,
    region: &str,
    organization: &str,
    changed: bool,
) -> Result<Applied<Option<ProjectRef>>, StepError> {
    let data = json!({ "ref": reference, "region": region, "organization": organization });
    ctx.store.set_resource(&ctx.venture.id, T::KIND, Some(reference), &data).await?;
    let note = format!("{} {reference} in {region}", T::PROJECT.1);
    ctx.emit(T::PROJECT.0, Level::Info, note).await;
    Ok(Applied { changed, output: Some(ProjectRef { reference: reference.to_string() }) })
}
