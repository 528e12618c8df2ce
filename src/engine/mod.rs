//! The engine's facade: what the app (dashboard, REST, CLI) calls. Every operation on behalf
//! of a person takes the signed-in [`User`] and checks their role here, so no surface can
//! forget the check.

//!
//! One file per area: [`users`](self) (users, sessions, API tokens), ventures (create, plan,
//! apply, destroy, what exists), env (variables per environment), secrets (names, reveal,
//! master-key re-seal); settings in
//! `config.rs`.

mod audit;
mod config;
mod connections;
mod database;
mod domains;
mod env;
mod rotations;
mod secrets;
mod signin;
mod users;
mod ventures;

use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::auth::{self, Role, User};
use crate::error::EngineError;
use crate::events::EventLog;
use crate::jobs::{Handlers, Runner};
use crate::platforms::{ConnectionStatus, Endpoints, Platforms};
use crate::provision::{
    self, APPLY_VENTURE, ApplyVenture, DESTROY_VENTURE, DestroyVenture, GRAPH, PlannedAction, StepError,
};
use crate::store::{EventRecord, ResourceRecord, Store};
use crate::time::now_ms;
use crate::vault::Vault;
use crate::venture::{FieldError, NewVenture, Venture};

pub use audit::{AUDIT_PAGE_MAX, AuditAction, AuditEntry};
pub use config::{EngineConfig, VaultSettings};
pub use connections::{ConnectionChecks, ConnectionReport};
pub use database::{DatabaseOverview, DatabaseProject, DatabaseTable};
pub use domains::{DomainCheck, DomainName, DomainPreview, DomainStatus};
pub use env::{EnvChange, EnvListing, EnvPull, EnvReveal, EnvValue, EnvVariable, EnvVersion, PulledVariable};
pub use rotations::{ROTATABLE, RotateRequest, Rotation, RotationOutcome, RotationSchedule, SecretRotationStatus};
pub use secrets::{Leak, LeakReport, ResealReport};
pub use signin::{SignInOverview, SignInProject, SignInProvider};
pub use users::{TOKEN_LIFETIME_DEFAULT_DAYS, TOKEN_LIFETIME_MAX_DAYS, login_delay};
pub use ventures::{JobState, StepStatus, VENTURES_PAGE_MAX, VentureProgress, VenturesPage};

/// How long reads someone waits on (a plan, the env manager's sync states) may queue behind
/// the rate limiter before the answer is "try again in n s".
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
    /// Password hashes checked by this engine (sign-ins count one each, found or not).
    password_checks: std::sync::atomic::AtomicU64,
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
        // The redactor learns every token and every sealed value before anything is logged.
        let settings = &config.platforms;
        let tokens = [Some(&settings.vercel), Some(&settings.supabase), settings.cloudflare.as_ref()];
        for access in tokens.into_iter().flatten() {
            crate::redact::redactor().learn(access.token.expose_secret());
        }
        for (venture_id, name, sealed) in store.all_secrets().await? {
            // Opening teaches the redactor; a value no key opens is reported by `vault rotate`.
            let _ = vault.open(&venture_id, &name, &sealed);
        }
        let (shutdown, _) = watch::channel(false);
        let engine = Engine {
            inner: Arc::new(Inner {
                store,
                events,
                platforms,
                vault: Arc::new(vault),
                config,
                shutdown,
                password_checks: Default::default(),
            }),
        };
        engine.index_domains().await?;
        Ok(engine)
    }

    /// Starts the background job runner; it stops on [`shutdown`](Self::shutdown).
    pub fn start_runner(&self) -> JoinHandle<()> {
        tokio::spawn(self.runner().run(self.inner.shutdown.subscribe()))
    }

    /// A job runner with every job kind's handler registered.
    pub fn runner(&self) -> Runner {
        let inner = &self.inner;
        let provisioner = self.provisioner();
        let handlers = Handlers::default()
            .register(ApplyVenture(provisioner.clone()))
            .register(DestroyVenture(provisioner.clone()))
            .register(provision::SyncEnv(provisioner.clone()))
            .register(provision::Redeploy(provisioner.clone(), provision::RedeployTarget::Production))
            .register(provision::Redeploy(provisioner.clone(), provision::RedeployTarget::Staging))
            .register(provision::RotateSecret(provisioner));
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

    /// How long a dashboard login lasts.
    pub fn session_ttl(&self) -> std::time::Duration {
        self.inner.config.session_ttl
    }

    pub fn shutdown(&self) {
        self.inner.shutdown.send_replace(true);
    }

    /// Where the platform calls go.
    pub fn endpoints(&self) -> Endpoints {
        self.inner.platforms.endpoints.clone()
    }

    /// Wakes live viewers when this process writes an event.
    pub fn subscribe_events(&self) -> watch::Receiver<i64> {
        self.inner.events.subscribe()
    }

    /// Whether the venture has an apply or destroy queued or running. Its status turns
    /// `ready` a moment before its job is recorded as finished, so "settled" means both.
    pub async fn has_active_job(&self, actor: &User, venture_id: &str) -> Result<bool, EngineError> {
        self.venture(actor, venture_id).await?;
        Ok(self.inner.store.has_active_job(venture_id).await?)
    }

    pub async fn job_status(&self, job_id: &str) -> Result<Option<String>, EngineError> {
        Ok(self.inner.store.job_status(job_id).await?)
    }
}
