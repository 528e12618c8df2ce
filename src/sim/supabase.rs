//! Supabase Management API simulator: organizations, projects that come up slowly
//! (`UNKNOWN` → `COMING_UP` → `ACTIVE_HEALTHY`, or `INIT_FAILED`), per-service health, API keys
//! and pooler settings, with Supabase's error bodies and its per-scope rate limit headers.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path, Query, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use rand::Rng;
use serde::Deserialize;
use serde_json::{Value, json};

use super::faults::{Fault, FaultPlan};
use super::{RecordedRequest, SimCommon, SimServer};
use crate::platform::supabase::{HEALTH_SERVICES, REGIONS, SMART_GROUPS, valid_slug};

/// How the simulated platform behaves.
#[derive(Debug, Clone)]
pub struct SupabaseSimConfig {
    pub token: String,
    pub faults: FaultPlan,
    /// How long a new project takes to become `ACTIVE_HEALTHY`.
    pub ready_after: Duration,
    /// Requests per minute per scope (Supabase documents 120).
    pub rate_limit_per_minute: u32,
    /// Organizations that exist, as (slug, name).
    pub organizations: Vec<(String, String)>,
}

impl SupabaseSimConfig {
    pub fn new(token: &str) -> Self {
        SupabaseSimConfig {
            token: token.to_string(),
            faults: FaultPlan::default(),
            ready_after: Duration::from_secs(2),
            rate_limit_per_minute: 120,
            organizations: vec![("sandbox-org".into(), "Sandbox organization".into())],
        }
    }
}

struct SimProject {
    reference: String,
    name: String,
    organization_slug: String,
    region: String,
    created_at: String,
    created: Instant,
    init_fails: bool,
    keys: Vec<Value>,
}

impl super::HasCommon for SimState {
    fn common(&mut self) -> &mut SimCommon {
        &mut self.common
    }
}

struct SimState {
    common: SimCommon,
    config: SupabaseSimConfig,
    projects: Vec<SimProject>,
    /// Rate-limit windows per scope: (window start, requests in it).
    windows: HashMap<String, (Instant, u32)>,
    fail_next_init: bool,
    next_id: i64,
}

impl SimState {
    fn status(&self, project: &SimProject) -> &'static str {
        let age = project.created.elapsed();
        if age < self.config.ready_after / 4 {
            "UNKNOWN"
        } else if project.init_fails && age >= self.config.ready_after {
            "INIT_FAILED"
        } else if age < self.config.ready_after {
            "COMING_UP"
        } else {
            "ACTIVE_HEALTHY"
        }
    }

    fn project_json(&self, project: &SimProject, with_database: bool) -> Value {
        let mut body = json!({
            "id": project.reference, "ref": project.reference, "organization_id": project.organization_slug,
            "organization_slug": project.organization_slug, "name": project.name, "region": project.region,
            "created_at": project.created_at, "status": self.status(project),
        });
        if with_database {
            body["database"] = json!({
                "host": format!("db.{}.supabase.co", project.reference), "version": "17.4.1.054",
                "postgres_engine": "17", "release_channel": "ga",
            });
        }
        body
    }
}

/// A running Supabase simulator. Cheap to clone; stops when the last clone is dropped.
#[derive(Clone)]
pub struct SupabaseSim {
    state: Arc<Mutex<SimState>>,
    server: Arc<SimServer>,
}

type Shared = Arc<Mutex<SimState>>;

