//! Supabase Management API simulator: organizations and their paginated project lists, projects
//! that come up slowly (`UNKNOWN` → `COMING_UP` → `ACTIVE_HEALTHY`, or `INIT_FAILED`), per-service
//! health, available regions, API keys (new-style and legacy), JWT signing keys, pooler settings,
//! SQL (recorded, and run on real PostgreSQL when given a server), the database password, auth config, backups and PITR, with
//! Supabase's error bodies and its per-scope rate limit headers.
//!
//! Bodies are validated like the official spec: required fields, enums, lengths, patterns and
//! ranges. Unknown fields are refused only where the spec says `additionalProperties: false`;
//! elsewhere they are ignored, as the API's schema validation strips what it does not know.

pub use crate::database::DATABASE_SHAPE;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use rand::Rng;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::faults::{Fault, FaultPlan};
use super::{RateWindows, SimCommon, SimHandle, SimQuery};
use crate::rules::{
    SUPABASE_HEALTH_SERVICES as HEALTH_SERVICES, SUPABASE_REGIONS as REGIONS, SUPABASE_SMART_GROUPS as SMART_GROUPS,
    now_ms, sha256_hex, valid_slug,
};

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
    /// Whether projects have point-in-time recovery (a paid add-on, so off by default).
    pub pitr_enabled: bool,
    /// A PostgreSQL server URL: each project's `database/query` then runs its SQL for real, in a
    /// database of its own there. Unset, SQL is recorded and answered `[]`.
    pub database_server: Option<String>,
}

impl SupabaseSimConfig {
    pub fn new(token: &str) -> Self {
        SupabaseSimConfig {
            token: token.to_string(),
            faults: FaultPlan::default(),
            ready_after: Duration::from_secs(2),
            rate_limit_per_minute: 120,
            organizations: vec![("sandbox-org".into(), "Sandbox organization".into())],
            pitr_enabled: false,
            database_server: None,
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
    /// The database password, as set at creation or by the last reset: what a deployment's
    /// connection strings must carry to connect.
    db_password: String,
    /// `PUT …/api-keys/legacy?enabled=false` hides anon/service_role from the key list.
    legacy_keys_enabled: bool,
    signing_keys: Vec<SigningKey>,
    /// Every SQL text sent to `…/database/query`, in order.
    queries: Vec<String>,
    /// Stored auth config values (secrets in clear here; answers carry their SHA-256).
    auth_config: Map<String, Value>,
    /// Recovery targets of accepted PITR restores.
    restores: Vec<i64>,
}

struct SigningKey {
    id: String,
    algorithm: String,
    status: String,
    /// Only the public half of asymmetric keys; nothing for HS256.
    public_jwk: Value,
    created_at: String,
    updated_at: String,
}

impl SigningKey {
    fn new(algorithm: String, status: String) -> Self {
        let id = uuid::Uuid::new_v4().to_string();
        let part = || random_text(43);
        let mut public_jwk = match algorithm.as_str() {
            "RS256" => json!({"kty": "RSA", "n": random_text(342), "e": "AQAB"}),
            "ES256" => json!({"kty": "EC", "crv": "P-256", "x": part(), "y": part()}),
            "EdDSA" => json!({"kty": "OKP", "crv": "Ed25519", "x": part()}),
            _ => Value::Null,
        };
        if let Value::Object(jwk) = &mut public_jwk {
            jwk.insert("kid".into(), json!(id));
            jwk.insert("alg".into(), json!(algorithm));
            jwk.insert("use".into(), json!("sig"));
        }
        let now = rfc3339_now();
        SigningKey { id, algorithm, status, public_jwk, created_at: now.clone(), updated_at: now }
    }

    /// `SigningKeyResponse`.
    fn json(&self) -> Value {
        json!({
            "id": self.id, "algorithm": self.algorithm, "status": self.status, "public_jwk": self.public_jwk,
            "created_at": self.created_at, "updated_at": self.updated_at,
        })
    }
}

impl super::HasCommon for SimState {
    fn common(&mut self) -> &mut SimCommon {
        &mut self.common
    }
}

impl super::VendorErrors for SimState {
    fn invalid_query(text: &str) -> Response {
        message(StatusCode::BAD_REQUEST, text)
    }
}

struct SimState {
    common: SimCommon,
    databases: Option<Arc<crate::database::Databases>>,
    config: SupabaseSimConfig,
    projects: Vec<SimProject>,
    /// Rate-limit windows per scope.
    windows: RateWindows,
    fail_next_init: bool,
    next_id: i64,
}

/// Where a project is in its life, `ready_after` after its creation it is up (or failed).
fn project_status(project: &SimProject, ready_after: Duration) -> &'static str {
    let age = project.created.elapsed();
    if age < ready_after / 4 {
        "UNKNOWN"
    } else if project.init_fails && age >= ready_after {
        "INIT_FAILED"
    } else if age < ready_after {
        "COMING_UP"
    } else {
        "ACTIVE_HEALTHY"
    }
}

impl SimState {
    fn status(&self, project: &SimProject) -> &'static str {
        project_status(project, self.config.ready_after)
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

    /// An entry of `GET /v1/organizations/{slug}/projects`.
    fn organization_project_json(&self, project: &SimProject) -> Value {
        let status = self.status(project);
        json!({
            "ref": project.reference, "name": project.name, "cloud_provider": "AWS", "region": project.region,
            "is_branch": false, "status": status, "inserted_at": project.created_at,
            "databases": [{
                "identifier": project.reference, "type": "PRIMARY", "region": project.region,
                "cloud_provider": "AWS", "status": status,
            }],
        })
    }
}

/// A running Supabase simulator. Cheap to clone; stops when the last clone is dropped.
#[derive(Clone)]
pub struct SupabaseSim {
    state: Arc<Mutex<SimState>>,
    handle: SimHandle,
}

impl std::ops::Deref for SupabaseSim {
    type Target = SimHandle;

    fn deref(&self) -> &SimHandle {
        &self.handle
    }
}

type Shared = Arc<Mutex<SimState>>;

impl SupabaseSim {
    pub async fn start(config: SupabaseSimConfig) -> std::io::Result<Self> {
        Self::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), config).await
    }

    pub async fn start_on(addr: SocketAddr, config: SupabaseSimConfig) -> std::io::Result<Self> {
        let state = Arc::new(Mutex::new(SimState {
            common: SimCommon::new(&config.token, config.faults.clone()),
            databases: config.database_server.clone().map(|url| Arc::new(crate::database::Databases::new(url))),
            config,
            projects: Vec::new(),
            windows: RateWindows::default(),
            fail_next_init: false,
            next_id: 1,
        }));
        let router = Router::new()
            .route("/v1/organizations", get(list_organizations))
            .route("/v1/organizations/{slug}", get(get_organization))
            .route("/v1/organizations/{slug}/projects", get(organization_projects))
            .route("/v1/projects", get(list_projects).post(create_project))
            .route("/v1/projects/available-regions", get(available_regions))
            .route("/v1/projects/{reference}", get(get_project).delete(delete_project))
            .route("/v1/projects/{reference}/health", get(health))
            .route("/v1/projects/{reference}/api-keys", get(api_keys).post(create_api_key))
            .route("/v1/projects/{reference}/api-keys/legacy", get(legacy_api_keys).put(set_legacy_api_keys))
            .route("/v1/projects/{reference}/api-keys/{id}", axum::routing::delete(delete_api_key))
            .route("/v1/projects/{reference}/config/auth", get(auth_config).patch(update_auth_config))
            .route("/v1/projects/{reference}/config/auth/signing-keys", get(signing_keys).post(create_signing_key))
            .route("/v1/projects/{reference}/config/auth/signing-keys/{id}", axum::routing::patch(update_signing_key))
            .route("/v1/projects/{reference}/config/database/pooler", get(pooler))
            .route("/v1/projects/{reference}/database/password", axum::routing::patch(update_database_password))
            .route("/v1/projects/{reference}/database/query", post(run_query))
            .route("/v1/projects/{reference}/database/query/read-only", post(run_read_only_query))
            .route("/v1/projects/{reference}/database/backups", get(backups))
            .route("/v1/projects/{reference}/database/backups/restore-pitr", post(restore_pitr))
            .route("/v1/projects/{reference}/database/backups/schedule", get(backup_schedule))
            .fallback(unknown_endpoint)
            .with_state(state.clone());
        let handle = state.lock().unwrap().common.serve(router, addr);
        let handle = handle.await?;
        Ok(SupabaseSim { state, handle })
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

    /// The SQL texts `POST …/database/query` (and `…/read-only`) received for `reference`, in order.
    pub fn queries(&self, reference: &str) -> Vec<String> {
        let state = self.state.lock().unwrap();
        state.projects.iter().find(|p| p.reference == reference).map(|p| p.queries.clone()).unwrap_or_default()
    }

    /// The API keys of `reference` as stored (values in clear).
    pub fn api_keys(&self, reference: &str) -> Vec<Value> {
        let state = self.state.lock().unwrap();
        state.projects.iter().find(|p| p.reference == reference).map(|p| p.keys.clone()).unwrap_or_default()
    }

    /// The project's JWT signing keys, as `GET …/signing-keys` lists them.
    pub fn signing_keys(&self, reference: &str) -> Vec<Value> {
        let state = self.state.lock().unwrap();
        let project = state.projects.iter().find(|p| p.reference == reference);
        project.map(|p| p.signing_keys.iter().map(SigningKey::json).collect()).unwrap_or_default()
    }

    /// The project's database password now (tests compare it with what deployments hold).
    pub fn database_password(&self, reference: &str) -> Option<String> {
        let state = self.state.lock().unwrap();
        state.projects.iter().find(|p| p.reference == reference).map(|p| p.db_password.clone())
    }

    /// The `recovery_time_target_unix` of every PITR restore accepted for `reference`.
    pub fn pitr_restores(&self, reference: &str) -> Vec<i64> {
        let state = self.state.lock().unwrap();
        state.projects.iter().find(|p| p.reference == reference).map(|p| p.restores.clone()).unwrap_or_default()
    }

    /// What would fail for an app running with `env` (a deployment's variables) when it uses
    /// its Supabase credentials now, named by variable and never by value; `None` when they
    /// all work. The project is the one `SUPABASE_URL` names; every `sb_publishable_…` and
    /// `sb_secret_…` value must be one of its API keys (a deleted key answers 401), and every
    /// Postgres password, alone or inside a connection string, its current password.
    pub fn credential_problem(&self, env: &std::collections::BTreeMap<String, String>) -> Option<String> {
        let state = self.state.lock().unwrap();
        let reference = env.get("SUPABASE_URL").and_then(|url| {
            url.strip_prefix("https://").and_then(|rest| rest.strip_suffix(".supabase.co")).map(str::to_string)
        })?;
        let Some(project) = state.projects.iter().find(|p| p.reference == reference) else {
            return Some(format!("SUPABASE_URL names project {reference}, which Supabase does not have"));
        };
        for (key, value) in env {
            let api_key = value.starts_with("sb_secret_") || value.starts_with("sb_publishable_");
            if api_key && !project.keys.iter().any(|k| k["api_key"] == value.as_str()) {
                return Some(format!("{key}: Supabase answers 401 Invalid API key"));
            }
            let password = if key == "POSTGRES_PASSWORD" { Some(value.as_str()) } else { connection_password(value) };
            if let Some(password) = password
                && password != project.db_password
            {
                return Some(format!("{key}: password authentication failed for the database"));
            }
        }
        None
    }
}

