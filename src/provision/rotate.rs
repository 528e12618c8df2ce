//! Secret rotation as a job (`rotate_secret`), after the four steps of AWS Secrets Manager's
//! protocol. A rotation recorded in `rotations` runs phase by phase:
//!
//! 1. **pending**: the new secret is made and sealed before anything uses it (with the old
//!    value, sealed too, for a rollback);
//! 2. **set**: it becomes the current value in the vault and at Vercel, for every target;
//! 3. **deployed**: the deployments that use it are built again and live;
//! 4. **tested**: each answers its health path with a 2xx;
//! 5. **finished**: the old secret is retired.
//!
//! The phase is recorded after each step's effects, and every step is safe to repeat (a key
//! is found by its name before one is made, a build by its record), so a job resumed after a
//! crash carries on where the last attempt stopped. The old secret stays valid until the last
//! step, so the deployments that still run with it keep working throughout; when a step or the
//! check fails before then, the previous value goes back everywhere (rolling back) and the new
//! one is retired instead.

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use super::graph::Resource;
use super::handlers::{Provisioner, lease};
use super::resources::{DB_PASSWORD, EnvVars, GRAPH, RedeployTarget, generate_password, kind, redeploy};
use super::{Context, StepError, graph, poll};
use crate::domains::https::{Expect, probe_path};
use crate::env::{Environment, Generator, Tier, sealed_name};
use crate::events::Level;
use crate::jobs::{HandlerFuture, Job, JobError, JobHandler};
use crate::platform::api::ErrorKind;
use crate::platform::supabase::{
    ApiKeyType, CreateApiKeyRequest, CreateSigningKeyRequest, DeleteApiKeyOptions, SigningKeyAlgorithm,
    SigningKeyStatus,
};
use crate::rotation::{Phase, SecretClass};
use crate::store::{EnvVarRecord, EnvWrite, RotationRecord};

/// Job kind: run the rotation recorded for the job.
pub const ROTATE_SECRET: &str = "rotate_secret";

/// What the names of the keys Slipway makes start with.
const KEY_NAME_PREFIX: &str = "slipway_rotated_";

/// The name of the Supabase secret key's value in the vault (per project, see [`Tier::sealed`]).
pub const SUPABASE_SECRET_KEY: &str = "SUPABASE_SECRET_KEY";

/// What the rotation of a venture's Supabase JWT signing keys is called.
pub const JWT_SIGNING_KEY: &str = "JWT_SIGNING_KEY";

/// What the database password's rotation is called: the variable people know it by (the
/// rotation changes every `POSTGRES_*` variable that embeds it).
pub const POSTGRES_PASSWORD: &str = "POSTGRES_PASSWORD";

/// The vault name of a rotation's `which` copy (`pending`: the new value; `previous`: the one
/// a rollback brings back) of the value at `slot`.
pub fn copy_name(rotation_id: &str, which: &str, slot: &str) -> String {
    format!("{}{which}/{slot}", copies_of(rotation_id))
}

/// What the vault names of every copy a rotation keeps start with.
fn copies_of(rotation_id: &str) -> String {
    format!("rotation/{rotation_id}/")
}

/// The slot of a variable's value in one environment, in [`copy_name`].
pub fn variable_slot(environment: Environment, key: &str) -> String {
    format!("{environment}/{key}")
}

/// What a rotation keeps between its phases (ids and URLs, never a value).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RotationState {
    /// Each Supabase project the secret lives in, and its keys.
    #[serde(default)]
    pub projects: Vec<ProjectKeys>,
    /// For a variable: the environments whose value it changes.
    #[serde(default)]
    pub environments: Vec<Environment>,
    /// The deployments built with the new value.
    #[serde(default)]
    pub deployments: Vec<Built>,
    /// The deployments that served before, built with the old value: an Instant Rollback to
    /// one of them brings the retired secret back.
    #[serde(default)]
    pub replaced: Vec<Built>,
    /// The deployments a rollback built with the previous value again.
    #[serde(default)]
    pub restored: Vec<Built>,
    /// Why the rotation rolled back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback_reason: Option<String>,
    /// A signing key's rotation: when the standby keys may sign (every cached JWKS holds them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signs_at: Option<i64>,
    /// A signing key's rotation: when the previous keys may be revoked (the tokens they signed
    /// have expired, plus Supabase's margin).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoke_at: Option<i64>,
    /// While the rotation waits with no job: when it goes on, and the job that parked it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parked_by: Option<String>,
}

/// A Supabase project's keys in a rotation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ProjectKeys {
    pub tier: Tier,
    pub reference: String,
    /// The key in use before; deleted when the rotation finishes.
    pub old_key_id: Option<String>,
    /// The key made for this rotation; deleted if it rolls back.
    pub new_key_id: Option<String>,
    /// When the project's database password was reset (a password rotation; ms since the
    /// Unix epoch): live connections fail from then until the new deployments are ready.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reset_at: Option<i64>,
    /// When every deployment that uses the project was ready again after the reset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live_at: Option<i64>,
    /// A signing key's rotation: the project's keys before it made one (a key not among them
    /// is the one it made, found again after a crash).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keys_before: Vec<String>,
}

impl RotationState {
    /// How long live database connections failed during a password rotation: from the reset
    /// to the last new deployment being ready, the longest of the venture's projects.
    pub fn connections_cut_ms(&self) -> Option<i64> {
        self.projects.iter().filter_map(|p| Some(p.live_at? - p.reset_at?)).max()
    }
}

