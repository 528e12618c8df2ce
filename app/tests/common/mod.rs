//! What the app's integration tests share: an engine in sandbox mode whose simulated
//! platforms answer in milliseconds, on its own SQLite database.

use std::time::Duration;

use slipway_engine::platforms::{PlatformSettings, SandboxSettings};
use slipway_engine::{Engine, EngineConfig, VaultSettings};

pub async fn fast_sandbox_engine(dir: &tempfile::TempDir) -> Engine {
    let db = format!("sqlite://{}/slipway.db?mode=rwc", dir.path().display());
    let sandbox = SandboxSettings {
        supabase_ready_after: Duration::from_millis(200),
        vercel_build_time: Duration::from_millis(200),
        ..SandboxSettings::default()
    };
    let mut config = EngineConfig::new(db, PlatformSettings::Sandbox(sandbox), VaultSettings::Ephemeral);
    config.runner.polling.every = Duration::from_millis(50);
    config.runner.poll_interval = Duration::from_millis(50);
    Engine::open(config).await.unwrap()
}
