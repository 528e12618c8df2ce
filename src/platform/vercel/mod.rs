//! Vercel REST API client (https://vercel.com/docs/rest-api): the operations Slipway uses, at
//! the exact path versions of the official contract. Domains, DNS and certificates are in
//! [`domains`].

mod domains;

pub use domains::*;

use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde::{Deserialize, Serialize};
use std::time::Duration;

use super::api::{ApiCore, ApiError, ApiSettings, Auth, Call, ErrorKind, Vendor};
use super::ratelimit::Budget;

pub const DEFAULT_BASE_URL: &str = "https://api.vercel.com";

/// Vercel limits each endpoint separately and answers 429 with `limit.reset` when a limit is
/// hit (which the retry honours); 120 per minute per endpoint keeps bulk work well below the
/// limits users report hitting.
pub const DEFAULT_BUDGET: Budget = Budget::per_minute(120);

pub type VercelError = ApiError;

#[derive(Clone)]
pub struct VercelConfig {
    pub api: ApiSettings,
    /// Team scope (`teamId` query parameter); `None` uses the token owner's personal account.
    pub team_id: Option<String>,
}

impl VercelConfig {
    pub fn new(base_url: impl Into<String>, token: secrecy::SecretString) -> Self {
        VercelConfig { api: ApiSettings::new(base_url, Auth::Bearer(token), DEFAULT_BUDGET), team_id: None }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GitProvider {
    Github,
    GithubLimited,
    Gitlab,
    Bitbucket,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GitRepository {
    #[serde(rename = "type")]
    pub provider: GitProvider,
    /// `owner/name`.
    pub repo: String,
}

/// Body of `POST /v11/projects`.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateProjectRequest {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub framework: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build_command: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub install_command: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dev_command: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_directory: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub root_directory: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub git_repository: Option<GitRepository>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preview_deployments_disabled: Option<bool>,
}

/// The project fields Slipway reads; unknown fields are ignored, the required ones enforced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Project {
    pub id: String,
    pub name: String,
    pub account_id: String,
    pub node_version: String,
    #[serde(default)]
    pub framework: Option<String>,
    #[serde(default)]
    pub build_command: Option<String>,
    #[serde(default)]
    pub install_command: Option<String>,
    #[serde(default)]
    pub dev_command: Option<String>,
    #[serde(default)]
    pub output_directory: Option<String>,
    #[serde(default)]
    pub root_directory: Option<String>,
    #[serde(default)]
    pub preview_deployments_disabled: Option<bool>,
    #[serde(default)]
    pub link: Option<ProjectLink>,
}

/// Body of `PATCH /v9/projects/{idOrName}`: only the settings that change. `Some(None)`
/// clears a setting (sent as `null`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateProjectRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub framework: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build_command: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub install_command: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dev_command: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_directory: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub root_directory: Option<Option<String>>,
    /// `22.x`, `20.x`, …
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preview_deployments_disabled: Option<bool>,
}

/// Vercel's list cursor: `next` is a millisecond timestamp passed back as `until`.
#[derive(Debug, Clone, Deserialize)]
struct Pagination {
    #[serde(default)]
    next: Option<i64>,
}

/// One page of a Vercel list: its items and the cursor to the next page.
trait Paged: serde::de::DeserializeOwned {
    type Item;
    fn split(self) -> (Vec<Self::Item>, Option<i64>);
}

impl Paged for TeamPage {
    type Item = Team;
    fn split(self) -> (Vec<Team>, Option<i64>) {
        (self.teams, self.pagination.next)
    }
}

impl Paged for ProjectPage {
    type Item = Project;
    fn split(self) -> (Vec<Project>, Option<i64>) {
        (self.projects, self.pagination.next)
    }
}

/// The token's owner (`GET /v2/user`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct User {
    pub id: String,
    pub username: String,
    #[serde(default)]
    pub email: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Team {
    pub id: String,
    pub slug: String,
    pub name: Option<String>,
}

#[derive(Deserialize)]
struct UserEnvelope {
    user: User,
}

#[derive(Deserialize)]
struct TeamPage {
    teams: Vec<Team>,
    pagination: Pagination,
}

/// Which deployments to list.
#[derive(Debug, Clone, Default)]
pub struct DeploymentFilter {
    pub project_id: Option<String>,
    /// `production` or `preview`.
    pub target: Option<String>,
    pub state: Option<ReadyState>,
    /// Stop after this many (newest first); `None` lists every page.
    pub limit: Option<usize>,
}

/// A deployment as lists show it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentSummary {
    pub uid: String,
    pub url: String,
    pub project_id: String,
    #[serde(default)]
    pub ready_state: Option<ReadyState>,
    #[serde(default)]
    pub target: Option<String>,
    pub created: i64,
}

#[derive(Deserialize)]
struct DeploymentPage {
    deployments: Vec<DeploymentSummary>,
    pagination: Pagination,
}

#[derive(Deserialize)]
struct ProjectPage {
    projects: Vec<Project>,
    pagination: Pagination,
}

#[derive(Deserialize)]
struct BatchDeleted {
    deleted: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProjectLink {
    #[serde(rename = "type")]
    pub provider: Option<String>,
    #[serde(default)]
    pub org: Option<String>,
    #[serde(default)]
    pub repo: Option<String>,
    #[serde(default)]
    pub production_branch: Option<String>,
}

/// Where a variable applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EnvTarget {
    Production,
    Preview,
    Development,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EnvVarType {
    System,
    Secret,
    Encrypted,
    Plain,
    /// Write-only: Vercel never returns the value again.
    Sensitive,
}

fn expose_value<S: serde::Serializer>(value: &secrecy::SecretString, serializer: S) -> Result<S::Ok, S::Error> {
    use secrecy::ExposeSecret;
    serializer.serialize_str(value.expose_secret())
}

/// One variable to create or upsert. `Debug` never shows the value.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EnvVarInput {
    pub key: String,
    #[serde(serialize_with = "expose_value")]
    pub value: secrecy::SecretString,
    #[serde(rename = "type")]
    pub var_type: EnvVarType,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub target: Vec<EnvTarget>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub git_branch: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Custom environments (e.g. `staging`) by id, `env_…`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub custom_environment_ids: Vec<String>,
}

/// A variable as Vercel reports it. `value` is empty for sensitive (write-only) variables.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnvVar {
    #[serde(default)]
    pub id: Option<String>,
    pub key: String,
    #[serde(rename = "type")]
    pub var_type: EnvVarType,
    #[serde(default, deserialize_with = "one_or_many")]
    pub target: Vec<EnvTarget>,
    #[serde(default)]
    pub git_branch: Option<String>,
    #[serde(default)]
    pub custom_environment_ids: Vec<String>,
    #[serde(default)]
    pub comment: Option<String>,
    #[serde(default)]
    pub value: Option<secrecy::SecretString>,
    /// Epoch ms of the last change, by anyone: how a change to a write-only value shows.
    #[serde(default)]
    pub updated_at: Option<i64>,
}

/// `target` is an array or a single string, depending on the endpoint.
fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<EnvTarget>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(EnvTarget),
        Many(Vec<EnvTarget>),
    }
    Ok(match Option::<OneOrMany>::deserialize(d)? {
        None => Vec::new(),
        Some(OneOrMany::One(t)) => vec![t],
        Some(OneOrMany::Many(ts)) => ts,
    })
}

