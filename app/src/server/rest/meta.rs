//! About the API itself: the platforms' connections and this document.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use slipway_engine::engine::ConnectionReport;
use slipway_engine::platforms::ConnectionStatus;

use super::openapi::{Busy, OpenApiDocument, Unauthenticated};
use super::{Answer, AppState, caller, engine_error};

/// The platforms' connections as last checked (in the background every minute, or on demand).
#[derive(Serialize, utoipa::ToSchema)]
pub struct Connections {
    /// When the statuses were asked for, in ms since the Unix epoch; null until the first
    /// check ends.
    checked_at: Option<i64>,
    /// Seconds since `checked_at`.
    age_seconds: Option<i64>,
    /// Whether a newer check is under way.
    checking: bool,
    /// One entry per configured platform; `connected` is false with "not checked yet" before
    /// the first check ends.
    connections: Vec<ConnectionStatus>,
}

impl From<ConnectionReport> for Connections {
    fn from(report: ConnectionReport) -> Self {
        Connections {
            checked_at: report.checked_at,
            age_seconds: report.age_seconds(slipway_engine::time::now_ms()),
            checking: report.checking,
            connections: report.statuses,
        }
    }
}

/// Whether each platform token works, and for whom, as last checked
///
/// Reads the last check's result: it never waits on a platform.
#[utoipa::path(
    get, path = "/api/v1/connections", operation_id = "connections", tag = "meta",
    responses(
        (status = 200, description = "The last check's result and its age.", body = Connections),
        (status = 401, response = Unauthenticated),
    )
)]
pub async fn connections(State(state): State<AppState>, headers: HeaderMap) -> Answer {
    let user = caller(&state, &headers).await?;
    let report = state.engine.connection_status(&user).await.map_err(engine_error)?;
    Ok(Json(Connections::from(report)).into_response())
}

/// Check each platform now
///
/// Once every 30 s per user by default (429 with `Retry-After` sooner); a check someone began in
/// the last few seconds is joined instead of repeated. Each platform is given 10 s by default.
#[utoipa::path(
    post, path = "/api/v1/connections/check", operation_id = "checkConnections", tag = "meta",
    responses(
        (status = 200, description = "The fresh result.", body = Connections),
        (status = 401, response = Unauthenticated),
        (status = 429, response = Busy),
    )
)]
pub async fn check_connections(State(state): State<AppState>, headers: HeaderMap) -> Answer {
    let user = caller(&state, &headers).await?;
    let report = state.engine.check_connections(&user).await.map_err(engine_error)?;
    Ok(Json(Connections::from(report)).into_response())
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
