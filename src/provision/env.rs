//! The environment variables a venture's Vercel project gets, with the names of the official
//! Vercel × Supabase integration, and the step that wires them.
//!
//! Each variable goes to production, preview and staging in one entry. Secrets are
//! `sensitive` there (write-only at Vercel); Vercel allows no sensitive variable in
//! development, so development gets its own `encrypted` entry. What was written is remembered
//! as a digest per entry, so a converged venture needs no write.

use std::collections::BTreeMap;

use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use super::{Context, Step, StepOutput, digest, kind};
use crate::events::Level;
use crate::jobs::StepError;
use crate::platform::vercel::{EnvTarget, EnvVarInput, EnvVarType};

/// One variable: its name, where its value comes from (a sealed value of the venture), and
/// whether it is a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvVarPlan {
    pub key: &'static str,
    pub source: &'static str,
    pub secret: bool,
}

const fn var(key: &'static str, source: &'static str, secret: bool) -> EnvVarPlan {
    EnvVarPlan { key, source, secret }
}

/// The variables every venture gets.
pub const DESIRED: &[EnvVarPlan] = &[
    var("POSTGRES_URL", "POSTGRES_URL", true),
    var("POSTGRES_PRISMA_URL", "POSTGRES_PRISMA_URL", true),
    var("POSTGRES_URL_NON_POOLING", "POSTGRES_URL_NON_POOLING", true),
    var("POSTGRES_USER", "POSTGRES_USER", false),
    var("POSTGRES_HOST", "POSTGRES_HOST", false),
    var("POSTGRES_PASSWORD", "POSTGRES_PASSWORD", true),
    var("POSTGRES_DATABASE", "POSTGRES_DATABASE", false),
    var("SUPABASE_URL", "SUPABASE_URL", false),
    var("SUPABASE_ANON_KEY", "SUPABASE_ANON_KEY", false),
    var("SUPABASE_SERVICE_ROLE_KEY", "SUPABASE_SERVICE_ROLE_KEY", true),
    var("SUPABASE_PUBLISHABLE_KEY", "SUPABASE_PUBLISHABLE_KEY", false),
    var("SUPABASE_SECRET_KEY", "SUPABASE_SECRET_KEY", true),
    var("NEXT_PUBLIC_SUPABASE_URL", "SUPABASE_URL", false),
    var("NEXT_PUBLIC_SUPABASE_ANON_KEY", "SUPABASE_ANON_KEY", false),
    var("NEXT_PUBLIC_SUPABASE_PUBLISHABLE_KEY", "SUPABASE_PUBLISHABLE_KEY", false),
];

pub fn desired_env_names() -> Vec<&'static str> {
    DESIRED.iter().map(|v| v.key).collect()
}

/// One entry at Vercel: a key, its targets, its type.
pub(super) struct Entry {
    label: String,
    input: EnvVarInput,
    digest: String,
}

fn entries(plan: &EnvVarPlan, value: &SecretString, staging: Option<&str>) -> Vec<Entry> {
    let deployed_type = if plan.secret { EnvVarType::Sensitive } else { EnvVarType::Encrypted };
    let mut shared = vec![(vec![EnvTarget::Production, EnvTarget::Preview], deployed_type)];
    if plan.secret {
        shared.push((vec![EnvTarget::Development], EnvVarType::Encrypted));
    } else {
        shared[0].0.push(EnvTarget::Development);
    }
    shared
        .into_iter()
        .enumerate()
        .map(|(index, (targets, var_type))| {
            let custom: Vec<String> =
                if index == 0 { staging.into_iter().map(str::to_string).collect() } else { vec![] };
            let label = format!(
                "{}@{}{}",
                plan.key,
                targets.iter().map(|t| format!("{t:?}").to_lowercase()).collect::<Vec<_>>().join("+"),
                if custom.is_empty() { "" } else { "+staging" }
            );
            let type_name = format!("{var_type:?}");
            let digest = digest(&[plan.key, &label, &type_name, &custom.join(","), value.expose_secret()]);
            Entry {
                label,
                digest,
                input: EnvVarInput {
                    key: plan.key.to_string(),
                    value: value.clone(),
                    var_type,
                    target: targets,
                    git_branch: None,
                    comment: Some("Managed by Slipway".into()),
                    custom_environment_ids: custom,
                },
            }
        })
        .collect()
}

