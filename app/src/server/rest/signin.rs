//! A venture's sign-in: each Supabase project's providers, site URL, redirect URLs and the
//! callback URL to register at each provider; and a provider app's client secret, which is
//! set here (or by the dashboard or `slipway auth secret`), never in a spec.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use secrecy::SecretString;
use serde::Deserialize;
use slipway_engine::engine::SignInOverview;
use slipway_engine::env::Tier;
use slipway_engine::signin::Provider;

use super::openapi::{BadBody, Conflict, Forbidden, Invalid, NotFound, Unauthenticated};
use super::{Answer, AppState, VentureId, body, caller, engine_error};

/// The path parameters of one provider.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ProviderPath {
    /// The venture's id.
    #[param(format = "uuid")]
    id: String,
    #[param(inline, value_type = Provider)]
    provider: String,
}

/// A provider app's client secret.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SecretRequest {
    /// Whose app: `production` (also the staging project's, unless the spec names a
    /// `staging_client_id`) or `staging`.
    #[serde(default = "production")]
    #[schema(default = "production")]
    app: Tier,
    #[schema(value_type = String, min_length = 1, max_length = 1024, pattern = r"^[^\s,]+$")]
    value: SecretString,
}

fn production() -> Tier {
    Tier::Production
}

/// Sign-in on each Supabase project
///
/// From the venture's spec and what its applies wrote; client secrets only as set or not.
#[utoipa::path(
    get, path = "/api/v1/ventures/{id}/auth", operation_id = "getSignIn", tag = "auth",
    params(VentureId),
    responses(
        (status = 200, description = "Each Supabase project's sign-in settings.", body = SignInOverview),
        (status = 401, response = Unauthenticated),
        (status = 404, response = NotFound),
    )
)]
pub async fn get_sign_in(
    State(state): State<AppState>,
    Path(VentureId { id }): Path<VentureId>,
    headers: HeaderMap,
) -> Answer {
    let user = caller(&state, &headers).await?;
    Ok(Json(state.engine.sign_in(&user, &id).await.map_err(engine_error)?).into_response())
}

/// Set a provider app's client secret
///
/// Sealed in the vault and never shown again; the next apply sets it at Supabase (the plan
/// shows it). Creators and admins.
#[utoipa::path(
    put, path = "/api/v1/ventures/{id}/auth/{provider}/secret", operation_id = "putSignInSecret", tag = "auth",
    params(ProviderPath),
    request_body = SecretRequest,
    responses(
        (status = 204, description = "Sealed."),
        (status = 400, response = BadBody),
        (status = 401, response = Unauthenticated),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = Invalid),
    )
)]
pub async fn put_sign_in_secret(
    State(state): State<AppState>,
    Path(ProviderPath { id, provider }): Path<ProviderPath>,
    headers: HeaderMap,
    raw: Bytes,
) -> Answer {
    let user = caller(&state, &headers).await?;
    let request: SecretRequest = body(&raw)?;
    let staging = request.app == Tier::Staging;
    state.engine.set_sign_in_secret(&user, &id, &provider, staging, &request.value).await.map_err(engine_error)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
