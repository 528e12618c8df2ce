//! Secret rotation for people: rotate a secret now (admins), and every secret's history with
//! the deployments that carry each value (everyone who may read the venture; never a value).

use std::collections::BTreeMap;
use std::time::Duration;

use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use tokio::task::JoinHandle;

use super::Engine;
use super::audit::AuditAction;
use crate::auth::{Role, User};
use crate::env::{Environment, Source};
use crate::error::EngineError;
use crate::provision::{
    Built, JWT_SIGNING_KEY, POSTGRES_PASSWORD, ROTATE_SECRET, RotationState, SUPABASE_SECRET_KEY, copy_name,
    variable_slot,
};
use crate::rotation::{Phase, Policy, SecretClass, next_rotation};
use crate::store::Store;
use crate::store::{NewRotation, RotationRecord, RotationSummary};
use crate::time::now_ms;
use crate::venture::{NewVenture, Venture, VentureStatus};

/// The platform secrets every venture has, which Slipway rotates by name; besides them, each
/// generated variable and each secret variable a person entered (see [`rotatable`]).
pub const ROTATABLE: &[(&str, SecretClass)] = &[
    (SUPABASE_SECRET_KEY, SecretClass::SupabaseSecretKey),
    (POSTGRES_PASSWORD, SecretClass::DatabasePassword),
    (JWT_SIGNING_KEY, SecretClass::JwtSigningKey),
];

/// What an admin asks for with a rotation.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateRequest {
    /// Must be `true` to rotate the database password: its reset cuts every live connection
    /// until the new deployments are ready (`SecretRotationStatus.warning` says how long the
    /// last one took).
    #[serde(default)]
    pub accept_connection_cut: bool,
    /// For a secret a person entered (Slipway cannot mint it): its new value, by environment,
    /// for one or more of the environments that hold it; the others keep theirs. Empty for
    /// every other secret.
    #[serde(default, deserialize_with = "crate::env::unique_keys")]
    #[schema(value_type = BTreeMap<String, String>, example = json!({"production": "sk_live_…"}))]
    pub values: BTreeMap<String, SecretString>,
}

/// One of a venture's secrets that rotates.
#[derive(Debug, Clone)]
pub struct Rotatable {
    pub name: String,
    pub class: SecretClass,
    /// For a variable: the environments that hold a value of it.
    pub environments: Vec<Environment>,
    /// For a variable: when its newest current value was set (its age).
    pub set_at: Option<i64>,
}

/// The venture's secrets that rotate: the platform secrets ([`ROTATABLE`]), then every
/// generated variable and every secret variable a person entered that holds a value.
pub async fn rotatable(store: &Store, venture_id: &str) -> Result<Vec<Rotatable>, sqlx::Error> {
    let mut secrets: Vec<Rotatable> = ROTATABLE
        .iter()
        .map(|(name, class)| Rotatable { name: name.to_string(), class: *class, environments: vec![], set_at: None })
        .collect();
    let values = store.env_current_values(venture_id).await?;
    for var in store.env_vars(venture_id).await? {
        let class = match var.source {
            Source::Generated => SecretClass::Generated,
            Source::User if var.secret => SecretClass::UserEntered,
            _ => continue,
        };
        let held: Vec<_> = values.iter().filter(|v| v.key == var.key && !v.removed).collect();
        if held.is_empty() {
            continue;
        }
        secrets.push(Rotatable {
            name: var.key.clone(),
            class,
            environments: held.iter().map(|v| v.environment).collect(),
            set_at: held.iter().map(|v| v.set_at).max(),
        });
    }
    Ok(secrets)
}

/// When scheduled rotations run; the defaults are in `EngineConfig::new`.
#[derive(Debug, Clone)]
pub struct RotationSchedule {
    /// How often an instance looks for secrets that are due. A due rotation is queued once,
    /// by whichever instance sees it first (a venture runs one job at a time).
    pub look_every: Duration,
    /// The window after a secret falls due over which a fleet's rotations are spread, so
    /// ventures made together do not spend the platforms' rate limits in one minute.
    pub spread: Duration,
    /// How long after a failed or rolled-back rotation a due secret is tried again.
    pub retry_after_failure: Duration,
}

