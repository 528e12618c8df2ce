//! What every platform client shares: the error type, authentication, base URL handling,
//! the per-token rate limiter, retries, timeouts and tracing. A vendor module adds its typed
//! operations and a function that turns the vendor's error responses into [`ApiError`].

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode, Url};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde_json::Value;
use tracing::Instrument;

use super::ratelimit::{Budget, RateLimiter};
use super::retry::{RetryPolicy, Retryable, parse_retry_after};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vendor {
    Vercel,
    Supabase,
    Cloudflare,
    /// An authoritative DNS server taking RFC 2136 updates.
    DnsServer,
}

impl fmt::Display for Vendor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Vendor::Vercel => "Vercel",
            Vendor::Supabase => "Supabase",
            Vendor::Cloudflare => "Cloudflare",
            Vendor::DnsServer => "the DNS server",
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Refused before sending: an input breaks a rule the API enforces (`code` names the field).
    InvalidInput,
    BadRequest,
    /// 401 or 403: the token is wrong, expired or lacks access.
    Unauthorized,
    NotFound,
    Conflict,
    RateLimited,
    /// 5xx.
    Server,
    /// Any other status.
    Other,
    /// No response: connection refused or dropped, timeout.
    Transport,
    /// A request that is not safe to repeat (a create) was sent, and no answer came: it may or
    /// may not have taken effect. Not retried blindly; the caller looks up what exists first.
    Unconfirmed,
    /// A response that does not match the expected shape.
    Decode,
    /// Not sent: the rate-limit budget is used up for longer than the caller would wait
    /// (`retry_after` says when it frees up). See `ratelimit::with_patience`.
    OverBudget,
}

/// Any failure of a platform call. `code` and `message` are the vendor's own where it sent them.
/// Never carries a token or secret value.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub vendor: Vendor,
    pub kind: ErrorKind,
    pub status: Option<u16>,
    pub code: String,
    pub message: String,
    pub retry_after: Option<Duration>,
}

impl ApiError {
    pub fn new(
        vendor: Vendor,
        kind: ErrorKind,
        status: Option<u16>,
        code: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        ApiError { vendor, kind, status, code: code.into(), message: message.into(), retry_after: None }
    }

    /// An input that the vendor would refuse, caught before sending.
    pub fn invalid_input(vendor: Vendor, field: &str, rule: impl Into<String>) -> Self {
        let rule = rule.into();
        ApiError::new(vendor, ErrorKind::InvalidInput, None, field, format!("`{field}` {rule}"))
    }

    pub fn is(&self, kind: ErrorKind) -> bool {
        self.kind == kind
    }

