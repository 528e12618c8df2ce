//! Where each platform's calls go, and the clients built for them: the real APIs (or any
//! server that speaks them) when tokens are configured, or in-process simulators in sandbox
//! mode. Slipway runs all-real or all-sandbox: half of a venture on a real platform wired to a
//! simulated other half would be worse than useless.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use crate::auth;
use crate::platform::api::ApiError;
use crate::platform::cloudflare::{self, CloudflareClient, CloudflareConfig};
use crate::platform::retry::RetryPolicy;
use crate::platform::supabase::{self, SupabaseClient, SupabaseConfig};
use crate::platform::vercel::{self, VercelClient, VercelConfig};
use crate::sim::cloudflare::{CloudflareSim, CloudflareSimConfig};
use crate::sim::dns::SimDns;
use crate::sim::faults::FaultPlan;
use crate::sim::supabase::{SupabaseSim, SupabaseSimConfig};
use crate::sim::vercel::VercelSim;

/// A platform API: its base URL and the token for it.
#[derive(Clone)]
pub struct ApiAccess {
    pub base_url: String,
    pub token: SecretString,
}

/// How Slipway reaches the platforms.
#[derive(Clone)]
pub enum PlatformSettings {
    Real {
        vercel: ApiAccess,
        /// Team scope for every Vercel call; `None` = the token owner's personal account.
        vercel_team_id: Option<String>,
        supabase: ApiAccess,
        /// Organization new Supabase projects go in unless a venture names one.
        supabase_organization: Option<String>,
        /// DNS automation at Cloudflare, when configured.
        cloudflare: Option<ApiAccess>,
    },
    /// Simulators in this process, with this latency and these faults.
    Sandbox(SandboxSettings),
}

#[derive(Clone, Debug)]
pub struct SandboxSettings {
    pub faults: FaultPlan,
    /// How long a new Supabase project takes to become healthy.
    pub supabase_ready_after: Duration,
    /// How long a Vercel deployment takes from QUEUED to READY.
    pub vercel_build_time: Duration,
}

impl Default for SandboxSettings {
    fn default() -> Self {
        SandboxSettings {
            faults: FaultPlan::default(),
            supabase_ready_after: Duration::from_secs(4),
            vercel_build_time: Duration::from_secs(3),
        }
    }
}

/// The token settings as read from the environment; see [`PlatformSettings::from_tokens`].
#[derive(Clone, Default)]
pub struct TokenSettings {
    pub vercel_token: Option<SecretString>,
    pub vercel_api_url: Option<String>,
    pub vercel_team_id: Option<String>,
    pub supabase_token: Option<SecretString>,
    pub supabase_api_url: Option<String>,
    pub supabase_organization: Option<String>,
    pub cloudflare_token: Option<SecretString>,
    pub cloudflare_api_url: Option<String>,
}

impl PlatformSettings {
    /// Real platforms when the Vercel and Supabase tokens are both set, sandbox when neither
    /// is; one without the other is a configuration error that names what is missing.
    pub fn from_tokens(tokens: TokenSettings, sandbox: SandboxSettings) -> Result<Self, String> {
        let present = |t: &Option<SecretString>| t.as_ref().is_some_and(|t| !t.expose_secret().is_empty());
        let access = |token: Option<SecretString>, url: Option<String>, default: &str| ApiAccess {
            base_url: url.filter(|u| !u.is_empty()).unwrap_or_else(|| default.to_string()),
            token: token.unwrap_or_else(|| SecretString::from("")),
        };
        match (present(&tokens.vercel_token), present(&tokens.supabase_token)) {
            (true, true) => Ok(PlatformSettings::Real {
                vercel: access(tokens.vercel_token, tokens.vercel_api_url, vercel::DEFAULT_BASE_URL),
                vercel_team_id: tokens.vercel_team_id.filter(|t| !t.is_empty()),
                supabase: access(tokens.supabase_token, tokens.supabase_api_url, supabase::DEFAULT_BASE_URL),
                supabase_organization: tokens.supabase_organization.filter(|o| !o.is_empty()),
                cloudflare: present(&tokens.cloudflare_token)
                    .then(|| access(tokens.cloudflare_token, tokens.cloudflare_api_url, cloudflare::DEFAULT_BASE_URL)),
            }),
            (false, false) if present(&tokens.cloudflare_token) => {
                Err("CLOUDFLARE_API_TOKEN is set but VERCEL_TOKEN and SUPABASE_ACCESS_TOKEN are not: \
                     set both to use the real platforms, or unset CLOUDFLARE_API_TOKEN for sandbox mode"
                    .into())
            }
            (false, false) => Ok(PlatformSettings::Sandbox(sandbox)),
            (true, false) => Err("VERCEL_TOKEN is set but SUPABASE_ACCESS_TOKEN is not: Slipway provisions \
                                  both platforms, so set both (or neither, for sandbox mode)"
                .into()),
            (false, true) => Err("SUPABASE_ACCESS_TOKEN is set but VERCEL_TOKEN is not: Slipway provisions \
                                  both platforms, so set both (or neither, for sandbox mode)"
                .into()),
        }
    }

