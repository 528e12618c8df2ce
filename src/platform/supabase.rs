//! Supabase Management API client (https://supabase.com/docs/reference/api): organizations and
//! their projects, available regions, projects and their readiness, API keys (new-style and
//! legacy), JWT signing keys, connection pooler settings, SQL, the database password, auth
//! settings (site URL, redirect URLs, OAuth providers), backups and point-in-time recovery.

use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize, Serializer};

use super::api::{ApiCore, ApiError, ApiSettings, Auth, Call, ErrorKind, Vendor};
use super::ratelimit::Budget;

pub const DEFAULT_BASE_URL: &str = "https://api.supabase.com";

/// "120 requests / 1 minute per user, per project or organization, per endpoint".
pub const DEFAULT_BUDGET: Budget = Budget::per_minute(120);

#[derive(Clone)]
pub struct SupabaseConfig {
    pub api: ApiSettings,
}

impl SupabaseConfig {
    pub fn new(base_url: impl Into<String>, token: SecretString) -> Self {
        SupabaseConfig { api: ApiSettings::new(base_url, Auth::Bearer(token), DEFAULT_BUDGET) }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Organization {
    pub id: String,
    pub slug: String,
    pub name: String,
}

/// `GET /v1/organizations/{slug}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrganizationDetails {
    pub id: String,
    pub name: String,
    /// `free`, `pro`, `team`, `enterprise` or `platform`.
    #[serde(default)]
    pub plan: Option<String>,
    pub opt_in_tags: Vec<String>,
    pub allowed_release_channels: Vec<String>,
}

/// Orders of `GET /v1/organizations/{slug}/projects`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProjectSort {
    NameAsc,
    NameDesc,
    CreatedAsc,
    CreatedDesc,
}

impl ProjectSort {
    fn as_str(self) -> &'static str {
        match self {
            ProjectSort::NameAsc => "name_asc",
            ProjectSort::NameDesc => "name_desc",
            ProjectSort::CreatedAsc => "created_asc",
            ProjectSort::CreatedDesc => "created_desc",
        }
    }
}

