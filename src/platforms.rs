//! Where each platform's calls go, and the clients built for them: the real APIs (or any
//! server that speaks them) when tokens are configured, or in-process simulators in sandbox
//! mode. Slipway runs all-real or all-sandbox: half of a venture on a real platform wired to a
//! simulated other half would be worse than useless.

use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};

use crate::domains::https::HttpsSettings;
use crate::domains::resolve::DnsSettings;
use crate::platform::api::ApiError;
use crate::platform::cloudflare::{self, CloudflareClient, CloudflareConfig};
use crate::platform::retry::RetryPolicy;
use crate::platform::rfc2136::{Rfc2136Client, Rfc2136Config, TsigAlgorithmName};
use crate::platform::supabase::{self, SupabaseClient, SupabaseConfig};
use crate::platform::vercel::{self, VercelClient, VercelConfig};

/// A platform API: its base URL and the token for it.
#[derive(Clone)]
pub struct ApiAccess {
    pub base_url: String,
    pub token: SecretString,
}

/// How Slipway reaches the platforms: the real APIs, any server that speaks them, or the
/// sandbox's simulators (which the binary starts; the engine only knows their URLs).
#[derive(Clone)]
pub struct PlatformSettings {
    pub vercel: ApiAccess,
    /// Team scope for every Vercel call; `None` = the token owner's personal account.
    pub vercel_team_id: Option<String>,
    pub supabase: ApiAccess,
    /// Organization new Supabase projects go in unless a venture names one.
    pub supabase_organization: Option<String>,
    /// DNS automation at Cloudflare, when configured.
    pub cloudflare: Option<ApiAccess>,
    /// An authoritative DNS server taking RFC 2136 updates, when configured.
    pub rfc2136: Option<Rfc2136Access>,
    /// Where the DNS doctor asks.
    pub dns: DnsSettings,
    /// How a domain's HTTPS is checked.
    pub https: HttpsSettings,
    /// The APIs are Slipway's own simulators: the dashboard says so, and long waits look often.
    pub sandbox: bool,
}

/// A DNS server that takes RFC 2136 updates signed with one TSIG key, for every zone it serves.
#[derive(Clone)]
pub struct Rfc2136Access {
    pub server: std::net::SocketAddr,
    pub key_name: String,
    pub algorithm: TsigAlgorithmName,
    pub secret: SecretString,
}

/// The token settings as read from the environment; see [`TokenSettings::into_platforms`].
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

impl TokenSettings {
    /// The real platforms when the Vercel and Supabase tokens are both set; `None` (sandbox
    /// mode) when neither is; one without the other is a configuration error that names what
    /// is missing.
    pub fn into_platforms(self) -> Result<Option<PlatformSettings>, String> {
        let present = |t: &Option<SecretString>| t.as_ref().is_some_and(|t| !t.expose_secret().is_empty());
        let access = |token: Option<SecretString>, url: Option<String>, default: &str| ApiAccess {
            base_url: url.filter(|u| !u.is_empty()).unwrap_or_else(|| default.to_string()),
            token: token.unwrap_or_else(|| SecretString::from("")),
        };
        match (present(&self.vercel_token), present(&self.supabase_token)) {
            (true, true) => Ok(Some(PlatformSettings {
                vercel: access(self.vercel_token, self.vercel_api_url, vercel::DEFAULT_BASE_URL),
                vercel_team_id: self.vercel_team_id.filter(|t| !t.is_empty()),
                supabase: access(self.supabase_token, self.supabase_api_url, supabase::DEFAULT_BASE_URL),
                supabase_organization: self.supabase_organization.filter(|o| !o.is_empty()),
                cloudflare: present(&self.cloudflare_token)
                    .then(|| access(self.cloudflare_token, self.cloudflare_api_url, cloudflare::DEFAULT_BASE_URL)),
                rfc2136: None,
                dns: DnsSettings::default(),
                https: HttpsSettings::default(),
                sandbox: false,
            })),
            (false, false) if present(&self.cloudflare_token) => {
                Err("CLOUDFLARE_API_TOKEN is set but VERCEL_TOKEN and SUPABASE_ACCESS_TOKEN are not: \
                     set both to use the real platforms, or unset CLOUDFLARE_API_TOKEN for sandbox mode"
                    .into())
            }
            (false, false) => Ok(None),
            (true, false) => Err("VERCEL_TOKEN is set but SUPABASE_ACCESS_TOKEN is not: Slipway provisions \
                                  both platforms, so set both (or neither, for sandbox mode)"
                .into()),
            (false, true) => Err("SUPABASE_ACCESS_TOKEN is set but VERCEL_TOKEN is not: Slipway provisions \
                                  both platforms, so set both (or neither, for sandbox mode)"
                .into()),
        }
    }
}

