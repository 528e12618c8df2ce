//! Plans: what an apply would create, update, leave alone or be blocked by, per resource.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use serde::Serialize;
use slipway_engine::provision::PlannedAction;
use slipway_engine::venture::NewVenture;

use super::openapi::{BadBody, Busy, Forbidden, Invalid, NotFound, Platform, Unauthenticated};
use super::{Answer, AppState, VentureId, body, caller, engine_error};

/// What an apply would do, resource by resource, in graph order.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Plan {
    actions: Vec<PlannedAction>,
}

/// What creating this venture would do
#[utoipa::path(
    post, path = "/api/v1/plan", operation_id = "planNewVenture", tag = "plan",
    request_body = NewVenture,
    responses(
        (status = 200, description = "The plan.", body = Plan),
        (status = 400, response = BadBody),
        (status = 401, response = Unauthenticated),
        (status = 403, response = Forbidden),
        (status = 422, response = Invalid),
        (status = 429, response = Busy),
        (status = 502, response = Platform),
    )
)]
pub async fn plan_new(State(state): State<AppState>, headers: HeaderMap, raw: Bytes) -> Answer {
    let user = caller(&state, &headers).await?;
    let input: NewVenture = body(&raw)?;
    let actions = state.engine.plan_new_venture(&user, &input).await.map_err(engine_error)?;
    Ok(Json(Plan { actions }).into_response())
}

/// What applying the venture's spec again would do
#[utoipa::path(
    get, path = "/api/v1/ventures/{id}/plan", operation_id = "planVenture", tag = "plan",
    params(VentureId),
    responses(
        (status = 200, description = "The plan.", body = Plan),
        (status = 401, response = Unauthenticated),
        (status = 404, response = NotFound),
        (status = 422, response = Invalid),
        (status = 429, response = Busy),
        (status = 502, response = Platform),
    )
)]
pub async fn plan_venture(
    State(state): State<AppState>,
    Path(VentureId { id }): Path<VentureId>,
    headers: HeaderMap,
) -> Answer {
    let user = caller(&state, &headers).await?;
    let actions = state.engine.plan_venture(&user, &id).await.map_err(engine_error)?;
    Ok(Json(Plan { actions }).into_response())
}
