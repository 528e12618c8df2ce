//! About the API itself: the platforms' connections and this document.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use slipway_engine::platforms::ConnectionStatus;

use super::openapi::{OpenApiDocument, Unauthenticated};
use super::{Answer, AppState, caller};

/// One entry per platform.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Connections {
    connections: Vec<ConnectionStatus>,
}

/// Whether each platform token works, and for whom
#[utoipa::path(
    get, path = "/api/v1/connections", operation_id = "connections", tag = "meta",
    responses(
        (status = 200, description = "One entry per platform.", body = Connections),
        (status = 401, response = Unauthenticated),
    )
)]
pub async fn connections(State(state): State<AppState>, headers: HeaderMap) -> Answer {
    let user = caller(&state, &headers).await?;
    Ok(Json(Connections { connections: state.engine.connection_status(&user).await }).into_response())
}

/// This document
#[utoipa::path(
    get, path = "/api/v1/openapi.json", operation_id = "openapi", tag = "meta",
    security(()),
    responses((status = 200, description = "The OpenAPI document.", body = OpenApiDocument))
)]
pub async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], super::openapi::document()).into_response()
}