/// A deployment and what it serves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Built {
    pub environment: Environment,
    pub id: String,
    pub url: String,
}

/// Runs the rotation recorded for its job.
pub struct RotateSecret(pub Provisioner);

impl JobHandler for RotateSecret {
    fn kind(&self) -> &'static str {
        ROTATE_SECRET
    }

    fn run<'a>(&'a self, job: &'a Job) -> HandlerFuture<'a, Result<(), JobError>> {
        Box::pin(async move { Ok(self.rotate(job).await?) })
    }

    /// The job was given up on (the platforms kept failing): the rotation is marked failed
    /// where it stands, saying which secret is in use.
    fn failed<'a>(&'a self, job: &'a Job, message: &'a str) -> HandlerFuture<'a, Result<(), JobError>> {
        Box::pin(async move {
            let Some(record) = self.0.store.rotation_of_job(&job.id).await? else { return Ok(()) };
            let phase = Phase::parse(&record.phase).unwrap_or(Phase::Failed);
            if phase.is_final() {
                return Ok(());
            }
            let state: RotationState = serde_json::from_str(&record.state).unwrap_or_default();
            let stands = match SecretClass::parse("class", &record.class) {
                Ok(SecretClass::DatabasePassword) if state.projects.iter().any(|p| p.reset_at.is_some()) => {
                    "the database password was reset: the vault holds the new one; redeploy the venture if its \
                     connections fail"
                        .to_string()
                }
                Ok(SecretClass::DatabasePassword) => match self.restore_previous(job).await {
                    Ok(()) => "it stopped before the database password was reset: the previous password is in \
                               use and back at Vercel"
                        .to_string(),
                    Err(_) => "it stopped before the database password was reset: the previous password is in \
                               use and back in the vault, but Vercel may still hold the new one for the next \
                               build: apply the venture to sync it"
                        .to_string(),
                },
                Ok(SecretClass::JwtSigningKey) => "it stopped before the previous signing key was revoked: every \
                                                    key it made or used is still trusted, and no one was signed out"
                    .to_string(),
                Ok(SecretClass::Generated | SecretClass::UserEntered) => match self.restore_previous(job).await {
                    Ok(()) => "the previous value is current again and back at Vercel; a deployment built since \
                               keeps the new one until it is built again"
                        .to_string(),
                    Err(_) => "the previous value is current again in Slipway, but Vercel may still hold the new \
                               one: apply the venture to sync it"
                        .to_string(),
                },
                // Both keys stay valid, so whatever runs keeps working; the next rotation retires
                // the one this rotation made along with the old one (keys Slipway named are its own).
                _ if phase == Phase::RollingBack => "the rollback did not finish: the old and the new key are both \
                                                    still valid; the next rotation retires both but the one it makes"
                    .to_string(),
                _ => "it stopped before the old key was retired: the old and the new key are both still valid; the \
                      next rotation retires both but the one it makes"
                    .to_string(),
            };
            let error = format!("{message} ({stands})");
            let store = &self.0.store;
            store
                .set_rotation_phase(&record.id, &job.owner, Phase::Failed.as_str(), &record.state, Some(&error), true)
                .await?;
            // Its sealed copies go: the vault keeps what is current, nothing half-rotated.
            store.delete_secrets_prefixed(&record.venture_id, &copies_of(&record.id)).await?;
            Ok(())
        })
    }
}

impl RotateSecret {
    async fn rotate(&self, job: &Job) -> Result<(), StepError> {
        let mut running = self.running(job).await?;
        if job.attempt > 1 && !running.phase.is_final() {
            let note =
                format!("Resuming the rotation of {} at its {} phase", running.record.secret, running.phase.as_str());
            running.emit(Level::Info, note).await;
        }
        running.run().await
    }

    /// The rotation recorded for `job`, where it stands, with the venture's context.
    async fn running(&self, job: &Job) -> Result<Running, StepError> {
        let p = &self.0;
        let record = p
            .store
            .rotation_of_job(&job.id)
            .await?
            .ok_or_else(|| StepError::Permanent("no rotation is recorded for this job".into()))?;
        let class = SecretClass::parse("class", &record.class).map_err(|e| StepError::Permanent(e.to_string()))?;
        if class == SecretClass::OAuthClientSecret {
            return Err(StepError::Permanent(format!(
                "rotating a {} is not something this version does",
                class.as_str()
            )));
        }
        let venture = p
            .store
            .venture(&job.venture_id)
            .await?
            .ok_or_else(|| StepError::Permanent("the venture no longer exists".into()))?;
        let ctx = p.context(venture, lease(job)).await?;
        let phase = Phase::parse(&record.phase)
            .ok_or_else(|| StepError::Permanent(format!("the rotation's phase {:?} is unknown", record.phase)))?;
        let state: RotationState = serde_json::from_str(&record.state)
            .map_err(|e| StepError::Permanent(format!("the rotation's state does not read back: {e}")))?;
        let health_path = ctx.spec.rotation.health_path.clone();
        let owner = job.owner.clone();
        let schedule = p.config.schedule;
        Ok(Running { ctx, record, class, phase, state, owner, health_path, schedule, parked: false })
    }