/// A variable Vercel refused inside an otherwise successful (201) batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvVarFailure {
    pub key: String,
    pub code: String,
    pub message: String,
}

/// The outcome of a batch create: Vercel answers 201 even when some variables failed.
#[derive(Debug, Clone)]
pub struct EnvBatchOutcome {
    pub created: Vec<EnvVar>,
    pub failed: Vec<EnvVarFailure>,
}

/// Changes to one variable (`PATCH`); unset fields stay as they are.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EnvVarPatch {
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "expose_optional")]
    pub value: Option<secrecy::SecretString>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<Vec<EnvTarget>>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub var_type: Option<EnvVarType>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

fn expose_optional<S: serde::Serializer>(
    value: &Option<secrecy::SecretString>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match value {
        Some(value) => expose_value(value, serializer),
        None => serializer.serialize_none(),
    }
}

#[derive(Deserialize)]
struct CreatedEnvs {
    #[serde(deserialize_with = "one_or_many_env")]
    created: Vec<EnvVar>,
    #[serde(default)]
    failed: Vec<FailedEnv>,
}

fn one_or_many_env<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<EnvVar>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        Many(Vec<EnvVar>),
        One(Box<EnvVar>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(env) => vec![*env],
        OneOrMany::Many(envs) => envs,
    })
}

#[derive(Deserialize)]
struct FailedEnv {
    error: FailedEnvError,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FailedEnvError {
    code: String,
    message: String,
    #[serde(default)]
    key: Option<String>,
    #[serde(default)]
    env_var_key: Option<String>,
}

/// `GET …/env` answers one variable, `{envs, pagination}` or `{envs}`.
#[derive(Deserialize)]
#[serde(untagged)]
enum EnvList {
    Paged { envs: Vec<EnvVar> },
    One(Box<EnvVar>),
}

/// Vercel's rule for variable names.
pub fn validate_env_key(key: &str) -> Result<(), ApiError> {
    let mut chars = key.chars();
    let ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid_input(
            Vendor::Vercel,
            "key",
            format!("must match ^[A-Za-z_][A-Za-z0-9_]*$ (got {key:?})"),
        ))
    }
}

fn validate_env_input(var: &EnvVarInput) -> Result<(), ApiError> {
    validate_env_key(&var.key)?;
    if var.target.is_empty() && var.custom_environment_ids.is_empty() {
        return Err(ApiError::invalid_input(
            Vendor::Vercel,
            "target",
            format!("or customEnvironmentIds is required for {}", var.key),
        ));
    }
    if var.git_branch.is_some() && var.target != [EnvTarget::Preview] {
        return Err(ApiError::invalid_input(Vendor::Vercel, "gitBranch", "is only allowed with target [preview]"));
    }
    if var.comment.as_ref().is_some_and(|c| c.chars().count() > 500) {
        return Err(ApiError::invalid_input(Vendor::Vercel, "comment", "must be at most 500 characters"));
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum BranchMatcherType {
    Equals,
    StartsWith,
    EndsWith,
}

/// Which git branches deploy into a custom environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BranchMatcher {
    #[serde(rename = "type")]
    pub matcher: BranchMatcherType,
    pub pattern: String,
}

/// Body of `POST /v9/projects/{idOrName}/custom-environments`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateCustomEnvironment {
    pub slug: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub branch_matcher: Option<BranchMatcher>,
}

/// Body of `PATCH /v9/projects/{idOrName}/custom-environments/{slugOrId}`.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateCustomEnvironment {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slug: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub branch_matcher: Option<BranchMatcher>,
}

/// A custom environment such as `staging` (id `env_…`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomEnvironment {
    pub id: String,
    pub slug: String,
    #[serde(rename = "type")]
    pub env_type: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub branch_matcher: Option<BranchMatcher>,
}

#[derive(Deserialize)]
struct CustomEnvironmentList {
    environments: Vec<CustomEnvironment>,
}

fn validate_custom_environment(request: &CreateCustomEnvironment) -> Result<(), ApiError> {
    let invalid = |field, rule: &str| Err(ApiError::invalid_input(Vendor::Vercel, field, rule));
    let slug = request.slug.as_str();
    if slug.is_empty() || slug.chars().count() > 32 {
        return invalid("slug", "must be 1 to 32 characters");
    }
    if ["production", "preview", "development"].contains(&slug.to_ascii_lowercase().as_str()) {
        return invalid("slug", "must not be production, preview or development");
    }
    if request.description.as_ref().is_some_and(|d| d.chars().count() > 256) {
        return invalid("description", "must be at most 256 characters");
    }
    if let Some(matcher) = &request.branch_matcher
        && (matcher.pattern.is_empty() || matcher.pattern.chars().count() > 100)
    {
        return invalid("branchMatcher.pattern", "must be 1 to 100 characters");
    }
    Ok(())
}

/// A deployment's lifecycle (`readyState`); `Blocked` exists in the newest API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ReadyState {
    Queued,
    Initializing,
    Building,
    Ready,
    Error,
    Canceled,
    Blocked,
    Deleted,
}

impl ReadyState {
    /// No further change without a new deployment.
    pub fn is_final(self) -> bool {
        matches!(self, ReadyState::Ready | ReadyState::Error | ReadyState::Canceled | ReadyState::Deleted)
    }
}

/// What to deploy from git.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GitSource {
    #[serde(rename = "type")]
    pub provider: GitProvider,
    pub org: String,
    pub repo: String,
    #[serde(rename = "ref")]
    pub git_ref: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha: Option<String>,
}

/// Body of `POST /v13/deployments`: a git deployment, or a redeploy of `deployment_id`.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateDeploymentRequest {
    /// The project name.
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// `production`, or omitted for a preview deployment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub git_source: Option<GitSource>,
    /// A custom environment (`staging`), by id or slug, instead of `target`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_environment_slug_or_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deployment_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub with_latest_commit: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Deployment {
    pub id: String,
    pub url: String,
    pub ready_state: ReadyState,
    #[serde(default)]
    pub target: Option<String>,
    #[serde(default)]
    pub project_id: Option<String>,
    #[serde(default)]
    pub error_code: Option<String>,
    #[serde(default)]
    pub error_message: Option<String>,
}

#[derive(Deserialize)]
struct ErrorEnvelope {
    error: ErrorBody,
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    limit: Option<RateLimitNotice>,
}

#[derive(Deserialize)]
struct RateLimitNotice {
    /// Epoch seconds at which the window resets.
    reset: i64,
}

/// Every `nodeVersion` the Vercel API accepts, old ones included (a project made elsewhere may
/// use one). What Slipway offers a new venture is `venture::NODE_VERSIONS`, a subset.
pub const ACCEPTED_NODE_VERSIONS: &[&str] = &["22.x", "20.x", "18.x", "16.x", "14.x", "12.x", "10.x"];

pub struct VercelClient {
    core: ApiCore,
    team_id: Option<String>,
}

impl VercelClient {
    pub fn new(config: VercelConfig) -> Result<Self, VercelError> {
        Ok(VercelClient { core: ApiCore::new(Vendor::Vercel, config.api, parse_error)?, team_id: config.team_id })
    }

