//! A venture's environment variables: the listing with sync states, declare or change one,
//! remove one, an admin's reveal (audited, never cached), a value's history and its rollback.
//! The next apply syncs them to Vercel (`POST /api/v1/ventures/{id}/apply`).

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use slipway_engine::engine::{EnvChange, EnvListing, EnvVariable, EnvVersion};
use slipway_engine::env::Environment;

use super::openapi::{BadBody, Conflict, ErrorBody, Forbidden, Invalid, NotFound, Unauthenticated};
use super::ventures::{Job, accepted};
use super::{Answer, AppState, VentureId, body, caller, engine_error, error};

/// The path parameters of one variable.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct VariablePath {
    /// The venture's id.
    #[param(format = "uuid")]
    id: String,
    /// The variable's key.
    #[param(pattern = "^[A-Za-z_][A-Za-z0-9_]*$", max_length = 256)]
    key: String,
}

/// Which environment.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EnvironmentQuery {
    environment: Environment,
}

/// Which value to reveal.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevealRequest {
    environment: Environment,
}

/// A value in clear.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Revealed {
    key: String,
    environment: Environment,
    value: String,
}

/// The path parameters of one of a venture's environments.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct EnvironmentPath {
    /// The venture's id.
    #[param(format = "uuid")]
    id: String,
    /// development, preview, staging (while it is enabled) or production.
    #[param(value_type = Environment)]
    environment: String,
}

/// One environment's values for a developer's local file.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Pulled {
    venture: String,
    environment: Environment,
    variables: Vec<PulledValue>,
}

/// The environments with a running deployment to renew (previews deploy per pull request).
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)] // Only its schema is used: the engine reads the path parameter.
pub enum DeployedEnvironment {
    Production,
    Staging,
}

/// The path parameters of a redeploy.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct RedeployPath {
    /// The venture's id.
    #[param(format = "uuid")]
    id: String,
    /// production, or staging while it is enabled.
    #[param(inline, value_type = DeployedEnvironment)]
    environment: String,
}

/// A variable of a pull: its value, or why it is held back.
#[derive(Serialize, utoipa::ToSchema)]
pub struct PulledValue {
    key: String,
    description: String,
    secret: bool,
    #[schema(required = true)]
    value: Option<String>,
    /// Why `value` is null: not set in this environment, or not for this caller.
    #[schema(required = true)]
    withheld: Option<String>,
}

/// Which version to make current again.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RollbackRequest {
    environment: Environment,
    #[schema(minimum = 1)]
    #[serde(deserialize_with = "integer")]
    version: i64,
}

/// An integer as JSON Schema counts one: `1.0` is the integer 1.
fn integer<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    let number = serde_json::Number::deserialize(deserializer)?;
    match (number.as_i64(), number.as_f64()) {
        (Some(n), _) => Ok(n),
        (None, Some(f)) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(f as i64),
        _ => Err(serde::de::Error::custom(format!("must be an integer (got {number})"))),
    }
}

/// The kept versions of a value, newest first.
#[derive(Serialize, utoipa::ToSchema)]
pub struct EnvHistory {
    versions: Vec<EnvVersion>,
}

/// The venture's variables
///
/// The integration's (read-only) and the venture's own, per environment, with where each
/// stands at Vercel (one read of Vercel). Plain values are shown to creators and admins;
/// secret values never (an admin reveals them one by one).
#[utoipa::path(
    get, path = "/api/v1/ventures/{id}/env", operation_id = "listEnv", tag = "env",
    params(VentureId),
    responses(
        (status = 200, description = "The variables.", body = EnvListing),
        (status = 401, response = Unauthenticated),
        (status = 404, response = NotFound),
    )
)]
pub async fn list_env(
    State(state): State<AppState>,
    Path(VentureId { id }): Path<VentureId>,
    headers: HeaderMap,
) -> Answer {
    let user = caller(&state, &headers).await?;
    let listing = state.engine.env_listing(&user, &id).await.map_err(engine_error)?;
    Ok(Json(listing).into_response())
}