impl Default for RotationSchedule {
    fn default() -> Self {
        RotationSchedule {
            look_every: Duration::from_secs(60),
            spread: Duration::from_secs(24 * 3600),
            retry_after_failure: Duration::from_secs(24 * 3600),
        }
    }
}

impl RotationSchedule {
    /// Since when `secret` of `venture` has held its value (its last rotation, else the
    /// venture's making), and when its next scheduled rotation runs.
    /// A secret a person must mint is never scheduled: it falls due, and waits for them.
    fn next(
        &self,
        venture: &Venture,
        secret: &Rotatable,
        policy: Policy,
        summary: Option<&RotationSummary>,
    ) -> (i64, Option<i64>) {
        let rotated = summary.and_then(|s| s.last_success);
        let since = rotated.max(secret.set_at).unwrap_or(venture.created_at);
        let last_failure = summary.and_then(|s| s.last_failure);
        let (spread, retry) = (self.spread, self.retry_after_failure);
        let at = next_rotation(policy, since, last_failure, &venture.id, &secret.name, spread, retry);
        (since, at.filter(|_| secret.class.minted_by_slipway()))
    }
}

/// Who scheduled rotations are recorded as requested by.
pub const SCHEDULE: &str = "schedule";

/// Where one of a venture's secrets stands: its policy, when it last rotated, when it is due.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SecretRotationStatus {
    pub secret: String,
    pub class: String,
    /// `never`, or every so many days (`90d`).
    pub policy: String,
    /// When it last rotated or was set (a variable's newest value), or when the venture was
    /// made.
    pub since: i64,
    /// Whether `since` is a rotation (else: when the venture was made).
    pub rotated: bool,
    /// When it falls due; none when its policy is `never`.
    #[schema(required = true)]
    pub due_at: Option<i64>,
    /// When its scheduled rotation runs (spread after `due_at`, or a day after a failure);
    /// none for a secret a person must mint, which waits for them once due.
    #[schema(required = true)]
    pub scheduled_at: Option<i64>,
    /// Slipway makes its new value; otherwise a rotation asks for it (`values`).
    pub minted_by_slipway: bool,
    /// For a variable: the environments that hold it.
    pub environments: Vec<Environment>,
    /// A rotation of it is under way.
    pub running: bool,
    /// Its latest rotation.
    #[schema(required = true)]
    pub last: Option<Rotation>,
    /// What rotating it does to the running app, said before an admin confirms (the database
    /// password's reset cuts connections until the redeploy is ready).
    #[schema(required = true)]
    pub warning: Option<String>,
    /// How it rotates, where that is not the usual new value, sync, redeploy and check (a
    /// signing key's waits, and why the legacy JWT secret is never rotated).
    #[schema(required = true)]
    pub explanation: Option<String>,
}

/// How a rotation ended, or that it has not yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RotationOutcome {
    Running,
    Succeeded,
    /// The new value failed a step or its check; the previous one is back everywhere.
    RolledBack,
    /// Given up on; `error` says which secret is in use.
    Failed,
}