    /// Every item of a list, following Vercel's time cursor: each page's `pagination.next` is
    /// sent back in the `cursor` query parameter until it is null (or stops moving).
    async fn every_page<P: Paged>(&self, cursor: &str, call: impl Fn() -> Call) -> Result<Vec<P::Item>, VercelError> {
        let mut all = Vec::new();
        let mut after = None;
        loop {
            let mut request = call().query("limit", 100);
            if let Some(at) = after {
                request = request.query(cursor, at);
            }
            let (items, next) = self.core.send::<P>(request).await?.split();
            all.extend(items);
            match next {
                Some(next) if Some(next) != after => after = Some(next),
                _ => return Ok(all),
            }
        }
    }

    /// A call in the configured team scope.
    fn call(&self, operation: &'static str, method: Method, path: &[&str]) -> Call {
        let call = Call::new(operation, method, path);
        match &self.team_id {
            Some(team) => call.query("teamId", team),
            None => call,
        }
    }

    /// `GET /v2/user`: the token's owner; fails with `Unauthorized` for a bad token.
    pub async fn current_user(&self) -> Result<User, VercelError> {
        let answer: UserEnvelope = self.core.send(Call::new("getAuthUser", Method::GET, &["v2", "user"])).await?;
        Ok(answer.user)
    }

    /// `GET /v2/teams`, every page: the teams the token can act in.
    pub async fn list_teams(&self) -> Result<Vec<Team>, VercelError> {
        self.every_page::<TeamPage>("until", || Call::new("getTeams", Method::GET, &["v2", "teams"])).await
    }

    /// `GET /v2/teams/{teamId}`.
    pub async fn get_team(&self, id_or_slug: &str) -> Result<Team, VercelError> {
        self.core.send(Call::new("getTeam", Method::GET, &["v2", "teams", id_or_slug])).await
    }

    /// `POST /v11/projects`.
    pub async fn create_project(&self, request: &CreateProjectRequest) -> Result<Project, VercelError> {
        crate::venture::VentureName::parse(&request.name)
            .map_err(|e| ApiError::invalid_input(Vendor::Vercel, "name", e.message))?;
        self.core.send(self.call("createProject", Method::POST, &["v11", "projects"]).json(request)).await
    }

    /// `GET /v9/projects/{idOrName}`.
    pub async fn get_project(&self, id_or_name: &str) -> Result<Project, VercelError> {
        self.core.send(self.call("getProject", Method::GET, &["v9", "projects", id_or_name])).await
    }

