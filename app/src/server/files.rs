//! Files the dashboard downloads, authenticated by the session cookie (the REST API serves the
//! same files to API tokens).

use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::errors::Refusal;
use super::session::user_from_headers;

/// `GET /api/ventures/{id}/env.example`: the venture's `.env.example`, as an attachment.
pub async fn env_example(
    State(state): State<AppState>,
    Path(venture_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let Some(user) = user_from_headers(&state.engine, &headers).await else {
        return Refusal::from_engine(slipway_engine::EngineError::Unauthenticated).into_response();
    };
    match state.engine.env_example(&user, &venture_id).await {
        Ok(file) => {
            let headers = [
                (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
                (header::CONTENT_DISPOSITION, "attachment; filename=\".env.example\""),
            ];
            (headers, file).into_response()
        }
        Err(err) => Refusal::from_engine(err).into_response(),
    }
}
