//! Session cookies and the per-request authentication that every server function uses.

use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use leptos::prelude::*;
use leptos_axum::ResponseOptions;
use secrecy::{ExposeSecret, SecretString};
use slipway_engine::auth::User;
use slipway_engine::{Engine, EngineError};

use super::AppState;

pub const SESSION_COOKIE: &str = "slipway_session";

/// The session token in a request's cookies, if any.
pub fn session_token(headers: &HeaderMap) -> Option<SecretString> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| SecretString::from(value.to_string()))
}

/// The signed-in user of a request, if its session is valid.
pub async fn user_from_headers(engine: &Engine, headers: &HeaderMap) -> Option<User> {
    let token = session_token(headers)?;
    engine.authenticate(&token).await.ok()
}

fn app_state() -> Result<AppState, ServerFnError> {
    use_context::<AppState>().ok_or_else(|| ServerFnError::new("server state missing"))
}

fn request_headers() -> Result<HeaderMap, ServerFnError> {
    use_context::<axum::http::request::Parts>()
        .map(|parts| parts.headers)
        .ok_or_else(|| ServerFnError::new("request missing"))
}

/// The user the page guard found for this request (`middleware::require_login_for_pages`): a
/// page's server functions, run while it renders, need not look the session up again.
#[derive(Clone)]
pub struct SignedIn(pub User);

pub async fn optional_user() -> Result<Option<(Engine, User)>, ServerFnError> {
    let state = app_state()?;
    let parts = use_context::<axum::http::request::Parts>().ok_or_else(|| ServerFnError::new("request missing"))?;
    if let Some(SignedIn(user)) = parts.extensions.get::<SignedIn>() {
        return Ok(Some((state.engine, user.clone())));
    }
    Ok(user_from_headers(&state.engine, &parts.headers).await.map(|user| (state.engine, user)))
}

/// The engine and the signed-in user, or a 401 refusal.
pub async fn require_user() -> Result<(Engine, User), ServerFnError> {
    match optional_user().await? {
        Some(found) => Ok(found),
        None => engine_result(Err(EngineError::Unauthenticated)),
    }
}

/// Engine errors as server function errors: the status from the one table, a message fit for
/// the user.
pub fn engine_result<T>(result: Result<T, EngineError>) -> Result<T, ServerFnError> {
    result.map_err(|err| {
        let refusal = super::errors::Refusal::from_engine(err);
        if let Some(response) = use_context::<ResponseOptions>() {
            response.set_status(refusal.status);
            if let Some(seconds) = refusal.retry_after {
                response.insert_header(axum::http::header::RETRY_AFTER, HeaderValue::from(seconds));
            }
        }
        ServerFnError::new(refusal.message)
    })
}

pub async fn login(username: &str, password: String) -> Result<(), ServerFnError> {
    let state = app_state()?;
    let password = SecretString::from(password);
    let (user, token) = match state.engine.login(username, &password, &client_address()).await {
        Ok(found) => found,
        Err(EngineError::Unauthenticated) => {
            if let Some(response) = use_context::<ResponseOptions>() {
                response.set_status(StatusCode::UNAUTHORIZED);
            }
            return Err(ServerFnError::new("wrong username or password"));
        }
        Err(err) => return engine_result(Err(err)),
    };
    tracing::info!(user = %user.username, "signed in");
    set_session_cookie(&state, Some(&token), state.engine.session_ttl().as_secs())?;
    Ok(())
}

/// The address the request came from, as the server's socket saw it (empty when the server was
/// not given it). Behind a reverse proxy every request comes from the proxy: the throttle per
/// address then counts the proxy's, while the one per username still holds.
fn client_address() -> String {
    use_context::<axum::http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip()))
        .map(|ip| ip.to_string())
        .unwrap_or_default()
}

pub async fn logout() -> Result<(), ServerFnError> {
    let state = app_state()?;
    if let Some(token) = session_token(&request_headers()?) {
        engine_result(state.engine.logout(&token).await)?;
    }
    set_session_cookie(&state, None, 0)
}

fn set_session_cookie(state: &AppState, token: Option<&SecretString>, max_age: u64) -> Result<(), ServerFnError> {
    let value = token.map(|t| t.expose_secret().to_string()).unwrap_or_default();
    let secure = if state.served_over_https { "; Secure" } else { "" };
    let cookie = format!("{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}");
    let header = HeaderValue::from_str(&cookie).map_err(|_| ServerFnError::new("invalid cookie"))?;
    if let Some(response) = use_context::<ResponseOptions>() {
        response.append_header(SET_COOKIE, header);
    }
    Ok(())
}
