//! `slipway venture …`, `slipway env …`, `slipway secret …`, `slipway auth …`, `slipway domain …`,
//! `slipway audit` and `slipway connections`: the command line over the REST API of a running
//! Slipway (`SLIPWAY_SERVER`, `SLIPWAY_TOKEN`). Specs are TOML files with the fields of the JSON
//! spec.

mod audit;
mod auth;
mod connections;
mod domain;
mod env;
mod secret;

pub use audit::run as run_audit;
pub use auth::{AuthCommand, run as run_auth};
pub use connections::run as run_connections;
pub use domain::{DomainCommand, run as run_domain};
pub use env::{EnvCommand, run as run_env};
pub use secret::{SecretCommand, run as run_secret};

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use serde_json::{Value, json};
use slipway_engine::venture::NewVenture;

#[derive(Args)]
pub struct ServerArgs {
    /// The Slipway server to talk to.
    #[arg(long, env = "SLIPWAY_SERVER", default_value = "http://127.0.0.1:3000")]
    server: String,
    /// An API token (`slipway token create`).
    #[arg(long, env = "SLIPWAY_TOKEN", hide_env_values = true)]
    token: String,
}

#[derive(Subcommand)]
pub enum VentureCommand {
    /// Show what applying the spec would do, resource by resource.
    Plan {
        /// The venture spec (TOML).
        #[arg(long, short)]
        file: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Create the venture from the spec, or apply it again; waits, showing the steps.
    Apply {
        #[arg(long, short)]
        file: PathBuf,
        #[arg(long)]
        json: bool,
        /// Return once the apply is queued.
        #[arg(long)]
        no_wait: bool,
    },
    /// A venture's status, steps and resources (by name or id).
    Status {
        venture: String,
        #[arg(long)]
        json: bool,
    },
    /// A venture's log; with --follow, until its apply or destroy ends.
    Logs {
        venture: String,
        #[arg(long)]
        follow: bool,
        #[arg(long)]
        json: bool,
    },
    /// Run the database linter on each Supabase project now; exits non-zero on an error
    /// finding (a table the API exposes without row-level security, and the like).
    Lint {
        venture: String,
        #[arg(long)]
        json: bool,
    },
    /// Remove the venture's projects and sealed values; --confirm must repeat its name.
    Destroy {
        venture: String,
        #[arg(long)]
        confirm: String,
        #[arg(long)]
        json: bool,
    },
}

/// A JSON string field as text, `-` when absent.
fn text(value: &Value) -> &str {
    value.as_str().unwrap_or("-")
}

struct Api {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    fn new(server: ServerArgs) -> Api {
        Api { http: reqwest::Client::new(), base: server.server, token: server.token }
    }

    /// A text answer (a file the server writes), or the refusal's message.
    async fn text(&self, path: &str) -> anyhow::Result<String> {
        let url = format!("{}{path}", self.base.trim_end_matches('/'));
        let response = self
            .http
            .get(url)
            .bearer_auth(&self.token)
            .send()
            .await
            .with_context(|| format!("reaching {}", self.base))?;
        let status = response.status();
        let text = response.text().await.context("reading the answer")?;
        if !status.is_success() {
            let answer: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            bail!("{} ({status})", answer["error"]["message"].as_str().unwrap_or("the server refused the request"));
        }
        Ok(text)
    }

    /// The id of the venture named (or with that id), or an error saying there is none.
    async fn require_venture(&self, name_or_id: &str) -> anyhow::Result<String> {
        self.venture_id(name_or_id).await?.with_context(|| format!("no venture {name_or_id}"))
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
        key: Option<&str>,
    ) -> anyhow::Result<Value> {
        let mut request =
            self.http.request(method, format!("{}{path}", self.base.trim_end_matches('/'))).bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(body);
        }
        if let Some(key) = key {
            request = request.header("idempotency-key", key);
        }
        let response = request.send().await.with_context(|| format!("reaching {}", self.base))?;
        let status = response.status();
        let answer: Value = response.json().await.unwrap_or(Value::Null);
        if status.is_success() {
            return Ok(answer);
        }
        let error = &answer["error"];
        match error["fields"].as_array() {
            Some(fields) if !fields.is_empty() => {
                let rules: Vec<String> = fields
                    .iter()
                    .map(|f| {
                        format!("{}: {}", f["field"].as_str().unwrap_or("?"), f["message"].as_str().unwrap_or("?"))
                    })
                    .collect();
                bail!("{}", rules.join("\n"))
            }
            _ => bail!("{} ({status})", error["message"].as_str().unwrap_or("the server refused the request")),
        }
    }

