//! Slipway engine: everything that provisions a venture, with no knowledge of the web UI.
//!
//! - [`venture`], [`env`], [`signin`], [`rls`] and [`auth`]: the domain model and its validation rules.
//! - [`store`]: SQL storage (SQLite by default; the SQL is portable to PostgreSQL).
//! - [`events`]: the provisioning log that the dashboard tails live.
//! - [`jobs`]: the durable, lease-based job runner.
//! - [`provision`]: applying a venture's spec as a graph of idempotent steps.
//! - [`platform`]: typed clients for the platform APIs; [`platforms`]: which ones are in use.
//! - [`rotation`]: which secrets rotate, on what policy, and when each is due.
//! - [`vault`]: secrets sealed at rest; [`redact`]: every sealed value scrubbed from text.
//! - [`engine`]: the facade the app calls; every method checks the caller's role.

pub mod auth;
pub mod digest;
pub mod domains;
pub mod engine;
pub mod env;
pub mod error;
pub mod events;
pub mod finding;
pub mod jobs;
pub mod platform;
pub mod platforms;
pub mod provision;
pub mod redact;
pub mod rls;
pub mod rotation;
pub mod signin;
pub mod store;
pub mod time;
pub mod vault;
pub mod venture;

pub use engine::{Engine, EngineConfig, VaultSettings};
pub use error::{EngineError, ErrorCode};
