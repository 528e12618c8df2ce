//! Sandbox mode: the simulators started in this process, and the engine pointed at them.

use secrecy::SecretString;
use slipway_engine::platforms::{PlatformSettings, SandboxEndpoints};
use slipway_sim::{SANDBOX_ORGANIZATION, SANDBOX_TEAM_ID, Sandbox, SandboxConfig};

/// Engine settings that reach `sandbox` with `token`.
pub fn platforms(sandbox: &Sandbox, token: &SecretString) -> PlatformSettings {
    PlatformSettings::sandbox(SandboxEndpoints {
        vercel: sandbox.vercel.base_url(),
        vercel_team_id: SANDBOX_TEAM_ID.into(),
        supabase: sandbox.supabase.base_url(),
        cloudflare: sandbox.cloudflare.base_url(),
        organization: SANDBOX_ORGANIZATION.into(),
        token: token.clone(),
        dns: sandbox.dns.address(),
        edge_port: sandbox.edge.address().port(),
        edge_ca: sandbox.edge.ca_pem().to_string(),
    })
}

/// Starts the simulators with `token`, or else a random token of this process (nothing
/// outside can call them as Slipway), and returns them with the settings that reach them.
/// They stop when the returned [`Sandbox`] is dropped.
pub async fn start(
    config: &SandboxConfig,
    token: Option<SecretString>,
) -> std::io::Result<(Sandbox, PlatformSettings)> {
    let token = token.unwrap_or_else(slipway_engine::auth::new_token);
    let sandbox = Sandbox::start(config, secrecy::ExposeSecret::expose_secret(&token)).await?;
    let settings = platforms(&sandbox, &token);
    Ok((sandbox, settings))
}
