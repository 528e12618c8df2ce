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
    /// Steps of the latest apply done, and in all (the list shows the progress).
    pub steps_done: usize,
    pub steps_total: usize,
}

/// A rule one form field broke.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldIssue {
    pub field: String,
    pub message: String,
}

/// What the one-click form sends. Everything but the name and repository comes pre-filled
/// with the defaults; a field left empty means "the default".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VentureForm {
    pub name: String,
    pub repository: String,
    #[serde(default)]
    pub production_branch: String,
    /// A checkbox: present when a staging environment is wanted.
    #[serde(default)]
    pub staging: Option<String>,
    #[serde(default)]
    pub staging_branch: String,
    #[serde(default)]
    pub region: String,
    #[serde(default)]
    pub node_version: String,
    #[serde(default)]
    pub build_command: String,
    #[serde(default)]
    pub install_command: String,
    #[serde(default)]
    pub output_directory: String,
    #[serde(default)]
    pub root_directory: String,
}

#[cfg(feature = "ssr")]
impl VentureForm {
    /// The venture spec the form describes; the engine checks its rules.
    pub fn into_spec(self) -> slipway_engine::venture::NewVenture {
        let given = |value: String| Some(value.trim().to_string()).filter(|v| !v.is_empty());
        let mut spec = slipway_engine::venture::NewVenture::new(&self.name, &self.repository);
        if let Some(branch) = given(self.production_branch) {
            spec.production_branch = branch;
        }
        spec.environments.staging.enabled = self.staging.is_some();
        if let Some(branch) = given(self.staging_branch) {
            spec.environments.staging.branch = branch;
        }
        if let Some(region) = given(self.region) {
            spec.supabase.region = region;
        }
        if let Some(version) = given(self.node_version) {
            spec.framework.node_version = version;
        }
        spec.framework.build_command = given(self.build_command);
        spec.framework.install_command = given(self.install_command);
        spec.framework.output_directory = given(self.output_directory);
        spec.framework.root_directory = given(self.root_directory);
        spec
    }
}

/// The choices and defaults the one-click form offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VentureFormChoices {
    pub regions: Vec<String>,
    pub default_region: String,
    pub node_versions: Vec<String>,
    pub default_node_version: String,
    pub default_production_branch: String,
    pub default_staging_branch: String,
}

#[server(endpoint = "form_choices")]
pub async fn form_choices() -> Result<VentureFormChoices, ServerFnError> {
    use slipway_engine::platform::supabase::{REGIONS, SMART_GROUPS};
    use slipway_engine::venture::{NODE_VERSIONS, NewVenture};
    crate::server::session::require_user().await?;
    let defaults = NewVenture::new("", "");
    Ok(VentureFormChoices {
        regions: SMART_GROUPS.iter().chain(REGIONS).map(|r| r.to_string()).collect(),
        default_region: defaults.supabase.region,
        node_versions: NODE_VERSIONS.iter().map(|v| v.to_string()).collect(),
        default_node_version: defaults.framework.node_version,
        default_production_branch: defaults.production_branch,
        default_staging_branch: defaults.environments.staging.branch,
    })
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
    let ventures = engine_result(engine.list_ventures_with_progress(&user).await)?;
    Ok(ventures
        .iter()
        .map(|(venture, done, total)| VentureView { steps_done: *done, steps_total: *total, ..venture_view(venture) })
        .collect())
}

#[server(endpoint = "get_venture")]
pub async fn get_venture(id: String) -> Result<VentureView, ServerFnError> {
    use crate::server::session::{engine_result, require_user, venture_view};
    let (engine, user) = require_user().await?;
    Ok(venture_view(&engine_result(engine.venture(&user, &id).await)?))
}

#[server(endpoint = "create_venture")]
pub async fn create_venture(venture: VentureForm) -> Result<CreateVentureOutcome, ServerFnError> {
    use crate::server::session::{engine_result, require_user};
    use slipway_engine::EngineError;
    let (engine, user) = require_user().await?;
    match engine.create_venture(&user, &venture.into_spec()).await {
        Ok(venture) => Ok(CreateVentureOutcome::Created { id: venture.id }),
        Err(EngineError::Invalid(errors)) => Ok(CreateVentureOutcome::Invalid {
            issues: errors.into_iter().map(|e| FieldIssue { field: e.field, message: e.message }).collect(),
        }),
        Err(err) => engine_result(Err(err)),
    }
}

/// Applies the venture's spec again (converging anything that drifted, or retrying what failed).
#[server(endpoint = "apply_venture")]
pub async fn apply_venture(id: String) -> Result<(), ServerFnError> {
    use crate::server::session::{engine_result, require_user};
    let (engine, user) = require_user().await?;
    engine_result(engine.apply_venture(&user, &id).await).map(|_| ())
}

/// Destroys the venture's resources; `confirm` must repeat its name.
#[server(endpoint = "destroy_venture")]
pub async fn destroy_venture(id: String, confirm: String) -> Result<(), ServerFnError> {
    use crate::server::session::{engine_result, require_user};
    let (engine, user) = require_user().await?;
    engine_result(engine.destroy_venture(&user, &id, &confirm).await).map(|_| ())
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
pub async fn preview_plan(venture: VentureForm) -> Result<PlanOutcome, ServerFnError> {
    use crate::server::session::{engine_result, require_user};
    use slipway_engine::EngineError;
    let (engine, user) = require_user().await?;
    match engine.plan_new_venture(&user, &venture.into_spec()).await {
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
