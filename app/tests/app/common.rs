//! What the app's integration tests share: an engine in sandbox mode whose simulated
//! platforms answer in milliseconds, on its own SQLite database.

use std::time::Duration;

use slipway_engine::{Engine, EngineConfig, VaultSettings};
use slipway_sim::{Sandbox, SandboxConfig};

/// The engine, and the simulators it talks to (they stop when dropped).
pub async fn fast_sandbox_engine(dir: &tempfile::TempDir) -> (Engine, Sandbox) {
    fast_sandbox_engine_with(dir, SandboxConfig::default(), None).await
}

/// The token the simulators of [`postgres_sandbox_engine`] accept, for a test to act "at
/// Supabase": generated once per test run.
pub fn sim_token() -> &'static str {
    static TOKEN: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TOKEN.get_or_init(|| secrecy::ExposeSecret::expose_secret(&slipway_engine::auth::new_token()).to_string())
}

/// [`fast_sandbox_engine`] whose simulators accept [`sim_token`], for a test to act at them.
pub async fn fast_sandbox_engine_with_sim_token(dir: &tempfile::TempDir) -> (Engine, Sandbox) {
    fast_sandbox_engine_with(dir, SandboxConfig::default(), Some(secrecy::SecretString::from(sim_token()))).await
}

/// [`fast_sandbox_engine`] whose Supabase projects run their SQL on the test PostgreSQL server.
pub async fn postgres_sandbox_engine(dir: &tempfile::TempDir) -> (Engine, Sandbox) {
    let server =
        std::env::var("SLIPWAY_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let config = SandboxConfig { supabase_database_server: Some(server), ..SandboxConfig::default() };
    fast_sandbox_engine_with(dir, config, Some(secrecy::SecretString::from(sim_token()))).await
}

async fn fast_sandbox_engine_with(
    dir: &tempfile::TempDir,
    sandbox: SandboxConfig,
    token: Option<secrecy::SecretString>,
) -> (Engine, Sandbox) {
    let db = format!("sqlite://{}/slipway.db?mode=rwc", dir.path().display());
    let sandbox = SandboxConfig {
        supabase_ready_after: Duration::from_millis(200),
        vercel_build_time: Duration::from_millis(200),
        ..sandbox
    };
    let (sims, platforms) = slipway_app::sandbox::start(&sandbox, token).await.unwrap();
    let mut config = EngineConfig::new(db, platforms, VaultSettings::Ephemeral);
    config.provision.polling.every = Duration::from_millis(50);
    config.runner.poll_interval = Duration::from_millis(50);
    (Engine::open(config).await.unwrap(), sims)
}

/// A form post as a browser on `localhost` sends it, with the session cookie when given.
pub fn form_post(path: &str, body: &str, cookie: Option<&str>) -> axum::http::Request<axum::body::Body> {
    let mut request = axum::http::Request::post(path)
        .header(axum::http::header::HOST, "localhost")
        .header(axum::http::header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(cookie) = cookie {
        request = request.header(axum::http::header::COOKIE, cookie);
    }
    request.body(axum::body::Body::from(body.to_string())).unwrap()
}