/// Declare a variable or change it
///
/// Unset fields keep what the variable has; `values` sets the environments it names (`null`
/// removes one) and leaves the others. Every rule is checked before anything is written.
#[utoipa::path(
    put, path = "/api/v1/ventures/{id}/env/{key}", operation_id = "putEnv", tag = "env",
    params(VariablePath),
    request_body = EnvChange,
    responses(
        (status = 200, description = "The variable as it is now.", body = EnvVariable),
        (status = 400, response = BadBody),
        (status = 401, response = Unauthenticated),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = Invalid),
    )
)]
pub async fn put_env(
    State(state): State<AppState>,
    Path(VariablePath { id, key }): Path<VariablePath>,
    headers: HeaderMap,
    raw: Bytes,
) -> Answer {
    let user = caller(&state, &headers).await?;
    let change: EnvChange = body(&raw)?;
    let engine = &state.engine;
    engine.put_env_var(&user, &id, &key, &change).await.map_err(engine_error)?;
    let listing = engine.env_listing(&user, &id).await.map_err(engine_error)?;
    let variable = listing.variables.into_iter().find(|v| v.key == key);
    Ok(Json(variable).into_response())
}

/// Remove one of the venture's own variables
#[utoipa::path(
    delete, path = "/api/v1/ventures/{id}/env/{key}", operation_id = "deleteEnv", tag = "env",
    params(VariablePath),
    responses(
        (status = 204, description = "Removed; the next apply deletes it at Vercel."),
        (status = 401, response = Unauthenticated),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = Invalid),
    )
)]
pub async fn delete_env(
    State(state): State<AppState>,
    Path(VariablePath { id, key }): Path<VariablePath>,
    headers: HeaderMap,
) -> Answer {
    let user = caller(&state, &headers).await?;
    state.engine.delete_env_var(&user, &id, &key).await.map_err(engine_error)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Reveal one value (admins)
///
/// Recorded with who, when, which variable, environment and version; the answer is never cached.
#[utoipa::path(
    post, path = "/api/v1/ventures/{id}/env/{key}/reveal", operation_id = "revealEnv", tag = "env",
    params(VariablePath),
    request_body = RevealRequest,
    responses(
        (status = 200, description = "The value in clear.", body = Revealed),
        (status = 400, response = BadBody),
        (status = 401, response = Unauthenticated),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, response = Invalid),
    )
)]
pub async fn reveal_env(
    State(state): State<AppState>,
    Path(VariablePath { id, key }): Path<VariablePath>,
    headers: HeaderMap,
    raw: Bytes,
) -> Answer {
    let user = caller(&state, &headers).await?;
    let request: RevealRequest = body(&raw)?;
    let environment = request.environment.as_str();
    let value = state.engine.reveal_env_value(&user, &id, &key, environment).await.map_err(engine_error)?;
    let revealed = Revealed { key, environment: request.environment, value: value.expose_secret().to_string() };
    let mut response = Json(revealed).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// One environment's values, for `slipway env pull`
///
/// Creators get every value of development and the plain values of the other environments;
/// admins every value of the environment they name; operators none. The Supabase
/// integration's secrets belong to production and come with production only. Every secret
/// handed out is recorded in the audit list; the answer is never cached.
#[utoipa::path(
    post, path = "/api/v1/ventures/{id}/environments/{environment}/pull", operation_id = "pullEnv", tag = "env",
    params(EnvironmentPath),
    responses(
        (status = 200, description = "The values, and the reasons for those held back.", body = Pulled),
        (status = 401, response = Unauthenticated),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, response = Invalid),
    )
)]
pub async fn pull_env(
    State(state): State<AppState>,
    Path(EnvironmentPath { id, environment }): Path<EnvironmentPath>,
    headers: HeaderMap,
) -> Answer {
    let user = caller(&state, &headers).await?;
    let pull = state.engine.env_pull(&user, &id, &environment).await.map_err(engine_error)?;
    let pulled = Pulled {
        venture: pull.venture,
        environment: pull.environment,
        variables: pull
            .variables
            .into_iter()
            .map(|v| PulledValue {
                key: v.key,
                description: v.description,
                secret: v.secret,
                value: v.value.map(|value| value.expose_secret().to_string()),
                withheld: v.withheld,
            })
            .collect(),
    };
    let mut response = Json(pulled).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// Sync the variables to Vercel now
///
/// A job that syncs the variables (by diff, one write at most for everything changed) and
/// deploys nothing: running deployments get the new values when they are redeployed. Asked
/// while an apply or a sync is under way, it is that job.
#[utoipa::path(
    post, path = "/api/v1/ventures/{id}/sync-env", operation_id = "syncEnv", tag = "env",
    params(VentureId),
    responses(
        (status = 202, description = "The sync is queued.", body = Job),
        (status = 401, response = Unauthenticated),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
pub async fn sync_env(
    State(state): State<AppState>,
    Path(VentureId { id }): Path<VentureId>,
    headers: HeaderMap,
) -> Answer {
    let user = caller(&state, &headers).await?;
    Ok(accepted(state.engine.sync_env(&user, &id).await.map_err(engine_error)?))
}

/// Redeploy production or staging
///
/// Builds the environment again so its running deployment gets the variables as they are at
/// Vercel now: production from its current deployment (same commit), staging from its branch.
/// A failed build leaves the running deployment serving.
#[utoipa::path(
    post, path = "/api/v1/ventures/{id}/environments/{environment}/redeploy", operation_id = "redeploy",
    tag = "env",
    params(RedeployPath),
    responses(
        (status = 202, description = "The redeploy is queued.", body = Job),
        (status = 401, response = Unauthenticated),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = Invalid),
    )
)]
pub async fn redeploy(
    State(state): State<AppState>,
    Path(RedeployPath { id, environment }): Path<RedeployPath>,
    headers: HeaderMap,
) -> Answer {
    let user = caller(&state, &headers).await?;
    Ok(accepted(state.engine.redeploy(&user, &id, &environment).await.map_err(engine_error)?))
}

