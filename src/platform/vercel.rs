//! Vercel REST API client (https://vercel.com/docs/rest-api), the operations Slipway uses,
//! at the exact path versions of the official contract.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::retry::{RetryPolicy, Retryable, parse_retry_after};

pub const DEFAULT_BASE_URL: &str = "https://api.vercel.com";

#[derive(Clone)]
pub struct VercelConfig {
    pub base_url: String,
    pub token: SecretString,
    /// Team scope (`teamId` query parameter); `None` uses the token owner's personal account.
    pub team_id: Option<String>,
    pub retry: RetryPolicy,
    pub request_timeout: Duration,
}

impl VercelConfig {
    pub fn new(base_url: impl Into<String>, token: SecretString) -> Self {
        VercelConfig {
            base_url: base_url.into(),
            token,
            team_id: None,
            retry: RetryPolicy::default(),
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// Any failure of a Vercel call. `code` and `message` are Vercel's own (`error.code`, `error.message`).
#[derive(Debug, Clone, thiserror::Error)]
pub enum VercelError {
    #[error("Vercel: bad request ({code}): {message}")]
    BadRequest { code: String, message: String },
    #[error("Vercel: not authorized ({code}): {message}")]
    Forbidden { code: String, message: String },
    #[error("Vercel: not found ({code}): {message}")]
    NotFound { code: String, message: String },
    #[error("Vercel: conflict ({code}): {message}")]
    Conflict { code: String, message: String },
    #[error("Vercel: rate limited: {message}")]
    RateLimited { message: String, retry_after: Option<Duration> },
    #[error("Vercel: server error {status} ({code}): {message}")]
    Server { status: u16, code: String, message: String },
    #[error("Vercel: unexpected status {status} ({code}): {message}")]
    Other { status: u16, code: String, message: String },
    #[error("Vercel: request failed: {0}")]
    Transport(String),
    #[error("Vercel: unexpected response body: {0}")]
    Decode(String),
}

impl Retryable for VercelError {
    fn is_retryable(&self) -> bool {
        matches!(self, VercelError::RateLimited { .. } | VercelError::Server { .. } | VercelError::Transport(_))
    }

    fn retry_after(&self) -> Option<Duration> {
        match self {
            VercelError::RateLimited { retry_after, .. } => *retry_after,
            _ => None,
        }
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
    pub link: Option<ProjectLink>,
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

pub struct VercelClient {
    http: reqwest::Client,
    config: VercelConfig,
}

impl VercelClient {
    pub fn new(config: VercelConfig) -> Result<Self, VercelError> {
        let http = reqwest::Client::builder()
            .timeout(config.request_timeout)
            .user_agent(concat!("slipway/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| VercelError::Transport(e.to_string()))?;
        Ok(VercelClient { http, config })
    }

    /// `POST /v11/projects`.
    #[tracing::instrument(name = "vercel.create_project", skip_all, fields(project = %request.name))]
    pub async fn create_project(&self, request: &CreateProjectRequest) -> Result<Project, VercelError> {
        self.call(Method::POST, &["v11", "projects"], Some(request)).await
    }

    /// `GET /v9/projects/{idOrName}`.
    #[tracing::instrument(name = "vercel.get_project", skip_all, fields(project = %id_or_name))]
    pub async fn get_project(&self, id_or_name: &str) -> Result<Project, VercelError> {
        self.call::<(), _>(Method::GET, &["v9", "projects", id_or_name], None).await
    }

    /// Like [`get_project`](Self::get_project), with "not found" as `None`.
    pub async fn find_project(&self, id_or_name: &str) -> Result<Option<Project>, VercelError> {
        match self.get_project(id_or_name).await {
            Ok(project) => Ok(Some(project)),
            Err(VercelError::NotFound { .. }) => Ok(None),
            Err(err) => Err(err),
        }
    }

    async fn call<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &[&str],
        body: Option<&B>,
    ) -> Result<T, VercelError> {
        let url = self.url(path)?;
        let operation = "vercel";
        self.config
            .retry
            .run(operation, || async {
                let mut request =
                    self.http.request(method.clone(), url.clone()).bearer_auth(self.config.token.expose_secret());
                if let Some(body) = body {
                    request = request.json(body);
                }
                let response = request.send().await.map_err(|e| VercelError::Transport(e.without_url().to_string()))?;
                let status = response.status();
                let retry_after = response
                    .headers()
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(parse_retry_after);
                let bytes = response.bytes().await.map_err(|e| VercelError::Transport(e.without_url().to_string()))?;
                if status.is_success() {
                    return serde_json::from_slice(&bytes).map_err(|e| VercelError::Decode(e.to_string()));
                }
                Err(error_from_response(status, &bytes, retry_after))
            })
            .await
    }

    fn url(&self, path: &[&str]) -> Result<reqwest::Url, VercelError> {
        let mut url = reqwest::Url::parse(&self.config.base_url)
            .map_err(|e| VercelError::Transport(format!("invalid Vercel base URL: {e}")))?;
        url.path_segments_mut()
            .map_err(|_| VercelError::Transport("invalid Vercel base URL".into()))?
            .pop_if_empty()
            .extend(path);
        if let Some(team) = &self.config.team_id {
            url.query_pairs_mut().append_pair("teamId", team);
        }
        Ok(url)
    }
}

fn error_from_response(status: StatusCode, body: &[u8], retry_after: Option<Duration>) -> VercelError {
    let parsed = serde_json::from_slice::<ErrorEnvelope>(body).ok().map(|e| e.error);
    let (code, message) = parsed
        .as_ref()
        .map(|e| (e.code.clone(), e.message.clone()))
        .unwrap_or_else(|| (String::new(), status.canonical_reason().unwrap_or("").to_string()));
    match status.as_u16() {
        400 => VercelError::BadRequest { code, message },
        401 | 403 => VercelError::Forbidden { code, message },
        404 => VercelError::NotFound { code, message },
        409 => VercelError::Conflict { code, message },
        429 => {
            // Retry-After if sent, else the documented body's `limit.reset` (epoch seconds).
            let from_body = parsed.and_then(|e| e.limit).map(|limit| {
                let wait = limit.reset - crate::time::now_ms() / 1000;
                Duration::from_secs(wait.max(0) as u64)
            });
            VercelError::RateLimited { message, retry_after: retry_after.or(from_body) }
        }
        s @ 500..=599 => VercelError::Server { status: s, code, message },
        s => VercelError::Other { status: s, code, message },
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::sim::faults::{Fault, FaultPlan};
    use crate::sim::vercel::VercelSim;

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
        config.retry = fast_retries();
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
        config.retry = fast_retries();
        let client = VercelClient::new(config).unwrap();
        let err = client.create_project(&nextjs_project("acme-shop")).await.unwrap_err();
        assert!(matches!(&err, VercelError::Forbidden { code, .. } if code == "forbidden"), "{err:?}");
        assert_eq!(sim.requests().len(), 1);
        assert!(sim.projects().is_empty());
    }

    #[tokio::test]
    async fn duplicate_name_is_a_typed_conflict() {
        let (sim, client) = setup().await;
        client.create_project(&nextjs_project("acme-shop")).await.unwrap();
        let err = client.create_project(&nextjs_project("acme-shop")).await.unwrap_err();
        assert!(matches!(&err, VercelError::Conflict { message, .. } if message.contains("already exists")), "{err:?}");
        assert_eq!(sim.requests().len(), 2, "a conflict is not retried");
    }

    #[tokio::test]
    async fn invalid_body_is_a_bad_request_naming_the_rule() {
        let (sim, client) = setup().await;
        let err = client.create_project(&nextjs_project("Acme Shop")).await.unwrap_err();
        assert!(
            matches!(&err, VercelError::BadRequest { code, message } if code == "bad_request" && message.contains("lowercase")),
            "{err:?}"
        );
        let mut bad_framework = nextjs_project("acme-shop");
        bad_framework.framework = Some("next".into());
        let err = client.create_project(&bad_framework).await.unwrap_err();
        assert!(matches!(&err, VercelError::BadRequest { message, .. } if message.contains("framework")), "{err:?}");
        assert_eq!(sim.requests().len(), 2);
    }

    #[tokio::test]
    async fn simulator_rejects_fields_the_schema_forbids() {
        let (sim, _) = setup().await;
        let http = reqwest::Client::new();
        for (body, expect) in [
            (serde_json::json!({"name": "ok", "surprise": 1}), "unknown field"),
            (serde_json::json!({"framework": "nextjs"}), "missing field `name`"),
            (serde_json::json!({"name": "ok", "gitRepository": {"type": "svn", "repo": "a/b"}}), "unknown variant"),
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
        config.retry = RetryPolicy { max_total: Duration::from_secs(2), ..fast_retries() };
        let client = VercelClient::new(config).unwrap();
        sim.queue_faults([Fault::RateLimited { retry_after_secs: 30 }]);
        let started = Instant::now();
        let err = client.create_project(&nextjs_project("acme-shop")).await.unwrap_err();
        assert!(matches!(err, VercelError::RateLimited { retry_after: Some(d), .. } if d == Duration::from_secs(30)));
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    #[test]
    fn rate_limit_reset_in_the_body_is_used_without_retry_after() {
        let reset = crate::time::now_ms() / 1000 + 5;
        let body = serde_json::json!({"error": {"code": "rate_limited", "message": "slow down",
            "limit": {"remaining": 0, "reset": reset, "resetMs": reset * 1000, "total": 6}}});
        let err = error_from_response(StatusCode::TOO_MANY_REQUESTS, body.to_string().as_bytes(), None);
        let VercelError::RateLimited { retry_after: Some(wait), .. } = err else { panic!("{err:?}") };
        assert!(wait >= Duration::from_secs(4) && wait <= Duration::from_secs(5), "{wait:?}");
    }

    #[test]
    fn team_scope_goes_into_the_query() {
        let mut config = VercelConfig::new("http://127.0.0.1:9", SecretString::from(TOKEN));
        config.team_id = Some("team_abc".into());
        let client = VercelClient::new(config).unwrap();
        let url = client.url(&["v9", "projects", "a b"]).unwrap();
        assert_eq!(url.as_str(), "http://127.0.0.1:9/v9/projects/a%20b?teamId=team_abc");
    }
}
