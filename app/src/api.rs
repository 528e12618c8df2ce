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

/// One step of the latest apply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepView {
    pub name: String,
    pub title: String,
    /// `pending`, `running`, `done` or `failed`.
    pub status: String,
}

/// What the venture page shows besides the log: the steps, and what exists at the platforms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VentureDetail {
    pub steps: Vec<StepView>,
    /// (label, value) pairs: Supabase project and region, staging branch, deployment…
    pub resources: Vec<(String, String)>,
    /// Names of the sealed values (never the values).
    pub secrets: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionView {
    pub platform: String,
    pub base_url: String,
    pub connected: bool,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanRow {
    pub resource: String,
    /// `create`, `update`, `no_change` or `blocked`.
    pub action: String,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum PlanOutcome {
    Planned { rows: Vec<PlanRow> },
    Invalid { issues: Vec<FieldIssue> },
}

#[server(endpoint = "venture_overview")]
pub async fn venture_overview(id: String) -> Result<VentureDetail, ServerFnError> {
    use crate::server::session::{engine_result, require_user};
    let (engine, user) = require_user().await?;
    let steps = engine_result(engine.venture_steps(&user, &id).await)?;
    let resources = engine_result(engine.venture_resources(&user, &id).await)?;
    let secrets = engine_result(engine.secret_names(&user, &id).await)?;
    let text = |data: &serde_json::Value, key: &str| data[key].as_str().unwrap_or_default().to_string();
    let resources = resources
        .into_iter()
        .filter_map(|(kind, record)| {
            let id = record.external_id.clone()?;
            let data = &record.data;
            Some(match kind.as_str() {
                "supabase_project" => ("Supabase project".to_string(), format!("{id} ({})", text(data, "region"))),
                "vercel_staging" => ("Staging".to_string(), format!("{id}, from branch {}", text(data, "branch"))),
                "vercel_deployment" => ("Production deployment".to_string(), {
                    let state = text(data, "state");
                    let state = if state.is_empty() { "building".to_string() } else { state.to_lowercase() };
                    format!("https://{} ({state})", text(data, "url"))
                }),
                "vercel_env" => (
                    "Environment variables".to_string(),
                    "wired to production, preview, staging and development".to_string(),
                ),
                _ => return None,
            })
        })
        .collect();
    Ok(VentureDetail {
        steps: steps.into_iter().map(|s| StepView { name: s.name, title: s.title, status: s.status }).collect(),
        resources,
        secrets,
    })
}

#[server(endpoint = "connections")]
pub async fn connections() -> Result<Vec<ConnectionView>, ServerFnError> {
    use crate::server::session::require_user;
    let (engine, user) = require_user().await?;
    Ok(engine
        .connection_status(&user)
        .await
        .into_iter()
        .map(|c| ConnectionView {
            platform: c.platform,
            base_url: c.base_url,
            connected: c.connected,
            detail: c.detail,
        })
        .collect())
}

#[server(endpoint = "preview_plan")]
pub async fn preview_plan(name: String, repository: String) -> Result<PlanOutcome, ServerFnError> {
    use crate::server::session::{engine_result, require_user};
    use slipway_engine::EngineError;
    use slipway_engine::venture::NewVenture;
    let (engine, user) = require_user().await?;
    match engine.plan_new_venture(&user, &NewVenture::new(&name, &repository)).await {
        Ok(actions) => Ok(PlanOutcome::Planned {
            rows: actions
                .into_iter()
                .map(|a| PlanRow {
                    resource: a.resource,
                    action: serde_json::to_value(a.action)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default(),
                    detail: a.detail,
                })
                .collect(),
        }),
        Err(EngineError::Invalid(errors)) => Ok(PlanOutcome::Invalid {
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
