//! Slipway's web app: Leptos pages and components, the server functions they call, and
//! (with feature `ssr`) the axum server that hosts them. Server functions only call the
//! engine's facade; they never touch the database or a platform API.

pub mod components;
pub mod pages;
pub mod routes;
#[cfg(feature = "ssr")]
pub mod sandbox;
#[cfg(feature = "ssr")]
pub mod server;

pub mod server_fns;
pub mod views;

pub use routes::{App, shell};
