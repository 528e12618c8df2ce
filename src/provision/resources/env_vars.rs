//! `vercel.env`: the venture's variables at Vercel, one entry per (key, environment): the
//! integration's (derived from the Supabase values) and the venture's own (`env_vars`).
//!
//! The sync is a diff. One read lists what Vercel holds; one create call (with `upsert`) writes
//! everything new, changed or drifted; one batch delete removes what Slipway owns and no longer
//! wants. Slipway owns exactly the entries whose ids it recorded (`env_sync`): any other entry
//! is never touched, and one in the way of a variable blocks it with the reason. Secrets go
//! `sensitive` (write-only) to production, preview and staging and `encrypted` to development,
//! where Vercel allows no sensitive variable; the others go `plain`, so they can be read back.
//!
//! Isolation: each environment gets the values of the Supabase project the spec names for it
//! (`supabase.non_production`). Unless the spec opts in to production's everywhere, no entry
//! outside production may hold a production secret: one Slipway would write is blocked, and
//! one wired by hand at Vercel (readable, so recognised by its value, never shown) blocks the
//! sync until it is removed there.
//!
//! Drift: a readable entry is compared by value; a write-only one by Vercel's `updatedAt`
//! against the one recorded when Slipway wrote it. A change made in Slipway shows as a new
//! keyed fingerprint (never a plain digest, which could be brute-forced from a copy of the
//! database).

use std::collections::{BTreeMap, BTreeSet};

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use super::{Production, Staging, StagingEnvironment, SupabaseKeys, VercelProject, kind, supabase_project};
use crate::env::Tier;
use crate::env::{Environment, INTEGRATION, sealed_name};
use crate::events::Level;
use crate::platform::vercel::{EnvTarget, EnvVar, EnvVarInput, EnvVarType};
use crate::provision::graph::{Action, Applied, Change, Resource, Upstream};
use crate::provision::{Context, StepError};
use crate::redact::Redactor;
use crate::store::SyncRecord;
use crate::venture::NonProductionDatabase;

/// The comment every entry Slipway writes carries after its description.
const MANAGED: &str = "managed by Slipway";
/// What the entries of Slipway before per-environment entries carried (adopted once).
const LEGACY_COMMENT: &str = "Managed by Slipway";

/// The names of the variables wired.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Wired {
    pub variables: Vec<String>,
}

/// Where one (key, environment) stands against Vercel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case", tag = "state", content = "detail")]
pub enum SyncState {
    InSync,
    /// To be written: new, or changed in Slipway.
    Pending(String),
    /// Vercel refused the last write (its reason).
    Failed(String),
    /// Changed or deleted at Vercel since Slipway wrote it; the next sync restores it.
    Drifted(String),
    /// An entry Slipway does not own is in the way; Slipway leaves it alone.
    Blocked(String),
}

/// One entry Slipway wants at Vercel.
pub struct Entry {
    pub key: String,
    pub environment: Environment,
    pub state: SyncState,
    input: EnvVarInput,
    fingerprint: String,
    /// The entry Slipway owns for it, if one exists at Vercel.
    owned_id: Option<String>,
}

pub enum Observed {
    /// Not comparable yet: the project or the Supabase values are still to come (why).
    Pending(&'static str),
    Compared {
        project: String,
        entries: Vec<Entry>,
        /// Entries Slipway owns and no longer wants: (key, environment, id at Vercel or none).
        unwanted: Vec<(String, Environment, Option<String>)>,
        /// Entries written by Slipway before it recorded ownership, to be replaced.
        legacy: Vec<String>,
        /// Entries outside production that Slipway does not own and that hold a production
        /// secret (what, where, which entry): the sync stops until they are gone.
        exposed: Vec<String>,
    },
}

impl Observed {
    /// Each wanted (key, environment) and where it stands (none while not comparable).
    pub fn states(&self) -> Vec<((String, Environment), SyncState)> {
        match self {
            Observed::Compared { entries, .. } => {
                entries.iter().map(|e| ((e.key.clone(), e.environment), e.state.clone())).collect()
            }
            Observed::Pending(_) => Vec::new(),
        }
    }

