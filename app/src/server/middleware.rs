//! Request guards that apply to every route.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, HOST, ORIGIN, STRICT_TRANSPORT_SECURITY};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

use super::AppState;
use super::session::user_from_headers;
use crate::routes::PUBLIC_PAGES;

/// Refuses state-changing requests that come from another site (CSRF). Browsers send
/// `Sec-Fetch-Site` on every request and `Origin` on every POST; either, when present, must
/// name this site: `Origin` by scheme, host and port, the scheme being the one this server is
/// reached by. Requests with neither are not from a browser and carry no ambient cookie risk.
pub async fn refuse_cross_site(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let safe = matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe {
        let headers = request.headers();
        let fetch_site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
        if let Some(site) = fetch_site
            && site != "same-origin"
            && site != "none"
        {
            return refuse("cross-site request refused (Sec-Fetch-Site)");
        }
        if let Some(origin) = headers.get(ORIGIN).and_then(|v| v.to_str().ok()) {
            let host = headers.get(HOST).and_then(|v| v.to_str().ok()).unwrap_or_default();
            if !same_origin(origin, host, state.served_over_https) {
                return refuse("cross-origin request refused (Origin is not this site's scheme, host and port)");
            }
        }
    }
    next.run(request).await
}

/// Whether a browser's `Origin` is this site: the scheme it is served by, and the `Host` asked
/// for (the port included; a default port may be left out on either side).
fn same_origin(origin: &str, host: &str, https: bool) -> bool {
    let scheme = if https { "https" } else { "http" };
    let default_port = if https { 443 } else { 80 };
    let Ok(origin) = axum::http::Uri::try_from(origin) else { return false };
    let Ok(host) = axum::http::uri::Authority::try_from(host) else { return false };
    let origin_host = origin.host().unwrap_or_default();
    origin.scheme_str() == Some(scheme)
        && origin.path() == "/"
        && origin_host.eq_ignore_ascii_case(host.host())
        && origin.port_u16().unwrap_or(default_port) == host.port_u16().unwrap_or(default_port)
}

fn refuse(message: &'static str) -> Response {
    (StatusCode::FORBIDDEN, message).into_response()
}

/// Whether a GET of `path` renders a page that needs a session: every page but the public ones
/// (`routes::PUBLIC_PAGES`), so a new page is guarded without being listed here. The API
/// answers for itself (401), and the bundle and static files are public.
pub fn needs_session(path: &str) -> bool {
    !(path.starts_with("/api/") || is_static_file(path) || PUBLIC_PAGES.contains(&path))
}

/// Sends a visitor without a valid session to the login page before any page renders.
pub async fn require_login_for_pages(
    State(state): State<AppState>,
    mut request: Request<Body>,
    next: Next,
) -> Response {
    let guarded = request.method() == Method::GET && needs_session(request.uri().path());
    if guarded {
        match user_from_headers(&state.engine, request.headers()).await {
            // The page's server functions use this user instead of looking the session up again.
            Some(user) => {
                request.extensions_mut().insert(super::session::SignedIn(user));
            }
            None => return Redirect::to("/login").into_response(),
        }
    }
    next.run(request).await
}

/// Headers that make the pages harder to abuse: no framing, no MIME sniffing, a strict CSP,
/// nothing kept by caches but the bundle and static files (pages and API answers carry a
/// user's data), and HSTS when the site is https.
pub async fn security_headers(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_string();
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
    headers.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    headers.insert("referrer-policy", HeaderValue::from_static("same-origin"));
    if !headers.contains_key(CONTENT_SECURITY_POLICY) {
        // Pages set their own, with the nonce of their inline scripts; every other answer runs none.
        headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(super::csp::STRICT_CSP));
    }
    if !is_static_file(&path) {
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if state.served_over_https {
        headers.insert(STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000; includeSubDomains"));
    }
    response
}

/// The bundle and files under `public/`: the same for everyone, cacheable (a download from the
/// API, like `env.example`, is not one).
fn is_static_file(path: &str) -> bool {
    !path.starts_with("/api/")
        && (path.starts_with("/pkg/") || path.rsplit('/').next().is_some_and(|last| last.contains('.')))
}

#[cfg(test)]
mod tests {
    use super::same_origin;

    #[test]
    fn an_origin_is_this_site_only_by_scheme_host_and_port() {
        assert!(same_origin("http://127.0.0.1:3900", "127.0.0.1:3900", false));
        assert!(!same_origin("https://127.0.0.1:3900", "127.0.0.1:3900", false), "the scheme counts");
        assert!(!same_origin("http://127.0.0.1:3901", "127.0.0.1:3900", false), "the port counts");
        assert!(!same_origin("http://127.0.0.1.evil.com:3900", "127.0.0.1:3900", false));
        assert!(same_origin("https://slipway.acme.com", "slipway.acme.com", true));
        assert!(same_origin("https://slipway.acme.com:443", "Slipway.Acme.com", true), "default port, any case");
        assert!(!same_origin("http://slipway.acme.com", "slipway.acme.com", true), "http behind an https site");
        assert!(!same_origin("null", "slipway.acme.com", true));
        assert!(!same_origin("https://slipway.acme.com/path", "slipway.acme.com", true));
    }
}
