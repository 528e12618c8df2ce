//! Applying a venture's spec: a graph of idempotent steps over Supabase and Vercel.
//!
//! ```text
//! supabase.project ─▶ supabase.ready ─▶ supabase.keys ─┐
//!                                                      ├─▶ vercel.env ─▶ vercel.deploy
//! vercel.project ───▶ vercel.staging ──────────────────┘
//! ```
//!
//! Independent steps run at once. Every step looks before it writes: it adopts what an
//! interrupted earlier attempt created (an *intent* is recorded before each create), changes
//! only what differs from the spec, and records its outcome, so applying again converges and
//! a converged venture costs only reads. A permanent failure stops its own branch with a
//! message saying what to do; the other branch still finishes, so what exists stays
//! consistent and recorded.

mod destroy;
mod env;
mod plan;
mod supabase;
mod vercel;

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use secrecy::SecretString;
use serde_json::Value;

use crate::events::{EventLog, Level};
use crate::jobs::StepError;
use crate::platforms::Platforms;
use crate::store::Store;
use crate::vault::Vault;
use crate::venture::{Venture, VentureSpec};

pub use destroy::destroy;
pub use env::{EnvVarPlan, desired_env_names};
pub use plan::{Action, PlannedAction, plan};

/// The steps of an apply, in a stable order for display.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Step {
    SupabaseProject,
    SupabaseReady,
    SupabaseKeys,
    VercelProject,
    VercelStaging,
    VercelEnv,
    VercelDeploy,
}

impl Step {
    pub const ALL: [Step; 7] = [
        Step::SupabaseProject,
        Step::SupabaseReady,
        Step::SupabaseKeys,
        Step::VercelProject,
        Step::VercelStaging,
        Step::VercelEnv,
        Step::VercelDeploy,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Step::SupabaseProject => "supabase.project",
            Step::SupabaseReady => "supabase.ready",
            Step::SupabaseKeys => "supabase.keys",
            Step::VercelProject => "vercel.project",
            Step::VercelStaging => "vercel.staging",
            Step::VercelEnv => "vercel.env",
            Step::VercelDeploy => "vercel.deploy",
        }
    }

    /// What a person sees for the step.
    pub fn title(self) -> &'static str {
        match self {
            Step::SupabaseProject => "Supabase project",
            Step::SupabaseReady => "Supabase project healthy",
            Step::SupabaseKeys => "Supabase keys and connection strings",
            Step::VercelProject => "Vercel project",
            Step::VercelStaging => "Staging environment",
            Step::VercelEnv => "Environment variables",
            Step::VercelDeploy => "Production deployment",
        }
    }

    pub fn depends_on(self) -> &'static [Step] {
        match self {
            Step::SupabaseProject | Step::VercelProject => &[],
            Step::SupabaseReady => &[Step::SupabaseProject],
            Step::SupabaseKeys => &[Step::SupabaseReady],
            Step::VercelStaging => &[Step::VercelProject],
            Step::VercelEnv => &[Step::SupabaseKeys, Step::VercelProject, Step::VercelStaging],
            Step::VercelDeploy => &[Step::VercelEnv],
        }
    }
}

/// Kinds of resources recorded per venture (`venture_resources.kind`).
pub mod kind {
    pub const SUPABASE_PROJECT: &str = "supabase_project";
    pub const VERCEL_PROJECT: &str = "vercel_project";
    pub const VERCEL_STAGING: &str = "vercel_staging";
    pub const VERCEL_ENV: &str = "vercel_env";
    pub const VERCEL_DEPLOYMENT: &str = "vercel_deployment";
}

/// How often long waits look again, and how long they wait at most.
#[derive(Debug, Clone)]
pub struct Polling {
    pub every: Duration,
    pub supabase_ready_within: Duration,
    pub deployment_ready_within: Duration,
}

impl Default for Polling {
    fn default() -> Self {
        Polling {
            every: Duration::from_secs(2),
            supabase_ready_within: Duration::from_secs(15 * 60),
            deployment_ready_within: Duration::from_secs(30 * 60),
        }
    }
}

/// Everything a step may use.
pub struct Context {
    pub store: Store,
    pub events: EventLog,
    pub platforms: Platforms,
    pub vault: Arc<Vault>,
    pub venture: Venture,
    pub spec: VentureSpec,
    pub job_id: String,
    /// The runner instance holding the job's lease; a step starts only while it still does.
    pub owner: String,
    pub polling: Polling,
}

/// What a step reports to the steps after it.
#[derive(Debug, Clone, Default)]
pub struct StepOutput {
    /// Whether the step wrote anything at a platform.
    pub changed: bool,
    pub data: Value,
}

impl Context {
    pub async fn emit(&self, step: Step, level: Level, message: impl AsRef<str>) {
        self.events.emit(&self.venture.id, Some(&self.job_id), step.name(), level, message.as_ref()).await;
    }

    /// Seals and stores a secret of this venture.
    pub async fn put_secret(&self, name: &str, value: &SecretString) -> Result<(), StepError> {
        let sealed = self.vault.seal(&self.venture.id, name, value);
        Ok(self.store.put_secret(&self.venture.id, name, &sealed).await?)
    }

    /// A stored secret of this venture, opened.
    pub async fn secret(&self, name: &str) -> Result<Option<SecretString>, StepError> {
        match self.store.secret(&self.venture.id, name).await? {
            Some(sealed) => self
                .vault
                .open(&self.venture.id, name, &sealed)
                .map(Some)
                .map_err(|e| StepError::Permanent(format!("secret {name}: {e}"))),
            None => Ok(None),
        }
    }
}

