//! The engine's integration tests, in one binary (each test file would be a binary of its own,
//! and linking is the slow part on two cores).

mod access;
mod connections;
mod contract;
mod database;
mod doctor;
mod domains;
mod dotenv;
mod env;
mod isolation;
mod knot;
mod layers;
mod listing;
mod postgres;
mod provisioning;
mod rfc2136;
mod rls;
mod rotation;
mod signin;
mod support;
