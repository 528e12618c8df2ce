//! Stateful local simulators of the platform APIs. They speak the vendors' HTTP contracts
//! (paths, versions, status codes, error bodies, headers) so the real clients can be tested
//! offline, and they power sandbox mode. Validation here is the project's own code; the
//! contract tests prove it agrees with the vendors' specs. Nothing here depends on the engine.

// Simulator handlers refuse a request by returning the whole HTTP response as the error value.
#![allow(clippy::result_large_err)]

pub mod cloudflare;
mod database;
pub mod dns;
pub mod dns_server;
pub mod faults;
pub mod sandbox;
pub mod supabase;
pub mod vercel;

mod rules;
pub use sandbox::{SANDBOX_ORGANIZATION, SANDBOX_TEAM_ID, SANDBOX_TEAM_SLUG, Sandbox, SandboxConfig};

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::HeaderMap;
use serde_json::Value;

use faults::{Fault, FaultPlan, Faults};

use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// A simulator's HTTP server, stopped when dropped.
struct SimServer {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl SimServer {
    /// Serves `router` on `addr` (port 0 picks a free port), with `faults` applied to every
    /// request.
    async fn start(router: axum::Router, addr: SocketAddr, faults: SharedFaults) -> std::io::Result<Self> {
        let router = router.layer(axum::middleware::from_fn_with_state(faults, fault_layer));
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            if let Err(err) = axum::serve(listener, router).await {
                tracing::error!(error = %err, "simulator stopped");
            }
        });
        Ok(SimServer { addr, task })
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for SimServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One request as a simulator saw it, for tests to inspect (contract tests validate `body`).
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    /// The route it matched (`/v13/deployments/{id_or_url}`): what per-endpoint limits count.
    pub endpoint: String,
    /// When it was handled (epoch ms).
    pub at_ms: i64,
    pub query: String,
    pub status: u16,
    pub body: Option<Value>,
    pub response: Option<Value>,
}

/// A simulator's faults, shared by its handlers and its [`fault_layer`].
pub(crate) type SharedFaults = Arc<Mutex<Faults>>;

/// What [`fault_layer`] learnt about the request being handled.
#[derive(Clone)]
struct RequestContext {
    /// A vendor-shaped fault to answer with.
    fault: Option<Fault>,
    /// `METHOD /route/{template}`: the endpoint, for per-endpoint rate limits.
    endpoint: String,
}

tokio::task_local! {
    static REQUEST: RequestContext;
}

/// Draws each request's fault. Connection faults happen here, the same for every vendor:
/// `Dropped` closes the connection without an answer (before or after the handler ran),
/// `TimedOut` runs the handler and then holds the answer. Vendor-shaped faults (429, 5xx) are
/// handed to the handler, which answers in its vendor's format (see [`SimCommon::draw_fault`]).
async fn fault_layer(
    axum::extract::State(faults): axum::extract::State<SharedFaults>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    // Paths as the specs name them, without a server prefix such as Cloudflare's `/client/v4`.
    let path = request.uri().path().trim_start_matches("/client/v4").to_string();
    let route = request.extensions().get::<axum::extract::MatchedPath>().map(|m| m.as_str().to_string());
    let endpoint = format!("{} {}", request.method(), route.unwrap_or_else(|| path.clone()));
    let (fault, hang) = {
        let mut faults = faults.lock().unwrap();
        (faults.draw(request.method().as_str(), &path), faults.plan().hang)
    };
    let context = RequestContext { fault: fault.filter(|f| f.is_vendor_answer()), endpoint };
    match fault {
        Some(Fault::Dropped { handled: false }) => dropped_connection(),
        Some(Fault::Dropped { handled: true }) => {
            drop(REQUEST.scope(context, next.run(request)).await);
            dropped_connection()
        }
        Some(Fault::TimedOut) => {
            let response = REQUEST.scope(context, next.run(request)).await;
            tokio::time::sleep(hang).await;
            response
        }
        _ => REQUEST.scope(context, next.run(request)).await,
    }
}

/// A response whose body fails at once: the server aborts the connection, and the client gets
/// no (complete) answer.
fn dropped_connection() -> axum::response::Response {
    let broken = futures_util::stream::once(async {
        Err::<bytes::Bytes, _>(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "simulated dropped connection"))
    });
    axum::response::Response::new(axum::body::Body::from_stream(broken))
}

