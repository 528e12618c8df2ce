//! The engine's facade: what the app (dashboard, REST, CLI) calls. Every operation on behalf
//! of a person takes the signed-in [`User`] and checks their role here, so no surface can
//! forget the check.

use std::sync::Arc;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::auth::{self, Role, User};
use crate::error::EngineError;
use crate::events::EventLog;
use crate::jobs::{Handlers, Runner, RunnerConfig};
use crate::platform::retry::RetryPolicy;
use crate::platforms::{ConnectionStatus, Endpoints, PlatformSettings, Platforms};
use crate::provision::{
    self, APPLY_VENTURE, ApplyVenture, DESTROY_VENTURE, DestroyVenture, GRAPH, PlannedAction, ProvisionConfig,
    StepError,
};
use crate::store::{EventRecord, ResourceRecord, Store};
use crate::time::now_ms;
use crate::vault::Vault;
use crate::venture::{FieldError, NewVenture, Venture};

/// Where the master key of the vault comes from.
#[derive(Clone)]
pub enum VaultSettings {
    /// A key given directly (`SLIPWAY_MASTER_KEY`), plus keys it replaced, still needed to
    /// read values sealed before the rotation.
    Key { current: SecretString, previous: Vec<SecretString> },
    /// A key file, created with a fresh key on first use.
    File { path: std::path::PathBuf, previous: Vec<SecretString> },
    /// A random key for this process only (tests).
    Ephemeral,
}

#[derive(Clone)]
pub struct EngineConfig {
    pub database_url: String,
    pub platforms: PlatformSettings,
    pub vault: VaultSettings,
    pub runner: RunnerConfig,
    pub provision: ProvisionConfig,
    /// Retries of each platform API call (a job retries again, later, on top of these).
    pub platform_retry: RetryPolicy,
    pub session_ttl: Duration,
}

impl EngineConfig {
    pub fn new(database_url: impl Into<String>, platforms: PlatformSettings, vault: VaultSettings) -> Self {
        EngineConfig {
            database_url: database_url.into(),
            platforms,
            vault,
            runner: RunnerConfig::default(),
            provision: ProvisionConfig::default(),
            platform_retry: RetryPolicy::default(),
            session_ttl: Duration::from_secs(12 * 3600),
        }
    }
}

/// What a re-seal after a master-key rotation did.
#[derive(Debug, Clone, Default)]
pub struct ResealReport {
    pub current_key_id: String,
    /// Values moved to the current key.
    pub resealed: usize,
    /// Values no configured key opens (`venture/name (why)`), left as they were.
    pub unreadable: Vec<String>,
    /// Afterwards: how many values each key id holds.
    pub per_key: Vec<(String, i64)>,
}

/// One step of an apply, for the dashboard.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StepStatus {
    pub name: String,
    pub title: String,
    pub status: String,
    /// When the latest attempt started it and when it ended (epoch ms), if it did.
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
}

/// How long a plan's platform reads may queue behind the rate limiter.
const PLAN_PATIENCE: std::time::Duration = std::time::Duration::from_secs(3);

#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    events: EventLog,
    platforms: Platforms,
    vault: Arc<Vault>,
    config: EngineConfig,
    shutdown: watch::Sender<bool>,
}

impl Engine {
    /// Opens the store (applying migrations) and the vault, and builds the platform clients.
    pub async fn open(config: EngineConfig) -> Result<Engine, EngineError> {
        let store = Store::open(&config.database_url).await?;
        let events = EventLog::new(store.clone());
        let vault = match &config.vault {
            VaultSettings::Key { current, previous } => Vault::new(current, previous),
            VaultSettings::File { path, previous } => {
                Vault::key_from_file(path).and_then(|key| Vault::new(&key, previous))
            }
            VaultSettings::Ephemeral => Vault::new(&crate::vault::generate_key(), &[]),
        }
        .map_err(|e| EngineError::Config(e.to_string()))?;
        let platforms = Platforms::connect(&config.platforms, &config.platform_retry).map_err(EngineError::Config)?;
        let (shutdown, _) = watch::channel(false);
        Ok(Engine { inner: Arc::new(Inner { store, events, platforms, vault: Arc::new(vault), config, shutdown }) })
    }

    /// Starts the background job runner; it stops on [`shutdown`](Self::shutdown).
    pub fn start_runner(&self) -> JoinHandle<()> {
        tokio::spawn(self.runner().run(self.inner.shutdown.subscribe()))
    }

