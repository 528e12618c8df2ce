//! A venture's databases: each Supabase project's tables with their row-level security
//! templates and the linter's last findings; and a lint run now.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use slipway_engine::engine::DatabaseOverview;

use super::openapi::{Busy, Conflict, Forbidden, NotFound, Platform, Unauthenticated};
use super::{Answer, AppState, VentureId, caller, engine_error};

/// Tables and lint on each Supabase project
///
/// From the spec and what the last apply (or lint) recorded; no platform call.
#[utoipa::path(
    get, path = "/api/v1/ventures/{id}/database", operation_id = "getDatabase", tag = "database",
    params(VentureId),
    responses(
        (status = 200, description = "Each Supabase project's tables and last lint.", body = DatabaseOverview),
        (status = 401, response = Unauthenticated),
        (status = 404, response = NotFound),
    )
)]
pub async fn get_database(
    State(state): State<AppState>,
    Path(VentureId { id }): Path<VentureId>,
    headers: HeaderMap,
) -> Answer {
    let user = caller(&state, &headers).await?;
    Ok(Json(state.engine.database(&user, &id).await.map_err(engine_error)?).into_response())
}

/// Lint every Supabase project now
///
/// Runs the linter (two read-only queries per project), records it, and moves a settled
/// venture between `ready` and `needs_attention` on its error findings. A database where the
/// lints cannot mean anything (no Supabase roles, no exposed schema, or SQL that is not run,
/// as in a sandbox without PostgreSQL) gives `proven: false` with the reason, never an empty
/// all-clear. Creators and admins.
#[utoipa::path(
    post, path = "/api/v1/ventures/{id}/database/lint", operation_id = "lintDatabase", tag = "database",
    params(VentureId),
    responses(
        (status = 200, description = "The new lint of each project.", body = DatabaseOverview),
        (status = 401, response = Unauthenticated),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 429, response = Busy),
        (status = 502, response = Platform),
    )
)]
pub async fn lint_database(
    State(state): State<AppState>,
    Path(VentureId { id }): Path<VentureId>,
    headers: HeaderMap,
) -> Answer {
    let user = caller(&state, &headers).await?;
    Ok(Json(state.engine.lint_venture(&user, &id).await.map_err(engine_error)?).into_response())
}