    /// A rotation given up on before its new value was in use everywhere: the previous value
    /// current again (in the vault or as a variable's new version) and synced to Vercel.
    async fn restore_previous(&self, job: &Job) -> Result<(), StepError> {
        self.running(job).await?.make_current("previous").await
    }
}

/// A rotation under way: its record, where it stands, and the venture's context.
struct Running {
    ctx: Context,
    record: RotationRecord,
    class: SecretClass,
    phase: Phase,
    state: RotationState,
    owner: String,
    health_path: String,
    schedule: super::Schedule,
    /// The rotation waits for a moment it recorded: this job ends, and the schedule resumes it.
    parked: bool,
}

impl Running {
    async fn emit(&self, level: Level, message: impl AsRef<str>) {
        self.ctx.emit("rotation", level, message).await;
    }

    /// Records `phase` and the state, as long as this instance still holds the job's lease.
    async fn advance(&mut self, phase: Phase, error: Option<&str>) -> Result<(), StepError> {
        let state = serde_json::to_string(&self.state).expect("the state serializes");
        let store = &self.ctx.store;
        let recorded =
            store.set_rotation_phase(&self.record.id, &self.owner, phase.as_str(), &state, error, phase.is_final());
        if !recorded.await? {
            return Err(StepError::LeaseLost);
        }
        self.phase = phase;
        Ok(())
    }

    async fn run(&mut self) -> Result<(), StepError> {
        loop {
            let forward = match self.phase {
                Phase::Pending => self.make_new().await.map(|()| Phase::Set),
                Phase::Set => self.deploy().await.map(|()| Phase::Deployed),
                Phase::Deployed => self.test().await.map(|()| Phase::Tested),
                Phase::Tested => {
                    self.retire_old().await?;
                    if self.parked {
                        return Ok(());
                    }
                    self.advance(Phase::Finished, None).await?;
                    let note = match (self.class, self.state.connections_cut_ms()) {
                        (SecretClass::DatabasePassword, Some(cut)) => format!(
                            "Rotated {}: connections failed for {:.1} s, from the reset until the new deployments \
                             were ready",
                            self.record.secret,
                            cut as f64 / 1000.0
                        ),
                        (SecretClass::DatabasePassword, None) => format!("Rotated {}", self.record.secret),
                        (SecretClass::JwtSigningKey, _) => format!(
                            "Rotated {}: the new key signs, and the previous one is revoked; no one was signed out",
                            self.record.secret
                        ),
                        (SecretClass::Generated | SecretClass::UserEntered, _) => format!(
                            "Rotated {}: the new value is live; its history keeps the previous one",
                            self.record.secret
                        ),
                        _ => format!("Rotated {}: the old key is retired", self.record.secret),
                    };
                    self.emit(Level::Info, note).await;
                    return Ok(());
                }
                Phase::RollingBack => {
                    self.roll_back().await?;
                    let reason = self.state.rollback_reason.clone().unwrap_or_default();
                    let error = format!("rolled back: {reason}");
                    self.advance(Phase::RolledBack, Some(&error)).await?;
                    let note = format!(
                        "The rotation of {} rolled back; the previous value is in use again",
                        self.record.secret
                    );
                    self.emit(Level::Warn, note).await;
                    return Err(StepError::Permanent(format!("the rotation of {} {error}", self.record.secret)));
                }
                Phase::Finished | Phase::RolledBack | Phase::Failed => return Ok(()),
            };
            match forward {
                Ok(_) if self.parked => return Ok(()),
                Ok(next) => self.advance(next, None).await?,
                // Before the old secret is retired, a step that cannot succeed undoes the rotation.
                Err(StepError::Permanent(reason)) => {
                    let reason = crate::redact::scrub(&reason);
                    self.emit(Level::Error, format!("Rotation step failed: {reason}; rolling back")).await;
                    self.state.rollback_reason = Some(reason);
                    self.advance(Phase::RollingBack, None).await?;
                }
                Err(other) => return Err(other),
            }
        }
    }

    /// The venture's Supabase projects, by tier: production's, and the staging project's when
    /// the venture has one.
    async fn projects(&self) -> Result<Vec<(Tier, String)>, StepError> {
        let mut projects = Vec::new();
        for (tier, kind) in
            [(Tier::Production, kind::SUPABASE_PROJECT), (Tier::Staging, kind::SUPABASE_STAGING_PROJECT)]
        {
            if let Some(reference) =
                self.ctx.store.resource(&self.ctx.venture.id, kind).await?.and_then(|r| r.external_id)
            {
                projects.push((tier, reference));
            }
        }
        if projects.is_empty() {
            return Err(StepError::Permanent("the venture has no Supabase project yet: apply it first".into()));
        }
        Ok(projects)
    }

    /// The vault name of the value this rotation changes, for `tier`'s project.
    fn current(&self, tier: Tier) -> String {
        match self.class {
            SecretClass::DatabasePassword => tier.sealed(DB_PASSWORD),
            _ => tier.sealed(SUPABASE_SECRET_KEY),
        }
    }

    /// The vault name of this rotation's `which` (`pending` or `previous`) value for `tier`.
    fn sealed(&self, which: &str, tier: Tier) -> String {
        copy_name(&self.record.id, which, &self.current(tier))
    }

    /// The vault name of this rotation's `which` value of the variable in `environment`.
    fn variable_copy(&self, which: &str, environment: Environment) -> String {
        copy_name(&self.record.id, which, &variable_slot(environment, &self.record.secret))
    }

