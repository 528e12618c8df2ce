//! Ventures: create, list, read, apply again, destroy, and their log.

use std::collections::BTreeMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use slipway_engine::engine::{JobState, StepStatus};
use slipway_engine::store::EventRecord;
use slipway_engine::venture::{NewVenture, Venture};

use super::openapi::{BadBody, Conflict, ErrorBody, Forbidden, Invalid, NotFound, Unauthenticated};
use super::{Answer, AppState, VentureId, body, caller, engine_error, error};

/// `{"venture": …}`: one venture.
#[derive(Serialize, utoipa::ToSchema)]
pub struct VentureResponse {
    venture: Venture,
}

/// Every venture.
#[derive(Serialize, utoipa::ToSchema)]
pub struct VentureList {
    ventures: Vec<Venture>,
}

/// A venture with its steps and what it has at the platforms.
#[derive(Serialize, utoipa::ToSchema)]
pub struct VentureDetail {
    venture: Venture,
    steps: Vec<StepStatus>,
    /// By resource kind.
    resources: BTreeMap<String, Resource>,
}

/// One resource Slipway made for the venture at a platform.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Resource {
    /// The platform's id; null while only the intent is recorded.
    #[schema(required = true)]
    id: Option<String>,
    /// What later applies compare against (never a secret).
    data: serde_json::Value,
}

/// The job that will do the work.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Job {
    #[schema(format = "uuid")]
    pub(super) job_id: String,
}

/// A page of a venture's log, oldest first.
#[derive(Serialize, utoipa::ToSchema)]
pub struct EventPage {
    events: Vec<EventRecord>,
    /// Pass as `after` for the next page (the last event's id, else `after`).
    next_after: i64,
}

/// What destroying a venture takes: its name, repeated.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = DestroyRequest)]
pub struct DestroyBody {
    /// The venture's name, repeated (else 422).
    confirm: String,
}

/// Which part of a venture's log a page holds.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Page {
    /// Events after this id (default 0).
    #[param(minimum = -9223372036854775808i64, maximum = 9223372036854775807i64)]
    after: Option<i64>,
    /// At most this many (default 200).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<i64>,
}

/// Every venture
#[utoipa::path(
    get, path = "/api/v1/ventures", operation_id = "listVentures", tag = "ventures",
    responses(
        (status = 200, description = "The ventures.", body = VentureList),
        (status = 401, response = Unauthenticated),
    )
)]
pub async fn list_ventures(State(state): State<AppState>, headers: HeaderMap) -> Answer {
    let user = caller(&state, &headers).await?;
    let ventures = state.engine.list_ventures(&user).await.map_err(engine_error)?;
    Ok(Json(VentureList { ventures }).into_response())
}

/// Create a venture and queue its apply
#[utoipa::path(
    post, path = "/api/v1/ventures", operation_id = "createVenture", tag = "ventures",
    params(
        ("Idempotency-Key" = Option<String>, Header, nullable = false, min_length = 1, max_length = 255,
         pattern = r#"^[\x21-\x7E](?:[\t\x20-\x7E]*[\x21-\x7E])?$"#,
         description = "The same key and body return the venture made the first time (200); another body under the same key is refused (422)."),
    ),
    request_body = NewVenture,
    responses(
        (status = 200, description = "Already created under this Idempotency-Key.", body = VentureResponse,
         links(
            ("GetVenture" = (operation_id = "getVenture", parameters(("id" = "$response.body#/venture/id")))),
            ("PlanVenture" = (operation_id = "planVenture", parameters(("id" = "$response.body#/venture/id")))),
            ("ApplyVenture" = (operation_id = "applyVenture", parameters(("id" = "$response.body#/venture/id")))),
            ("VentureEvents" = (operation_id = "ventureEvents", parameters(("id" = "$response.body#/venture/id")))),
            ("DestroyVenture" = (operation_id = "destroyVenture", parameters(("id" = "$response.body#/venture/id")),
                request_body = json!({"confirm": "$response.body#/venture/name"}))),
         )),
        (status = 201, description = "Created; its apply is queued.", body = VentureResponse,
         links(
            ("GetVenture" = (operation_id = "getVenture", parameters(("id" = "$response.body#/venture/id")))),
            ("PlanVenture" = (operation_id = "planVenture", parameters(("id" = "$response.body#/venture/id")))),
            ("ApplyVenture" = (operation_id = "applyVenture", parameters(("id" = "$response.body#/venture/id")))),
            ("VentureEvents" = (operation_id = "ventureEvents", parameters(("id" = "$response.body#/venture/id")))),
            ("DestroyVenture" = (operation_id = "destroyVenture", parameters(("id" = "$response.body#/venture/id")),
                request_body = json!({"confirm": "$response.body#/venture/name"}))),
         )),
        (status = 400, response = BadBody),
        (status = 401, response = Unauthenticated),
        (status = 403, response = Forbidden),
        (status = 422, response = Invalid),
    )
)]
pub async fn create_venture(State(state): State<AppState>, headers: HeaderMap, raw: Bytes) -> Answer {
    let user = caller(&state, &headers).await?;
    let input: NewVenture = body(&raw)?;
    let key = headers.get("idempotency-key").and_then(|v| v.to_str().ok()).map(str::to_string);
    let outcome = match &key {
        Some(key) => state.engine.create_venture_once(&user, key, &input).await,
        None => state.engine.create_venture(&user, &input).await.map(|v| (v, true)),
    };
    let (venture, new) = outcome.map_err(engine_error)?;
    let status = if new { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(VentureResponse { venture })).into_response())
}

