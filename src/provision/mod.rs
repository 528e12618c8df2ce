//! Applying a venture's spec: a graph of resources over Supabase and Vercel, each with one
//! shape (observe, diff, apply, destroy; see [`graph`]), declared in [`resources::GRAPH`].
//!
//! Independent resources are applied at once. Every one looks before it writes: it adopts what
//! an interrupted earlier attempt created (an *intent* is recorded before each create), changes
//! only what differs from the spec, and records its outcome, so applying again converges and a
//! converged venture costs only reads. A permanent failure stops its own branch with a message
//! saying what to do; the other branch still finishes, so what exists stays consistent and
//! recorded. Apply and destroy run as job handlers ([`handlers`]); the plan is the apply's own
//! observe and diff, without the apply.

mod graph;
mod handlers;
mod resources;
mod rotate;

use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;

use crate::events::{EventLog, Level};
use crate::platform::api::{ApiError, ErrorKind, Vendor};
use crate::platforms::Platforms;
use crate::store::Store;
use crate::vault::Vault;
use crate::venture::{Venture, VentureSpec};

pub use graph::{Action, Change, PlannedAction, Schedule};
pub use handlers::{
    APPLY_VENTURE, ApplyVenture, DESTROY_VENTURE, DestroyVenture, Provisioner, Redeploy, SYNC_ENV, SyncEnv,
};
pub(crate) use resources::compare_env;
pub use resources::{
    DomainAtVercel, GRAPH, PoliciesWritten, RedeployTarget, SignInWritten, SyncState, examine_domain, kind,
    lint_errors, lint_note, read_written, record_lint,
};
pub use rotate::{
    Built, JWT_SIGNING_KEY, POSTGRES_PASSWORD, ProjectKeys, ROTATE_SECRET, RotateSecret, RotationState,
    SUPABASE_SECRET_KEY, copy_name, variable_slot,
};

/// How often long waits look again, and how long they wait at most.
#[derive(Debug, Clone)]
pub struct Polling {
    pub every: Duration,
    pub supabase_ready_within: Duration,
    pub deployment_ready_within: Duration,
    /// How long a new deployment may take to answer its health check (a rotation's test).
    pub healthy_within: Duration,
    /// How long a standby JWT signing key is published before it signs: every verifier's
    /// cached JWKS holds it by then.
    pub signing_key_published_after: Duration,
    /// How long after the access tokens' lifetime the previous signing key is revoked.
    pub token_expiry_margin: Duration,
}

/// How provisioning runs.
/// The defaults are in `EngineConfig::new`.
#[derive(Debug, Clone)]
pub struct ProvisionConfig {
    /// How steps that wait (for Supabase, for a deployment) poll.
    pub polling: Polling,
    /// How each apply orders its steps (one at a time only to measure the difference).
    pub schedule: Schedule,
}

/// Why a step stopped.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StepError {
    /// Worth another attempt later (rate limits, outages, lost connections).
    #[error("{0}")]
    Transient(String),
    /// Needs a person: retrying will not help. The message says what to do.
    #[error("{0}")]
    Permanent(String),
    /// Another instance has taken the job over (this one's lease ran out): stop touching it.
    #[error("the job's lease passed to another instance")]
    LeaseLost,
    /// Only for work run with a patience (plans): a call would have waited for the rate limiter
    /// longer than allowed, and was not sent.
    #[error("the platforms' rate limits are in use; try again in {} s", retry_after.as_secs().max(1))]
    OverBudget { retry_after: Duration },
}

impl From<sqlx::Error> for StepError {
    fn from(err: sqlx::Error) -> Self {
        StepError::Transient(format!("storage error: {err}"))
    }
}

impl From<ApiError> for StepError {
    fn from(err: ApiError) -> Self {
        use crate::platform::retry::Retryable;
        if err.is(ErrorKind::OverBudget) {
            StepError::OverBudget { retry_after: err.retry_after.unwrap_or(Duration::from_secs(1)) }
        } else if err.is(ErrorKind::Unauthorized) {
            let hint = match err.vendor {
                Vendor::Vercel => "Check that VERCEL_TOKEN is valid and has access to the configured team.",
                Vendor::Supabase => "Check that SUPABASE_ACCESS_TOKEN is valid and has access to the organization.",
                Vendor::Cloudflare => "Check that the Cloudflare API token may edit DNS in this zone.",
                // The DNS server's refusal already names the key and the ACL to check.
                Vendor::DnsServer => "",
            };
            StepError::Permanent(if hint.is_empty() { err.to_string() } else { format!("{err}. {hint}") })
        } else if err.is_retryable() || err.is(ErrorKind::Unconfirmed) {
            // An unconfirmed create is retried by the step, which looks up before it creates.
            StepError::Transient(err.to_string())
        } else {
            StepError::Permanent(err.to_string())
        }
    }
}

/// The job an apply or destroy runs under, and the instance holding its lease.
#[derive(Debug, Clone)]
pub struct JobLease {
    pub id: String,
    pub owner: String,
}

/// Everything a resource may use.
pub struct Context {
    pub store: Store,
    pub events: EventLog,
    pub platforms: Platforms,
    pub vault: Arc<Vault>,
    pub venture: Venture,
    pub spec: VentureSpec,
    /// `None` for a plan, which runs no step and writes nothing.
    pub job: Option<JobLease>,
    pub polling: Polling,
}

impl Context {
    pub async fn emit(&self, step: &str, level: Level, message: impl AsRef<str>) {
        let job = self.job.as_ref().map(|j| j.id.as_str());
        self.events.emit(&self.venture.id, job, step, level, message.as_ref()).await;
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

/// What applying `ctx.spec` to `ctx.venture` would do, per resource. Reads only.
pub async fn plan(ctx: &Context) -> Result<Vec<PlannedAction>, StepError> {
    graph::plan(ctx, GRAPH).await
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