    /// Whether what rotates is one of the venture's own variables (versioned values).
    fn is_variable(&self) -> bool {
        matches!(self.class, SecretClass::Generated | SecretClass::UserEntered)
    }

    /// The name of the key this rotation makes: found again by it after a crash.
    fn key_name(&self) -> String {
        let id: String = self.record.id.chars().filter(char::is_ascii_alphanumeric).collect();
        format!("{KEY_NAME_PREFIX}{}", &id[id.len().saturating_sub(12)..]).to_ascii_lowercase()
    }

    /// The state's entry for `tier`'s project, made when it has none (with the key in use).
    fn entry(&mut self, tier: Tier, reference: &str, old_key_id: Option<String>) -> usize {
        match self.state.projects.iter().position(|p| p.tier == tier) {
            Some(index) => index,
            None => {
                self.state.projects.push(ProjectKeys {
                    tier,
                    reference: reference.to_string(),
                    old_key_id,
                    new_key_id: None,
                    reset_at: None,
                    live_at: None,
                    keys_before: Vec::new(),
                });
                self.state.projects.len() - 1
            }
        }
    }

    /// The value `tier`'s project uses now, which a rollback brings back.
    async fn in_use(&self, tier: Tier, reference: &str) -> Result<SecretString, StepError> {
        self.ctx.secret(&self.current(tier)).await?.ok_or_else(|| {
            StepError::Permanent(format!(
                "no {} of Supabase project {reference} is sealed yet: apply the venture first",
                self.record.secret
            ))
        })
    }

    /// Pending → set: the new value made and sealed with the old one, then made current and
    /// synced to Vercel.
    async fn make_new(&mut self) -> Result<(), StepError> {
        match self.class {
            SecretClass::DatabasePassword => self.make_new_passwords().await?,
            SecretClass::Generated | SecretClass::UserEntered => self.make_new_values().await?,
            // Supabase holds signing keys; nothing of them is in the vault or at Vercel.
            SecretClass::JwtSigningKey => return self.make_standby_keys().await,
            _ => self.make_new_keys().await?,
        }
        self.make_current("pending").await
    }

    /// A standby signing key per project (ES256, as Supabase advises): published in the JWKS
    /// at once, signing nothing yet. Never the legacy JWT secret, whose rotation signs every
    /// user out.
    async fn make_standby_keys(&mut self) -> Result<(), StepError> {
        let supabase = self.ctx.platforms.supabase.clone();
        for (tier, reference) in self.projects().await? {
            let keys = supabase.signing_keys(&reference).await?;
            let entry = match self.state.projects.iter().position(|p| p.tier == tier) {
                Some(entry) => entry,
                None => {
                    let in_use = keys.iter().find(|k| k.status == SigningKeyStatus::InUse).map(|k| k.id.clone());
                    let entry = self.entry(tier, &reference, in_use);
                    self.state.projects[entry].keys_before = keys.iter().map(|k| k.id.clone()).collect();
                    // Recorded before the key is made: a key not among these is this rotation's.
                    self.advance(Phase::Pending, None).await?;
                    entry
                }
            };
            let before = &self.state.projects[entry].keys_before;
            let made = keys.iter().find(|k| k.status == SigningKeyStatus::Standby && !before.contains(&k.id));
            let id = match made {
                Some(key) => key.id.clone(),
                None => {
                    let request = CreateSigningKeyRequest {
                        algorithm: SigningKeyAlgorithm::ES256,
                        status: Some(SigningKeyStatus::Standby),
                    };
                    let key = supabase.create_signing_key(&reference, &request).await?;
                    let note = format!("Made standby signing key {} in Supabase project {reference}", key.id);
                    self.emit(Level::Info, note).await;
                    key.id
                }
            };
            self.state.projects[entry].new_key_id = Some(id);
            self.advance(Phase::Pending, None).await?;
        }
        if self.state.signs_at.is_none() {
            let published = self.ctx.polling.signing_key_published_after.as_millis() as i64;
            self.state.signs_at = Some(crate::time::now_ms() + published);
        }
        Ok(())
    }

    /// Set → deployed, for signing keys: once every cached JWKS holds the standby keys, they
    /// sign new tokens; tokens signed before stay valid (no one is signed out).
    async fn switch_signing_keys(&mut self) -> Result<(), StepError> {
        let signs_at = self.state.signs_at.unwrap_or_default();
        if !self.wait_until(signs_at, "to sign with the new keys, once every verifier's cached JWKS holds them").await?
        {
            return Ok(());
        }
        let supabase = self.ctx.platforms.supabase.clone();
        let mut lifetime = 0;
        for project in &self.state.projects {
            let Some(new) = project.new_key_id.as_deref() else { continue };
            let keys = supabase.signing_keys(&project.reference).await?;
            if !keys.iter().any(|k| k.id == new && k.status == SigningKeyStatus::InUse) {
                supabase.set_signing_key_status(&project.reference, new, SigningKeyStatus::InUse).await?;
                let note = format!("Signing key {new} of Supabase project {} signs new tokens", project.reference);
                self.emit(Level::Info, note).await;
            }
            let config = supabase.auth_config(&project.reference).await?;
            lifetime = lifetime.max(i64::from(config.jwt_exp.unwrap_or(3600)) * 1000);
        }
        if self.state.revoke_at.is_none() {
            let margin = self.ctx.polling.token_expiry_margin.as_millis() as i64;
            self.state.revoke_at = Some(crate::time::now_ms() + lifetime + margin);
        }
        Ok(())
    }