    /// A job runner with every job kind's handler registered.
    pub fn runner(&self) -> Runner {
        let inner = &self.inner;
        let provisioner = self.provisioner();
        let handlers =
            Handlers::default().register(ApplyVenture(provisioner.clone())).register(DestroyVenture(provisioner));
        Runner::new(inner.store.clone(), inner.events.clone(), handlers, inner.config.runner.clone())
    }

    fn provisioner(&self) -> provision::Provisioner {
        let inner = &self.inner;
        provision::Provisioner {
            store: inner.store.clone(),
            events: inner.events.clone(),
            platforms: inner.platforms.clone(),
            vault: inner.vault.clone(),
            config: inner.config.provision.clone(),
        }
    }

    pub fn shutdown(&self) {
        self.inner.shutdown.send_replace(true);
    }

    /// Where the platform calls go.
    pub fn endpoints(&self) -> Endpoints {
        self.inner.platforms.endpoints.clone()
    }

    /// Asks each platform whether its token works, and for whom.
    pub async fn connection_status(&self, _actor: &User) -> Vec<ConnectionStatus> {
        self.inner.platforms.check().await
    }

    // ---- users and sessions ----

    /// Creates a user without an acting user: for the first-run admin and the CLI, which
    /// run with the operator's own access to the machine.
    pub async fn create_user_unchecked(
        &self,
        username: &str,
        password: &SecretString,
        role: Role,
    ) -> Result<User, EngineError> {
        let errors: Vec<FieldError> =
            [auth::validate_username(username).err(), auth::validate_password(password).err()]
                .into_iter()
                .flatten()
                .collect();
        if !errors.is_empty() {
            return Err(EngineError::Invalid(errors));
        }
        if self.inner.store.user_credentials(username).await?.is_some() {
            return Err(EngineError::invalid("username", "is already taken"));
        }
        Ok(self.inner.store.insert_user(username, &auth::hash_password(password), role).await?)
    }

    /// Creates the first admin if there are no users yet; returns whether it did.
    pub async fn ensure_first_admin(&self, username: &str, password: &SecretString) -> Result<bool, EngineError> {
        if self.inner.store.count_users().await? > 0 {
            return Ok(false);
        }
        self.create_user_unchecked(username, password, Role::Admin).await?;
        Ok(true)
    }

    pub async fn user_count(&self) -> Result<i64, EngineError> {
        Ok(self.inner.store.count_users().await?)
    }

    /// Checks a password and opens a session; the returned token goes into the cookie.
    pub async fn login(&self, username: &str, password: &SecretString) -> Result<(User, SecretString), EngineError> {
        let found = self.inner.store.user_credentials(username).await?;
        let user = match found {
            Some((user, hash)) if auth::verify_password(password, &hash) => user,
            _ => return Err(EngineError::Unauthenticated),
        };
        let token = auth::new_token();
        let expires_at = now_ms() + self.inner.config.session_ttl.as_millis() as i64;
        self.inner.store.insert_session(&auth::token_digest(&token), &user.id, expires_at).await?;
        Ok((user, token))
    }

    pub async fn logout(&self, token: &SecretString) -> Result<(), EngineError> {
        Ok(self.inner.store.delete_session(&auth::token_digest(token)).await?)
    }

    /// The user a session token belongs to, if the session is valid.
    pub async fn authenticate(&self, token: &SecretString) -> Result<User, EngineError> {
        self.inner.store.session_user(&auth::token_digest(token)).await?.ok_or(EngineError::Unauthenticated)
    }

    // ---- API tokens ----

    /// A token for machine clients, acting for `username` with `role` (at most the user's).
    /// The token is returned once; only its digest is kept.
    pub async fn create_api_token_unchecked(
        &self,
        username: &str,
        name: &str,
        role: Role,
    ) -> Result<SecretString, EngineError> {
        let user = self
            .inner
            .store
            .user_by_name(username)
            .await?
            .ok_or_else(|| EngineError::invalid("username", "is no user"))?;
        if name.trim().is_empty() || name.chars().count() > 100 {
            return Err(EngineError::invalid("name", "must be 1 to 100 characters"));
        }
        if role.rank() > user.role.rank() {
            return Err(EngineError::invalid(
                "role",
                format!("may not exceed the user's role ({})", user.role.as_str()),
            ));
        }
        let token = SecretString::from(format!("slw_{}", auth::new_token().expose_secret()));
        self.inner.store.insert_api_token(name, &auth::token_digest(&token), &user.id, role).await?;
        Ok(token)
    }