    /// The error kind a status code stands for, for vendors' error parsers.
    pub fn kind_for_status(status: StatusCode) -> ErrorKind {
        match status.as_u16() {
            400 | 422 => ErrorKind::BadRequest,
            401 | 403 => ErrorKind::Unauthorized,
            404 => ErrorKind::NotFound,
            409 => ErrorKind::Conflict,
            429 => ErrorKind::RateLimited,
            500..=599 => ErrorKind::Server,
            _ => ErrorKind::Other,
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            ErrorKind::InvalidInput => "invalid input",
            ErrorKind::BadRequest => "bad request",
            ErrorKind::Unauthorized => "not authorized",
            ErrorKind::NotFound => "not found",
            ErrorKind::Conflict => "conflict",
            ErrorKind::RateLimited => "rate limited",
            ErrorKind::Server => "server error",
            ErrorKind::Other => "unexpected status",
            ErrorKind::Transport => "request failed",
            ErrorKind::Unconfirmed => "outcome unknown (no answer to a create; look it up before trying again)",
            ErrorKind::Decode => "unexpected response",
            ErrorKind::OverBudget => "rate limit budget in use; not sent",
        };
        write!(f, "{} {what}", self.vendor)?;
        if let Some(status) = self.status {
            write!(f, " ({status}")?;
            if !self.code.is_empty() {
                write!(f, " {}", self.code)?;
            }
            write!(f, ")")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ApiError {}

impl Retryable for ApiError {
    fn is_retryable(&self) -> bool {
        matches!(self.kind, ErrorKind::RateLimited | ErrorKind::Server | ErrorKind::Transport)
    }

    fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }
}

/// How a client proves who it is.
#[derive(Clone)]
pub enum Auth {
    Bearer(SecretString),
    /// Cloudflare's legacy global API key.
    EmailAndKey {
        email: String,
        key: SecretString,
    },
}

impl Auth {
    /// A stable, non-reversible name for the credential (rate limiters are per token).
    fn digest(&self) -> String {
        match self {
            Auth::Bearer(token) => crate::digest::sha256_hex(token.expose_secret()),
            Auth::EmailAndKey { key, .. } => crate::digest::sha256_hex(key.expose_secret()),
        }
    }
}

/// Where and how a client connects.
#[derive(Clone)]
pub struct ApiSettings {
    pub base_url: String,
    pub auth: Auth,
    pub retry: RetryPolicy,
    pub request_timeout: Duration,
    /// Client-side budget per rate-limit scope.
    pub budget: Budget,
}

impl ApiSettings {
    pub fn new(base_url: impl Into<String>, auth: Auth, budget: Budget) -> Self {
        ApiSettings {
            base_url: base_url.into(),
            auth,
            retry: RetryPolicy::default(),
            request_timeout: Duration::from_secs(30),
            budget,
        }
    }
}

/// Turns a non-2xx response into the vendor's error.
pub(crate) type ErrorParser = fn(StatusCode, &HeaderMap, &[u8]) -> ApiError;

/// One request, described before it is sent (and re-sent on retry).
pub(crate) struct Call {
    /// The vendor's operation name, for spans and logs.
    pub operation: &'static str,
    pub method: Method,
    pub path: Vec<String>,
    pub query: Vec<(String, String)>,
    pub body: Option<Value>,
    /// The rate-limit scope this request counts against.
    pub scope: String,
    /// Safe to send again after a lost answer. Every method but POST is; a POST only when
    /// marked with [`Call::idempotent`] (an upsert, a verification).
    pub idempotent: bool,
}

impl Call {
    pub fn new(operation: &'static str, method: Method, path: &[&str]) -> Self {
        Call {
            operation,
            idempotent: method != Method::POST,
            method,
            path: path.iter().map(|s| s.to_string()).collect(),
            query: Vec::new(),
            body: None,
            scope: operation.to_string(),
        }
    }

    /// Marks a POST as safe to repeat when its answer is lost.
    pub fn idempotent(mut self) -> Self {
        self.idempotent = true;
        self
    }

    pub fn query(mut self, name: &str, value: impl ToString) -> Self {
        self.query.push((name.to_string(), value.to_string()));
        self
    }

    pub fn json(mut self, body: &impl serde::Serialize) -> Self {
        self.body = Some(serde_json::to_value(body).expect("request bodies serialize"));
        self
    }

    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = scope.into();
        self
    }
}

pub(crate) struct ApiCore {
    vendor: Vendor,
    http: reqwest::Client,
    base: Url,
    auth: Auth,
    retry: RetryPolicy,
    limiter: Arc<RateLimiter>,
    parse_error: ErrorParser,
}

impl ApiCore {
    pub fn new(vendor: Vendor, settings: ApiSettings, parse_error: ErrorParser) -> Result<Self, ApiError> {
        let base = Url::parse(&settings.base_url)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
            .ok_or_else(|| ApiError::invalid_input(vendor, "base_url", "must be an http(s) URL"))?;
        let http = reqwest::Client::builder()
            .timeout(settings.request_timeout)
            .user_agent(concat!("slipway/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ApiError::new(vendor, ErrorKind::Transport, None, "", e.to_string()))?;
        let limiter = RateLimiter::shared(&vendor.to_string(), &settings.auth.digest(), settings.budget);
        Ok(ApiCore { vendor, http, base, auth: settings.auth, retry: settings.retry, limiter, parse_error })
    }

    pub fn url(&self, path: &[String], query: &[(String, String)]) -> Url {
        let mut url = self.base.clone();
        url.path_segments_mut().expect("validated base URL").pop_if_empty().extend(path);
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        url
    }

    /// Sends `call` (with rate limiting and retries) and decodes a JSON answer; an empty body
    /// decodes as `null`, so `()` suits operations that answer 204.
    pub async fn send<T: DeserializeOwned>(&self, call: Call) -> Result<T, ApiError> {
        let (_, body) = self.send_raw(call).await?;
        let body: &[u8] = if body.is_empty() { b"null" } else { &body };
        serde_json::from_slice(body).map_err(|e| ApiError::new(self.vendor, ErrorKind::Decode, None, "", e.to_string()))
    }

    pub async fn send_raw(&self, call: Call) -> Result<(HeaderMap, bytes::Bytes), ApiError> {
        let url = self.url(&call.path, &call.query);
        let span = tracing::info_span!(
            "platform_call",
            vendor = %self.vendor,
            operation = call.operation,
            method = %call.method,
            path = %url.path(),
        );
        self.retry
            .run(call.operation, || async {
                if let Err(wait) = self.limiter.acquire(&call.scope).await {
                    let message = format!("{} could go in {} s", call.operation, wait.as_secs().max(1));
                    let mut err = ApiError::new(self.vendor, ErrorKind::OverBudget, None, "", message);
                    err.retry_after = Some(wait);
                    return Err(err);
                }
                self.attempt(&call, url.clone()).await
            })
            .instrument(span)
            .await
    }

    async fn attempt(&self, call: &Call, url: Url) -> Result<(HeaderMap, bytes::Bytes), ApiError> {
        let transport = |e: reqwest::Error| {
            // A connection that never opened carried nothing: always safe to retry. Past that,
            // a lost answer to a non-idempotent request leaves its outcome unknown.
            let kind = if e.is_decode() {
                ErrorKind::Decode
            } else if e.is_connect() || call.idempotent {
                ErrorKind::Transport
            } else {
                ErrorKind::Unconfirmed
            };
            // `without_url`: URLs may carry query values; keep errors to the failure itself.
            ApiError::new(self.vendor, kind, None, "", e.without_url().to_string())
        };
        let mut request = self.http.request(call.method.clone(), url);
        request = match &self.auth {
            Auth::Bearer(token) => request.bearer_auth(token.expose_secret()),
            Auth::EmailAndKey { email, key } => {
                request.header("X-Auth-Email", email).header("X-Auth-Key", key.expose_secret())
            }
        };
        if let Some(body) = &call.body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(transport)?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.bytes().await.map_err(transport)?;
        if status.is_success() {
            return Ok((headers, body));
        }
        let mut error = (self.parse_error)(status, &headers, &body);
        // Retry-After, when sent, wins over any vendor-specific hint the parser found.
        if let Some(wait) =
            headers.get(reqwest::header::RETRY_AFTER).and_then(|v| v.to_str().ok()).and_then(parse_retry_after)
        {
            error.retry_after = Some(wait);
        }
        tracing::debug!(status = status.as_u16(), code = %error.code, "platform call failed");
        Err(error)
    }
}