    pub fn is_sandbox(&self) -> bool {
        matches!(self, PlatformSettings::Sandbox(_))
    }
}

/// The simulators of sandbox mode, sharing one DNS. They stop when this is dropped.
pub struct Sandbox {
    pub vercel: VercelSim,
    pub supabase: SupabaseSim,
    pub cloudflare: CloudflareSim,
}

/// The organization sandbox projects go in.
pub const SANDBOX_ORGANIZATION: &str = "sandbox-org";

impl Sandbox {
    /// Starts the three simulators on free local ports; each accepts only `token`.
    pub async fn start(settings: &SandboxSettings, token: &str) -> std::io::Result<Sandbox> {
        let dns = SimDns::default();
        let local = SocketAddr::from(([127, 0, 0, 1], 0));
        let vercel = VercelSim::start_with_dns(local, token, settings.faults.clone(), dns.clone()).await?;
        vercel.set_build_time(settings.vercel_build_time);
        let supabase = SupabaseSim::start(SupabaseSimConfig {
            faults: settings.faults.clone(),
            ready_after: settings.supabase_ready_after,
            organizations: vec![(SANDBOX_ORGANIZATION.into(), "Sandbox organization".into())],
            ..SupabaseSimConfig::new(token)
        })
        .await?;
        let cloudflare = CloudflareSim::start(CloudflareSimConfig {
            faults: settings.faults.clone(),
            dns,
            ..CloudflareSimConfig::new(token)
        })
        .await?;
        Ok(Sandbox { vercel, supabase, cloudflare })
    }
}

/// The platform clients every part of the engine uses.
#[derive(Clone)]
pub struct Platforms {
    pub vercel: Arc<VercelClient>,
    pub supabase: Arc<SupabaseClient>,
    pub cloudflare: Option<Arc<CloudflareClient>>,
    /// Where new Supabase projects go by default.
    pub supabase_organization: Option<String>,
    /// The Vercel team in use, if any.
    pub vercel_team_id: Option<String>,
    pub endpoints: Endpoints,
}

/// The base URLs in use, for the dashboard's connection panel.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Endpoints {
    pub sandbox: bool,
    pub vercel: String,
    pub supabase: String,
    pub cloudflare: Option<String>,
}

