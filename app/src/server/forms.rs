//! Plain HTML forms of server-rendered panels (no browser code): each posts here, the engine
//! checks the caller's role, and the answer sends the browser back to the page with a notice.
//! Cross-site posts are refused by `middleware::refuse_cross_site`.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use super::AppState;
use super::session::user_from_headers;

/// The Database & Auth tab's "set the client secret" form.
#[derive(Deserialize)]
pub struct SignInSecretForm {
    provider: String,
    /// `production` or `staging`.
    app: String,
    value: SecretString,
}

/// Where the browser goes back to: the venture's page on `tab`, with what happened.
#[derive(Serialize)]
struct BackTo<'a> {
    tab: &'a str,
    notice: &'a str,
}

fn back(venture_id: &str, tab: &str, notice: &str) -> Response {
    let query = serde_qs::to_string(&BackTo { tab, notice }).unwrap_or_default();
    Redirect::to(&format!("/ventures/{venture_id}?{query}")).into_response()
}

/// `POST /ventures/{id}/auth/secret`: seals a provider app's client secret. The value is never
/// echoed: the notice names the provider and the app, or the rule broken.
pub async fn sign_in_secret(
    State(state): State<AppState>,
    Path(venture_id): Path<String>,
    headers: HeaderMap,
    Form(form): Form<SignInSecretForm>,
) -> Response {
    let Some(user) = user_from_headers(&state.engine, &headers).await else {
        return Redirect::to("/login").into_response();
    };
    let staging = form.app == "staging";
    let outcome = state.engine.set_sign_in_secret(&user, &venture_id, &form.provider, staging, &form.value).await;
    let notice = match outcome {
        Ok(()) => format!(
            "The {} client secret of the {} app is sealed; apply again to set it at Supabase.",
            form.provider,
            if staging { "staging" } else { "production" }
        ),
        Err(slipway_engine::EngineError::Invalid(errors)) => {
            errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
        }
        Err(err) => err.to_string(),
    };
    back(&venture_id, "auth", &notice)
}

/// `POST /ventures/{id}/database/lint`: runs the database linter on each Supabase project now;
/// the notice says how many errors it found, or why it could not run.
pub async fn lint_database(
    State(state): State<AppState>,
    Path(venture_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let Some(user) = user_from_headers(&state.engine, &headers).await else {
        return Redirect::to("/login").into_response();
    };
    let notice = match state.engine.lint_venture(&user, &venture_id).await {
        Ok(overview) if overview.errors > 0 => {
            format!("The linter found {} error(s): the venture needs attention.", overview.errors)
        }
        Ok(overview) if overview.projects.iter().any(|p| p.lint.as_ref().is_some_and(|l| !l.proven)) => {
            "The linter ran, but the policies could not be proven here (see each project).".to_string()
        }
        Ok(_) => "The linter found no error.".to_string(),
        Err(err) => err.to_string(),
    };
    back(&venture_id, "auth", &notice)
}

/// `POST /ventures/{id}/secrets/{name}/rotate`: queues the rotation of a secret now (admins);
/// the notice says it runs, or why not. The panel follows it on reload.
pub async fn rotate_secret(
    State(state): State<AppState>,
    Path((venture_id, name)): Path<(String, String)>,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let Some(user) = user_from_headers(&state.engine, &headers).await else {
        return Redirect::to("/login").into_response();
    };
    // The box an admin ticks to accept a password reset's cut, and a person's new values
    // (`value.<environment>`; left empty, that environment keeps its value).
    let mut request = slipway_engine::engine::RotateRequest::default();
    for (field, value) in form {
        match field.strip_prefix("value.") {
            Some(environment) if !value.is_empty() => {
                request.values.insert(environment.to_string(), SecretString::from(value));
            }
            Some(_) => {}
            None => request.accept_connection_cut |= field == "accept_connection_cut" && value == "true",
        }
    }
    let notice = match state.engine.rotate_secret(&user, &venture_id, &name, &request).await {
        Ok(rotation) => format!(
            "The rotation of {name} is under way ({}): the new value goes to every target, then production and \
             staging are redeployed and checked before the old value is retired.",
            rotation.phase.as_str()
        ),
        Err(slipway_engine::EngineError::Invalid(errors)) => {
            errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
        }
        Err(err) => err.to_string(),
    };
    back(&venture_id, "environment", &notice)
}

/// The Domains tab's "apply this domain" form.
#[derive(Deserialize)]
pub struct DomainForm {
    domain: String,
    dns: String,
}

/// `POST /ventures/{id}/domain`: puts the domain in the venture's spec and queues an apply;
/// the notice says so, or names the rule broken (nothing is stored then).
pub async fn set_domain(
    State(state): State<AppState>,
    Path(venture_id): Path<String>,
    headers: HeaderMap,
    Form(form): Form<DomainForm>,
) -> Response {
    let Some(user) = user_from_headers(&state.engine, &headers).await else {
        return Redirect::to("/login").into_response();
    };
    let input = slipway_engine::domains::DomainInput {
        name: form.domain.clone(),
        primary: None,
        dns: form.dns,
        staging: None,
        allow_replace: Vec::new(),
    };
    // The name as understood (IDNA, lowercase, the primary of the two).
    let primary = input.check().map(|spec| spec.names().0).unwrap_or_else(|_| form.domain.trim().to_string());
    let notice = match state.engine.set_venture_domain(&user, &venture_id, Some(input)).await {
        Ok(_) => {
            format!("{primary} is in the spec; the apply is under way: each check turns green below as it passes.")
        }
        Err(slipway_engine::EngineError::Invalid(errors)) => {
            errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
        }
        Err(err) => err.to_string(),
    };
    back(&venture_id, "domains", &notice)
}

/// The Users page's forms: a role, a new password.
#[derive(Deserialize)]
pub struct RoleForm {
    role: String,
}

#[derive(Deserialize)]
pub struct PasswordForm {
    password: SecretString,
}

/// Back to the Users page with what happened (or the rule broken).
fn back_to_users(outcome: Result<String, slipway_engine::EngineError>) -> Response {
    back_with_notice("/users", outcome)
}

/// Back to `page` with what happened (or the rule broken) as its `notice`.
fn back_with_notice(page: &str, outcome: Result<String, slipway_engine::EngineError>) -> Response {
    // What the error table lets a user read: every rule broken, nothing internal, no secret.
    let notice = outcome.unwrap_or_else(|err| super::errors::Refusal::from_engine(err).message);
    #[derive(Serialize)]
    struct Notice<'a> {
        notice: &'a str,
    }
    let query = serde_qs::to_string(&Notice { notice: &notice }).unwrap_or_default();
    Redirect::to(&format!("{page}?{query}")).into_response()
}