    /// Deployed → tested, for signing keys: each project's new key is the one in use.
    async fn check_signing_keys(&self) -> Result<(), StepError> {
        for project in &self.state.projects {
            let keys = self.ctx.platforms.supabase.signing_keys(&project.reference).await?;
            let in_use = keys.iter().find(|k| k.status == SigningKeyStatus::InUse).map(|k| k.id.as_str());
            if in_use != project.new_key_id.as_deref() {
                return Err(StepError::Permanent(format!(
                    "Supabase project {} signs with key {} instead of the new one",
                    project.reference,
                    in_use.unwrap_or("none")
                )));
            }
        }
        Ok(())
    }

    /// Tested → finished, for signing keys: once the tokens the previous keys signed have
    /// expired, those keys are revoked. A project that signed with its legacy secret has no
    /// previous key to revoke: that secret is left alone.
    async fn revoke_previous_keys(&mut self) -> Result<(), StepError> {
        let revoke_at = self.state.revoke_at.unwrap_or_default();
        if !self.wait_until(revoke_at, "to revoke the previous keys, once the tokens they signed have expired").await? {
            return Ok(());
        }
        let supabase = self.ctx.platforms.supabase.clone();
        for project in &self.state.projects {
            let Some(old) = project.old_key_id.as_deref() else { continue };
            let keys = supabase.signing_keys(&project.reference).await?;
            if keys.iter().any(|k| k.id == old && k.status == SigningKeyStatus::PreviouslyUsed) {
                supabase.set_signing_key_status(&project.reference, old, SigningKeyStatus::Revoked).await?;
                let note = format!("Revoked the previous signing key {old} of Supabase project {}", project.reference);
                self.emit(Level::Info, note).await;
            }
        }
        Ok(())
    }

    /// Whether the rotation may go on past `until`. If not, it is parked: the moment and this
    /// job are recorded, the job ends, and the schedule resumes the rotation with a new job
    /// once the moment has come (a job that finds its own parking is a retry of the one that
    /// parked, and parks again).
    async fn wait_until(&mut self, until: i64, what: &str) -> Result<bool, StepError> {
        let resumed = self.state.parked_by.as_deref().is_some_and(|by| by != self.record.job_id);
        if resumed || until <= crate::time::now_ms() {
            if self.state.resume_at.take().is_some() | self.state.parked_by.take().is_some() {
                self.advance(self.phase, None).await?;
            }
            return Ok(true);
        }
        self.state.resume_at = Some(until);
        self.state.parked_by = Some(self.record.job_id.clone());
        self.advance(self.phase, None).await?;
        let note = format!("Waiting until {} {what}; the rotation resumes on its own", crate::time::format_utc(until));
        self.emit(Level::Info, note).await;
        self.parked = true;
        Ok(false)
    }

    /// The variable, and its current value by environment.
    async fn variable(&self) -> Result<(EnvVarRecord, Vec<(Environment, SecretString)>), StepError> {
        let (store, venture, key) = (&self.ctx.store, &self.ctx.venture.id, &self.record.secret);
        let var = store
            .env_vars(venture)
            .await?
            .into_iter()
            .find(|v| v.key == *key)
            .ok_or_else(|| StepError::Permanent(format!("the variable {key} no longer exists")))?;
        let mut values = Vec::new();
        for now in store.env_current_values(venture).await?.into_iter().filter(|v| v.key == *key && !v.removed) {
            if let Some(value) = self.ctx.secret(&sealed_name(now.environment, key, now.version)).await? {
                values.push((now.environment, value));
            }
        }
        Ok((var, values))
    }

    /// A generated variable's new value for every environment that holds it (the ones an
    /// earlier attempt sealed, if it got that far); a person's values were sealed with the
    /// request. The current values are sealed beside them, once, for a rollback.
    async fn make_new_values(&mut self) -> Result<(), StepError> {
        let (var, values) = self.variable().await?;
        let mut environments = Vec::new();
        for (environment, current) in &values {
            let pending = self.variable_copy("pending", *environment);
            let given = self.ctx.store.secret(&self.ctx.venture.id, &pending).await?.is_some();
            match (self.class, given) {
                (SecretClass::Generated, false) => {
                    let generator = var.generator.as_deref().unwrap_or_default();
                    let generator =
                        Generator::parse("generate", generator).map_err(|e| StepError::Permanent(e.to_string()))?;
                    self.ctx.put_secret(&pending, &generator.generate()).await?;
                }
                (_, false) => continue,
                (_, true) => {}
            }
            let previous = self.variable_copy("previous", *environment);
            if self.ctx.store.secret(&self.ctx.venture.id, &previous).await?.is_none() {
                self.ctx.put_secret(&previous, current).await?;
            }
            environments.push(*environment);
        }
        if environments.is_empty() {
            return Err(StepError::Permanent(format!(
                "no new value of {} is there to make current",
                self.record.secret
            )));
        }
        self.state.environments = environments;
        self.advance(Phase::Pending, None).await
    }

