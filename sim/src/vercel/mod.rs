//! Vercel API simulator: user and teams, projects, environment variables, custom
//! environments, deployments, and (in [`domains`]) domains, DNS records and certificates, with
//! Vercel's auth, validation, error bodies and rate-limit responses.

mod domains;
mod edge;

pub use domains::{RECOMMENDED_CNAME, RECOMMENDED_IPV4};
pub use edge::Edge;

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::dns::SimDns;
use super::faults::{Fault, FaultPlan};
use super::{RateWindows, SimCommon, SimHandle, SimQuery};
use crate::rules::{now_ms, vercel_project_name};

impl super::HasCommon for SimState {
    fn common(&mut self) -> &mut SimCommon {
        &mut self.common
    }
}

impl super::VendorErrors for SimState {
    fn invalid_query(message: &str) -> Response {
        bad_request(&format!("Invalid request: {message}"))
    }
}

struct SimState {
    common: SimCommon,
    /// Projects with their team scope.
    projects: Vec<(Option<String>, Value)>,
    /// Environment variables by project id, values stored as sent.
    envs: HashMap<String, Vec<Value>>,
    /// Custom environments by project id.
    custom_environments: HashMap<String, Vec<Value>>,
    deployments: Vec<SimDeployment>,
    /// How long a deployment spends queued and then building.
    build_time: std::time::Duration,
    fail_next_deployment: bool,
    /// The next deployment builds but answers 500 on every path (a bad release).
    fail_next_health: bool,
    /// How a deployment's app fares with the credentials it was built with, asked on every
    /// request the edge serves (the sandbox asks the Supabase simulator).
    runtime_check: Option<RuntimeCheck>,
    next_id: u64,
    last_stamp: i64,
    /// Requests per minute per endpoint, and each endpoint's window.
    rate_limit_per_minute: u32,
    windows: RateWindows,
    /// The public DNS that domain verification and configuration checks read.
    dns: SimDns,
    /// The address Vercel recommends for apex domains (`recommendedIPv4`) and Vercel DNS
    /// answers with: where the sandbox's simulated edge listens.
    edge_ipv4: String,
    teams: Vec<SimTeam>,
    project_domains: Vec<domains::ProjectDomain>,
    team_domains: Vec<domains::TeamDomain>,
    records: Vec<domains::VercelRecord>,
    certs: Vec<Value>,
    /// Repositories whose default branch is not `main` (Vercel deploys production from it).
    default_branches: HashMap<String, String>,
    /// Repositories the Vercel GitHub App cannot see (private, or the app is not installed).
    hidden_repositories: Vec<String>,
    /// Variable keys a create refuses inside its 201, and whether the refusal echoes the value
    /// (as an error message of a real API might: Slipway must not store it).
    refused_env_keys: HashMap<String, bool>,
}

/// Whether an app built with these variables works now: `Some(problem)` when it does not.
pub type RuntimeCheck = Arc<dyn Fn(&BTreeMap<String, String>) -> Option<String> + Send + Sync>;

/// Vercel limits each endpoint separately without one documented figure for all; the
/// simulator uses the budget the client keeps to (`platform::vercel::DEFAULT_BUDGET`).
pub const DEFAULT_RATE_LIMIT_PER_MINUTE: u32 = 120;

/// The token owner's user id.
const USER_ID: &str = "user_sim0000000000000000000001";

/// A team the token's user belongs to.
#[derive(Debug, Clone)]
pub struct SimTeam {
    pub id: String,
    pub slug: String,
    pub name: String,
}

impl SimTeam {
    /// The team every simulator starts with.
    pub fn sandbox() -> Self {
        SimTeam {
            id: crate::SANDBOX_TEAM_ID.into(),
            slug: crate::SANDBOX_TEAM_SLUG.into(),
            name: "Sandbox team".into(),
        }
    }
}

impl SimState {
    fn project_id(&self, team: &Option<String>, id_or_name: &str) -> Option<String> {
        self.projects
            .iter()
            .find(|(t, p)| t == team && (p["id"] == id_or_name || p["name"] == id_or_name))
            .map(|(_, p)| p["id"].as_str().unwrap_or_default().to_string())
    }

    fn next(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// A creation time in milliseconds, later than every earlier one: lists page by time
    /// cursor, so two items must never share a timestamp.
    fn stamp(&mut self) -> i64 {
        self.last_stamp = now_ms().max(self.last_stamp + 1);
        self.last_stamp
    }
}

/// A running Vercel simulator. Cheap to clone; stops when the last clone is dropped.
#[derive(Clone)]
pub struct VercelSim {
    state: Arc<Mutex<SimState>>,
    handle: SimHandle,
}

impl std::ops::Deref for VercelSim {
    type Target = SimHandle;

