//! The JSON REST API for machine clients (`/api/v1`), authenticated with API tokens
//! (`Authorization: Bearer slw_…`). Handlers call the engine, which checks the token's role;
//! errors are `{"error": {"code", "message", "fields"?}}` with the field and rule named.
//!
//! Each handler carries its `#[utoipa::path]`, and [`api`] registers them with `routes!()`, so
//! the router and the OpenAPI document served at `/api/v1/openapi.json` come from one list
//! ([`openapi`] holds the document's frame and the shared error responses).

mod audit;
mod database;
mod domains;
mod env;
mod meta;
pub mod openapi;
mod plan;
mod rotations;
mod signin;
mod ventures;

use axum::Router;
use axum::extract::FromRef;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use secrecy::SecretString;
use serde::Deserialize;
use slipway_engine::EngineError;
use slipway_engine::auth::User;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::errors::Refusal;

/// Every /api/v1 route with its documentation: one `routes!()` per path, and never a bare
/// `.route()` (it would serve a path the document does not name; a test compares the two).
fn api<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    AppState: FromRef<S>,
{
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(ventures::list_ventures, ventures::create_venture))
        .routes(routes!(ventures::get_venture))
        .routes(routes!(plan::plan_venture))
        .routes(routes!(ventures::apply_venture))
        .routes(routes!(ventures::retry_venture))
        .routes(routes!(ventures::destroy_venture))
        .routes(routes!(ventures::venture_events))
        .routes(routes!(ventures::get_job))
        .routes(routes!(env::list_env))
        .routes(routes!(env::env_example))
        .routes(routes!(env::put_env, env::delete_env))
        .routes(routes!(env::reveal_env))
        .routes(routes!(env::pull_env))
        .routes(routes!(env::sync_env))
        .routes(routes!(env::redeploy))
        .routes(routes!(env::env_history))
        .routes(routes!(env::rollback_env))
        .routes(routes!(rotations::rotate_secret))
        .routes(routes!(rotations::list_rotations))
        .routes(routes!(signin::get_sign_in))
        .routes(routes!(signin::put_sign_in_secret))
        .routes(routes!(database::get_database))
        .routes(routes!(database::lint_database))
        .routes(routes!(domains::get_domain))
        .routes(routes!(domains::check_domain))
        .routes(routes!(plan::plan_new))
        .routes(routes!(meta::connections))
        .routes(routes!(meta::check_connections))
        .routes(routes!(audit::audit_log))
        .routes(routes!(meta::openapi))
}

/// The /api/v1 routes, for `server::router()` to merge.
pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    AppState: FromRef<S>,
{
    api().split_for_parts().0
}

/// The API's edges in its own error format: a body that is not JSON is refused (415) before a
/// handler runs, and what the router or an extractor answers in plain text or HTML (an unknown
/// path, a method a path does not take, a body over axum's limit, a path parameter that does
/// not parse) becomes `{"error": …}` with the same status.
pub async fn json_edges(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    use axum::http::header::{ALLOW, CONTENT_TYPE};
    if !request.uri().path().starts_with("/api/v1/") {
        return next.run(request).await;
    }
    let (method, path) = (request.method().clone(), request.uri().path().to_string());
    // A body of zero bytes (or none) needs no type.
    let has_body = !axum::body::HttpBody::is_end_stream(request.body());
    let content_type = request.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok());
    if has_body && !content_type.is_some_and(is_json) {
        let named = content_type.map_or("no Content-Type".to_string(), |c| format!("Content-Type {c}"));
        let message = format!("the request body must be JSON (Content-Type: application/json), not {named}");
        return error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", message);
    }
    let response = next.run(request).await;
    let answered_json = response.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(is_json);
    let status = response.status();
    if answered_json || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let allow = response.headers().get(ALLOW).cloned();
    let mut refusal = match status {
        StatusCode::NOT_FOUND => error(
            status,
            "not_found",
            format!("no API operation at {method} {path}; every operation is listed in /api/v1/openapi.json"),
        ),
        StatusCode::METHOD_NOT_ALLOWED => {
            let allowed = allow.as_ref().and_then(|a| a.to_str().ok()).unwrap_or_default().to_string();
            error(status, "method_not_allowed", format!("{path} does not take {method}; it takes {allowed}"))
        }
        StatusCode::PAYLOAD_TOO_LARGE => error(status, "too_large", "the request body is larger than the API takes"),
        _ => {
            // An extractor's rejection in words of its own (a path parameter that does not parse).
            let said = axum::body::to_bytes(response.into_body(), 4096).await.unwrap_or_default();
            let said = String::from_utf8_lossy(&said).trim().to_string();
            let code = if status.is_server_error() { "internal" } else { "bad_request" };
            let message = if status.is_server_error() { "the request failed".to_string() } else { said };
            error(status, code, message)
        }
    };
    if let Some(allow) = allow {
        refusal.headers_mut().insert(ALLOW, allow);
    }
    refusal
}

/// `application/json`, or a `+json` type, with any parameters.
fn is_json(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// The path parameter of every operation on one venture.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
struct VentureId {
    /// The venture's id.
    #[param(format = "uuid")]
    id: String,
}

fn error(status: StatusCode, code: &'static str, message: impl Into<String>) -> Response {
    Refusal::new(status, code, message).into_response()
}

fn engine_error(err: EngineError) -> Response {
    Refusal::from_engine(err).into_response()
}

async fn caller(state: &AppState, headers: &HeaderMap) -> Result<User, Response> {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| SecretString::from(t.trim().to_string()));
    let Some(token) = token else {
        return Err(error(StatusCode::UNAUTHORIZED, "unauthenticated", "send Authorization: Bearer <API token>"));
    };
    state.engine.authenticate_api_token(&token).await.map_err(|err| match err {
        EngineError::Unauthenticated => {
            error(StatusCode::UNAUTHORIZED, "unauthenticated", "a valid API token is required")
        }
        other => engine_error(other),
    })
}

/// A JSON body, or a 400 naming the field that does not fit.
fn body<T: serde::de::DeserializeOwned>(raw: &[u8]) -> Result<T, Response> {
    super::errors::json_body(raw).map_err(IntoResponse::into_response)
}

/// Every handler answers either way with a whole response; `?` sends a refusal.
type Answer = Result<Response, Response>;