    /// The user an API token acts for, with the token's role.
    pub async fn authenticate_api_token(&self, token: &SecretString) -> Result<User, EngineError> {
        let (user, role) =
            self.inner.store.api_token_user(&auth::token_digest(token)).await?.ok_or(EngineError::Unauthenticated)?;
        Ok(User { role: if role.rank() <= user.role.rank() { role } else { user.role }, ..user })
    }

    /// Like [`create_venture`](Self::create_venture), once per `key`: repeating the same key
    /// and body returns the venture made the first time (`false` = not new); the same key with
    /// another body is refused.
    pub async fn create_venture_once(
        &self,
        actor: &User,
        key: &str,
        input: &NewVenture,
    ) -> Result<(Venture, bool), EngineError> {
        if key.is_empty() || key.len() > 255 {
            return Err(EngineError::invalid("Idempotency-Key", "must be 1 to 255 characters"));
        }
        let digest = crate::digest::digest(&[&serde_json::to_string(input).expect("specs serialize")]);
        if let Some((seen, venture_id)) = self.inner.store.idempotent_create(&actor.id, key).await? {
            if seen != digest {
                return Err(EngineError::invalid("Idempotency-Key", "was already used with a different request body"));
            }
            return Ok((self.venture(actor, &venture_id).await?, false));
        }
        let venture = self.create_venture(actor, input).await?;
        self.inner.store.remember_idempotent_create(&actor.id, key, &digest, &venture.id).await?;
        Ok((venture, true))
    }

    // ---- ventures ----

    /// Validates the input and, only if every field is valid and the name is free, creates the
    /// venture and queues its provisioning job (atomically).
    pub async fn create_venture(&self, actor: &User, input: &NewVenture) -> Result<Venture, EngineError> {
        if !actor.role.can_create_ventures() {
            return Err(EngineError::Forbidden { role: actor.role.as_str(), action: "create ventures" });
        }
        let spec = input.validate().map_err(EngineError::Invalid)?;
        if self.inner.store.venture_name_taken(spec.name.as_str()).await? {
            return Err(EngineError::invalid("name", "is already used by another venture"));
        }
        let stored = serde_json::to_string(input).expect("specs serialize");
        let (venture, job_id) = self
            .inner
            .store
            .insert_venture_with_job(
                spec.name.as_str(),
                &spec.repository.to_string(),
                &stored,
                &actor.id,
                APPLY_VENTURE,
            )
            .await?;
        tracing::info!(venture = %venture.id, job = %job_id, by = %actor.username, "venture created");
        Ok(venture)
    }

    /// What creating this venture would do, resource by resource (reads only).
    pub async fn plan_new_venture(&self, actor: &User, input: &NewVenture) -> Result<Vec<PlannedAction>, EngineError> {
        if !actor.role.can_create_ventures() {
            return Err(EngineError::Forbidden { role: actor.role.as_str(), action: "plan ventures" });
        }
        let spec = input.validate().map_err(EngineError::Invalid)?;
        let unborn = Venture {
            id: String::new(),
            name: spec.name.to_string(),
            repository: spec.repository.to_string(),
            status: crate::venture::VentureStatus::Provisioning,
            vercel_project_id: None,
            created_at: now_ms(),
        };
        self.plan_for(unborn, spec).await
    }

    /// What applying the venture's stored spec again would do.
    pub async fn plan_venture(&self, actor: &User, venture_id: &str) -> Result<Vec<PlannedAction>, EngineError> {
        let venture = self.venture(actor, venture_id).await?;
        let input = match self.inner.store.venture_spec(venture_id).await? {
            Some(json) => serde_json::from_str::<NewVenture>(&json)
                .map_err(|e| EngineError::Storage(format!("the stored venture spec does not read back: {e}")))?,
            None => NewVenture::new(&venture.name, &venture.repository),
        };
        let spec = input.validate().map_err(EngineError::Invalid)?;
        self.plan_for(venture, spec).await
    }