    /// Like [`get_project`](Self::get_project), with "not found" as `None`.
    pub async fn find_project(&self, id_or_name: &str) -> Result<Option<Project>, VercelError> {
        match self.get_project(id_or_name).await {
            Ok(project) => Ok(Some(project)),
            Err(err) if err.is(ErrorKind::NotFound) => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// `GET /v10/projects`, every page: the projects whose name contains `search`, or that are
    /// linked to `repo` (`owner/name`).
    pub async fn list_projects(&self, search: Option<&str>, repo: Option<&str>) -> Result<Vec<Project>, VercelError> {
        // Projects page with `from`, where every other list uses `until`.
        self.every_page::<ProjectPage>("from", || {
            let mut call = self.call("getProjects", Method::GET, &["v10", "projects"]);
            if let Some(search) = search {
                call = call.query("search", search);
            }
            if let Some(repo) = repo {
                call = call.query("repo", repo);
            }
            call
        })
        .await
    }

    /// `PATCH /v9/projects/{idOrName}`.
    pub async fn update_project(&self, id_or_name: &str, patch: &UpdateProjectRequest) -> Result<Project, VercelError> {
        for (field, value) in [
            ("buildCommand", &patch.build_command),
            ("installCommand", &patch.install_command),
            ("devCommand", &patch.dev_command),
            ("outputDirectory", &patch.output_directory),
            ("rootDirectory", &patch.root_directory),
        ] {
            if value.as_ref().and_then(Option::as_ref).is_some_and(|v| v.chars().count() > 256) {
                return Err(ApiError::invalid_input(Vendor::Vercel, field, "must be at most 256 characters"));
            }
        }
        if let Some(version) = &patch.node_version
            && !ACCEPTED_NODE_VERSIONS.contains(&version.as_str())
        {
            return Err(ApiError::invalid_input(
                Vendor::Vercel,
                "nodeVersion",
                format!("must be one of {}", ACCEPTED_NODE_VERSIONS.join(", ")),
            ));
        }
        let call = self.call("updateProject", Method::PATCH, &["v9", "projects", id_or_name]).json(patch);
        self.core.send(call).await
    }

    /// `DELETE /v9/projects/{idOrName}` (answers 204).
    pub async fn delete_project(&self, id_or_name: &str) -> Result<(), VercelError> {
        self.core.send(self.call("deleteProject", Method::DELETE, &["v9", "projects", id_or_name])).await
    }

    /// `POST /v9/projects/{idOrName}/custom-environments`.
    pub async fn create_custom_environment(
        &self,
        project: &str,
        request: &CreateCustomEnvironment,
    ) -> Result<CustomEnvironment, VercelError> {
        validate_custom_environment(request)?;
        let call =
            self.call("createCustomEnvironment", Method::POST, &["v9", "projects", project, "custom-environments"]);
        self.core.send(call.json(request)).await
    }

    /// `GET /v9/projects/{idOrName}/custom-environments`.
    pub async fn list_custom_environments(&self, project: &str) -> Result<Vec<CustomEnvironment>, VercelError> {
        let call = self.call("getCustomEnvironments", Method::GET, &["v9", "projects", project, "custom-environments"]);
        let list: CustomEnvironmentList = self.core.send(call).await?;
        Ok(list.environments)
    }

    /// `PATCH /v9/projects/{idOrName}/custom-environments/{slugOrId}`.
    pub async fn update_custom_environment(
        &self,
        project: &str,
        slug_or_id: &str,
        patch: &UpdateCustomEnvironment,
    ) -> Result<CustomEnvironment, VercelError> {
        let as_create = CreateCustomEnvironment {
            slug: patch.slug.clone().unwrap_or_else(|| "unchanged".into()),
            description: patch.description.clone(),
            branch_matcher: patch.branch_matcher.clone(),
        };
        validate_custom_environment(&as_create)?;
        let path = ["v9", "projects", project, "custom-environments", slug_or_id];
        self.core.send(self.call("updateCustomEnvironment", Method::PATCH, &path).json(patch)).await
    }

    /// `GET /v9/projects/{idOrName}/custom-environments/{slugOrId}`.
    pub async fn get_custom_environment(
        &self,
        project: &str,
        slug_or_id: &str,
    ) -> Result<CustomEnvironment, VercelError> {
        let path = ["v9", "projects", project, "custom-environments", slug_or_id];
        self.core.send(self.call("getCustomEnvironment", Method::GET, &path)).await
    }

    /// `DELETE /v9/projects/{idOrName}/custom-environments/{slugOrId}`.
    pub async fn delete_custom_environment(&self, project: &str, slug_or_id: &str) -> Result<(), VercelError> {
        let path = ["v9", "projects", project, "custom-environments", slug_or_id];
        let _: serde_json::Value = self.core.send(self.call("removeCustomEnvironment", Method::DELETE, &path)).await?;
        Ok(())
    }

    /// `POST /v13/deployments`.
    pub async fn create_deployment(&self, request: &CreateDeploymentRequest) -> Result<Deployment, VercelError> {
        if request.git_source.is_none() && request.deployment_id.is_none() {
            return Err(ApiError::invalid_input(Vendor::Vercel, "gitSource", "or deploymentId is required"));
        }
        self.core.send(self.call("createDeployment", Method::POST, &["v13", "deployments"]).json(request)).await
    }

    /// `GET /v13/deployments/{idOrUrl}`.
    pub async fn get_deployment(&self, id_or_url: &str) -> Result<Deployment, VercelError> {
        self.core.send(self.call("getDeployment", Method::GET, &["v13", "deployments", id_or_url])).await
    }

    /// `GET /v6/deployments`, newest first, following pages until `filter.limit`.
    pub async fn list_deployments(&self, filter: &DeploymentFilter) -> Result<Vec<DeploymentSummary>, VercelError> {
        let mut all = Vec::new();
        let mut until = None;
        loop {
            let wanted = filter.limit.map(|l| l.saturating_sub(all.len())).unwrap_or(100).clamp(1, 100);
            let mut call = self.call("getDeployments", Method::GET, &["v6", "deployments"]).query("limit", wanted);
            if let Some(project) = &filter.project_id {
                call = call.query("projectId", project);
            }
            if let Some(target) = &filter.target {
                call = call.query("target", target);
            }
            if let Some(state) = filter.state {
                let state = serde_json::to_value(state).unwrap_or_default();
                call = call.query("state", state.as_str().unwrap_or_default());
            }
            if let Some(until) = until {
                call = call.query("until", until);
            }
            let page: DeploymentPage = self.core.send(call).await?;
            all.extend(page.deployments);
            if filter.limit.is_some_and(|limit| all.len() >= limit) {
                all.truncate(filter.limit.unwrap_or_default());
                return Ok(all);
            }
            match page.pagination.next {
                Some(next) if Some(next) != until => until = Some(next),
                _ => return Ok(all),
            }
        }
    }

    /// `PATCH /v12/deployments/{id}/cancel`.
    pub async fn cancel_deployment(&self, id: &str) -> Result<Deployment, VercelError> {
        self.core.send(self.call("cancelDeployment", Method::PATCH, &["v12", "deployments", id, "cancel"])).await
    }

    /// `POST /v10/projects/{idOrName}/env` with an array body. With `upsert`, existing
    /// variables are updated instead of failing. Variables Vercel refuses inside its 201
    /// answer come back in `failed`, one per variable.
    pub async fn create_env_vars(
        &self,
        project: &str,
        vars: &[EnvVarInput],
        upsert: bool,
    ) -> Result<EnvBatchOutcome, VercelError> {
        if vars.is_empty() {
            return Ok(EnvBatchOutcome { created: Vec::new(), failed: Vec::new() });
        }
        for var in vars {
            validate_env_input(var)?;
        }
        let mut call = self.call("createProjectEnv", Method::POST, &["v10", "projects", project, "env"]);
        if upsert {
            // Upserting the same values again changes nothing.
            call = call.query("upsert", "true").idempotent();
        }
        let answer: CreatedEnvs = self.core.send(call.json(&vars)).await?;
        let failed = answer
            .failed
            .into_iter()
            .map(|f| EnvVarFailure {
                key: f.error.key.or(f.error.env_var_key).unwrap_or_default(),
                code: f.error.code,
                message: f.error.message,
            })
            .collect();
        Ok(EnvBatchOutcome { created: answer.created, failed })
    }

    /// `GET /v10/projects/{idOrName}/env`: every variable (sensitive values come back empty).
    pub async fn list_env_vars(&self, project: &str) -> Result<Vec<EnvVar>, VercelError> {
        let list: EnvList =
            self.core.send(self.call("filterProjectEnvs", Method::GET, &["v10", "projects", project, "env"])).await?;
        Ok(match list {
            EnvList::Paged { envs } => envs,
            EnvList::One(env) => vec![*env],
        })
    }

    /// `PATCH /v9/projects/{idOrName}/env/{id}`.
    pub async fn edit_env_var(&self, project: &str, id: &str, patch: &EnvVarPatch) -> Result<EnvVar, VercelError> {
        self.core
            .send(self.call("editProjectEnv", Method::PATCH, &["v9", "projects", project, "env", id]).json(patch))
            .await
    }

    /// `GET /v1/projects/{idOrName}/env/{id}`: one variable, its value decrypted unless it is
    /// `sensitive` (write-only).
    pub async fn get_env_var(&self, project: &str, id: &str) -> Result<EnvVar, VercelError> {
        self.core.send(self.call("getProjectEnv", Method::GET, &["v1", "projects", project, "env", id])).await
    }

    /// `DELETE /v1/projects/{idOrName}/env` with `{ids}`, 1,000 ids per request. Returns how
    /// many were deleted.
    pub async fn delete_env_vars(&self, project: &str, ids: &[&str]) -> Result<usize, VercelError> {
        let mut deleted = 0;
        for chunk in ids.chunks(1000) {
            let call = self
                .call("batchRemoveProjectEnv", Method::DELETE, &["v1", "projects", project, "env"])
                .json(&serde_json::json!({ "ids": chunk }));
            let answer: BatchDeleted = self.core.send(call).await?;
            deleted += answer.deleted;
        }
        Ok(deleted)
    }

    /// `DELETE /v9/projects/{idOrName}/env/{id}`.
    pub async fn delete_env_var(&self, project: &str, id: &str) -> Result<(), VercelError> {
        let _: serde_json::Value = self
            .core
            .send(self.call("removeProjectEnv", Method::DELETE, &["v9", "projects", project, "env", id]))
            .await?;
        Ok(())
    }
}

/// Vercel's error body: `{"error": {"code", "message", "limit"?}}`.
fn parse_error(status: StatusCode, _headers: &HeaderMap, body: &[u8]) -> ApiError {
    let parsed = serde_json::from_slice::<ErrorEnvelope>(body).ok().map(|e| e.error);
    let (code, message) = parsed
        .as_ref()
        .map(|e| (e.code.clone(), e.message.clone()))
        .unwrap_or_else(|| (String::new(), status.canonical_reason().unwrap_or("").to_string()));
    let mut error =
        ApiError::new(Vendor::Vercel, ApiError::kind_for_status(status), Some(status.as_u16()), code, message);
    if status == StatusCode::TOO_MANY_REQUESTS {
        // Without Retry-After (taken by the core), the documented body's `limit.reset` (epoch seconds).
        error.retry_after = parsed.and_then(|e| e.limit).map(|limit| {
            let wait = limit.reset - crate::time::now_ms() / 1000;
            Duration::from_secs(wait.max(0) as u64)
        });
    }
    error
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use secrecy::SecretString;

    use super::*;
    use crate::platform::retry::RetryPolicy;
    use slipway_sim::faults::{Fault, FaultPlan};
    use slipway_sim::vercel::VercelSim;

    const TOKEN: &str = "test-token-0123456789";

    fn fast_retries() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(50),
            max_total: Duration::from_secs(10),
        }
    }

    async fn setup() -> (VercelSim, VercelClient) {
        let sim = VercelSim::start(TOKEN, FaultPlan::default()).await.unwrap();
        let mut config = VercelConfig::new(sim.base_url(), SecretString::from(TOKEN));
        config.api.retry = fast_retries();
        (sim.clone(), VercelClient::new(config).unwrap())
    }

