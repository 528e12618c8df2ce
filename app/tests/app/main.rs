//! The app's integration tests, in one binary (each test file would link the server again).

mod authorization;
mod cli;
mod common;
mod crash;
mod matrix;
mod rest;
mod server_fns;
