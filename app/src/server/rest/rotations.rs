//! Secret rotation: rotate one of a venture's secrets now (admins), and the rotations' history
//! (everyone who may read the venture; never a value).

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use slipway_engine::engine::{RotateRequest, Rotation};

use super::openapi::{BadBody, Conflict, ErrorBody, Forbidden, Invalid, NotFound, Unauthenticated};
use super::{Answer, AppState, VentureId, body, caller, engine_error, error};

/// The path parameters of one of a venture's secrets.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct SecretPath {
    /// The venture's id.
    #[param(format = "uuid")]
    id: String,
    /// The secret: `SUPABASE_SECRET_KEY`, `POSTGRES_PASSWORD`, `JWT_SIGNING_KEY`, or the key of
    /// one of the venture's generated or secret variables.
    #[param(pattern = "^[A-Za-z_][A-Za-z0-9_]*$", max_length = 256)]
    name: String,
}

/// Which secret's rotations.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SecretQuery {
    /// Only this secret's rotations.
    secret: Option<String>,
}

/// A venture's rotations, newest first.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Rotations {
    rotations: Vec<Rotation>,
}

/// Rotate a secret now
///
/// A job makes the new value (Supabase keeps the old key valid meanwhile), sets it on every
/// Vercel target that holds it, redeploys production and staging, checks that each new
/// deployment answers the venture's health path (`rotation.health_path`) with a 2xx, and only
/// then retires the old value. A failed step or check puts the previous value back everywhere
/// and retires the new one instead. Admins only; refused while an apply or destroy of the
/// venture runs, and asked again while it runs, it is the same rotation.
///
/// `POSTGRES_PASSWORD` (the database password, inside every `POSTGRES_*` variable) cannot have
/// two valid values: its reset cuts live connections until the new deployments are ready, so
/// it needs `accept_connection_cut: true`, and the rotation records how long the cut lasted.
/// A generated variable gets a new value of its generator; a secret variable a person entered
/// needs its new value in `values` (by environment), since Slipway cannot mint it. In both,
/// the previous value stays in the variable's history. `JWT_SIGNING_KEY` rotates the Supabase
/// projects' signing keys: a standby key signs once cached JWKS hold it (about 20 minutes) and
/// the previous one is revoked once its tokens have expired; the rotation waits on its own
/// (`waiting_until`) without holding the venture, and never touches the legacy JWT secret.
/// The body may be left out otherwise.
#[utoipa::path(
    post, path = "/api/v1/ventures/{id}/secrets/{name}/rotate", operation_id = "rotateSecret", tag = "env",
    params(SecretPath),
    request_body(content = Option<RotateRequest>, content_type = "application/json"),
    responses(
        (status = 202, description = "The rotation is queued (or already running).", body = Rotation),
        (status = 400, response = BadBody),
        (status = 401, response = Unauthenticated),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = Invalid),
    )
)]
pub async fn rotate_secret(
    State(state): State<AppState>,
    Path(SecretPath { id, name }): Path<SecretPath>,
    headers: HeaderMap,
    raw: Bytes,
) -> Answer {
    let user = caller(&state, &headers).await?;
    // The body is optional: none, or `null`, asks for nothing more.
    let request: Option<RotateRequest> = if raw.iter().all(u8::is_ascii_whitespace) { None } else { body(&raw)? };
    let request = request.unwrap_or_default();
    let rotation = state.engine.rotate_secret(&user, &id, &name, &request).await.map_err(engine_error)?;
    Ok((StatusCode::ACCEPTED, Json(rotation)).into_response())
}

/// The venture's secret rotations
///
/// Newest first: what rotated, why and by whom, how far it got or how it ended, the
/// deployments built with the new value and the ones it replaced (an Instant Rollback to one of
/// those brings a retired secret back; `warning` says so). Never a value.
#[utoipa::path(
    get, path = "/api/v1/ventures/{id}/rotations", operation_id = "listRotations", tag = "env",
    params(VentureId, SecretQuery),
    responses(
        (status = 200, description = "Newest first.", body = Rotations),
        (status = 400, description = "A query parameter is not valid (`bad_query`).", body = ErrorBody),
        (status = 401, response = Unauthenticated),
        (status = 404, response = NotFound),
    )
)]
pub async fn list_rotations(
    State(state): State<AppState>,
    Path(VentureId { id }): Path<VentureId>,
    query: Result<Query<SecretQuery>, QueryRejection>,
    headers: HeaderMap,
) -> Answer {
    let user = caller(&state, &headers).await?;
    let Query(query) = query.map_err(|rejection| error(StatusCode::BAD_REQUEST, "bad_query", rejection.body_text()))?;
    let rotations = state.engine.rotations(&user, &id, query.secret.as_deref()).await.map_err(engine_error)?;
    Ok(Json(Rotations { rotations }).into_response())
}