    fn nextjs_project(name: &str) -> CreateProjectRequest {
        CreateProjectRequest {
            name: name.into(),
            framework: Some("nextjs".into()),
            git_repository: Some(GitRepository { provider: GitProvider::Github, repo: "acme/shop".into() }),
            ..CreateProjectRequest::default()
        }
    }

    #[tokio::test]
    async fn creates_and_reads_a_project() {
        let (sim, client) = setup().await;
        let created = client.create_project(&nextjs_project("acme-shop")).await.unwrap();
        assert!(created.id.starts_with("prj_"));
        assert_eq!(created.framework.as_deref(), Some("nextjs"));
        let link = created.link.clone().unwrap();
        assert_eq!((link.org.as_deref(), link.repo.as_deref()), (Some("acme"), Some("shop")));
        assert_eq!(client.get_project(&created.id).await.unwrap(), created);
        assert_eq!(client.get_project("acme-shop").await.unwrap(), created);
        assert_eq!(client.find_project("absent").await.unwrap(), None);
        assert_eq!(sim.projects().len(), 1);
    }

    #[tokio::test]
    async fn honours_retry_after_on_429_then_succeeds() {
        let (sim, client) = setup().await;
        sim.queue_faults([Fault::RateLimited { retry_after_secs: 1 }]);
        let started = Instant::now();
        client.create_project(&nextjs_project("acme-shop")).await.unwrap();
        let waited = started.elapsed();
        assert!(waited >= Duration::from_secs(1), "retried after {waited:?}, before Retry-After");
        let statuses: Vec<u16> = sim.requests().iter().map(|r| r.status).collect();
        assert_eq!(statuses, [429, 200]);
    }

    #[tokio::test]
    async fn retries_server_errors_then_succeeds_once() {
        let (sim, client) = setup().await;
        sim.queue_faults([Fault::ServerError(500), Fault::ServerError(500)]);
        client.create_project(&nextjs_project("acme-shop")).await.unwrap();
        let statuses: Vec<u16> = sim.requests().iter().map(|r| r.status).collect();
        assert_eq!(statuses, [500, 500, 200]);
        assert_eq!(sim.projects().len(), 1);
    }

    #[tokio::test]
    async fn forbidden_is_not_retried() {
        let (sim, _) = setup().await;
        let mut config = VercelConfig::new(sim.base_url(), SecretString::from("wrong-token"));
        config.api.retry = fast_retries();
        let client = VercelClient::new(config).unwrap();
        let err = client.create_project(&nextjs_project("acme-shop")).await.unwrap_err();
        assert!(err.is(ErrorKind::Unauthorized) && err.status == Some(403) && err.code == "forbidden", "{err:?}");
        assert_eq!(sim.requests().len(), 1);
        assert!(sim.projects().is_empty());
    }

    #[tokio::test]
    async fn duplicate_name_is_a_typed_conflict() {
        let (sim, client) = setup().await;
        client.create_project(&nextjs_project("acme-shop")).await.unwrap();
        let err = client.create_project(&nextjs_project("acme-shop")).await.unwrap_err();
        assert!(err.is(ErrorKind::Conflict) && err.message.contains("already exists"), "{err:?}");
        assert_eq!(sim.requests().len(), 2, "a conflict is not retried");
    }

    fn env(key: &str, value: &str, var_type: EnvVarType, target: &[EnvTarget]) -> EnvVarInput {
        EnvVarInput {
            key: key.into(),
            value: SecretString::from(value.to_string()),
            var_type,
            target: target.to_vec(),
            git_branch: None,
            comment: None,
            custom_environment_ids: Vec::new(),
        }
    }

    #[tokio::test]
    async fn env_vars_batch_upsert_list_edit_delete() {
        use secrecy::ExposeSecret;
        let (sim, client) = setup().await;
        let project = client.create_project(&nextjs_project("acme-shop")).await.unwrap();
        let all = [EnvTarget::Production, EnvTarget::Preview, EnvTarget::Development];
        let batch = [
            env("NEXT_PUBLIC_SUPABASE_URL", "https://abc.supabase.co", EnvVarType::Plain, &all),
            env("SUPABASE_SERVICE_ROLE_KEY", "service-role-secret", EnvVarType::Sensitive, &[EnvTarget::Production]),
        ];
        let outcome = client.create_env_vars(&project.id, &batch, true).await.unwrap();
        assert_eq!((outcome.created.len(), outcome.failed.len()), (2, 0));
        let listed = client.list_env_vars(&project.id).await.unwrap();
        let secret = listed.iter().find(|e| e.key == "SUPABASE_SERVICE_ROLE_KEY").unwrap();
        assert_eq!(secret.value.as_ref().map(|v| v.expose_secret().to_string()), Some(String::new()), "write-only");
        assert_eq!(sim.env_vars(&project.id)[1]["value"], "service-role-secret", "stored as sent");

        // Upsert again with a new value: updated in place, no duplicate.
        let rotated = [env("SUPABASE_SERVICE_ROLE_KEY", "rotated", EnvVarType::Sensitive, &[EnvTarget::Production])];
        client.create_env_vars(&project.id, &rotated, true).await.unwrap();
        assert_eq!(sim.env_vars(&project.id).len(), 2);
        assert_eq!(sim.env_vars(&project.id)[1]["value"], "rotated");

        let id = secret.id.clone().unwrap();
        let edited = client
            .edit_env_var(
                &project.id,
                &id,
                &EnvVarPatch { comment: Some("rotated by Slipway".into()), ..Default::default() },
            )
            .await
            .unwrap();
        assert_eq!(edited.comment.as_deref(), Some("rotated by Slipway"));
        client.delete_env_var(&project.id, &id).await.unwrap();
        assert_eq!(client.list_env_vars(&project.id).await.unwrap().len(), 1);
        assert!(!format!("{:?}", batch[1]).contains("service-role-secret"), "Debug hides values");
    }

    #[tokio::test]
    async fn a_staging_environment_with_a_branch_matcher_and_project_deletion() {
        let (sim, client) = setup().await;
        let project = client.create_project(&nextjs_project("acme-shop")).await.unwrap();
        let staging = CreateCustomEnvironment {
            slug: "staging".into(),
            description: Some("Pre-production".into()),
            branch_matcher: Some(BranchMatcher { matcher: BranchMatcherType::Equals, pattern: "staging".into() }),
        };
        let created = client.create_custom_environment(&project.id, &staging).await.unwrap();
        assert!(created.id.starts_with("env_"));
        assert_eq!(created.branch_matcher, staging.branch_matcher);
        let again = client.create_custom_environment(&project.id, &staging).await.unwrap_err();
        assert!(again.is(ErrorKind::Conflict), "{again}");
        assert_eq!(client.get_custom_environment(&project.id, "staging").await.unwrap().id, created.id);
        assert_eq!(client.list_custom_environments(&project.id).await.unwrap().len(), 1);
        let reserved = CreateCustomEnvironment { slug: "Production".into(), description: None, branch_matcher: None };
        let err = client.create_custom_environment(&project.id, &reserved).await.unwrap_err();
        assert!(err.is(ErrorKind::InvalidInput) && err.code == "slug", "{err}");
        client.delete_custom_environment(&project.id, &created.id).await.unwrap();
        assert!(client.list_custom_environments(&project.id).await.unwrap().is_empty());

        client.delete_project(&project.id).await.unwrap();
        assert!(client.find_project(&project.id).await.unwrap().is_none());
        assert!(sim.projects().is_empty());
    }