    async fn venture_id(&self, name_or_id: &str) -> anyhow::Result<Option<String>> {
        let list = self.call(reqwest::Method::GET, "/api/v1/ventures", None, None).await?;
        Ok(list["ventures"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|v| v["id"] == name_or_id || v["name"] == name_or_id)
            .and_then(|v| v["id"].as_str())
            .map(str::to_string))
    }
}

fn read_spec(file: &PathBuf) -> anyhow::Result<(NewVenture, String)> {
    let text = std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let spec: NewVenture =
        toml::from_str(&text).with_context(|| format!("{} is not a valid venture spec", file.display()))?;
    Ok((spec, text))
}

fn print_json(value: &Value) {
    println!("{}", serde_json::to_string_pretty(value).unwrap_or_default());
}

pub async fn run(server: ServerArgs, command: VentureCommand) -> anyhow::Result<()> {
    let api = Api::new(server);
    match command {
        VentureCommand::Plan { file, json } => {
            let (spec, _) = read_spec(&file)?;
            let plan = match api.venture_id(&spec.name).await? {
                Some(id) => api.call(reqwest::Method::GET, &format!("/api/v1/ventures/{id}/plan"), None, None).await?,
                None => api.call(reqwest::Method::POST, "/api/v1/plan", Some(&json!(spec)), None).await?,
            };
            if json {
                print_json(&plan);
            } else {
                for action in plan["actions"].as_array().into_iter().flatten() {
                    let verb = action["action"].as_str().unwrap_or("?").replace('_', " ");
                    let records = action["records"].as_array().cloned().unwrap_or_default();
                    let detail = action["detail"].as_str().unwrap_or("");
                    // DNS changes one per line, as dnscontrol and octoDNS preview them.
                    let detail = match detail.split_once(": ") {
                        _ if records.is_empty() => detail.to_string(),
                        Some((instruction, _)) if detail.starts_with("make these changes") => format!("{instruction}:"),
                        _ => "record by record:".to_string(),
                    };
                    println!("{:<12} {:<24} {detail}", verb, action["resource"].as_str().unwrap_or("?"));
                    for record in &records {
                        let (old, new) = (record["old"].as_str().unwrap_or(""), record["new"].as_str().unwrap_or(""));
                        let (kind, name) =
                            (record["type"].as_str().unwrap_or("?"), record["name"].as_str().unwrap_or("?"));
                        let line = match record["op"].as_str() {
                            Some("create") => format!("+ CREATE {kind} {name} {new}"),
                            Some("change") => format!("± MODIFY {kind} {name} {old} → {new}"),
                            _ => format!("- DELETE {kind} {name} {old}"),
                        };
                        println!("{:<12} {:<24}   {line}", "", "");
                    }
                    if let Some(warning) = action["warning"].as_str() {
                        println!("{:<12} {:<24} {warning}", "WARNING", "");
                    }
                }
            }
            Ok(())
        }
        VentureCommand::Apply { file, json, no_wait } => {
            let (spec, text) = read_spec(&file)?;
            let id = match api.venture_id(&spec.name).await? {
                Some(id) => {
                    api.call(reqwest::Method::POST, &format!("/api/v1/ventures/{id}/apply"), None, None).await?;
                    id
                }
                None => {
                    // The same spec file run twice (a retry after a lost answer) creates once.
                    let key = slipway_engine::digest::digest(&[&text]);
                    let created =
                        api.call(reqwest::Method::POST, "/api/v1/ventures", Some(&json!(spec)), Some(&key)).await?;
                    created["venture"]["id"].as_str().unwrap_or_default().to_string()
                }
            };
            if no_wait {
                if json {
                    print_json(&json!({ "id": id }));
                } else {
                    println!("queued {id}");
                }
                return Ok(());
            }
            finish(&api, &id, json, &["ready", "needs_attention", "failed"]).await
        }
        VentureCommand::Lint { venture, json } => {
            let id = api.require_venture(&venture).await?;
            let path = format!("/api/v1/ventures/{id}/database/lint");
            let overview = api.call(reqwest::Method::POST, &path, None, None).await?;
            if json {
                print_json(&overview);
            } else {
                print_lint(&overview);
            }
            let errors = overview["errors"].as_u64().unwrap_or(0);
            if errors > 0 {
                bail!("the linter found {errors} error(s) in {venture}'s databases");
            }
            Ok(())
        }
        VentureCommand::Status { venture, json } => {
            let id = api.require_venture(&venture).await?;
            let detail = api.call(reqwest::Method::GET, &format!("/api/v1/ventures/{id}"), None, None).await?;
            if json {
                print_json(&detail);
            } else {
                let v = &detail["venture"];
                println!(
                    "{} ({}): {}",
                    v["name"].as_str().unwrap_or("?"),
                    v["id"].as_str().unwrap_or("?"),
                    v["status"].as_str().unwrap_or("?")
                );
                for step in detail["steps"].as_array().into_iter().flatten() {
                    println!(
                        "  {:<8} {}",
                        step["status"].as_str().unwrap_or("?"),
                        step["title"].as_str().unwrap_or("?")
                    );
                }
                for (kind, resource) in detail["resources"].as_object().into_iter().flatten() {
                    println!("  {kind}: {}", resource["id"].as_str().unwrap_or("-"));
                }
            }
            Ok(())
        }
        VentureCommand::Logs { venture, follow, json } => {
            let id = api.require_venture(&venture).await?;
            let mut after = 0;
            loop {
                let page = api
                    .call(
                        reqwest::Method::GET,
                        &format!("/api/v1/ventures/{id}/events?after={after}&limit=500"),
                        None,
                        None,
                    )
                    .await?;
                for event in page["events"].as_array().into_iter().flatten() {
                    if json {
                        println!("{event}");
                    } else {
                        println!(
                            "{:<5} {:<16} {}",
                            event["level"].as_str().unwrap_or("?").to_uppercase(),
                            event["step"].as_str().unwrap_or("?"),
                            event["message"].as_str().unwrap_or("")
                        );
                    }
                }
                let next = page["next_after"].as_i64().unwrap_or(after);
                let status = api.call(reqwest::Method::GET, &format!("/api/v1/ventures/{id}"), None, None).await?;
                let busy = matches!(status["venture"]["status"].as_str(), Some("provisioning" | "destroying"));
                if !follow || (!busy && next == after) {
                    return Ok(());
                }
                after = next;
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
        VentureCommand::Destroy { venture, confirm, json } => {
            let id = api.require_venture(&venture).await?;
            api.call(
                reqwest::Method::POST,
                &format!("/api/v1/ventures/{id}/destroy"),
                Some(&json!({ "confirm": confirm })),
                None,
            )
            .await?;
            finish(&api, &id, json, &["destroyed", "failed"]).await
        }
    }
}

/// Each project's lint: its findings with their fixes, or why it could not be proven.
fn print_lint(overview: &Value) {
    let text = |v: &Value| v.as_str().unwrap_or("-").to_string();
    for project in overview["projects"].as_array().into_iter().flatten() {
        println!("{} project {} ({})", text(&project["project"]), text(&project["name"]), text(&project["reference"]));
        for table in project["tables"].as_array().into_iter().flatten() {
            let applied = if table["applied"] == true { "" } else { " (not applied yet)" };
            println!("  table {:<24} {}{applied}", text(&table["table"]), text(&table["template"]));
        }
        let lint = &project["lint"];
        if lint.is_null() {
            println!("  lint: not run yet");
        } else if lint["proven"] == false {
            println!("  lint: UNPROVEN: {}", text(&lint["reason"]));
        } else if lint["findings"].as_array().is_none_or(Vec::is_empty) {
            println!("  lint: clean");
        }
        for finding in lint["findings"].as_array().into_iter().flatten() {
            println!(
                "  {:<5} {} on {}: {}",
                text(&finding["level"]),
                text(&finding["rule"]),
                text(&finding["object"]),
                text(&finding["detail"])
            );
            println!("        fix: {}", text(&finding["fix"]));
        }
    }
}

/// Waits until the venture reaches one of `ends`, drawing the steps' progress on a terminal.
async fn finish(api: &Api, id: &str, json: bool, ends: &[&str]) -> anyhow::Result<()> {
    let tty = std::io::stdout().is_terminal() && !json;
    let mut last = String::new();
    loop {
        let detail = api.call(reqwest::Method::GET, &format!("/api/v1/ventures/{id}"), None, None).await?;
        let status = detail["venture"]["status"].as_str().unwrap_or("?").to_string();
        let steps = detail["steps"].as_array().cloned().unwrap_or_default();
        let done = steps.iter().filter(|s| s["status"] == "done").count();
        let running: Vec<&str> =
            steps.iter().filter(|s| s["status"] == "running").filter_map(|s| s["title"].as_str()).collect();
        let bar: String = (0..steps.len()).map(|i| if i < done { '#' } else { '.' }).collect();
        let line = format!("[{bar}] {done}/{} {status} {}", steps.len(), running.join(", "));
        if !json && line != last {
            if tty {
                print!("\r\x1b[2K{line}");
                let _ = std::io::stdout().flush();
            } else {
                println!("{line}");
            }
            last = line;
        }
        if ends.contains(&status.as_str()) {
            if tty {
                println!();
            }
            if json {
                print_json(&detail);
            }
            if status == "failed" {
                bail!("the venture failed: see `slipway venture logs {id}`");
            }
            if status == "needs_attention" {
                bail!("the venture is applied but its database linter found errors: see `slipway venture lint {id}`");
            }
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
