//! The last check of a domain: each name answers over HTTPS as a visitor's browser would find
//! it. The name is resolved through the doctor's resolvers (not the host's), the certificate is
//! verified for that name against the public roots (and any configured extra CA), and the
//! answer must be the site itself or, for the redirecting name, a redirect to the primary.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::resolve::{DnsSettings, Server, addresses};

/// Where and how HTTPS is asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpsSettings {
    /// The port HTTPS answers on (443 on the Internet).
    pub port: u16,
    /// CA certificates (PEM) trusted beside the public roots: the sandbox edge's own CA.
    pub extra_roots: Vec<String>,
    /// How long one name gets to answer.
    pub timeout: Duration,
}

impl Default for HttpsSettings {
    fn default() -> Self {
        HttpsSettings { port: 443, extra_roots: Vec::new(), timeout: Duration::from_secs(10) }
    }
}

/// What a name must answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    /// The production site: a 2xx.
    Site,
    /// An environment that may have nothing deployed yet: anything but a redirect or a 5xx.
    Environment,
    /// A redirect (301, 302, 307 or 308) to this name.
    RedirectTo(String),
}

/// How one name answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HttpsAnswer {
    pub name: String,
    /// The address asked: the name's first A record through the doctor's resolvers.
    #[schema(required = true)]
    pub address: Option<String>,
    /// The HTTP status, once the TLS handshake succeeded (so the certificate covers the name).
    #[schema(required = true)]
    pub status: Option<u16>,
    /// Where a redirect points.
    #[schema(required = true)]
    pub location: Option<String>,
    /// What is wrong, in plain words; none when the name answers as it should.
    #[schema(required = true)]
    pub problem: Option<String>,
}

impl HttpsAnswer {
    pub fn ok(&self) -> bool {
        self.problem.is_none()
    }

    /// How it answered, after its name: `→ 308 https://acme.com/`, `→ 200`, or the problem.
    pub fn outcome(&self) -> String {
        match (&self.problem, self.status, &self.location) {
            (Some(problem), _, _) => problem.clone(),
            (None, Some(status), Some(location)) => format!("→ {status} {location}"),
            (None, Some(status), None) => format!("→ {status}"),
            (None, None, _) => String::new(),
        }
    }

    /// One line for logs and the CLI: `https://www.acme.com → 308 https://acme.com/`.
    pub fn line(&self) -> String {
        let separator = if self.ok() { " " } else { ": " };
        format!("https://{}{separator}{}", self.name, self.outcome())
    }
}

/// Asks `https://{name}/` and judges the answer by `expect`.
pub async fn probe(https: &HttpsSettings, dns: &DnsSettings, name: &str, expect: &Expect) -> HttpsAnswer {
    probe_path(https, dns, name, "/", expect).await
}

/// Asks `https://{name}{path}` (`path` starts with `/`) and judges the answer by `expect`.
pub async fn probe_path(
    https: &HttpsSettings,
    dns: &DnsSettings,
    name: &str,
    path: &str,
    expect: &Expect,
) -> HttpsAnswer {
    let mut answer = HttpsAnswer { name: name.to_string(), address: None, status: None, location: None, problem: None };
    let Some(address) = first_address(dns, name).await else {
        answer.problem = Some(format!("{name} has no A record at any resolver, so no browser can reach it"));
        return answer;
    };
    answer.address = Some(address.to_string());
    let at = SocketAddr::new(address, https.port);
    let client = match client(https, name, at) {
        Ok(client) => client,
        Err(problem) => {
            answer.problem = Some(problem);
            return answer;
        }
    };
    match client.get(format!("https://{name}{path}")).send().await {
        Ok(response) => {
            let status = response.status();
            answer.status = Some(status.as_u16());
            answer.location =
                response.headers().get(reqwest::header::LOCATION).and_then(|l| l.to_str().ok()).map(String::from);
            answer.problem = judge(status, answer.location.as_deref(), expect);
        }
        Err(err) => answer.problem = Some(failure(&err, name, at, https.timeout)),
    }
    answer
}

