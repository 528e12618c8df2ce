//! Session cookies and the per-request authentication that every server function uses.

use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use leptos::prelude::*;
use leptos_axum::ResponseOptions;
use secrecy::{ExposeSecret, SecretString};
use slipway_engine::auth::User;
use slipway_engine::venture::Venture;
use slipway_engine::{Engine, EngineError};

use super::AppState;
use crate::api::{UserView, VentureView};

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

pub async fn optional_user() -> Result<Option<(Engine, User)>, ServerFnError> {
    let state = app_state()?;
    let headers = request_headers()?;
    Ok(user_from_headers(&state.engine, &headers).await.map(|user| (state.engine, user)))
}

/// The engine and the signed-in user, or a 401 refusal.
pub async fn require_user() -> Result<(Engine, User), ServerFnError> {
    match optional_user().await? {
        Some(found) => Ok(found),
        None => engine_result(Err(EngineError::Unauthenticated)),
    }
}

/// Maps engine errors to an HTTP status and a message fit for the user.
pub fn engine_result<T>(result: Result<T, EngineError>) -> Result<T, ServerFnError> {
    result.map_err(|err| {
        let status = match &err {
            EngineError::Unauthenticated => StatusCode::UNAUTHORIZED,
            EngineError::Forbidden { .. } => StatusCode::FORBIDDEN,
            EngineError::NotFound(_) => StatusCode::NOT_FOUND,
            EngineError::Invalid(_) => StatusCode::BAD_REQUEST,
            EngineError::Conflict(_) => StatusCode::CONFLICT,
            EngineError::Busy { .. } => StatusCode::TOO_MANY_REQUESTS,
            EngineError::Platform(_) => StatusCode::BAD_GATEWAY,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        if let Some(response) = use_context::<ResponseOptions>() {
            response.set_status(status);
        }
        let message = match &err {
            EngineError::Invalid(errors) => errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "),
            // Internal details go to the log, not to the browser.
            EngineError::Store(_) | EngineError::Migrate(_) | EngineError::Config(_) => {
                tracing::error!(error = %err, "server function failed");
                "internal error; see the server log".to_string()
            }
            _ => err.to_string(),
        };
        ServerFnError::new(message)
    })
}

pub async fn login(username: &str, password: String) -> Result<(), ServerFnError> {
    let state = app_state()?;
    let password = SecretString::from(password);
    let (user, token) = match state.engine.login(username, &password).await {
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
    set_session_cookie(&state, Some(&token), state.session_ttl_secs)?;
    Ok(())
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
    let secure = if state.secure_cookies { "; Secure" } else { "" };
    let cookie = format!("{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}");
    let header = HeaderValue::from_str(&cookie).map_err(|_| ServerFnError::new("invalid cookie"))?;
    if let Some(response) = use_context::<ResponseOptions>() {
        response.append_header(SET_COOKIE, header);
    }
    Ok(())
}

pub fn user_view(user: &User) -> UserView {
    UserView { username: user.username.clone(), role: user.role.as_str().to_string() }
}

pub fn venture_view(venture: &Venture) -> VentureView {
    VentureView {
        id: venture.id.clone(),
        name: venture.name.clone(),
        repository: venture.repository.clone(),
        status: venture.status.as_str().to_string(),
        vercel_project_id: venture.vercel_project_id.clone(),
        created_at: venture.created_at,
        steps_done: 0,
        steps_total: 0,
    }
}
