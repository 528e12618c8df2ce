//! Stateful local simulators of the platform APIs. They speak the vendors' HTTP contracts
//! (paths, versions, status codes, error bodies, headers) so the real clients can be tested
//! offline, and they power sandbox mode. Validation here is the project's own code; the
//! contract tests prove it agrees with the vendors' specs.

pub mod cloudflare;
pub mod dns;
pub mod faults;
pub mod supabase;
pub mod vercel;

use std::net::SocketAddr;
use std::time::Duration;

use axum::http::HeaderMap;
use serde_json::Value;

use faults::{Fault, FaultPlan, Faults};

use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// A simulator's HTTP server, stopped when dropped.
pub struct SimServer {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl SimServer {
    /// Serves `router` on `addr` (port 0 picks a free port).
    pub async fn start(router: axum::Router, addr: SocketAddr) -> std::io::Result<Self> {
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

    pub fn addr(&self) -> SocketAddr {
        self.addr
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
    pub query: String,
    pub status: u16,
    pub body: Option<Value>,
    pub response: Option<Value>,
}

/// What every simulator does alike: check the bearer token, inject faults, record requests.
pub(crate) struct SimCommon {
    token: String,
    faults: Faults,
    requests: Vec<RecordedRequest>,
}

impl SimCommon {
    pub fn new(token: &str, plan: FaultPlan) -> Self {
        SimCommon { token: token.to_string(), faults: Faults::new(plan), requests: Vec::new() }
    }

    pub fn authorized(&self, headers: &HeaderMap) -> bool {
        let expected = format!("Bearer {}", self.token);
        headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(expected.as_str())
    }

    pub fn draw_fault(&mut self) -> Option<Fault> {
        self.faults.draw()
    }

    pub fn faults_mut(&mut self) -> &mut Faults {
        &mut self.faults
    }

    pub fn latency(&self) -> Duration {
        self.faults.plan().latency
    }

    pub fn record(&mut self, request: RecordedRequest) {
        // The request log of `slipway sim` (tests of the official CLIs read it).
        tracing::info!(method = %request.method, path = %request.path, status = request.status, "simulated request");
        self.requests.push(request);
    }

    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.requests.clone()
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
        common.record(RecordedRequest {
            method: method.to_string(),
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
