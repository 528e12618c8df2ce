//! Live provisioning log over Server-Sent Events.
//!
//! Each log line is an SSE event `log` whose id is the event's row id, so a browser that
//! reconnects sends `Last-Event-ID` and receives exactly the lines it missed. A `state` event
//! follows whenever the venture's status or Vercel project changes.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream::{self, Stream};
use serde::Deserialize;
use slipway_engine::auth::User;
use slipway_engine::{Engine, EngineError};
use tokio::sync::watch;

use super::AppState;
use super::session::user_from_headers;
use crate::views::{LogLine, VentureState};

/// Lines read per store query.
const BATCH: i64 = 200;
/// Re-read even without a local wake-up, to see lines written by another process.
const POLL: Duration = Duration::from_secs(1);

#[derive(Deserialize)]
pub struct Resume {
    /// For clients that cannot set `Last-Event-ID`.
    after: Option<i64>,
}

pub async fn venture_events(
    State(state): State<AppState>,
    Path(venture_id): Path<String>,
    Query(resume): Query<Resume>,
    headers: HeaderMap,
) -> Response {
    let Some(user) = user_from_headers(&state.engine, &headers).await else {
        return (StatusCode::UNAUTHORIZED, "not signed in").into_response();
    };
    match state.engine.venture(&user, &venture_id).await {
        Ok(_) => {}
        Err(EngineError::NotFound(_)) => return (StatusCode::NOT_FOUND, "venture not found").into_response(),
        Err(err) => {
            tracing::error!(error = %err, "live log failed to start");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    }
    stream_events(state.engine, user, venture_id, &headers, resume.after)
}

/// The live log of a venture the caller may see, from `Last-Event-ID` (or `after`) on.
pub fn stream_events(
    engine: Engine,
    user: User,
    venture_id: String,
    headers: &HeaderMap,
    after: Option<i64>,
) -> Response {
    let last_event_id = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok())
        .or(after)
        .unwrap_or(0);
    let tail = Tail {
        wake: engine.subscribe_events(),
        engine,
        user,
        venture_id,
        last_event_id,
        last_state: None,
        pending: VecDeque::new(),
    };
    Sse::new(events(tail)).keep_alive(KeepAlive::default()).into_response()
}

struct Tail {
    engine: Engine,
    user: User,
    venture_id: String,
    last_event_id: i64,
    last_state: Option<VentureState>,
    pending: VecDeque<Event>,
    wake: watch::Receiver<i64>,
}

impl Tail {
    /// Queues whatever is new since the last read; false if nothing is.
    async fn read_new(&mut self) -> Result<bool, EngineError> {
        let lines = self.engine.venture_events(&self.user, &self.venture_id, self.last_event_id, BATCH).await?;
        for record in &lines {
            let line = LogLine {
                id: record.id,
                at: record.created_at,
                step: record.step.clone(),
                level: record.level.clone(),
                message: record.message.clone(),
            };
            self.last_event_id = record.id;
            let event = Event::default().id(record.id.to_string()).event("log").json_data(&line);
            self.pending.extend(event.ok());
        }
        let venture = self.engine.venture(&self.user, &self.venture_id).await?;
        let current =
            VentureState { status: venture.status.as_str().to_string(), vercel_project_id: venture.vercel_project_id };
        if self.last_state.as_ref() != Some(&current) {
            self.pending.extend(Event::default().event("state").json_data(&current).ok());
            self.last_state = Some(current);
        }
        Ok(!self.pending.is_empty())
    }
}

fn events(tail: Tail) -> impl Stream<Item = Result<Event, Infallible>> {
    stream::unfold(tail, |mut tail| async move {
        loop {
            if let Some(event) = tail.pending.pop_front() {
                return Some((Ok(event), tail));
            }
            match tail.read_new().await {
                Ok(true) => continue,
                Ok(false) => {}
                Err(err) => {
                    tracing::warn!(error = %err, "live log read failed");
                    return None;
                }
            }
            // Wait for this process to write an event, or poll for another process's.
            let _ = tokio::time::timeout(POLL, tail.wake.changed()).await;
        }
    })
}