    fn production_deploy(project: &str) -> CreateDeploymentRequest {
        CreateDeploymentRequest {
            name: project.into(),
            target: Some("production".into()),
            git_source: Some(GitSource {
                provider: GitProvider::Github,
                org: "acme".into(),
                repo: "shop".into(),
                git_ref: "main".into(),
                sha: None,
            }),
            ..CreateDeploymentRequest::default()
        }
    }

    async fn settle(client: &VercelClient, id: &str) -> Vec<ReadyState> {
        let mut seen = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let state = client.get_deployment(id).await.unwrap().ready_state;
            if seen.last() != Some(&state) {
                seen.push(state);
            }
            if state.is_final() {
                return seen;
            }
            assert!(Instant::now() < deadline, "never settled: {seen:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    #[tokio::test]
    async fn deployments_go_queued_building_ready_or_error_and_can_be_canceled() {
        let (sim, client) = setup().await;
        sim.set_build_time(Duration::from_millis(300));
        client.create_project(&nextjs_project("acme-shop")).await.unwrap();
        let deployment = client.create_deployment(&production_deploy("acme-shop")).await.unwrap();
        assert_eq!(deployment.ready_state, ReadyState::Queued);
        assert_eq!(deployment.target.as_deref(), Some("production"));
        assert_eq!(
            settle(&client, &deployment.id).await,
            [ReadyState::Queued, ReadyState::Building, ReadyState::Ready]
        );

        sim.fail_next_deployment();
        let failing = client.create_deployment(&production_deploy("acme-shop")).await.unwrap();
        assert_eq!(settle(&client, &failing.id).await.last(), Some(&ReadyState::Error));
        assert!(client.get_deployment(&failing.id).await.unwrap().error_message.is_some());

        let redeploy = CreateDeploymentRequest {
            name: "acme-shop".into(),
            target: Some("production".into()),
            deployment_id: Some(deployment.id.clone()),
            ..CreateDeploymentRequest::default()
        };
        let canceled = client.create_deployment(&redeploy).await.unwrap();
        assert_eq!(client.cancel_deployment(&canceled.id).await.unwrap().ready_state, ReadyState::Canceled);
        let err =
            client.create_deployment(&CreateDeploymentRequest { name: "acme-shop".into(), ..Default::default() }).await;
        assert!(err.unwrap_err().is(ErrorKind::InvalidInput));
    }

    #[tokio::test]
    async fn partial_failures_inside_a_201_come_back_per_variable() {
        let (sim, client) = setup().await;
        let project = client.create_project(&nextjs_project("acme-shop")).await.unwrap();
        let first = [env("DATABASE_URL", "postgres://one", EnvVarType::Encrypted, &[EnvTarget::Production])];
        client.create_env_vars(&project.id, &first, false).await.unwrap();
        let batch = [
            env("DATABASE_URL", "postgres://two", EnvVarType::Encrypted, &[EnvTarget::Production]),
            env("NEW_FLAG", "on", EnvVarType::Plain, &[EnvTarget::Preview]),
        ];
        let outcome = client.create_env_vars(&project.id, &batch, false).await.unwrap();
        assert_eq!(outcome.created.len(), 1);
        assert_eq!(outcome.created[0].key, "NEW_FLAG");
        assert_eq!(outcome.failed.len(), 1);
        let failure = &outcome.failed[0];
        assert_eq!((failure.key.as_str(), failure.code.as_str()), ("DATABASE_URL", "ENV_ALREADY_EXISTS"));
        assert!(failure.message.contains("already exists"));
        assert_eq!(sim.env_vars(&project.id)[0]["value"], "postgres://one", "without upsert nothing is overwritten");
    }

    #[tokio::test]
    async fn env_inputs_are_checked_before_sending() {
        let (sim, client) = setup().await;
        for (var, field) in [
            (env("1BAD", "v", EnvVarType::Plain, &[EnvTarget::Production]), "key"),
            (env("NO_TARGET", "v", EnvVarType::Plain, &[]), "target"),
            (
                EnvVarInput {
                    git_branch: Some("feature".into()),
                    ..env("B", "v", EnvVarType::Plain, &[EnvTarget::Production])
                },
                "gitBranch",
            ),
        ] {
            let err = client.create_env_vars("prj_x", &[var], true).await.unwrap_err();
            assert!(err.is(ErrorKind::InvalidInput) && err.code == field, "{err}");
        }
        assert!(sim.requests().is_empty());
    }

    #[tokio::test]
    async fn invalid_input_is_refused_naming_the_field_and_rule() {
        let (sim, client) = setup().await;
        // Caught by the client before sending.
        let err = client.create_project(&nextjs_project("Acme Shop")).await.unwrap_err();
        assert!(err.is(ErrorKind::InvalidInput) && err.code == "name" && err.message.contains("lowercase"), "{err:?}");
        assert!(sim.requests().is_empty());
        // Caught by the simulator, as Vercel would.
        let mut bad_framework = nextjs_project("acme-shop");
        bad_framework.framework = Some("next".into());
        let err = client.create_project(&bad_framework).await.unwrap_err();
        assert!(
            err.is(ErrorKind::BadRequest) && err.code == "bad_request" && err.message.contains("framework"),
            "{err:?}"
        );
        assert_eq!(sim.requests().len(), 1, "a bad request is not retried");
    }

    #[tokio::test]
    async fn simulator_rejects_fields_the_schema_forbids() {
        let (sim, _) = setup().await;
        let http = reqwest::Client::new();
        for (body, expect) in [
            (serde_json::json!({"name": "ok", "surprise": 1}), "unknown field"),
            (serde_json::json!({"framework": "nextjs"}), "missing field `name`"),
            (serde_json::json!({"name": "ok", "gitRepository": {"type": "svn", "repo": "a/b"}}), "unknown variant"),
            (serde_json::json!({"name": "Not-Lowercase"}), "must be lowercase"),
            (serde_json::json!({"name": "x".repeat(101)}), "at most 100"),
        ] {
            let response = http
                .post(format!("{}/v11/projects", sim.base_url()))
                .bearer_auth(TOKEN)
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 400);
            let body: serde_json::Value = response.json().await.unwrap();
            assert_eq!(body["error"]["code"], "bad_request");
            assert!(body["error"]["message"].as_str().unwrap().contains(expect), "{body}");
        }
        assert!(sim.projects().is_empty());
    }

    #[tokio::test]
    async fn gives_up_when_the_requested_wait_exceeds_the_budget() {
        let (sim, _) = setup().await;
        let mut config = VercelConfig::new(sim.base_url(), SecretString::from(TOKEN));
        config.api.retry = RetryPolicy { max_total: Duration::from_secs(2), ..fast_retries() };
        let client = VercelClient::new(config).unwrap();
        sim.queue_faults([Fault::RateLimited { retry_after_secs: 30 }]);
        let started = Instant::now();
        let err = client.create_project(&nextjs_project("acme-shop")).await.unwrap_err();
        assert!(err.is(ErrorKind::RateLimited) && err.retry_after == Some(Duration::from_secs(30)), "{err:?}");
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    #[test]
    fn rate_limit_reset_in_the_body_is_used_without_retry_after() {
        let reset = crate::time::now_ms() / 1000 + 5;
        let body = serde_json::json!({"error": {"code": "rate_limited", "message": "slow down",
            "limit": {"remaining": 0, "reset": reset, "resetMs": reset * 1000, "total": 6}}});
        let err = parse_error(StatusCode::TOO_MANY_REQUESTS, &HeaderMap::new(), body.to_string().as_bytes());
        assert!(err.is(ErrorKind::RateLimited), "{err:?}");
        let wait = err.retry_after.unwrap();
        assert!(wait >= Duration::from_secs(4) && wait <= Duration::from_secs(5), "{wait:?}");
    }

    #[test]
    fn team_scope_goes_into_the_query() {
        let mut config = VercelConfig::new("http://127.0.0.1:9", SecretString::from(TOKEN));
        config.team_id = Some("team_abc".into());
        let client = VercelClient::new(config).unwrap();
        let call = client.call("getProject", Method::GET, &["v9", "projects", "a b"]);
        let url = client.core.url(&call.path, &call.query);
        assert_eq!(url.as_str(), "http://127.0.0.1:9/v9/projects/a%20b?teamId=team_abc");
    }

    #[tokio::test]
    async fn the_token_owner_and_teams_and_a_foreign_team_scope() {
        let (sim, client) = setup().await;
        let user = client.current_user().await.unwrap();
        assert_eq!(user.username, "slipway-sandbox");
        let teams = client.list_teams().await.unwrap();
        assert_eq!(teams.len(), 1);
        assert_eq!(client.get_team(&teams[0].slug).await.unwrap(), teams[0]);
        assert!(client.get_team("team_nobody").await.unwrap_err().is(ErrorKind::NotFound));

        let mut config = VercelConfig::new(sim.base_url(), SecretString::from(TOKEN));
        config.team_id = Some("team_not_mine".into());
        let stranger = VercelClient::new(config).unwrap();
        let err = stranger.create_project(&nextjs_project("acme-shop")).await.unwrap_err();
        assert!(
            err.is(ErrorKind::Unauthorized) && err.status == Some(403) && err.message.contains("team_not_mine"),
            "{err}"
        );
        let mut config = VercelConfig::new(sim.base_url(), SecretString::from(TOKEN));
        config.team_id = Some(teams[0].id.clone());
        let member = VercelClient::new(config).unwrap();
        let in_team = member.create_project(&nextjs_project("acme-shop")).await.unwrap();
        assert_eq!(in_team.account_id, teams[0].id);
        assert!(client.find_project("acme-shop").await.unwrap().is_none(), "the personal scope is apart");
    }

    #[tokio::test]
    async fn project_settings_are_updated_and_cleared() {
        let (_sim, client) = setup().await;
        let project = client.create_project(&nextjs_project("acme-shop")).await.unwrap();
        let patch = UpdateProjectRequest {
            build_command: Some(Some("pnpm build".into())),
            install_command: Some(None),
            node_version: Some("20.x".into()),
            preview_deployments_disabled: Some(false),
            ..Default::default()
        };
        let updated = client.update_project(&project.id, &patch).await.unwrap();
        assert_eq!(updated.build_command.as_deref(), Some("pnpm build"));
        assert_eq!(updated.install_command, None);
        assert_eq!((updated.node_version.as_str(), updated.preview_deployments_disabled), ("20.x", Some(false)));
        assert_eq!(client.get_project(&project.id).await.unwrap(), updated);
        let bad = UpdateProjectRequest { node_version: Some("8.x".into()), ..Default::default() };
        assert_eq!(client.update_project(&project.id, &bad).await.unwrap_err().code, "nodeVersion");
        let long = UpdateProjectRequest { root_directory: Some(Some("x".repeat(257))), ..Default::default() };
        assert_eq!(client.update_project(&project.id, &long).await.unwrap_err().code, "rootDirectory");
    }

    #[tokio::test]
    async fn one_variable_is_read_decrypted_unless_sensitive_and_many_are_deleted_at_once() {
        use secrecy::ExposeSecret;
        let (sim, client) = setup().await;
        let project = client.create_project(&nextjs_project("acme-shop")).await.unwrap();
        let batch = [
            env("NEXT_PUBLIC_SUPABASE_URL", "https://abc.supabase.co", EnvVarType::Encrypted, &[EnvTarget::Preview]),
            env("SUPABASE_SECRET_KEY", "sb_secret_value", EnvVarType::Sensitive, &[EnvTarget::Production]),
            env("PLAIN_ONE", "1", EnvVarType::Plain, &[EnvTarget::Development]),
        ];
        let created = client.create_env_vars(&project.id, &batch, false).await.unwrap().created;
        let id_of = |key: &str| created.iter().find(|e| e.key == key).unwrap().id.clone().unwrap();
        let url = client.get_env_var(&project.id, &id_of("NEXT_PUBLIC_SUPABASE_URL")).await.unwrap();
        assert_eq!(url.value.unwrap().expose_secret(), "https://abc.supabase.co");
        let secret = client.get_env_var(&project.id, &id_of("SUPABASE_SECRET_KEY")).await.unwrap();
        assert_eq!(secret.value.map(|v| v.expose_secret().to_string()), Some(String::new()), "write-only");

        let unknown = client.delete_env_vars(&project.id, &[&id_of("PLAIN_ONE"), "env_missing"]).await.unwrap_err();
        assert!(unknown.is(ErrorKind::NotFound), "{unknown}");
        assert_eq!(sim.env_vars(&project.id).len(), 3, "all or nothing");
        let ids = [id_of("PLAIN_ONE"), id_of("SUPABASE_SECRET_KEY")];
        let deleted = client.delete_env_vars(&project.id, &[&ids[0], &ids[1]]).await.unwrap();
        assert_eq!(deleted, 2);
        assert_eq!(client.list_env_vars(&project.id).await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn a_custom_environment_is_updated_and_deployments_are_listed_newest_first() {
        let (sim, client) = setup().await;
        let project = client.create_project(&nextjs_project("acme-shop")).await.unwrap();
        let staging = CreateCustomEnvironment { slug: "staging".into(), description: None, branch_matcher: None };
        client.create_custom_environment(&project.id, &staging).await.unwrap();
        let patch = UpdateCustomEnvironment {
            branch_matcher: Some(BranchMatcher { matcher: BranchMatcherType::Equals, pattern: "staging".into() }),
            ..Default::default()
        };
        let updated = client.update_custom_environment(&project.id, "staging", &patch).await.unwrap();
        assert_eq!(updated.branch_matcher.unwrap().pattern, "staging");
        let too_long = UpdateCustomEnvironment { description: Some("d".repeat(257)), ..Default::default() };
        let err = client.update_custom_environment(&project.id, "staging", &too_long).await.unwrap_err();
        assert_eq!(err.code, "description");

        sim.set_build_time(Duration::from_millis(1));
        let deploy = |target: Option<&str>| CreateDeploymentRequest {
            name: project.name.clone(),
            target: target.map(str::to_string),
            git_source: Some(GitSource {
                provider: GitProvider::Github,
                org: "acme".into(),
                repo: "shop".into(),
                git_ref: "main".into(),
                sha: None,
            }),
            ..Default::default()
        };
        let mut made = Vec::new();
        for target in [Some("production"), None, Some("production")] {
            made.push(client.create_deployment(&deploy(target)).await.unwrap().id);
            tokio::time::sleep(Duration::from_millis(3)).await;
        }
        let filter = DeploymentFilter { project_id: Some(project.id.clone()), ..Default::default() };
        let all = client.list_deployments(&filter).await.unwrap();
        assert_eq!(
            all.iter().map(|d| d.uid.clone()).collect::<Vec<_>>(),
            [made[2].clone(), made[1].clone(), made[0].clone()]
        );
        let production = DeploymentFilter { target: Some("production".into()), limit: Some(1), ..filter.clone() };
        let latest = client.list_deployments(&production).await.unwrap();
        assert_eq!(latest.len(), 1);
        assert_eq!((latest[0].uid.as_str(), latest[0].ready_state), (made[2].as_str(), Some(ReadyState::Ready)));
        // Paging by the time cursor returns every deployment once.
        let paged = DeploymentFilter { limit: Some(3), ..filter };
        assert_eq!(client.list_deployments(&paged).await.unwrap(), all);
    }

    #[tokio::test]
    async fn a_create_whose_answer_is_lost_is_unconfirmed_and_not_repeated() {
        let (sim, client) = setup().await;
        sim.queue_faults_for("POST", "/v11/projects", [Fault::Dropped { handled: true }]);
        let err = client.create_project(&nextjs_project("acme-shop")).await.unwrap_err();
        assert!(err.is(ErrorKind::Unconfirmed), "{err}");
        assert_eq!(sim.projects().len(), 1, "it took effect, and was sent once");
        // Looking up first finds it.
        assert!(client.find_project("acme-shop").await.unwrap().is_some());

        // Dropped before it was handled: the same answer, and nothing happened.
        sim.queue_faults_for("POST", "/v11/projects", [Fault::Dropped { handled: false }]);
        let err = client.create_project(&nextjs_project("other-shop")).await.unwrap_err();
        assert!(err.is(ErrorKind::Unconfirmed), "{err}");
        assert_eq!(sim.projects().len(), 1);
    }

    #[tokio::test]
    async fn lost_answers_to_safe_requests_are_retried() {
        let (sim, client) = setup().await;
        let project = client.create_project(&nextjs_project("acme-shop")).await.unwrap();
        sim.queue_faults_for(
            "GET",
            "/v9/projects/*",
            [Fault::Dropped { handled: true }, Fault::Dropped { handled: false }],
        );
        assert_eq!(client.get_project(&project.id).await.unwrap().id, project.id);
        // An upsert of variables is safe to repeat: a lost answer is retried too.
        sim.queue_faults_for("POST", "/v10/projects/*/env", [Fault::Dropped { handled: true }]);
        let vars = [env("A_KEY", "a", EnvVarType::Plain, &[EnvTarget::Preview])];
        client.create_env_vars(&project.id, &vars, true).await.unwrap();
        assert_eq!(sim.env_vars(&project.id).len(), 1, "applied once, repeated harmlessly");
    }

    #[tokio::test]
    async fn a_hung_answer_times_out_then_the_read_is_retried() {
        let sim =
            VercelSim::start(TOKEN, FaultPlan { hang: Duration::from_secs(2), ..FaultPlan::default() }).await.unwrap();
        let mut config = VercelConfig::new(sim.base_url(), SecretString::from(TOKEN));
        config.api.retry = fast_retries();
        config.api.request_timeout = Duration::from_millis(300);
        let client = VercelClient::new(config).unwrap();
        let project = client.create_project(&nextjs_project("acme-shop")).await.unwrap();
        sim.queue_faults_for("GET", "/v9/projects/*", [Fault::TimedOut]);
        let started = std::time::Instant::now();
        assert_eq!(client.get_project(&project.id).await.unwrap().id, project.id);
        assert!(started.elapsed() >= Duration::from_millis(300), "waited for the timeout");
        sim.queue_faults_for("POST", "/v11/projects", [Fault::TimedOut]);
        let err = client.create_project(&nextjs_project("second-shop")).await.unwrap_err();
        assert!(err.is(ErrorKind::Unconfirmed), "a create that timed out may have happened: {err}");
    }

    #[tokio::test]
    async fn projects_are_listed_across_pages_and_filtered() {
        let sim = VercelSim::start(TOKEN, FaultPlan::default()).await.unwrap();
        let mut config = VercelConfig::new(sim.base_url(), SecretString::from(TOKEN));
        // Its own budget: the per-token limiter is shared with the other tests' clients.
        config.api.budget = crate::platform::ratelimit::Budget::per_minute(10_000);
        let client = VercelClient::new(config).unwrap();
        for i in 0..105 {
            let mut request = nextjs_project(&format!("venture-{i:03}"));
            if i == 7 {
                request.git_repository =
                    Some(GitRepository { provider: GitProvider::Github, repo: "acme/seven".into() });
            }
            client.create_project(&request).await.unwrap();
        }
        let all = client.list_projects(None, None).await.unwrap();
        assert_eq!(all.len(), 105);
        let mut names: Vec<_> = all.iter().map(|p| p.name.clone()).collect();
        names.dedup();
        assert_eq!(names.len(), 105, "no project twice across pages");
        let pages = sim.requests().iter().filter(|r| r.method == "GET" && r.path == "/v10/projects").count();
        assert_eq!(pages, 2);
        assert_eq!(client.list_projects(Some("venture-10"), None).await.unwrap().len(), 5);
        let linked = client.list_projects(None, Some("acme/seven")).await.unwrap();
        assert_eq!(linked.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), ["venture-007"]);
    }

    #[tokio::test]
    async fn each_endpoint_has_its_own_window_and_the_client_waits_it_out() {
        let sim = VercelSim::start(TOKEN, FaultPlan::default()).await.unwrap();
        sim.set_rate_limit_per_minute(2);
        let http = reqwest::Client::new();
        let user = || http.get(format!("{}/v2/user", sim.base_url())).bearer_auth(TOKEN).send();
        assert_eq!(user().await.unwrap().status(), 200);
        assert_eq!(user().await.unwrap().status(), 200);
        let refused = user().await.unwrap();
        assert_eq!(refused.status(), 429);
        assert_eq!(refused.headers()["x-ratelimit-limit"], "2");
        let wait: u64 = refused.headers()["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=60).contains(&wait), "{wait}");
        let body: serde_json::Value = refused.json().await.unwrap();
        assert_eq!(
            (body["error"]["code"].as_str(), body["error"]["limit"]["total"].as_u64()),
            (Some("rate_limited"), Some(2))
        );
        // Another endpoint, and the same endpoint for another project, count separately.
        let teams = http.get(format!("{}/v2/teams", sim.base_url())).bearer_auth(TOKEN).send().await.unwrap();
        assert_eq!(teams.status(), 200);
        for name in ["a", "b"] {
            let url = format!("{}/v9/projects/{name}", sim.base_url());
            assert_eq!(http.get(url).bearer_auth(TOKEN).send().await.unwrap().status(), 404);
        }
        let url = format!("{}/v9/projects/c", sim.base_url());
        assert_eq!(http.get(url).bearer_auth(TOKEN).send().await.unwrap().status(), 429, "one window per route");
    }
}
