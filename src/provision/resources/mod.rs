//! The resources Slipway manages for a venture, one file each, and the graph they form.
//! Adding a resource: its file here, and one line in [`GRAPH`].
//!
//! ```text
//! supabase.project ─────────▶ supabase.ready ─────────▶ supabase.keys ─────────┐
//! supabase.staging_project ─▶ supabase.staging_ready ─▶ supabase.staging_keys ─┼─▶ vercel.env ─▶ vercel.deploy
//! vercel.project ───────────▶ vercel.staging ──────────────────────────────────┘
//! supabase.ready + vercel.project ─────────────────▶ supabase.auth
//! supabase.staging_ready + vercel.project, .staging ▶ supabase.staging_auth
//! supabase.ready ──────────▶ supabase.policies (then the lint)
//! supabase.staging_ready ──▶ supabase.staging_policies
//! vercel.project, .staging ▶ vercel.domains ─▶ dns.records ─▶ domains.ready (◀ vercel.deploy)
//! ```

mod deployment;
mod dns_records;
mod domain_ready;
mod env_vars;
mod supabase_auth;
mod supabase_keys;
mod supabase_policies;
mod supabase_project;
mod supabase_ready;
mod vercel_domains;
mod vercel_project;
mod vercel_staging;

use super::graph::{Node, Resource, node};

pub use deployment::{ProductionDeployment, RedeployTarget, redeploy};
pub use dns_records::DnsRecords;
pub use domain_ready::{DomainAtVercel, DomainReady, examine as examine_domain};
pub(crate) use env_vars::compare as compare_env;
pub use env_vars::{EnvVars, SyncState};
pub use supabase_auth::{SupabaseAuth, Written as SignInWritten};
pub use supabase_keys::SupabaseKeys;
pub use supabase_policies::{
    SupabasePolicies, Written as PoliciesWritten, lint_errors, lint_note, read_written, record_lint,
};
pub use supabase_project::{DB_PASSWORD, Production, Staging, SupabaseProject, generate_password};
pub use supabase_ready::SupabaseReady;
pub use vercel_domains::VercelDomains;
pub use vercel_project::VercelProject;
pub use vercel_staging::StagingEnvironment;

/// Every resource, after the ones it depends on; listed in this order in the dashboard.
pub const GRAPH: &[Node] = &[
    node::<SupabaseProject<Production>>(&[]),
    node::<SupabaseReady<Production>>(&[SupabaseProject::<Production>::NAME]),
    node::<SupabaseKeys<Production>>(&[SupabaseReady::<Production>::NAME]),
    node::<SupabaseProject<Staging>>(&[]),
    node::<SupabaseReady<Staging>>(&[SupabaseProject::<Staging>::NAME]),
    node::<SupabaseKeys<Staging>>(&[SupabaseReady::<Staging>::NAME]),
    node::<VercelProject>(&[]),
    node::<StagingEnvironment>(&[VercelProject::NAME]),
    // Sign-in reads the venture's URLs at Vercel; staging's waits for the staging environment.
    node::<SupabaseAuth<Production>>(&[SupabaseReady::<Production>::NAME, VercelProject::NAME]),
    node::<SupabaseAuth<Staging>>(&[SupabaseReady::<Staging>::NAME, VercelProject::NAME, StagingEnvironment::NAME]),
    node::<SupabasePolicies<Production>>(&[SupabaseReady::<Production>::NAME]),
    node::<SupabasePolicies<Staging>>(&[SupabaseReady::<Staging>::NAME]),
    node::<EnvVars>(&[
        SupabaseKeys::<Production>::NAME,
        SupabaseKeys::<Staging>::NAME,
        VercelProject::NAME,
        StagingEnvironment::NAME,
    ]),
    node::<ProductionDeployment>(&[EnvVars::NAME, VercelProject::NAME]),
    node::<VercelDomains>(&[VercelProject::NAME, StagingEnvironment::NAME]),
    node::<DnsRecords>(&[VercelDomains::NAME]),
    node::<DomainReady>(&[VercelDomains::NAME, DnsRecords::NAME, ProductionDeployment::NAME]),
];

/// Kinds of resources recorded per venture (`venture_resources.kind`).
pub mod kind {
    pub const SUPABASE_PROJECT: &str = "supabase_project";
    pub const SUPABASE_STAGING_PROJECT: &str = "supabase_staging_project";
    pub const SUPABASE_AUTH: &str = "supabase_auth";
    pub const SUPABASE_STAGING_AUTH: &str = "supabase_staging_auth";
    pub const SUPABASE_POLICIES: &str = "supabase_policies";
    pub const SUPABASE_STAGING_POLICIES: &str = "supabase_staging_policies";
    pub const VERCEL_PROJECT: &str = "vercel_project";
    pub const VERCEL_STAGING: &str = "vercel_staging";
    pub const VERCEL_ENV: &str = "vercel_env";
    pub const VERCEL_DEPLOYMENT: &str = "vercel_deployment";
    pub const VERCEL_DOMAINS: &str = "vercel_domains";
    pub const DNS_RECORDS: &str = "dns_records";
    pub const DOMAIN_CERTIFICATE: &str = "domain_certificate";
}