    fn writes(&self) -> impl Iterator<Item = &Entry> {
        let entries = match self {
            Observed::Compared { entries, .. } => entries.as_slice(),
            Observed::Pending(_) => &[],
        };
        entries
            .iter()
            .filter(|e| matches!(e.state, SyncState::Pending(_) | SyncState::Failed(_) | SyncState::Drifted(_)))
    }
}

pub struct EnvVars;

/// A value Slipway wants at Vercel, before it is compared.
struct Wanted {
    key: String,
    environment: Environment,
    secret: bool,
    description: String,
    value: SecretString,
}

/// Everything the venture's variables want, per (key, environment): the integration's from
/// the Supabase project each environment gets, the venture's own where they have a current
/// value.
async fn wanted(ctx: &Context, staging: bool) -> Result<Option<Vec<Wanted>>, StepError> {
    let environments = Environment::of_venture(staging);
    let mut wanted = Vec::new();
    for var in INTEGRATION {
        let mut opened: BTreeMap<Tier, SecretString> = BTreeMap::new();
        for environment in &environments {
            let Some(tier) = ctx.spec.non_production.project_for(*environment) else { continue };
            let value = match opened.get(&tier) {
                Some(value) => value.clone(),
                None => match ctx.secret(&tier.sealed(var.sealed_as)).await? {
                    Some(value) => opened.entry(tier).or_insert(value).clone(),
                    None => return Ok(None),
                },
            };
            wanted.push(Wanted {
                key: var.key.into(),
                environment: *environment,
                secret: var.secret,
                description: var.description.into(),
                value,
            });
        }
    }
    let venture_id = &ctx.venture.id;
    let declared: BTreeMap<String, _> =
        ctx.store.env_vars(venture_id).await?.into_iter().map(|v| (v.key.clone(), v)).collect();
    for current in ctx.store.env_current_values(venture_id).await? {
        let Some(var) = declared.get(&current.key) else { continue };
        if current.removed || !environments.contains(&current.environment) {
            continue;
        }
        let name = sealed_name(current.environment, &current.key, current.version);
        let Some(value) = ctx.secret(&name).await? else {
            return Err(StepError::Permanent(format!("the sealed value of {name} is missing")));
        };
        wanted.push(Wanted {
            key: current.key.clone(),
            environment: current.environment,
            secret: var.secret,
            description: var.description.clone(),
            value,
        });
    }
    Ok(Some(wanted))
}

fn placement(environment: Environment, staging_id: Option<&str>) -> (Vec<EnvTarget>, Vec<String>) {
    match environment {
        Environment::Development => (vec![EnvTarget::Development], vec![]),
        Environment::Preview => (vec![EnvTarget::Preview], vec![]),
        Environment::Production => (vec![EnvTarget::Production], vec![]),
        Environment::Staging => (vec![], staging_id.into_iter().map(str::to_string).collect()),
    }
}

fn var_type(secret: bool, environment: Environment) -> EnvVarType {
    match (secret, environment) {
        (false, _) => EnvVarType::Plain,
        (true, Environment::Development) => EnvVarType::Encrypted,
        (true, _) => EnvVarType::Sensitive,
    }
}

/// Whether a Vercel entry sits where `input` would go (same key, overlapping place).
fn overlaps(existing: &EnvVar, input: &EnvVarInput) -> bool {
    existing.key == input.key
        && existing.git_branch.is_none()
        && (existing.target.iter().any(|t| input.target.contains(t))
            || existing.custom_environment_ids.iter().any(|c| input.custom_environment_ids.contains(c)))
}

fn comment(description: &str) -> String {
    let mut comment = format!("{description} · {MANAGED}");
    if comment.chars().count() > 500 {
        comment = format!("{}… · {MANAGED}", description.chars().take(480).collect::<String>());
    }
    comment
}

/// A redactor that knows the production project's secrets (what must stay in production), or
/// none when the spec opts in to production's values everywhere.
async fn production_secrets(ctx: &Context) -> Result<Option<Redactor>, StepError> {
    if ctx.spec.non_production == NonProductionDatabase::Production {
        return Ok(None);
    }
    let secrets = Redactor::default();
    let names = INTEGRATION.iter().filter(|v| v.secret).map(|v| v.sealed_as);
    for name in names.chain([supabase_project::DB_PASSWORD]) {
        if let Some(value) = ctx.secret(&Tier::Production.sealed(name)).await? {
            secrets.learn(value.expose_secret());
        }
    }
    Ok(Some(secrets))
}

/// Where an entry at Vercel applies, outside production: its environments, for a person.
fn outside_production(entry: &EnvVar, staging_id: Option<&str>) -> Vec<&'static str> {
    let mut places: Vec<&'static str> = entry
        .target
        .iter()
        .filter_map(|t| match t {
            EnvTarget::Development => Some("development"),
            EnvTarget::Preview => Some("preview"),
            _ => None,
        })
        .collect();
    if !entry.custom_environment_ids.is_empty() {
        let staging = staging_id.is_some_and(|id| entry.custom_environment_ids.iter().any(|c| c == id));
        places.push(if staging { "staging" } else { "a custom environment" });
    }
    places
}