/// A venture with its steps and resources
#[utoipa::path(
    get, path = "/api/v1/ventures/{id}", operation_id = "getVenture", tag = "ventures",
    params(VentureId),
    responses(
        (status = 200, description = "The venture.", body = VentureDetail),
        (status = 401, response = Unauthenticated),
        (status = 404, response = NotFound),
    )
)]
pub async fn get_venture(
    State(state): State<AppState>,
    Path(VentureId { id }): Path<VentureId>,
    headers: HeaderMap,
) -> Answer {
    let user = caller(&state, &headers).await?;
    let engine = &state.engine;
    let venture = engine.venture(&user, &id).await.map_err(engine_error)?;
    let steps = engine.venture_steps(&user, &id).await.map_err(engine_error)?;
    let resources = engine.venture_resources(&user, &id).await.map_err(engine_error)?;
    let resources =
        resources.into_iter().map(|(kind, r)| (kind, Resource { id: r.external_id, data: r.data })).collect();
    Ok(Json(VentureDetail { venture, steps, resources }).into_response())
}

/// 202 with the id of the job that will do the work.
pub(super) fn accepted(job_id: String) -> Response {
    (StatusCode::ACCEPTED, Json(Job { job_id })).into_response()
}

/// Apply the venture's spec again
#[utoipa::path(
    post, path = "/api/v1/ventures/{id}/apply", operation_id = "applyVenture", tag = "ventures",
    params(VentureId),
    responses(
        (status = 202, description = "The apply is queued.", body = Job),
        (status = 401, response = Unauthenticated),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
pub async fn apply_venture(
    State(state): State<AppState>,
    Path(VentureId { id }): Path<VentureId>,
    headers: HeaderMap,
) -> Answer {
    let user = caller(&state, &headers).await?;
    state.engine.apply_venture(&user, &id).await.map(accepted).map_err(engine_error)
}

/// Same as apply
#[utoipa::path(
    post, path = "/api/v1/ventures/{id}/retry", operation_id = "retryVenture", tag = "ventures",
    params(VentureId),
    responses(
        (status = 202, description = "The apply is queued.", body = Job),
        (status = 401, response = Unauthenticated),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
pub async fn retry_venture(state: State<AppState>, id: Path<VentureId>, headers: HeaderMap) -> Answer {
    apply_venture(state, id, headers).await
}

/// Remove the venture's projects and sealed values
#[utoipa::path(
    post, path = "/api/v1/ventures/{id}/destroy", operation_id = "destroyVenture", tag = "ventures",
    params(VentureId),
    request_body = DestroyBody,
    responses(
        (status = 202, description = "The destroy is queued.", body = Job),
        (status = 400, response = BadBody),
        (status = 401, response = Unauthenticated),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = Invalid),
    )
)]
pub async fn destroy_venture(
    State(state): State<AppState>,
    Path(VentureId { id }): Path<VentureId>,
    headers: HeaderMap,
    raw: Bytes,
) -> Answer {
    let user = caller(&state, &headers).await?;
    let request: DestroyBody = body(&raw)?;
    state.engine.destroy_venture(&user, &id, &request.confirm).await.map(accepted).map_err(engine_error)
}

/// The path parameters of one of a venture's jobs.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct JobPath {
    /// The venture's id.
    #[param(format = "uuid")]
    id: String,
    /// The job's id, as a 202 answer gives it.
    #[param(format = "uuid")]
    job_id: String,
}

/// One of the venture's jobs
///
/// Where an apply, destroy, sync or redeploy stands; its log lines are in the venture's log.
#[utoipa::path(
    get, path = "/api/v1/ventures/{id}/jobs/{job_id}", operation_id = "getJob", tag = "ventures",
    params(JobPath),
    responses(
        (status = 200, description = "The job.", body = JobState),
        (status = 401, response = Unauthenticated),
        (status = 404, response = NotFound),
    )
)]
pub async fn get_job(
    State(state): State<AppState>,
    Path(JobPath { id, job_id }): Path<JobPath>,
    headers: HeaderMap,
) -> Answer {
    let user = caller(&state, &headers).await?;
    Ok(Json(state.engine.venture_job(&user, &id, &job_id).await.map_err(engine_error)?).into_response())
}

/// The venture's log, paged by event id
///
/// With `Accept: text/event-stream` the log is followed live instead: Server-Sent Events `log`
/// (id = event id, data = one line `{"id", "at", "step", "level", "message"}`, `at` being the
/// event's `created_at`) and `state` (data = `{"status", "vercel_project_id"}`), resumable with
/// `Last-Event-ID` or `after`; the stream stays open.
#[utoipa::path(
    get, path = "/api/v1/ventures/{id}/events", operation_id = "ventureEvents", tag = "ventures",
    params(VentureId, Page),
    responses(
        // The stream is described in prose only: a second content type here would hide the
        // page's schema from schemathesis' link inference (5 of its 18 links).
        (status = 200, description = "A page of events, oldest first.", body = EventPage),
        (status = 400, description = "A query parameter is not valid (`bad_query`).", body = ErrorBody),
        (status = 401, response = Unauthenticated),
        (status = 404, response = NotFound),
    )
)]
pub async fn venture_events(
    State(state): State<AppState>,
    Path(VentureId { id }): Path<VentureId>,
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
        return Ok(crate::server::sse::stream_events(state.engine.clone(), user, id, &headers, page.after));
    }
    let limit = page.limit.unwrap_or(200);
    if !(1..=1000).contains(&limit) {
        return Err(error(StatusCode::BAD_REQUEST, "bad_query", "limit must be between 1 and 1000"));
    }
    let after = page.after.unwrap_or(0);
    let events = state.engine.venture_events(&user, &id, after, limit).await.map_err(engine_error)?;
    let next_after = events.last().map(|e| e.id).unwrap_or(after);
    Ok(Json(EventPage { events, next_after }).into_response())
}