/// A rotation of one of a venture's secrets, as its history shows it (`Rotation` in
/// /api/v1's OpenAPI document). Never a value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Rotation {
    #[schema(format = "uuid")]
    pub id: String,
    /// The job that runs it (`GET /api/v1/ventures/{id}/jobs/{job_id}`).
    #[schema(format = "uuid")]
    pub job_id: String,
    /// What rotates, e.g. `SUPABASE_SECRET_KEY`.
    pub secret: String,
    /// Its class (`supabase-secret-key`, …), which decides how it rotates.
    pub class: String,
    /// `manual` (an admin asked) or `schedule`.
    pub cause: String,
    pub requested_by: String,
    pub phase: Phase,
    pub outcome: RotationOutcome,
    /// Why it did not succeed.
    #[schema(required = true)]
    pub error: Option<String>,
    pub created_at: i64,
    #[schema(required = true)]
    pub finished_at: Option<i64>,
    /// The deployments built with the new value.
    pub deployments: Vec<Built>,
    /// The deployments that served before, built with the old value.
    pub replaced: Vec<Built>,
    /// The deployments a rollback built with the previous value again.
    pub restored: Vec<Built>,
    /// A risk to know of, e.g. that an Instant Rollback to a replaced deployment brings back a
    /// retired secret.
    #[schema(required = true)]
    pub warning: Option<String>,
    /// For the database password: how long live connections failed, from the reset until
    /// every new deployment was ready (ms).
    #[schema(required = true)]
    pub connections_cut_ms: Option<i64>,
    /// A rotation that waits (a signing key's, for cached JWKS or token expiry): when it goes
    /// on, by itself.
    #[schema(required = true)]
    pub waiting_until: Option<i64>,
}

impl Rotation {
    fn from_record(record: RotationRecord) -> Rotation {
        let phase = Phase::parse(&record.phase).unwrap_or(Phase::Failed);
        let outcome = match phase {
            Phase::Finished => RotationOutcome::Succeeded,
            Phase::RolledBack => RotationOutcome::RolledBack,
            Phase::Failed => RotationOutcome::Failed,
            _ => RotationOutcome::Running,
        };
        let state: RotationState = serde_json::from_str(&record.state).unwrap_or_default();
        let warning = (outcome == RotationOutcome::Succeeded && !state.replaced.is_empty()).then(|| {
            let ids: Vec<&str> = state.replaced.iter().map(|b| b.id.as_str()).collect();
            format!(
                "{} was built with the retired {}: an Instant Rollback to it (or to an older deployment) \
                 brings the retired value back, and its requests fail; redeploy instead",
                ids.join(", "),
                record.secret
            )
        });
        Rotation {
            id: record.id,
            job_id: record.job_id,
            secret: record.secret,
            class: record.class,
            cause: record.cause,
            requested_by: record.requested_by,
            phase,
            outcome,
            error: record.error,
            created_at: record.created_at,
            finished_at: record.finished_at,
            deployments: state.deployments.clone(),
            replaced: state.replaced.clone(),
            restored: state.restored.clone(),
            warning,
            connections_cut_ms: state.connections_cut_ms(),
            waiting_until: state.resume_at.filter(|_| outcome == RotationOutcome::Running),
        }
    }
}

