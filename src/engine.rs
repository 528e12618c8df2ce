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
use crate::jobs::{PROVISION_VENTURE, Runner, RunnerConfig};
use crate::platform::retry::RetryPolicy;
use crate::platform::vercel::{DEFAULT_BASE_URL, VercelClient, VercelConfig};
use crate::sim::faults::FaultPlan;
use crate::sim::vercel::VercelSim;
use crate::store::{EventRecord, Store};
use crate::time::now_ms;
use crate::venture::{FieldError, NewVenture, Venture};

/// Where Vercel calls go.
#[derive(Clone)]
pub enum VercelTarget {
    /// A real (or any compatible) Vercel API.
    Api { base_url: String, token: SecretString, team_id: Option<String> },
    /// An in-process simulator (sandbox mode), with this latency and these faults.
    Sandbox { plan: FaultPlan },
}

impl VercelTarget {
    /// The real API when `token` is set, else the sandbox simulator.
    pub fn from_settings(
        token: Option<String>,
        base_url: Option<String>,
        team_id: Option<String>,
        plan: FaultPlan,
    ) -> Self {
        match token.filter(|t| !t.is_empty()) {
            Some(token) => VercelTarget::Api {
                base_url: base_url.unwrap_or_else(|| DEFAULT_BASE_URL.to_string()),
                token: SecretString::from(token),
                team_id,
            },
            None => VercelTarget::Sandbox { plan },
        }
    }
}

#[derive(Clone)]
pub struct EngineConfig {
    pub database_url: String,
    pub vercel: VercelTarget,
    pub runner: RunnerConfig,
    /// Retries of each platform API call (a job retries again, later, on top of these).
    pub platform_retry: RetryPolicy,
    pub session_ttl: Duration,
}

impl EngineConfig {
    pub fn new(database_url: impl Into<String>, vercel: VercelTarget) -> Self {
        EngineConfig {
            database_url: database_url.into(),
            vercel,
            runner: RunnerConfig::default(),
            platform_retry: RetryPolicy::default(),
            session_ttl: Duration::from_secs(12 * 3600),
        }
    }
}

#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    events: EventLog,
    vercel: Arc<VercelClient>,
    sandbox: Option<VercelSim>,
    config: EngineConfig,
    shutdown: watch::Sender<bool>,
}

/// What the dashboard shows of the platforms in use.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct PlatformInfo {
    pub sandbox: bool,
    pub vercel_base_url: String,
}

impl Engine {
    /// Opens the store (applying migrations) and, in sandbox mode, starts the simulator.
    pub async fn open(config: EngineConfig) -> Result<Engine, EngineError> {
        let store = Store::open(&config.database_url).await?;
        let events = EventLog::new(store.clone());
        let (vercel_config, sandbox) = match &config.vercel {
            VercelTarget::Api { base_url, token, team_id } => {
                let mut vc = VercelConfig::new(base_url.clone(), token.clone());
                vc.team_id = team_id.clone();
                (vc, None)
            }
            VercelTarget::Sandbox { plan } => {
                // The sandbox token is random per process: nothing outside can call the simulator as us.
                let token = auth::new_token();
                let sim = VercelSim::start(token.expose_secret(), plan.clone())
                    .await
                    .map_err(|e| EngineError::Config(format!("could not start the Vercel simulator: {e}")))?;
                (VercelConfig::new(sim.base_url(), token), Some(sim))
            }
        };
        let mut vercel_config = vercel_config;
        vercel_config.api.retry = config.platform_retry.clone();
        let vercel = VercelClient::new(vercel_config).map_err(|e| EngineError::Config(e.to_string()))?;
        let (shutdown, _) = watch::channel(false);
        Ok(Engine { inner: Arc::new(Inner { store, events, vercel: Arc::new(vercel), sandbox, config, shutdown }) })
    }

    /// Starts the background job runner; it stops on [`shutdown`](Self::shutdown).
    pub fn start_runner(&self) -> JoinHandle<()> {
        tokio::spawn(self.runner().run(self.inner.shutdown.subscribe()))
    }

    pub fn runner(&self) -> Runner {
        let inner = &self.inner;
        Runner::new(inner.store.clone(), inner.events.clone(), inner.vercel.clone(), inner.config.runner.clone())
    }

    pub fn shutdown(&self) {
        self.inner.shutdown.send_replace(true);
    }

    /// The sandbox's Vercel simulator, when running in sandbox mode.
    pub fn sandbox_vercel(&self) -> Option<&VercelSim> {
        self.inner.sandbox.as_ref()
    }

    pub fn platform_info(&self) -> PlatformInfo {
        PlatformInfo {
            sandbox: self.inner.sandbox.is_some(),
            vercel_base_url: match &self.inner.config.vercel {
                VercelTarget::Api { base_url, .. } => base_url.clone(),
                VercelTarget::Sandbox { .. } => self.inner.sandbox.as_ref().map(|s| s.base_url()).unwrap_or_default(),
            },
        }
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
        let (venture, job_id) = self
            .inner
            .store
            .insert_venture_with_job(spec.name.as_str(), &spec.repository.to_string(), &actor.id, PROVISION_VENTURE)
            .await?;
        tracing::info!(venture = %venture.id, job = %job_id, by = %actor.username, "venture created");
        Ok(venture)
    }

    pub async fn list_ventures(&self, _actor: &User) -> Result<Vec<Venture>, EngineError> {
        // Every role may see every venture.
        Ok(self.inner.store.list_ventures().await?)
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