/// Step `vercel.env`: writes the variables whose value, type or targets differ from what was
/// last written (and those missing at Vercel), in one upsert batch.
pub async fn wire(ctx: &Context, inputs: &BTreeMap<Step, StepOutput>) -> Result<StepOutput, StepError> {
    let step = Step::VercelEnv;
    let project = inputs
        .get(&Step::VercelProject)
        .and_then(|o| o.data["id"].as_str())
        .map(str::to_string)
        .ok_or_else(|| StepError::Permanent("the Vercel project id is missing".into()))?;
    let project_changed = inputs.get(&Step::VercelProject).is_some_and(|o| o.changed);
    let staging = inputs.get(&Step::VercelStaging).and_then(|o| o.data["id"].as_str()).map(str::to_string);
    let Some((wanted, stale)) = compare(ctx, &project, staging.as_deref()).await? else {
        return Err(StepError::Permanent("the Supabase values are missing from the vault".into()));
    };
    let stale: Vec<&Entry> = wanted.iter().filter(|e| stale.contains(&e.label)).collect();
    let changed = !stale.is_empty();
    if changed {
        ctx.emit(step, Level::Info, format!("Writing {} environment variable entr(ies) to Vercel", stale.len())).await;
        let batch: Vec<EnvVarInput> = stale.iter().map(|e| e.input.clone()).collect();
        let outcome = ctx.platforms.vercel.create_env_vars(&project, &batch, true).await?;
        if !outcome.failed.is_empty() {
            let failures: Vec<String> =
                outcome.failed.iter().map(|f| format!("{} ({}: {})", f.key, f.code, f.message)).collect();
            return Err(StepError::Permanent(format!("Vercel refused {}", failures.join("; "))));
        }
        let digests: BTreeMap<&str, &str> = wanted.iter().map(|e| (e.label.as_str(), e.digest.as_str())).collect();
        ctx.store
            .set_resource(&ctx.venture.id, kind::VERCEL_ENV, Some(&project), &json!({ "digests": digests }))
            .await?;
    } else {
        ctx.emit(step, Level::Info, "Environment variables already up to date").await;
    }
    let names: Vec<Value> = DESIRED.iter().map(|v| json!(v.key)).collect();
    Ok(StepOutput {
        changed,
        data: json!({ "project": project, "project_changed": project_changed, "variables": names }),
    })
}

/// The entries the venture wants, and the labels of those Vercel does not hold as last
/// written; `None` while the Supabase values are not in the vault yet.
pub(super) async fn compare(
    ctx: &Context,
    project: &str,
    staging: Option<&str>,
) -> Result<Option<(Vec<Entry>, Vec<String>)>, StepError> {
    let mut wanted = Vec::new();
    for plan in DESIRED {
        let Some(value) = ctx.secret(plan.source).await? else { return Ok(None) };
        wanted.extend(entries(plan, &value, staging));
    }
    let remembered = ctx.store.resource(&ctx.venture.id, kind::VERCEL_ENV).await?;
    let remembered: BTreeMap<String, String> = remembered
        .and_then(|r| serde_json::from_value::<BTreeMap<String, String>>(r.data["digests"].clone()).ok())
        .unwrap_or_default();
    // What Vercel has now: an entry written before but since deleted must be written again.
    let present: Vec<String> = ctx
        .platforms
        .vercel
        .list_env_vars(project)
        .await?
        .iter()
        .map(|e| {
            let mut targets: Vec<String> = e.target.iter().map(|t| format!("{t:?}").to_lowercase()).collect();
            targets.sort_by_key(|t| ["production", "preview", "development"].iter().position(|o| o == t));
            let staged = if e.custom_environment_ids.is_empty() { "" } else { "+staging" };
            format!("{}@{}{staged}", e.key, targets.join("+"))
        })
        .collect();
    let stale = wanted
        .iter()
        .filter(|e| remembered.get(&e.label) != Some(&e.digest) || !present.contains(&e.label))
        .map(|e| e.label.clone())
        .collect();
    Ok(Some((wanted, stale)))
}