/// What tests and `slipway sim` do with any simulator: where it listens, its faults, its
/// request log. Each simulator derefs to one.
#[derive(Clone)]
pub struct SimHandle {
    server: Arc<SimServer>,
    faults: SharedFaults,
    requests: Arc<Mutex<Vec<RecordedRequest>>>,
}

impl SimHandle {
    pub fn base_url(&self) -> String {
        self.server.base_url()
    }

    pub fn set_faults(&self, plan: FaultPlan) {
        self.faults.lock().unwrap().set_plan(plan);
    }

    /// The next requests fail with these faults, in order.
    pub fn queue_faults(&self, faults: impl IntoIterator<Item = Fault>) {
        self.faults.lock().unwrap().queue(faults);
    }

    /// The next requests of `method path` (`*` matches one path segment) fail with these.
    pub fn queue_faults_for(&self, method: &str, path: &str, faults: impl IntoIterator<Item = Fault>) {
        self.faults.lock().unwrap().queue_for(faults::Operation::new(method, path), faults);
    }

    /// Every request handled so far (requests dropped before handling are not).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.requests.lock().unwrap().clone()
    }
}

/// Fixed rate-limit windows per scope, counted as the vendors count them: a window opens at its
/// first request, and the count starts afresh once it has run its length.
#[derive(Debug, Default)]
pub(crate) struct RateWindows {
    windows: std::collections::HashMap<String, (std::time::Instant, u32)>,
}

/// One request, counted in its window.
pub(crate) struct Counted {
    /// Requests in the window so far, this one included.
    pub count: u32,
    /// Whole seconds until the window resets (at least 1).
    pub resets_in_secs: u64,
}

impl RateWindows {
    pub fn count(&mut self, scope: &str, length: Duration) -> Counted {
        let now = std::time::Instant::now();
        let window = self.windows.entry(scope.to_string()).or_insert((now, 0));
        if now.duration_since(window.0) >= length {
            *window = (now, 0);
        }
        window.1 += 1;
        let elapsed = now.duration_since(window.0).as_secs();
        Counted { count: window.1, resets_in_secs: length.as_secs().saturating_sub(elapsed).max(1) }
    }

    pub fn clear(&mut self) {
        self.windows.clear();
    }
}

/// What every simulator does alike: check the bearer token, inject faults, record requests.
pub(crate) struct SimCommon {
    token: String,
    faults: SharedFaults,
    requests: Arc<Mutex<Vec<RecordedRequest>>>,
}