/// Where the sandbox's simulators listen, and the one token they accept.
pub struct SandboxEndpoints {
    pub vercel: String,
    /// The Vercel team the sandbox works in: a studio's Vercel account is a team, so the
    /// sandbox's is too, and every Vercel call is scoped to it as it would be for real.
    pub vercel_team_id: String,
    pub supabase: String,
    pub cloudflare: String,
    pub organization: String,
    pub token: SecretString,
    /// The simulated public DNS, served on this address (UDP and TCP).
    pub dns: std::net::SocketAddr,
    /// The simulated Vercel edge's HTTPS port (the DNS points the domains at its address)
    /// and the CA certificate (PEM) its certificates are signed with.
    pub edge_port: u16,
    pub edge_ca: String,
}

impl PlatformSettings {
    /// Settings for the sandbox's simulators.
    pub fn sandbox(endpoints: SandboxEndpoints) -> Self {
        let at = |base_url: String| ApiAccess { base_url, token: endpoints.token.clone() };
        PlatformSettings {
            vercel: at(endpoints.vercel),
            vercel_team_id: Some(endpoints.vercel_team_id),
            supabase: at(endpoints.supabase),
            supabase_organization: Some(endpoints.organization),
            cloudflare: Some(at(endpoints.cloudflare)),
            rfc2136: None,
            // The sandbox's DNS is both the resolver and every zone's nameserver.
            dns: DnsSettings {
                resolvers: vec![endpoints.dns],
                nameserver_port: endpoints.dns.port(),
                ..DnsSettings::default()
            },
            https: HttpsSettings {
                port: endpoints.edge_port,
                extra_roots: vec![endpoints.edge_ca],
                ..HttpsSettings::default()
            },
            sandbox: true,
        }
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
    /// Where the DNS doctor asks.
    pub dns: DnsSettings,
    /// How a domain's HTTPS is checked.
    pub https: HttpsSettings,
    rfc2136: Option<Rfc2136Access>,
    /// The scope slug, once read: a team's slug is fixed while the token is.
    scope_slug: Arc<tokio::sync::OnceCell<String>>,
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
    /// Builds the clients for the settings.
    pub fn connect(settings: &PlatformSettings, retry: &RetryPolicy) -> Result<Platforms, String> {
        Platforms::build(settings, retry).map_err(|e| e.to_string())
    }

    fn build(settings: &PlatformSettings, retry: &RetryPolicy) -> Result<Platforms, ApiError> {
        let (vercel, supabase) = (&settings.vercel, &settings.supabase);
        let mut vc = VercelConfig::new(vercel.base_url.clone(), vercel.token.clone());
        vc.team_id = settings.vercel_team_id.clone();
        vc.api.retry = retry.clone();
        let mut sc = SupabaseConfig::new(supabase.base_url.clone(), supabase.token.clone());
        sc.api.retry = retry.clone();
        let cloudflare_client = match &settings.cloudflare {
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
            supabase_organization: settings.supabase_organization.clone(),
            vercel_team_id: settings.vercel_team_id.clone(),
            scope_slug: Arc::default(),
            dns: settings.dns.clone(),
            https: settings.https.clone(),
            rfc2136: settings.rfc2136.clone(),
            endpoints: Endpoints {
                sandbox: settings.sandbox,
                vercel: vercel.base_url.clone(),
                supabase: supabase.base_url.clone(),
                cloudflare: settings.cloudflare.as_ref().map(|c| c.base_url.clone()),
            },
        })
    }