/// `POST /connections/check`: checks the platforms now (once every 30 s per user; the engine
/// refuses sooner, and the notice says when to ask again).
pub async fn check_connections(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some(user) = user_from_headers(&state.engine, &headers).await else {
        return Redirect::to("/login").into_response();
    };
    let outcome = state.engine.check_connections(&user).await.map(|report| {
        let failing: Vec<_> = report.statuses.iter().filter(|s| !s.connected).map(|s| s.platform.as_str()).collect();
        match failing.as_slice() {
            [] => "Checked just now: every platform answers.".to_string(),
            failing => format!("Checked just now: {} not connected.", failing.join(", ")),
        }
    });
    back_with_notice("/connections", outcome)
}

/// `POST /users/{username}/role`.
pub async fn set_user_role(
    State(state): State<AppState>,
    Path(username): Path<String>,
    headers: HeaderMap,
    Form(form): Form<RoleForm>,
) -> Response {
    let Some(user) = user_from_headers(&state.engine, &headers).await else {
        return Redirect::to("/login").into_response();
    };
    let outcome = match slipway_engine::auth::Role::parse(&form.role) {
        Ok(role) => state
            .engine
            .set_user_role(&user, &username, role)
            .await
            .map(|()| format!("{username} is now {}.", form.role)),
        Err(field) => Err(slipway_engine::EngineError::Invalid(vec![field])),
    };
    back_to_users(outcome)
}

/// `POST /users/{username}/disable`.
pub async fn disable_user(state: State<AppState>, username: Path<String>, headers: HeaderMap) -> Response {
    set_user_disabled(state, username, headers, true).await
}

/// `POST /users/{username}/enable`.
pub async fn enable_user(state: State<AppState>, username: Path<String>, headers: HeaderMap) -> Response {
    set_user_disabled(state, username, headers, false).await
}

async fn set_user_disabled(
    State(state): State<AppState>,
    Path(username): Path<String>,
    headers: HeaderMap,
    disabled: bool,
) -> Response {
    let Some(user) = user_from_headers(&state.engine, &headers).await else {
        return Redirect::to("/login").into_response();
    };
    let outcome = state.engine.set_user_disabled(&user, &username, disabled).await.map(|()| {
        if disabled {
            format!("{username} is disabled: their sessions ended, their sign-ins and tokens are refused.")
        } else {
            format!("{username} may sign in again.")
        }
    });
    back_to_users(outcome)
}

/// `POST /users/{username}/password`: the password is never echoed.
pub async fn reset_password(
    State(state): State<AppState>,
    Path(username): Path<String>,
    headers: HeaderMap,
    Form(form): Form<PasswordForm>,
) -> Response {
    let Some(user) = user_from_headers(&state.engine, &headers).await else {
        return Redirect::to("/login").into_response();
    };
    let outcome = state
        .engine
        .reset_password(&user, &username, &form.password)
        .await
        .map(|()| format!("{username} has a new password; their sessions ended."));
    back_to_users(outcome)
}

/// `POST /tokens/{id}/revoke`.
pub async fn revoke_token(State(state): State<AppState>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    let Some(user) = user_from_headers(&state.engine, &headers).await else {
        return Redirect::to("/login").into_response();
    };
    back_to_users(state.engine.revoke_api_token(&user, &id).await.map(|()| "The token is revoked.".to_string()))
}