/// The password inside a `postgres://user:password@host…` connection string.
fn connection_password(value: &str) -> Option<&str> {
    let rest = value.strip_prefix("postgres://").or_else(|| value.strip_prefix("postgresql://"))?;
    let credentials = rest.split_once('@')?.0;
    Some(credentials.split_once(':')?.1)
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
    let counted = state.windows.count(scope, Duration::from_secs(60));
    let reset = counted.resets_in_secs;
    let remaining = limit.saturating_sub(counted.count);
    let rate_headers = [
        ("x-ratelimit-limit".to_string(), limit.to_string()),
        ("x-ratelimit-remaining".to_string(), remaining.to_string()),
        ("x-ratelimit-reset".to_string(), reset.to_string()),
    ];
    let over_limit = counted.count > limit;
    let fault =
        if over_limit { Some(Fault::RateLimited { retry_after_secs: reset }) } else { state.common.draw_fault() };
    match fault {
        // Connection faults never reach the handler (see `fault_layer`).
        None | Some(Fault::Dropped { .. } | Fault::TimedOut) => Ok(rate_headers),
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
    respond_later(state, method, uri, headers, scope, body, |s| Reply::Now(handle(s))).await
}

/// What a handler answers: at once, or after SQL it runs with the state unlocked.
enum Reply {
    Now(Response),
    Sql { databases: Arc<crate::database::Databases>, reference: String, query: String, read_only: bool },
}

impl Reply {
    async fn into_response(self) -> Response {
        match self {
            Reply::Now(response) => response,
            Reply::Sql { databases, reference, query, read_only } => {
                match databases.run(&reference, &query, read_only).await {
                    Ok(rows) => (StatusCode::CREATED, Json(rows)).into_response(),
                    Err(text) => bad_request(text),
                }
            }
        }
    }
}

/// [`respond`] for handlers whose answer may need the state unlocked first.
async fn respond_later(
    state: &Shared,
    method: &str,
    uri: &Uri,
    headers: &HeaderMap,
    scope: &str,
    body: Option<&str>,
    handle: impl FnOnce(&mut SimState) -> Reply,
) -> Response {
    let (reply, rate_headers) = {
        let mut guard = state.lock().unwrap();
        match admit(&mut guard, headers, scope) {
            Err(refusal) => (Reply::Now(refusal), None),
            Ok(rate_headers) => (handle(&mut guard), Some(rate_headers)),
        }
    };
    let mut response = reply.into_response().await;
    for (name, value) in rate_headers.into_iter().flatten() {
        response.headers_mut().insert(name.parse::<axum::http::HeaderName>().unwrap(), value.parse().unwrap());
    }
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
            db_password: body.db_pass.clone(),
            legacy_keys_enabled: true,
            signing_keys: Vec::new(),
            queries: Vec::new(),
            auth_config: default_auth_config(),
            restores: Vec::new(),
        };
        let answer = s.project_json(&project, false);
        s.projects.push(project);
        (StatusCode::CREATED, Json(answer)).into_response()
    })
    .await
}

/// An RFC 3339 UTC timestamp (seconds), as the APIs write creation times.
pub(crate) fn rfc3339_now() -> String {
    let secs = now_ms() / 1000;
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
        if let Some(databases) = s.databases.clone() {
            tokio::spawn(async move { databases.drop_database(&reference).await });
        }
        Json(answer).into_response()
    })
    .await
}

/// `GET /v1/projects/{ref}/health?services=…&timeout_ms=…`. The spec declares `services` an
/// array in `style: form, explode: true`, i.e. the key repeated (`services=auth&services=db`),
/// which is what the official CLI sends; the real API evidently also takes one comma-joined
/// value (`services=auth,db`), which supabase-management-js sends, so both are accepted.
async fn health(
    State(state): State<Shared>,
    Path(reference): Path<String>,
    SimQuery(pairs): SimQuery<Vec<(String, String)>>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    respond(&state, "GET", &uri, &headers, &format!("health:{reference}"), None, |s| {
        let project = match find(s, &reference) {
            Ok(project) => project,
            Err(refusal) => return refusal,
        };
        let names = super::list_values(&pairs, "services");
        if names.is_empty() {
            return message(StatusCode::BAD_REQUEST, "services is required");
        }
        let timeout = match super::single_value(&pairs, "timeout_ms") {
            Ok(value) => value.map(str::parse::<i64>),
            Err(rule) => return message(StatusCode::BAD_REQUEST, &rule),
        };
        if timeout.is_some_and(|t| t.is_err() || t.is_ok_and(|t| !(0..=10_000).contains(&t))) {
            return message(StatusCode::BAD_REQUEST, "timeout_ms must be an integer between 0 and 10000");
        }
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
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
            // Not in the spec: with legacy keys disabled the JWTs no longer work, so the
            // simulator stops listing them (the simplest reading; the real list may keep them).
            .filter(|key| project.legacy_keys_enabled || key["type"] != "legacy")
            .map(|key| shown_key(key, reveal))
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

fn bad_request(text: impl AsRef<str>) -> Response {
    message(StatusCode::BAD_REQUEST, text.as_ref())
}

/// A JSON object body as `T`, after refusing `null` for the optional fields the spec does not
/// mark nullable (serde would take `null` for absent).
fn parse_body<T: serde::de::DeserializeOwned>(body: &str, not_nullable: &[&str]) -> Result<T, Response> {
    let value: Value = serde_json::from_str(body).map_err(|e| bad_request(format!("Invalid request body: {e}")))?;
    let Some(object) = value.as_object() else {
        return Err(bad_request("Invalid request body: expected a JSON object"));
    };
    if let Some(field) = not_nullable.iter().find(|f| object.get(**f).is_some_and(Value::is_null)) {
        return Err(bad_request(format!("{field} must not be null")));
    }
    serde_json::from_value(value).map_err(|e| bad_request(format!("Invalid request body: {e}")))
}

/// Like [`find`], for handlers that change the project; also gives its status.
fn find_mut<'a>(state: &'a mut SimState, reference: &str) -> Result<(&'a mut SimProject, &'static str), Response> {
    find(state, reference)?;
    let ready_after = state.config.ready_after;
    let project = state.projects.iter_mut().find(|p| p.reference == reference).expect("found above");
    let status = project_status(project, ready_after);
    Ok((project, status))
}

/// A boolean query parameter ("Boolean string, true or false" in the spec).
fn query_flag(raw: &Option<String>, name: &str) -> Result<Option<bool>, Response> {
    let value = raw.as_deref().unwrap_or_default().split('&').find_map(|pair| pair.strip_prefix(&format!("{name}=")));
    match value {
        None => Ok(None),
        Some("true") => Ok(Some(true)),
        Some("false") => Ok(Some(false)),
        Some(_) => Err(bad_request(format!("{name} must be true or false"))),
    }
}

fn valid_uuid(id: &str) -> Result<(), Response> {
    uuid::Uuid::parse_str(id).map(|_| ()).map_err(|_| bad_request("id must be a UUID"))
}

fn now_unix() -> i64 {
    now_ms() / 1000
}

fn organization<'a>(state: &'a SimState, slug: &str) -> Result<&'a (String, String), Response> {
    if !valid_slug(slug) {
        return Err(bad_request("slug must match ^[\\w-]+$"));
    }
    state
        .config
        .organizations
        .iter()
        .find(|(known, _)| known == slug)
        .ok_or_else(|| message(StatusCode::NOT_FOUND, "Organization not found"))
}

