//! The Supabase branch: the project (with a generated database password, sealed before the
//! create call), its readiness, and the keys and connection strings the app needs.

use std::collections::BTreeMap;

use rand::Rng;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use super::{Context, Step, StepOutput, kind, poll};
use crate::events::Level;
use crate::jobs::StepError;
use crate::platform::api::ErrorKind;
use crate::platform::supabase::{
    ApiKeyType, CreateProjectRequest, HEALTH_SERVICES, OrganizationProjectsQuery, ProjectStatus, RegionSelection,
};
use crate::venture::SupabaseRegion;

/// The vault name of the database password.
pub const DB_PASSWORD: &str = "SUPABASE_DB_PASSWORD";

/// 32 characters from 62: about 190 bits, and no character a connection string must escape.
fn generate_password() -> SecretString {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rngs::OsRng;
    SecretString::from((0..32).map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char).collect::<String>())
}

fn organization(ctx: &Context) -> Result<String, StepError> {
    ctx.spec.supabase_organization.clone().or_else(|| ctx.platforms.supabase_organization.clone()).ok_or_else(|| {
        StepError::Permanent(
            "No Supabase organization: set supabase.organization in the venture spec, or SUPABASE_ORGANIZATION".into(),
        )
    })
}

/// Step `supabase.project`: exactly one Supabase project per venture.
pub async fn project(ctx: &Context) -> Result<StepOutput, StepError> {
    let step = Step::SupabaseProject;
    let name = ctx.spec.name.as_str();
    let recorded = ctx.store.resource(&ctx.venture.id, kind::SUPABASE_PROJECT).await?;
    if let Some(reference) = recorded.as_ref().and_then(|r| r.external_id.clone()) {
        match ctx.platforms.supabase.get_project(&reference).await {
            Ok(project) => return Ok(StepOutput { changed: false, data: json!({ "ref": project.reference }) }),
            Err(err) if err.is(ErrorKind::NotFound) => {
                ctx.emit(step, Level::Warn, format!("Supabase project {reference} is gone; creating it again")).await;
                ctx.store.delete_resource(&ctx.venture.id, kind::SUPABASE_PROJECT).await?;
            }
            Err(err) => return Err(err.into()),
        }
    }
    let organization = organization(ctx)?;
    let intent = ctx.store.resource(&ctx.venture.id, kind::SUPABASE_PROJECT).await?.is_some();
    let query = OrganizationProjectsQuery { search: Some(name.to_string()), ..Default::default() };
    let existing = ctx.platforms.supabase.organization_projects(&organization, &query).await?;
    if let Some(found) = existing.into_iter().find(|p| p.name == name) {
        if !intent {
            return Err(StepError::Permanent(format!(
                "A Supabase project named {name} already exists in organization {organization} ({}) and was not \
                 created by Slipway for this venture: rename the venture, or delete that project",
                found.reference
            )));
        }
        ctx.emit(
            step,
            Level::Info,
            format!("Adopting Supabase project {} from an interrupted attempt", found.reference),
        )
        .await;
        return record(ctx, &found.reference, &found.region, &organization, false).await;
    }

    // The password is sealed, and the intent recorded, before the create call: if we die
    // before the answer, the next attempt adopts the project and still knows its password.
    let password = match ctx.secret(DB_PASSWORD).await? {
        Some(password) => password,
        None => {
            let password = generate_password();
            ctx.put_secret(DB_PASSWORD, &password).await?;
            password
        }
    };
    ctx.store
        .set_resource(&ctx.venture.id, kind::SUPABASE_PROJECT, None, &json!({ "organization": organization }))
        .await?;
    let region_selection = match &ctx.spec.supabase_region {
        SupabaseRegion::Specific(code) => RegionSelection::Specific(code.clone()),
        SupabaseRegion::SmartGroup(group) => RegionSelection::SmartGroup(group.clone()),
    };
    ctx.emit(step, Level::Info, format!("Creating Supabase project {name} in {organization}")).await;
    let request = CreateProjectRequest {
        name: name.to_string(),
        organization_slug: organization.clone(),
        db_pass: password,
        region_selection: Some(region_selection),
        desired_instance_size: None,
    };
    let created = ctx.platforms.supabase.create_project(&request).await?;
    record(ctx, &created.reference, &created.region, &organization, true).await
}

async fn record(
    ctx: &Context,
    reference: &str,
    region: &str,
    organization: &str,
    changed: bool,
) -> Result<StepOutput, StepError> {
    let data = json!({ "ref": reference, "region": region, "organization": organization });
    ctx.store.set_resource(&ctx.venture.id, kind::SUPABASE_PROJECT, Some(reference), &data).await?;
    ctx.emit(Step::SupabaseProject, Level::Info, format!("Supabase project {reference} in {region}")).await;
    Ok(StepOutput { changed, data: json!({ "ref": reference }) })
}

fn project_ref(inputs: &BTreeMap<Step, StepOutput>, from: Step) -> Result<String, StepError> {
    inputs
        .get(&from)
        .and_then(|o| o.data["ref"].as_str())
        .map(str::to_string)
        .ok_or_else(|| StepError::Permanent("the Supabase project reference is missing".into()))
}

