//! Server functions and the data they exchange with the browser.
//!
//! Each function authenticates the caller from the session cookie and lets the engine check
//! the caller's role, so hiding a button in the UI is never the only check.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserView {
    pub username: String,
    pub role: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VentureView {
    pub id: String,
    pub name: String,
    pub repository: String,
    pub status: String,
    pub vercel_project_id: Option<String>,
    pub created_at: i64,
}

/// A rule one form field broke.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldIssue {
    pub field: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CreateVentureOutcome {
    Created { id: String },
    Invalid { issues: Vec<FieldIssue> },
}

/// One provisioning log line, as streamed to the browser (SSE event `log`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogLine {
    pub id: i64,
    pub at: i64,
    pub step: String,
    pub level: String,
    pub message: String,
}

/// The venture's current state (SSE event `state`), sent whenever it changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VentureState {
    pub status: String,
    pub vercel_project_id: Option<String>,
}

#[server(endpoint = "current_user")]
pub async fn current_user() -> Result<Option<UserView>, ServerFnError> {
    use crate::server::session;
    Ok(session::optional_user().await?.map(|(_, user)| session::user_view(&user)))
}

#[server(endpoint = "login")]
pub async fn login(username: String, password: String) -> Result<(), ServerFnError> {
    use crate::server::session;
    session::login(&username, password).await?;
    leptos_axum::redirect("/ventures");
    Ok(())
}

#[server(endpoint = "logout")]
pub async fn logout() -> Result<(), ServerFnError> {
    crate::server::session::logout().await?;
    leptos_axum::redirect("/login");
    Ok(())
}

#[server(endpoint = "list_ventures")]
pub async fn list_ventures() -> Result<Vec<VentureView>, ServerFnError> {
    use crate::server::session::{engine_result, require_user, venture_view};
    let (engine, user) = require_user().await?;
    let ventures = engine_result(engine.list_ventures(&user).await)?;
    Ok(ventures.iter().map(venture_view).collect())
}

#[server(endpoint = "get_venture")]
pub async fn get_venture(id: String) -> Result<VentureView, ServerFnError> {
    use crate::server::session::{engine_result, require_user, venture_view};
    let (engine, user) = require_user().await?;
    Ok(venture_view(&engine_result(engine.venture(&user, &id).await)?))
}

#[server(endpoint = "create_venture")]
pub async fn create_venture(name: String, repository: String) -> Result<CreateVentureOutcome, ServerFnError> {
    use crate::server::session::{engine_result, require_user};
    use slipway_engine::EngineError;
    use slipway_engine::venture::NewVenture;
    let (engine, user) = require_user().await?;
    match engine.create_venture(&user, &NewVenture::new(&name, &repository)).await {
        Ok(venture) => Ok(CreateVentureOutcome::Created { id: venture.id }),
        Err(EngineError::Invalid(errors)) => Ok(CreateVentureOutcome::Invalid {
            issues: errors.into_iter().map(|e| FieldIssue { field: e.field, message: e.message }).collect(),
        }),
        Err(err) => engine_result(Err(err)),
    }
}

/// The message of a server function error, without the framework's prefix.
pub fn error_message(err: &ServerFnError) -> String {
    match err {
        ServerFnError::ServerError(message) => message.clone(),
        other => other.to_string(),
    }
}
