//! What the app's integration tests share: an engine in sandbox mode whose simulated
//! platforms answer in milliseconds, on its own SQLite database.

use std::time::Duration;

use slipway_engine::{Engine, EngineConfig, VaultSettings};
use slipway_sim::{Sandbox, SandboxConfig};

/// The engine, and the simulators it talks to (they stop when dropped).
pub async fn fast_sandbox_engine(dir: &tempfile::TempDir) -> (Engine, Sandbox) {
    let db = format!("sqlite://{}/slipway.db?mode=rwc", dir.path().display());
    let sandbox = SandboxConfig {
        supabase_ready_after: Duration::from_millis(200),
        vercel_build_time: Duration::from_millis(200),
        ..SandboxConfig::default()
    };
    let (sims, platforms) = slipway_app::sandbox::start(&sandbox, None).await.unwrap();
    let mut config = EngineConfig::new(db, platforms, VaultSettings::Ephemeral);
    config.provision.polling.every = Duration::from_millis(50);
    config.runner.poll_interval = Duration::from_millis(50);
    (Engine::open(config).await.unwrap(), sims)
}
