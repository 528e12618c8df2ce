//! Server functions' arguments, checked before the function runs: a missing, wrongly typed or
//! unparsable argument is a 400 naming the field (Leptos would answer 500), and an oversized
//! body a 413, as the REST API answers.

use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use leptos::server_fn::ServerFn;
use serde::de::DeserializeOwned;

use super::errors::{Refusal, without_position};
use crate::server_fns::*;

/// Bodies larger than this are refused before they are read further.
pub const BODY_LIMIT: usize = 64 * 1024;

type Check = fn(&[u8]) -> Result<(), Refusal>;

/// Every server function, by path, with the check of its arguments. A test compares this list
/// with the functions Leptos registered, so a new one cannot be missed.
pub const ARGUMENTS: &[(&str, Check)] = &[
    (FormChoices::PATH, check::<FormChoices>),
    (CurrentUser::PATH, check::<CurrentUser>),
    (Login::PATH, check::<Login>),
    (Logout::PATH, check::<Logout>),
    (ListVentures::PATH, check::<ListVentures>),
    (GetVenture::PATH, check::<GetVenture>),
    (CreateVenture::PATH, check::<CreateVenture>),
    (ApplyVenture::PATH, check::<ApplyVenture>),
    (DestroyVenture::PATH, check::<DestroyVenture>),
    (VentureOverview::PATH, check::<VentureOverview>),
    (VentureSignIn::PATH, check::<VentureSignIn>),
    (VentureDomainTab::PATH, check::<VentureDomainTab>),
    (VentureRotations::PATH, check::<VentureRotations>),
    (Connections::PATH, check::<Connections>),
    (AuditLog::PATH, check::<AuditLog>),
    (UsersPage::PATH, check::<UsersPage>),
    (PreviewPlan::PATH, check::<PreviewPlan>),
    (EnvPanel::PATH, check::<EnvPanel>),
    (SaveEnv::PATH, check::<SaveEnv>),
    (DeleteEnv::PATH, check::<DeleteEnv>),
    (RevealEnv::PATH, check::<RevealEnv>),
    (EnvJob::PATH, check::<EnvJob>),
];

/// Reads the form body as the server function will (serde_qs, as Leptos' URL encoding does),
/// naming the field that does not fit.
fn check<T: DeserializeOwned>(body: &[u8]) -> Result<(), Refusal> {
    let config = serde_qs::Config::new(5, false);
    let refuse = |path: String, message: String| {
        // The path ends at the field for an unknown one, and before it for a missing one.
        let within = |name: &str| match path.as_str() {
            "" | "." => name.to_string(),
            p if p == name || p.ends_with(&format!(".{name}")) => p.to_string(),
            p => format!("{p}.{name}"),
        };
        // serde names a missing or unknown field only in its message.
        let named = |prefix: &str| message.strip_prefix(prefix).and_then(|rest| rest.split('`').next()).map(within);
        let (field, rule) = if let Some(field) = named("missing field `") {
            (Some(field), "is required".to_string())
        } else if let Some(field) = named("unknown field `") {
            (Some(field), "is not a field".to_string())
        } else {
            let field = (!path.is_empty() && path != ".").then(|| path.clone());
            // serde_qs' words for a single value where fields belong (`venture=5`).
            let rule = if message.starts_with("could not convert") {
                "must hold fields of its own (like field[name]=…), not a single value".to_string()
            } else {
                without_position(&message).to_string()
            };
            (field, rule)
        };
        Refusal::bad_request("bad_argument", field, rule)
    };
    let deserializer =
        serde_qs::Deserializer::with_config(&config, body).map_err(|e| refuse(String::new(), e.to_string()))?;
    serde_path_to_error::deserialize::<_, T>(deserializer)
        .map(|_| ())
        .map_err(|e| refuse(e.path().to_string(), e.inner().to_string()))
}

/// A refusal as the server function client reads errors: the status, and the error encoded
/// the way `ServerFnError` is (`ServerError|message`).
fn server_fn_refusal(path: &str, refusal: Refusal) -> Response {
    let mut response = (refusal.status, format!("ServerError|{}", refusal.message)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    if let Ok(value) = HeaderValue::from_str(path) {
        headers.insert("serverfnerror", value);
    }
    response
}

/// The layer: checks the body of every call to a server function before Leptos reads it.
pub async fn check_server_fn_arguments(request: Request, next: Next) -> Response {
    let path = request.uri().path().to_string();
    let Some((_, check)) = ARGUMENTS.iter().find(|(p, _)| *p == path) else {
        return next.run(request).await;
    };
    if request.method() != Method::POST {
        let refusal = Refusal::new(StatusCode::METHOD_NOT_ALLOWED, "method", "server functions are called with POST");
        return server_fn_refusal(&path, refusal);
    }
    let (parts, body) = request.into_parts();
    let bytes = match to_bytes(body, BODY_LIMIT).await {
        Ok(bytes) => bytes,
        Err(_) => return server_fn_refusal(&path, Refusal::too_large(BODY_LIMIT)),
    };
    if std::str::from_utf8(&bytes).is_err() {
        let refusal = Refusal::bad_request("bad_argument", None, "the request body is not valid UTF-8");
        return server_fn_refusal(&path, refusal);
    }
    if let Err(refusal) = check(&bytes) {
        return server_fn_refusal(&path, refusal);
    }
    next.run(Request::from_parts(parts, Body::from(bytes))).await
}
