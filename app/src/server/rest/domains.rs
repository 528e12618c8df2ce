//! Custom domains: the DNS doctor on any domain, and a venture's domain as it stands.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use serde::Deserialize;
use slipway_engine::engine::{DomainCheck, DomainStatus};

use super::openapi::{Busy, Invalid, NotFound, Platform, Unauthenticated};
use super::{Answer, AppState, VentureId, caller, engine_error};

/// The path parameter naming a domain.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct DomainName {
    /// A domain in any form (`Acme.com.`, `www.acme.com`, an internationalised name).
    #[param(example = "acme.com")]
    domain: String,
}

/// Run the DNS doctor on a domain
///
/// Asks every configured resolver and the zone's own nameservers, in parallel: delegation,
/// apex A and www CNAME against Vercel's recommendations, AAAA records that bypass Vercel, a
/// CNAME at the apex, CAA (climbed per RFC 8659), the `_vercel` challenge, resolvers that
/// disagree, DNSSEC that fails validation, slow TTLs. Each finding has a level, the problem in
/// plain words and the exact fix. When a venture's spec has the domain, its provider and names
/// are used. Every role.
#[utoipa::path(
    get, path = "/api/v1/domains/{domain}/check", operation_id = "checkDomain", tag = "domains",
    params(DomainName),
    responses(
        (status = 200, description = "The doctor's report.", body = DomainCheck),
        (status = 401, response = Unauthenticated),
        (status = 422, response = Invalid),
        (status = 429, response = Busy),
        (status = 502, response = Platform),
    )
)]
pub async fn check_domain(
    State(state): State<AppState>,
    Path(DomainName { domain }): Path<DomainName>,
    headers: HeaderMap,
) -> Answer {
    let user = caller(&state, &headers).await?;
    Ok(Json(state.engine.check_domain(&user, &domain).await.map_err(engine_error)?).into_response())
}

/// A venture's custom domain as it stands
///
/// Each name (primary, the redirect, staging): on the project, verified and configured at
/// Vercel; the certificate; and the doctor's findings now. `null` when the spec has no domain.
/// Every role.
#[utoipa::path(
    get, path = "/api/v1/ventures/{id}/domain", operation_id = "getDomain", tag = "domains",
    params(VentureId),
    responses(
        (status = 200, description = "The domain's state, or null.", body = Option<DomainStatus>),
        (status = 401, response = Unauthenticated),
        (status = 404, response = NotFound),
        (status = 429, response = Busy),
        (status = 502, response = Platform),
    )
)]
pub async fn get_domain(
    State(state): State<AppState>,
    Path(VentureId { id }): Path<VentureId>,
    headers: HeaderMap,
) -> Answer {
    let user = caller(&state, &headers).await?;
    Ok(Json(state.engine.venture_domain(&user, &id).await.map_err(engine_error)?).into_response())
}