impl Platforms {
    /// Builds the clients, starting the sandbox simulators first when the settings ask for it.
    pub async fn connect(
        settings: &PlatformSettings,
        retry: &RetryPolicy,
    ) -> Result<(Platforms, Option<Sandbox>), String> {
        let bad = |e: ApiError| e.to_string();
        match settings {
            PlatformSettings::Real { vercel, vercel_team_id, supabase, supabase_organization, cloudflare } => {
                let platforms = Platforms::build(
                    vercel,
                    vercel_team_id.clone(),
                    supabase,
                    supabase_organization.clone(),
                    cloudflare.as_ref(),
                    retry,
                    false,
                )
                .map_err(bad)?;
                Ok((platforms, None))
            }
            PlatformSettings::Sandbox(sandbox_settings) => {
                // Random per process: nothing outside can call the simulators as us.
                let token = auth::new_token();
                let sandbox = Sandbox::start(sandbox_settings, token.expose_secret())
                    .await
                    .map_err(|e| format!("could not start the sandbox simulators: {e}"))?;
                let at = |base_url: String| ApiAccess { base_url, token: token.clone() };
                let platforms = Platforms::build(
                    &at(sandbox.vercel.base_url()),
                    None,
                    &at(sandbox.supabase.base_url()),
                    Some(SANDBOX_ORGANIZATION.into()),
                    Some(&at(sandbox.cloudflare.base_url())),
                    retry,
                    true,
                )
                .map_err(bad)?;
                Ok((platforms, Some(sandbox)))
            }
        }
    }

    fn build(
        vercel: &ApiAccess,
        vercel_team_id: Option<String>,
        supabase: &ApiAccess,
        supabase_organization: Option<String>,
        cloudflare: Option<&ApiAccess>,
        retry: &RetryPolicy,
        sandbox: bool,
    ) -> Result<Platforms, ApiError> {
        let mut vc = VercelConfig::new(vercel.base_url.clone(), vercel.token.clone());
        vc.team_id = vercel_team_id.clone();
        vc.api.retry = retry.clone();
        let mut sc = SupabaseConfig::new(supabase.base_url.clone(), supabase.token.clone());
        sc.api.retry = retry.clone();
        let cloudflare_client = match cloudflare {
            Some(access) => {
                let mut cc = CloudflareConfig::with_token(access.base_url.clone(), access.token.clone());
                cc.api.retry = retry.clone();
                Some(Arc::new(CloudflareClient::new(cc)?))
            }
            None => None,
        };
        Ok(Platforms {
            vercel: Arc::new(VercelClient::new(vc)?),
            supabase: Arc::new(SupabaseClient::new(sc)?),
            cloudflare: cloudflare_client,
            supabase_organization,
            vercel_team_id,
            endpoints: Endpoints {
                sandbox,
                vercel: vercel.base_url.clone(),
                supabase: supabase.base_url.clone(),
                cloudflare: cloudflare.map(|c| c.base_url.clone()),
            },
        })
    }

    /// Asks each platform whether the token works and whose it is.
    pub async fn check(&self) -> Vec<ConnectionStatus> {
        let vercel = async {
            let user = self.vercel.current_user().await?;
            let scope = match &self.vercel_team_id {
                Some(team) => {
                    let team = self.vercel.get_team(team).await?;
                    format!("team {} ({})", team.slug, team.id)
                }
                None => format!("personal account {}", user.username),
            };
            Ok::<_, ApiError>(scope)
        };
        let supabase = async {
            let organizations = self.supabase.list_organizations().await?;
            Ok::<_, ApiError>(match &self.supabase_organization {
                Some(slug) if organizations.iter().any(|o| o.slug == *slug) => format!("organization {slug}"),
                Some(slug) => {
                    let visible: Vec<_> = organizations.iter().map(|o| o.slug.as_str()).collect();
                    return Err(ApiError::new(
                        crate::platform::api::Vendor::Supabase,
                        crate::platform::api::ErrorKind::NotFound,
                        None,
                        "organization",
                        format!("organization {slug} is not visible to this token (it sees: {})", visible.join(", ")),
                    ));
                }
                None => format!(
                    "{} organization(s): {}",
                    organizations.len(),
                    organizations.iter().map(|o| o.slug.as_str()).collect::<Vec<_>>().join(", ")
                ),
            })
        };
        let (vercel, supabase) = tokio::join!(vercel, supabase);
        let mut statuses = vec![
            ConnectionStatus::from_result("Vercel", &self.endpoints.vercel, vercel),
            ConnectionStatus::from_result("Supabase", &self.endpoints.supabase, supabase),
        ];
        if let (Some(client), Some(url)) = (&self.cloudflare, &self.endpoints.cloudflare) {
            // A zone lookup proves the token may read DNS; no zone name is needed.
            let result = client.find_zone("example.com").await.map(|_| "token accepted".to_string());
            statuses.push(ConnectionStatus::from_result("Cloudflare", url, result));
        }
        statuses
    }
}