impl SupabaseSim {
    pub async fn start(config: SupabaseSimConfig) -> std::io::Result<Self> {
        Self::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), config).await
    }

    pub async fn start_on(addr: SocketAddr, config: SupabaseSimConfig) -> std::io::Result<Self> {
        let state = Arc::new(Mutex::new(SimState {
            common: SimCommon::new(&config.token, config.faults.clone()),
            config,
            projects: Vec::new(),
            windows: HashMap::new(),
            fail_next_init: false,
            next_id: 1,
        }));
        let router = Router::new()
            .route("/v1/organizations", get(list_organizations))
            .route("/v1/projects", get(list_projects).post(create_project))
            .route("/v1/projects/{reference}", get(get_project).delete(delete_project))
            .route("/v1/projects/{reference}/health", get(health))
            .route("/v1/projects/{reference}/api-keys", get(api_keys))
            .route("/v1/projects/{reference}/config/database/pooler", get(pooler))
            .fallback(unknown_endpoint)
            .with_state(state.clone());
        let server = SimServer::start(router, addr).await?;
        Ok(SupabaseSim { state, server: Arc::new(server) })
    }

    pub fn base_url(&self) -> String {
        self.server.base_url()
    }

    pub fn set_faults(&self, plan: FaultPlan) {
        self.state.lock().unwrap().common.faults_mut().set_plan(plan);
    }

    pub fn queue_faults(&self, faults: impl IntoIterator<Item = Fault>) {
        self.state.lock().unwrap().common.faults_mut().queue(faults);
    }

    /// The next project created ends in `INIT_FAILED` instead of coming up.
    pub fn fail_next_project_init(&self) {
        self.state.lock().unwrap().fail_next_init = true;
    }

    /// Every project, as `GET /v1/projects/{ref}` would return it.
    pub fn projects(&self) -> Vec<Value> {
        let state = self.state.lock().unwrap();
        state.projects.iter().map(|p| state.project_json(p, true)).collect()
    }

    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state.lock().unwrap().common.requests()
    }
}

fn message(status: StatusCode, text: &str) -> Response {
    (status, Json(json!({ "message": text }))).into_response()
}

/// Auth, faults and the rate limit for one request; `Err` is the refusal to send.
/// `Ok` carries the rate-limit headers every Supabase response has.
fn admit(state: &mut SimState, headers: &HeaderMap, scope: &str) -> Result<[(String, String); 3], Response> {
    if !state.common.authorized(headers) {
        return Err(message(StatusCode::UNAUTHORIZED, "Unauthorized"));
    }
    let limit = state.config.rate_limit_per_minute;
    let now = Instant::now();
    let window = state.windows.entry(scope.to_string()).or_insert((now, 0));
    if now.duration_since(window.0) >= Duration::from_secs(60) {
        *window = (now, 0);
    }
    window.1 += 1;
    let reset = 60u64.saturating_sub(now.duration_since(window.0).as_secs()).max(1);
    let remaining = limit.saturating_sub(window.1);
    let rate_headers = [
        ("x-ratelimit-limit".to_string(), limit.to_string()),
        ("x-ratelimit-remaining".to_string(), remaining.to_string()),
        ("x-ratelimit-reset".to_string(), reset.to_string()),
    ];
    let over_limit = window.1 > limit;
    let fault =
        if over_limit { Some(Fault::RateLimited { retry_after_secs: reset }) } else { state.common.draw_fault() };
    match fault {
        None => Ok(rate_headers),
        Some(Fault::RateLimited { retry_after_secs }) => {
            let mut response = message(StatusCode::TOO_MANY_REQUESTS, "Too many requests");
            for (name, value) in &rate_headers {
                response.headers_mut().insert(name.parse::<axum::http::HeaderName>().unwrap(), value.parse().unwrap());
            }
            // Injected faults say when to come back through the same header.
            if !over_limit {
                response.headers_mut().insert("x-ratelimit-reset", HeaderValue::from(retry_after_secs));
                response.headers_mut().insert("x-ratelimit-remaining", HeaderValue::from(0));
            }
            Err(response)
        }
        Some(Fault::ServerError(status)) => Err(message(
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            "An unexpected error occurred",
        )),
    }
}

/// Runs `handle` behind [`admit`], records the exchange, and applies latency.
async fn respond(
    state: &Shared,
    method: &str,
    uri: &Uri,
    headers: &HeaderMap,
    scope: &str,
    body: Option<&str>,
    handle: impl FnOnce(&mut SimState) -> Response,
) -> Response {
    let response = {
        let mut guard = state.lock().unwrap();
        match admit(&mut guard, headers, scope) {
            Err(refusal) => refusal,
            Ok(rate_headers) => {
                let mut response = handle(&mut guard);
                for (name, value) in rate_headers {
                    response
                        .headers_mut()
                        .insert(name.parse::<axum::http::HeaderName>().unwrap(), value.parse().unwrap());
                }
                response
            }
        }
    };
    super::deliver(state, method, uri, body, response).await
}