async fn get_organization(
    State(state): State<Shared>,
    Path(slug): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    respond(&state, "GET", &uri, &headers, &format!("org:{slug}"), None, |s| match organization(s, &slug) {
        Ok((slug, name)) => Json(json!({
            "id": slug, "name": name, "plan": "free", "opt_in_tags": [], "allowed_release_channels": ["ga"],
        }))
        .into_response(),
        Err(refusal) => refusal,
    })
    .await
}

#[derive(Deserialize)]
struct OrganizationProjectsQuery {
    offset: Option<String>,
    limit: Option<String>,
    search: Option<String>,
    sort: Option<String>,
}

/// `GET /v1/organizations/{slug}/projects`: offset pagination over the organization's projects.
async fn organization_projects(
    State(state): State<Shared>,
    Path(slug): Path<String>,
    SimQuery(query): SimQuery<OrganizationProjectsQuery>,
    // `statuses` is one comma-separated string in the spec; the key repeated is read too.
    SimQuery(pairs): SimQuery<Vec<(String, String)>>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    respond(&state, "GET", &uri, &headers, &format!("org-projects:{slug}"), None, |s| {
        if let Err(refusal) = organization(s, &slug) {
            return refusal;
        }
        let offset = match query.offset.as_deref().map(str::parse::<usize>) {
            None => 0,
            Some(Ok(offset)) => offset,
            Some(Err(_)) => return bad_request("offset must be an integer of at least 0"),
        };
        let limit = match query.limit.as_deref().map(str::parse::<usize>) {
            None => 100,
            Some(Ok(limit)) if (1..=100).contains(&limit) => limit,
            Some(_) => return bad_request("limit must be an integer from 1 to 100"),
        };
        let sort = query.sort.as_deref().unwrap_or("name_asc");
        if !["name_asc", "name_desc", "created_asc", "created_desc"].contains(&sort) {
            return bad_request("sort must be one of name_asc, name_desc, created_asc, created_desc");
        }
        let statuses = super::list_values(&pairs, "statuses");
        let statuses: Vec<&str> = statuses.iter().map(String::as_str).collect();
        if let Some(bad) = statuses.iter().find(|status| !["ACTIVE_HEALTHY", "INACTIVE"].contains(status)) {
            return bad_request(format!("statuses may only contain ACTIVE_HEALTHY and INACTIVE (got {bad:?})"));
        }
        let search = query.search.as_deref().unwrap_or_default().to_lowercase();
        // Projects are kept in creation order, and the sorts are stable.
        let mut matching: Vec<&SimProject> = s
            .projects
            .iter()
            .filter(|p| p.organization_slug == slug && p.name.to_lowercase().contains(&search))
            .filter(|p| statuses.is_empty() || statuses.contains(&s.status(p)))
            .collect();
        match sort {
            "name_asc" => matching.sort_by(|a, b| a.name.cmp(&b.name)),
            "name_desc" => matching.sort_by(|a, b| b.name.cmp(&a.name)),
            "created_desc" => matching.reverse(),
            _ => {}
        }
        let page: Vec<Value> =
            matching.iter().skip(offset).take(limit).map(|p| s.organization_project_json(p)).collect();
        Json(json!({ "projects": page, "pagination": { "count": matching.len(), "limit": limit, "offset": offset } }))
            .into_response()
    })
    .await
}

/// The regions `available-regions` lists, as (code, name, continent).
const REGION_INFO: &[(&str, &str, &str)] = &[
    ("us-east-1", "East US (North Virginia)", "NA"),
    ("us-east-2", "East US (Ohio)", "NA"),
    ("us-west-1", "West US (North California)", "NA"),
    ("us-west-2", "West US (Oregon)", "NA"),
    ("ap-east-1", "East Asia (Hong Kong)", "AS"),
    ("ap-southeast-1", "Southeast Asia (Singapore)", "AS"),
    ("ap-northeast-1", "Northeast Asia (Tokyo)", "AS"),
    ("ap-northeast-2", "Northeast Asia (Seoul)", "AS"),
    ("ap-southeast-2", "Oceania (Sydney)", "OC"),
    ("eu-west-1", "West EU (Ireland)", "EU"),
    ("eu-west-2", "West Europe (London)", "EU"),
    ("eu-west-3", "West EU (Paris)", "EU"),
    ("eu-north-1", "North EU (Stockholm)", "EU"),
    ("eu-central-1", "Central EU (Frankfurt)", "EU"),
    ("eu-central-2", "Central Europe (Zurich)", "EU"),
    ("ca-central-1", "Canada (Central)", "NA"),
    ("ap-south-1", "South Asia (Mumbai)", "AS"),
    ("sa-east-1", "South America (São Paulo)", "SA"),
];

/// The smart group that serves a continent code.
fn smart_group_for(continent: &str) -> &'static str {
    match continent {
        "EU" | "AF" => "emea",
        "AS" | "OC" | "AN" => "apac",
        _ => "americas",
    }
}

#[derive(Deserialize)]
struct AvailableRegionsQuery {
    organization_slug: Option<String>,
    continent: Option<String>,
    desired_instance_size: Option<String>,
}

async fn available_regions(
    State(state): State<Shared>,
    SimQuery(query): SimQuery<AvailableRegionsQuery>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let scope = format!("available-regions:{}", query.organization_slug.as_deref().unwrap_or_default());
    respond(&state, "GET", &uri, &headers, &scope, None, |s| {
        let Some(slug) = query.organization_slug.as_deref() else {
            return bad_request("organization_slug is required");
        };
        if let Err(refusal) = organization(s, slug) {
            return refusal;
        }
        let continent = query.continent.as_deref().unwrap_or("NA");
        if !["NA", "SA", "EU", "AF", "AS", "OC", "AN"].contains(&continent) {
            return bad_request("continent must be one of NA, SA, EU, AF, AS, OC, AN");
        }
        if query.desired_instance_size.as_deref().is_some_and(|size| !INSTANCE_SIZES.contains(&size)) {
            return bad_request("desired_instance_size must be a supported instance size");
        }
        let group = |code: &str| {
            let name = match code {
                "emea" => "Europe, Middle East and Africa",
                "apac" => "Asia-Pacific",
                _ => "Americas",
            };
            json!({ "name": name, "code": code, "type": "smartGroup" })
        };
        let region = |(code, name, _): &(&str, &str, &str)| {
            json!({ "name": name, "code": code, "type": "specific", "provider": "AWS", "status": "capacity" })
        };
        let recommended = smart_group_for(continent);
        let nearby: Vec<Value> =
            REGION_INFO.iter().filter(|(_, _, c)| smart_group_for(c) == recommended).map(region).collect();
        Json(json!({
            "recommendations": { "smartGroup": group(recommended), "specific": nearby },
            "all": {
                "smartGroup": SMART_GROUPS.iter().map(|code| group(code)).collect::<Vec<_>>(),
                "specific": REGION_INFO.iter().map(region).collect::<Vec<_>>(),
            },
        }))
        .into_response()
    })
    .await
}

/// A stored key as answered: without `reveal=true`, secret keys come back masked.
fn shown_key(key: &Value, reveal: bool) -> Value {
    let mut key = key.clone();
    if !reveal && key["type"] == "secret" {
        key["api_key"] = json!("sb_secret_••••••••");
    }
    key
}

/// `POST /v1/projects/{ref}/api-keys` body (`CreateApiKeyBody`, which allows unknown fields).
#[derive(Deserialize)]
struct CreateApiKeyBody {
    #[serde(rename = "type")]
    kind: String,
    name: String,
    description: Option<String>,
    secret_jwt_template: Option<Map<String, Value>>,
}

