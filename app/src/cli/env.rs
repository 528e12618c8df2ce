//! `slipway env …`: a venture's variables over the REST API. A value is read from stdin, never
//! from a flag, so it shows in no process list or shell history.

use std::io::Read;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Subcommand;
use serde_json::{Map, Value, json};

use super::{Api, ServerArgs, print_json};

#[derive(Subcommand)]
pub enum EnvCommand {
    /// The venture's variables per environment, with where each stands at Vercel.
    List {
        venture: String,
        #[arg(long)]
        json: bool,
    },
    /// Set a variable's value for one or more environments, read from stdin (declares the
    /// variable when it is new: --description is then required).
    Set {
        venture: String,
        key: String,
        /// development, preview, staging or production; repeat for several (one value serves all).
        #[arg(long = "environment", short = 'e', required = true)]
        environments: Vec<String>,
        #[arg(long)]
        description: Option<String>,
        /// Masked, write-only at Vercel, revealed to admins only.
        #[arg(long)]
        secret: bool,
    },
    /// Remove one of the venture's own variables.
    Rm { venture: String, key: String },
    /// Write the venture's `.env.example` (to stdout, or --file).
    Example {
        venture: String,
        #[arg(long, short)]
        file: Option<PathBuf>,
    },
    /// Print one value in clear (admins; the reveal is recorded).
    Reveal {
        venture: String,
        key: String,
        #[arg(long, short)]
        environment: String,
    },
}

/// The value on stdin: everything up to EOF, without the one line break a shell adds.
fn value_from_stdin() -> anyhow::Result<String> {
    let mut value = String::new();
    std::io::stdin().read_to_string(&mut value).context("reading the value from stdin")?;
    let value = value.strip_suffix('\n').map(|v| v.strip_suffix('\r').unwrap_or(v)).unwrap_or(&value).to_string();
    if value.is_empty() {
        bail!("no value on stdin (pipe it in: `printf %s \"$VALUE\" | slipway env set …`)");
    }
    Ok(value)
}

pub async fn run(server: ServerArgs, command: EnvCommand) -> anyhow::Result<()> {
    let api = Api::new(server);
    match command {
        EnvCommand::List { venture, json } => {
            let id = api.require_venture(&venture).await?;
            let listing = api.call(reqwest::Method::GET, &format!("/api/v1/ventures/{id}/env"), None, None).await?;
            if json {
                print_json(&listing);
                return Ok(());
            }
            if let Some(why) = listing["sync_error"].as_str() {
                eprintln!("Vercel could not be read: {why}");
            }
            for var in listing["variables"].as_array().into_iter().flatten() {
                let kind = if var["secret"] == true { "secret" } else { "plain" };
                println!(
                    "{:<36} {:<11} {:<6} {}",
                    var["key"].as_str().unwrap_or("?"),
                    var["source"].as_str().unwrap_or("?"),
                    kind,
                    var["description"].as_str().unwrap_or("")
                );
                for value in var["values"].as_array().into_iter().flatten() {
                    let state = match &value["sync"] {
                        Value::Null => "not synced yet".to_string(),
                        sync => match sync["detail"].as_str() {
                            Some(detail) => format!("{}: {detail}", sync["state"].as_str().unwrap_or("?")),
                            None => sync["state"].as_str().unwrap_or("?").to_string(),
                        },
                    };
                    let set = if value["set"] == true { "set" } else { "unset" };
                    println!("    {:<12} {:<6} {state}", value["environment"].as_str().unwrap_or("?"), set);
                }
            }
            Ok(())
        }
        EnvCommand::Set { venture, key, environments, description, secret } => {
            let id = api.require_venture(&venture).await?;
            let value = value_from_stdin()?;
            let values: Map<String, Value> = environments.iter().map(|e| (e.clone(), json!(value))).collect();
            let mut change = json!({ "values": values });
            if let Some(description) = description {
                change["description"] = json!(description);
            }
            if secret {
                change["secret"] = json!(true);
            }
            let path = format!("/api/v1/ventures/{id}/env/{key}");
            api.call(reqwest::Method::PUT, &path, Some(&change), None).await?;
            println!("{key} set for {}; `slipway venture apply` syncs it to Vercel", environments.join(", "));
            Ok(())
        }
        EnvCommand::Rm { venture, key } => {
            let id = api.require_venture(&venture).await?;
            api.call(reqwest::Method::DELETE, &format!("/api/v1/ventures/{id}/env/{key}"), None, None).await?;
            println!("{key} removed; the next apply deletes it at Vercel");
            Ok(())
        }
        EnvCommand::Example { venture, file } => {
            let id = api.require_venture(&venture).await?;
            let text = api.text(&format!("/api/v1/ventures/{id}/env.example")).await?;
            match file {
                Some(path) => {
                    std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
                    println!("wrote {}", path.display());
                }
                None => print!("{text}"),
            }
            Ok(())
        }
        EnvCommand::Reveal { venture, key, environment } => {
            let id = api.require_venture(&venture).await?;
            let path = format!("/api/v1/ventures/{id}/env/{key}/reveal");
            let revealed =
                api.call(reqwest::Method::POST, &path, Some(&json!({ "environment": environment })), None).await?;
            println!("{}", revealed["value"].as_str().unwrap_or_default());
            Ok(())
        }
    }
}
