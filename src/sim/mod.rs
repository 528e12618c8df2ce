//! Stateful local simulators of the platform APIs. They speak the vendors' HTTP contracts
//! (paths, versions, status codes, error bodies, headers) so the real clients can be tested
//! offline, and they power sandbox mode. Validation here is the project's own code; the
//! contract tests prove it agrees with the vendors' specs.

pub mod faults;
pub mod vercel;

use std::net::SocketAddr;

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