    async fn plan_for(
        &self,
        venture: Venture,
        spec: crate::venture::VentureSpec,
    ) -> Result<Vec<PlannedAction>, EngineError> {
        // A plan runs no step: it holds no job and no lease, and writes nothing.
        let context = self.provisioner().context_for(venture, spec, None);
        // Someone waits on a plan: rather than queue behind the rate limiter, say when to come back.
        let planned = crate::platform::ratelimit::with_patience(PLAN_PATIENCE, provision::plan(&context)).await;
        planned.map_err(|err| match err {
            StepError::OverBudget { retry_after } => EngineError::Busy { retry_after },
            other => EngineError::Platform(other.to_string()),
        })
    }

    /// Applies the venture's spec again (converging whatever drifted); returns the job id.
    pub async fn apply_venture(&self, actor: &User, venture_id: &str) -> Result<String, EngineError> {
        if !actor.role.can_create_ventures() {
            return Err(EngineError::Forbidden { role: actor.role.as_str(), action: "apply ventures" });
        }
        let venture = self.venture(actor, venture_id).await?;
        if venture.status == crate::venture::VentureStatus::Destroyed {
            return Err(EngineError::Conflict(format!(
                "{} was destroyed; create a new venture to provision it again",
                venture.name
            )));
        }
        let note = format!("Apply of {} queued by {}", venture.name, actor.username);
        let status = crate::venture::VentureStatus::Provisioning;
        match self.inner.store.queue_job(&venture.id, APPLY_VENTURE, status, &note).await? {
            Ok(job) => Ok(job),
            // Asking again while an apply is queued or running is the same request.
            Err(active) if active.kind == APPLY_VENTURE => Ok(active.id),
            Err(_) => Err(EngineError::Conflict(format!("{} is being destroyed", venture.name))),
        }
    }

    /// Removes the venture's Vercel and Supabase projects (and with them its variables,
    /// environments and deployments) and its sealed values. `confirm` must repeat the
    /// venture's name. Its record and log stay.
    pub async fn destroy_venture(&self, actor: &User, venture_id: &str, confirm: &str) -> Result<String, EngineError> {
        if actor.role != Role::Admin && !actor.role.can_create_ventures() {
            return Err(EngineError::Forbidden { role: actor.role.as_str(), action: "destroy ventures" });
        }
        let venture = self.venture(actor, venture_id).await?;
        if confirm != venture.name {
            return Err(EngineError::invalid("confirm", format!("must repeat the venture's name, {}", venture.name)));
        }
        let note = format!("Destroy of {} queued by {}", venture.name, actor.username);
        Ok(self.inner.store.queue_destroy(&venture.id, APPLY_VENTURE, DESTROY_VENTURE, &note).await?)
    }

    /// What Slipway made for the venture at the platforms (ids, settings, states; no secret).
    pub async fn venture_resources(
        &self,
        actor: &User,
        venture_id: &str,
    ) -> Result<Vec<(String, ResourceRecord)>, EngineError> {
        self.venture(actor, venture_id).await?;
        Ok(self.inner.store.resources(venture_id).await?)
    }

    /// Each step of the venture's latest apply and where it stands: `pending`, `running`
    /// (intent recorded), `done` or `failed`.
    pub async fn venture_steps(&self, actor: &User, venture_id: &str) -> Result<Vec<StepStatus>, EngineError> {
        self.venture(actor, venture_id).await?;
        let recorded = self.inner.store.latest_job_steps(venture_id).await?;
        Ok(GRAPH
            .iter()
            .map(|step| {
                let record = recorded.iter().find(|r| r.step == step.name);
                let status = match record.map(|r| r.status.as_str()) {
                    Some("intent") => "running",
                    Some("done") => "done",
                    Some("failed") => "failed",
                    _ => "pending",
                };
                let ended = matches!(status, "done" | "failed");
                StepStatus {
                    name: step.name.into(),
                    title: step.title.into(),
                    status: status.into(),
                    started_at: record.and_then(|r| r.started_at),
                    finished_at: record.filter(|_| ended).map(|r| r.updated_at),
                }
            })
            .collect())
    }

    /// The names of the venture's sealed values.
    pub async fn secret_names(&self, actor: &User, venture_id: &str) -> Result<Vec<String>, EngineError> {
        self.venture(actor, venture_id).await?;
        Ok(self.inner.store.secret_names(venture_id).await?)
    }

