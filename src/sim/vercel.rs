//! Vercel API simulator: projects (`POST /v11/projects`, `GET /v9/projects/{idOrName}`),
//! with Vercel's auth, validation, error bodies and rate-limit responses.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::faults::{Fault, FaultPlan};
use super::{RecordedRequest, SimCommon, SimServer};
use crate::time::now_ms;
use crate::venture::VentureName;

struct SimState {
    common: SimCommon,
    /// Projects with their team scope.
    projects: Vec<(Option<String>, Value)>,
    next_id: u64,
}

/// A running Vercel simulator. Cheap to clone; stops when the last clone is dropped.
#[derive(Clone)]
pub struct VercelSim {
    state: Arc<Mutex<SimState>>,
    server: Arc<SimServer>,
}

impl VercelSim {
    /// Starts on `127.0.0.1` with a random port, accepting only `token`.
    pub async fn start(token: &str, plan: FaultPlan) -> std::io::Result<Self> {
        Self::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), token, plan).await
    }

    pub async fn start_on(addr: SocketAddr, token: &str, plan: FaultPlan) -> std::io::Result<Self> {
        let state =
            Arc::new(Mutex::new(SimState { common: SimCommon::new(token, plan), projects: Vec::new(), next_id: 1 }));
        let router = Router::new()
            .route("/v11/projects", post(create_project))
            .route("/v9/projects/{id_or_name}", get(get_project))
            .fallback(unknown_endpoint)
            .with_state(state.clone());
        let server = SimServer::start(router, addr).await?;
        Ok(VercelSim { state, server: Arc::new(server) })
    }

    pub fn base_url(&self) -> String {
        self.server.base_url()
    }

    pub fn set_faults(&self, plan: FaultPlan) {
        self.state.lock().unwrap().common.faults_mut().set_plan(plan);
    }

    /// The next requests fail with these faults, in order.
    pub fn queue_faults(&self, faults: impl IntoIterator<Item = Fault>) {
        self.state.lock().unwrap().common.faults_mut().queue(faults);
    }

    /// Every project, as the API would return it.
    pub fn projects(&self) -> Vec<Value> {
        self.state.lock().unwrap().projects.iter().map(|(_, p)| p.clone()).collect()
    }

    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state.lock().unwrap().common.requests()
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
fn nullable<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
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

/// The `framework` enum of the official schema (null = "Other").
const FRAMEWORKS: &[&str] = &[
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
    "vitepress",
    "vuepress",
    "parcel",
    "fastapi",
    "flask",
    "fasthtml",
    "sanity-v3",
    "sanity",
    "storybook",
    "nitro",
    "hono",
    "express",
    "h3",
    "nestjs",
    "fastify",
    "xmcp",
];

