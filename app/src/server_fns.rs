//! The dashboard's server functions. Each authenticates the caller from the session cookie
//! and lets the engine check the caller's role, so hiding a button in the UI is never the only
//! check.

use leptos::prelude::*;

use crate::views::*;

#[server(endpoint = "form_choices")]
pub async fn form_choices() -> Result<VentureFormChoices, ServerFnError> {
    use slipway_engine::platform::supabase::{REGIONS, SMART_GROUPS};
    use slipway_engine::venture::{NODE_VERSIONS, NewVenture};
    crate::server::session::require_user().await?;
    let defaults = NewVenture::new("", "");
    Ok(VentureFormChoices {
        regions: SMART_GROUPS.iter().chain(REGIONS).map(|r| r.to_string()).collect(),
        default_region: defaults.supabase.region,
        databases: ["default", "staging-project", "none", "production"].map(String::from).to_vec(),
        databases_hint: "default: a second Supabase project (billed by Supabase) when staging is on, else none. \
                         production: every preview can read and write production data."
            .into(),
        node_versions: NODE_VERSIONS.iter().map(|v| v.to_string()).collect(),
        default_node_version: defaults.framework.node_version,
        default_production_branch: defaults.production_branch,
        default_staging_branch: defaults.environments.staging.branch,
    })
}

#[server(endpoint = "current_user")]
pub async fn current_user() -> Result<Option<UserView>, ServerFnError> {
    use crate::server::session;
    Ok(session::optional_user().await?.map(|(_, user)| crate::server::convert::user_view(&user)))
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

/// A page of the ventures list (`page` from 1; past the last, the last), newest first, narrowed
/// to names and repositories containing `search`.
#[server(endpoint = "list_ventures")]
pub async fn list_ventures(page: Option<usize>, search: Option<String>) -> Result<VentureListView, ServerFnError> {
    use crate::server::convert::venture_view;
    use crate::server::session::{engine_result, require_user};
    let (engine, user) = require_user().await?;
    let search = search.unwrap_or_default();
    let read = async |page: usize| {
        let offset = (page - 1).saturating_mul(VENTURES_PER_PAGE);
        engine_result(engine.ventures_page(&user, &search, offset, VENTURES_PER_PAGE).await)
    };
    let mut page = page.unwrap_or(1).max(1);
    let mut listed = read(page).await?;
    let pages = listed.matching.div_ceil(VENTURES_PER_PAGE).max(1);
    if page > pages {
        page = pages;
        listed = read(page).await?;
    }
    #[derive(serde::Serialize)]
    struct ListQuery<'a> {
        page: usize,
        #[serde(skip_serializing_if = "str::is_empty")]
        search: &'a str,
    }
    let link = |page: usize| {
        format!("/ventures?{}", serde_qs::to_string(&ListQuery { page, search: &search }).unwrap_or_default())
    };
    Ok(VentureListView {
        ventures: listed
            .entries
            .iter()
            .map(|e| VentureView { steps_done: e.steps_done, steps_total: e.steps_total, ..venture_view(&e.venture) })
            .collect(),
        matching: listed.matching,
        page,
        pages,
        newer: (page > 1).then(|| link(page - 1)),
        older: (page < pages).then(|| link(page + 1)),
        search,
    })
}

#[server(endpoint = "get_venture")]
pub async fn get_venture(id: String) -> Result<VenturePageView, ServerFnError> {
    use crate::server::convert::venture_view;
    use crate::server::session::{engine_result, require_user};
    let (engine, user) = require_user().await?;
    let venture = engine_result(engine.venture(&user, &id).await)?;
    Ok(VenturePageView {
        venture: venture_view(&venture),
        created_by: venture.created_by.clone(),
        can_change: user.may_change(&venture),
    })
}

/// The Database & Auth tab's data: sign-in, tables and lints (no secret: client secrets only
/// as set or not).
#[server(endpoint = "venture_sign_in")]
pub async fn venture_sign_in(id: String) -> Result<SignInView, ServerFnError> {
    use crate::server::session::{engine_result, require_user};
    let (engine, user) = require_user().await?;
    let sign_in = engine_result(engine.sign_in(&user, &id).await)?;
    let database = engine_result(engine.database(&user, &id).await)?;
    Ok(crate::server::convert::sign_in_view(sign_in, database))
}