/// One platform's connection, as the dashboard's connection panel shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ConnectionStatus {
    pub platform: String,
    pub base_url: String,
    pub connected: bool,
    /// Whose account the token acts for, or what went wrong (never the token).
    pub detail: String,
}

impl ConnectionStatus {
    fn from_result(platform: &str, base_url: &str, result: Result<String, ApiError>) -> Self {
        let (connected, detail) = match result {
            Ok(detail) => (true, detail),
            Err(err) => (false, err.to_string()),
        };
        ConnectionStatus { platform: platform.into(), base_url: base_url.into(), connected, detail }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(value: &str) -> Option<SecretString> {
        Some(SecretString::from(value))
    }

    #[test]
    fn all_real_or_all_sandbox() {
        let sandbox = SandboxSettings::default();
        assert!(PlatformSettings::from_tokens(TokenSettings::default(), sandbox.clone()).unwrap().is_sandbox());
        let half = TokenSettings { vercel_token: token("v"), ..Default::default() };
        let err = PlatformSettings::from_tokens(half, sandbox.clone()).err().unwrap();
        assert!(err.contains("SUPABASE_ACCESS_TOKEN is not"), "{err}");
        let only_dns = TokenSettings { cloudflare_token: token("c"), ..Default::default() };
        assert!(PlatformSettings::from_tokens(only_dns, sandbox.clone()).is_err());
        let both = TokenSettings {
            vercel_token: token("v"),
            supabase_token: token("s"),
            supabase_api_url: Some("http://127.0.0.1:9".into()),
            ..Default::default()
        };
        match PlatformSettings::from_tokens(both, sandbox).unwrap() {
            PlatformSettings::Real { vercel, supabase, cloudflare, .. } => {
                assert_eq!(vercel.base_url, vercel::DEFAULT_BASE_URL);
                assert_eq!(supabase.base_url, "http://127.0.0.1:9");
                assert!(cloudflare.is_none());
            }
            PlatformSettings::Sandbox(_) => panic!("tokens were given"),
        }
    }

    #[tokio::test]
    async fn the_sandbox_connects_to_every_simulator() {
        let settings = PlatformSettings::Sandbox(SandboxSettings::default());
        let (platforms, sandbox) = Platforms::connect(&settings, &RetryPolicy::default()).await.unwrap();
        let _sandbox = sandbox.unwrap();
        assert!(platforms.endpoints.sandbox);
        let statuses = platforms.check().await;
        assert_eq!(statuses.len(), 3);
        assert!(statuses.iter().all(|s| s.connected), "{statuses:#?}");
        assert_eq!(statuses[1].detail, "organization sandbox-org");
    }

    #[tokio::test]
    async fn a_wrong_token_shows_as_disconnected_without_the_token() {
        let sandbox = Sandbox::start(&SandboxSettings::default(), "the-right-token").await.unwrap();
        let wrong = |base_url: String| ApiAccess { base_url, token: SecretString::from("a-wrong-token") };
        let settings = PlatformSettings::Real {
            vercel: wrong(sandbox.vercel.base_url()),
            vercel_team_id: None,
            supabase: wrong(sandbox.supabase.base_url()),
            supabase_organization: None,
            cloudflare: None,
        };
        let (platforms, none) = Platforms::connect(&settings, &RetryPolicy::default()).await.unwrap();
        assert!(none.is_none());
        let statuses = platforms.check().await;
        assert!(statuses.iter().all(|s| !s.connected), "{statuses:#?}");
        assert!(statuses.iter().all(|s| !s.detail.contains("a-wrong-token")));
    }
}