fn valid_ref(reference: &str) -> bool {
    reference.len() == 20 && reference.chars().all(|c| c.is_ascii_lowercase())
}

fn find<'a>(state: &'a SimState, reference: &str) -> Result<&'a SimProject, Response> {
    if !valid_ref(reference) {
        return Err(message(StatusCode::BAD_REQUEST, "Invalid project ref: must be 20 lowercase letters"));
    }
    state
        .projects
        .iter()
        .find(|p| p.reference == reference)
        .ok_or_else(|| message(StatusCode::NOT_FOUND, "Project not found"))
}

async fn list_organizations(State(state): State<Shared>, uri: Uri, headers: HeaderMap) -> Response {
    respond(&state, "GET", &uri, &headers, "user", None, |s| {
        let orgs: Vec<Value> = s
            .config
            .organizations
            .iter()
            .map(|(slug, name)| json!({ "id": slug, "slug": slug, "name": name }))
            .collect();
        Json(orgs).into_response()
    })
    .await
}

async fn list_projects(State(state): State<Shared>, uri: Uri, headers: HeaderMap) -> Response {
    respond(&state, "GET", &uri, &headers, "user", None, |s| {
        Json(s.projects.iter().map(|p| s.project_json(p, true)).collect::<Vec<_>>()).into_response()
    })
    .await
}