/// A value's kept versions
#[utoipa::path(
    get, path = "/api/v1/ventures/{id}/env/{key}/history", operation_id = "envHistory", tag = "env",
    params(VariablePath, EnvironmentQuery),
    responses(
        (status = 200, description = "Newest first (never the values).", body = EnvHistory),
        (status = 400, description = "A query parameter is not valid (`bad_query`).", body = ErrorBody),
        (status = 401, response = Unauthenticated),
        (status = 404, response = NotFound),
    )
)]
pub async fn env_history(
    State(state): State<AppState>,
    Path(VariablePath { id, key }): Path<VariablePath>,
    query: Result<Query<EnvironmentQuery>, QueryRejection>,
    headers: HeaderMap,
) -> Answer {
    let user = caller(&state, &headers).await?;
    let Query(query) = query.map_err(|rejection| {
        let message =
            format!("environment must be development, preview, staging or production ({})", rejection.body_text());
        error(StatusCode::BAD_REQUEST, "bad_query", message)
    })?;
    let versions =
        state.engine.env_value_history(&user, &id, &key, query.environment.as_str()).await.map_err(engine_error)?;
    Ok(Json(EnvHistory { versions }).into_response())
}

/// Make an earlier version current again
#[utoipa::path(
    post, path = "/api/v1/ventures/{id}/env/{key}/rollback", operation_id = "rollbackEnv", tag = "env",
    params(VariablePath),
    request_body = RollbackRequest,
    responses(
        (status = 204, description = "The old value is current again, as a new version."),
        (status = 400, response = BadBody),
        (status = 401, response = Unauthenticated),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = Invalid),
    )
)]
pub async fn rollback_env(
    State(state): State<AppState>,
    Path(VariablePath { id, key }): Path<VariablePath>,
    headers: HeaderMap,
    raw: Bytes,
) -> Answer {
    let user = caller(&state, &headers).await?;
    let request: RollbackRequest = body(&raw)?;
    let environment = request.environment.as_str();
    state.engine.rollback_env_value(&user, &id, &key, environment, request.version).await.map_err(engine_error)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The venture's `.env.example`
///
/// Every variable a local development server needs, each under its description as a comment;
/// secrets empty, plain development values filled in (empty for operators).
#[utoipa::path(
    get, path = "/api/v1/ventures/{id}/env.example", operation_id = "envExample", tag = "env",
    params(VentureId),
    responses(
        (status = 200, description = "A dotenv file.", body = String, content_type = "text/plain"),
        (status = 401, response = Unauthenticated),
        (status = 404, response = NotFound),
    )
)]
pub async fn env_example(
    State(state): State<AppState>,
    Path(VentureId { id }): Path<VentureId>,
    headers: HeaderMap,
) -> Answer {
    let user = caller(&state, &headers).await?;
    let file = state.engine.env_example(&user, &id).await.map_err(engine_error)?;
    let headers = [
        (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
        (header::CONTENT_DISPOSITION, "attachment; filename=\".env.example\""),
    ];
    Ok((headers, file).into_response())
}
