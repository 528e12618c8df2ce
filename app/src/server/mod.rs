//! The HTTP server: Leptos pages and server functions, the live-log stream, and the guards
//! around them.

pub mod arguments;
pub mod convert;
pub mod csp;
pub mod errors;
mod files;
mod forms;
pub mod middleware;
// REST handlers refuse a request by returning the whole HTTP response as the error value.
#[allow(clippy::result_large_err)]
pub mod rest;
pub mod session;
pub mod sse;

use axum::Router;
use axum::extract::FromRef;
use axum::routing::get;
use leptos::config::LeptosOptions;
use leptos::prelude::*;
use leptos_axum::{LeptosRoutes, generate_route_list};
use slipway_engine::Engine;

use crate::routes::{App, shell};

/// What every handler and server function can reach.
#[derive(Clone)]
pub struct AppState {
    pub engine: Engine,
    /// The public URL is https (a TLS proxy in front): cookies are `Secure`, HSTS is sent, and a
    /// browser's `Origin` must say https.
    pub served_over_https: bool,
}

#[derive(Clone, FromRef)]
struct ServerState {
    leptos_options: LeptosOptions,
    app: AppState,
}

/// Serves `app` on `listener` until `stop` resolves. Answers leave at once (`TCP_NODELAY`):
/// under Nagle's algorithm a small file sent as headers then body waits about 40 ms for the
/// client's delayed ACK.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::serve::ListenerExt;
    let listener = listener.tap_io(|tcp| {
        if let Err(error) = tcp.set_nodelay(true) {
            tracing::debug!(%error, "TCP_NODELAY could not be set");
        }
    });
    // The peer's address reaches the sign-in throttle.
    let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, app).with_graceful_shutdown(stop).await
}

/// The whole application router.
pub fn router(app: AppState, leptos_options: LeptosOptions) -> Router {
    let routes = generate_route_list(App);
    let state = ServerState { leptos_options: leptos_options.clone(), app: app.clone() };
    let context = {
        let app = app.clone();
        move || provide_context(app.clone())
    };
    Router::new()
        .route("/api/ventures/{id}/events", get(sse::venture_events))
        .route("/api/ventures/{id}/env.example", get(files::env_example))
        .route("/ventures/{id}/auth/secret", axum::routing::post(forms::sign_in_secret))
        .route("/ventures/{id}/database/lint", axum::routing::post(forms::lint_database))
        .route("/ventures/{id}/domain", axum::routing::post(forms::set_domain))
        .route("/ventures/{id}/secrets/{name}/rotate", axum::routing::post(forms::rotate_secret))
        .route("/users/{username}/role", axum::routing::post(forms::set_user_role))
        .route("/users/{username}/password", axum::routing::post(forms::reset_password))
        .route("/users/{username}/disable", axum::routing::post(forms::disable_user))
        .route("/users/{username}/enable", axum::routing::post(forms::enable_user))
        .route("/tokens/{id}/revoke", axum::routing::post(forms::revoke_token))
        .route("/connections/check", axum::routing::post(forms::check_connections))
        .merge(rest::routes())
        .leptos_routes_with_context(&state, routes, context, {
            let options = leptos_options.clone();
            move || shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler::<ServerState, _>(shell))
        .layer(axum::middleware::from_fn(arguments::check_server_fn_arguments))
        .layer(axum::middleware::from_fn(rest::json_edges))
        .layer(axum::middleware::from_fn_with_state(app.clone(), middleware::require_login_for_pages))
        .layer(axum::middleware::from_fn_with_state(app.clone(), middleware::refuse_cross_site))
        .layer(axum::middleware::from_fn_with_state(app.clone(), middleware::security_headers))
        .with_state(state)
}