/// The Environment tab's secret rotations: each secret's policy and due date, and the history
/// (never a value).
#[server(endpoint = "venture_rotations")]
pub async fn venture_rotations(id: String) -> Result<RotationTabView, ServerFnError> {
    use crate::server::session::{engine_result, require_user};
    let (engine, user) = require_user().await?;
    let secrets = engine_result(engine.secret_rotation_status(&user, &id).await)?;
    let history = engine_result(engine.rotations(&user, &id, None).await)?;
    Ok(crate::server::convert::rotation_tab_view(&user, secrets, history))
}

/// The Domains tab's data: the domain as it stands (checked live), and with `domain` and
/// `dns` given, the wizard's preview of them (or the rules they break).
#[server(endpoint = "venture_domain_tab")]
pub async fn venture_domain_tab(
    id: String,
    domain: Option<String>,
    dns: Option<String>,
) -> Result<DomainTabView, ServerFnError> {
    use crate::server::convert::{domain_preview_view, domain_state_view, provider_choices};
    use crate::server::session::{engine_result, require_user};
    use slipway_engine::EngineError;
    let (engine, user) = require_user().await?;
    let current = engine_result(engine.venture_domain(&user, &id).await)?.map(domain_state_view);
    let mut view = DomainTabView {
        current,
        providers: provider_choices(&engine.dns_providers()),
        asked: None,
        preview: None,
        issues: Vec::new(),
        rendered_at: slipway_engine::time::now_ms(),
    };
    if let Some(name) = domain.filter(|d| !d.trim().is_empty()) {
        let dns = dns.unwrap_or_else(|| "vercel".into());
        view.asked = Some((name.clone(), dns.clone()));
        let input =
            slipway_engine::domains::DomainInput { name, primary: None, dns, staging: None, allow_replace: Vec::new() };
        match engine.preview_venture_domain(&user, &id, input).await {
            Ok(preview) => view.preview = Some(domain_preview_view(preview)),
            Err(EngineError::Invalid(errors)) => {
                view.issues = errors.into_iter().map(|e| FieldIssue { field: e.field, message: e.message }).collect()
            }
            Err(err) => return engine_result(Err(err)),
        }
    }
    Ok(view)
}