    /// The DNS providers Slipway can write records at here (Vercel DNS always), and `manual`.
    pub fn dns_providers(&self) -> Vec<crate::domains::DnsProvider> {
        use crate::domains::DnsProvider;
        let mut providers = vec![DnsProvider::Vercel];
        if self.cloudflare.is_some() {
            providers.push(DnsProvider::Cloudflare);
        }
        if self.rfc2136.is_some() {
            providers.push(DnsProvider::Rfc2136);
        }
        providers.push(DnsProvider::Manual);
        providers
    }

    /// A client for `zone` at the configured RFC 2136 server; `None` when none is configured.
    pub fn rfc2136(&self, zone: &str) -> Result<Option<Rfc2136Client>, ApiError> {
        let Some(access) = &self.rfc2136 else { return Ok(None) };
        Rfc2136Client::new(Rfc2136Config {
            server: access.server,
            zone: zone.into(),
            key_name: access.key_name.clone(),
            algorithm: access.algorithm,
            secret: access.secret.clone(),
            timeout: std::time::Duration::from_secs(5),
        })
        .map(Some)
    }

    /// The scope Vercel names in generated deployment URLs (`<project>-<hash>-<scope>.vercel.app`):
    /// the team's slug, or the personal account's username.
    pub async fn vercel_scope_slug(&self) -> Result<String, ApiError> {
        let slug = self
            .scope_slug
            .get_or_try_init(|| async {
                match &self.vercel_team_id {
                    Some(team) => Ok::<_, ApiError>(self.vercel.get_team(team).await?.slug),
                    None => Ok(self.vercel.current_user().await?.username),
                }
            })
            .await?;
        Ok(slug.clone())
    }

