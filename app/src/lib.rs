//! Slipway's web app: Leptos pages and components, the server functions they call, and
//! (with feature `ssr`) the axum server that hosts them. Server functions only call the
//! engine's facade; they never touch the database or a platform API.

pub mod api;
pub mod components;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod sandbox;
#[cfg(feature = "ssr")]
pub mod server;

pub use components::{App, shell};