/// Step `supabase.ready`: waits until the project is `ACTIVE_HEALTHY` and every service is
/// healthy.
pub async fn ready(ctx: &Context, inputs: &BTreeMap<Step, StepOutput>) -> Result<StepOutput, StepError> {
    let step = Step::SupabaseReady;
    let reference = project_ref(inputs, Step::SupabaseProject)?;
    let supabase = &ctx.platforms.supabase;
    let last_status = &std::sync::Mutex::new(None);
    let reference = reference.as_str();
    let healthy = poll(ctx.polling.every, ctx.polling.supabase_ready_within, || async move {
        let project = supabase.get_project(reference).await?;
        if *last_status.lock().unwrap() != Some(project.status) {
            *last_status.lock().unwrap() = Some(project.status);
            ctx.emit(step, Level::Info, format!("Supabase project {reference}: {:?}", project.status)).await;
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
            ctx.emit(step, Level::Info, "Every Supabase service is healthy").await;
            Ok(StepOutput { changed: false, data: json!({ "ref": reference }) })
        }
        None => Err(StepError::Transient(format!(
            "Supabase project {reference} is not healthy after {} s; will look again",
            ctx.polling.supabase_ready_within.as_secs()
        ))),
    }
}

/// Step `supabase.keys`: reads the API keys (revealed) and the pooler settings, builds the
/// connection strings with the real password, and seals every value. Only values that
/// changed are re-sealed.
pub async fn keys(ctx: &Context, inputs: &BTreeMap<Step, StepOutput>) -> Result<StepOutput, StepError> {
    let step = Step::SupabaseKeys;
    let reference = project_ref(inputs, Step::SupabaseReady)?;
    let supabase = &ctx.platforms.supabase;
    let keys = supabase.api_keys(&reference).await?;
    let find = |wanted: &dyn Fn(&crate::platform::supabase::ApiKey) -> bool, what: &str| {
        keys.iter()
            .find(|k| wanted(k))
            .and_then(|k| k.api_key.clone())
            .ok_or_else(|| StepError::Permanent(format!("Supabase project {reference} has no {what} API key")))
    };
    let anon = find(&|k| k.name == "anon", "anon")?;
    let service_role = find(&|k| k.name == "service_role", "service_role")?;
    let publishable = find(&|k| k.key_type == Some(ApiKeyType::Publishable), "publishable")?;
    let secret = find(&|k| k.key_type == Some(ApiKeyType::Secret), "secret")?;
    let pooler = supabase.pooler_config(&reference).await?;
    let primary = pooler
        .iter()
        .find(|p| p.database_type == "PRIMARY")
        .ok_or_else(|| StepError::Permanent(format!("Supabase project {reference} has no primary pooler")))?;
    let password = ctx
        .secret(DB_PASSWORD)
        .await?
        .ok_or_else(|| StepError::Permanent("the database password is missing from the vault".into()))?;
    let pw = password.expose_secret();
    let (user, host, db) = (&primary.db_user, &primary.db_host, &primary.db_name);
    // Transaction mode (6543) for serverless functions; session mode (5432) where a client
    // needs a session. Both through the pooler: the direct host is IPv6-only, Vercel is not.
    let transaction = format!("postgres://{user}:{pw}@{host}:{}/{db}?sslmode=require", primary.db_port);
    let session = format!("postgres://{user}:{pw}@{host}:5432/{db}?sslmode=require");
    let url = format!("https://{reference}.supabase.co");
    let values: Vec<(&str, SecretString)> = vec![
        ("SUPABASE_URL", SecretString::from(url)),
        ("SUPABASE_ANON_KEY", anon),
        ("SUPABASE_SERVICE_ROLE_KEY", service_role),
        ("SUPABASE_PUBLISHABLE_KEY", publishable),
        ("SUPABASE_SECRET_KEY", secret),
        ("POSTGRES_PRISMA_URL", SecretString::from(format!("{transaction}&pgbouncer=true&connect_timeout=15"))),
        ("POSTGRES_URL", SecretString::from(transaction)),
        ("POSTGRES_URL_NON_POOLING", SecretString::from(session)),
        ("POSTGRES_USER", SecretString::from(user.clone())),
        ("POSTGRES_HOST", SecretString::from(host.clone())),
        ("POSTGRES_PASSWORD", password.clone()),
        ("POSTGRES_DATABASE", SecretString::from(db.clone())),
    ];
    let mut changed = 0;
    for (name, value) in &values {
        let same = ctx.secret(name).await?.is_some_and(|stored| stored.expose_secret() == value.expose_secret());
        if !same {
            ctx.put_secret(name, value).await?;
            changed += 1;
        }
    }
    if changed > 0 {
        ctx.emit(step, Level::Info, format!("Stored {changed} Supabase value(s), sealed, for the environment")).await;
    }
    // Local writes only: nothing changed at a platform.
    Ok(StepOutput { changed: false, data: json!({ "ref": reference }) })
}