    fn deref(&self) -> &SimHandle {
        &self.handle
    }
}

impl VercelSim {
    /// Starts on `127.0.0.1` with a random port, accepting only `token`.
    pub async fn start(token: &str, plan: FaultPlan) -> std::io::Result<Self> {
        Self::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), token, plan).await
    }

    pub async fn start_on(addr: SocketAddr, token: &str, plan: FaultPlan) -> std::io::Result<Self> {
        Self::start_with_dns(addr, token, plan, SimDns::default()).await
    }

    /// Like [`start_on`](Self::start_on), reading and writing `dns` (share it with the
    /// Cloudflare simulator so records created there verify domains here).
    pub async fn start_with_dns(addr: SocketAddr, token: &str, plan: FaultPlan, dns: SimDns) -> std::io::Result<Self> {
        let state = Arc::new(Mutex::new(SimState {
            common: SimCommon::new(token, plan),
            projects: Vec::new(),
            envs: HashMap::new(),
            custom_environments: HashMap::new(),
            default_branches: HashMap::new(),
            hidden_repositories: Vec::new(),
            deployments: Vec::new(),
            build_time: std::time::Duration::from_millis(1500),
            fail_next_deployment: false,
            fail_next_health: false,
            runtime_check: None,
            refused_env_keys: HashMap::new(),
            next_id: 1,
            last_stamp: 0,
            rate_limit_per_minute: DEFAULT_RATE_LIMIT_PER_MINUTE,
            edge_ipv4: RECOMMENDED_IPV4.into(),
            windows: RateWindows::default(),
            dns,
            teams: vec![SimTeam::sandbox()],
            project_domains: Vec::new(),
            team_domains: Vec::new(),
            records: Vec::new(),
            certs: Vec::new(),
        }));
        {
            let state = state.lock().unwrap();
            state.dns.claim_zone(domains::VERCEL_DNS_ZONE, super::dns::DnsProvider::Vercel);
            state.dns.claim_zone(domains::DEPLOYMENT_ZONE, super::dns::DnsProvider::Vercel);
            state.refresh_edge_answers();
        }
        let router = Router::new()
            .route("/v11/projects", post(create_project))
            .route("/v9/projects/{id_or_name}", get(get_project).patch(update_project).delete(delete_project))
            .route(
                "/v9/projects/{id_or_name}/custom-environments",
                get(list_custom_environments).post(create_custom_environment),
            )
            .route(
                "/v9/projects/{id_or_name}/custom-environments/{slug_or_id}",
                get(get_custom_environment).patch(update_custom_environment).delete(delete_custom_environment),
            )
            .route("/v2/user", get(get_user))
            .route("/v13/deployments", post(create_deployment))
            .route("/v6/deployments", get(list_deployments))
            .route("/v7/deployments", get(list_deployments))
            .route("/v1/projects/{id_or_name}/env", axum::routing::delete(batch_delete_envs))
            .route("/v1/projects/{id_or_name}/env/{env_id}", get(get_env))
            .route("/v13/deployments/{id_or_url}", get(get_deployment))
            .route("/v12/deployments/{id}/cancel", axum::routing::patch(cancel_deployment))
            // The saved spec lists projects at v10; the official CLI calls v9.
            .route("/v10/projects", get(list_projects))
            .route("/v9/projects", get(list_projects))
            .route("/v10/projects/{id_or_name}/env", get(list_envs).post(create_envs))
            .route("/v9/projects/{id_or_name}/env/{env_id}", axum::routing::patch(edit_env).delete(delete_env))
            // Not in the saved spec; the official CLI calls it.
            .route("/projects/{id_or_name}/custom-environments", get(list_custom_environments))
            // Not in the saved spec; the official CLI calls them (`project add`, `project rm`,
            // `env rm`, `env pull`, `inspect`).
            .route("/v1/projects", post(create_project))
            .route("/v2/projects/{id_or_name}", axum::routing::delete(delete_project))
            .route("/v10/projects/{id_or_name}/env/{env_id}", axum::routing::delete(delete_env))
            .route("/v3/env/pull/{id_or_name}/{target}", get(pull_envs))
            .route("/v3/env/pull/{id_or_name}/{target}/{git_branch}", get(pull_envs_for_branch))
            .route("/v11/deployments/{id}/builds", get(deployment_builds))
            .route("/v2/teams", get(list_teams))
            .route("/v2/teams/{team_id}", get(get_team))
            // Not in the saved spec; the official CLI calls them for `--scope`.
            .route("/v1/teams", get(list_teams))
            .route("/teams/{team_id}", get(get_team));
        let router = domains::routes(router).fallback(unknown_endpoint).with_state(state.clone());
        let handle = state.lock().unwrap().common.serve(router, addr);
        let handle = handle.await?;
        Ok(VercelSim { state, handle })
    }

    /// Requests each endpoint takes per minute before answering 429.
    pub fn set_rate_limit_per_minute(&self, limit: u32) {
        let mut state = self.state.lock().unwrap();
        state.rate_limit_per_minute = limit;
        state.windows.clear();
    }

    /// Where Vercel's edge is for this simulator: the address recommended for apex domains
    /// and given by Vercel DNS (the sandbox points it at its local HTTPS edge).
    pub fn set_edge_address(&self, address: std::net::Ipv4Addr) {
        let mut state = self.state.lock().unwrap();
        state.edge_ipv4 = address.to_string();
        state.refresh_edge_answers();
    }

    /// How long new deployments take from QUEUED to READY.
    pub fn set_build_time(&self, duration: std::time::Duration) {
        self.state.lock().unwrap().build_time = duration;
    }

    /// The next deployment ends in ERROR instead of READY.
    pub fn fail_next_deployment(&self) {
        self.state.lock().unwrap().fail_next_deployment = true;
    }

    /// The next deployment builds and goes READY, but its app answers 500 on every path.
    pub fn fail_health_of_next_deployment(&self) {
        self.state.lock().unwrap().fail_next_health = true;
    }

    /// Asked on every request the edge serves, with the variables the serving deployment was
    /// built with: `Some(problem)` makes it answer 500 (an app whose credentials stopped working).
    pub fn set_runtime_check(&self, check: RuntimeCheck) {
        self.state.lock().unwrap().runtime_check = Some(check);
    }

    /// The variables deployment `id` was built with, by key (values in clear).
    pub fn deployment_env(&self, id: &str) -> Option<BTreeMap<String, String>> {
        self.state.lock().unwrap().deployments.iter().find(|d| d.id == id).map(|d| d.env.clone())
    }

    /// A project's environment variables as stored (values included), by project id.
    pub fn env_vars(&self, project_id: &str) -> Vec<Value> {
        self.state.lock().unwrap().envs.get(project_id).cloned().unwrap_or_default()
    }

    /// Creates of `key` are refused inside the 201 from now on (`echo_value`: the refusal's
    /// message quotes the value sent).
    pub fn refuse_env_key(&self, key: &str, echo_value: bool) {
        self.state.lock().unwrap().refused_env_keys.insert(key.to_string(), echo_value);
    }

    /// Someone changes a variable at Vercel, out of Slipway's sight (`updatedAt` moves on).
    pub fn edit_env_value(&self, project_id: &str, env_id: &str, value: &str) {
        let mut state = self.state.lock().unwrap();
        let stamp = state.stamp();
        if let Some(env) = state.envs.get_mut(project_id).into_iter().flatten().find(|e| e["id"] == env_id) {
            env["value"] = json!(value);
            env["updatedAt"] = json!(stamp);
        }
    }

    /// Someone deletes a variable at Vercel.
    pub fn remove_env_var(&self, project_id: &str, env_id: &str) {
        if let Some(envs) = self.state.lock().unwrap().envs.get_mut(project_id) {
            envs.retain(|e| e["id"] != env_id);
        }
    }

    /// Someone adds a variable at Vercel (Slipway does not own it) of `var_type` (`plain`,
    /// `encrypted` or `sensitive`); returns its id.
    pub fn add_env_var(&self, project_id: &str, key: &str, target: &str, value: &str, var_type: &str) -> String {
        let mut state = self.state.lock().unwrap();
        let id = format!("env_sim{:016}", state.next());
        let stamp = state.stamp();
        state.envs.entry(project_id.to_string()).or_default().push(json!({
            "id": id, "key": key, "value": value, "type": var_type, "target": [target],
            "customEnvironmentIds": [], "configurationId": null, "createdAt": stamp, "updatedAt": stamp,
            "createdBy": USER_ID, "updatedBy": null, "decrypted": false, "securityIssues": [],
        }));
        id
    }

    /// A project's custom environments as stored, by project id.
    pub fn custom_environments(&self, project_id: &str) -> Vec<Value> {
        self.state.lock().unwrap().custom_environments.get(project_id).cloned().unwrap_or_default()
    }

    /// The default branch of `repository` (`owner/name`) at GitHub; `main` unless set.
    pub fn set_default_branch(&self, repository: &str, branch: &str) {
        self.state.lock().unwrap().default_branches.insert(repository.to_string(), branch.to_string());
    }

    /// Makes `repository` invisible to the Vercel GitHub App, as a private repository of an
    /// organization that has not installed it is.
    pub fn hide_repository(&self, repository: &str) {
        self.state.lock().unwrap().hidden_repositories.push(repository.to_string());
    }

    /// Every deployment, oldest first, as the API would return it.
    pub fn deployments(&self) -> Vec<Value> {
        self.state.lock().unwrap().deployments.iter().map(SimDeployment::json).collect()
    }

    /// Every project, as the API would return it.
    pub fn projects(&self) -> Vec<Value> {
        self.state.lock().unwrap().projects.iter().map(|(_, p)| p.clone()).collect()
    }
}

type Shared = Arc<Mutex<SimState>>;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Scope {
    team_id: Option<String>,
    slug: Option<String>,
}

impl Scope {
    fn key(&self) -> Option<String> {
        self.team_id.clone().or_else(|| self.slug.clone())
    }
}

/// `POST /v11/projects` body: exactly the properties the official schema allows
/// (`additionalProperties: false`); loosely typed where Slipway never sends the field.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[allow(dead_code)] // fields exist to be validated, not read
struct CreateProjectBody {
    name: String,
    enable_preview_feedback: Option<bool>,
    enable_production_feedback: Option<bool>,
    preview_deployments_disabled: Option<bool>,
    build_command: Option<String>,
    command_for_ignoring_build_step: Option<String>,
    dev_command: Option<String>,
    environment_variables: Option<Vec<Value>>,
    #[serde(default, deserialize_with = "nullable")]
    framework: Option<Option<String>>,
    git_repository: Option<GitRepositoryBody>,
    install_command: Option<String>,
    skip_git_connect_during_link: Option<bool>,
    sso_protection: Option<Value>,
    output_directory: Option<String>,
    public_source: Option<bool>,
    root_directory: Option<String>,
    serverless_function_region: Option<String>,
    serverless_function_zero_config_failover: Option<bool>,
    oidc_token_config: Option<Value>,
    enable_affected_projects_deployments: Option<bool>,
    resource_config: Option<Value>,
}

