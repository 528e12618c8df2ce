//! The JSON REST API for machine clients (`/api/v1`), authenticated with API tokens
//! (`Authorization: Bearer slw_…`). Handlers call the engine, which checks the token's role;
//! errors are `{"error": {"code", "message", "fields"?}}` with the field and rule named.

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use serde_json::json;
use slipway_engine::EngineError;
use slipway_engine::auth::User;
use slipway_engine::venture::{NewVenture, Venture};

use super::AppState;
use super::errors::Refusal;

pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    AppState: axum::extract::FromRef<S>,
{
    Router::new()
        .route("/api/v1/ventures", get(list_ventures).post(create_venture))
        .route("/api/v1/ventures/{id}", get(get_venture))
        .route("/api/v1/ventures/{id}/plan", get(plan_venture))
        .route("/api/v1/ventures/{id}/apply", post(apply_venture))
        .route("/api/v1/ventures/{id}/retry", post(apply_venture))
        .route("/api/v1/ventures/{id}/destroy", post(destroy_venture))
        .route("/api/v1/ventures/{id}/events", get(venture_events))
        .route("/api/v1/plan", post(plan_new))
        .route("/api/v1/connections", get(connections))
        .route("/api/v1/openapi.json", get(openapi))
}

/// The OpenAPI 3 document of this API (no token needed to read it).
const OPENAPI: &str = include_str!("openapi.json");

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
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

#[derive(Serialize)]
struct VentureBody {
    id: String,
    name: String,
    repository: String,
    status: String,
    vercel_project_id: Option<String>,
    created_at: i64,
}

fn venture_body(v: &Venture) -> VentureBody {
    VentureBody {
        id: v.id.clone(),
        name: v.name.clone(),
        repository: v.repository.clone(),
        status: v.status.as_str().into(),
        vercel_project_id: v.vercel_project_id.clone(),
        created_at: v.created_at,
    }
}

/// Every handler answers either way with a whole response; `?` sends a refusal.
type Answer = Result<Response, Response>;

async fn list_ventures(State(state): State<AppState>, headers: HeaderMap) -> Answer {
    let user = caller(&state, &headers).await?;
    let list = state.engine.list_ventures(&user).await.map_err(engine_error)?;
    Ok(Json(json!({ "ventures": list.iter().map(venture_body).collect::<Vec<_>>() })).into_response())
}

async fn create_venture(State(state): State<AppState>, headers: HeaderMap, raw: Bytes) -> Answer {
    let user = caller(&state, &headers).await?;
    let input: NewVenture = body(&raw)?;
    let key = headers.get("idempotency-key").and_then(|v| v.to_str().ok()).map(str::to_string);
    let outcome = match &key {
        Some(key) => state.engine.create_venture_once(&user, key, &input).await,
        None => state.engine.create_venture(&user, &input).await.map(|v| (v, true)),
    };
    let (venture, new) = outcome.map_err(engine_error)?;
    let status = if new { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(json!({ "venture": venture_body(&venture) }))).into_response())
}

async fn get_venture(State(state): State<AppState>, Path(id): Path<String>, headers: HeaderMap) -> Answer {
    let user = caller(&state, &headers).await?;
    let engine = &state.engine;
    let venture = engine.venture(&user, &id).await.map_err(engine_error)?;
    let steps = engine.venture_steps(&user, &id).await.map_err(engine_error)?;
    let resources = engine.venture_resources(&user, &id).await.map_err(engine_error)?;
    let resources: serde_json::Map<String, serde_json::Value> =
        resources.into_iter().map(|(kind, r)| (kind, json!({ "id": r.external_id, "data": r.data }))).collect();
    Ok(Json(json!({ "venture": venture_body(&venture), "steps": steps, "resources": resources })).into_response())
}

async fn plan_new(State(state): State<AppState>, headers: HeaderMap, raw: Bytes) -> Answer {
    let user = caller(&state, &headers).await?;
    let input: NewVenture = body(&raw)?;
    let actions = state.engine.plan_new_venture(&user, &input).await.map_err(engine_error)?;
    Ok(Json(json!({ "actions": actions })).into_response())
}

async fn plan_venture(State(state): State<AppState>, Path(id): Path<String>, headers: HeaderMap) -> Answer {
    let user = caller(&state, &headers).await?;
    let actions = state.engine.plan_venture(&user, &id).await.map_err(engine_error)?;
    Ok(Json(json!({ "actions": actions })).into_response())
}

/// 202 with the id of the job that will do the work.
fn accepted(job: String) -> Response {
    (StatusCode::ACCEPTED, Json(json!({ "job_id": job }))).into_response()
}

async fn apply_venture(State(state): State<AppState>, Path(id): Path<String>, headers: HeaderMap) -> Answer {
    let user = caller(&state, &headers).await?;
    state.engine.apply_venture(&user, &id).await.map(accepted).map_err(engine_error)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DestroyBody {
    /// The venture's name, repeated.
    confirm: String,
}

async fn destroy_venture(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    raw: Bytes,
) -> Answer {
    let user = caller(&state, &headers).await?;
    let request: DestroyBody = body(&raw)?;
    state.engine.destroy_venture(&user, &id, &request.confirm).await.map(accepted).map_err(engine_error)
}

#[derive(Deserialize)]
struct Page {
    after: Option<i64>,
    limit: Option<i64>,
}

async fn venture_events(
    State(state): State<AppState>,
    Path(id): Path<String>,
    page: Result<Query<Page>, QueryRejection>,
    headers: HeaderMap,
) -> Answer {
    let user = caller(&state, &headers).await?;
    let Query(page) = page.map_err(|rejection| {
        let message = format!("after and limit must be integers ({})", rejection.body_text());
        error(StatusCode::BAD_REQUEST, "bad_query", message)
    })?;
    // `Accept: text/event-stream` follows the log live (SSE, resumable with Last-Event-ID).
    let wants_stream =
        headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("text/event-stream"));
    if wants_stream {
        state.engine.venture(&user, &id).await.map_err(engine_error)?;
        return Ok(super::sse::stream_events(state.engine.clone(), user, id, &headers, page.after));
    }
    let limit = page.limit.unwrap_or(200);
    if !(1..=1000).contains(&limit) {
        return Err(error(StatusCode::BAD_REQUEST, "bad_query", "limit must be between 1 and 1000"));
    }
    let after = page.after.unwrap_or(0);
    let events = state.engine.venture_events(&user, &id, after, limit).await.map_err(engine_error)?;
    let next = events.last().map(|e| e.id).unwrap_or(after);
    Ok(Json(json!({ "events": events, "next_after": next })).into_response())
}

async fn connections(State(state): State<AppState>, headers: HeaderMap) -> Answer {
    let user = caller(&state, &headers).await?;
    Ok(Json(json!({ "connections": state.engine.connection_status(&user).await })).into_response())
}