    /// Writes this rotation's `which` value of the variable as its new version in each of its
    /// environments, where it is not already current (the history keeps the one it replaces).
    async fn write_variable(&self, which: &str) -> Result<(), StepError> {
        let (var, values) = self.variable().await?;
        let mut changes = Vec::new();
        for environment in &self.state.environments {
            let Some(value) = self.ctx.secret(&self.variable_copy(which, *environment)).await? else { continue };
            let current = values.iter().find(|(e, _)| e == environment).map(|(_, v)| v.expose_secret());
            if current != Some(value.expose_secret()) {
                changes.push((*environment, Some(value)));
            }
        }
        if changes.is_empty() {
            return Ok(());
        }
        let set_by = format!("{} (rotation)", self.record.requested_by);
        let write = EnvWrite { var, changes, set_by };
        let vault = self.ctx.vault.clone();
        self.ctx.store.put_env_var(&self.ctx.venture.id, &write, &move |v, n, value| vault.seal(v, n, value)).await?;
        Ok(())
    }

    /// A new secret key per project (the one made by an earlier attempt, if it got that far).
    async fn make_new_keys(&mut self) -> Result<(), StepError> {
        let supabase = self.ctx.platforms.supabase.clone();
        let name = self.key_name();
        for (tier, reference) in self.projects().await? {
            let keys = supabase.api_keys(&reference).await?;
            let current = self.in_use(tier, &reference).await?;
            let value_of =
                |k: &crate::platform::supabase::ApiKey| k.api_key.as_ref().map(|v| v.expose_secret().to_string());
            let old = keys.iter().find(|k| {
                k.key_type == Some(ApiKeyType::Secret) && value_of(k).as_deref() == Some(current.expose_secret())
            });
            let entry = self.entry(tier, &reference, old.and_then(|k| k.id.clone()));
            let made = keys.iter().find(|k| k.name == name && k.key_type == Some(ApiKeyType::Secret)).cloned();
            let new = match made {
                Some(key) => key,
                None => {
                    let request = CreateApiKeyRequest {
                        key_type: ApiKeyType::Secret,
                        name: name.clone(),
                        description: Some(format!("Made by Slipway's rotation {}", self.record.id)),
                        secret_jwt_template: None,
                    };
                    let key = supabase.create_api_key(&reference, &request).await?;
                    self.emit(Level::Info, format!("Made secret key {name} in Supabase project {reference}")).await;
                    key
                }
            };
            let value = new
                .api_key
                .clone()
                .ok_or_else(|| StepError::Transient(format!("Supabase did not reveal the new key {name}")))?;
            self.seal_pending(tier, &value, &current).await?;
            self.state.projects[entry].new_key_id = new.id.clone();
            self.advance(Phase::Pending, None).await?;
        }
        Ok(())
    }

    /// A new database password per project, made here (Supabase takes the one it is given):
    /// the one an earlier attempt sealed, if it got that far.
    async fn make_new_passwords(&mut self) -> Result<(), StepError> {
        for (tier, reference) in self.projects().await? {
            let current = self.in_use(tier, &reference).await?;
            self.entry(tier, &reference, None);
            if self.ctx.secret(&self.sealed("pending", tier)).await?.is_none() {
                self.seal_pending(tier, &generate_password(), &current).await?;
            }
            self.advance(Phase::Pending, None).await?;
        }
        Ok(())
    }

    /// Seals the new value before it is sent anywhere, and the old one (once) for a rollback.
    async fn seal_pending(&self, tier: Tier, new: &SecretString, current: &SecretString) -> Result<(), StepError> {
        self.ctx.put_secret(&self.sealed("pending", tier), new).await?;
        if self.ctx.store.secret(&self.ctx.venture.id, &self.sealed("previous", tier)).await?.is_none() {
            self.ctx.put_secret(&self.sealed("previous", tier), current).await?;
        }
        Ok(())
    }

    /// Makes this rotation's `which` value current in the vault for every project, and syncs
    /// the venture's variables to Vercel: a pass of its own each time (the forward pass's steps
    /// are done in this job, and a rollback must run them again). Variables at Vercel reach
    /// new builds only, so what runs keeps its values until it is built again.
    async fn make_current(&self, which: &str) -> Result<(), StepError> {
        let sync = graph::through(GRAPH, EnvVars::NAME);
        let steps: Vec<&str> = sync.iter().map(|node| node.name).collect();
        self.ctx.store.forget_steps(&self.record.job_id, &steps).await?;
        if self.is_variable() {
            self.write_variable(which).await?;
        }
        for project in &self.state.projects {
            if let Some(value) = self.ctx.secret(&self.sealed(which, project.tier)).await? {
                self.ctx.put_secret(&self.current(project.tier), &value).await?;
            }
        }
        graph::apply(&self.ctx, &sync, self.schedule).await?;
        let note = format!(
            "Synced {} ({} value) to every Vercel target that holds it",
            self.record.secret,
            if which == "pending" { "new" } else { "previous" }
        );
        self.emit(Level::Info, note).await;
        Ok(())
    }