/// Compares what the venture wants with what Vercel holds (one read, and one more for each
/// encrypted entry outside production that Slipway does not own: its value, to check it).
pub async fn compare(ctx: &Context, project: &str, staging_id: Option<&str>) -> Result<Observed, StepError> {
    let Some(wanted) = wanted(ctx, staging_id.is_some()).await? else {
        return Ok(Observed::Pending("the Supabase values are missing from the vault"));
    };
    let guard = production_secrets(ctx).await?;
    let at_vercel = ctx.platforms.vercel.list_env_vars(project).await?;
    let by_id: BTreeMap<&str, &EnvVar> = at_vercel.iter().filter_map(|e| Some((e.id.as_deref()?, e))).collect();
    let records: BTreeMap<(String, Environment), SyncRecord> = ctx
        .store
        .env_sync_records(&ctx.venture.id)
        .await?
        .into_iter()
        .map(|r| ((r.key.clone(), r.environment), r))
        .collect();
    let owned_ids: BTreeSet<&str> = records.values().filter_map(|r| r.vercel_id.as_deref()).collect();
    // Before Slipway recorded ownership it wrote shared entries with this comment; replace them.
    let legacy: Vec<String> = if records.is_empty() {
        at_vercel
            .iter()
            .filter(|e| e.comment.as_deref() == Some(LEGACY_COMMENT) && crate::env::integration(&e.key).is_some())
            .filter_map(|e| e.id.clone())
            .collect()
    } else {
        Vec::new()
    };

    let mut entries = Vec::new();
    for want in wanted {
        let carries_production_secret = guard.as_ref().is_some_and(|secrets| {
            want.environment != Environment::Production && secrets.finds(want.value.expose_secret())
        });
        let (target, custom_environment_ids) = placement(want.environment, staging_id);
        let var_type = var_type(want.secret, want.environment);
        let type_name = format!("{var_type:?}");
        let fingerprint = ctx.vault.fingerprint(&[
            &want.key,
            want.environment.as_str(),
            &type_name,
            &custom_environment_ids.join(","),
            want.value.expose_secret(),
        ]);
        let input = EnvVarInput {
            key: want.key.clone(),
            value: want.value,
            var_type,
            target,
            git_branch: None,
            comment: Some(comment(&want.description)),
            custom_environment_ids,
        };
        let record = records.get(&(want.key.clone(), want.environment));
        let present = record.and_then(|r| r.vercel_id.as_deref()).and_then(|id| by_id.get(id).copied());
        let mut adopted = None;
        let state = match (record, present) {
            (Some(record), Some(found)) => {
                let readable = found.var_type == EnvVarType::Plain && input.var_type == EnvVarType::Plain;
                // Readable entries: what Vercel holds against what Slipway last wrote (not
                // against what it wants now, which may have changed in Slipway since).
                let changed_there = if readable {
                    let held = ctx.vault.fingerprint(&[
                        &want.key,
                        want.environment.as_str(),
                        &type_name,
                        &input.custom_environment_ids.join(","),
                        found.value.as_ref().map(|v| v.expose_secret()).unwrap_or_default(),
                    ]);
                    record.fingerprint.as_deref() != Some(held.as_str())
                } else {
                    found.updated_at != record.vercel_updated_at
                };
                let moved = found.key != input.key || !overlaps(found, &input);
                if changed_there || moved || found.var_type != input.var_type {
                    SyncState::Drifted("changed at Vercel".into())
                } else if let Some(failure) = &record.failure {
                    SyncState::Failed(failure.clone())
                } else if record.fingerprint.as_deref() != Some(fingerprint.as_str()) {
                    SyncState::Pending("changed in Slipway".into())
                } else {
                    SyncState::InSync
                }
            }
            (Some(record), None) if record.vercel_id.is_some() => SyncState::Drifted("deleted at Vercel".into()),
            (record, _) => {
                let foreign = at_vercel.iter().find(|e| {
                    overlaps(e, &input)
                        && e.id.as_deref().is_none_or(|id| !owned_ids.contains(id) && !legacy.iter().any(|l| l == id))
                });
                // An intent (recorded before a write whose answer never came back): the entry
                // in its place is the one that write made.
                let intent = record.is_some_and(|r| r.vercel_id.is_none() && r.failure.is_none());
                match (foreign, record.and_then(|r| r.failure.clone())) {
                    (Some(made), _) if intent => {
                        adopted = made.id.clone();
                        SyncState::Pending("resuming an interrupted write".into())
                    }
                    (Some(other), _) => SyncState::Blocked(format!(
                        "Vercel already has {} for {} (entry {}), not Slipway's: delete it at Vercel, then sync",
                        input.key,
                        want.environment,
                        other.id.as_deref().unwrap_or("without id")
                    )),
                    (None, Some(failure)) => SyncState::Failed(failure),
                    (None, None) => SyncState::Pending("new".into()),
                }
            }
        };
        let state = if carries_production_secret {
            SyncState::Blocked(format!(
                "{} for {} would hold a production secret of the database: production secrets stay in \
                     production; give {} its own value (or opt in with supabase.non_production = production)",
                want.key, want.environment, want.environment
            ))
        } else {
            state
        };
        entries.push(Entry {
            key: want.key,
            environment: want.environment,
            state,
            input,
            fingerprint,
            owned_id: present.and_then(|p| p.id.clone()).or(adopted),
        });
    }
    let mut exposed = Vec::new();
    if let Some(secrets) = &guard {
        // Slipway's own entries (recorded, adopted, or legacy ones this sync replaces) are not
        // foreign: what they hold is what it wants, checked above.
        let ours: BTreeSet<&str> = owned_ids
            .iter()
            .copied()
            .chain(legacy.iter().map(String::as_str))
            .chain(entries.iter().filter_map(|e| e.owned_id.as_deref()))
            .collect();
        let foreign = at_vercel.iter().filter(|e| e.id.as_deref().is_none_or(|id| !ours.contains(id)));
        for entry in foreign {
            let places = outside_production(entry, staging_id);
            if places.is_empty() {
                continue;
            }
            let value = match (entry.var_type, &entry.id) {
                (EnvVarType::Plain, _) => entry.value.clone(),
                // Listed encrypted values are not readable; one read of the entry decrypts it.
                (EnvVarType::Encrypted, Some(id)) => ctx.platforms.vercel.get_env_var(project, id).await?.value,
                // Sensitive entries are write-only: nobody can read them back, Slipway neither.
                _ => None,
            };
            if value.is_some_and(|v| secrets.finds(v.expose_secret())) {
                exposed.push(format!(
                    "{} ({}), set at Vercel outside Slipway (entry {}), holds a production secret of the database: \
                     delete it at Vercel, then sync",
                    entry.key,
                    places.join(", "),
                    entry.id.as_deref().unwrap_or("without id")
                ));
            }
        }
    }
    let wanted_places: BTreeSet<(String, Environment)> =
        entries.iter().map(|e| (e.key.clone(), e.environment)).collect();
    let unwanted = records
        .into_values()
        .filter(|r| !wanted_places.contains(&(r.key.clone(), r.environment)))
        .map(|r| {
            let id = r.vercel_id.filter(|id| by_id.contains_key(id.as_str()));
            (r.key, r.environment, id)
        })
        .collect();
    Ok(Observed::Compared { project: project.to_string(), entries, unwanted, legacy, exposed })
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
        if upstream.get::<SupabaseKeys<Production>>().flatten().is_none() {
            return Ok(Observed::Pending("the Supabase values are missing from the vault"));
        }
        if supabase_project::wanted::<Staging>(ctx) && upstream.get::<SupabaseKeys<Staging>>().flatten().is_none() {
            return Ok(Observed::Pending("the staging project's Supabase values are missing from the vault"));
        }
        let staging = upstream.get::<StagingEnvironment>().and_then(|s| s.id);
        compare(ctx, &project.id, staging.as_deref()).await
    }

    fn diff(_ctx: &Context, _upstream: &Upstream, observed: &Observed) -> Change {
        let Observed::Compared { entries, unwanted, legacy, exposed, .. } = observed else {
            return Change::new(Action::Create, format!("{} variables from Supabase", INTEGRATION.len()));
        };
        if let Some(first) = exposed.first() {
            let more = if exposed.len() > 1 { format!(" (and {} more)", exposed.len() - 1) } else { String::new() };
            return Change::new(Action::Blocked, format!("{first}{more}"));
        }
        let blocked: Vec<&Entry> = entries.iter().filter(|e| matches!(e.state, SyncState::Blocked(_))).collect();
        if let Some(first) = blocked.first()
            && let SyncState::Blocked(why) = &first.state
        {
            let more = if blocked.len() > 1 { format!(" (and {} more)", blocked.len() - 1) } else { String::new() };
            return Change::new(Action::Blocked, format!("{why}{more}"));
        }
        let count = |wanted: fn(&SyncState) -> bool| entries.iter().filter(|e| wanted(&e.state)).count();
        let new = count(|s| matches!(s, SyncState::Pending(why) if why == "new"));
        let changed =
            count(|s| matches!(s, SyncState::Pending(why) if why != "new") || matches!(s, SyncState::Failed(_)));
        let drifted = count(|s| matches!(s, SyncState::Drifted(_)));
        let deletes = unwanted.iter().filter(|(_, _, id)| id.is_some()).count() + legacy.len();
        if new + changed + drifted + deletes == 0 {
            return Change::new(Action::NoChange, format!("{} entries in sync", entries.len()));
        }
        let mut parts = Vec::new();
        for (n, what) in [(new, "new"), (changed, "changed"), (drifted, "drifted at Vercel"), (deletes, "to delete")] {
            if n > 0 {
                parts.push(format!("{n} {what}"));
            }
        }
        let action = if new == entries.len() && deletes == 0 { Action::Create } else { Action::Update };
        Change::new(action, format!("{} of {} entries: {}", new + changed + drifted, entries.len(), parts.join(", ")))
    }

    fn current(observed: &Observed) -> Option<Wired> {
        match observed {
            Observed::Compared { entries, unwanted, legacy, exposed, .. }
                if observed.writes().next().is_none()
                    && unwanted.iter().all(|(_, _, id)| id.is_none())
                    && legacy.is_empty()
                    && exposed.is_empty()
                    && entries.iter().all(|e| e.state == SyncState::InSync) =>
            {
                Some(wired(entries))
            }
            _ => None,
        }
    }

    /// Deletes what Slipway owns and no longer wants (and drifted entries in the way) in one
    /// batch, writes every new, changed or drifted entry in one upsert batch, and records
    /// what Vercel answered per entry; refusals inside Vercel's 201 fail only their entry.
    async fn apply(
        ctx: &Context,
        _upstream: &Upstream,
        observed: Observed,
        _change: &Change,
    ) -> Result<Applied<Wired>, StepError> {
        let writes: Vec<&Entry> = observed.writes().collect();
        let Observed::Compared { project, entries, unwanted, legacy, exposed } = &observed else {
            let Observed::Pending(why) = observed else { unreachable!() };
            return Err(StepError::Permanent(why.into()));
        };
        if let Some(first) = exposed.first() {
            return Err(StepError::Permanent(first.clone()));
        }
        if let Some(blocked) = entries.iter().find_map(|e| match &e.state {
            SyncState::Blocked(why) => Some(why.clone()),
            _ => None,
        }) {
            return Err(StepError::Permanent(blocked));
        }
        let mut delete_ids: Vec<&str> = unwanted.iter().filter_map(|(_, _, id)| id.as_deref()).collect();
        delete_ids.extend(legacy.iter().map(String::as_str));
        // A drifted entry may have been moved at Vercel, where an upsert would not find it.
        delete_ids.extend(
            writes.iter().filter(|e| matches!(e.state, SyncState::Drifted(_))).filter_map(|e| e.owned_id.as_deref()),
        );
        let changed = !writes.is_empty() || !delete_ids.is_empty();
        if !changed {
            ctx.emit(Self::NAME, Level::Info, "Environment variables already in sync").await;
            return Ok(Applied { changed, output: wired(entries) });
        }
        if !delete_ids.is_empty() {
            let note = format!("Removing {} environment variable entr(ies) at Vercel", delete_ids.len());
            ctx.emit(Self::NAME, Level::Info, note).await;
            ctx.platforms.vercel.delete_env_vars(project, &delete_ids).await?;
        }
        let deleted: Vec<(String, Environment)> = unwanted.iter().map(|(k, e, _)| (k.clone(), *e)).collect();
        let mut records = Vec::new();
        let mut refused = Vec::new();
        if !writes.is_empty() {
            let note = format!("Writing {} environment variable entr(ies) to Vercel", writes.len());
            ctx.emit(Self::NAME, Level::Info, note).await;
            // Intents first: if the answer is lost, the next apply adopts what this call made.
            let intents: Vec<SyncRecord> = writes
                .iter()
                .map(|e| SyncRecord {
                    key: e.key.clone(),
                    environment: e.environment,
                    vercel_id: None,
                    fingerprint: None,
                    vercel_updated_at: None,
                    failure: None,
                })
                .collect();
            ctx.store.record_env_sync(&ctx.venture.id, &intents, &[]).await?;
            let batch: Vec<EnvVarInput> = writes.iter().map(|e| e.input.clone()).collect();
            let outcome = ctx.platforms.vercel.create_env_vars(project, &batch, true).await?;
            for entry in &writes {
                let created = outcome.created.iter().find(|c| c.key == entry.input.key && overlaps(c, &entry.input));
                let failure = outcome.failed.iter().find(|f| f.key == entry.input.key);
                let record = match (created, failure) {
                    (Some(created), _) => SyncRecord {
                        key: entry.key.clone(),
                        environment: entry.environment,
                        vercel_id: created.id.clone(),
                        fingerprint: Some(entry.fingerprint.clone()),
                        vercel_updated_at: created.updated_at,
                        failure: None,
                    },
                    (None, failure) => {
                        let why = failure
                            .map(|f| format!("{}: {}", f.code, f.message))
                            .unwrap_or_else(|| "Vercel did not confirm the write".into());
                        refused.push(format!("{} ({}): {why}", entry.key, entry.environment));
                        SyncRecord {
                            key: entry.key.clone(),
                            environment: entry.environment,
                            vercel_id: None,
                            fingerprint: None,
                            vercel_updated_at: None,
                            failure: Some(why),
                        }
                    }
                };
                records.push(record);
            }
        }
        ctx.store.record_env_sync(&ctx.venture.id, &records, &deleted).await?;
        if !legacy.is_empty() {
            ctx.store.delete_resource(&ctx.venture.id, kind::VERCEL_ENV).await?;
        }
        if !refused.is_empty() {
            return Err(StepError::Permanent(format!(
                "Vercel refused {} entr(ies), the others are written: {}",
                refused.len(),
                refused.join("; ")
            )));
        }
        Ok(Applied { changed, output: wired(entries) })
    }

    /// The entries go with the Vercel project; the records and the venture's variables are
    /// Slipway's to remove.
    async fn destroy(ctx: &Context) -> Result<(), StepError> {
        ctx.store.delete_env(&ctx.venture.id).await?;
        Ok(ctx.store.delete_resource(&ctx.venture.id, kind::VERCEL_ENV).await?)
    }
}

fn wired(entries: &[Entry]) -> Wired {
    let keys: BTreeSet<&str> = entries.iter().map(|e| e.key.as_str()).collect();
    Wired { variables: keys.into_iter().map(str::to_string).collect() }
}