impl Engine {
    /// Rotates `secret` of the venture now: a job that makes the new value, sets it on every
    /// target, redeploys, checks the new deployments' health and only then retires the old
    /// value, or rolls back. Admins only. Asked again while that rotation runs, it is that
    /// rotation; refused while another job of the venture runs (an apply, a destroy).
    pub async fn rotate_secret(
        &self,
        actor: &User,
        venture_id: &str,
        secret: &str,
        request: &RotateRequest,
    ) -> Result<Rotation, EngineError> {
        if actor.role != Role::Admin {
            return Err(EngineError::Forbidden { role: actor.role.as_str(), action: "rotate secrets" });
        }
        let venture = self.live_venture_to_change(actor, venture_id, "rotate this venture's secrets").await?;
        let secrets = rotatable(&self.inner.store, &venture.id).await?;
        // A name the venture has no such secret of is absent, like an unknown variable.
        let rotated = secrets.iter().find(|s| s.name == secret).ok_or(EngineError::NotFound("rotatable secret"))?;
        let (name, class) = (rotated.name.as_str(), rotated.class);
        // A rotation of it that waits for a moment (a signing key's) is the one under way.
        let newest = self.inner.store.rotations(&venture.id, Some(name)).await?.into_iter().next();
        if let Some(waiting) = newest.filter(|r| Phase::parse(&r.phase).is_some_and(|p| !p.is_final())) {
            let summaries = self.inner.store.rotation_summaries(Some(&venture.id)).await?;
            if summaries.iter().any(|s| s.secret == name && s.waiting) {
                return Ok(Rotation::from_record(waiting));
            }
        }
        let id = uuid::Uuid::now_v7().to_string();
        let sealed = self.new_values(&venture, &id, rotated, request).await?;
        if class.cuts_connections() && !request.accept_connection_cut {
            let last = self.inner.store.rotations(&venture.id, Some(name)).await?;
            let last = last.into_iter().map(Rotation::from_record).find_map(|r| r.connections_cut_ms);
            return Err(EngineError::invalid("accept_connection_cut", format!("must be true: {}", cut_warning(last))));
        }
        if venture.vercel_project_id.is_none() {
            return Err(EngineError::Conflict(format!("{} has no Vercel project yet: apply it first", venture.name)));
        }
        let note = format!("Rotation of {}'s {name} queued by {}", venture.name, actor.username);
        let rotation = NewRotation {
            id: &id,
            secret: name,
            class: class.as_str(),
            cause: "manual",
            requested_by: &actor.username,
            state: "{}",
            sealed: &sealed,
        };
        let store = &self.inner.store;
        let job = match store.queue_rotation(&venture.id, ROTATE_SECRET, &note, &rotation).await? {
            Ok(job) => job,
            Err(active) if active.kind == ROTATE_SECRET => {
                let running = store.rotation_of_job(&active.id).await?;
                match running {
                    Some(running) if running.secret == name && sealed.is_empty() => {
                        return Ok(Rotation::from_record(running));
                    }
                    _ => return Err(super::env::busy(&venture, &active.kind)),
                }
            }
            Err(active) => return Err(super::env::busy(&venture, &active.kind)),
        };
        let record = store.rotation_of_job(&job).await?.ok_or(EngineError::NotFound("rotation"))?;
        let target = format!("{}/{name}", venture.name);
        self.audit(&actor.username, AuditAction::SecretRotate, &target, &format!("rotation {} (job {job})", record.id))
            .await;
        Ok(Rotation::from_record(record))
    }

    /// The new values a person gave for a rotation, checked and sealed under its name; none
    /// for a secret Slipway mints (given one, it is refused).
    async fn new_values(
        &self,
        venture: &Venture,
        rotation_id: &str,
        secret: &Rotatable,
        request: &RotateRequest,
    ) -> Result<Vec<(String, crate::vault::Sealed)>, EngineError> {
        if secret.class.minted_by_slipway() {
            if !request.values.is_empty() {
                let rule = format!("must be empty: Slipway makes the new value of {}", secret.name);
                return Err(EngineError::invalid("values", rule));
            }
            return Ok(Vec::new());
        }
        let held: Vec<&str> = secret.environments.iter().map(|e| e.as_str()).collect();
        if request.values.is_empty() {
            let rule = format!(
                "must give the new value of {} for one or more of the environments that hold it: {}",
                secret.name,
                held.join(", ")
            );
            return Err(EngineError::invalid("values", rule));
        }
        let given: BTreeMap<String, Option<SecretString>> =
            request.values.iter().map(|(e, v)| (e.clone(), Some(v.clone()))).collect();
        let staging = self.stored_spec(venture).await?.staging_branch.is_some();
        let checked = crate::env::check_values("values", &given, staging).map_err(EngineError::Invalid)?;
        let mut errors = Vec::new();
        let mut sealed = Vec::new();
        for (environment, value) in checked {
            if !secret.environments.contains(&environment) {
                let rule =
                    format!("{} has no value in {environment} to rotate (it has: {})", secret.name, held.join(", "));
                errors.push(crate::error::FieldError::new(&format!("values.{environment}"), rule));
                continue;
            }
            let name = copy_name(rotation_id, "pending", &variable_slot(environment, &secret.name));
            let value = value.expect("every given value is set");
            sealed.push((name.clone(), self.inner.vault.seal(&venture.id, &name, &value)));
        }
        if !errors.is_empty() {
            return Err(EngineError::Invalid(errors));
        }
        Ok(sealed)
    }