#[server(endpoint = "create_venture")]
pub async fn create_venture(venture: VentureForm) -> Result<CreateVentureOutcome, ServerFnError> {
    use crate::server::session::{engine_result, require_user};
    use slipway_engine::EngineError;
    let (engine, user) = require_user().await?;
    let spec = crate::server::convert::venture_spec(venture).map_err(|e| EngineError::Invalid(vec![e]));
    match async { engine.create_venture(&user, &spec?).await }.await {
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

/// Queues one of the Environment tab's jobs: `sync` (the variables to Vercel, no deployment)
/// or `redeploy-production` / `redeploy-staging` (a build that picks the variables up). One
/// function for the three keeps the browser bundle small.
#[server(endpoint = "env_job")]
pub async fn env_job(id: String, job: String) -> Result<(), ServerFnError> {
    use crate::server::session::{engine_result, require_user};
    let (engine, user) = require_user().await?;
    let queued = match job.as_str() {
        "sync" => engine.sync_env(&user, &id).await,
        other => match other.strip_prefix("redeploy-") {
            Some(environment) => engine.redeploy(&user, &id, environment).await,
            None => Err(slipway_engine::EngineError::invalid(
                "job",
                "must be sync, redeploy-production or redeploy-staging",
            )),
        },
    };
    engine_result(queued).map(|_| ())
}

/// Destroys the venture's resources; `confirm` must repeat its name.
#[server(endpoint = "destroy_venture")]
pub async fn destroy_venture(id: String, confirm: String) -> Result<(), ServerFnError> {
    use crate::server::session::{engine_result, require_user};
    let (engine, user) = require_user().await?;
    engine_result(engine.destroy_venture(&user, &id, &confirm).await).map(|_| ())
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
                "supabase_staging_project" => {
                    ("Supabase staging project".to_string(), format!("{id} ({})", text(data, "region")))
                }
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

/// Every user and API token, for the Users page (admins; the engine refuses the others).
#[server(endpoint = "users_page")]
pub async fn users_page() -> Result<UsersView, ServerFnError> {
    use crate::server::session::{engine_result, require_user};
    let (engine, user) = require_user().await?;
    let users = engine_result(engine.list_users(&user).await)?;
    let tokens = engine_result(engine.list_api_tokens(&user, None).await)?;
    let now = slipway_engine::time::now_ms();
    Ok(UsersView {
        users: users
            .into_iter()
            .map(|r| UserRowView {
                username: r.user.username,
                role: r.user.role.as_str().to_string(),
                disabled: r.disabled_at.is_some(),
                sessions: r.sessions,
                created_at: r.created_at,
            })
            .collect(),
        tokens: tokens
            .into_iter()
            .map(|t| TokenRowView {
                state: t.state_at(now),
                live: t.live_at(now),
                id: t.id,
                name: t.name,
                username: t.username,
                role: t.role.as_str().to_string(),
                created_at: t.created_at,
                last_used_at: t.last_used_at,
            })
            .collect(),
        me: user.username,
    })
}

/// The newest entries of the audit log (admins; the engine refuses the others).
#[server(endpoint = "audit_log")]
pub async fn audit_log() -> Result<Vec<AuditEntryView>, ServerFnError> {
    use crate::server::session::{engine_result, require_user};
    let (engine, user) = require_user().await?;
    let entries = engine_result(engine.audit_log(&user, None, 200).await)?;
    Ok(entries
        .into_iter()
        .map(|e| AuditEntryView { at: e.at, actor: e.actor, action: e.action, target: e.target, detail: e.detail })
        .collect())
}

/// The platforms' connections as last checked (never a platform call; checks on demand are the
/// Connections page's form, `POST /connections/check`).
#[server(endpoint = "connections")]
pub async fn connections() -> Result<ConnectionsView, ServerFnError> {
    use crate::server::session::{engine_result, require_user};
    let (engine, user) = require_user().await?;
    Ok(crate::server::convert::connections_view(engine_result(engine.connection_status(&user).await)?))
}

#[server(endpoint = "preview_plan")]
pub async fn preview_plan(venture: VentureForm) -> Result<PlanOutcome, ServerFnError> {
    use crate::server::session::{engine_result, require_user};
    use slipway_engine::EngineError;
    let (engine, user) = require_user().await?;
    let spec = crate::server::convert::venture_spec(venture).map_err(|e| EngineError::Invalid(vec![e]));
    match async { engine.plan_new_venture(&user, &spec?).await }.await {
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
                    warning: a.warning,
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

/// The venture's variables for the Environment tab (one read of Vercel for the sync states).
#[server(endpoint = "env_panel")]
pub async fn env_panel(id: String) -> Result<EnvPanelView, ServerFnError> {
    use crate::server::session::{engine_result, require_user};
    let (engine, user) = require_user().await?;
    let listing = engine_result(engine.env_listing(&user, &id).await)?;
    let venture = engine_result(engine.venture(&user, &id).await)?;
    Ok(crate::server::convert::env_panel_view(listing, &user, user.may_change(&venture)))
}

/// Declares or changes a variable; the engine checks every rule before it writes.
#[server(endpoint = "save_env")]
pub async fn save_env(id: String, variable: EnvForm) -> Result<EnvSaveOutcome, ServerFnError> {
    use crate::server::session::{engine_result, require_user};
    use slipway_engine::EngineError;
    let (engine, user) = require_user().await?;
    let (key, change) = crate::server::convert::env_change(variable);
    match engine.put_env_var(&user, &id, &key, &change).await {
        Ok(()) => Ok(EnvSaveOutcome::Saved),
        Err(EngineError::Invalid(errors)) => Ok(EnvSaveOutcome::Invalid {
            issues: errors.into_iter().map(|e| FieldIssue { field: e.field, message: e.message }).collect(),
        }),
        Err(err) => engine_result(Err(err)),
    }
}

#[server(endpoint = "delete_env")]
pub async fn delete_env(id: String, key: String) -> Result<(), ServerFnError> {
    use crate::server::session::{engine_result, require_user};
    let (engine, user) = require_user().await?;
    engine_result(engine.delete_env_var(&user, &id, &key).await)
}

/// One value in clear, for an admin who asked for it (recorded in the audit list).
#[server(endpoint = "reveal_env")]
pub async fn reveal_env(id: String, key: String, environment: String) -> Result<String, ServerFnError> {
    use crate::server::session::{engine_result, require_user};
    use secrecy::ExposeSecret;
    let (engine, user) = require_user().await?;
    let value = engine_result(engine.reveal_env_value(&user, &id, &key, &environment).await)?;
    Ok(value.expose_secret().to_string())
}