impl CreateApiKeyBody {
    fn check(&self) -> Result<(), String> {
        if !["publishable", "secret"].contains(&self.kind.as_str()) {
            return Err("type must be one of publishable, secret".into());
        }
        if !(4..=64).contains(&self.name.chars().count()) {
            return Err("name must be 4 to 64 characters".into());
        }
        let mut chars = self.name.chars();
        let first_ok = chars.next().is_some_and(|c| c.is_ascii_lowercase() || c == '_');
        if !first_ok || !chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') {
            return Err("name must match ^[a-z_][a-z0-9_]+$".into());
        }
        Ok(())
    }
}

async fn create_api_key(
    State(state): State<Shared>,
    Path(reference): Path<String>,
    RawQuery(raw): RawQuery,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> Response {
    respond(&state, "POST", &uri, &headers, &format!("api-keys-create:{reference}"), Some(&body), |s| {
        let reveal = match query_flag(&raw, "reveal") {
            Ok(reveal) => reveal.unwrap_or(false),
            Err(refusal) => return refusal,
        };
        let body: CreateApiKeyBody = match parse_body(&body, &["type", "name"]) {
            Ok(body) => body,
            Err(refusal) => return refusal,
        };
        if let Err(rule) = body.check() {
            return bad_request(rule);
        }
        let (project, _) = match find_mut(s, &reference) {
            Ok(found) => found,
            Err(refusal) => return refusal,
        };
        let prefix = format!("sb_{}_", body.kind);
        let now = rfc3339_now();
        let mut key = json!({
            "id": uuid::Uuid::new_v4().to_string(), "name": body.name, "type": body.kind, "prefix": prefix,
            "api_key": format!("{prefix}{}", random_text(31)), "description": body.description,
            "inserted_at": now, "updated_at": now,
        });
        if body.kind == "secret" {
            let template = body
                .secret_jwt_template
                .unwrap_or_else(|| json!({"role": "service_role"}).as_object().cloned().expect("an object"));
            key["secret_jwt_template"] = Value::Object(template);
        }
        project.keys.push(key.clone());
        (StatusCode::CREATED, Json(shown_key(&key, reveal))).into_response()
    })
    .await
}

/// `DELETE /v1/projects/{ref}/api-keys/{id}` (`was_compromised`, `reason`): new-style keys only;
/// the legacy JWTs are switched off through `…/api-keys/legacy` instead.
async fn delete_api_key(
    State(state): State<Shared>,
    Path((reference, id)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    respond(&state, "DELETE", &uri, &headers, &format!("api-keys-delete:{reference}"), None, |s| {
        // `was_compromised` and `reason` only inform Supabase; the key goes either way.
        let reveal = match (query_flag(&raw, "reveal"), query_flag(&raw, "was_compromised")) {
            (Ok(reveal), Ok(_)) => reveal.unwrap_or(false),
            (Err(refusal), _) | (_, Err(refusal)) => return refusal,
        };
        if let Err(refusal) = valid_uuid(&id) {
            return refusal;
        }
        let (project, _) = match find_mut(s, &reference) {
            Ok(found) => found,
            Err(refusal) => return refusal,
        };
        match project.keys.iter().position(|key| key["id"] == id.as_str()) {
            Some(index) => Json(shown_key(&project.keys.remove(index), reveal)).into_response(),
            None => message(StatusCode::NOT_FOUND, "API key not found"),
        }
    })
    .await
}

async fn legacy_api_keys(
    State(state): State<Shared>,
    Path(reference): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    respond(&state, "GET", &uri, &headers, &format!("api-keys-legacy:{reference}"), None, |s| {
        match find(s, &reference) {
            Ok(project) => Json(json!({ "enabled": project.legacy_keys_enabled })).into_response(),
            Err(refusal) => refusal,
        }
    })
    .await
}

async fn set_legacy_api_keys(
    State(state): State<Shared>,
    Path(reference): Path<String>,
    RawQuery(raw): RawQuery,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    respond(&state, "PUT", &uri, &headers, &format!("api-keys-legacy-update:{reference}"), None, |s| {
        let enabled = match query_flag(&raw, "enabled") {
            Ok(Some(enabled)) => enabled,
            Ok(None) => return bad_request("enabled is required (true or false)"),
            Err(refusal) => return refusal,
        };
        match find_mut(s, &reference) {
            Ok((project, _)) => {
                project.legacy_keys_enabled = enabled;
                Json(json!({ "enabled": enabled })).into_response()
            }
            Err(refusal) => refusal,
        }
    })
    .await
}

const SIGNING_ALGORITHMS: &[&str] = &["EdDSA", "ES256", "RS256", "HS256"];
const SIGNING_KEY_STATUSES: &[&str] = &["in_use", "previously_used", "revoked", "standby"];

/// `CreateSigningKeyBody` (`additionalProperties: false`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateSigningKeyBody {
    algorithm: String,
    status: Option<String>,
    private_jwk: Option<Map<String, Value>>,
}

/// `private_jwk` is `oneOf` four closed JWK shapes (RSA, EC P-256, OKP Ed25519, oct); the
/// simulator also wants the shape that fits `algorithm`.
fn check_private_jwk(algorithm: &str, jwk: &Map<String, Value>) -> Result<(), String> {
    const COMMON: &[&str] = &["kid", "use", "key_ops", "ext", "kty", "alg"];
    let (kty, members): (&str, &[&str]) = match algorithm {
        "RS256" => ("RSA", &["n", "e", "d", "p", "q", "dp", "dq", "qi"]),
        "ES256" => ("EC", &["crv", "x", "y", "d"]),
        "EdDSA" => ("OKP", &["crv", "x", "d"]),
        _ => ("oct", &["k"]),
    };
    if jwk.get("kty").and_then(Value::as_str) != Some(kty) {
        return Err(format!("private_jwk.kty must be {kty} for algorithm {algorithm}"));
    }
    if let Some(missing) = members.iter().find(|m| !jwk.get(**m).is_some_and(Value::is_string)) {
        return Err(format!("private_jwk.{missing} is required (a string) for kty {kty}"));
    }
    if let Some(unknown) = jwk.keys().find(|k| !COMMON.contains(&k.as_str()) && !members.contains(&k.as_str())) {
        return Err(format!("private_jwk.{unknown} is not allowed for kty {kty}"));
    }
    let fixed = [
        ("crv", if kty == "EC" { json!("P-256") } else { json!("Ed25519") }),
        ("e", json!("AQAB")),
        ("alg", json!(algorithm)),
        ("use", json!("sig")),
        ("ext", json!(true)),
    ];
    if let Some((member, expected)) = fixed.iter().find(|(m, expected)| jwk.get(*m).is_some_and(|v| v != expected)) {
        return Err(format!("private_jwk.{member} must be {expected}"));
    }
    if jwk.get("k").and_then(Value::as_str).is_some_and(|k| k.chars().count() < 16) {
        return Err("private_jwk.k must be at least 16 characters".into());
    }
    if let Some(ops) = jwk.get("key_ops") {
        let ok = ops.as_array().is_some_and(|ops| {
            ops.len() == 2 && ops.iter().all(|op| op.as_str().is_some_and(|op| ["sign", "verify"].contains(&op)))
        });
        if !ok {
            return Err("private_jwk.key_ops must be two of sign, verify".into());
        }
    }
    Ok(())
}

/// One signing key is `in_use`: a new one takes over and the old one becomes `previously_used`.
fn retire_in_use(project: &mut SimProject, now: &str) {
    for key in project.signing_keys.iter_mut().filter(|k| k.status == "in_use") {
        key.status = "previously_used".into();
        key.updated_at = now.to_string();
    }
}

async fn signing_keys(
    State(state): State<Shared>,
    Path(reference): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    respond(&state, "GET", &uri, &headers, &format!("signing-keys:{reference}"), None, |s| match find(s, &reference) {
        Ok(project) => Json(json!({ "keys": project.signing_keys.iter().map(SigningKey::json).collect::<Vec<_>>() }))
            .into_response(),
        Err(refusal) => refusal,
    })
    .await
}

/// `POST …/config/auth/signing-keys`: a new key, `standby` unless asked for `in_use`. A new
/// project lists no keys: it signs with its legacy JWT secret until keys are added.
async fn create_signing_key(
    State(state): State<Shared>,
    Path(reference): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> Response {
    respond(&state, "POST", &uri, &headers, &format!("signing-keys-create:{reference}"), Some(&body), |s| {
        let body: CreateSigningKeyBody = match parse_body(&body, &["algorithm", "status", "private_jwk"]) {
            Ok(body) => body,
            Err(refusal) => return refusal,
        };
        if !SIGNING_ALGORITHMS.contains(&body.algorithm.as_str()) {
            return bad_request(format!("algorithm must be one of {}", SIGNING_ALGORITHMS.join(", ")));
        }
        let status = body.status.unwrap_or_else(|| "standby".into());
        if !["in_use", "standby"].contains(&status.as_str()) {
            return bad_request("status must be one of in_use, standby");
        }
        if let Some(Err(rule)) = body.private_jwk.as_ref().map(|jwk| check_private_jwk(&body.algorithm, jwk)) {
            return bad_request(rule);
        }
        let (project, _) = match find_mut(s, &reference) {
            Ok(found) => found,
            Err(refusal) => return refusal,
        };
        let key = SigningKey::new(body.algorithm, status);
        if key.status == "in_use" {
            retire_in_use(project, &key.created_at);
        }
        let answer = key.json();
        project.signing_keys.push(key);
        (StatusCode::CREATED, Json(answer)).into_response()
    })
    .await
}

/// `UpdateSigningKeyBody` (`additionalProperties: false`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateSigningKeyBody {
    status: String,
}

/// `PATCH …/signing-keys/{id}`. The spec lists the statuses only; the simulator's rules: one key
/// is `in_use` at a time and promoting another moves it to `previously_used`; the `in_use` key
/// leaves that status only by being replaced (tokens always have a signer); `revoked` is final
/// (such a key can only be deleted).
async fn update_signing_key(
    State(state): State<Shared>,
    Path((reference, id)): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> Response {
    respond(&state, "PATCH", &uri, &headers, &format!("signing-keys-update:{reference}"), Some(&body), |s| {
        let body: UpdateSigningKeyBody = match parse_body(&body, &[]) {
            Ok(body) => body,
            Err(refusal) => return refusal,
        };
        if !SIGNING_KEY_STATUSES.contains(&body.status.as_str()) {
            return bad_request(format!("status must be one of {}", SIGNING_KEY_STATUSES.join(", ")));
        }
        if let Err(refusal) = valid_uuid(&id) {
            return refusal;
        }
        let (project, _) = match find_mut(s, &reference) {
            Ok(found) => found,
            Err(refusal) => return refusal,
        };
        let Some(index) = project.signing_keys.iter().position(|k| k.id == id) else {
            return message(StatusCode::NOT_FOUND, "Signing key not found");
        };
        let current = project.signing_keys[index].status.clone();
        let now = rfc3339_now();
        match (current.as_str(), body.status.as_str()) {
            (current, wanted) if current == wanted => {}
            ("revoked", _) => {
                return bad_request("A revoked signing key cannot change status; it can only be deleted.");
            }
            ("in_use", _) => {
                return bad_request("The in_use signing key is replaced by moving another key to in_use.");
            }
            (_, "in_use") => {
                retire_in_use(project, &now);
                project.signing_keys[index].status = body.status;
                project.signing_keys[index].updated_at = now;
            }
            _ => {
                project.signing_keys[index].status = body.status;
                project.signing_keys[index].updated_at = now;
            }
        }
        Json(project.signing_keys[index].json()).into_response()
    })
    .await
}

#[derive(Clone, Copy)]
enum AuthKind {
    Bool,
    Int,
    Number,
    Str,
}
use AuthKind::{Bool, Int, Number, Str};

/// Every key of `AuthConfigResponse` (all required, most nullable), its JSON type and the value a
/// new project starts with (the recorded real defaults; mail templates left null, i.e. built-in).
const AUTH_CONFIG_FIELDS: &[(&str, AuthKind, &str)] = &[
    ("api_max_request_duration", Int, "10"),
    ("db_max_pool_size", Int, "10"),
    ("db_max_pool_size_unit", Str, r#""connections""#),
    ("disable_signup", Bool, "false"),
    ("external_anonymous_users_enabled", Bool, "false"),
    ("external_apple_additional_client_ids", Str, "null"),
    ("external_apple_client_id", Str, "null"),
    ("external_apple_email_optional", Bool, "false"),
    ("external_apple_enabled", Bool, "false"),
    ("external_apple_secret", Str, "null"),
    ("external_azure_client_id", Str, "null"),
    ("external_azure_email_optional", Bool, "false"),
    ("external_azure_enabled", Bool, "false"),
    ("external_azure_secret", Str, "null"),
    ("external_azure_url", Str, "null"),
    ("external_bitbucket_client_id", Str, "null"),
    ("external_bitbucket_email_optional", Bool, "false"),
    ("external_bitbucket_enabled", Bool, "false"),
    ("external_bitbucket_secret", Str, "null"),
    ("external_discord_client_id", Str, "null"),
    ("external_discord_email_optional", Bool, "false"),
    ("external_discord_enabled", Bool, "false"),
    ("external_discord_secret", Str, "null"),
    ("external_email_enabled", Bool, "true"),
    ("external_facebook_client_id", Str, "null"),
    ("external_facebook_email_optional", Bool, "false"),
    ("external_facebook_enabled", Bool, "false"),
    ("external_facebook_secret", Str, "null"),
    ("external_figma_client_id", Str, "null"),
    ("external_figma_email_optional", Bool, "false"),
    ("external_figma_enabled", Bool, "false"),
    ("external_figma_secret", Str, "null"),
    ("external_github_client_id", Str, "null"),
    ("external_github_email_optional", Bool, "false"),
    ("external_github_enabled", Bool, "false"),
    ("external_github_secret", Str, "null"),
    ("external_gitlab_client_id", Str, "null"),
    ("external_gitlab_email_optional", Bool, "false"),
    ("external_gitlab_enabled", Bool, "false"),
    ("external_gitlab_secret", Str, "null"),
    ("external_gitlab_url", Str, "null"),
    ("external_google_additional_client_ids", Str, "null"),
    ("external_google_client_id", Str, "null"),
    ("external_google_email_optional", Bool, "false"),
    ("external_google_enabled", Bool, "false"),
    ("external_google_secret", Str, "null"),
    ("external_google_skip_nonce_check", Bool, "null"),
    ("external_kakao_client_id", Str, "null"),
    ("external_kakao_email_optional", Bool, "false"),
    ("external_kakao_enabled", Bool, "false"),
    ("external_kakao_secret", Str, "null"),
    ("external_keycloak_client_id", Str, "null"),
    ("external_keycloak_email_optional", Bool, "false"),
    ("external_keycloak_enabled", Bool, "false"),
    ("external_keycloak_secret", Str, "null"),
    ("external_keycloak_url", Str, "null"),
    ("external_linkedin_oidc_client_id", Str, "null"),
    ("external_linkedin_oidc_email_optional", Bool, "false"),
    ("external_linkedin_oidc_enabled", Bool, "false"),
    ("external_linkedin_oidc_secret", Str, "null"),
    ("external_slack_oidc_client_id", Str, "null"),
    ("external_slack_oidc_email_optional", Bool, "false"),
    ("external_slack_oidc_enabled", Bool, "false"),
    ("external_slack_oidc_secret", Str, "null"),
    ("external_notion_client_id", Str, "null"),
    ("external_notion_email_optional", Bool, "false"),
    ("external_notion_enabled", Bool, "false"),
    ("external_notion_secret", Str, "null"),
    ("external_phone_enabled", Bool, "false"),
    ("external_slack_client_id", Str, "null"),
    ("external_slack_email_optional", Bool, "false"),
    ("external_slack_enabled", Bool, "false"),
    ("external_slack_secret", Str, "null"),
    ("external_spotify_client_id", Str, "null"),
    ("external_spotify_email_optional", Bool, "false"),
    ("external_spotify_enabled", Bool, "false"),
    ("external_spotify_secret", Str, "null"),
    ("external_twitch_client_id", Str, "null"),
    ("external_twitch_email_optional", Bool, "false"),
    ("external_twitch_enabled", Bool, "false"),
    ("external_twitch_secret", Str, "null"),
    ("external_twitter_client_id", Str, "null"),
    ("external_twitter_email_optional", Bool, "false"),
    ("external_twitter_enabled", Bool, "false"),
    ("external_twitter_secret", Str, "null"),
    ("external_x_client_id", Str, "null"),
    ("external_x_email_optional", Bool, "false"),
    ("external_x_enabled", Bool, "false"),
    ("external_x_secret", Str, "null"),
    ("external_workos_client_id", Str, "null"),
    ("external_workos_enabled", Bool, "false"),
    ("external_workos_secret", Str, "null"),
    ("external_workos_url", Str, "null"),
    ("external_web3_solana_enabled", Bool, "false"),
    ("external_web3_ethereum_enabled", Bool, "false"),
    ("external_zoom_client_id", Str, "null"),
    ("external_zoom_email_optional", Bool, "false"),
    ("external_zoom_enabled", Bool, "false"),
    ("external_zoom_secret", Str, "null"),
    ("hook_custom_access_token_enabled", Bool, "false"),
    ("hook_custom_access_token_uri", Str, "null"),
    ("hook_custom_access_token_secrets", Str, "null"),
    ("hook_mfa_verification_attempt_enabled", Bool, "false"),
    ("hook_mfa_verification_attempt_uri", Str, "null"),
    ("hook_mfa_verification_attempt_secrets", Str, "null"),
    ("hook_password_verification_attempt_enabled", Bool, "false"),
    ("hook_password_verification_attempt_uri", Str, "null"),
    ("hook_password_verification_attempt_secrets", Str, "null"),
    ("hook_send_sms_enabled", Bool, "false"),
    ("hook_send_sms_uri", Str, "null"),
    ("hook_send_sms_secrets", Str, "null"),
    ("hook_send_email_enabled", Bool, "false"),
    ("hook_send_email_uri", Str, "null"),
    ("hook_send_email_secrets", Str, "null"),
    ("hook_before_user_created_enabled", Bool, "false"),
    ("hook_before_user_created_uri", Str, "null"),
    ("hook_before_user_created_secrets", Str, "null"),
    ("hook_after_user_created_enabled", Bool, "false"),
    ("hook_after_user_created_uri", Str, "null"),
    ("hook_after_user_created_secrets", Str, "null"),
    ("jwt_exp", Int, "3600"),
    ("mailer_allow_unverified_email_sign_ins", Bool, "false"),
    ("mailer_autoconfirm", Bool, "true"),
    ("mailer_otp_exp", Int, "3600"),
    ("mailer_otp_length", Int, "6"),
    ("mailer_secure_email_change_enabled", Bool, "true"),
    ("mailer_subjects_confirmation", Str, r#""Confirm Your Signup""#),
    ("mailer_subjects_email_change", Str, r#""Confirm Email Change""#),
    ("mailer_subjects_invite", Str, r#""You have been invited""#),
    ("mailer_subjects_magic_link", Str, r#""Your Magic Link""#),
    ("mailer_subjects_reauthentication", Str, r#""Confirm Reauthentication""#),
    ("mailer_subjects_recovery", Str, r#""Reset Your Password""#),
    ("mailer_subjects_password_changed_notification", Str, r#""Your password has been changed""#),
    ("mailer_subjects_email_changed_notification", Str, r#""Your email address has been changed""#),
    ("mailer_subjects_phone_changed_notification", Str, r#""Your phone number has been changed""#),
    ("mailer_subjects_mfa_factor_enrolled_notification", Str, r#""A new MFA factor has been enrolled""#),
    ("mailer_subjects_mfa_factor_unenrolled_notification", Str, r#""An MFA factor has been unenrolled""#),
    ("mailer_subjects_identity_linked_notification", Str, r#""A new identity has been linked""#),
    ("mailer_subjects_identity_unlinked_notification", Str, r#""An identity has been unlinked""#),
    ("mailer_templates_confirmation_content", Str, "null"),
    ("mailer_templates_email_change_content", Str, "null"),
    ("mailer_templates_invite_content", Str, "null"),
    ("mailer_templates_magic_link_content", Str, "null"),
    ("mailer_templates_reauthentication_content", Str, "null"),
    ("mailer_templates_recovery_content", Str, "null"),
    ("mailer_templates_password_changed_notification_content", Str, "null"),
    ("mailer_templates_email_changed_notification_content", Str, "null"),
    ("mailer_templates_phone_changed_notification_content", Str, "null"),
    ("mailer_templates_mfa_factor_enrolled_notification_content", Str, "null"),
    ("mailer_templates_mfa_factor_unenrolled_notification_content", Str, "null"),
    ("mailer_templates_identity_linked_notification_content", Str, "null"),
    ("mailer_templates_identity_unlinked_notification_content", Str, "null"),
    ("mailer_notifications_password_changed_enabled", Bool, "false"),
    ("mailer_notifications_email_changed_enabled", Bool, "false"),
    ("mailer_notifications_phone_changed_enabled", Bool, "false"),
    ("mailer_notifications_mfa_factor_enrolled_enabled", Bool, "false"),
    ("mailer_notifications_mfa_factor_unenrolled_enabled", Bool, "false"),
    ("mailer_notifications_identity_linked_enabled", Bool, "false"),
    ("mailer_notifications_identity_unlinked_enabled", Bool, "false"),
    ("mfa_max_enrolled_factors", Int, "10"),
    ("mfa_totp_enroll_enabled", Bool, "false"),
    ("mfa_totp_verify_enabled", Bool, "false"),
    ("mfa_phone_enroll_enabled", Bool, "false"),
    ("mfa_phone_verify_enabled", Bool, "false"),
    ("mfa_web_authn_enroll_enabled", Bool, "false"),
    ("mfa_web_authn_verify_enabled", Bool, "false"),
    ("passkey_enabled", Bool, "false"),
    ("webauthn_rp_display_name", Str, "null"),
    ("webauthn_rp_id", Str, "null"),
    ("webauthn_rp_origins", Str, "null"),
    ("mfa_phone_otp_length", Int, "6"),
    ("mfa_phone_template", Str, r#""Your code is {{ .Code }}""#),
    ("mfa_phone_max_frequency", Int, "5"),
    ("nimbus_oauth_client_id", Str, "null"),
    ("nimbus_oauth_email_optional", Bool, "null"),
    ("nimbus_oauth_client_secret", Str, "null"),
    ("password_hibp_enabled", Bool, "false"),
    ("password_min_length", Int, "8"),
    ("password_required_characters", Str, r#""""#),
    ("rate_limit_anonymous_users", Int, "30"),
    ("rate_limit_email_sent", Int, "2"),
    ("rate_limit_sms_sent", Int, "30"),
    ("rate_limit_token_refresh", Int, "150"),
    ("rate_limit_verify", Int, "30"),
    ("rate_limit_otp", Int, "30"),
    ("rate_limit_web3", Int, "30"),
    ("refresh_token_rotation_enabled", Bool, "true"),
    ("saml_enabled", Bool, "false"),
    ("saml_external_url", Str, "null"),
    ("saml_allow_encrypted_assertions", Bool, "false"),
    ("security_sb_forwarded_for_enabled", Bool, "false"),
    ("security_captcha_enabled", Bool, "false"),
    ("security_captcha_provider", Str, r#""hcaptcha""#),
    ("security_captcha_secret", Str, "null"),
    ("security_manual_linking_enabled", Bool, "false"),
    ("security_refresh_token_reuse_interval", Int, "10"),
    ("security_update_password_require_reauthentication", Bool, "false"),
    ("sessions_inactivity_timeout", Number, "0"),
    ("sessions_single_per_user", Bool, "false"),
    ("sessions_tags", Str, "null"),
    ("sessions_timebox", Number, "0"),
    ("site_url", Str, r#""http://localhost:3000""#),
    ("sms_autoconfirm", Bool, "false"),
    ("sms_max_frequency", Int, "5"),
    ("sms_messagebird_access_key", Str, "null"),
    ("sms_messagebird_originator", Str, "null"),
    ("sms_otp_exp", Int, "60"),
    ("sms_otp_length", Int, "6"),
    ("sms_provider", Str, r#""twilio""#),
    ("sms_template", Str, r#""Your code is {{ .Code }}""#),
    ("sms_test_otp", Str, "null"),
    ("sms_test_otp_valid_until", Str, "null"),
    ("sms_textlocal_api_key", Str, "null"),
    ("sms_textlocal_sender", Str, "null"),
    ("sms_twilio_account_sid", Str, "null"),
    ("sms_twilio_auth_token", Str, "null"),
    ("sms_twilio_content_sid", Str, "null"),
    ("sms_twilio_message_service_sid", Str, "null"),
    ("sms_twilio_verify_account_sid", Str, "null"),
    ("sms_twilio_verify_auth_token", Str, "null"),
    ("sms_twilio_verify_message_service_sid", Str, "null"),
    ("sms_vonage_api_key", Str, "null"),
    ("sms_vonage_api_secret", Str, "null"),
    ("sms_vonage_from", Str, "null"),
    ("smtp_admin_email", Str, "null"),
    ("smtp_host", Str, "null"),
    ("smtp_max_frequency", Int, "1"),
    ("smtp_pass", Str, "null"),
    ("smtp_port", Str, "null"),
    ("smtp_sender_name", Str, "null"),
    ("smtp_user", Str, "null"),
    ("uri_allow_list", Str, r#""""#),
    ("oauth_server_enabled", Bool, "false"),
    ("oauth_server_allow_dynamic_registration", Bool, "false"),
    ("oauth_server_authorization_path", Str, "null"),
    ("custom_oauth_enabled", Bool, "false"),
    ("custom_oauth_max_providers", Int, "3"),
];

/// `UpdateAuthConfigBody` properties that are not nullable.
const AUTH_NOT_NULLABLE: &[&str] = &["mailer_otp_exp", "sms_otp_length", "passkey_enabled", "custom_oauth_enabled"];
/// `AuthConfigResponse` keys that `UpdateAuthConfigBody` does not have.
const AUTH_RESPONSE_ONLY: &[&str] =
    &["custom_oauth_max_providers", "nimbus_oauth_email_optional", "saml_allow_encrypted_assertions"];

fn default_auth_config() -> Map<String, Value> {
    AUTH_CONFIG_FIELDS
        .iter()
        .map(|(name, _, default)| (name.to_string(), serde_json::from_str(default).expect("a JSON default")))
        .collect()
}

/// Credentials the API does not return in clear (supabase/cli compares SHA-256 digests).
fn is_auth_secret(name: &str) -> bool {
    ["_secret", "_secrets", "_pass", "_api_key", "_auth_token", "_access_key"].iter().any(|end| name.ends_with(end))
}

/// `AuthConfigResponse`: every key, credentials as hex SHA-256 digests.
fn auth_config_json(config: &Map<String, Value>) -> Value {
    let shown = config.iter().map(|(name, value)| match value {
        Value::String(secret) if is_auth_secret(name) => {
            // Supabase answers a provider secret with its hex SHA-256, never the secret.
            (name.clone(), json!(sha256_hex(secret)))
        }
        other => (name.clone(), other.clone()),
    });
    Value::Object(shown.collect())
}

/// `^\s*([a-zA-Z0-9_-]+(\s*,+\s*)?)*\s*$`: tags separated by commas.
fn valid_sessions_tags(text: &str) -> bool {
    let tag_char = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    let mut rest = text.trim();
    while !rest.is_empty() {
        let tag_end = rest.find(|c: char| !tag_char(c)).unwrap_or(rest.len());
        if tag_end == 0 {
            return false;
        }
        rest = rest[tag_end..].trim_start();
        if rest.is_empty() {
            break;
        }
        let commas = rest.len() - rest.trim_start_matches(',').len();
        if commas == 0 {
            return false;
        }
        rest = rest[commas..].trim_start();
    }
    true
}

/// `^([0-9]{1,15}=[0-9]+,?)*$`: phone=code pairs (the comma between pairs is optional).
fn valid_sms_test_otp(text: &str) -> bool {
    fn pairs(rest: &[u8]) -> bool {
        if rest.is_empty() {
            return true;
        }
        let phone = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        if !(1..=15).contains(&phone) || rest.get(phone) != Some(&b'=') {
            return false;
        }
        let code = &rest[phone + 1..];
        let digits = code.iter().take_while(|b| b.is_ascii_digit()).count();
        // The code's digits may run into the next pair's phone number: try every split.
        (1..=digits).rev().any(|end| {
            let after = &code[end..];
            pairs(after.strip_prefix(b",").unwrap_or(after))
        })
    }
    pairs(text.as_bytes())
}

/// One `UpdateAuthConfigBody` field against the spec's type, range, pattern, enum and format.
fn check_auth_field(name: &str, kind: AuthKind, value: &Value) -> Result<(), String> {
    if value.is_null() {
        return if AUTH_NOT_NULLABLE.contains(&name) { Err(format!("{name} must not be null")) } else { Ok(()) };
    }
    let (typed, what) = match kind {
        Bool => (value.is_boolean(), "a boolean"),
        Int => (value.is_i64() || value.is_u64(), "an integer"),
        Number => (value.is_number(), "a number"),
        Str => (value.is_string(), "a string"),
    };
    if !typed {
        return Err(format!("{name} must be {what}"));
    }
    const I32: i64 = i32::MAX as i64;
    let range = match name {
        "jwt_exp" => Some((0, 604_800)),
        "smtp_max_frequency"
        | "sms_max_frequency"
        | "mfa_phone_max_frequency"
        | "mfa_phone_otp_length"
        | "sms_otp_length" => Some((0, 32_767)),
        "mfa_max_enrolled_factors" | "security_refresh_token_reuse_interval" | "mailer_otp_exp" | "sms_otp_exp" => {
            Some((0, I32))
        }
        "rate_limit_anonymous_users"
        | "rate_limit_email_sent"
        | "rate_limit_sms_sent"
        | "rate_limit_verify"
        | "rate_limit_token_refresh"
        | "rate_limit_otp"
        | "rate_limit_web3" => Some((1, I32)),
        "password_min_length" => Some((6, 32_767)),
        "mailer_otp_length" => Some((6, 10)),
        _ => None,
    };
    if let Some((min, max)) = range
        && !value.as_i64().is_some_and(|n| (min..=max).contains(&n))
    {
        return Err(format!("{name} must be between {min} and {max}"));
    }
    if matches!(name, "sessions_timebox" | "sessions_inactivity_timeout") && value.as_f64().is_some_and(|n| n < 0.0) {
        return Err(format!("{name} must be at least 0"));
    }
    let text = value.as_str().unwrap_or_default();
    let allowed: Option<&[&str]> = match name {
        "security_captcha_provider" => Some(&["turnstile", "hcaptcha"]),
        "sms_provider" => Some(&["messagebird", "textlocal", "twilio", "twilio_verify", "vonage"]),
        "db_max_pool_size_unit" => Some(&["connections", "percent"]),
        "password_required_characters" => Some(&[
            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ:0123456789",
            "abcdefghijklmnopqrstuvwxyz:ABCDEFGHIJKLMNOPQRSTUVWXYZ:0123456789",
            "abcdefghijklmnopqrstuvwxyz:ABCDEFGHIJKLMNOPQRSTUVWXYZ:0123456789:!@#$%^&*()_+-=[]{};'\\\\:\"|<>?,./`~",
            "",
        ]),
        _ => None,
    };
    if let Some(allowed) = allowed
        && !allowed.contains(&text)
    {
        return Err(format!("{name} must be one of {}", allowed.join(", ")));
    }
    let rule = match name {
        "site_url" | "saml_external_url" if text.is_empty() || text.contains(',') => Some("must match ^[^,]+$"),
        "sessions_tags" if !valid_sessions_tags(text) => Some("must be tags separated by commas"),
        "sms_test_otp" if !valid_sms_test_otp(text) => Some("must match ^([0-9]{1,15}=[0-9]+,?)*$"),
        "smtp_admin_email"
            if !text.split_once('@').is_some_and(|(user, host)| !user.is_empty() && host.contains('.')) =>
        {
            Some("must be an email address")
        }
        "sms_test_otp_valid_until" if !looks_like_date_time(text) => Some("must be an RFC 3339 date-time"),
        _ => None,
    };
    match rule {
        Some(rule) => Err(format!("{name} {rule}")),
        None => Ok(()),
    }
}

/// `YYYY-MM-DDTHH:MM:SS…` with an offset or `Z`: enough to tell a date-time from anything else.
fn looks_like_date_time(text: &str) -> bool {
    let bytes = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| bytes.get(range).is_some_and(|b| b.iter().all(u8::is_ascii_digit));
    digits(0..4)
        && bytes.get(4) == Some(&b'-')
        && digits(5..7)
        && bytes.get(7) == Some(&b'-')
        && digits(8..10)
        && matches!(bytes.get(10), Some(b'T' | b't'))
        && digits(11..13)
        && bytes.get(13) == Some(&b':')
        && digits(14..16)
        && (text.ends_with('Z') || text.ends_with('z') || text[19.min(text.len())..].contains(['+', '-']))
}

async fn auth_config(
    State(state): State<Shared>,
    Path(reference): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    respond(&state, "GET", &uri, &headers, &format!("auth-config:{reference}"), None, |s| match find(s, &reference) {
        Ok(project) => Json(auth_config_json(&project.auth_config)).into_response(),
        Err(refusal) => refusal,
    })
    .await
}

/// `PATCH …/config/auth`: `UpdateAuthConfigBody` has no `additionalProperties: false`, so keys it
/// does not know are ignored; known ones are checked against their rules before any is applied.
async fn update_auth_config(
    State(state): State<Shared>,
    Path(reference): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> Response {
    respond(&state, "PATCH", &uri, &headers, &format!("auth-config-update:{reference}"), Some(&body), |s| {
        let changes = match serde_json::from_str::<Value>(&body) {
            Ok(Value::Object(changes)) => changes,
            Ok(_) => return bad_request("Invalid request body: expected a JSON object"),
            Err(err) => return bad_request(format!("Invalid request body: {err}")),
        };
        let mut accepted = Map::new();
        for (name, value) in changes {
            let known = AUTH_CONFIG_FIELDS.iter().find(|(n, ..)| *n == name && !AUTH_RESPONSE_ONLY.contains(n));
            let Some((_, kind, _)) = known else { continue };
            if let Err(rule) = check_auth_field(&name, *kind, &value) {
                return bad_request(rule);
            }
            accepted.insert(name, value);
        }
        match find_mut(s, &reference) {
            Ok((project, _)) => {
                project.auth_config.extend(accepted);
                Json(auth_config_json(&project.auth_config)).into_response()
            }
            Err(refusal) => refusal,
        }
    })
    .await
}

/// `V1UpdatePasswordBody` (unknown fields allowed by the spec).
#[derive(Deserialize)]
struct UpdatePasswordBody {
    password: String,
}

/// `PATCH …/database/password`. The new password takes effect at once: a deployment whose
/// connection strings carry the old one no longer connects (see [`SupabaseSim::credential_problem`]).
async fn update_database_password(
    State(state): State<Shared>,
    Path(reference): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> Response {
    respond(&state, "PATCH", &uri, &headers, &format!("database-password:{reference}"), Some(&body), |s| {
        let body: UpdatePasswordBody = match parse_body(&body, &["password"]) {
            Ok(body) => body,
            Err(refusal) => return refusal,
        };
        if body.password.chars().count() < 4 {
            return bad_request("password must be at least 4 characters");
        }
        match find_mut(s, &reference) {
            Ok((project, _)) => {
                project.db_password = body.password;
                Json(json!({ "message": "Database password updated" })).into_response()
            }
            Err(refusal) => refusal,
        }
    })
    .await
}

/// `V1RunQueryBody` (unknown fields allowed by the spec).
#[derive(Deserialize)]
struct RunQueryBody {
    query: String,
    #[allow(dead_code)] // validated only: Slipway's SQL takes no parameters
    parameters: Option<Vec<Value>>,
    read_only: Option<bool>,
}

/// Records `query` for `reference` and says how to answer it: run on the project's real
/// database when the simulator has a server, else `[]` (the `select 1` probe gets its real
/// answer `[{"?column?": 1}]`). A project that is not `ACTIVE_HEALTHY` has no database to run
/// on: 400 naming its status (not retried, unlike 5xx).
fn take_query(s: &mut SimState, reference: &str, query: String, read_only: bool) -> Reply {
    if query.is_empty() {
        return Reply::Now(bad_request("query must be at least 1 character"));
    }
    let databases = s.databases.clone();
    let (project, status) = match find_mut(s, reference) {
        Ok(found) => found,
        Err(refusal) => return Reply::Now(refusal),
    };
    if status != "ACTIVE_HEALTHY" {
        return Reply::Now(bad_request(format!("Project is not ready to run queries (status {status}).")));
    }
    if read_only && databases.is_none() && !reads_only(&query) {
        let statement = query.split_whitespace().next().unwrap_or_default().to_ascii_uppercase();
        return Reply::Now(bad_request(format!("ERROR: 25006: cannot execute {statement} in a read-only transaction")));
    }
    project.queries.push(query.clone());
    match databases {
        Some(databases) => Reply::Sql { databases, reference: reference.to_string(), query, read_only },
        None => {
            let probe = query.trim().trim_end_matches(';').trim().eq_ignore_ascii_case("select 1");
            let rows = if probe { json!([{ "?column?": 1 }]) } else { json!([]) };
            Reply::Now((StatusCode::CREATED, Json(rows)).into_response())
        }
    }
}

/// `POST …/database/query` → 201 with the last statement's rows as a JSON array (see
/// [`take_query`]); a failed statement is 400 with PostgreSQL's code and message.
async fn run_query(
    State(state): State<Shared>,
    Path(reference): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> Response {
    respond_later(&state, "POST", &uri, &headers, &format!("database-query:{reference}"), Some(&body), |s| {
        match parse_body::<RunQueryBody>(&body, &["query", "parameters", "read_only"]) {
            Ok(body) => take_query(s, &reference, body.query, body.read_only == Some(true)),
            Err(refusal) => Reply::Now(refusal),
        }
    })
    .await
}

/// `V1ReadOnlyQueryBody` (unknown fields allowed by the spec; no `read_only`, it always is).
#[derive(Deserialize)]
struct ReadOnlyQueryBody {
    query: String,
    #[allow(dead_code)] // validated only: Slipway's SQL takes no parameters
    parameters: Option<Vec<Value>>,
}

/// The statements a read-only transaction runs; anything else would write.
fn reads_only(query: &str) -> bool {
    // The first keyword, after any leading comments.
    let mut rest = query.trim_start();
    loop {
        if let Some(line) = rest.strip_prefix("--") {
            rest = line.split_once('\n').map(|(_, after)| after).unwrap_or_default().trim_start();
        } else if let Some(block) = rest.strip_prefix("/*") {
            rest = block.split_once("*/").map(|(_, after)| after).unwrap_or_default().trim_start();
        } else {
            break;
        }
    }
    let first = rest.split(|c: char| !c.is_ascii_alphabetic()).next().unwrap_or_default();
    ["select", "with", "show", "explain", "values", "table"].iter().any(|k| first.eq_ignore_ascii_case(k))
}

/// `POST …/database/query/read-only` ("Run a sql query as supabase_read_only_user") → 201 with
/// the rows, like [`run_query`], in a read-only transaction. Without a server, a statement that
/// would write is refused as PostgreSQL refuses it there (the message text is PostgreSQL's;
/// the spec documents no error body).
async fn run_read_only_query(
    State(state): State<Shared>,
    Path(reference): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> Response {
    respond_later(&state, "POST", &uri, &headers, &format!("database-query-read-only:{reference}"), Some(&body), |s| {
        let body: ReadOnlyQueryBody = match parse_body(&body, &["query", "parameters"]) {
            Ok(body) => body,
            Err(refusal) => return Reply::Now(refusal),
        };
        take_query(s, &reference, body.query, true)
    })
    .await
}

/// The point-in-time recovery window of a project: from its creation until now (unix seconds).
fn recovery_window(project: &SimProject) -> (i64, i64) {
    let now = now_unix();
    (now - project.created.elapsed().as_secs() as i64, now)
}

async fn backups(State(state): State<Shared>, Path(reference): Path<String>, uri: Uri, headers: HeaderMap) -> Response {
    respond(&state, "GET", &uri, &headers, &format!("backups:{reference}"), None, |s| {
        let project = match find(s, &reference) {
            Ok(project) => project,
            Err(refusal) => return refusal,
        };
        let pitr = s.config.pitr_enabled;
        let physical = if pitr {
            let (earliest, latest) = recovery_window(project);
            json!({ "earliest_physical_backup_date_unix": earliest, "latest_physical_backup_date_unix": latest })
        } else {
            json!({})
        };
        // Daily backups start a day after creation; simulated projects are younger than that.
        Json(json!({
            "region": project.region, "walg_enabled": true, "pitr_enabled": pitr, "backups": [],
            "physical_backup_data": physical,
        }))
        .into_response()
    })
    .await
}

/// `V1RestorePitrBody` (unknown fields allowed by the spec).
#[derive(Deserialize)]
struct RestorePitrBody {
    recovery_time_target_unix: i64,
}

/// `POST …/backups/restore-pitr` → 201, or 400 "PITR is not enabled for this project." (the
/// recorded answer) unless the simulator runs with `pitr_enabled`.
async fn restore_pitr(
    State(state): State<Shared>,
    Path(reference): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> Response {
    respond(&state, "POST", &uri, &headers, &format!("restore-pitr:{reference}"), Some(&body), |s| {
        let body: RestorePitrBody = match parse_body(&body, &["recovery_time_target_unix"]) {
            Ok(body) => body,
            Err(refusal) => return refusal,
        };
        let target = body.recovery_time_target_unix;
        if target < 0 {
            return bad_request("recovery_time_target_unix must be at least 0");
        }
        let pitr = s.config.pitr_enabled;
        let (project, _) = match find_mut(s, &reference) {
            Ok(found) => found,
            Err(refusal) => return refusal,
        };
        if !pitr {
            return bad_request("PITR is not enabled for this project.");
        }
        let (earliest, latest) = recovery_window(project);
        if !(earliest..=latest).contains(&target) {
            return bad_request(format!(
                "recovery_time_target_unix must be within the recovery window ({earliest} to {latest})"
            ));
        }
        project.restores.push(target);
        StatusCode::CREATED.into_response()
    })
    .await
}

async fn backup_schedule(
    State(state): State<Shared>,
    Path(reference): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    respond(&state, "GET", &uri, &headers, &format!("backup-schedule:{reference}"), None, |s| {
        match find(s, &reference) {
            Ok(project) => {
                Json(json!({ "schedule_for": "04:00:00", "updated_at": project.created_at })).into_response()
            }
            Err(refusal) => refusal,
        }
    })
    .await
}

async fn unknown_endpoint(State(state): State<Shared>, method: Method, uri: Uri, headers: HeaderMap) -> Response {
    respond(&state, method.as_str(), &uri, &headers, "user", None, |_| {
        message(StatusCode::NOT_FOUND, "Cannot find the requested resource")
    })
    .await
}
