//! `vercel.env`: the environment variables a venture's Vercel project gets, with the names of
//! the official Vercel × Supabase integration.
//!
//! Each variable goes to production, preview and staging in one entry. Secrets are `sensitive`
//! there (write-only at Vercel); Vercel allows no sensitive variable in development, so
//! development gets its own `encrypted` entry. What was written is remembered as a digest per
//! entry, so a converged venture needs no write.

use std::collections::BTreeMap;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{StagingEnvironment, SupabaseKeys, VercelProject, kind};
use crate::digest::digest;
use crate::events::Level;
use crate::platform::vercel::{EnvTarget, EnvVarInput, EnvVarType};
use crate::provision::graph::{Action, Applied, Change, Resource, Upstream};
use crate::provision::{Context, StepError};

/// One variable: its name, where its value comes from (a sealed value of the venture), and
/// whether it is a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
struct EnvVarPlan {
    key: &'static str,
    source: &'static str,
    secret: bool,
}

const fn var(key: &'static str, source: &'static str, secret: bool) -> EnvVarPlan {
    EnvVarPlan { key, source, secret }
}

/// The variables every venture gets.
const DESIRED: &[EnvVarPlan] = &[
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

/// The names of the variables wired.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Wired {
    pub variables: Vec<String>,
}

/// One entry at Vercel: a key, its targets, its type.
pub struct Entry {
    label: String,
    input: EnvVarInput,
    digest: String,
}

pub enum Observed {
    /// Not comparable yet: the project or the Supabase values are still to come (why).
    Pending(&'static str),
    /// The entries wanted, and the labels of those Vercel does not hold as last written.
    Compared { project: String, wanted: Vec<Entry>, stale: Vec<String> },
}

pub struct EnvVars;

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

impl Resource for EnvVars {
    const NAME: &'static str = "vercel.env";
    const TITLE: &'static str = "Environment variables";
    type Output = Wired;
    type Observed = Observed;

    async fn observe(ctx: &Context, upstream: &Upstream) -> Result<Observed, StepError> {
        let Some(project) = upstream.get::<VercelProject>() else {
            return Ok(Observed::Pending("the Vercel project id is missing"));
        };
        if upstream.get::<SupabaseKeys>().is_none() {
            return Ok(Observed::Pending("the Supabase values are missing from the vault"));
        }
        let staging = upstream.get::<StagingEnvironment>().and_then(|s| s.id);
        let mut wanted = Vec::new();
        for plan in DESIRED {
            let Some(value) = ctx.secret(plan.source).await? else {
                return Ok(Observed::Pending("the Supabase values are missing from the vault"));
            };
            wanted.extend(entries(plan, &value, staging.as_deref()));
        }
        let remembered = ctx.store.resource(&ctx.venture.id, kind::VERCEL_ENV).await?;
        let remembered: BTreeMap<String, String> = remembered
            .and_then(|r| serde_json::from_value::<BTreeMap<String, String>>(r.data["digests"].clone()).ok())
            .unwrap_or_default();
        // What Vercel has now: an entry written before but since deleted must be written again.
        let present: Vec<String> = ctx
            .platforms
            .vercel
            .list_env_vars(&project.id)
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
        Ok(Observed::Compared { project: project.id, wanted, stale })
    }

    fn diff(_ctx: &Context, _upstream: &Upstream, observed: &Observed) -> Change {
        let count = DESIRED.len();
        match observed {
            Observed::Pending(_) => Change::new(Action::Create, format!("{count} variables from Supabase")),
            Observed::Compared { stale, .. } if stale.is_empty() => {
                Change::new(Action::NoChange, format!("{count} variables in place"))
            }
            Observed::Compared { wanted, stale, .. } => {
                Change::new(Action::Update, format!("write {} of {} entries", stale.len(), wanted.len()))
            }
        }
    }

    fn current(observed: &Observed) -> Option<Wired> {
        match observed {
            Observed::Compared { stale, .. } if stale.is_empty() => Some(wired()),
            _ => None,
        }
    }

    /// Writes the entries whose value, type or targets differ from what was last written (and
    /// those missing at Vercel), in one upsert batch.
    async fn apply(
        ctx: &Context,
        _upstream: &Upstream,
        observed: Observed,
        _change: &Change,
    ) -> Result<Applied<Wired>, StepError> {
        let (project, wanted, stale) = match observed {
            Observed::Pending(why) => return Err(StepError::Permanent(why.into())),
            Observed::Compared { project, wanted, stale } => (project, wanted, stale),
        };
        let writes: Vec<&Entry> = wanted.iter().filter(|e| stale.contains(&e.label)).collect();
        let changed = !writes.is_empty();
        if changed {
            let note = format!("Writing {} environment variable entr(ies) to Vercel", writes.len());
            ctx.emit(Self::NAME, Level::Info, note).await;
            let batch: Vec<EnvVarInput> = writes.iter().map(|e| e.input.clone()).collect();
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
            ctx.emit(Self::NAME, Level::Info, "Environment variables already up to date").await;
        }
        Ok(Applied { changed, output: wired() })
    }

    /// They go with the Vercel project; only the record is Slipway's to remove.
    async fn destroy(ctx: &Context) -> Result<(), StepError> {
        Ok(ctx.store.delete_resource(&ctx.venture.id, kind::VERCEL_ENV).await?)
    }
}

fn wired() -> Wired {
    Wired { variables: DESIRED.iter().map(|v| v.key.to_string()).collect() }
}
