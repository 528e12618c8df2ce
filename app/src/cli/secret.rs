//! `slipway secret …`: rotate one of a venture's secrets and read their rotations, over the
//! REST API. Never a value: the rotation makes it, and only the platforms and the vault hold it.

use anyhow::bail;
use clap::Subcommand;
use serde_json::Value;

use super::env::follow_job;
use super::{Api, ServerArgs, print_json, text};

#[derive(Subcommand)]
pub enum SecretCommand {
    /// Rotate a secret now (admins): a new value on every target, production and staging
    /// redeployed and health-checked, then the old value retired, or everything rolled back.
    /// Waits, showing the steps; exits non-zero when the rotation rolled back or failed.
    Rotate {
        venture: String,
        /// The secret, e.g. SUPABASE_SECRET_KEY.
        secret: String,
        #[arg(long)]
        no_wait: bool,
        /// Accept that rotating POSTGRES_PASSWORD cuts live database connections until the new
        /// deployments are ready (the server refuses that rotation without it).
        #[arg(long)]
        accept_connection_cut: bool,
        /// For a secret variable a person entered (Slipway cannot mint it): the environments
        /// whose new value is read from stdin (`printf %s "$NEW" | slipway secret rotate acme-shop
        /// STRIPE_KEY --environment production`).
        #[arg(long = "environment", value_name = "ENVIRONMENT")]
        environments: Vec<String>,
    },
    /// The venture's rotations, newest first (of one secret when named): when, by whom or by
    /// schedule, the outcome, and the deployments that carry each value.
    History {
        venture: String,
        secret: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(server: ServerArgs, command: SecretCommand) -> anyhow::Result<()> {
    let api = Api::new(server);
    match command {
        SecretCommand::Rotate { venture, secret, no_wait, accept_connection_cut, environments } => {
            let id = api.require_venture(&venture).await?;
            let path = format!("/api/v1/ventures/{id}/secrets/{secret}/rotate");
            let mut values = serde_json::Map::new();
            if !environments.is_empty() {
                let value = super::env::value_from_stdin()?;
                for environment in environments {
                    values.insert(environment, Value::String(value.clone()));
                }
            }
            let request = serde_json::json!({ "accept_connection_cut": accept_connection_cut, "values": values });
            let rotation = api.call(reqwest::Method::POST, &path, Some(&request), None).await?;
            let job = text(&rotation["job_id"]).to_string();
            let followed = follow_job(&api, &id, &job, no_wait).await;
            if no_wait {
                return followed;
            }
            // The job's log said how it went; the rotation's record says how it ended.
            let history =
                api.call(reqwest::Method::GET, &format!("/api/v1/ventures/{id}/rotations"), None, None).await?;
            let ended = history["rotations"].as_array().into_iter().flatten().find(|r| r["job_id"] == job.as_str());
            match ended {
                Some(rotation) if rotation["outcome"] == "succeeded" => {
                    println!("{secret} rotated (rotation {})", text(&rotation["id"]));
                    if let Some(cut) = rotation["connections_cut_ms"].as_i64() {
                        println!("connections failed for {:.1} s during the rotation", cut as f64 / 1000.0);
                    }
                    if let Some(warning) = rotation["warning"].as_str() {
                        println!("note: {warning}");
                    }
                    Ok(())
                }
                Some(rotation) if rotation["outcome"] == "running" => {
                    let until = rotation["waiting_until"].as_i64().map(slipway_engine::time::format_utc);
                    println!(
                        "{secret}: rotation {} waits until {} and then goes on by itself (`slipway secret history` \
                         follows it)",
                        text(&rotation["id"]),
                        until.unwrap_or_else(|| "a moment it recorded".into())
                    );
                    Ok(())
                }
                Some(rotation) => bail!(
                    "{secret} was not rotated ({}): {}",
                    text(&rotation["outcome"]),
                    rotation["error"].as_str().unwrap_or("see the log above")
                ),
                None => followed,
            }
        }
        SecretCommand::History { venture, secret, json } => {
            let id = api.require_venture(&venture).await?;
            let query = secret.as_deref().map(|s| format!("?secret={s}")).unwrap_or_default();
            let history =
                api.call(reqwest::Method::GET, &format!("/api/v1/ventures/{id}/rotations{query}"), None, None).await?;
            if json {
                print_json(&history);
                return Ok(());
            }
            let rotations = history["rotations"].as_array().cloned().unwrap_or_default();
            if rotations.is_empty() {
                println!("No rotation yet.");
            }
            for rotation in &rotations {
                print_rotation(rotation);
            }
            Ok(())
        }
    }
}

fn print_rotation(rotation: &Value) {
    let at = rotation["created_at"].as_i64().map(slipway_engine::time::format_utc).unwrap_or_default();
    let by = match rotation["cause"].as_str() {
        Some("schedule") => "by schedule".to_string(),
        _ => format!("by {}", text(&rotation["requested_by"])),
    };
    println!("{at}  {:<22} {:<12} {by}", text(&rotation["secret"]), text(&rotation["outcome"]));
    if let Some(error) = rotation["error"].as_str() {
        println!("    {error}");
    }
    if let Some(cut) = rotation["connections_cut_ms"].as_i64() {
        println!(
            "    connections failed for {:.1} s (from the password reset until the new builds were ready)",
            cut as f64 / 1000.0
        );
    }
    for (label, field) in [("built with it", "deployments"), ("replaced", "replaced"), ("restored", "restored")] {
        for built in rotation[field].as_array().into_iter().flatten() {
            println!(
                "    {label}: {} {} https://{}",
                text(&built["environment"]),
                text(&built["id"]),
                text(&built["url"])
            );
        }
    }
    if let Some(warning) = rotation["warning"].as_str() {
        println!("    warning: {warning}");
    }
    if let Some(until) = rotation["waiting_until"].as_i64() {
        println!("    waiting until {}; it goes on by itself", slipway_engine::time::format_utc(until));
    }
}
