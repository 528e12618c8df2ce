//! The audit log, for admins: destroys, reveals and pulls of secrets, secrets set, rollbacks,
//! users and tokens made, failed sign-ins.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use slipway_engine::engine::{AUDIT_PAGE_MAX, AuditEntry};

use super::openapi::{ErrorBody, Forbidden, Unauthenticated};
use super::{Answer, AppState, caller, engine_error, error};

/// Which part of the audit log a page holds.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Entries older than this entry's id (the page after the one that ended with it).
    before: Option<String>,
    /// At most this many (default 100).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<i64>,
}

/// A page of the audit log, newest first.
#[derive(Serialize, utoipa::ToSchema)]
pub struct AuditPage {
    entries: Vec<AuditEntry>,
    /// The `before` of the next page; none when this one is the last.
    #[schema(required = true)]
    next_before: Option<String>,
}

/// The audit log, newest first
#[utoipa::path(
    get, path = "/api/v1/audit", operation_id = "auditLog", tag = "meta",
    params(AuditQuery),
    responses(
        (status = 200, description = "A page of entries, newest first.", body = AuditPage),
        (status = 400, description = "A query parameter is not valid (`bad_query`).", body = ErrorBody),
        (status = 401, response = Unauthenticated),
        (status = 403, response = Forbidden),
    )
)]
pub async fn audit_log(
    State(state): State<AppState>,
    query: Result<Query<AuditQuery>, QueryRejection>,
    headers: HeaderMap,
) -> Answer {
    let user = caller(&state, &headers).await?;
    let Query(query) = query.map_err(|rejection| {
        let message = format!("limit must be an integer ({})", rejection.body_text());
        error(StatusCode::BAD_REQUEST, "bad_query", message)
    })?;
    let limit = query.limit.unwrap_or(100);
    if !(1..=AUDIT_PAGE_MAX).contains(&limit) {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "bad_query",
            format!("limit must be between 1 and {AUDIT_PAGE_MAX}"),
        ));
    }
    let entries = state.engine.audit_log(&user, query.before.as_deref(), limit).await.map_err(engine_error)?;
    let next_before = (entries.len() as i64 == limit).then(|| entries.last().map(|e| e.id.clone())).flatten();
    Ok(Json(AuditPage { entries, next_before }).into_response())
}
