//! `slipway auth …`: a venture's sign-in over the REST API: what each Supabase project offers,
//! and a provider app's client secret, read from stdin (never a flag, so it shows in no
//! process list or shell history).

use anyhow::bail;
use clap::Subcommand;
use serde_json::json;

use super::env::value_from_stdin;
use super::{Api, ServerArgs, print_json, text};

#[derive(Subcommand)]
pub enum AuthCommand {
    /// Each Supabase project's providers, site URL, redirect URLs and the callback URL to
    /// register at each provider.
    Show {
        venture: String,
        #[arg(long)]
        json: bool,
    },
    /// Set a provider app's client secret (google, github or microsoft), read from stdin; the
    /// next apply sets it at Supabase.
    Secret {
        venture: String,
        provider: String,
        /// The staging project's own app (the spec's `staging_client_id`).
        #[arg(long)]
        staging: bool,
    },
}

pub async fn run(server: ServerArgs, command: AuthCommand) -> anyhow::Result<()> {
    let api = Api::new(server);
    match command {
        AuthCommand::Show { venture, json } => {
            let id = api.require_venture(&venture).await?;
            let overview = api.call(reqwest::Method::GET, &format!("/api/v1/ventures/{id}/auth"), None, None).await?;
            if json {
                print_json(&overview);
                return Ok(());
            }
            for project in overview["projects"].as_array().into_iter().flatten() {
                println!(
                    "{} project {} ({})",
                    text(&project["project"]),
                    text(&project["name"]),
                    text(&project["reference"])
                );
                println!("  callback URL  {}", text(&project["callback_url"]));
                println!("  site URL      {}", text(&project["site_url"]));
                for url in project["redirect_urls"].as_array().into_iter().flatten() {
                    println!("  redirect      {}", text(url));
                }
                for provider in project["providers"].as_array().into_iter().flatten() {
                    let state = match (provider["enabled"].as_bool(), provider["secret_set"].as_bool()) {
                        (Some(false), _) => "off",
                        (_, Some(true)) => "on",
                        _ => "waiting for its client secret",
                    };
                    println!(
                        "  {:<13} {state}, client {} ({} app){}",
                        text(&provider["provider"]),
                        text(&provider["client_id"]),
                        text(&provider["app"]),
                        provider["tenant"].as_str().map(|t| format!(", tenant {t}")).unwrap_or_default()
                    );
                }
            }
        }
        AuthCommand::Secret { venture, provider, staging } => {
            if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
                bail!("pipe the secret in: `printf %s \"$SECRET\" | slipway auth secret {venture} {provider}`");
            }
            let id = api.require_venture(&venture).await?;
            let value = value_from_stdin()?;
            let body = json!({ "app": if staging { "staging" } else { "production" }, "value": value });
            api.call(reqwest::Method::PUT, &format!("/api/v1/ventures/{id}/auth/{provider}/secret"), Some(&body), None)
                .await?;
            println!("sealed the {provider} client secret; `slipway venture apply` sets it at Supabase");
        }
    }
    Ok(())
}