/// `POST /v1/projects` body: exactly the schema's properties (`additionalProperties: false`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // fields exist to be validated
struct CreateProjectBody {
    db_pass: String,
    name: String,
    organization_id: Option<String>,
    organization_slug: String,
    plan: Option<String>,
    region: Option<String>,
    region_selection: Option<RegionSelectionBody>,
    kps_enabled: Option<bool>,
    desired_instance_size: Option<String>,
    template_url: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RegionSelectionBody {
    #[serde(rename = "type")]
    kind: String,
    code: String,
}

const INSTANCE_SIZES: &[&str] = &[
    "nano",
    "micro",
    "small",
    "medium",
    "large",
    "xlarge",
    "2xlarge",
    "4xlarge",
    "8xlarge",
    "12xlarge",
    "16xlarge",
    "24xlarge",
    "24xlarge_optimized_memory",
    "24xlarge_optimized_cpu",
    "24xlarge_high_memory",
    "48xlarge",
    "48xlarge_optimized_memory",
    "48xlarge_optimized_cpu",
    "48xlarge_high_memory",
];

impl CreateProjectBody {
    /// The region the project lands in, or the rule the body breaks.
    fn region(&self) -> Result<String, String> {
        if self.name.chars().count() > 256 {
            return Err("name must be at most 256 characters".into());
        }
        if !valid_slug(&self.organization_slug) {
            return Err("organization_slug must match ^[\\w-]+$".into());
        }
        if let Some(plan) = &self.plan
            && !["free", "pro"].contains(&plan.as_str())
        {
            return Err("plan must be one of free, pro".into());
        }
        if let Some(size) = &self.desired_instance_size
            && !INSTANCE_SIZES.contains(&size.as_str())
        {
            return Err("desired_instance_size must be a supported instance size".into());
        }
        match (&self.region, &self.region_selection) {
            (Some(_), Some(_)) => Err("Only one of region or region_selection can be specified".into()),
            (Some(region), None) if REGIONS.contains(&region.as_str()) => Ok(region.clone()),
            (Some(_), None) => Err("region must be a supported region".into()),
            (None, Some(sel)) if sel.kind == "specific" && REGIONS.contains(&sel.code.as_str()) => Ok(sel.code.clone()),
            (None, Some(sel)) if sel.kind == "smartGroup" && SMART_GROUPS.contains(&sel.code.as_str()) => {
                Ok(match sel.code.as_str() {
                    "emea" => "eu-central-1",
                    "apac" => "ap-southeast-1",
                    _ => "us-east-1",
                }
                .to_string())
            }
            (None, Some(_)) => Err("region_selection must be {type: specific, code: <region>} or {type: smartGroup, code: americas|emea|apac}".into()),
            (None, None) => Ok("us-east-1".into()),
        }
    }
}

async fn create_project(State(state): State<Shared>, uri: Uri, headers: HeaderMap, body: String) -> Response {
    let scope = serde_json::from_str::<Value>(&body)
        .ok()
        .and_then(|v| v["organization_slug"].as_str().map(|s| format!("create:{s}")))
        .unwrap_or_else(|| "create".into());
    respond(&state, "POST", &uri, &headers, &scope, Some(&body), |s| {
        let body: CreateProjectBody = match serde_json::from_str(&body) {
            Ok(body) => body,
            Err(err) => return message(StatusCode::BAD_REQUEST, &format!("Invalid request body: {err}")),
        };
        let region = match body.region() {
            Ok(region) => region,
            Err(rule) => return message(StatusCode::BAD_REQUEST, &rule),
        };
        if !s.config.organizations.iter().any(|(slug, _)| *slug == body.organization_slug) {
            return message(StatusCode::NOT_FOUND, "Organization not found");
        }
        let mut rng = rand::thread_rng();
        let reference: String = (0..20).map(|_| rng.gen_range(b'a'..=b'z') as char).collect();
        let keys = generated_keys(&reference);
        let project = SimProject {
            reference,
            name: body.name,
            organization_slug: body.organization_slug,
            region,
            created_at: rfc3339_now(),
            created: Instant::now(),
            init_fails: std::mem::take(&mut s.fail_next_init),
            keys,
        };
        let answer = s.project_json(&project, false);
        s.projects.push(project);
        (StatusCode::CREATED, Json(answer)).into_response()
    })
    .await
}

/// An RFC 3339 UTC timestamp (seconds), as the APIs write creation times.
pub(crate) fn rfc3339_now() -> String {
    let secs = crate::time::now_ms() / 1000;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil date from days since the epoch (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

fn random_text(len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::thread_rng();
    (0..len).map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char).collect()
}

/// The four keys a new project has: legacy anon/service_role JWTs and a publishable/secret pair.
fn generated_keys(reference: &str) -> Vec<Value> {
    let jwt = |role: &str| {
        use base64::Engine as _;
        let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
        format!(
            "{}.{}.{}",
            b64(&json!({"alg": "HS256", "typ": "JWT"})),
            b64(&json!({"iss": "supabase", "ref": reference, "role": role})),
            random_text(43)
        )
    };
    vec![
        json!({"id": "anon", "name": "anon", "type": "legacy", "api_key": jwt("anon")}),
        json!({"id": "service_role", "name": "service_role", "type": "legacy", "api_key": jwt("service_role")}),
        json!({"id": uuid::Uuid::new_v4().to_string(), "name": "default", "type": "publishable",
               "prefix": "sb_publishable_", "api_key": format!("sb_publishable_{}", random_text(31))}),
        json!({"id": uuid::Uuid::new_v4().to_string(), "name": "default", "type": "secret", "prefix": "sb_secret_",
               "api_key": format!("sb_secret_{}", random_text(31)), "secret_jwt_template": {"role": "service_role"}}),
    ]
}

async fn get_project(
    State(state): State<Shared>,
    Path(reference): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    respond(&state, "GET", &uri, &headers, &format!("get:{reference}"), None, |s| match find(s, &reference) {
        Ok(project) => Json(s.project_json(project, true)).into_response(),
        Err(refusal) => refusal,
    })
    .await
}

async fn delete_project(
    State(state): State<Shared>,
    Path(reference): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    respond(&state, "DELETE", &uri, &headers, &format!("delete:{reference}"), None, |s| {
        let project = match find(s, &reference) {
            Ok(project) => project,
            Err(refusal) => return refusal,
        };
        if !matches!(s.status(project), "ACTIVE_HEALTHY" | "INIT_FAILED") {
            return message(StatusCode::BAD_REQUEST, "Project not ready for deletion.");
        }
        let (reference_out, name) = (project.reference.clone(), project.name.clone());
        s.next_id += 1;
        let answer = json!({ "id": s.next_id, "ref": reference_out, "name": name });
        s.projects.retain(|p| p.reference != reference);
        Json(answer).into_response()
    })
    .await
}

#[derive(Deserialize)]
struct HealthQuery {
    services: Option<String>,
    timeout_ms: Option<i64>,
}

async fn health(
    State(state): State<Shared>,
    Path(reference): Path<String>,
    Query(query): Query<HealthQuery>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    respond(&state, "GET", &uri, &headers, &format!("health:{reference}"), None, |s| {
        let project = match find(s, &reference) {
            Ok(project) => project,
            Err(refusal) => return refusal,
        };
        let Some(services) = query.services.filter(|v| !v.is_empty()) else {
            return message(StatusCode::BAD_REQUEST, "services is required");
        };
        if query.timeout_ms.is_some_and(|t| !(0..=10_000).contains(&t)) {
            return message(StatusCode::BAD_REQUEST, "timeout_ms must be between 0 and 10000");
        }
        let names: Vec<&str> = services.split(',').collect();
        if let Some(bad) = names.iter().find(|n| !HEALTH_SERVICES.contains(n)) {
            return message(StatusCode::BAD_REQUEST, &format!("services contains an unknown service: {bad}"));
        }
        let status = match s.status(project) {
            "ACTIVE_HEALTHY" => "ACTIVE_HEALTHY",
            "INIT_FAILED" => "UNHEALTHY",
            _ => "COMING_UP",
        };
        let report: Vec<Value> = names
            .iter()
            .map(|name| {
                let mut entry = json!({ "name": name, "healthy": status == "ACTIVE_HEALTHY", "status": status });
                if status == "UNHEALTHY" {
                    entry["error"] = json!("service failed to start");
                }
                entry
            })
            .collect();
        Json(report).into_response()
    })
    .await
}

async fn api_keys(
    State(state): State<Shared>,
    Path(reference): Path<String>,
    RawQuery(raw): RawQuery,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let reveal = raw.unwrap_or_default().split('&').any(|pair| pair == "reveal=true");
    respond(&state, "GET", &uri, &headers, &format!("api-keys:{reference}"), None, |s| {
        let project = match find(s, &reference) {
            Ok(project) => project,
            Err(refusal) => return refusal,
        };
        let keys: Vec<Value> = project
            .keys
            .iter()
            .map(|key| {
                let mut key = key.clone();
                // Without reveal, new-style secret keys come back masked.
                if !reveal && key["type"] == "secret" {
                    key["api_key"] = json!("sb_secret_••••••••");
                }
                key
            })
            .collect();
        Json(keys).into_response()
    })
    .await
}

async fn pooler(State(state): State<Shared>, Path(reference): Path<String>, uri: Uri, headers: HeaderMap) -> Response {
    respond(&state, "GET", &uri, &headers, &format!("pooler:{reference}"), None, |s| {
        let project = match find(s, &reference) {
            Ok(project) => project,
            Err(refusal) => return refusal,
        };
        let host = format!("aws-0-{}.pooler.supabase.com", project.region);
        let user = format!("postgres.{}", project.reference);
        Json(json!([{
            "identifier": project.reference, "database_type": "PRIMARY", "is_using_scram_auth": true,
            "db_user": user, "db_host": host, "db_port": 6543, "db_name": "postgres",
            "connection_string": format!("postgresql://{user}:[YOUR-PASSWORD]@{host}:6543/postgres"),
            "connectionString": format!("postgresql://{user}:[YOUR-PASSWORD]@{host}:6543/postgres"),
            "default_pool_size": 15, "max_client_conn": 200, "pool_mode": "transaction",
        }]))
        .into_response()
    })
    .await
}

async fn unknown_endpoint(State(state): State<Shared>, method: Method, uri: Uri, headers: HeaderMap) -> Response {
    respond(&state, method.as_str(), &uri, &headers, "user", None, |_| {
        message(StatusCode::NOT_FOUND, "Cannot find the requested resource")
    })
    .await
}
