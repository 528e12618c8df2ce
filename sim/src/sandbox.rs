//! The three simulators together, sharing one DNS, as sandbox mode and `slipway sim` run them.
//! This is the one place they are started side by side.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use crate::cloudflare::{CloudflareSim, CloudflareSimConfig};
use crate::dns::SimDns;
use crate::dns_server::DnsServer;
use crate::faults::FaultPlan;
use crate::supabase::{SupabaseSim, SupabaseSimConfig};
use crate::vercel::{Edge, VercelSim};

/// The organization the sandbox's Supabase simulator holds, where new projects go.
pub const SANDBOX_ORGANIZATION: &str = "sandbox-org";

/// The Vercel team the sandbox token's user belongs to, as a studio's account is a team: the
/// sandbox scopes every Vercel call to it (`teamId`).
pub const SANDBOX_TEAM_ID: &str = "team_sim0000000000000000000001";
/// Its slug.
pub const SANDBOX_TEAM_SLUG: &str = "sandbox-team";

#[derive(Clone, Debug)]
pub struct SandboxConfig {
    /// Where the simulators listen; port 0 picks a free one.
    pub host: IpAddr,
    pub vercel_port: u16,
    pub supabase_port: u16,
    pub cloudflare_port: u16,
    /// The port the simulated public DNS answers on (UDP and TCP).
    pub dns_port: u16,
    /// The port the simulated Vercel edge serves HTTPS on.
    pub edge_port: u16,
    pub faults: FaultPlan,
    /// How long a new Supabase project takes to become healthy.
    pub supabase_ready_after: Duration,
    /// How long a Vercel deployment takes from QUEUED to READY.
    pub vercel_build_time: Duration,
    /// A PostgreSQL server on which each Supabase project's SQL runs for real (see
    /// [`SupabaseSimConfig::database_server`]); unset, SQL is only recorded.
    pub supabase_database_server: Option<String>,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            vercel_port: 0,
            supabase_port: 0,
            cloudflare_port: 0,
            dns_port: 0,
            edge_port: 0,
            faults: FaultPlan::default(),
            supabase_ready_after: Duration::from_secs(4),
            vercel_build_time: Duration::from_secs(3),
            supabase_database_server: None,
        }
    }
}

/// The running simulators; they stop when this is dropped.
pub struct Sandbox {
    pub vercel: VercelSim,
    pub supabase: SupabaseSim,
    pub cloudflare: CloudflareSim,
    /// The public DNS the three share, served as real DNS.
    pub dns: DnsServer,
    /// Vercel's edge: HTTPS for the domains, where their A records point.
    pub edge: Edge,
}

impl Sandbox {
    /// Starts the three simulators; each accepts only `token`. Records made at the Cloudflare
    /// simulator resolve in the DNS the Vercel simulator verifies domains against, which is
    /// served as real DNS too; Vercel's edge serves HTTPS where the apex records point.
    pub async fn start(config: &SandboxConfig, token: &str) -> std::io::Result<Sandbox> {
        let dns = SimDns::default();
        let at = |port| SocketAddr::new(config.host, port);
        let vercel =
            VercelSim::start_with_dns(at(config.vercel_port), token, config.faults.clone(), dns.clone()).await?;
        vercel.set_build_time(config.vercel_build_time);
        let edge = vercel.start_edge(at(config.edge_port)).await?;
        // Apex records point at the edge (a wildcard address would name no host to reach).
        if let IpAddr::V4(address) = config.host
            && !address.is_unspecified()
        {
            vercel.set_edge_address(address);
        }
        let supabase = SupabaseSim::start_on(
            at(config.supabase_port),
            SupabaseSimConfig {
                faults: config.faults.clone(),
                ready_after: config.supabase_ready_after,
                organizations: vec![(SANDBOX_ORGANIZATION.into(), "Sandbox organization".into())],
                database_server: config.supabase_database_server.clone(),
                ..SupabaseSimConfig::new(token)
            },
        )
        .await?;
        // A deployment's app uses the Supabase credentials it was built with on every request.
        let credentials = supabase.clone();
        vercel.set_runtime_check(std::sync::Arc::new(move |env| credentials.credential_problem(env)));
        let cloudflare = CloudflareSim::start_on(
            at(config.cloudflare_port),
            CloudflareSimConfig { faults: config.faults.clone(), dns: dns.clone(), ..CloudflareSimConfig::new(token) },
        )
        .await?;
        let dns = DnsServer::start(at(config.dns_port), dns).await?;
        Ok(Sandbox { vercel, supabase, cloudflare, dns, edge })
    }
}