type StepFuture<'a> = Pin<Box<dyn Future<Output = (Step, Result<StepOutput, StepError>)> + Send + 'a>>;

/// One step, recording its state around it. Everything a step does, its bookkeeping included,
/// happens inside its own future: the executor awaits nothing but the running steps, so no
/// step is left unpolled while it holds a database connection.
fn run_step<'a>(ctx: &'a Context, step: Step, inputs: BTreeMap<Step, StepOutput>) -> StepFuture<'a> {
    Box::pin(async move {
        let outcome = async {
            // Fenced by the lease: an instance whose lease ran out (it stalled, and another took
            // the job over) starts nothing more. Steps look up before they create, so even a
            // step already under way when the lease passed cannot make a second resource.
            if !ctx.store.start_step(&ctx.job_id, &ctx.owner, step.name()).await? {
                return Err(StepError::LeaseLost);
            }
            let output = match step {
                Step::SupabaseProject => supabase::project(ctx).await,
                Step::SupabaseReady => supabase::ready(ctx, &inputs).await,
                Step::SupabaseKeys => supabase::keys(ctx, &inputs).await,
                Step::VercelProject => vercel::project(ctx).await,
                Step::VercelStaging => vercel::staging(ctx, &inputs).await,
                Step::VercelEnv => env::wire(ctx, &inputs).await,
                Step::VercelDeploy => vercel::deploy(ctx, &inputs).await,
            }?;
            let saved = serde_json::json!({ "changed": output.changed, "data": output.data });
            ctx.store.set_step(&ctx.job_id, step.name(), "done", Some(&saved.to_string())).await?;
            Ok(output)
        }
        .await;
        if let Err(StepError::Permanent(message)) = &outcome {
            ctx.emit(step, Level::Error, message).await;
            if let Err(err) = ctx.store.set_step(&ctx.job_id, step.name(), "failed", None).await {
                tracing::warn!(step = step.name(), error = %err, "could not record a failed step");
            }
        }
        (step, outcome)
    })
}

/// How an apply orders its steps.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Schedule {
    /// Every step whose dependencies are done runs at once (the product's way).
    #[default]
    Concurrent,
    /// One step at a time, in `Step::ALL` order: the baseline the benchmark compares against.
    OneAtATime,
}

/// Runs the graph to the end. Steps already done in this job (a resumed attempt) are not run
/// again. Returns the first permanent error, else the first transient one, once every step
/// that could run has run.
pub async fn apply(ctx: &Context, schedule: Schedule) -> Result<(), StepError> {
    let mut done: BTreeMap<Step, StepOutput> = BTreeMap::new();
    for step in Step::ALL {
        if let Some(record) = ctx.store.step(&ctx.job_id, step.name()).await?
            && record.status == "done"
        {
            let saved: Value = record.output.as_deref().and_then(|o| serde_json::from_str(o).ok()).unwrap_or_default();
            let changed = saved["changed"].as_bool().unwrap_or(false);
            done.insert(step, StepOutput { changed, data: saved["data"].clone() });
        }
    }
    let mut started: BTreeSet<Step> = done.keys().copied().collect();
    let mut failed: Vec<(Step, StepError)> = Vec::new();
    let mut running: FuturesUnordered<StepFuture<'_>> = FuturesUnordered::new();
    loop {
        for step in Step::ALL {
            if schedule == Schedule::OneAtATime && !running.is_empty() {
                break;
            }
            let ready = step.depends_on().iter().all(|d| done.contains_key(d));
            if !started.contains(&step) && ready {
                started.insert(step);
                let inputs = step.depends_on().iter().map(|d| (*d, done[d].clone())).collect();
                running.push(run_step(ctx, step, inputs));
            }
        }
        let Some((step, outcome)) = running.next().await else { break };
        match outcome {
            Ok(output) => {
                done.insert(step, output);
            }
            Err(err) => failed.push((step, err)),
        }
    }
    // Losing the lease outranks everything: the new owner decides what the failures mean.
    let decisive = failed
        .iter()
        .position(|(_, e)| matches!(e, StepError::LeaseLost))
        .or_else(|| failed.iter().position(|(_, e)| matches!(e, StepError::Permanent(_))));
    match decisive.or(if failed.is_empty() { None } else { Some(0) }) {
        Some(index) => {
            let (step, err) = failed.swap_remove(index);
            Err(match err {
                StepError::Permanent(m) => StepError::Permanent(format!("{}: {m}", step.title())),
                StepError::Transient(m) => StepError::Transient(format!("{}: {m}", step.title())),
                other @ (StepError::LeaseLost | StepError::OverBudget { .. }) => other,
            })
        }
        None => Ok(()),
    }
}

/// Waits `every` between looks at `check` until it yields a value or `within` passes.
pub(crate) async fn poll<T, F, Fut>(every: Duration, within: Duration, mut check: F) -> Result<Option<T>, StepError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>, StepError>>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Some(value) = check().await? {
            return Ok(Some(value));
        }
        if tokio::time::Instant::now() + every > deadline {
            return Ok(None);
        }
        tokio::time::sleep(every).await;
    }
}

/// A hex SHA-256, to remember what was written without keeping the value.
pub fn digest(parts: &[&str]) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part.as_bytes());
    }
    hasher.finalize().iter().map(|b| format!("{b:02x}")).collect()
}
