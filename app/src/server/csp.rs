//! Content-Security-Policy: the page's, with the nonce of the render's inline scripts, and the
//! strict one of every other answer. Its own module: the shell (in `routes`) sends the page's,
//! and `routes` must not reach the middleware that reads `routes`.

use axum::http::HeaderValue;
use axum::http::header::CONTENT_SECURITY_POLICY;

/// The policy of answers that are not pages: no script at all, nothing framed.
pub const STRICT_CSP: &str = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// The policy of a page: only this site's scripts and the inline ones carrying `nonce`
/// (Leptos' hydration bootstrap and resource data); 'wasm-unsafe-eval' lets the browser compile
/// the app's WebAssembly.
pub fn page_csp(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; style-src 'self'; \
         img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    )
}

/// Sends the page's CSP with the nonce Leptos puts on every inline script it writes for this
/// render (called by the shell, where the render's context is).
pub fn send_page_csp() {
    use leptos::prelude::use_context;
    let (Some(nonce), Some(response)) = (leptos::nonce::use_nonce(), use_context::<leptos_axum::ResponseOptions>())
    else {
        return;
    };
    if let Ok(policy) = HeaderValue::from_str(&page_csp(&nonce)) {
        response.insert_header(CONTENT_SECURITY_POLICY, policy);
    }
}