    /// Where each of the venture's rotatable secrets stands. Anyone who may read the venture.
    pub async fn secret_rotation_status(
        &self,
        actor: &User,
        venture_id: &str,
    ) -> Result<Vec<SecretRotationStatus>, EngineError> {
        let venture = self.venture(actor, venture_id).await?;
        let spec = self.stored_spec(&venture).await?;
        let store = &self.inner.store;
        let summaries = summaries_by_secret(store.rotation_summaries(Some(venture_id)).await?);
        let history = store.rotations(venture_id, None).await?;
        let schedule = &self.inner.config.rotation;
        Ok(rotatable(store, venture_id)
            .await?
            .into_iter()
            .map(|secret| {
                let (name, class) = (&secret.name, secret.class);
                let summary = summaries.get(&(venture.id.clone(), name.to_string()));
                let policy = spec.rotation.policy(class);
                let (since, scheduled) = schedule.next(&venture, &secret, policy, summary);
                let of_secret = || history.iter().filter(|r| r.secret == *name);
                let last_cut = of_secret().map(|r| Rotation::from_record(r.clone())).find_map(|r| r.connections_cut_ms);
                SecretRotationStatus {
                    secret: name.to_string(),
                    class: class.as_str().to_string(),
                    policy: policy.as_string(),
                    since,
                    rotated: summary.is_some_and(|s| s.last_success.is_some()),
                    due_at: policy.due_at(since),
                    scheduled_at: scheduled,
                    minted_by_slipway: class.minted_by_slipway(),
                    environments: secret.environments.clone(),
                    running: summary.is_some_and(|s| s.running),
                    last: of_secret().next().cloned().map(Rotation::from_record),
                    warning: class.cuts_connections().then(|| cut_warning(last_cut)),
                    explanation: (class == SecretClass::JwtSigningKey).then(|| SIGNING_KEYS.to_string()),
                }
            })
            .collect())
    }

    /// Looks every [`RotationSchedule::look_every`] for secrets whose scheduled rotation is
    /// due and queues them; stops on [`Engine::shutdown`].
    pub fn start_rotation_scheduler(&self) -> JoinHandle<()> {
        let engine = self.clone();
        let mut stop = self.inner.shutdown.subscribe();
        tokio::spawn(async move {
            let every = engine.inner.config.rotation.look_every;
            loop {
                match engine.queue_due_rotations(now_ms()).await {
                    Ok(0) => {}
                    Ok(queued) => tracing::info!(queued, "scheduled rotations queued"),
                    Err(error) => tracing::warn!(%error, "looking for due rotations failed"),
                }
                tokio::select! {
                    _ = tokio::time::sleep(every) => {}
                    _ = stop.wait_for(|stopped| *stopped) => return,
                }
            }
        })
    }

    /// Queues the rotation of every secret whose scheduled moment is at or before `now`, of
    /// every venture that is applied and has no job under way (one that has is looked at
    /// again next time). Returns how many were queued.
    pub async fn queue_due_rotations(&self, now: i64) -> Result<usize, EngineError> {
        let store = &self.inner.store;
        let schedule = &self.inner.config.rotation;
        let summaries = summaries_by_secret(store.rotation_summaries(None).await?);
        let mut queued = self.resume_waiting_rotations(now).await?;
        for (venture, spec) in store.ventures_with_specs().await? {
            if !matches!(venture.status, VentureStatus::Ready | VentureStatus::NeedsAttention) {
                continue;
            }
            let Some(spec) = spec_of(&venture, spec.as_deref()) else { continue };
            for secret in rotatable(store, &venture.id).await? {
                let (name, class) = (secret.name.as_str(), secret.class);
                let summary = summaries.get(&(venture.id.clone(), name.to_string()));
                if summary.is_some_and(|s| s.running || s.waiting) {
                    continue;
                }
                let (last_success, last_failure) =
                    (summary.and_then(|s| s.last_success), summary.and_then(|s| s.last_failure));
                let policy = spec.rotation.policy(class);
                let (_, at) = schedule.next(&venture, &secret, policy, summary);
                if at.is_none_or(|at| at > now) {
                    continue;
                }
                // Read again: a rotation may have ended (or begun) since the pass began.
                let fresh = store.rotation_summaries(Some(&venture.id)).await?;
                let fresh = fresh.iter().find(|s| s.secret == name);
                if fresh.is_some_and(|s| {
                    s.running || s.waiting || s.last_success != last_success || s.last_failure != last_failure
                }) {
                    continue;
                }
                let note =
                    format!("Scheduled rotation of {}'s {name} queued (policy {})", venture.name, policy.as_string());
                let id = uuid::Uuid::now_v7().to_string();
                let rotation = NewRotation {
                    id: &id,
                    secret: name,
                    class: class.as_str(),
                    cause: "schedule",
                    requested_by: SCHEDULE,
                    state: "{}",
                    sealed: &[],
                };
                if store.queue_rotation(&venture.id, ROTATE_SECRET, &note, &rotation).await?.is_ok() {
                    queued += 1;
                    // One job per venture at a time: its other due secrets wait for the next look.
                    break;
                }
            }
        }
        Ok(queued)
    }