/// Tells "absent" (None) from "null" (Some(None)).
fn nullable<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Ok(Some(Option::deserialize(d)?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GitRepositoryBody {
    #[serde(rename = "type")]
    provider: GitProviderBody,
    repo: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum GitProviderBody {
    Github,
    GithubLimited,
    Gitlab,
    Bitbucket,
}

/// The `framework` enum (null = "Other"). The saved 2025-10 spec lists `sanity-v3` and lacks
/// twenty newer values; the API today answers with the enum of the current official SDK
/// (@vercel/sdk 1.28.35, which refuses a project whose framework is outside it), so that list
/// is the one accepted here.
const FRAMEWORKS: &[&str] = &[
    "container",
    "blitzjs",
    "nextjs",
    "gatsby",
    "remix",
    "react-router",
    "astro",
    "hexo",
    "eleventy",
    "docusaurus-2",
    "docusaurus",
    "preact",
    "solidstart-1",
    "solidstart",
    "dojo",
    "ember",
    "vue",
    "scully",
    "ionic-angular",
    "angular",
    "polymer",
    "svelte",
    "sveltekit",
    "sveltekit-1",
    "ionic-react",
    "create-react-app",
    "gridsome",
    "umijs",
    "sapper",
    "saber",
    "stencil",
    "nuxtjs",
    "redwoodjs",
    "hugo",
    "jekyll",
    "brunch",
    "middleman",
    "zola",
    "hydrogen",
    "vite",
    "tanstack-start",
    "tanstack-start-lovable",
    "vitepress",
    "vuepress",
    "parcel",
    "fastapi",
    "flask",
    "fasthtml",
    "django",
    "ash",
    "factory-eve",
    "eve",
    "sanity",
    "sanity-v2",
    "storybook",
    "nitro",
    "hono",
    "express",
    "h3",
    "koa",
    "nestjs",
    "elysia",
    "fastify",
    "xmcp",
    "python",
    "ruby",
    "rust",
    "axum",
    "actix-web",
    "bun",
    "node",
    "go",
    "services",
    "mastra",
];

impl CreateProjectBody {
    fn check(&self) -> Result<(), String> {
        if self.name.chars().count() > 100 {
            return Err("`name` must be at most 100 characters".into());
        }
        vercel_project_name(&self.name).map_err(|e| {
            format!(
                "Project names can be up to 100 characters long and must be lowercase. They can include \
                 letters, digits, and the following characters: '.', '_', '-'. However, they cannot contain \
                 the sequence '---'. (`name` {e})"
            )
        })?;
        for (field, value) in [
            ("buildCommand", &self.build_command),
            ("commandForIgnoringBuildStep", &self.command_for_ignoring_build_step),
            ("devCommand", &self.dev_command),
            ("installCommand", &self.install_command),
            ("outputDirectory", &self.output_directory),
            ("rootDirectory", &self.root_directory),
        ] {
            if value.as_ref().is_some_and(|v| v.chars().count() > 256) {
                return Err(format!("`{field}` must be at most 256 characters"));
            }
        }
        if self.serverless_function_region.as_ref().is_some_and(|r| r.chars().count() > 4) {
            return Err("`serverlessFunctionRegion` must be at most 4 characters".into());
        }
        if let Some(Some(framework)) = &self.framework
            && !FRAMEWORKS.contains(&framework.as_str())
        {
            return Err(format!("`framework` must be one of the supported frameworks (got {framework:?})"));
        }
        Ok(())
    }
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (status, Json(json!({ "error": { "code": code, "message": message } }))).into_response()
}

fn bad_request(message: &str) -> Response {
    error(StatusCode::BAD_REQUEST, "bad_request", message)
}

/// A JSON body as the schema allows it, or Vercel's 400 naming what is wrong.
fn parse_body<T: serde::de::DeserializeOwned>(body: &str) -> Result<T, Response> {
    serde_json::from_str(body).map_err(|err| bad_request(&format!("Invalid request: {err}")))
}

/// Authentication and fault injection, applied to every request before its handler runs:
/// `Some(response)` refuses the request with that response.
fn refusal(state: &Shared, headers: &HeaderMap) -> Option<Response> {
    let mut state = state.lock().unwrap();
    if !state.common.authorized(headers) {
        return Some(error(StatusCode::FORBIDDEN, "forbidden", "Not authorized"));
    }
    // The per-endpoint window: past the limit, the documented 429 until the window resets.
    let endpoint = state.common.endpoint();
    let limit = state.rate_limit_per_minute;
    let counted = state.windows.count(&endpoint, std::time::Duration::from_secs(60));
    let over_limit = (counted.count > limit).then_some(Fault::RateLimited { retry_after_secs: counted.resets_in_secs });
    match over_limit.or_else(|| state.common.draw_fault()) {
        // Connection faults never reach the handler (see `fault_layer`).
        None | Some(Fault::Dropped { .. } | Fault::TimedOut) => None,
        Some(Fault::RateLimited { retry_after_secs }) => {
            let reset = now_ms() / 1000 + retry_after_secs as i64;
            let body = json!({ "error": {
                "code": "rate_limited",
                "message": format!("Rate limit exceeded. Try again in {retry_after_secs} seconds"),
                "limit": { "remaining": 0, "reset": reset, "resetMs": reset * 1000, "total": limit }
            }});
            let mut response = (StatusCode::TOO_MANY_REQUESTS, Json(body)).into_response();
            let headers = response.headers_mut();
            headers.insert("retry-after", HeaderValue::from(retry_after_secs));
            headers.insert("x-ratelimit-limit", HeaderValue::from(limit));
            headers.insert("x-ratelimit-remaining", HeaderValue::from(0));
            headers.insert("x-ratelimit-reset", HeaderValue::from(reset));
            Some(response)
        }
        Some(Fault::ServerError(status)) => Some(error(
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            "internal_server_error",
            "An unexpected internal error occurred",
        )),
    }
}

async fn create_project(
    State(state): State<Shared>,
    SimQuery(scope): SimQuery<Scope>,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> Response {
    guarded(&state, "POST", &uri, &headers, Some(&body), |s| create_project_inner(s, scope.key(), &body)).await
}

fn create_project_inner(state: &mut SimState, team: Option<String>, body: &str) -> Response {
    let body: CreateProjectBody = match parse_body(body) {
        Ok(body) => body,
        Err(refusal) => return refusal,
    };
    if let Err(message) = body.check() {
        return error(StatusCode::BAD_REQUEST, "bad_request", &format!("Invalid request: {message}"));
    }
    if state.projects.iter().any(|(t, p)| *t == team && p["name"] == body.name.as_str()) {
        return error(StatusCode::CONFLICT, "conflict", "A project with the provided name already exists.");
    }
    let seq = state.next_id;
    state.next_id += 1;
    let now = state.stamp();
    let id = format!("prj_sim{seq:020}");
    let account_id = team.clone().unwrap_or_else(|| USER_ID.into());
    if let Some(git) = &body.git_repository
        && state.hidden_repositories.contains(&git.repo)
    {
        // What Vercel answers when its GitHub App cannot see the repository: the official CLI
        // recognises it by `code` and `action` (vercel@58 `connectGitProvider`).
        let body = json!({ "error": {
            "code": "repo_not_found",
            "message": format!("The repository \"{}\" couldn't be found in your linked GitHub account.", git.repo),
            "action": "Install GitHub App",
            "link": "https://github.com/apps/vercel",
        }});
        return (StatusCode::BAD_REQUEST, Json(body)).into_response();
    }
    let link = body.git_repository.as_ref().map(|git| {
        let (org, repo) = git.repo.split_once('/').unwrap_or(("", git.repo.as_str()));
        let production_branch = state.default_branches.get(&git.repo).cloned().unwrap_or_else(|| "main".into());
        let provider = match git.provider {
            GitProviderBody::Github => "github",
            GitProviderBody::GithubLimited => "github-limited",
            GitProviderBody::Gitlab => "gitlab",
            GitProviderBody::Bitbucket => "bitbucket",
        };
        json!({
            "type": provider, "org": org, "repo": repo, "repoId": 100_000 + seq,
            "repoOwnerId": 1000, "gitCredentialId": "cred_sim", "productionBranch": production_branch,
            "deployHooks": [], "sourceless": true, "createdAt": now, "updatedAt": now
        })
    });
    let mut project = json!({
        "accountId": account_id,
        "id": id,
        "name": body.name,
        "nodeVersion": "22.x",
        "directoryListing": false,
        "framework": body.framework.clone().flatten(),
        "buildCommand": body.build_command,
        "installCommand": body.install_command,
        "devCommand": body.dev_command,
        "outputDirectory": body.output_directory,
        "rootDirectory": body.root_directory,
        "previewDeploymentsDisabled": body.preview_deployments_disabled,
        "resourceConfig": { "fluid": true, "functionDefaultRegions": ["iad1"], "functionDefaultTimeout": 300, "functionDefaultMemoryType": "standard" },
        "defaultResourceConfig": { "fluid": true, "functionDefaultRegions": ["iad1"], "functionDefaultTimeout": 300, "functionDefaultMemoryType": "standard" },
        "createdAt": now,
        "updatedAt": now,
        "latestDeployments": [],
        // Neither is in the saved 2025-10 spec; the API sends both today, and the current SDK
        // refuses a project without them. No domain aliases yet; the retention defaults Vercel
        // applies since 2025-10-15 ("Updated defaults for deployment retention").
        "alias": [],
        "deploymentExpiration": {
            "expirationDays": 180, "expirationDaysProduction": 365, "expirationDaysCanceled": 30,
            "expirationDaysErrored": 90, "deploymentsToKeep": 10,
        },
    });
    // An unlinked project has no `link` at all (the schema does not allow null).
    if let Some(link) = link {
        project["link"] = link;
    }
    state.answer_at_edge(domains::production_alias(&body.name));
    state.projects.push((team, project.clone()));
    (StatusCode::OK, Json(project)).into_response()
}

async fn get_project(
    State(state): State<Shared>,
    Path(id_or_name): Path<String>,
    SimQuery(scope): SimQuery<Scope>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    in_project(&state, "GET", &uri, &headers, None, (scope.key(), &id_or_name), |s, project| {
        let found = s.projects.iter().find(|(_, p)| p["id"] == project.as_str()).map(|(_, p)| p.clone());
        (StatusCode::OK, Json(found.unwrap_or_default())).into_response()
    })
    .await
}

async fn unknown_endpoint(State(state): State<Shared>, method: Method, uri: Uri) -> Response {
    let response = error(StatusCode::NOT_FOUND, "not_found", "The requested API endpoint was not found");
    super::deliver(&state, method.as_str(), &uri, None, response).await
}

/// Runs `handle` behind auth and faults, then records and delays like every other endpoint.
async fn guarded(
    state: &Shared,
    method: &str,
    uri: &Uri,
    headers: &HeaderMap,
    body: Option<&str>,
    handle: impl FnOnce(&mut SimState) -> Response,
) -> Response {
    let response = match refusal(state, headers) {
        Some(response) => response,
        None => {
            let mut guard = state.lock().unwrap();
            match foreign_team(&guard, uri) {
                Some(team) => error(
                    StatusCode::FORBIDDEN,
                    "forbidden",
                    &format!("You don't have permission to access the team {team:?}"),
                ),
                None => handle(&mut guard),
            }
        }
    };
    super::deliver(state, method, uri, body, response).await
}

/// A `teamId` or `slug` scope naming a team the token's user is not in. (Resources are kept
/// per scope value as given: the simulator does not map a slug to its team id.)
fn foreign_team(state: &SimState, uri: &Uri) -> Option<String> {
    let scope = Query::<Scope>::try_from_uri(uri).map(|q| q.0).unwrap_or(Scope { team_id: None, slug: None });
    let known = |value: &String| state.teams.iter().any(|t| t.id == *value || t.slug == *value);
    [scope.team_id, scope.slug].into_iter().flatten().find(|value| !known(value))
}

fn team_json(team: &SimTeam) -> Value {
    json!({
        "id": team.id, "slug": team.slug, "name": team.name, "avatar": null, "creatorId": USER_ID,
        "createdAt": 1_700_000_000_000_i64, "updatedAt": 1_700_000_000_000_i64, "description": "The team sandbox mode works in",
        "stagingPrefix": team.slug, "billing": { "plan": "pro", "period": null, "trial": null, "status": "active" },
        "membership": { "confirmed": true, "role": "OWNER", "createdAt": 1_700_000_000_000_i64,
                        "created": 1_700_000_000_000_i64 },
    })
}

async fn list_teams(State(state): State<Shared>, uri: Uri, headers: HeaderMap) -> Response {
    guarded(&state, "GET", &uri, &headers, None, |s| {
        let teams: Vec<Value> = s.teams.iter().map(team_json).collect();
        let count = teams.len();
        Json(json!({ "teams": teams, "pagination": { "count": count, "next": null, "prev": null } })).into_response()
    })
    .await
}

async fn get_team(State(state): State<Shared>, Path(team_id): Path<String>, uri: Uri, headers: HeaderMap) -> Response {
    guarded(&state, "GET", &uri, &headers, None, |s| {
        match s.teams.iter().find(|t| t.id == team_id || t.slug == team_id) {
            Some(team) => Json(team_json(team)).into_response(),
            None => error(StatusCode::NOT_FOUND, "not_found", "Team was not found."),
        }
    })
    .await
}

/// Like [`guarded`], for endpoints under a project: 404 unless `project` (team scope, id or
/// name) exists; `handle` gets the project's id.
async fn in_project(
    state: &Shared,
    method: &str,
    uri: &Uri,
    headers: &HeaderMap,
    body: Option<&str>,
    (team, id_or_name): (Option<String>, &str),
    handle: impl FnOnce(&mut SimState, String) -> Response,
) -> Response {
    guarded(state, method, uri, headers, body, |s| match s.project_id(&team, id_or_name) {
        Some(project) => handle(s, project),
        None => error(StatusCode::NOT_FOUND, "not_found", "Project not found"),
    })
    .await
}

async fn get_user(State(state): State<Shared>, uri: Uri, headers: HeaderMap) -> Response {
    guarded(&state, "GET", &uri, &headers, None, |_| {
        Json(json!({ "user": {
            "id": USER_ID, "email": "sandbox@slipway.test", "name": "Slipway Sandbox",
            "username": "slipway-sandbox", "avatar": null, "defaultTeamId": null, "createdAt": 1_700_000_000_000_i64,
            "softBlock": null, "billing": null, "resourceConfig": {}, "stagingPrefix": "slipway-sandbox",
            "hasTrialAvailable": false,
        }}))
        .into_response()
    })
    .await
}

async fn list_projects(
    State(state): State<Shared>,
    SimQuery(scope): SimQuery<Scope>,
    SimQuery(filter): SimQuery<ProjectsQuery>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    guarded(&state, "GET", &uri, &headers, None, |s| {
        let team = scope.key();
        let limit = filter.limit.unwrap_or(20);
        if !(1..=100).contains(&limit) {
            return error(StatusCode::BAD_REQUEST, "bad_request", "Invalid request: `limit` must be between 1 and 100");
        }
        let from: Option<i64> = match filter.from.as_deref().map(str::parse) {
            Some(Ok(from)) => Some(from),
            Some(Err(_)) => {
                return error(StatusCode::BAD_REQUEST, "bad_request", "Invalid request: `from` must be a timestamp");
            }
            None => None,
        };
        let linked_to = |p: &Value, repo: &str| {
            format!("{}/{}", p["link"]["org"].as_str().unwrap_or(""), p["link"]["repo"].as_str().unwrap_or("")) == repo
        };
        // Newest first; `from` continues after the last one seen (a time cursor).
        let mut projects: Vec<Value> = s
            .projects
            .iter()
            .filter(|(t, _)| *t == team)
            .map(|(_, p)| p.clone())
            .filter(|p| filter.search.as_ref().is_none_or(|q| p["name"].as_str().unwrap_or("").contains(q.as_str())))
            .filter(|p| filter.repo.as_ref().is_none_or(|repo| linked_to(p, repo)))
            .filter(|p| from.is_none_or(|from| p["createdAt"].as_i64().unwrap_or(0) < from))
            .collect();
        projects.sort_by_key(|p| std::cmp::Reverse((p["createdAt"].as_i64(), p["id"].as_str().map(str::to_string))));
        let more = projects.len() > limit as usize;
        projects.truncate(limit as usize);
        let next = if more { projects.last().map(|p| p["createdAt"].clone()) } else { None };
        let count = projects.len();
        Json(json!({ "projects": projects, "pagination": { "count": count, "next": next, "prev": null } }))
            .into_response()
    })
    .await
}

#[derive(Debug, Deserialize)]
struct ProjectsQuery {
    search: Option<String>,
    repo: Option<String>,
    limit: Option<u32>,
    from: Option<String>,
}

async fn list_custom_environments(
    State(state): State<Shared>,
    Path(id_or_name): Path<String>,
    SimQuery(scope): SimQuery<Scope>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    in_project(&state, "GET", &uri, &headers, None, (scope.key(), &id_or_name), |s, project| {
        let environments = s.custom_environments.get(&project).cloned().unwrap_or_default();
        Json(json!({ "accountLimit": { "total": 12 }, "environments": environments })).into_response()
    })
    .await
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[allow(dead_code)] // copy_env_vars_from is accepted as the schema allows; copying is not simulated yet
struct CustomEnvironmentBody {
    slug: Option<String>,
    description: Option<String>,
    branch_matcher: Option<BranchMatcherBody>,
    copy_env_vars_from: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BranchMatcherBody {
    #[serde(rename = "type")]
    matcher: BranchMatcherTypeBody,
    pattern: String,
}

#[derive(Debug, Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
enum BranchMatcherTypeBody {
    Equals,
    StartsWith,
    EndsWith,
}

async fn create_custom_environment(
    State(state): State<Shared>,
    Path(id_or_name): Path<String>,
    SimQuery(scope): SimQuery<Scope>,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> Response {
    in_project(&state, "POST", &uri, &headers, Some(&body), (scope.key(), &id_or_name), |s, project| {
        let body: CustomEnvironmentBody = match parse_body(&body) {
            Ok(body) => body,
            Err(refusal) => return refusal,
        };
        let slug = body.slug.unwrap_or_default();
        if let Some(problem) =
            custom_environment_rule(Some(&slug), body.description.as_deref(), body.branch_matcher.as_ref())
        {
            return bad_request(&format!("Invalid request: {problem}"));
        }
        let existing = s.custom_environments.get(&project).into_iter().flatten().any(|e| e["slug"] == slug.as_str());
        if existing {
            return error(
                StatusCode::CONFLICT,
                "conflict",
                &format!("A custom environment named {slug} already exists"),
            );
        }
        let now = now_ms();
        let id = format!("env_simcustom{:012}", s.next());
        let mut environment = json!({
            "id": id, "slug": slug, "type": "preview", "domains": [], "currentDeploymentAliases": [],
            "createdAt": now, "updatedAt": now,
        });
        if let Some(description) = body.description {
            environment["description"] = json!(description);
        }
        if let Some(matcher) = body.branch_matcher {
            environment["branchMatcher"] = json!({ "type": matcher.matcher, "pattern": matcher.pattern });
        }
        s.custom_environments.entry(project).or_default().push(environment.clone());
        (StatusCode::CREATED, Json(environment)).into_response()
    })
    .await
}

/// The rule a custom environment's fields break, if any (a create always has a slug).
fn custom_environment_rule(
    slug: Option<&str>,
    description: Option<&str>,
    matcher: Option<&BranchMatcherBody>,
) -> Option<&'static str> {
    if slug.is_some_and(|s| s.is_empty() || s.chars().count() > 32) {
        Some("`slug` must be 1 to 32 characters")
    } else if slug.is_some_and(|s| ["production", "preview", "development"].contains(&s.to_ascii_lowercase().as_str()))
    {
        Some("`slug` cannot be a standard environment name")
    } else if description.is_some_and(|d| d.chars().count() > 256) {
        Some("`description` must be at most 256 characters")
    } else if matcher.is_some_and(|m| m.pattern.chars().count() > 100) {
        Some("`branchMatcher.pattern` must be at most 100 characters")
    } else {
        None
    }
}

fn custom_environment_index(s: &SimState, project: &str, slug_or_id: &str) -> Option<usize> {
    s.custom_environments.get(project)?.iter().position(|e| e["id"] == slug_or_id || e["slug"] == slug_or_id)
}

async fn get_custom_environment(
    State(state): State<Shared>,
    Path((id_or_name, slug_or_id)): Path<(String, String)>,
    SimQuery(scope): SimQuery<Scope>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    guarded(&state, "GET", &uri, &headers, None, |s| {
        let found = s
            .project_id(&scope.key(), &id_or_name)
            .and_then(|p| custom_environment_index(s, &p, &slug_or_id).map(|i| s.custom_environments[&p][i].clone()));
        match found {
            Some(environment) => Json(environment).into_response(),
            None => error(StatusCode::NOT_FOUND, "not_found", "Custom environment not found"),
        }
    })
    .await
}

async fn delete_custom_environment(
    State(state): State<Shared>,
    Path((id_or_name, slug_or_id)): Path<(String, String)>,
    SimQuery(scope): SimQuery<Scope>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    in_project(&state, "DELETE", &uri, &headers, None, (scope.key(), &id_or_name), |s, project| {
        match custom_environment_index(s, &project, &slug_or_id) {
            Some(index) => {
                let removed = s.custom_environments.get_mut(&project).unwrap().remove(index);
                Json(removed).into_response()
            }
            None => error(StatusCode::NOT_FOUND, "not_found", "Custom environment not found"),
        }
    })
    .await
}

async fn delete_project(
    State(state): State<Shared>,
    Path(id_or_name): Path<String>,
    SimQuery(scope): SimQuery<Scope>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    in_project(&state, "DELETE", &uri, &headers, None, (scope.key(), &id_or_name), |s, project| {
        // Project ids are unique across team scopes.
        s.projects.retain(|(_, p)| p["id"] != project.as_str());
        s.envs.remove(&project);
        s.custom_environments.remove(&project);
        // Its domains go with it (they may be added to another project at once), and so do
        // its deployments.
        s.project_domains.retain(|d| d.project_id() != project);
        s.refresh_edge_answers();
        s.deployments.retain(|d| d.project_id != project);
        StatusCode::NO_CONTENT.into_response()
    })
    .await
}

/// The variable as the API shows it: write-only values are never returned.
fn env_view(env: &Value) -> Value {
    let mut shown = env.clone();
    if shown["type"] != "plain" {
        shown["value"] = json!("");
    }
    shown
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)] // `decrypt` and `source` are accepted as the spec allows; listed values stay hidden
struct EnvListQuery {
    git_branch: Option<String>,
    custom_environment_id: Option<String>,
    custom_environment_slug: Option<String>,
    decrypt: Option<String>,
    source: Option<String>,
}

/// `GET /v10/projects/{idOrName}/env`, filtered by `gitBranch` (variables set for that preview
/// branch) and by custom environment (`customEnvironmentId`, or `customEnvironmentSlug`
/// resolved to it: variables that apply to that environment).
async fn list_envs(
    State(state): State<Shared>,
    Path(id_or_name): Path<String>,
    SimQuery(scope): SimQuery<Scope>,
    SimQuery(filter): SimQuery<EnvListQuery>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    in_project(&state, "GET", &uri, &headers, None, (scope.key(), &id_or_name), |s, project| {
        let environment = match (&filter.custom_environment_id, &filter.custom_environment_slug) {
            (Some(id), _) => Some(id.clone()),
            (None, Some(slug)) => match custom_environment_index(s, &project, slug) {
                Some(index) => {
                    Some(s.custom_environments[&project][index]["id"].as_str().unwrap_or_default().to_string())
                }
                None => return error(StatusCode::NOT_FOUND, "not_found", "Custom environment not found"),
            },
            (None, None) => None,
        };
        let envs: Vec<Value> = s
            .envs
            .get(&project)
            .into_iter()
            .flatten()
            .filter(|e| filter.git_branch.as_ref().is_none_or(|b| e["gitBranch"] == b.as_str()))
            .filter(|e| {
                environment.as_ref().is_none_or(|id| {
                    e["customEnvironmentIds"].as_array().into_iter().flatten().any(|c| c == id.as_str())
                })
            })
            .map(env_view)
            .collect();
        Json(json!({ "envs": envs, "pagination": { "count": envs.len(), "next": null, "prev": null } })).into_response()
    })
    .await
}

/// One variable of a create body, exactly as the schema allows.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct EnvBody {
    key: String,
    value: String,
    #[serde(rename = "type")]
    var_type: EnvTypeBody,
    target: Option<Vec<EnvTargetBody>>,
    git_branch: Option<String>,
    comment: Option<String>,
    custom_environment_ids: Option<Vec<String>>,
}

#[derive(Debug, Deserialize, serde::Serialize, PartialEq, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum EnvTypeBody {
    System,
    Secret,
    Encrypted,
    Plain,
    Sensitive,
}

#[derive(Debug, Deserialize, serde::Serialize, PartialEq, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum EnvTargetBody {
    Production,
    Preview,
    Development,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum EnvBodies {
    Many(Vec<EnvBody>),
    One(Box<EnvBody>),
}

#[derive(Deserialize)]
struct EnvQuery {
    upsert: Option<String>,
    #[serde(rename = "teamId")]
    team_id: Option<String>,
    slug: Option<String>,
}

fn env_failure(key: &str, code: &str, message: String) -> Value {
    json!({ "error": { "code": code, "message": message, "key": key, "envVarKey": key } })
}

async fn create_envs(
    State(state): State<Shared>,
    Path(id_or_name): Path<String>,
    SimQuery(query): SimQuery<EnvQuery>,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> Response {
    let team = query.team_id.clone().or(query.slug.clone());
    let upsert = query.upsert.as_deref() == Some("true");
    in_project(&state, "POST", &uri, &headers, Some(&body), (team, &id_or_name), |s, project| {
        // A body that breaks the schema is refused whole; per-variable conflicts come back in `failed`.
        let (bodies, single) = match serde_json::from_str::<EnvBodies>(&body) {
            Ok(EnvBodies::Many(list)) => (list, false),
            Ok(EnvBodies::One(one)) => (vec![*one], true),
            Err(_) => {
                let detail = serde_json::from_str::<EnvBody>(&body).err().map(|e| e.to_string()).unwrap_or_default();
                return error(StatusCode::BAD_REQUEST, "bad_request", &format!("Invalid request: {detail}"));
            }
        };
        for var in &bodies {
            let targets = var.target.clone().unwrap_or_default();
            if targets.is_empty() && var.custom_environment_ids.as_ref().is_none_or(Vec::is_empty) {
                return error(
                    StatusCode::BAD_REQUEST,
                    "bad_request",
                    "Invalid request: `target` or `customEnvironmentIds` is required",
                );
            }
            if let Some(rule) = env_length_rule(&var.git_branch, &var.comment) {
                return error(StatusCode::BAD_REQUEST, "bad_request", &format!("Invalid request: {rule}"));
            }
        }
        let mut created = Vec::new();
        let mut failed = Vec::new();
        for var in bodies {
            let valid_key = var.key.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && var.key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid_key {
                failed.push(env_failure(
                    &var.key,
                    "invalid_key",
                    format!(
                        "The name of your Environment Variable `{}` is invalid. It must match ^[A-Za-z_][A-Za-z0-9_]*$",
                        var.key
                    ),
                ));
                continue;
            }
            if let Some(&echo) = s.refused_env_keys.get(&var.key) {
                let message = if echo {
                    format!("The value `{}` of `{}` was refused", var.value, var.key)
                } else {
                    format!("Additional permissions are required to create `{}`", var.key)
                };
                failed.push(env_failure(&var.key, "forbidden", message));
                continue;
            }
            let targets = var.target.clone().unwrap_or_default();
            if var.git_branch.is_some() && targets != [EnvTargetBody::Preview] {
                failed.push(env_failure(
                    &var.key,
                    "git_branch_requires_preview",
                    "A Git branch can only be set for the preview target".into(),
                ));
                continue;
            }
            if var.var_type == EnvTypeBody::Sensitive && targets.contains(&EnvTargetBody::Development) {
                failed.push(env_failure(
                    &var.key,
                    "sensitive_env_in_development",
                    "Sensitive Environment Variables can only be created in the Production and Preview environments"
                        .into(),
                ));
                continue;
            }
            let now = s.stamp();
            let id = format!("env_sim{:016}", s.next());
            let mut record = json!({
                "id": id, "key": var.key, "value": var.value, "type": var.var_type, "target": targets,
                "gitBranch": var.git_branch, "comment": var.comment,
                "customEnvironmentIds": var.custom_environment_ids.clone().unwrap_or_default(),
                "configurationId": null, "createdAt": now, "updatedAt": now, "createdBy": USER_ID,
                "updatedBy": null, "decrypted": false,
                // Not in the saved spec; the API lists it on every variable today and the current
                // SDK refuses an env list without it. Nothing here is a readable secret.
                "securityIssues": [],
            });
            // Absent, not null, when unset: the response schema types them as plain strings.
            for optional in ["gitBranch", "comment"] {
                if record[optional].is_null() {
                    record.as_object_mut().unwrap().remove(optional);
                }
            }
            let envs = s.envs.entry(project.clone()).or_default();
            // Same key, same branch, and a target or a custom environment in common.
            let shares = |e: &Value, field: &str| {
                e[field]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|t| record[field].as_array().into_iter().flatten().any(|u| u == t))
            };
            let overlaps = |e: &Value| {
                e["key"] == var.key.as_str()
                    && e["gitBranch"] == record["gitBranch"]
                    && (shares(e, "target") || shares(e, "customEnvironmentIds"))
            };
            match envs.iter().position(overlaps) {
                Some(existing) if upsert => {
                    record["id"] = envs[existing]["id"].clone();
                    record["createdAt"] = envs[existing]["createdAt"].clone();
                    envs[existing] = record.clone();
                    created.push(env_view(&record));
                }
                Some(_) => failed.push(env_failure(
                    &var.key,
                    "ENV_ALREADY_EXISTS",
                    format!(
                        "A variable with the name `{}` already exists for the target {} on branch undefined",
                        var.key,
                        targets.iter().map(|t| format!("{t:?}").to_lowercase()).collect::<Vec<_>>().join(",")
                    ),
                )),
                None => {
                    envs.push(record.clone());
                    created.push(env_view(&record));
                }
            }
        }
        let created = if single && created.len() == 1 { created.remove(0) } else { Value::Array(created) };
        (StatusCode::CREATED, Json(json!({ "created": created, "failed": failed }))).into_response()
    })
    .await
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct EnvPatchBody {
    key: Option<String>,
    target: Option<Vec<EnvTargetBody>>,
    git_branch: Option<String>,
    #[serde(rename = "type")]
    var_type: Option<EnvTypeBody>,
    value: Option<String>,
    custom_environment_ids: Option<Vec<String>>,
    comment: Option<String>,
}

/// The length limits the schema puts on a variable's branch and comment.
fn env_length_rule(git_branch: &Option<String>, comment: &Option<String>) -> Option<&'static str> {
    if git_branch.as_ref().is_some_and(|b| b.chars().count() > 250) {
        Some("`gitBranch` must be at most 250 characters")
    } else if comment.as_ref().is_some_and(|c| c.chars().count() > 500) {
        Some("`comment` must be at most 500 characters")
    } else {
        None
    }
}

async fn edit_env(
    State(state): State<Shared>,
    Path((id_or_name, env_id)): Path<(String, String)>,
    SimQuery(scope): SimQuery<Scope>,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> Response {
    in_project(&state, "PATCH", &uri, &headers, Some(&body), (scope.key(), &id_or_name), |s, project| {
        let patch: EnvPatchBody = match parse_body(&body) {
            Ok(patch) => patch,
            Err(refusal) => return refusal,
        };
        if let Some(rule) = env_length_rule(&patch.git_branch, &patch.comment) {
            return error(StatusCode::BAD_REQUEST, "bad_request", &format!("Invalid request: {rule}"));
        }
        let Some(env) = s.envs.get_mut(&project).and_then(|envs| envs.iter_mut().find(|e| e["id"] == env_id.as_str()))
        else {
            return error(StatusCode::NOT_FOUND, "not_found", "Environment Variable not found");
        };
        if let Some(key) = patch.key {
            env["key"] = json!(key);
        }
        if let Some(target) = patch.target {
            env["target"] = json!(target);
        }
        if let Some(branch) = patch.git_branch {
            env["gitBranch"] = json!(branch);
        }
        if let Some(var_type) = patch.var_type {
            env["type"] = json!(var_type);
        }
        if let Some(value) = patch.value {
            env["value"] = json!(value);
        }
        if let Some(ids) = patch.custom_environment_ids {
            env["customEnvironmentIds"] = json!(ids);
        }
        if let Some(comment) = patch.comment {
            env["comment"] = json!(comment);
        }
        env["updatedAt"] = json!(now_ms());
        Json(env_view(env)).into_response()
    })
    .await
}

/// `GET /v3/env/pull/{idOrName}/{target}` (the CLI's `env pull`): the variables of one target
/// (`production`, `preview`, `development`, or a custom environment's slug or id) as a
/// `KEY: value` map, values decrypted; sensitive variables are write-only and stay out.
async fn pull_envs(
    State(state): State<Shared>,
    Path((id_or_name, target)): Path<(String, String)>,
    SimQuery(scope): SimQuery<Scope>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    pull(state, id_or_name, target, None, scope, uri, headers).await
}

/// The same for one preview branch: its branch-specific values win over the general ones.
async fn pull_envs_for_branch(
    State(state): State<Shared>,
    Path((id_or_name, target, git_branch)): Path<(String, String, String)>,
    SimQuery(scope): SimQuery<Scope>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    pull(state, id_or_name, target, Some(git_branch), scope, uri, headers).await
}

async fn pull(
    state: Shared,
    id_or_name: String,
    target: String,
    git_branch: Option<String>,
    scope: Scope,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    in_project(&state, "GET", &uri, &headers, None, (scope.key(), &id_or_name), |s, project| {
        let standard = ["production", "preview", "development"].contains(&target.as_str());
        let custom = if standard {
            None
        } else {
            match custom_environment_index(s, &project, &target) {
                Some(index) => Some(s.custom_environments[&project][index]["id"].clone()),
                None => return error(StatusCode::NOT_FOUND, "not_found", "Custom environment not found"),
            }
        };
        let applies = |e: &&Value| match &custom {
            Some(id) => e["customEnvironmentIds"].as_array().into_iter().flatten().any(|c| c == id),
            None => e["target"].as_array().into_iter().flatten().any(|t| t == target.as_str()),
        };
        let mut vars: Vec<&Value> = s
            .envs
            .get(&project)
            .into_iter()
            .flatten()
            .filter(applies)
            .filter(|e| e["type"] != "sensitive")
            .filter(|e| e["gitBranch"].is_null() || e["gitBranch"].as_str() == git_branch.as_deref())
            .collect();
        // Branch-specific values last, so they replace the general ones in the map.
        vars.sort_by_key(|e| !e["gitBranch"].is_null());
        let env: serde_json::Map<String, Value> =
            vars.into_iter().map(|e| (e["key"].as_str().unwrap_or_default().to_string(), e["value"].clone())).collect();
        Json(json!({ "env": env })).into_response()
    })
    .await
}

async fn delete_env(
    State(state): State<Shared>,
    Path((id_or_name, env_id)): Path<(String, String)>,
    SimQuery(scope): SimQuery<Scope>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    in_project(&state, "DELETE", &uri, &headers, None, (scope.key(), &id_or_name), |s, project| {
        let envs = s.envs.entry(project).or_default();
        match envs.iter().position(|e| e["id"] == env_id.as_str()) {
            Some(index) => Json(env_view(&envs.remove(index))).into_response(),
            None => error(StatusCode::NOT_FOUND, "not_found", "Environment Variable not found"),
        }
    })
    .await
}

struct SimDeployment {
    id: String,
    name: String,
    project_id: String,
    target: Option<String>,
    /// The custom environment deployed into (`customEnvironmentSlugOrId`, as its id).
    custom_environment: Option<String>,
    created: std::time::Instant,
    created_at: i64,
    build_time: std::time::Duration,
    fails: bool,
    canceled: bool,
    /// The variables it was built with: a deployment keeps them, whatever changes later.
    env: BTreeMap<String, String>,
    /// Built fine, but its app answers 500 ([`VercelSim::fail_health_of_next_deployment`]).
    unhealthy: bool,
}

impl SimDeployment {
    fn state(&self) -> &'static str {
        let age = self.created.elapsed();
        if self.canceled {
            "CANCELED"
        } else if age < self.build_time / 3 {
            "QUEUED"
        } else if age < self.build_time {
            "BUILDING"
        } else if self.fails {
            "ERROR"
        } else {
            "READY"
        }
    }

    /// The shorter form deployment lists use.
    fn list_item(&self) -> Value {
        let full = self.json();
        let mut item = json!({
            "uid": self.id, "name": self.name, "projectId": self.project_id, "url": full["url"],
            "created": self.created_at, "createdAt": self.created_at, "buildingAt": self.created_at,
            "state": full["readyState"], "readyState": full["readyState"], "type": "LAMBDAS",
            "creator": { "uid": USER_ID, "username": "slipway-sandbox" }, "inspectorUrl": full["inspectorUrl"],
            "target": self.target, "meta": {}, "source": "git",
        });
        if let Some(ready) = full.get("ready") {
            item["ready"] = ready.clone();
        }
        item
    }

    /// Its generated URL: unique per deployment, as Vercel's are (they name the deployment).
    fn url(&self) -> String {
        let digest = crate::rules::sha256_hex(&self.id);
        format!("{}-{}.{}", self.name, &digest[..9], domains::DEPLOYMENT_ZONE)
    }

    fn json(&self) -> Value {
        let state = self.state();
        let url = self.url();
        let mut body = json!({
            "id": self.id, "name": self.name, "url": url, "projectId": self.project_id,
            "readyState": state, "status": state, "type": "LAMBDAS", "target": self.target,
            "createdAt": self.created_at, "buildingAt": self.created_at, "bootedAt": self.created_at,
            "createdIn": "iad1", "ownerId": USER_ID, "plan": "hobby",
            "inspectorUrl": format!("https://vercel.com/sim/{}/{}", self.name, self.id),
            "aliasAssigned": state == "READY", "buildSkipped": false, "public": false, "version": 2,
            "regions": ["iad1"], "routes": null, "meta": {}, "env": [], "build": { "env": [] },
            "creator": { "uid": USER_ID, "username": "slipway-sandbox" },
            "isInConcurrentBuildsQueue": false, "isInSystemBuildsQueue": false,
            "projectSettings": {},
        });
        if let Some(environment) = &self.custom_environment {
            body["customEnvironment"] = json!({ "id": environment });
        }
        if state == "READY" {
            body["ready"] = json!(self.created_at + self.build_time.as_millis() as i64);
        }
        if state == "ERROR" {
            body["errorCode"] = json!("BUILD_FAILED");
            body["errorMessage"] = json!("The build command exited with 1 (simulated failure)");
        }
        body
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[allow(dead_code)] // fields exist to be validated
struct CreateDeploymentBody {
    name: String,
    custom_environment_slug_or_id: Option<String>,
    deployment_id: Option<String>,
    files: Option<Vec<Value>>,
    git_metadata: Option<Value>,
    git_source: Option<Value>,
    meta: Option<HashMap<String, String>>,
    monorepo_manager: Option<String>,
    project: Option<String>,
    project_settings: Option<Value>,
    target: Option<String>,
    with_latest_commit: Option<bool>,
}

async fn create_deployment(
    State(state): State<Shared>,
    SimQuery(scope): SimQuery<Scope>,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> Response {
    guarded(&state, "POST", &uri, &headers, Some(&body), |s| {
        let body: CreateDeploymentBody = match parse_body(&body) {
            Ok(body) => body,
            Err(refusal) => return refusal,
        };
        if let Some(git) = &body.git_source
            && (git["type"] != "github" || git["ref"].as_str().is_none_or(str::is_empty))
        {
            return error(
                StatusCode::BAD_REQUEST,
                "bad_request",
                "Invalid request: `gitSource` needs type github and a ref",
            );
        }
        let project_key = body.project.clone().unwrap_or_else(|| body.name.clone());
        let Some(project_id) = s.project_id(&scope.key(), &project_key) else {
            return error(StatusCode::NOT_FOUND, "not_found", "Project not found");
        };
        if let Some(previous) = &body.deployment_id
            && !s.deployments.iter().any(|d| d.id == *previous)
        {
            return error(StatusCode::NOT_FOUND, "not_found", "Deployment not found");
        }
        let custom_environment = match &body.custom_environment_slug_or_id {
            Some(wanted) => {
                let environments = s.custom_environments.get(&project_id).cloned().unwrap_or_default();
                match environments.iter().find(|e| e["id"] == wanted.as_str() || e["slug"] == wanted.as_str()) {
                    Some(environment) => environment["id"].as_str().map(str::to_string),
                    None => return error(StatusCode::NOT_FOUND, "not_found", "Custom environment not found"),
                }
            }
            None => None,
        };
        let id = format!("dpl_Sim{:020}", s.next());
        let git_ref = body.git_source.as_ref().and_then(|g| g["ref"].as_str()).map(str::to_string);
        let env = build_env(s, &project_id, body.target.as_deref(), custom_environment.as_deref(), git_ref.as_deref());
        let deployment = SimDeployment {
            id,
            name: body.name,
            project_id,
            target: body.target,
            custom_environment,
            created: std::time::Instant::now(),
            created_at: s.stamp(),
            build_time: s.build_time,
            fails: std::mem::take(&mut s.fail_next_deployment),
            canceled: false,
            env,
            unhealthy: std::mem::take(&mut s.fail_next_health),
        };
        let answer = deployment.json();
        s.answer_at_edge(deployment.url());
        s.deployments.push(deployment);
        Json(answer).into_response()
    })
    .await
}

/// The variables a new deployment is built with: the project's values for its target (a
/// custom environment's, production's, or preview's with the branch's own values winning).
fn build_env(
    s: &SimState,
    project_id: &str,
    target: Option<&str>,
    custom_environment: Option<&str>,
    git_ref: Option<&str>,
) -> BTreeMap<String, String> {
    let target = target.unwrap_or("preview");
    let applies = |e: &&Value| match custom_environment {
        Some(id) => e["customEnvironmentIds"].as_array().into_iter().flatten().any(|c| c == id),
        None => e["target"].as_array().into_iter().flatten().any(|t| t == target),
    };
    let mut vars: Vec<&Value> = s
        .envs
        .get(project_id)
        .into_iter()
        .flatten()
        .filter(applies)
        .filter(|e| e["gitBranch"].is_null() || (target == "preview" && e["gitBranch"].as_str() == git_ref))
        .collect();
    vars.sort_by_key(|e| !e["gitBranch"].is_null());
    vars.into_iter().filter_map(|e| Some((e["key"].as_str()?.to_string(), e["value"].as_str()?.to_string()))).collect()
}

async fn get_deployment(
    State(state): State<Shared>,
    Path(id_or_url): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    guarded(&state, "GET", &uri, &headers, None, |s| {
        match s.deployments.iter().find(|d| d.id == id_or_url || d.json()["url"] == id_or_url.as_str()) {
            Some(deployment) => Json(deployment.json()).into_response(),
            None => error(StatusCode::NOT_FOUND, "not_found", "Deployment not found"),
        }
    })
    .await
}

/// `GET /v11/deployments/{id}/builds` (the CLI's `inspect`): a git deployment of a framework
/// project is one build of the whole source.
async fn deployment_builds(
    State(state): State<Shared>,
    Path(id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    guarded(&state, "GET", &uri, &headers, None, |s| match s.deployments.iter().find(|d| d.id == id) {
        Some(deployment) => {
            let state = deployment.state();
            Json(json!({ "builds": [{
                "id": format!("bld_{}", &deployment.id[4..]), "deploymentId": deployment.id, "entrypoint": "package.json",
                "readyState": state, "readyStateAt": deployment.created_at, "createdAt": deployment.created_at,
                "use": "@vercel/next", "config": {}, "output": [],
            }]}))
            .into_response()
        }
        None => error(StatusCode::NOT_FOUND, "not_found", "Deployment not found"),
    })
    .await
}

async fn cancel_deployment(
    State(state): State<Shared>,
    Path(id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    guarded(&state, "PATCH", &uri, &headers, None, |s| {
        let Some(deployment) = s.deployments.iter_mut().find(|d| d.id == id) else {
            return error(StatusCode::NOT_FOUND, "not_found", "Deployment not found");
        };
        if deployment.state().ne("QUEUED") && deployment.state().ne("BUILDING") {
            return error(
                StatusCode::BAD_REQUEST,
                "bad_request",
                "Only queued or building deployments can be canceled",
            );
        }
        deployment.canceled = true;
        Json(deployment.json()).into_response()
    })
    .await
}

/// `PATCH /v9/projects/{idOrName}` body: the settings Slipway manages, typed and checked;
/// the rest of the schema's properties accepted as they come (`additionalProperties: false`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct UpdateProjectBody {
    name: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    build_command: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    command_for_ignoring_build_step: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    dev_command: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    install_command: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    output_directory: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    root_directory: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    framework: Option<Option<String>>,
    node_version: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    preview_deployments_disabled: Option<Option<bool>>,
    auto_assign_custom_domains: Option<bool>,
    #[serde(default, deserialize_with = "nullable")]
    public_source: Option<Option<bool>>,
    directory_listing: Option<bool>,
    git_fork_protection: Option<bool>,
    #[serde(rename = "gitLFS")]
    git_lfs: Option<bool>,
    #[serde(flatten)]
    others: HashMap<String, Value>,
}

/// The other properties `PATCH /v9/projects/{idOrName}` allows (accepted, not simulated).
const OTHER_PROJECT_SETTINGS: &[&str] = &[
    "autoExposeSystemEnvs",
    "autoAssignCustomDomainsUpdatedBy",
    "customerSupportCodeVisibility",
    "resourceConfig",
    "serverlessFunctionRegion",
    "serverlessFunctionZeroConfigFailover",
    "skewProtectionBoundaryAt",
    "skewProtectionMaxAge",
    "skipGitConnectDuringLink",
    "sourceFilesOutsideRootDirectory",
    "enablePreviewFeedback",
    "enableProductionFeedback",
    "enableAffectedProjectsDeployments",
    "staticIps",
    "oidcTokenConfig",
    "passwordProtection",
    "ssoProtection",
    "trustedIps",
    "optionsAllowlist",
    "connectConfigurations",
];

/// As the current SDK's closed enum has them (the saved spec stops at 22.x).
const NODE_VERSIONS: &[&str] = &["24.x", "22.x", "20.x", "18.x", "16.x", "14.x", "12.x", "10.x", "8.10.x"];

impl UpdateProjectBody {
    fn check(&self) -> Result<(), String> {
        if let Some(unknown) = self.others.keys().find(|k| !OTHER_PROJECT_SETTINGS.contains(&k.as_str())) {
            return Err(format!("unknown field `{unknown}`"));
        }
        if let Some(name) = &self.name {
            vercel_project_name(name).map_err(|e| format!("`name` {e}"))?;
        }
        for (field, value) in [
            ("buildCommand", &self.build_command),
            ("commandForIgnoringBuildStep", &self.command_for_ignoring_build_step),
            ("devCommand", &self.dev_command),
            ("installCommand", &self.install_command),
            ("outputDirectory", &self.output_directory),
            ("rootDirectory", &self.root_directory),
        ] {
            if value.as_ref().and_then(Option::as_ref).is_some_and(|v| v.chars().count() > 256) {
                return Err(format!("`{field}` must be at most 256 characters"));
            }
        }
        if let Some(Some(framework)) = &self.framework
            && !FRAMEWORKS.contains(&framework.as_str())
        {
            return Err(format!("`framework` must be one of the supported frameworks (got {framework:?})"));
        }
        if let Some(version) = &self.node_version
            && !NODE_VERSIONS.contains(&version.as_str())
        {
            return Err(format!("`nodeVersion` must be one of {}", NODE_VERSIONS.join(", ")));
        }
        Ok(())
    }
}

async fn update_project(
    State(state): State<Shared>,
    Path(id_or_name): Path<String>,
    SimQuery(scope): SimQuery<Scope>,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> Response {
    let team = scope.key();
    in_project(&state, "PATCH", &uri, &headers, Some(&body), (team.clone(), &id_or_name), |s, project| {
        let body: UpdateProjectBody = match parse_body(&body) {
            Ok(body) => body,
            Err(refusal) => return refusal,
        };
        if let Err(rule) = body.check() {
            return error(StatusCode::BAD_REQUEST, "bad_request", &format!("Invalid request: {rule}"));
        }
        if let Some(name) = &body.name
            && s.projects.iter().any(|(t, p)| *t == team && p["name"] == name.as_str() && p["id"] != project.as_str())
        {
            return error(StatusCode::CONFLICT, "conflict", "A project with the provided name already exists.");
        }
        let (_, stored) =
            s.projects.iter_mut().find(|(_, p)| p["id"] == project.as_str()).expect("in_project found it");
        let mut set = |key: &str, value: Value| stored[key] = value;
        if let Some(name) = body.name {
            set("name", json!(name));
        }
        for (key, value) in [
            ("buildCommand", body.build_command),
            ("commandForIgnoringBuildStep", body.command_for_ignoring_build_step),
            ("devCommand", body.dev_command),
            ("installCommand", body.install_command),
            ("outputDirectory", body.output_directory),
            ("rootDirectory", body.root_directory),
            ("framework", body.framework),
        ] {
            if let Some(value) = value {
                set(key, json!(value));
            }
        }
        for (key, value) in
            [("previewDeploymentsDisabled", body.preview_deployments_disabled), ("publicSource", body.public_source)]
        {
            if let Some(value) = value {
                set(key, json!(value));
            }
        }
        for (key, value) in [
            ("autoAssignCustomDomains", body.auto_assign_custom_domains),
            ("directoryListing", body.directory_listing),
            ("gitForkProtection", body.git_fork_protection),
            ("gitLFS", body.git_lfs),
        ] {
            if let Some(value) = value {
                set(key, json!(value));
            }
        }
        if let Some(version) = body.node_version {
            set("nodeVersion", json!(version));
        }
        set("updatedAt", json!(now_ms()));
        Json(stored.clone()).into_response()
    })
    .await
}

async fn get_env(
    State(state): State<Shared>,
    Path((id_or_name, env_id)): Path<(String, String)>,
    SimQuery(scope): SimQuery<Scope>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    in_project(&state, "GET", &uri, &headers, None, (scope.key(), &id_or_name), |s, project| {
        match s.envs.get(&project).into_iter().flatten().find(|e| e["id"] == env_id.as_str()) {
            // One variable is shown decrypted, except sensitive ones, which are write-only.
            Some(env) if env["type"] == "sensitive" => Json(env_view(env)).into_response(),
            Some(env) => {
                let mut shown = env.clone();
                shown["decrypted"] = json!(true);
                Json(shown).into_response()
            }
            None => error(StatusCode::NOT_FOUND, "not_found", "Environment Variable not found"),
        }
    })
    .await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BatchDeleteBody {
    ids: Vec<String>,
}

async fn batch_delete_envs(
    State(state): State<Shared>,
    Path(id_or_name): Path<String>,
    SimQuery(scope): SimQuery<Scope>,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> Response {
    in_project(&state, "DELETE", &uri, &headers, Some(&body), (scope.key(), &id_or_name), |s, project| {
        let body: BatchDeleteBody = match parse_body(&body) {
            Ok(body) => body,
            Err(refusal) => return refusal,
        };
        if body.ids.is_empty() || body.ids.len() > 1000 {
            return error(StatusCode::BAD_REQUEST, "bad_request", "Invalid request: `ids` must hold 1 to 1000 ids");
        }
        let envs = s.envs.entry(project).or_default();
        if let Some(missing) = body.ids.iter().find(|id| !envs.iter().any(|e| e["id"] == id.as_str())) {
            // All or nothing: one unknown id deletes none.
            return error(StatusCode::NOT_FOUND, "not_found", &format!("Environment Variable {missing} not found"));
        }
        envs.retain(|e| !body.ids.iter().any(|id| e["id"] == id.as_str()));
        Json(json!({ "deleted": body.ids.len(), "ids": body.ids })).into_response()
    })
    .await
}

async fn update_custom_environment(
    State(state): State<Shared>,
    Path((id_or_name, slug_or_id)): Path<(String, String)>,
    SimQuery(scope): SimQuery<Scope>,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> Response {
    in_project(&state, "PATCH", &uri, &headers, Some(&body), (scope.key(), &id_or_name), |s, project| {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase", deny_unknown_fields)]
        struct Patch {
            slug: Option<String>,
            description: Option<String>,
            branch_matcher: Option<BranchMatcherBody>,
        }
        let patch: Patch = match parse_body(&body) {
            Ok(patch) => patch,
            Err(refusal) => return refusal,
        };
        if let Some(problem) =
            custom_environment_rule(patch.slug.as_deref(), patch.description.as_deref(), patch.branch_matcher.as_ref())
        {
            return bad_request(&format!("Invalid request: {problem}"));
        }
        let Some(index) = custom_environment_index(s, &project, &slug_or_id) else {
            return error(StatusCode::NOT_FOUND, "not_found", "Custom environment not found");
        };
        let environment = &mut s.custom_environments.get_mut(&project).unwrap()[index];
        if let Some(slug) = patch.slug {
            environment["slug"] = json!(slug);
        }
        if let Some(description) = patch.description {
            environment["description"] = json!(description);
        }
        if let Some(matcher) = patch.branch_matcher {
            environment["branchMatcher"] = json!({ "type": matcher.matcher, "pattern": matcher.pattern });
        }
        environment["updatedAt"] = json!(now_ms());
        Json(environment.clone()).into_response()
    })
    .await
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeploymentsQuery {
    /// "Filter deployments from the given ID or name" (the spec).
    project_id: Option<String>,
    target: Option<String>,
    state: Option<String>,
    limit: Option<u32>,
    until: Option<i64>,
}

/// `GET /v6/deployments` (and `/v7`, the newest SDK's path): newest first, paged by the
/// `until` time cursor.
async fn list_deployments(
    State(state): State<Shared>,
    SimQuery(scope): SimQuery<Scope>,
    SimQuery(query): SimQuery<DeploymentsQuery>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    guarded(&state, "GET", &uri, &headers, None, |s| {
        let limit = query.limit.unwrap_or(20);
        if !(1..=100).contains(&limit) {
            return error(StatusCode::BAD_REQUEST, "bad_request", "Invalid request: `limit` must be between 1 and 100");
        }
        let team = scope.key();
        // A project given by id or name; one that does not exist in this scope has none.
        let project = match &query.project_id {
            Some(id_or_name) => match s.project_id(&team, id_or_name) {
                Some(id) => Some(id),
                None => {
                    return Json(
                        json!({ "deployments": [], "pagination": { "count": 0, "next": null, "prev": null } }),
                    )
                    .into_response();
                }
            },
            None => None,
        };
        let in_scope: Vec<String> = s
            .projects
            .iter()
            .filter(|(t, _)| *t == team)
            .map(|(_, p)| p["id"].as_str().unwrap_or_default().to_string())
            .collect();
        let states: Option<Vec<&str>> = query.state.as_deref().map(|s| s.split(',').collect());
        let mut matching: Vec<Value> = s
            .deployments
            .iter()
            .filter(|d| in_scope.contains(&d.project_id))
            .filter(|d| project.as_ref().is_none_or(|p| d.project_id == *p))
            .filter(|d| query.target.as_ref().is_none_or(|t| d.target.as_deref() == Some(t)))
            .filter(|d| states.as_ref().is_none_or(|states| states.contains(&d.state())))
            .filter(|d| query.until.is_none_or(|until| d.created_at < until))
            .map(SimDeployment::list_item)
            .collect();
        matching.sort_by_key(|d| std::cmp::Reverse(d["created"].as_i64()));
        let more = matching.len() > limit as usize;
        matching.truncate(limit as usize);
        let next = if more { matching.last().map(|d| d["created"].clone()) } else { None };
        let count = matching.len();
        Json(json!({ "deployments": matching, "pagination": { "count": count, "next": next, "prev": null } }))
            .into_response()
    })
    .await
}