    /// What runs with the secret and must be built again: production, and staging when the
    /// venture has it, with the Supabase project each uses.
    /// A variable's: those of its environments that run a deployment Slipway builds (a
    /// development value is pulled by people; a preview's reaches the next push's build).
    fn targets(&self) -> Vec<(Environment, RedeployTarget, Option<Tier>)> {
        let mut targets = vec![(Environment::Production, RedeployTarget::Production, Some(Tier::Production))];
        if self.ctx.spec.staging_branch.is_some() {
            let tier = self.ctx.spec.non_production.project_for(Environment::Staging);
            targets.push((Environment::Staging, RedeployTarget::Staging, tier));
        }
        if self.is_variable() {
            targets.retain(|(environment, _, _)| self.state.environments.contains(environment));
        }
        targets
    }

    /// Set → deployed: each target built again with the new value, and live. A password is
    /// reset just before the first build that carries it: from then until that build is
    /// ready, the deployments running with the old password cannot connect.
    async fn deploy(&mut self) -> Result<(), StepError> {
        if self.class == SecretClass::JwtSigningKey {
            return self.switch_signing_keys().await;
        }
        // What serves now, recorded before the first build replaces the record of it.
        if self.state.deployments.is_empty() && self.state.replaced.is_empty() {
            let serving = self.ctx.store.resource(&self.ctx.venture.id, kind::VERCEL_DEPLOYMENT).await?;
            if let Some(record) = serving
                && let Some(id) = record.external_id
            {
                let url = record.data["url"].as_str().unwrap_or_default().to_string();
                self.state.replaced.push(Built { environment: Environment::Production, id, url });
                self.advance(Phase::Set, None).await?;
            }
        }
        let targets = self.targets();
        for (environment, target, tier) in &targets {
            if self.state.deployments.iter().any(|b| b.environment == *environment) {
                continue;
            }
            if self.class == SecretClass::DatabasePassword
                && let Some(tier) = tier
            {
                self.reset_password(*tier, "pending").await?;
            }
            let deployment = redeploy(&self.ctx, *target, "rotation").await?;
            self.state.deployments.push(Built { environment: *environment, id: deployment.id, url: deployment.url });
            // A project is live again once every target that uses it is.
            let now = crate::time::now_ms();
            let built = |e: &Environment| self.state.deployments.iter().any(|b| b.environment == *e);
            let live: Vec<Tier> = self
                .state
                .projects
                .iter()
                .map(|p| p.tier)
                .filter(|t| targets.iter().filter(|(_, _, of)| *of == Some(*t)).all(|(e, _, _)| built(e)))
                .collect();
            for project in self.state.projects.iter_mut() {
                if project.reset_at.is_some() && project.live_at.is_none() && live.contains(&project.tier) {
                    project.live_at = Some(now);
                }
            }
            self.advance(Phase::Set, None).await?;
        }
        // A project no deployment Slipway builds uses (a staging project that only previews
        // and development use) is reset too: the vault and Vercel already hold its new password.
        if self.class == SecretClass::DatabasePassword {
            let unbuilt: Vec<Tier> =
                self.state.projects.iter().filter(|p| p.live_at.is_none()).map(|p| p.tier).collect();
            for tier in unbuilt {
                self.reset_password(tier, "pending").await?;
                if let Some(project) = self.state.projects.iter_mut().find(|p| p.tier == tier) {
                    project.live_at = project.reset_at;
                }
                self.advance(Phase::Set, None).await?;
            }
        }
        Ok(())
    }

    /// Resets `tier`'s database password to this rotation's `which` value. The moment is
    /// recorded before the call, so a resumed job knows the old password may be gone. Asking
    /// again is harmless: Supabase takes the same password twice.
    async fn reset_password(&mut self, tier: Tier, which: &str) -> Result<(), StepError> {
        let Some(entry) = self.state.projects.iter().position(|p| p.tier == tier) else { return Ok(()) };
        let forward = which == "pending";
        if forward && self.state.projects[entry].live_at.is_some() {
            return Ok(());
        }
        let value = self.ctx.secret(&self.sealed(which, tier)).await?.ok_or_else(|| {
            StepError::Permanent(format!("the rotation's {which} database password is missing from the vault"))
        })?;
        if forward && self.state.projects[entry].reset_at.is_none() {
            self.state.projects[entry].reset_at = Some(crate::time::now_ms());
            self.advance(self.phase, None).await?;
        }
        let reference = self.state.projects[entry].reference.clone();
        self.ctx.platforms.supabase.reset_database_password(&reference, &value).await?;
        let note = if forward {
            format!(
                "Reset the database password of Supabase project {reference}: connections fail until the new build is ready"
            )
        } else {
            format!("Set the database password of Supabase project {reference} back to the previous one")
        };
        self.emit(Level::Warn, note).await;
        Ok(())
    }

    /// Deployed → tested: every new deployment answers its health path with a 2xx, through
    /// its own URL (so the check reaches that build, whatever the domains serve).
    async fn test(&mut self) -> Result<(), StepError> {
        if self.class == SecretClass::JwtSigningKey {
            return self.check_signing_keys().await;
        }
        let platforms = &self.ctx.platforms;
        for built in &self.state.deployments {
            let path = self.health_path.as_str();
            let last = std::sync::Mutex::new(None);
            let healthy = poll(self.ctx.polling.every, self.ctx.polling.healthy_within, || async {
                let answer = probe_path(&platforms.https, &platforms.dns, &built.url, path, &Expect::Site).await;
                let ok = answer.ok();
                *last.lock().unwrap() = Some(answer);
                Ok(ok.then_some(()))
            })
            .await?;
            let answer = last.into_inner().unwrap();
            match (healthy, answer) {
                (Some(()), Some(answer)) => {
                    let note = format!("Health check of {} ({}): {}", built.environment, built.id, answer.line());
                    self.emit(Level::Info, note).await;
                }
                (_, answer) => {
                    let why = answer.map(|a| a.outcome()).unwrap_or_else(|| "no answer".into());
                    return Err(StepError::Permanent(format!(
                        "the health check of the new {} deployment failed: https://{}{path} {why}",
                        built.environment, built.url
                    )));
                }
            }
        }
        Ok(())
    }