    /// A sealed value in clear: admins only, and every reveal is logged (by name, never value).
    pub async fn reveal_secret(&self, actor: &User, venture_id: &str, name: &str) -> Result<SecretString, EngineError> {
        if actor.role != Role::Admin {
            return Err(EngineError::Forbidden { role: actor.role.as_str(), action: "reveal secrets" });
        }
        self.venture(actor, venture_id).await?;
        let sealed = self.inner.store.secret(venture_id, name).await?.ok_or(EngineError::NotFound("secret"))?;
        let value = self.inner.vault.open(venture_id, name, &sealed).map_err(|e| EngineError::Sealed(e.to_string()))?;
        let message = format!("{} revealed {name}", actor.username);
        self.inner.events.emit(venture_id, None, "secrets", crate::events::Level::Warn, &message).await;
        Ok(value)
    }

    /// Re-seals every value sealed under an earlier master key with the current one (after a
    /// rotation: `SLIPWAY_MASTER_KEY` is the new key, `SLIPWAY_PREVIOUS_MASTER_KEYS` the old).
    /// Safe while instances run: a value rewritten meanwhile is left as written. A value no
    /// configured key opens is reported, not touched.
    pub async fn reseal_secrets(&self) -> Result<ResealReport, EngineError> {
        let (store, vault) = (&self.inner.store, &self.inner.vault);
        let current = vault.current_key_id().to_string();
        let mut report = ResealReport { current_key_id: current.clone(), ..ResealReport::default() };
        let mut skipped = std::collections::BTreeSet::new();
        loop {
            let batch = store.secrets_not_sealed_by(&current, 200 + skipped.len() as i64).await?;
            let mut progressed = false;
            for (venture_id, name, sealed) in batch {
                if skipped.contains(&(venture_id.clone(), name.clone())) {
                    continue;
                }
                progressed = true;
                let value = match vault.open(&venture_id, &name, &sealed) {
                    Ok(value) => value,
                    Err(err) => {
                        tracing::warn!(venture_id, name, error = %err, "cannot re-seal");
                        report.unreadable.push(format!("{venture_id}/{name} ({err})"));
                        skipped.insert((venture_id, name));
                        continue;
                    }
                };
                let resealed = vault.seal(&venture_id, &name, &value);
                if store.replace_secret(&venture_id, &name, &sealed, &resealed).await? {
                    report.resealed += 1;
                } else {
                    skipped.insert((venture_id, name)); // rewritten meanwhile, under the current key
                }
            }
            if !progressed {
                break;
            }
        }
        report.per_key = store.secrets_per_key().await?;
        Ok(report)
    }

    pub async fn list_ventures(&self, _actor: &User) -> Result<Vec<Venture>, EngineError> {
        // Every role may see every venture.
        Ok(self.inner.store.list_ventures().await?)
    }

    /// Every venture with how far its latest apply got: (venture, steps done, steps in all).
    pub async fn list_ventures_with_progress(&self, actor: &User) -> Result<Vec<(Venture, usize, usize)>, EngineError> {
        let ventures = self.list_ventures(actor).await?;
        let done: std::collections::HashMap<String, i64> =
            self.inner.store.steps_done_per_venture().await?.into_iter().collect();
        let total = GRAPH.len();
        Ok(ventures
            .into_iter()
            .map(|venture| {
                let steps = done.get(&venture.id).copied().unwrap_or(0).max(0) as usize;
                (venture, steps, total)
            })
            .collect())
    }

    pub async fn venture(&self, _actor: &User, id: &str) -> Result<Venture, EngineError> {
        self.inner.store.venture(id).await?.ok_or(EngineError::NotFound("venture"))
    }

    /// Log lines of a venture after event id `after` (0 = from the start), oldest first.
    pub async fn venture_events(
        &self,
        actor: &User,
        venture_id: &str,
        after: i64,
        limit: i64,
    ) -> Result<Vec<EventRecord>, EngineError> {
        self.venture(actor, venture_id).await?;
        Ok(self.inner.events.after(venture_id, after, limit.clamp(1, 1000)).await?)
    }

    /// Wakes live viewers when this process writes an event.
    pub fn subscribe_events(&self) -> watch::Receiver<i64> {
        self.inner.events.subscribe()
    }

    pub async fn job_status(&self, job_id: &str) -> Result<Option<String>, EngineError> {
        Ok(self.inner.store.job_status(job_id).await?)
    }
}