/// Filters and page of `GET /v1/organizations/{slug}/projects`.
#[derive(Debug, Clone, Default)]
pub struct OrganizationProjectsQuery {
    pub offset: u32,
    /// 1 to 100; the API's default is 100.
    pub limit: Option<u32>,
    /// Matches project names.
    pub search: Option<String>,
    pub sort: Option<ProjectSort>,
    /// Only `ActiveHealthy` and `Inactive` are supported filters.
    pub statuses: Vec<ProjectStatus>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrganizationProject {
    #[serde(rename = "ref")]
    pub reference: String,
    pub name: String,
    pub cloud_provider: String,
    pub region: String,
    pub is_branch: bool,
    pub status: ProjectStatus,
    pub inserted_at: String,
    pub databases: Vec<ProjectDatabase>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectDatabase {
    pub identifier: String,
    /// `PRIMARY` or `READ_REPLICA`.
    #[serde(rename = "type")]
    pub database_type: String,
    pub region: String,
    pub cloud_provider: String,
    pub status: String,
    #[serde(default)]
    pub infra_compute_size: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pagination {
    /// Every matching project, across pages.
    pub count: u64,
    pub limit: u64,
    pub offset: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrganizationProjectsPage {
    pub projects: Vec<OrganizationProject>,
    pub pagination: Pagination,
}

/// `GET /v1/projects/available-regions`: where a new project can go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AvailableRegions {
    pub recommendations: RecommendedRegions,
    pub all: AllRegions,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecommendedRegions {
    #[serde(rename = "smartGroup")]
    pub smart_group: RegionOption,
    pub specific: Vec<RegionOption>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllRegions {
    #[serde(rename = "smartGroup")]
    pub smart_group: Vec<RegionOption>,
    pub specific: Vec<RegionOption>,
}

/// One choice for `region_selection`: `kind` is `specific` or `smartGroup`, as the create body takes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegionOption {
    pub name: String,
    pub code: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// `AWS`, … (specific regions only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// `capacity` or `other` (specific regions only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

impl RegionOption {
    /// The `region_selection` that picks this option.
    pub fn selection(&self) -> RegionSelection {
        if self.kind == "smartGroup" {
            RegionSelection::SmartGroup(self.code.clone())
        } else {
            RegionSelection::Specific(self.code.clone())
        }
    }
}

/// Where a project runs: a specific region or a "smart group" that Supabase picks within.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "code", rename_all = "camelCase")]
pub enum RegionSelection {
    Specific(String),
    SmartGroup(String),
}

/// The AWS regions the API accepts for `region_selection.code` of type `specific`.
pub const REGIONS: &[&str] = &[
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "ap-east-1",
    "ap-southeast-1",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-southeast-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-north-1",
    "eu-central-1",
    "eu-central-2",
    "ca-central-1",
    "ap-south-1",
    "sa-east-1",
];
pub const SMART_GROUPS: &[&str] = &["americas", "emea", "apac"];

fn expose<S: Serializer>(secret: &SecretString, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(secret.expose_secret())
}

/// Body of `POST /v1/projects`. `Debug` shows no password.
#[derive(Debug, Clone, Serialize)]
pub struct CreateProjectRequest {
    pub name: String,
    pub organization_slug: String,
    #[serde(serialize_with = "expose")]
    pub db_pass: SecretString,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region_selection: Option<RegionSelection>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub desired_instance_size: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ProjectStatus {
    Inactive,
    ActiveHealthy,
    ActiveUnhealthy,
    ComingUp,
    Unknown,
    GoingDown,
    InitFailed,
    Removed,
    Restoring,
    Upgrading,
    Pausing,
    RestoreFailed,
    Restarting,
    PauseFailed,
    Resizing,
}

impl ProjectStatus {
    /// States a new project never leaves by itself.
    pub fn is_terminal_failure(self) -> bool {
        matches!(self, ProjectStatus::InitFailed | ProjectStatus::Removed)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Project {
    #[serde(rename = "ref")]
    pub reference: String,
    pub organization_slug: String,
    pub name: String,
    pub region: String,
    pub created_at: String,
    pub status: ProjectStatus,
    /// Present on `GET` (absent from the create response).
    #[serde(default)]
    pub database: Option<DatabaseInfo>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatabaseInfo {
    pub host: String,
    pub version: String,
    #[serde(default)]
    pub postgres_engine: Option<String>,
    #[serde(default)]
    pub release_channel: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeletedProject {
    pub id: i64,
    #[serde(rename = "ref")]
    pub reference: String,
    pub name: String,
}

/// The services `GET /v1/projects/{ref}/health` can report on.
pub const HEALTH_SERVICES: &[&str] =
    &["auth", "db", "db_postgres_user", "pooler", "realtime", "rest", "storage", "pg_bouncer"];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceHealth {
    pub name: String,
    pub healthy: bool,
    /// `COMING_UP`, `ACTIVE_HEALTHY` or `UNHEALTHY`.
    pub status: String,
    #[serde(default)]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApiKeyType {
    Legacy,
    Publishable,
    Secret,
}

/// A project API key. The value is a secret for `service_role` and `secret` keys.
#[derive(Debug, Clone, Deserialize)]
pub struct ApiKey {
    pub name: String,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default, rename = "type")]
    pub key_type: Option<ApiKeyType>,
    #[serde(default)]
    pub api_key: Option<SecretString>,
    #[serde(default)]
    pub prefix: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub secret_jwt_template: Option<serde_json::Map<String, serde_json::Value>>,
}

/// Body of `POST /v1/projects/{ref}/api-keys`. `key_type` must be `Publishable` or `Secret`.
#[derive(Debug, Clone, Serialize)]
pub struct CreateApiKeyRequest {
    #[serde(rename = "type")]
    pub key_type: ApiKeyType,
    /// 4 to 64 characters matching `^[a-z_][a-z0-9_]+$`.
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Claims of the JWT a secret key stands for (Supabase defaults to `{"role": "service_role"}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_jwt_template: Option<serde_json::Map<String, serde_json::Value>>,
}

/// Why a key is deleted: `was_compromised` and `reason` go to Supabase with the deletion.
#[derive(Debug, Clone, Default)]
pub struct DeleteApiKeyOptions {
    pub was_compromised: bool,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct LegacyApiKeys {
    enabled: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SigningKeyAlgorithm {
    EdDSA,
    ES256,
    RS256,
    HS256,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SigningKeyStatus {
    InUse,
    PreviouslyUsed,
    Revoked,
    Standby,
}

/// A JWT signing key; only its public half (`public_jwk`, none for HS256) ever comes back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SigningKey {
    pub id: String,
    pub algorithm: SigningKeyAlgorithm,
    pub status: SigningKeyStatus,
    #[serde(default)]
    pub public_jwk: Option<serde_json::Value>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct SigningKeys {
    keys: Vec<SigningKey>,
}

/// Body of `POST …/config/auth/signing-keys`: a key generated by Supabase (importing a private
/// JWK is left out on purpose: the product never holds signing keys). `status` is `InUse` or
/// `Standby` (the API's default).
#[derive(Debug, Clone, Serialize)]
pub struct CreateSigningKeyRequest {
    pub algorithm: SigningKeyAlgorithm,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<SigningKeyStatus>,
}

#[derive(Debug, Clone, Copy, Serialize)]
struct UpdateSigningKeyBody {
    status: SigningKeyStatus,
}

#[derive(Debug, Clone, Serialize)]
struct UpdatePasswordBody<'a> {
    #[serde(serialize_with = "expose")]
    password: &'a SecretString,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct MessageResponse {
    message: String,
}

/// Body of `POST /v1/projects/{ref}/database/query`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct QueryRequest {
    pub query: String,
    /// Values for `$1`, `$2`, … in `query`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub parameters: Vec<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
}

impl QueryRequest {
    pub fn new(query: impl Into<String>) -> Self {
        QueryRequest { query: query.into(), ..QueryRequest::default() }
    }
}

/// One result row: column name → value.
pub type Row = serde_json::Map<String, serde_json::Value>;

/// The longest JWT lifetime `jwt_exp` accepts (one week, in seconds).
pub const MAX_JWT_EXP: u32 = 604_800;

/// The part of `PATCH /v1/projects/{ref}/config/auth` the product sets; `None` leaves a setting
/// as it is. Microsoft sign-in is the `azure` provider. `Debug` shows no secret.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AuthConfigUpdate {
    /// Must not contain a comma.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub site_url: Option<String>,
    /// Redirect URLs; the API takes them as one comma-joined string, so none may contain a comma.
    #[serde(serialize_with = "join_urls", skip_serializing_if = "Option::is_none")]
    pub uri_allow_list: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disable_signup: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_email_enabled: Option<bool>,
    /// Seconds, at most [`MAX_JWT_EXP`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwt_exp: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_google_enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_google_client_id: Option<String>,
    #[serde(serialize_with = "expose_optional", skip_serializing_if = "Option::is_none")]
    pub external_google_secret: Option<SecretString>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_github_enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_github_client_id: Option<String>,
    #[serde(serialize_with = "expose_optional", skip_serializing_if = "Option::is_none")]
    pub external_github_secret: Option<SecretString>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_azure_enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_azure_client_id: Option<String>,
    #[serde(serialize_with = "expose_optional", skip_serializing_if = "Option::is_none")]
    pub external_azure_secret: Option<SecretString>,
    /// The Microsoft Entra tenant URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_azure_url: Option<String>,
}

/// The product's view of `AuthConfigResponse` (which has some 240 keys; the rest are ignored).
/// The `*_secret` fields hold what the API returns for a provider secret: a SHA-256 hex digest,
/// not the secret (compare with [`AuthConfig::secret_matches`]); typed as secrets all the same
/// so that nothing ever prints them.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuthConfig {
    pub site_url: Option<String>,
    /// As the API stores it: one comma-joined string (see [`AuthConfig::redirect_urls`]).
    pub uri_allow_list: Option<String>,
    pub disable_signup: Option<bool>,
    pub external_email_enabled: Option<bool>,
    pub jwt_exp: Option<u32>,
    pub external_google_enabled: Option<bool>,
    pub external_google_client_id: Option<String>,
    #[serde(serialize_with = "expose_optional")]
    pub external_google_secret: Option<SecretString>,
    pub external_github_enabled: Option<bool>,
    pub external_github_client_id: Option<String>,
    #[serde(serialize_with = "expose_optional")]
    pub external_github_secret: Option<SecretString>,
    pub external_azure_enabled: Option<bool>,
    pub external_azure_client_id: Option<String>,
    #[serde(serialize_with = "expose_optional")]
    pub external_azure_secret: Option<SecretString>,
    pub external_azure_url: Option<String>,
}

impl AuthConfig {
    /// The redirect URLs, split from `uri_allow_list`.
    pub fn redirect_urls(&self) -> Vec<String> {
        let joined = self.uri_allow_list.as_deref().unwrap_or_default();
        joined.split(',').map(str::trim).filter(|url| !url.is_empty()).map(String::from).collect()
    }

    /// Whether a provider secret the API reported (`field`, a SHA-256 hex digest) is `secret`,
    /// the way supabase/cli tells whether a secret needs updating.
    pub fn secret_matches(field: &Option<SecretString>, secret: &SecretString) -> bool {
        field.as_ref().is_some_and(|digest| digest.expose_secret().eq_ignore_ascii_case(&sha256_hex(secret)))
    }
}

/// Backup status of a project (`GET /v1/projects/{ref}/database/backups`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Backups {
    pub region: String,
    pub walg_enabled: bool,
    pub pitr_enabled: bool,
    pub backups: Vec<Backup>,
    pub physical_backup_data: PhysicalBackupData,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Backup {
    pub id: i64,
    pub is_physical_backup: bool,
    /// `COMPLETED`, `FAILED`, `PENDING`, `REMOVED`, `ARCHIVED` or `CANCELLED`.
    pub status: String,
    pub inserted_at: String,
}

/// The PITR window, when there is one (empty without PITR).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhysicalBackupData {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub earliest_physical_backup_date_unix: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_physical_backup_date_unix: Option<i64>,
}

#[derive(Debug, Clone, Copy, Serialize)]
struct RestorePitrBody {
    recovery_time_target_unix: i64,
}

/// `GET /v1/projects/{ref}/database/backups/schedule`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupSchedule {
    /// Daily backup time of day, UTC, `HH:MM:SS`.
    pub schedule_for: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolerConfig {
    pub identifier: String,
    /// `PRIMARY` or `READ_REPLICA`.
    pub database_type: String,
    pub db_user: String,
    pub db_host: String,
    pub db_port: u16,
    pub db_name: String,
    /// Carries a literal `[YOUR-PASSWORD]` placeholder: the API never returns the password.
    pub connection_string: String,
    /// `transaction` or `session`.
    pub pool_mode: String,
    #[serde(default)]
    pub default_pool_size: Option<i64>,
    #[serde(default)]
    pub max_client_conn: Option<i64>,
}

pub struct SupabaseClient {
    core: ApiCore,
}

impl SupabaseClient {
    pub fn new(config: SupabaseConfig) -> Result<Self, ApiError> {
        Ok(SupabaseClient { core: ApiCore::new(Vendor::Supabase, config.api, parse_error)? })
    }

    /// `GET /v1/organizations`.
    pub async fn list_organizations(&self) -> Result<Vec<Organization>, ApiError> {
        self.core.send(Call::new("v1-list-all-organizations", Method::GET, &["v1", "organizations"])).await
    }

    /// `GET /v1/projects` (every project the token can see; not paginated).
    pub async fn list_projects(&self) -> Result<Vec<Project>, ApiError> {
        self.core.send(Call::new("v1-list-all-projects", Method::GET, &["v1", "projects"])).await
    }

    /// `POST /v1/projects`.
    pub async fn create_project(&self, request: &CreateProjectRequest) -> Result<Project, ApiError> {
        validate_create(request)?;
        let call = Call::new("v1-create-a-project", Method::POST, &["v1", "projects"])
            .json(request)
            .scope(format!("v1-create-a-project:{}", request.organization_slug));
        self.core.send(call).await
    }

    /// `GET /v1/projects/{ref}`.
    pub async fn get_project(&self, reference: &str) -> Result<Project, ApiError> {
        self.core.send(project_call("v1-get-project", Method::GET, reference, &[])?).await
    }

    /// `DELETE /v1/projects/{ref}`.
    pub async fn delete_project(&self, reference: &str) -> Result<DeletedProject, ApiError> {
        self.core.send(project_call("v1-delete-a-project", Method::DELETE, reference, &[])?).await
    }

    /// `GET /v1/projects/{ref}/health?services=db&services=auth`: `services` is an array in
    /// `style: form, explode: true` in the spec, so the key is repeated per service (as the
    /// official CLI sends it), not one comma-joined value.
    pub async fn health(&self, reference: &str, services: &[&str]) -> Result<Vec<ServiceHealth>, ApiError> {
        if services.is_empty() {
            return Err(ApiError::invalid_input(Vendor::Supabase, "services", "must name at least one service"));
        }
        if let Some(bad) = services.iter().find(|s| !HEALTH_SERVICES.contains(s)) {
            return Err(ApiError::invalid_input(
                Vendor::Supabase,
                "services",
                format!("must be among {} (got {bad:?})", HEALTH_SERVICES.join(", ")),
            ));
        }
        let call = project_call("v1-get-services-health", Method::GET, reference, &["health"])?;
        let call = services.iter().fold(call, |call, service| call.query("services", service));
        self.core.send(call).await
    }

    /// `GET /v1/projects/{ref}/api-keys?reveal=true`: every key, secret ones in full.
    pub async fn api_keys(&self, reference: &str) -> Result<Vec<ApiKey>, ApiError> {
        let call =
            project_call("v1-get-project-api-keys", Method::GET, reference, &["api-keys"])?.query("reveal", true);
        self.core.send(call).await
    }

    /// `GET /v1/projects/{ref}/config/database/pooler`.
    pub async fn pooler_config(&self, reference: &str) -> Result<Vec<PoolerConfig>, ApiError> {
        let call = project_call("v1-get-pooler-config", Method::GET, reference, &["config", "database", "pooler"])?;
        self.core.send(call).await
    }

    /// `GET /v1/organizations/{slug}`.
    pub async fn get_organization(&self, slug: &str) -> Result<OrganizationDetails, ApiError> {
        self.core.send(organization_call("v1-get-an-organization", slug, &[])?).await
    }

    /// One page of `GET /v1/organizations/{slug}/projects`.
    pub async fn organization_projects_page(
        &self,
        slug: &str,
        query: &OrganizationProjectsQuery,
    ) -> Result<OrganizationProjectsPage, ApiError> {
        let mut call = organization_call("v1-get-all-projects-for-organization", slug, &["projects"])?
            .query("offset", query.offset);
        if let Some(limit) = query.limit {
            if !(1..=100).contains(&limit) {
                return Err(ApiError::invalid_input(Vendor::Supabase, "limit", "must be between 1 and 100"));
            }
            call = call.query("limit", limit);
        }
        if let Some(search) = &query.search {
            call = call.query("search", search);
        }
        if let Some(sort) = query.sort {
            call = call.query("sort", sort.as_str());
        }
        if !query.statuses.is_empty() {
            let mut names = Vec::new();
            for status in &query.statuses {
                match status {
                    ProjectStatus::ActiveHealthy => names.push("ACTIVE_HEALTHY"),
                    ProjectStatus::Inactive => names.push("INACTIVE"),
                    _ => {
                        return Err(ApiError::invalid_input(
                            Vendor::Supabase,
                            "statuses",
                            "may only filter on ACTIVE_HEALTHY and INACTIVE",
                        ));
                    }
                }
            }
            call = call.query("statuses", names.join(","));
        }
        self.core.send(call).await
    }

    /// Every project of an organization matching `query`, following the pages from
    /// `query.offset` (each page counts against the rate limit).
    pub async fn organization_projects(
        &self,
        slug: &str,
        query: &OrganizationProjectsQuery,
    ) -> Result<Vec<OrganizationProject>, ApiError> {
        let mut query = query.clone();
        let mut projects = Vec::new();
        loop {
            let page = self.organization_projects_page(slug, &query).await?;
            let received = page.projects.len() as u32;
            projects.extend(page.projects);
            // An empty page also ends it: projects deleted meanwhile shrink the count.
            if received == 0 || u64::from(query.offset + received) >= page.pagination.count {
                return Ok(projects);
            }
            query.offset += received;
        }
    }

    /// `GET /v1/projects/available-regions?organization_slug=…`: the regions and smart groups a new
    /// project of that organization can use, with recommendations.
    pub async fn available_regions(&self, organization_slug: &str) -> Result<AvailableRegions, ApiError> {
        if !valid_slug(organization_slug) {
            return Err(ApiError::invalid_input(Vendor::Supabase, "organization_slug", "must match ^[\\w-]+$"));
        }
        let operation = "v1-get-available-regions";
        let call = Call::new(operation, Method::GET, &["v1", "projects", "available-regions"])
            .query("organization_slug", organization_slug)
            .scope(format!("{operation}:{organization_slug}"));
        self.core.send(call).await
    }

    /// `POST /v1/projects/{ref}/api-keys?reveal=true`: the new key, its value in full.
    pub async fn create_api_key(&self, reference: &str, request: &CreateApiKeyRequest) -> Result<ApiKey, ApiError> {
        validate_api_key(request)?;
        let call = project_call("v1-create-project-api-key", Method::POST, reference, &["api-keys"])?
            .query("reveal", true)
            .json(request);
        self.core.send(call).await
    }

    /// `DELETE /v1/projects/{ref}/api-keys/{id}` (new-style keys; legacy ones are switched off
    /// with [`SupabaseClient::set_legacy_api_keys`]). Returns the deleted key.
    pub async fn delete_api_key(
        &self,
        reference: &str,
        id: &str,
        options: &DeleteApiKeyOptions,
    ) -> Result<ApiKey, ApiError> {
        validate_uuid("id", id)?;
        let mut call = project_call("v1-delete-project-api-key", Method::DELETE, reference, &["api-keys", id])?
            .query("was_compromised", options.was_compromised);
        if let Some(reason) = &options.reason {
            call = call.query("reason", reason);
        }
        self.core.send(call).await
    }

    /// `GET /v1/projects/{ref}/api-keys/legacy`: whether the anon/service_role JWT keys work.
    /// Supabase will remove this endpoint (a 404 then means they are gone).
    pub async fn legacy_api_keys_enabled(&self, reference: &str) -> Result<bool, ApiError> {
        let call = project_call("v1-get-project-legacy-api-keys", Method::GET, reference, &["api-keys", "legacy"])?;
        Ok(self.core.send::<LegacyApiKeys>(call).await?.enabled)
    }

    /// `PUT /v1/projects/{ref}/api-keys/legacy?enabled=…`; returns the new state.
    pub async fn set_legacy_api_keys(&self, reference: &str, enabled: bool) -> Result<bool, ApiError> {
        let call = project_call("v1-update-project-legacy-api-keys", Method::PUT, reference, &["api-keys", "legacy"])?
            .query("enabled", enabled);
        Ok(self.core.send::<LegacyApiKeys>(call).await?.enabled)
    }

    /// `GET /v1/projects/{ref}/config/auth/signing-keys`.
    pub async fn signing_keys(&self, reference: &str) -> Result<Vec<SigningKey>, ApiError> {
        let call = project_call("v1-get-project-signing-keys", Method::GET, reference, SIGNING_KEYS_PATH)?;
        Ok(self.core.send::<SigningKeys>(call).await?.keys)
    }

    /// `POST /v1/projects/{ref}/config/auth/signing-keys`.
    pub async fn create_signing_key(
        &self,
        reference: &str,
        request: &CreateSigningKeyRequest,
    ) -> Result<SigningKey, ApiError> {
        if request.status.is_some_and(|s| !matches!(s, SigningKeyStatus::InUse | SigningKeyStatus::Standby)) {
            return Err(ApiError::invalid_input(Vendor::Supabase, "status", "must be in_use or standby"));
        }
        let call =
            project_call("v1-create-project-signing-key", Method::POST, reference, SIGNING_KEYS_PATH)?.json(request);
        self.core.send(call).await
    }

    /// `PATCH /v1/projects/{ref}/config/auth/signing-keys/{id}`: rotation is moving a standby key
    /// to `InUse` (the old one becomes previously used), then revoking the old one.
    pub async fn set_signing_key_status(
        &self,
        reference: &str,
        id: &str,
        status: SigningKeyStatus,
    ) -> Result<SigningKey, ApiError> {
        validate_uuid("id", id)?;
        let path = [SIGNING_KEYS_PATH, &[id]].concat();
        let call = project_call("v1-update-project-signing-key", Method::PATCH, reference, &path)?
            .json(&UpdateSigningKeyBody { status });
        self.core.send(call).await
    }

    /// `PATCH /v1/projects/{ref}/database/password`; returns Supabase's confirmation message.
    pub async fn reset_database_password(&self, reference: &str, password: &SecretString) -> Result<String, ApiError> {
        if password.expose_secret().chars().count() < 4 {
            return Err(ApiError::invalid_input(Vendor::Supabase, "password", "must be at least 4 characters"));
        }
        let call = project_call("v1-update-database-password", Method::PATCH, reference, &["database", "password"])?
            .json(&UpdatePasswordBody { password });
        Ok(self.core.send::<MessageResponse>(call).await?.message)
    }

    /// `POST /v1/projects/{ref}/database/query` (201): the result rows. The project must be
    /// `ACTIVE_HEALTHY`. Retried on 429 and 5xx like every call, so statements should be safe
    /// to run twice (`create … if not exists`, `drop policy if exists` before `create policy`).
    pub async fn run_query(&self, reference: &str, request: &QueryRequest) -> Result<Vec<Row>, ApiError> {
        if request.query.trim().is_empty() {
            return Err(ApiError::invalid_input(Vendor::Supabase, "query", "must not be empty"));
        }
        let call = project_call("v1-run-a-query", Method::POST, reference, &["database", "query"])?.json(request);
        self.core.send(call).await
    }

    /// `POST /v1/projects/{ref}/database/query/read-only` (201): the rows of a query run as
    /// `supabase_read_only_user`, in a transaction that cannot write (for catalog reads and lints).
    pub async fn run_read_only_query(&self, reference: &str, query: &str) -> Result<Vec<Row>, ApiError> {
        if query.trim().is_empty() {
            return Err(ApiError::invalid_input(Vendor::Supabase, "query", "must not be empty"));
        }
        let body = serde_json::json!({ "query": query });
        let call = project_call("v1-read-only-query", Method::POST, reference, &["database", "query", "read-only"])?
            .json(&body);
        self.core.send(call).await
    }

    /// `GET /v1/projects/{ref}/config/auth`.
    pub async fn auth_config(&self, reference: &str) -> Result<AuthConfig, ApiError> {
        let call = project_call("v1-get-auth-service-config", Method::GET, reference, &["config", "auth"])?;
        self.core.send(call).await
    }

    /// `PATCH /v1/projects/{ref}/config/auth`: only the fields set in `update` change.
    pub async fn update_auth_config(&self, reference: &str, update: &AuthConfigUpdate) -> Result<AuthConfig, ApiError> {
        validate_auth_update(update)?;
        let call =
            project_call("v1-update-auth-service-config", Method::PATCH, reference, &["config", "auth"])?.json(update);
        self.core.send(call).await
    }

    /// `GET /v1/projects/{ref}/database/backups`.
    pub async fn backups(&self, reference: &str) -> Result<Backups, ApiError> {
        let call = project_call("v1-list-all-backups", Method::GET, reference, &["database", "backups"])?;
        self.core.send(call).await
    }

    /// `POST /v1/projects/{ref}/database/backups/restore-pitr` (201): restores the database to
    /// `recovery_time_target_unix`. Refused (400) when the project has no PITR add-on.
    pub async fn restore_pitr(&self, reference: &str, recovery_time_target_unix: i64) -> Result<(), ApiError> {
        if recovery_time_target_unix < 0 {
            return Err(ApiError::invalid_input(Vendor::Supabase, "recovery_time_target_unix", "must be at least 0"));
        }
        let path = ["database", "backups", "restore-pitr"];
        let call = project_call("v1-restore-pitr-backup", Method::POST, reference, &path)?
            .json(&RestorePitrBody { recovery_time_target_unix });
        self.core.send(call).await
    }

    /// `GET /v1/projects/{ref}/database/backups/schedule` (402 on plans without it).
    pub async fn backup_schedule(&self, reference: &str) -> Result<BackupSchedule, ApiError> {
        let path = ["database", "backups", "schedule"];
        self.core.send(project_call("v1-get-backup-schedule", Method::GET, reference, &path)?).await
    }
}

/// Project refs are 20 lowercase letters.
pub fn validate_ref(reference: &str) -> Result<(), ApiError> {
    if reference.len() == 20 && reference.chars().all(|c| c.is_ascii_lowercase()) {
        Ok(())
    } else {
        Err(ApiError::invalid_input(Vendor::Supabase, "ref", "must be 20 lowercase letters"))
    }
}

pub fn valid_slug(slug: &str) -> bool {
    !slug.is_empty() && slug.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn validate_create(request: &CreateProjectRequest) -> Result<(), ApiError> {
    let invalid = |field, rule: &str| Err(ApiError::invalid_input(Vendor::Supabase, field, rule));
    if request.name.trim().is_empty() || request.name.chars().count() > 256 {
        return invalid("name", "must be 1 to 256 characters");
    }
    if !valid_slug(&request.organization_slug) {
        return invalid("organization_slug", "must match ^[\\w-]+$");
    }
    if request.db_pass.expose_secret().is_empty() {
        return invalid("db_pass", "is required");
    }
    match &request.region_selection {
        Some(RegionSelection::Specific(code)) if !REGIONS.contains(&code.as_str()) => {
            invalid("region_selection.code", "must be a supported region code")
        }
        Some(RegionSelection::SmartGroup(code)) if !SMART_GROUPS.contains(&code.as_str()) => {
            invalid("region_selection.code", "must be one of americas, emea, apac")
        }
        _ => Ok(()),
    }
}

const SIGNING_KEYS_PATH: &[&str] = &["config", "auth", "signing-keys"];

fn validate_uuid(field: &str, id: &str) -> Result<(), ApiError> {
    uuid::Uuid::parse_str(id)
        .map(|_| ())
        .map_err(|_| ApiError::invalid_input(Vendor::Supabase, field, "must be a UUID"))
}

fn validate_api_key(request: &CreateApiKeyRequest) -> Result<(), ApiError> {
    let invalid = |field, rule: &str| Err(ApiError::invalid_input(Vendor::Supabase, field, rule));
    if request.key_type == ApiKeyType::Legacy {
        return invalid("type", "must be publishable or secret (legacy keys cannot be created)");
    }
    let name = &request.name;
    if !(4..=64).contains(&name.chars().count()) {
        return invalid("name", "must be 4 to 64 characters");
    }
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_lowercase() || c == '_');
    if !first_ok || !chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') {
        return invalid("name", "must match ^[a-z_][a-z0-9_]+$");
    }
    Ok(())
}

fn validate_auth_update(update: &AuthConfigUpdate) -> Result<(), ApiError> {
    let invalid = |field, rule: &str| Err(ApiError::invalid_input(Vendor::Supabase, field, rule));
    if update.site_url.as_ref().is_some_and(|url| url.is_empty() || url.contains(',')) {
        return invalid("site_url", "must be a non-empty URL without commas");
    }
    if let Some(urls) = &update.uri_allow_list
        && urls.iter().any(|url| url.trim().is_empty() || url.contains(','))
    {
        return invalid("uri_allow_list", "must list non-empty URLs without commas (the API joins them with commas)");
    }
    if update.jwt_exp.is_some_and(|exp| exp > MAX_JWT_EXP) {
        return invalid("jwt_exp", "must be at most 604800 seconds");
    }
    Ok(())
}

/// The hex SHA-256 of a secret, as the auth config reports provider secrets.
fn sha256_hex(secret: &SecretString) -> String {
    crate::digest::sha256_hex(secret.expose_secret())
}

fn expose_optional<S: Serializer>(secret: &Option<SecretString>, serializer: S) -> Result<S::Ok, S::Error> {
    match secret {
        Some(secret) => serializer.serialize_str(secret.expose_secret()),
        None => serializer.serialize_none(),
    }
}

/// `uri_allow_list` travels as one comma-joined string.
fn join_urls<S: Serializer>(urls: &Option<Vec<String>>, serializer: S) -> Result<S::Ok, S::Error> {
    match urls {
        Some(urls) => serializer.serialize_str(&urls.join(",")),
        None => serializer.serialize_none(),
    }
}

/// A `GET` on one organization, counted in that organization's rate-limit scope.
fn organization_call(operation: &'static str, slug: &str, rest: &[&str]) -> Result<Call, ApiError> {
    if !valid_slug(slug) {
        return Err(ApiError::invalid_input(Vendor::Supabase, "slug", "must match ^[\\w-]+$"));
    }
    let mut path = vec!["v1", "organizations", slug];
    path.extend_from_slice(rest);
    Ok(Call::new(operation, Method::GET, &path).scope(format!("{operation}:{slug}")))
}

/// A call on one project, counted in that project's rate-limit scope.
fn project_call(operation: &'static str, method: Method, reference: &str, rest: &[&str]) -> Result<Call, ApiError> {
    validate_ref(reference)?;
    let mut path = vec!["v1", "projects", reference];
    path.extend_from_slice(rest);
    Ok(Call::new(operation, method, &path).scope(format!("{operation}:{reference}")))
}

/// Supabase's error body: `{"message": "..."}`. `X-RateLimit-Reset` counts seconds until the
/// window resets (not a timestamp).
fn parse_error(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> ApiError {
    #[derive(Deserialize)]
    struct Body {
        message: String,
    }
    let message = serde_json::from_slice::<Body>(body)
        .map(|b| b.message)
        .unwrap_or_else(|_| status.canonical_reason().unwrap_or("").to_string());
    let mut error =
        ApiError::new(Vendor::Supabase, ApiError::kind_for_status(status), Some(status.as_u16()), "", message);
    if error.is(ErrorKind::RateLimited) {
        error.retry_after = headers
            .get("x-ratelimit-reset")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
    }
    error
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::platform::retry::RetryPolicy;
    use slipway_sim::faults::Fault;
    use slipway_sim::supabase::{SupabaseSim, SupabaseSimConfig};

    const TOKEN: &str = "supabase-test-token";

    async fn setup(ready_after: Duration) -> (SupabaseSim, SupabaseClient) {
        let sim = SupabaseSim::start(SupabaseSimConfig { ready_after, ..SupabaseSimConfig::new(TOKEN) }).await.unwrap();
        let mut config = SupabaseConfig::new(sim.base_url(), SecretString::from(TOKEN));
        config.api.retry = RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(50),
            max_total: Duration::from_secs(10),
        };
        (sim, SupabaseClient::new(config).unwrap())
    }

    fn new_project(name: &str) -> CreateProjectRequest {
        CreateProjectRequest {
            name: name.into(),
            organization_slug: "sandbox-org".into(),
            db_pass: SecretString::from("a-strong-generated-password"),
            region_selection: Some(RegionSelection::Specific("eu-west-1".into())),
            desired_instance_size: None,
        }
    }

    async fn wait_until_healthy(client: &SupabaseClient, reference: &str) -> Project {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let project = client.get_project(reference).await.unwrap();
            if project.status == ProjectStatus::ActiveHealthy || project.status.is_terminal_failure() {
                return project;
            }
            assert!(Instant::now() < deadline, "project never settled: {:?}", project.status);
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    #[tokio::test]
    async fn a_project_comes_up_and_yields_keys_and_pooler_settings() {
        let (sim, client) = setup(Duration::from_millis(300)).await;
        let orgs = client.list_organizations().await.unwrap();
        assert_eq!(orgs[0].slug, "sandbox-org");

        let created = client.create_project(&new_project("acme-shop")).await.unwrap();
        assert_eq!(created.status, ProjectStatus::Unknown);
        assert_eq!(created.region, "eu-west-1");
        validate_ref(&created.reference).unwrap();
        let health = client.health(&created.reference, &["db", "auth"]).await.unwrap();
        assert!(health.iter().all(|s| s.status == "COMING_UP" && !s.healthy), "{health:?}");

        let ready = wait_until_healthy(&client, &created.reference).await;
        assert_eq!(ready.status, ProjectStatus::ActiveHealthy);
        assert_eq!(ready.database.unwrap().host, format!("db.{}.supabase.co", created.reference));
        let health = client.health(&created.reference, HEALTH_SERVICES).await.unwrap();
        assert_eq!(health.len(), HEALTH_SERVICES.len());
        assert!(health.iter().all(|s| s.status == "ACTIVE_HEALTHY" && s.healthy));

        let keys = client.api_keys(&created.reference).await.unwrap();
        let secret = keys.iter().find(|k| k.key_type == Some(ApiKeyType::Secret)).unwrap();
        assert!(secret.api_key.as_ref().unwrap().expose_secret().starts_with("sb_secret_"));
        assert!(!secret.api_key.as_ref().unwrap().expose_secret().contains('•'), "revealed in full");
        assert!(keys.iter().any(|k| k.name == "anon") && keys.iter().any(|k| k.name == "service_role"));
        let value = secret.api_key.as_ref().unwrap().expose_secret();
        assert!(!format!("{secret:?}").contains(value), "Debug never shows a key");

        let pooler = client.pooler_config(&created.reference).await.unwrap();
        assert_eq!(pooler[0].db_port, 6543);
        assert!(pooler[0].connection_string.contains("[YOUR-PASSWORD]"));
        assert_eq!(pooler[0].db_user, format!("postgres.{}", created.reference));

        assert_eq!(client.list_projects().await.unwrap().len(), 1);
        let deleted = client.delete_project(&created.reference).await.unwrap();
        assert_eq!(deleted.reference, created.reference);
        assert!(sim.projects().is_empty());
        let create = sim.requests().into_iter().find(|r| r.method == "POST").unwrap();
        assert_eq!(create.body.unwrap()["db_pass"], "a-strong-generated-password", "the password is sent as is");
    }

    #[tokio::test]
    async fn a_project_that_fails_to_initialise_reports_init_failed() {
        let (sim, client) = setup(Duration::from_millis(200)).await;
        sim.fail_next_project_init();
        let created = client.create_project(&new_project("doomed")).await.unwrap();
        let settled = wait_until_healthy(&client, &created.reference).await;
        assert_eq!(settled.status, ProjectStatus::InitFailed);
        let health = client.health(&created.reference, &["db"]).await.unwrap();
        assert_eq!(health[0].status, "UNHEALTHY");
    }

    #[tokio::test]
    async fn deleting_a_project_still_coming_up_is_refused_with_supabase_message() {
        let (_sim, client) = setup(Duration::from_secs(30)).await;
        let created = client.create_project(&new_project("young")).await.unwrap();
        let err = client.delete_project(&created.reference).await.unwrap_err();
        assert!(err.is(ErrorKind::BadRequest) && err.message == "Project not ready for deletion.", "{err}");
    }

    #[tokio::test]
    async fn rate_limits_are_waited_out_using_x_ratelimit_reset() {
        let (sim, client) = setup(Duration::from_millis(10)).await;
        sim.queue_faults([Fault::RateLimited { retry_after_secs: 1 }, Fault::ServerError(502)]);
        let started = Instant::now();
        client.list_organizations().await.unwrap();
        assert!(started.elapsed() >= Duration::from_secs(1));
        let statuses: Vec<u16> = sim.requests().iter().map(|r| r.status).collect();
        assert_eq!(statuses, [429, 502, 200]);
    }

    #[tokio::test]
    async fn the_simulator_enforces_the_documented_window_per_scope() {
        let sim = SupabaseSim::start(SupabaseSimConfig { rate_limit_per_minute: 2, ..SupabaseSimConfig::new(TOKEN) })
            .await
            .unwrap();
        let http = reqwest::Client::new();
        let get = || http.get(format!("{}/v1/organizations", sim.base_url())).bearer_auth(TOKEN).send();
        let first = get().await.unwrap();
        assert_eq!(first.headers()["x-ratelimit-limit"], "2");
        assert_eq!(first.headers()["x-ratelimit-remaining"], "1");
        get().await.unwrap();
        let third = get().await.unwrap();
        assert_eq!(third.status(), 429);
        let reset: u64 = third.headers()["x-ratelimit-reset"].to_str().unwrap().parse().unwrap();
        assert!((1..=60).contains(&reset));
    }

    #[tokio::test]
    async fn bad_tokens_and_bad_input_are_refused_without_retry() {
        let (sim, _) = setup(Duration::from_millis(10)).await;
        let client = SupabaseClient::new(SupabaseConfig::new(sim.base_url(), SecretString::from("wrong"))).unwrap();
        let err = client.list_projects().await.unwrap_err();
        assert!(err.is(ErrorKind::Unauthorized) && err.status == Some(401), "{err}");
        assert_eq!(sim.requests().len(), 1);

        let mut bad = new_project("x");
        bad.region_selection = Some(RegionSelection::Specific("mars-north-1".into()));
        let err = client.create_project(&bad).await.unwrap_err();
        assert!(err.is(ErrorKind::InvalidInput) && err.code == "region_selection.code", "{err}");
        let err = client.get_project("NotARef").await.unwrap_err();
        assert!(err.is(ErrorKind::InvalidInput) && err.code == "ref", "{err}");
        let err = client.health("abcdefghijklmnopqrst", &["dns"]).await.unwrap_err();
        assert!(err.is(ErrorKind::InvalidInput) && err.code == "services", "{err}");
        assert_eq!(sim.requests().len(), 1, "invalid input never leaves the client");
    }

    #[tokio::test]
    async fn the_simulator_rejects_bodies_the_schema_rejects() {
        let (sim, _) = setup(Duration::from_millis(10)).await;
        let http = reqwest::Client::new();
        let base = serde_json::json!({"name": "p", "organization_slug": "sandbox-org", "db_pass": "pw-pw-pw"});
        let with = |patch: serde_json::Value| {
            let mut body = base.clone();
            body.as_object_mut().unwrap().extend(patch.as_object().unwrap().clone());
            body
        };
        let mut missing = base.clone();
        missing.as_object_mut().unwrap().remove("db_pass");
        for (body, expect) in [
            (missing, "missing field `db_pass`"),
            (with(serde_json::json!({"surprise": true})), "unknown field `surprise`"),
            (
                with(
                    serde_json::json!({"region": "us-east-1", "region_selection": {"type": "specific", "code": "us-east-1"}}),
                ),
                "Only one of",
            ),
            (with(serde_json::json!({"region_selection": {"type": "smartGroup", "code": "mars"}})), "region_selection"),
            (with(serde_json::json!({"desired_instance_size": "huge"})), "desired_instance_size"),
        ] {
            let response = http
                .post(format!("{}/v1/projects", sim.base_url()))
                .bearer_auth(TOKEN)
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 400, "{body}");
            let answer: serde_json::Value = response.json().await.unwrap();
            assert!(answer["message"].as_str().unwrap().contains(expect), "{answer}");
        }
        assert!(sim.projects().is_empty());
    }

    const MISSING_REF: &str = "zzzzzzzzzzzzzzzzzzzz";

    #[tokio::test]
    async fn organization_projects_are_followed_across_pages() {
        let (sim, client) = setup(Duration::from_millis(40)).await;
        let org = client.get_organization("sandbox-org").await.unwrap();
        assert_eq!((org.id.as_str(), org.name.as_str()), ("sandbox-org", "Sandbox organization"));
        for name in ["delta", "alpha", "echo", "charlie", "bravo"] {
            client.create_project(&new_project(name)).await.unwrap();
        }
        let before = sim.requests().len();
        let query = OrganizationProjectsQuery { limit: Some(2), ..Default::default() };
        let all = client.organization_projects("sandbox-org", &query).await.unwrap();
        let names: Vec<&str> = all.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["alpha", "bravo", "charlie", "delta", "echo"], "name_asc by default");
        let pages: Vec<String> = sim.requests()[before..].iter().map(|r| r.query.clone()).collect();
        assert_eq!(pages, ["offset=0&limit=2", "offset=2&limit=2", "offset=4&limit=2"]);
        assert!(all.iter().all(|p| p.databases[0].database_type == "PRIMARY" && !p.is_branch));

        let newest_first = OrganizationProjectsQuery { sort: Some(ProjectSort::CreatedDesc), ..query.clone() };
        let names: Vec<String> = client
            .organization_projects("sandbox-org", &newest_first)
            .await
            .unwrap()
            .into_iter()
            .map(|p| p.name)
            .collect();
        assert_eq!(names, ["bravo", "charlie", "echo", "alpha", "delta"]);
        let search = OrganizationProjectsQuery { search: Some("ARL".into()), ..Default::default() };
        let page = client.organization_projects_page("sandbox-org", &search).await.unwrap();
        assert_eq!((page.projects.len(), page.pagination.count, page.pagination.limit), (1, 1, 100));
        assert_eq!(page.projects[0].name, "charlie");

        let healthy = OrganizationProjectsQuery { statuses: vec![ProjectStatus::ActiveHealthy], ..Default::default() };
        assert!(client.organization_projects("sandbox-org", &healthy).await.unwrap().is_empty(), "all coming up");
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert_eq!(client.organization_projects("sandbox-org", &healthy).await.unwrap().len(), 5);

        let err = client.get_organization("nobody").await.unwrap_err();
        assert!(err.is(ErrorKind::NotFound) && err.message == "Organization not found", "{err}");
        let err = client.organization_projects("nobody", &query).await.unwrap_err();
        assert!(err.is(ErrorKind::NotFound), "{err}");
        let sent = sim.requests().len();
        let bad_limit = OrganizationProjectsQuery { limit: Some(101), ..Default::default() };
        let err = client.organization_projects("sandbox-org", &bad_limit).await.unwrap_err();
        assert!(err.is(ErrorKind::InvalidInput) && err.code == "limit", "{err}");
        let bad_status = OrganizationProjectsQuery { statuses: vec![ProjectStatus::ComingUp], ..Default::default() };
        let err = client.organization_projects("sandbox-org", &bad_status).await.unwrap_err();
        assert!(err.is(ErrorKind::InvalidInput) && err.code == "statuses", "{err}");
        let err = client.get_organization("no/slashes").await.unwrap_err();
        assert!(err.is(ErrorKind::InvalidInput) && err.code == "slug", "{err}");
        assert_eq!(sim.requests().len(), sent, "invalid input never leaves the client");
    }

    #[tokio::test]
    async fn available_regions_offer_what_project_creation_accepts() {
        let (sim, client) = setup(Duration::from_millis(10)).await;
        let regions = client.available_regions("sandbox-org").await.unwrap();
        let codes: Vec<&str> = regions.all.specific.iter().map(|r| r.code.as_str()).collect();
        assert_eq!(codes.len(), REGIONS.len());
        assert!(REGIONS.iter().all(|code| codes.contains(code)));
        let groups: Vec<&str> = regions.all.smart_group.iter().map(|r| r.code.as_str()).collect();
        assert_eq!(groups, SMART_GROUPS);
        assert!(regions.all.specific.iter().all(|r| r.kind == "specific" && r.provider.as_deref() == Some("AWS")));
        let recommended = regions.recommendations.smart_group.selection();
        assert_eq!(recommended, RegionSelection::SmartGroup("americas".into()));
        let request = CreateProjectRequest { region_selection: Some(recommended), ..new_project("where-advised") };
        assert_eq!(client.create_project(&request).await.unwrap().region, "us-east-1");
        assert!(sim.requests()[0].query.contains("organization_slug=sandbox-org"));

        let err = client.available_regions("nobody").await.unwrap_err();
        assert!(err.is(ErrorKind::NotFound), "{err}");
        let sent = sim.requests().len();
        let err = client.available_regions("").await.unwrap_err();
        assert!(err.is(ErrorKind::InvalidInput) && err.code == "organization_slug", "{err}");
        assert_eq!(sim.requests().len(), sent);
    }

    fn new_key(name: &str) -> CreateApiKeyRequest {
        CreateApiKeyRequest {
            key_type: ApiKeyType::Secret,
            name: name.into(),
            description: Some("CI deploy key".into()),
            secret_jwt_template: None,
        }
    }

    #[tokio::test]
    async fn api_keys_are_created_in_full_and_deleted_as_compromised() {
        let (sim, client) = setup(Duration::from_millis(10)).await;
        let reference = client.create_project(&new_project("keyed")).await.unwrap().reference;
        let created = client.create_api_key(&reference, &new_key("ci_deploy")).await.unwrap();
        let value = created.api_key.as_ref().unwrap().expose_secret().to_string();
        assert!(value.starts_with("sb_secret_") && !value.contains('•'), "revealed in full");
        assert!(!format!("{created:?}").contains(&value), "Debug never shows a key");
        assert_eq!(created.key_type, Some(ApiKeyType::Secret));
        assert_eq!(created.description.as_deref(), Some("CI deploy key"));
        assert_eq!(created.secret_jwt_template.as_ref().unwrap()["role"], "service_role");
        let id = created.id.clone().unwrap();
        let listed = client.api_keys(&reference).await.unwrap();
        assert!(listed.iter().any(|k| k.id.as_deref() == Some(id.as_str())));

        let options = DeleteApiKeyOptions { was_compromised: true, reason: Some("leaked_in_ci".into()) };
        let deleted = client.delete_api_key(&reference, &id, &options).await.unwrap();
        assert_eq!(deleted.name, "ci_deploy");
        let delete = sim.requests().into_iter().find(|r| r.method == "DELETE").unwrap();
        assert_eq!(delete.query, "was_compromised=true&reason=leaked_in_ci");
        assert!(!client.api_keys(&reference).await.unwrap().iter().any(|k| k.id.as_deref() == Some(id.as_str())));
        let err = client.delete_api_key(&reference, &id, &options).await.unwrap_err();
        assert!(err.is(ErrorKind::NotFound), "{err}");
        let err = client.create_api_key(MISSING_REF, &new_key("ci_deploy")).await.unwrap_err();
        assert!(err.is(ErrorKind::NotFound), "{err}");

        let sent = sim.requests().len();
        for (request, field) in [
            (new_key("abc"), "name"),
            (new_key(&"k".repeat(65)), "name"),
            (new_key("CI-Deploy"), "name"),
            (new_key("9lives"), "name"),
            (CreateApiKeyRequest { key_type: ApiKeyType::Legacy, ..new_key("legacy_one") }, "type"),
        ] {
            let err = client.create_api_key(&reference, &request).await.unwrap_err();
            assert!(err.is(ErrorKind::InvalidInput) && err.code == field, "{}: {err}", request.name);
        }
        let err = client.delete_api_key(&reference, "anon", &DeleteApiKeyOptions::default()).await.unwrap_err();
        assert!(err.is(ErrorKind::InvalidInput) && err.code == "id", "{err}");
        assert_eq!(sim.requests().len(), sent, "invalid input never leaves the client");
    }

    #[tokio::test]
    async fn legacy_keys_switched_off_leave_the_key_list() {
        let (_sim, client) = setup(Duration::from_millis(10)).await;
        let reference = client.create_project(&new_project("modern")).await.unwrap().reference;
        assert!(client.legacy_api_keys_enabled(&reference).await.unwrap());
        assert!(!client.set_legacy_api_keys(&reference, false).await.unwrap());
        assert!(!client.legacy_api_keys_enabled(&reference).await.unwrap());
        let names: Vec<String> = client.api_keys(&reference).await.unwrap().into_iter().map(|k| k.name).collect();
        assert!(!names.contains(&"anon".to_string()) && !names.contains(&"service_role".to_string()), "{names:?}");
        assert_eq!(names.len(), 2, "the publishable and secret keys stay");
        assert!(client.set_legacy_api_keys(&reference, true).await.unwrap());
        assert_eq!(client.api_keys(&reference).await.unwrap().len(), 4);
        let err = client.legacy_api_keys_enabled(MISSING_REF).await.unwrap_err();
        assert!(err.is(ErrorKind::NotFound), "{err}");
    }

    #[tokio::test]
    async fn signing_keys_rotate_with_one_key_in_use() {
        let (sim, client) = setup(Duration::from_millis(10)).await;
        let reference = client.create_project(&new_project("signed")).await.unwrap().reference;
        assert!(client.signing_keys(&reference).await.unwrap().is_empty());
        let es256 = CreateSigningKeyRequest { algorithm: SigningKeyAlgorithm::ES256, status: None };
        let first = client.create_signing_key(&reference, &es256).await.unwrap();
        assert_eq!(first.status, SigningKeyStatus::Standby, "standby by default");
        assert_eq!(first.public_jwk.as_ref().unwrap()["kid"], first.id.as_str());
        assert!(first.public_jwk.as_ref().unwrap().get("d").is_none(), "never the private part");
        let listed = client.signing_keys(&reference).await.unwrap();
        assert_eq!(listed[0].public_jwk, first.public_jwk, "a key's public half does not change");
        let in_use = client.set_signing_key_status(&reference, &first.id, SigningKeyStatus::InUse).await.unwrap();
        assert_eq!(in_use.status, SigningKeyStatus::InUse);

        let hs256 = CreateSigningKeyRequest { algorithm: SigningKeyAlgorithm::HS256, status: None };
        let second = client.create_signing_key(&reference, &hs256).await.unwrap();
        assert_eq!(second.public_jwk, None, "a symmetric key has no public half");
        client.set_signing_key_status(&reference, &second.id, SigningKeyStatus::InUse).await.unwrap();
        let status_of = |keys: &[SigningKey], id: &str| keys.iter().find(|k| k.id == id).unwrap().status;
        let keys = client.signing_keys(&reference).await.unwrap();
        assert_eq!(status_of(&keys, &first.id), SigningKeyStatus::PreviouslyUsed);
        assert_eq!(status_of(&keys, &second.id), SigningKeyStatus::InUse);
        assert_eq!(keys.iter().filter(|k| k.status == SigningKeyStatus::InUse).count(), 1);

        let err = client.set_signing_key_status(&reference, &second.id, SigningKeyStatus::Revoked).await.unwrap_err();
        assert!(err.is(ErrorKind::BadRequest) && err.message.contains("in_use"), "{err}");
        client.set_signing_key_status(&reference, &first.id, SigningKeyStatus::Revoked).await.unwrap();
        let err = client.set_signing_key_status(&reference, &first.id, SigningKeyStatus::InUse).await.unwrap_err();
        assert!(err.is(ErrorKind::BadRequest) && err.message.contains("revoked"), "{err}");
        let created_in_use = CreateSigningKeyRequest { status: Some(SigningKeyStatus::InUse), ..es256 };
        let third = client.create_signing_key(&reference, &created_in_use).await.unwrap();
        assert_eq!(third.status, SigningKeyStatus::InUse);
        let keys = client.signing_keys(&reference).await.unwrap();
        assert_eq!(status_of(&keys, &second.id), SigningKeyStatus::PreviouslyUsed);

        let unknown = uuid::Uuid::new_v4().to_string();
        let err = client.set_signing_key_status(&reference, &unknown, SigningKeyStatus::Standby).await.unwrap_err();
        assert!(err.is(ErrorKind::NotFound), "{err}");
        let sent = sim.requests().len();
        let err = client.set_signing_key_status(&reference, "not-a-uuid", SigningKeyStatus::InUse).await.unwrap_err();
        assert!(err.is(ErrorKind::InvalidInput) && err.code == "id", "{err}");
        let revoked = CreateSigningKeyRequest { status: Some(SigningKeyStatus::Revoked), ..es256 };
        let err = client.create_signing_key(&reference, &revoked).await.unwrap_err();
        assert!(err.is(ErrorKind::InvalidInput) && err.code == "status", "{err}");
        assert_eq!(sim.requests().len(), sent);
    }

    #[tokio::test]
    async fn the_database_password_is_reset_without_showing_it() {
        let (sim, client) = setup(Duration::from_millis(10)).await;
        let reference = client.create_project(&new_project("rotated")).await.unwrap().reference;
        let password = SecretString::from("a-new-generated-password");
        let message = client.reset_database_password(&reference, &password).await.unwrap();
        assert!(!message.is_empty() && !message.contains("a-new-generated-password"));
        let reset = sim.requests().into_iter().find(|r| r.method == "PATCH").unwrap();
        assert_eq!(reset.body.unwrap()["password"], "a-new-generated-password", "sent in the body");
        assert!(!reset.query.contains("a-new") && !reset.path.contains("a-new"), "never in the URL");
        let body = UpdatePasswordBody { password: &password };
        assert!(!format!("{body:?}").contains("a-new-generated-password"), "Debug never shows it");

        let err = client.reset_database_password(MISSING_REF, &password).await.unwrap_err();
        assert!(err.is(ErrorKind::NotFound), "{err}");
        let sent = sim.requests().len();
        let err = client.reset_database_password(&reference, &SecretString::from("abc")).await.unwrap_err();
        assert!(err.is(ErrorKind::InvalidInput) && err.code == "password", "{err}");
        assert!(!err.to_string().contains("abc"), "the refusal does not quote the password");
        assert_eq!(sim.requests().len(), sent);
    }

    #[tokio::test]
    async fn a_lint_the_database_refuses_is_unproven_with_the_reason_and_one_without_sql_is_too() {
        let (_sim, client) = setup(Duration::from_millis(300)).await;
        let created = client.create_project(&new_project("lint")).await.unwrap();
        // Not up yet: the query endpoint answers 400, which is a reason, not a failed apply.
        let early = crate::rls::lint_project(&client, &created.reference).await.unwrap();
        assert!(!early.proven && early.findings.is_empty(), "{early:?}");
        assert!(early.reason.as_deref().unwrap().contains("refused the lint's SQL: Project is not ready"), "{early:?}");
        wait_until_healthy(&client, &created.reference).await;
        // Up, but this simulator runs no SQL: no preflight row, so nothing is claimed.
        let recorded = crate::rls::lint_project(&client, &created.reference).await.unwrap();
        assert!(
            !recorded.proven && recorded.reason.as_deref().unwrap().contains("could not be proven"),
            "{recorded:?}"
        );
    }

    #[tokio::test]
    async fn queries_are_recorded_not_run_and_wait_for_a_healthy_project() {
        let (sim, client) = setup(Duration::from_millis(200)).await;
        let created = client.create_project(&new_project("sql")).await.unwrap();
        let policy = "create policy \"own rows\" on todos for select using (auth.uid() = user_id);";
        let err = client.run_query(&created.reference, &QueryRequest::new(policy)).await.unwrap_err();
        assert!(err.is(ErrorKind::BadRequest) && err.message.contains("not ready"), "{err}");
        assert!(sim.queries(&created.reference).is_empty(), "refused queries are not recorded");

        wait_until_healthy(&client, &created.reference).await;
        let probe = client.run_query(&created.reference, &QueryRequest::new("SELECT 1")).await.unwrap();
        assert_eq!(probe.len(), 1);
        assert_eq!(probe[0]["?column?"], 1);
        let read_only = |query: &str| QueryRequest {
            read_only: Some(true),
            parameters: vec![serde_json::json!(7)],
            ..QueryRequest::new(query)
        };
        let select = "select $1::int as n";
        assert!(client.run_query(&created.reference, &read_only(select)).await.unwrap().is_empty());
        let sent_body = sim.requests().last().unwrap().body.clone().unwrap();
        assert_eq!(sent_body, serde_json::json!({"query": select, "parameters": [7], "read_only": true}));
        let err = client.run_query(&created.reference, &read_only(policy)).await.unwrap_err();
        assert!(err.message.contains("cannot execute CREATE in a read-only transaction"), "{err}");
        let err = client.run_read_only_query(&created.reference, policy).await.unwrap_err();
        assert!(err.message.contains("cannot execute CREATE in a read-only transaction"), "{err}");
        let commented = "-- the preflight\nselect 1 as one";
        assert!(client.run_read_only_query(&created.reference, commented).await.unwrap().is_empty());
        assert_eq!(sim.queries(&created.reference), ["SELECT 1", select, commented]);
        assert!(client.run_query(&created.reference, &QueryRequest::new(policy)).await.unwrap().is_empty());

        let err = client.run_query(MISSING_REF, &QueryRequest::new("select 1")).await.unwrap_err();
        assert!(err.is(ErrorKind::NotFound), "{err}");
        let sent = sim.requests().len();
        let err = client.run_query(&created.reference, &QueryRequest::new("  ")).await.unwrap_err();
        assert!(err.is(ErrorKind::InvalidInput) && err.code == "query", "{err}");
        assert_eq!(sim.requests().len(), sent);
    }

    #[tokio::test]
    async fn auth_config_takes_redirect_urls_and_reports_secrets_as_digests() {
        let (sim, client) = setup(Duration::from_millis(10)).await;
        let reference = client.create_project(&new_project("authed")).await.unwrap().reference;
        let initial = client.auth_config(&reference).await.unwrap();
        assert_eq!(initial.jwt_exp, Some(3600));
        assert_eq!(initial.external_email_enabled, Some(true));
        assert!(initial.external_google_secret.is_none() && initial.redirect_urls().is_empty());

        let google_secret = SecretString::from("GOCSPX-google-client-secret");
        let update = AuthConfigUpdate {
            site_url: Some("https://shop.example.com".into()),
            uri_allow_list: Some(vec!["https://shop.example.com/**".into(), "https://*.vercel.app/**".into()]),
            disable_signup: Some(false),
            jwt_exp: Some(7200),
            external_google_enabled: Some(true),
            external_google_client_id: Some("1234.apps.googleusercontent.com".into()),
            external_google_secret: Some(google_secret.clone()),
            external_azure_enabled: Some(true),
            external_azure_client_id: Some("azure-app-id".into()),
            external_azure_secret: Some(SecretString::from("azure-client-secret")),
            external_azure_url: Some("https://login.microsoftonline.com/tenant-id".into()),
            ..AuthConfigUpdate::default()
        };
        assert!(!format!("{update:?}").contains("GOCSPX"), "Debug never shows a secret");
        let updated = client.update_auth_config(&reference, &update).await.unwrap();
        let sent = sim.requests().last().unwrap().body.clone().unwrap();
        assert_eq!(sent["uri_allow_list"], "https://shop.example.com/**,https://*.vercel.app/**");
        assert_eq!(sent["external_google_secret"], "GOCSPX-google-client-secret");
        assert!(sent.get("external_github_secret").is_none(), "unset secrets are not sent");
        assert_eq!(sent.as_object().unwrap().len(), 11);

        assert_eq!(updated.redirect_urls(), update.uri_allow_list.clone().unwrap());
        assert_eq!(updated.site_url.as_deref(), Some("https://shop.example.com"));
        assert_eq!((updated.jwt_exp, updated.external_google_enabled), (Some(7200), Some(true)));
        assert_eq!(updated.external_azure_url, update.external_azure_url);
        let digest = updated.external_google_secret.as_ref().unwrap().expose_secret();
        assert_ne!(digest, "GOCSPX-google-client-secret", "not returned in clear");
        assert!(AuthConfig::secret_matches(&updated.external_google_secret, &google_secret));
        assert!(!AuthConfig::secret_matches(&updated.external_google_secret, &SecretString::from("other")));
        assert!(!format!("{updated:?}").contains(digest), "Debug hides even the digest");
        let again = client.auth_config(&reference).await.unwrap();
        assert_eq!(again.external_email_enabled, Some(true), "fields not sent keep their values");
        assert_eq!(again.external_azure_client_id.as_deref(), Some("azure-app-id"));

        let err = client.auth_config(MISSING_REF).await.unwrap_err();
        assert!(err.is(ErrorKind::NotFound), "{err}");
        let sent = sim.requests().len();
        for (bad, field) in [
            (
                AuthConfigUpdate {
                    uri_allow_list: Some(vec!["https://a.com,https://b.com".into()]),
                    ..Default::default()
                },
                "uri_allow_list",
            ),
            (
                AuthConfigUpdate { site_url: Some("https://a.com,https://b.com".into()), ..Default::default() },
                "site_url",
            ),
            (AuthConfigUpdate { jwt_exp: Some(MAX_JWT_EXP + 1), ..Default::default() }, "jwt_exp"),
        ] {
            let err = client.update_auth_config(&reference, &bad).await.unwrap_err();
            assert!(err.is(ErrorKind::InvalidInput) && err.code == field, "{err}");
        }
        assert_eq!(sim.requests().len(), sent, "invalid input never leaves the client");
    }

    #[tokio::test]
    async fn point_in_time_recovery_needs_the_add_on() {
        let (_sim, client) = setup(Duration::from_millis(10)).await;
        let reference = client.create_project(&new_project("no-pitr")).await.unwrap().reference;
        let backups = client.backups(&reference).await.unwrap();
        assert!(!backups.pitr_enabled && backups.walg_enabled && backups.backups.is_empty());
        assert_eq!(backups.physical_backup_data, PhysicalBackupData::default());
        assert_eq!(backups.region, "eu-west-1");
        let err = client.restore_pitr(&reference, crate::time::now_ms() / 1000).await.unwrap_err();
        assert!(err.is(ErrorKind::BadRequest) && err.message == "PITR is not enabled for this project.", "{err}");
        assert_eq!(client.backup_schedule(&reference).await.unwrap().schedule_for, "04:00:00");
        let err = client.backups(MISSING_REF).await.unwrap_err();
        assert!(err.is(ErrorKind::NotFound), "{err}");

        let sim = SupabaseSim::start(SupabaseSimConfig { pitr_enabled: true, ..SupabaseSimConfig::new(TOKEN) })
            .await
            .unwrap();
        let mut config = SupabaseConfig::new(sim.base_url(), SecretString::from(TOKEN));
        config.api.retry.max_attempts = 1;
        let client = SupabaseClient::new(config).unwrap();
        let reference = client.create_project(&new_project("with-pitr")).await.unwrap().reference;
        let backups = client.backups(&reference).await.unwrap();
        assert!(backups.pitr_enabled);
        let latest = backups.physical_backup_data.latest_physical_backup_date_unix.unwrap();
        let earliest = backups.physical_backup_data.earliest_physical_backup_date_unix.unwrap();
        client.restore_pitr(&reference, latest).await.unwrap();
        assert_eq!(sim.pitr_restores(&reference), [latest]);
        let err = client.restore_pitr(&reference, earliest - 3600).await.unwrap_err();
        assert!(err.is(ErrorKind::BadRequest) && err.message.contains("recovery window"), "{err}");
        let sent = sim.requests().len();
        let err = client.restore_pitr(&reference, -1).await.unwrap_err();
        assert!(err.is(ErrorKind::InvalidInput) && err.code == "recovery_time_target_unix", "{err}");
        assert_eq!(sim.requests().len(), sent);
    }

    fn recorded(file: &str) -> serde_json::Value {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/api-contracts/supabase-recorded-fixtures")
            .join(file);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        serde_json::from_str(&text).unwrap()
    }

    #[test]
    fn recorded_real_responses_parse_into_the_client_types() {
        let project: Project = serde_json::from_value(
            recorded("recorded__GET_v1_projects___PROJECT_REF____default.response.json")["body"].clone(),
        )
        .unwrap();
        assert_eq!((project.status, project.region.as_str()), (ProjectStatus::ActiveHealthy, "us-east-1"));
        assert_eq!(project.database.as_ref().unwrap().host, "db.__PROJECT_REF__.supabase.red");
        // Round trip keeps every field the product reads.
        let again: Project = serde_json::from_value(serde_json::to_value(&project).unwrap()).unwrap();
        assert_eq!(again, project);

        let keys: Vec<ApiKey> = serde_json::from_value(
            recorded("recorded__GET_v1_projects___PROJECT_REF___api_keys__default.response.json")["body"].clone(),
        )
        .unwrap();
        let kinds: Vec<_> = keys.iter().map(|k| (k.name.as_str(), k.key_type)).collect();
        assert!(kinds.contains(&("anon", Some(ApiKeyType::Legacy))));
        assert!(kinds.contains(&("service_role", Some(ApiKeyType::Legacy))));
        assert!(kinds.contains(&("default", Some(ApiKeyType::Secret))));
        assert!(keys.iter().all(|k| k.api_key.is_some()));

        let pooler: Vec<PoolerConfig> = serde_json::from_value(
            recorded("recorded__GET_v1_projects___PROJECT_REF___config_database_pooler__default.response.json")["body"]
                .clone(),
        )
        .unwrap();
        assert_eq!((pooler[0].db_port, pooler[0].pool_mode.as_str()), (6543, "transaction"));
        assert!(pooler[0].connection_string.contains("[YOUR-PASSWORD]"));
        let again: Vec<PoolerConfig> = serde_json::from_value(serde_json::to_value(&pooler).unwrap()).unwrap();
        assert_eq!(again, pooler);

        let not_ready = recorded("recorded__DELETE_v1_projects___PROJECT_REF____2.response.json");
        let err = parse_error(StatusCode::BAD_REQUEST, &HeaderMap::new(), not_ready["body"].to_string().as_bytes());
        assert!(err.is(ErrorKind::BadRequest) && err.message == "Project not ready for deletion.");

        // The recorded create → get sequence: UNKNOWN, then COMING_UP.
        let interactions =
            recorded("scenarios__projects-create-creates-project-with-required-flags__interactions.json");
        let statuses: Vec<ProjectStatus> = interactions
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["response"]["body"]["status"].is_string())
            .map(|i| serde_json::from_value::<Project>(i["response"]["body"].clone()).unwrap().status)
            .collect();
        assert_eq!(statuses.first(), Some(&ProjectStatus::Unknown));
    }

    #[test]
    fn recorded_auth_backup_and_query_traffic_parses_into_the_client_types() {
        for file in [
            "recorded__GET_v1_projects___PROJECT_REF___config_auth__default.response.json",
            "recorded__PATCH_v1_projects___PROJECT_REF___config_auth__default.response.json",
        ] {
            let config: AuthConfig = serde_json::from_value(recorded(file)["body"].clone()).unwrap();
            assert_eq!(config.redirect_urls().len(), 1, "{file}");
            assert!(config.redirect_urls()[0].ends_with("/callback"), "{file}");
            assert_eq!((config.jwt_exp, config.disable_signup), (Some(3600), Some(false)), "{file}");
            assert_eq!(config.external_email_enabled, Some(true), "{file}");
            assert_eq!(config.external_google_enabled, Some(false), "{file}");
            assert!(config.external_google_secret.is_none() && config.external_azure_url.is_none(), "{file}");
            // Round trip keeps every field the product reads.
            let value = serde_json::to_value(&config).unwrap();
            let again: AuthConfig = serde_json::from_value(value.clone()).unwrap();
            assert_eq!(serde_json::to_value(&again).unwrap(), value);
        }
        // The recorded PATCH, rebuilt from the typed update, sends the same values.
        let recorded_patch = recorded("recorded__PATCH_v1_projects___PROJECT_REF___config_auth__default.request.json");
        let update = AuthConfigUpdate {
            site_url: Some("https://example.com".into()),
            uri_allow_list: Some(vec!["https://example.com/callback".into()]),
            disable_signup: Some(false),
            external_email_enabled: Some(true),
            jwt_exp: Some(3600),
            ..AuthConfigUpdate::default()
        };
        let ours = serde_json::to_value(&update).unwrap();
        for (field, value) in ours.as_object().unwrap() {
            assert_eq!(&recorded_patch["body"][field], value, "{field}");
        }

        let backups: Backups = serde_json::from_value(
            recorded("recorded__GET_v1_projects___PROJECT_REF___database_backups__default.response.json")["body"]
                .clone(),
        )
        .unwrap();
        assert_eq!((backups.region.as_str(), backups.pitr_enabled, backups.walg_enabled), ("us-east-1", false, true));
        assert_eq!(backups.physical_backup_data, PhysicalBackupData::default());
        let again: Backups = serde_json::from_value(serde_json::to_value(&backups).unwrap()).unwrap();
        assert_eq!(again, backups);

        let no_pitr =
            recorded("recorded__POST_v1_projects___PROJECT_REF___database_backups_restore_pitr__default.response.json");
        assert_eq!(no_pitr["status"], 400);
        let err = parse_error(StatusCode::BAD_REQUEST, &HeaderMap::new(), no_pitr["body"].to_string().as_bytes());
        assert!(err.is(ErrorKind::BadRequest) && err.message == "PITR is not enabled for this project.");

        let query = recorded("scenarios__db-query-linked-returns-json-with-output-json__interactions.json");
        let exchange = &query[0];
        assert_eq!(exchange["request"]["path"], "/v1/projects/__PROJECT_REF__/database/query");
        assert_eq!(serde_json::to_value(QueryRequest::new("SELECT 1")).unwrap(), exchange["request"]["body"]);
        assert_eq!(exchange["response"]["status"], 201);
        let rows: Vec<Row> = serde_json::from_value(exchange["response"]["body"].clone()).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0]["?column?"], 1);
    }
}
