//! Request guards that apply to every route.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::{HOST, ORIGIN};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

use super::AppState;
use super::session::user_from_headers;
use crate::routes::PUBLIC_PAGES;

/// Refuses state-changing requests that come from another site (CSRF). Browsers send
/// `Sec-Fetch-Site` on every request and `Origin` on every POST; either, when present, must
/// name this site. Requests with neither are not from a browser and carry no ambient cookie risk.
pub async fn refuse_cross_site(request: Request, next: Next) -> Response {
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
            let origin_host = origin.split_once("://").map(|(_, rest)| rest).unwrap_or("null");
            if origin_host != host {
                return refuse("cross-origin request refused (Origin does not match Host)");
            }
        }
    }
    next.run(request).await
}

fn refuse(message: &'static str) -> Response {
    (StatusCode::FORBIDDEN, message).into_response()
}

/// Whether a GET of `path` renders a page that needs a session: every page but the public ones
/// (`routes::PUBLIC_PAGES`), so a new page is guarded without being listed here. The API
/// answers for itself (401), and the bundle and static files are public.
pub fn needs_session(path: &str) -> bool {
    let is_file = path.rsplit('/').next().is_some_and(|last| last.contains('.'));
    !(path.starts_with("/api/") || path.starts_with("/pkg/") || is_file || PUBLIC_PAGES.contains(&path))
}

/// Sends a visitor without a valid session to the login page before any page renders.
pub async fn require_login_for_pages(State(state): State<AppState>, request: Request<Body>, next: Next) -> Response {
    let guarded = request.method() == Method::GET && needs_session(request.uri().path());
    if guarded && user_from_headers(&state.engine, request.headers()).await.is_none() {
        return Redirect::to("/login").into_response();
    }
    next.run(request).await
}

/// Headers that make the pages harder to abuse: no framing, no MIME sniffing, a strict CSP.
pub async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
    headers.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    headers.insert("referrer-policy", HeaderValue::from_static("same-origin"));
    headers.insert(
        "content-security-policy",
        // 'unsafe-inline' scripts: Leptos' hydration bootstrap and resource data are inline.
        // 'wasm-unsafe-eval' lets the browser compile the app's WebAssembly.
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self' 'unsafe-inline' 'wasm-unsafe-eval'; \
             style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; \
             base-uri 'none'; form-action 'self'",
        ),
    );
    response
}