    /// Resumes, each with a new job, the rotations that waited for a moment now past (a
    /// venture busy with another job is looked at again next time). Returns how many.
    async fn resume_waiting_rotations(&self, now: i64) -> Result<usize, EngineError> {
        let store = &self.inner.store;
        let mut resumed = 0;
        for rotation in store.waiting_rotations().await? {
            let state: RotationState = serde_json::from_str(&rotation.state).unwrap_or_default();
            if state.resume_at.is_some_and(|at| at > now) {
                continue;
            }
            let note = format!("The rotation of {} goes on after its wait", rotation.secret);
            if store.resume_rotation(&rotation.venture_id, &rotation.id, ROTATE_SECRET, &note).await?.is_ok() {
                resumed += 1;
            }
        }
        Ok(resumed)
    }

    /// The venture's rotations, newest first; of one secret when `secret` is given. Anyone
    /// who may read the venture: a rotation's record holds no value.
    pub async fn rotations(
        &self,
        actor: &User,
        venture_id: &str,
        secret: Option<&str>,
    ) -> Result<Vec<Rotation>, EngineError> {
        self.venture(actor, venture_id).await?;
        let records = self.inner.store.rotations(venture_id, secret).await?;
        Ok(records.into_iter().map(Rotation::from_record).collect())
    }
}

/// How a signing key rotates, and why the legacy JWT secret does not.
const SIGNING_KEYS: &str = "A new signing key is published as standby, signs new tokens once every verifier's \
    cached JWKS holds it (about 20 minutes), and the previous key is revoked only after the tokens it signed have \
    expired (their lifetime plus 15 minutes): no one is signed out, and the rotation waits on its own. Slipway never \
    rotates the legacy JWT secret: that signs every user out at once and breaks the anon and service_role keys.";

/// What resetting the database password does, with how long it took last time.
fn cut_warning(last_cut_ms: Option<i64>) -> String {
    let last = match last_cut_ms {
        Some(ms) => format!("the last rotation cut them for {:.1} s", ms as f64 / 1000.0),
        None => "that lasts about one build of each deployment".into(),
    };
    format!(
        "resetting the database password cuts every live connection until the new deployments are ready ({last}); \
         preview deployments keep the old password until they are built again"
    )
}

fn summaries_by_secret(summaries: Vec<RotationSummary>) -> BTreeMap<(String, String), RotationSummary> {
    summaries.into_iter().map(|s| ((s.venture_id.clone(), s.secret.clone()), s)).collect()
}

/// The venture's stored spec, checked; `None` (and a warning) when it no longer validates,
/// which an apply reports to its owner.
fn spec_of(venture: &Venture, json: Option<&str>) -> Option<crate::venture::VentureSpec> {
    let input = match json {
        Some(json) => serde_json::from_str::<NewVenture>(json).ok()?,
        None => NewVenture::new(&venture.name, &venture.repository),
    };
    match input.validate() {
        Ok(spec) => Some(spec),
        Err(_) => {
            tracing::warn!(venture = %venture.name, "the stored spec does not validate; its rotations are not scheduled");
            None
        }
    }
}