impl CreateProjectBody {
    fn check(&self) -> Result<(), String> {
        if self.name.chars().count() > 100 {
            return Err("`name` must be at most 100 characters".into());
        }
        VentureName::parse(&self.name).map_err(|e| {
            format!(
                "Project names can be up to 100 characters long and must be lowercase. They can include \
                 letters, digits, and the following characters: '.', '_', '-'. However, they cannot contain \
                 the sequence '---'. (`name` {})",
                e.message
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

/// Authentication and fault injection, applied to every request before its handler runs:
/// `Some(response)` refuses the request with that response.
fn refusal(state: &Shared, headers: &HeaderMap) -> Option<Response> {
    let mut state = state.lock().unwrap();
    if !state.common.authorized(headers) {
        return Some(error(StatusCode::FORBIDDEN, "forbidden", "Not authorized"));
    }
    match state.common.draw_fault() {
        None => None,
        Some(Fault::RateLimited { retry_after_secs }) => {
            let reset = now_ms() / 1000 + retry_after_secs as i64;
            let body = json!({ "error": {
                "code": "rate_limited",
                "message": format!("Rate limit exceeded. Try again in {retry_after_secs} seconds"),
                "limit": { "remaining": 0, "reset": reset, "resetMs": reset * 1000, "total": 100 }
            }});
            let mut response = (StatusCode::TOO_MANY_REQUESTS, Json(body)).into_response();
            let headers = response.headers_mut();
            headers.insert("retry-after", HeaderValue::from(retry_after_secs));
            headers.insert("x-ratelimit-limit", HeaderValue::from(100));
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

/// Records the request and applies the configured latency before the response leaves.
async fn finish(state: &Shared, method: &str, path: String, body: Option<&str>, response: Response) -> Response {
    let (response, answer) = super::buffer_json(response).await;
    let latency = {
        let mut state = state.lock().unwrap();
        state.common.record(RecordedRequest {
            method: method.to_string(),
            path,
            query: String::new(),
            status: response.status().as_u16(),
            body: body.and_then(|b| serde_json::from_str(b).ok()),
            response: answer,
        });
        state.common.latency()
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    response
}

async fn create_project(
    State(state): State<Shared>,
    Query(scope): Query<Scope>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let response = match refusal(&state, &headers) {
        Some(response) => response,
        None => create_project_inner(&state, scope.key(), &body),
    };
    finish(&state, "POST", "/v11/projects".into(), Some(&body), response).await
}

fn create_project_inner(state: &Shared, team: Option<String>, body: &str) -> Response {
    let body: CreateProjectBody = match serde_json::from_str(body) {
        Ok(body) => body,
        Err(err) => return error(StatusCode::BAD_REQUEST, "bad_request", &format!("Invalid request: {err}")),
    };
    if let Err(message) = body.check() {
        return error(StatusCode::BAD_REQUEST, "bad_request", &format!("Invalid request: {message}"));
    }
    let mut state = state.lock().unwrap();
    if state.projects.iter().any(|(t, p)| *t == team && p["name"] == body.name.as_str()) {
        return error(StatusCode::CONFLICT, "conflict", "A project with the provided name already exists.");
    }
    let seq = state.next_id;
    state.next_id += 1;
    let now = now_ms();
    let id = format!("prj_sim{seq:020}");
    let account_id = team.clone().unwrap_or_else(|| "user_sim0000000000000000000001".into());
    let link = body.git_repository.as_ref().map(|git| {
        let (org, repo) = git.repo.split_once('/').unwrap_or(("", git.repo.as_str()));
        let provider = match git.provider {
            GitProviderBody::Github => "github",
            GitProviderBody::GithubLimited => "github-limited",
            GitProviderBody::Gitlab => "gitlab",
            GitProviderBody::Bitbucket => "bitbucket",
        };
        json!({
            "type": provider, "org": org, "repo": repo, "repoId": 100_000 + seq,
            "repoOwnerId": 1000, "gitCredentialId": "cred_sim", "productionBranch": "main",
            "deployHooks": [], "sourceless": true, "createdAt": now, "updatedAt": now
        })
    });
    let project = json!({
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
        "link": link,
        "resourceConfig": { "fluid": true, "functionDefaultRegions": ["iad1"], "functionDefaultTimeout": 300, "functionDefaultMemoryType": "standard" },
        "defaultResourceConfig": { "fluid": true, "functionDefaultRegions": ["iad1"], "functionDefaultTimeout": 300, "functionDefaultMemoryType": "standard" },
        "createdAt": now,
        "updatedAt": now,
        "latestDeployments": [],
    });
    state.projects.push((team, project.clone()));
    (StatusCode::OK, Json(project)).into_response()
}

async fn get_project(
    State(state): State<Shared>,
    Path(id_or_name): Path<String>,
    Query(scope): Query<Scope>,
    headers: HeaderMap,
) -> Response {
    let response = match refusal(&state, &headers) {
        Some(response) => response,
        None => {
            let team = scope.key();
            let state = state.lock().unwrap();
            match state
                .projects
                .iter()
                .find(|(t, p)| *t == team && (p["id"] == id_or_name.as_str() || p["name"] == id_or_name.as_str()))
            {
                Some((_, project)) => (StatusCode::OK, Json(project.clone())).into_response(),
                None => error(StatusCode::NOT_FOUND, "not_found", "Project not found"),
            }
        }
    };
    finish(&state, "GET", format!("/v9/projects/{id_or_name}"), None, response).await
}

async fn unknown_endpoint(State(state): State<Shared>, method: Method, uri: Uri) -> Response {
    let response = error(StatusCode::NOT_FOUND, "not_found", "The requested API endpoint was not found");
    finish(&state, method.as_str(), uri.path().to_string(), None, response).await
}
