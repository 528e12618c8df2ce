//! Vercel's edge, simulated: HTTPS on a local port, as the domains' A records (the simulator's
//! `recommendedIPv4`) point there in the sandbox. A name gets a certificate only once the
//! simulator has issued one covering it (`POST /v8/certs`), signed by a CA made at start-up that
//! only the caller trusts; without one the handshake fails, as Vercel's edge fails for a name it
//! has no certificate for. A redirecting domain answers with its redirect status and
//! `Location`; a served one with its project's newest READY deployment for that environment,
//! or Vercel's `DEPLOYMENT_NOT_FOUND`. Each deployment's own URL (`*.vercel.app`, under Vercel's
//! wildcard certificate) serves that deployment. The app answers 500 when the credentials it
//! was built with no longer work (the runtime check, asked per request) or when told to fail.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use super::domains::{EdgeRoute, certificate_for, edge_route};
use super::{SimState, VercelSim};

/// The running edge; it stops when dropped.
pub struct Edge {
    address: SocketAddr,
    ca_pem: String,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Edge {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl Edge {
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The certificate of the CA that signs the edge's certificates (PEM), for a client to
    /// trust beside the public roots.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }
}

impl VercelSim {
    /// Serves this simulator's domains over HTTPS on `address` (port 0 picks a free one).
    pub async fn start_edge(&self, address: SocketAddr) -> std::io::Result<Edge> {
        let ca = new_ca().map_err(std::io::Error::other)?;
        let ca_pem = ca.pem();
        let certificates =
            Arc::new(EdgeCertificates { state: self.state.clone(), ca, minted: Mutex::new(HashMap::new()) });
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(std::io::Error::other)?
            .with_no_client_auth()
            .with_cert_resolver(certificates);
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let tcp = TcpListener::bind(address).await?;
        let address = tcp.local_addr()?;
        let (accepted, queue) = mpsc::channel(64);
        // Handshakes run beside each other, so one stalled client holds up no other; a failed
        // one (no certificate for the name) only closes its connection.
        let handshakes = tokio::spawn(async move {
            loop {
                let Ok((stream, peer)) = tcp.accept().await else { continue };
                let (acceptor, accepted) = (acceptor.clone(), accepted.clone());
                tokio::spawn(async move {
                    let handshake = tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream));
                    if let Ok(Ok(tls)) = handshake.await {
                        let _ = accepted.send((tls, peer)).await;
                    }
                });
            }
        });
        let router = Router::new().fallback(serve).with_state(self.state.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(TlsListener { queue, address }, router).await;
        });
        Ok(Edge { address, ca_pem, tasks: vec![handshakes, server] })
    }
}

fn new_ca() -> Result<CertifiedIssuer<'static, KeyPair>, rcgen::Error> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, "Slipway sandbox edge CA");
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    CertifiedIssuer::self_signed(params, KeyPair::generate()?)
}

/// Picks the certificate by the name the client asks for (SNI), minting it from the CA the
/// first time a certificate the simulator issued is used.
struct EdgeCertificates {
    state: Arc<Mutex<SimState>>,
    ca: CertifiedIssuer<'static, KeyPair>,
    /// By the simulator's certificate id.
    minted: Mutex<HashMap<String, Arc<CertifiedKey>>>,
}

impl std::fmt::Debug for EdgeCertificates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EdgeCertificates").finish_non_exhaustive()
    }
}

impl ResolvesServerCert for EdgeCertificates {
    fn resolve(&self, client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let host = client_hello.server_name()?;
        let (id, names) = certificate_for(&self.state.lock().unwrap(), host)?;
        let mut minted = self.minted.lock().unwrap();
        if let Some(key) = minted.get(&id) {
            return Some(key.clone());
        }
        let key = self.mint(names).map_err(|err| tracing::warn!("edge certificate: {err}")).ok()?;
        minted.insert(id, key.clone());
        Some(key)
    }
}

impl EdgeCertificates {
    fn mint(&self, names: Vec<String>) -> Result<Arc<CertifiedKey>, Box<dyn std::error::Error>> {
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::new(names)?;
        params.distinguished_name.push(DnType::CommonName, "Slipway sandbox edge");
        let certificate = params.signed_by(&key, &self.ca)?;
        let private = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let signing = rustls::crypto::ring::sign::any_supported_type(&private)?;
        let chain: Vec<CertificateDer<'static>> = vec![certificate.der().clone()];
        Ok(Arc::new(CertifiedKey::new(chain, signing)))
    }
}

/// TLS connections whose handshake succeeded, as axum's server takes them.
struct TlsListener {
    queue: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    address: SocketAddr,
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.queue.recv().await {
            Some(connection) => connection,
            // The accepting task is gone: the edge is stopping.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        Ok(self.address)
    }
}

async fn serve(State(state): State<Arc<Mutex<SimState>>>, headers: HeaderMap, uri: Uri) -> Response {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or_default();
    let host = host.rsplit_once(':').map_or(host, |(name, _port)| name);
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let not_found = || {
        let body = "The deployment could not be found on Vercel.\n\nDEPLOYMENT_NOT_FOUND\n";
        (StatusCode::NOT_FOUND, [("x-vercel-error", "DEPLOYMENT_NOT_FOUND")], body).into_response()
    };
    let serving = {
        let state = state.lock().unwrap();
        let ready = |d: &&super::SimDeployment| d.state() == "READY";
        let found = match edge_route(&state, host) {
            EdgeRoute::Redirect { to, status } => {
                let status = StatusCode::from_u16(status).unwrap_or(StatusCode::TEMPORARY_REDIRECT);
                return (status, [(header::LOCATION, format!("https://{to}{path}"))]).into_response();
            }
            EdgeRoute::Serve { project_id, custom_environment_id } => {
                state.deployments.iter().rev().filter(ready).find(|d| {
                    d.project_id == project_id
                        && match &custom_environment_id {
                            Some(environment) => d.custom_environment.as_ref() == Some(environment),
                            None => d.target.as_deref() == Some("production") && d.custom_environment.is_none(),
                        }
                })
            }
            EdgeRoute::Deployment { id } => state.deployments.iter().filter(ready).find(|d| d.id == id),
            EdgeRoute::Unknown => None,
        };
        match found {
            Some(d) => Serving {
                id: d.id.clone(),
                name: d.name.clone(),
                env: d.env.clone(),
                unhealthy: d.unhealthy,
                check: state.runtime_check.clone(),
            },
            None => return not_found(),
        }
    };
    // The app runs with what it was built with; its credentials are tried at request time,
    // outside the simulator's lock.
    let problem = if serving.unhealthy {
        Some("the app failed (simulated failure)".to_string())
    } else {
        serving.check.as_ref().and_then(|check| check(&serving.env))
    };
    let deployment = (header::HeaderName::from_static("x-vercel-deployment"), serving.id.clone());
    match problem {
        Some(problem) => {
            let body = format!("500: INTERNAL_SERVER_ERROR\n{}: {problem}\n", serving.name);
            (StatusCode::INTERNAL_SERVER_ERROR, [deployment], body).into_response()
        }
        None => {
            let body = format!(
                "<!doctype html><title>{name}</title><p>{name}: deployment {id}</p>\n",
                name = serving.name,
                id = serving.id
            );
            let html = (header::CONTENT_TYPE, "text/html; charset=utf-8".to_string());
            (StatusCode::OK, [html, deployment], body).into_response()
        }
    }
}

/// What the edge found to serve a request with.
struct Serving {
    id: String,
    name: String,
    env: std::collections::BTreeMap<String, String>,
    unhealthy: bool,
    check: Option<super::RuntimeCheck>,
}
