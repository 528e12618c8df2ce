//! Every setting of the engine and its default, in one place. The binary's flags and
//! environment variables only parse into this; tests change fields of it.

use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;

use super::{ConnectionChecks, RotationSchedule};
use crate::jobs::RunnerConfig;
use crate::platform::retry::RetryPolicy;
use crate::platforms::PlatformSettings;
use crate::provision::{Polling, ProvisionConfig, Schedule};

/// Where the master key of the vault comes from.
#[derive(Clone)]
pub enum VaultSettings {
    /// A key given directly (`SLIPWAY_MASTER_KEY`), plus keys it replaced, still needed to
    /// read values sealed before the rotation.
    Key { current: SecretString, previous: Vec<SecretString> },
    /// A key file, created with a fresh key on first use.
    File { path: PathBuf, previous: Vec<SecretString> },
    /// A random key for this process only (tests).
    Ephemeral,
}

#[derive(Clone)]
pub struct EngineConfig {
    /// `sqlite://…` or `postgres://…`.
    pub database_url: String,
    pub platforms: PlatformSettings,
    pub vault: VaultSettings,
    pub runner: RunnerConfig,
    pub provision: ProvisionConfig,
    /// Retries of each platform API call (a job retries again, later, on top of these).
    pub platform_retry: RetryPolicy,
    /// How long a dashboard login lasts (the session cookie's lifetime too).
    pub session_ttl: Duration,
    /// When the platforms' connections are checked.
    pub connections: ConnectionChecks,
    /// When scheduled secret rotations run.
    pub rotation: RotationSchedule,
}

impl EngineConfig {
    /// The defaults, for these platforms and this vault.
    pub fn new(database_url: impl Into<String>, platforms: PlatformSettings, vault: VaultSettings) -> Self {
        // The simulators answer in seconds, not minutes: waits look often in sandbox mode.
        let poll_every = if platforms.sandbox { Duration::from_millis(400) } else { Duration::from_secs(2) };
        EngineConfig {
            database_url: database_url.into(),
            platforms,
            vault,
            runner: RunnerConfig {
                instance_id: format!("runner-{}", uuid::Uuid::new_v4()),
                lease: Duration::from_secs(30),
                poll_interval: Duration::from_millis(500),
                concurrency: 16,
                max_attempts: 8,
                job_backoff: RetryPolicy {
                    base_delay: Duration::from_secs(2),
                    max_delay: Duration::from_secs(300),
                    ..RetryPolicy::default()
                },
            },
            provision: ProvisionConfig {
                polling: Polling {
                    every: poll_every,
                    supabase_ready_within: Duration::from_secs(15 * 60),
                    deployment_ready_within: Duration::from_secs(30 * 60),
                    healthy_within: Duration::from_secs(30),
                    // Supabase's JWKS is cached about 10 minutes at its edge and 10 more in
                    // client libraries; it asks for the access tokens' lifetime plus 15 minutes
                    // before a previous signing key is revoked.
                    signing_key_published_after: Duration::from_secs(20 * 60),
                    token_expiry_margin: Duration::from_secs(15 * 60),
                },
                schedule: Schedule::Concurrent,
            },
            platform_retry: RetryPolicy::default(),
            session_ttl: Duration::from_secs(12 * 3600),
            connections: ConnectionChecks::default(),
            rotation: RotationSchedule::default(),
        }
    }
}