async fn first_address(dns: &DnsSettings, name: &str) -> Option<IpAddr> {
    for resolver in &dns.resolvers {
        let server = Server::new(*resolver, true, dns.timeout);
        if let Some(address) = addresses(&server, name).await.into_iter().next() {
            return Some(address);
        }
    }
    None
}

fn client(https: &HttpsSettings, name: &str, at: SocketAddr) -> Result<reqwest::Client, String> {
    let mut builder = reqwest::Client::builder()
        .use_rustls_tls()
        .https_only(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(https.timeout)
        .resolve(name, at);
    for pem in &https.extra_roots {
        let root = reqwest::Certificate::from_pem(pem.as_bytes())
            .map_err(|err| format!("the extra CA certificate configured for HTTPS checks is not PEM: {err}"))?;
        builder = builder.add_root_certificate(root);
    }
    builder.build().map_err(|err| format!("no HTTPS client could be made: {err}"))
}

/// The innermost cause of a failed request, which names what TLS or the network refused.
fn failure(err: &reqwest::Error, name: &str, at: SocketAddr, timeout: Duration) -> String {
    if err.is_timeout() {
        return format!("{at} did not answer HTTPS for {name} within {} s", timeout.as_secs());
    }
    let mut cause: &dyn std::error::Error = err;
    while let Some(source) = cause.source() {
        cause = source;
    }
    let detail = cause.to_string();
    if detail.contains("invalid peer certificate") {
        format!("the certificate {at} presents for {name} is not valid for it ({detail})")
    } else if detail.contains("alert") || detail.contains("handshake") {
        format!(
            "{at} has no certificate for {name} yet (the TLS handshake was refused: {detail}); \
             Vercel issues one once the name is verified and points at it"
        )
    } else if detail.to_ascii_lowercase().contains("refused") {
        format!("nothing answers HTTPS at {at} ({detail})")
    } else {
        format!("HTTPS to {name} at {at} failed: {detail}")
    }
}

fn judge(status: reqwest::StatusCode, location: Option<&str>, expect: &Expect) -> Option<String> {
    let redirect_host = location.and_then(|l| reqwest::Url::parse(l).ok()).and_then(|u| u.host_str().map(String::from));
    match expect {
        Expect::RedirectTo(target) => {
            let redirects = matches!(status.as_u16(), 301 | 302 | 307 | 308);
            match redirect_host {
                Some(host) if redirects && host == *target => None,
                Some(host) if redirects => Some(format!("redirects to {host} instead of {target}")),
                _ => Some(format!("answers {status} instead of redirecting to https://{target}/")),
            }
        }
        _ if status.is_redirection() => Some(format!(
            "redirects to {} instead of serving the site",
            location.unwrap_or("an address it does not give")
        )),
        _ if status.is_server_error() => Some(format!("answers {status}")),
        Expect::Site if !status.is_success() => Some(format!("answers {status} instead of the production site")),
        Expect::Site | Expect::Environment => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_judged_by_what_the_name_is_for() {
        let to_apex = Expect::RedirectTo("acme.com".into());
        let code = |c: u16| reqwest::StatusCode::from_u16(c).unwrap();
        assert_eq!(judge(code(308), Some("https://acme.com/"), &to_apex), None);
        assert_eq!(
            judge(code(308), Some("https://elsewhere.com/"), &to_apex).as_deref(),
            Some("redirects to elsewhere.com instead of acme.com")
        );
        assert_eq!(
            judge(code(200), None, &to_apex).as_deref(),
            Some("answers 200 OK instead of redirecting to https://acme.com/")
        );
        assert_eq!(judge(code(200), None, &Expect::Site), None);
        assert!(judge(code(404), None, &Expect::Site).unwrap().contains("instead of the production site"));
        assert_eq!(judge(code(404), None, &Expect::Environment), None);
        assert_eq!(judge(code(502), None, &Expect::Environment).as_deref(), Some("answers 502 Bad Gateway"));
        assert!(judge(code(307), Some("https://x.com/"), &Expect::Site).unwrap().contains("instead of serving"));
    }
}