    /// The platforms [`check`](Self::check) reports on, in its order, with the address each is
    /// reached at (known without asking anyone).
    pub fn configured(&self) -> Vec<(&'static str, String)> {
        let mut platforms =
            vec![("Vercel", self.endpoints.vercel.clone()), ("Supabase", self.endpoints.supabase.clone())];
        if let (Some(_), Some(url)) = (&self.cloudflare, &self.endpoints.cloudflare) {
            platforms.push(("Cloudflare", url.clone()));
        }
        platforms.push(("DNS", self.dns.resolvers.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")));
        if let Some(access) = &self.rfc2136 {
            platforms.push(("RFC 2136", access.server.to_string()));
        }
        platforms
    }

    /// Asks each platform, all at once, whether the token works and whose it is. A platform
    /// that has not answered within `patience` (slow, or its rate limit in use) is reported as
    /// such, and its call never queues behind the rate limiter for longer than that.
    pub async fn check(&self, patience: std::time::Duration) -> Vec<ConnectionStatus> {
        use crate::platform::api::{ErrorKind, Vendor};
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
                        Vendor::Supabase,
                        ErrorKind::NotFound,
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
        let cloudflare = async {
            // A zone lookup proves the token may read DNS; no zone name is needed.
            // The same condition as `configured`, whose list the results are paired with.
            let client = self.cloudflare.as_ref().filter(|_| self.endpoints.cloudflare.is_some())?;
            let found = within(patience, Vendor::Cloudflare, client.find_zone("example.com")).await;
            Some(found.map(|_| "token accepted".to_string()))
        };
        let rfc2136 = async {
            // Updates are checked per zone when applied; here, that the server is reachable.
            let access = self.rfc2136.as_ref()?;
            let reached = tokio::time::timeout(self.dns.timeout, tokio::net::TcpStream::connect(access.server)).await;
            let result = match reached {
                Ok(Ok(_)) => Ok(format!("reachable; TSIG key {}", access.key_name)),
                Ok(Err(error)) => Err(error.to_string()),
                Err(_) => Err("no answer in time".to_string()),
            };
            Some(result.map_err(|why| {
                ApiError::new(
                    Vendor::DnsServer,
                    ErrorKind::Transport,
                    None,
                    "transport",
                    format!("{} is not reachable: {why}", access.server),
                )
            }))
        };
        let (vercel, supabase, cloudflare, dns, rfc2136) = tokio::join!(
            within(patience, Vendor::Vercel, vercel),
            within(patience, Vendor::Supabase, supabase),
            cloudflare,
            self.check_dns(),
            rfc2136,
        );
        let mut results = vec![vercel, supabase];
        results.extend(cloudflare);
        results.push(dns);
        results.extend(rfc2136);
        self.configured()
            .into_iter()
            .zip(results)
            .map(|((platform, base_url), result)| ConnectionStatus::from_result(platform, &base_url, result))
            .collect()
    }

    /// Whether the DNS doctor's resolvers answer (the root's nameservers, which any has).
    async fn check_dns(&self) -> Result<String, ApiError> {
        use crate::domains::resolve::Server;
        let asked = futures_util::future::join_all(self.dns.resolvers.iter().map(|address| async move {
            let outcome =
                Server::new(*address, true, self.dns.timeout).ask(".", hickory_net::proto::rr::RecordType::NS).await;
            (address, outcome.failed().map(String::from))
        }))
        .await;
        let answering: Vec<String> =
            asked.iter().filter(|(_, failed)| failed.is_none()).map(|(a, _)| a.to_string()).collect();
        if answering.is_empty() {
            let why: Vec<String> =
                asked.iter().map(|(a, failed)| format!("{a}: {}", failed.as_deref().unwrap_or("?"))).collect();
            Err(ApiError::new(
                crate::platform::api::Vendor::DnsServer,
                crate::platform::api::ErrorKind::Transport,
                None,
                "transport",
                format!("no resolver answers ({})", why.join("; ")),
            ))
        } else {
            Ok(format!("{} of {} resolver(s) answer", answering.len(), asked.len()))
        }
    }
}

/// `call`, given up on after `patience`: it never queues behind the rate limiter for longer, and
/// a platform that has not answered by then is reported as slow.
async fn within<T>(
    patience: std::time::Duration,
    vendor: crate::platform::api::Vendor,
    call: impl std::future::Future<Output = Result<T, ApiError>>,
) -> Result<T, ApiError> {
    let call = crate::platform::ratelimit::with_patience(patience, call);
    tokio::time::timeout(patience, call).await.unwrap_or_else(|_| {
        let message = format!("no answer within {} s (slow or rate-limited)", patience.as_secs_f32());
        Err(ApiError::new(vendor, crate::platform::api::ErrorKind::Transport, None, "timeout", message))
    })
}

/// One platform's connection, as the dashboard's connection panel shows it (`Connection` in
/// /api/v1's OpenAPI document).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[schema(as = Connection)]
pub struct ConnectionStatus {
    #[schema(schema_with = platform_names)]
    pub platform: String,
    /// The API's base URL (for `DNS`, the resolvers' addresses; for `RFC 2136`, the server's).
    pub base_url: String,
    pub connected: bool,
    /// Whose account the token acts for, or what went wrong (never the token).
    pub detail: String,
}

/// The schema of [`ConnectionStatus::platform`]: what `check` reports on (`DNS`: the doctor's
/// resolvers; `RFC 2136`: the DNS server taking updates, when one is configured).
fn platform_names() -> utoipa::openapi::schema::Object {
    crate::venture::wire::one_of(["Vercel", "Supabase", "Cloudflare", "DNS", "RFC 2136"]).build()
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
    use slipway_sim::{SANDBOX_ORGANIZATION, SANDBOX_TEAM_ID, SANDBOX_TEAM_SLUG, Sandbox, SandboxConfig};

    use super::*;

    fn token(value: &str) -> Option<SecretString> {
        Some(SecretString::from(value))
    }

    #[test]
    fn all_real_or_all_sandbox() {
        assert!(TokenSettings::default().into_platforms().unwrap().is_none());
        let half = TokenSettings { vercel_token: token("v"), ..Default::default() };
        let err = half.into_platforms().err().unwrap();
        assert!(err.contains("SUPABASE_ACCESS_TOKEN is not"), "{err}");
        let only_dns = TokenSettings { cloudflare_token: token("c"), ..Default::default() };
        assert!(only_dns.into_platforms().is_err());
        let both = TokenSettings {
            vercel_token: token("v"),
            supabase_token: token("s"),
            supabase_api_url: Some("http://127.0.0.1:9".into()),
            ..Default::default()
        };
        let settings = both.into_platforms().unwrap().expect("tokens were given");
        assert_eq!(settings.vercel.base_url, vercel::DEFAULT_BASE_URL);
        assert_eq!(settings.supabase.base_url, "http://127.0.0.1:9");
        assert!(settings.cloudflare.is_none());
        assert!(!settings.sandbox);
    }

    fn endpoints(sandbox: &Sandbox, token: &str) -> SandboxEndpoints {
        SandboxEndpoints {
            vercel: sandbox.vercel.base_url(),
            vercel_team_id: SANDBOX_TEAM_ID.into(),
            supabase: sandbox.supabase.base_url(),
            cloudflare: sandbox.cloudflare.base_url(),
            organization: SANDBOX_ORGANIZATION.into(),
            token: SecretString::from(token),
            dns: sandbox.dns.address(),
            edge_port: sandbox.edge.address().port(),
            edge_ca: sandbox.edge.ca_pem().to_string(),
        }
    }

    #[tokio::test]
    async fn the_sandbox_connects_to_every_simulator() {
        let sandbox = Sandbox::start(&SandboxConfig::default(), "the-token").await.unwrap();
        let settings = PlatformSettings::sandbox(endpoints(&sandbox, "the-token"));
        let platforms = Platforms::connect(&settings, &RetryPolicy::default()).unwrap();
        assert!(platforms.endpoints.sandbox);
        let statuses = platforms.check(std::time::Duration::from_secs(10)).await;
        assert_eq!(statuses.len(), 4, "Vercel, Supabase, Cloudflare and the doctor's resolver");
        assert!(statuses.iter().all(|s| s.connected), "{statuses:#?}");
        assert_eq!(statuses[3].detail, "1 of 1 resolver(s) answer");
        assert_eq!(statuses[0].detail, format!("team {SANDBOX_TEAM_SLUG} ({SANDBOX_TEAM_ID})"));
        assert_eq!(statuses[1].detail, "organization sandbox-org");
        // Every Vercel call of the check was scoped to the team.
        let requests = sandbox.vercel.requests();
        let scoped = requests
            .iter()
            .filter(|r| r.path != "/v2/user")
            .all(|r| r.query.contains("teamId=") || r.path.starts_with("/v2/teams/"));
        assert!(scoped && requests.iter().any(|r| r.path == format!("/v2/teams/{SANDBOX_TEAM_ID}")), "{requests:#?}");
    }

    #[tokio::test]
    async fn a_wrong_token_shows_as_disconnected_without_the_token() {
        let sandbox = Sandbox::start(&SandboxConfig::default(), "the-right-token").await.unwrap();
        let settings = PlatformSettings::sandbox(endpoints(&sandbox, "a-wrong-token"));
        let platforms = Platforms::connect(&settings, &RetryPolicy::default()).unwrap();
        let statuses = platforms.check(std::time::Duration::from_secs(10)).await;
        // The token is refused at every platform; the resolvers need none.
        let platforms_only = &statuses[..3];
        assert!(platforms_only.iter().all(|s| !s.connected), "{statuses:#?}");
        assert!(statuses.iter().all(|s| !s.detail.contains("a-wrong-token")));
    }

    #[tokio::test]
    async fn a_platform_slower_than_the_patience_is_reported_as_slow() {
        let faults =
            slipway_sim::faults::FaultPlan { latency: std::time::Duration::from_secs(5), ..Default::default() };
        let sandbox = Sandbox::start(&SandboxConfig { faults, ..SandboxConfig::default() }, "t").await.unwrap();
        let settings = PlatformSettings::sandbox(endpoints(&sandbox, "t"));
        let platforms = Platforms::connect(&settings, &RetryPolicy::default()).unwrap();
        let statuses = platforms.check(std::time::Duration::from_millis(300)).await;
        let names: Vec<_> = statuses.iter().map(|s| s.platform.as_str()).collect();
        assert_eq!(names, ["Vercel", "Supabase", "Cloudflare", "DNS"]);
        for slow in &statuses[..3] {
            assert!(!slow.connected, "{slow:?}");
            assert!(slow.detail.contains("no answer within 0.3 s (slow or rate-limited)"), "{slow:?}");
        }
        assert_eq!(
            statuses.iter().map(|s| (s.platform.as_str(), s.base_url.clone())).collect::<Vec<_>>(),
            platforms.configured(),
            "the check reports on what `configured` names, in its order"
        );
    }
}