    /// Tested → finished: the old keys deleted (one already gone counts), with any other key
    /// Slipway made and no longer uses (an earlier rotation that was given up, or a twin made
    /// by two instances at once), and this rotation's sealed copies. Keys a person made stay.
    /// An old password is gone with its reset.
    async fn retire_old(&mut self) -> Result<(), StepError> {
        if self.class == SecretClass::JwtSigningKey {
            self.revoke_previous_keys().await?;
            if self.parked {
                return Ok(());
            }
        }
        if self.class == SecretClass::SupabaseSecretKey {
            let supabase = self.ctx.platforms.supabase.clone();
            for project in &self.state.projects {
                let keys = supabase.api_keys(&project.reference).await?;
                let stray = keys.iter().filter(|k| {
                    k.key_type == Some(ApiKeyType::Secret)
                        && k.name.starts_with(KEY_NAME_PREFIX)
                        && k.id != project.new_key_id
                });
                let mut retired: Vec<String> = stray.filter_map(|k| k.id.clone()).collect();
                retired.extend(project.old_key_id.clone().filter(|old| !retired.contains(old)));
                for id in retired {
                    self.delete_key(&project.reference, &id, "retired by rotation").await?;
                }
            }
        }
        self.forget_copies().await
    }

    /// Rolling back: the previous value current again and synced (a password set back at
    /// Supabase too), the targets built with the new value built again, and the new keys
    /// deleted.
    async fn roll_back(&mut self) -> Result<(), StepError> {
        if self.class == SecretClass::JwtSigningKey {
            return self.roll_back_signing_keys().await;
        }
        self.make_current("previous").await?;
        let built: Vec<Environment> = self.state.deployments.iter().map(|b| b.environment).collect();
        if self.class == SecretClass::DatabasePassword {
            let reset: Vec<Tier> =
                self.state.projects.iter().filter(|p| p.reset_at.is_some()).map(|p| p.tier).collect();
            for tier in reset {
                self.reset_password(tier, "previous").await?;
            }
        }
        for (environment, target, _) in self.targets() {
            if !built.contains(&environment) || self.state.restored.iter().any(|b| b.environment == environment) {
                continue;
            }
            let deployment = redeploy(&self.ctx, target, "rollback").await?;
            self.state.restored.push(Built { environment, id: deployment.id, url: deployment.url });
            self.advance(Phase::RollingBack, None).await?;
        }
        if self.class == SecretClass::SupabaseSecretKey {
            // Every key of this rotation's name: two instances may each have made one.
            let (supabase, name) = (self.ctx.platforms.supabase.clone(), self.key_name());
            for project in &self.state.projects {
                let keys = supabase.api_keys(&project.reference).await?;
                let made: Vec<String> = keys.iter().filter(|k| k.name == name).filter_map(|k| k.id.clone()).collect();
                for id in made {
                    self.delete_key(&project.reference, &id, "rotation rolled back").await?;
                }
            }
        }
        self.forget_copies().await
    }

    /// Rolling back signing keys: the previous key signs again (its tokens never stopped being
    /// valid) and a new key that never signed is revoked. A project that signed with its legacy
    /// secret cannot go back to it through the API: its new key stays in use.
    async fn roll_back_signing_keys(&mut self) -> Result<(), StepError> {
        let supabase = self.ctx.platforms.supabase.clone();
        for project in &self.state.projects {
            let keys = supabase.signing_keys(&project.reference).await?;
            let status = |id: &str| keys.iter().find(|k| k.id == id).map(|k| k.status);
            if let Some(old) = project.old_key_id.as_deref()
                && status(old) == Some(SigningKeyStatus::PreviouslyUsed)
            {
                supabase.set_signing_key_status(&project.reference, old, SigningKeyStatus::InUse).await?;
            }
            if let Some(new) = project.new_key_id.as_deref()
                && status(new) == Some(SigningKeyStatus::Standby)
            {
                supabase.set_signing_key_status(&project.reference, new, SigningKeyStatus::Revoked).await?;
            }
        }
        Ok(())
    }

    async fn delete_key(&self, reference: &str, id: &str, reason: &str) -> Result<(), StepError> {
        let options = DeleteApiKeyOptions { was_compromised: false, reason: Some(reason.into()) };
        match self.ctx.platforms.supabase.delete_api_key(reference, id, &options).await {
            Ok(_) => {
                self.emit(Level::Info, format!("Deleted secret key {id} of Supabase project {reference}")).await;
                Ok(())
            }
            Err(err) if err.is(ErrorKind::NotFound) => Ok(()),
            Err(err) => Err(err.into()),
        }
    }

    async fn forget_copies(&self) -> Result<(), StepError> {
        self.ctx.store.delete_secrets_prefixed(&self.ctx.venture.id, &copies_of(&self.record.id)).await?;
        Ok(())
    }
}