impl SimCommon {
    pub fn new(token: &str, plan: FaultPlan) -> Self {
        SimCommon {
            token: token.to_string(),
            faults: Arc::new(Mutex::new(Faults::new(plan))),
            requests: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// Serves `router` with this simulator's faults, and the handle to it.
    /// (Borrows nothing across the await, so the state lock can be released at once.)
    pub fn serve(
        &self,
        router: axum::Router,
        addr: SocketAddr,
    ) -> impl Future<Output = std::io::Result<SimHandle>> + 'static {
        let (faults, requests) = (self.faults.clone(), self.requests.clone());
        async move {
            let server = SimServer::start(router, addr, faults.clone()).await?;
            Ok(SimHandle { server: Arc::new(server), faults, requests })
        }
    }

    pub fn authorized(&self, headers: &HeaderMap) -> bool {
        let expected = format!("Bearer {}", self.token);
        headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(expected.as_str())
    }

    /// The 429 or 5xx to answer the current request with, if [`fault_layer`] drew one.
    pub fn draw_fault(&mut self) -> Option<Fault> {
        REQUEST.try_with(|request| request.fault).ok().flatten()
    }

    /// The endpoint of the current request (`POST /v11/projects`), as routed.
    pub fn endpoint(&self) -> String {
        REQUEST.try_with(|request| request.endpoint.clone()).unwrap_or_default()
    }

    pub fn latency(&self) -> Duration {
        self.faults.lock().unwrap().plan().latency
    }

    pub fn record(&mut self, request: RecordedRequest) {
        // The request log of `slipway sim` (tests of the official CLIs read it).
        tracing::info!(method = %request.method, path = %request.path, status = request.status, "simulated request");
        self.requests.lock().unwrap().push(request);
    }
}

/// Reads a response body (simulator responses are small JSON) so it can be recorded, and
/// rebuilds the response around it.
pub(crate) async fn buffer_json(response: axum::response::Response) -> (axum::response::Response, Option<Value>) {
    use axum::body::Body;
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap_or_default();
    let json = serde_json::from_slice(&bytes).ok();
    (axum::response::Response::from_parts(parts, Body::from(bytes)), json)
}

/// Lets the shared plumbing below reach a simulator state's common part.
pub(crate) trait HasCommon {
    fn common(&mut self) -> &mut SimCommon;
}

/// How a simulator's vendor refuses a request whose query string does not parse, in that
/// vendor's error format.
pub(crate) trait VendorErrors {
    fn invalid_query(message: &str) -> axum::response::Response;
}

/// `Query<T>` as the vendors answer it: a query string that does not parse (a value of the
/// wrong type, a key repeated where one is expected) is refused with the vendor's JSON error
/// body, and the refusal is recorded in the request log like every other answer, instead of
/// axum's bare text/plain rejection that no request log sees.
pub(crate) struct SimQuery<T>(pub T);

impl<T, S> axum::extract::FromRequestParts<Arc<Mutex<S>>> for SimQuery<T>
where
    T: serde::de::DeserializeOwned,
    S: HasCommon + VendorErrors + Send + 'static,
{
    type Rejection = axum::response::Response;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &Arc<Mutex<S>>,
    ) -> Result<Self, Self::Rejection> {
        let text = match axum::extract::Query::<T>::try_from_uri(&parts.uri) {
            Ok(axum::extract::Query(value)) => return Ok(SimQuery(value)),
            Err(rejection) => rejection.body_text(),
        };
        Err(deliver(state, parts.method.as_str(), &parts.uri, None, S::invalid_query(&text)).await)
    }
}

/// The values of `key` in query `pairs`, read both ways the vendors' APIs take a list: the key
/// repeated (`services=auth&services=db`, OpenAPI's `style: form, explode: true`, which the
/// specs declare and the official CLIs send) and one comma-joined value (`services=auth,db`,
/// which the APIs evidently accept too: the vendors' own JS SDKs send lists that way).
pub(crate) fn list_values(pairs: &[(String, String)], key: &str) -> Vec<String> {
    pairs
        .iter()
        .filter(|(k, _)| k == key)
        .flat_map(|(_, v)| v.split(','))
        .filter(|v| !v.is_empty())
        .map(str::to_string)
        .collect()
}

/// The one value of `key` in query `pairs`; `Err` names the key when it is given twice.
pub(crate) fn single_value<'a>(pairs: &'a [(String, String)], key: &str) -> Result<Option<&'a str>, String> {
    let mut values = pairs.iter().filter(|(k, _)| k == key).map(|(_, v)| v.as_str());
    match (values.next(), values.next()) {
        (_, Some(_)) => Err(format!("`{key}` may be given only once")),
        (value, None) => Ok(value),
    }
}

/// Records the exchange, then holds the response for the configured latency.
pub(crate) async fn deliver<S: HasCommon>(
    state: &std::sync::Mutex<S>,
    method: &str,
    uri: &axum::http::Uri,
    body: Option<&str>,
    response: axum::response::Response,
) -> axum::response::Response {
    let (response, answer) = buffer_json(response).await;
    let latency = {
        let mut guard = state.lock().unwrap();
        let common = guard.common();
        let endpoint = common.endpoint();
        common.record(RecordedRequest {
            method: method.to_string(),
            endpoint: endpoint.split_once(' ').map(|(_, route)| route.to_string()).unwrap_or(endpoint),
            at_ms: rules::now_ms(),
            // As the specs name paths: without a server prefix such as Cloudflare's `/client/v4`.
            path: uri.path().trim_start_matches("/client/v4").to_string(),
            query: uri.query().unwrap_or_default().to_string(),
            status: response.status().as_u16(),
            body: body.and_then(|b| serde_json::from_str(b).ok()),
            response: answer,
        });
        common.latency()
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    response
}
