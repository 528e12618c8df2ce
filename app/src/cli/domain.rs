//! `slipway domain …`: the DNS doctor over the REST API. `check` prints each finding with its
//! fix and exits non-zero when any is an error.

use anyhow::bail;
use clap::Subcommand;

use super::{Api, ServerArgs, print_json, text};

#[derive(Subcommand)]
pub enum DomainCommand {
    /// Check a domain's DNS against what Vercel needs (the venture's settings when a spec has
    /// it): every finding with its fix; exits non-zero on an error.
    Check {
        domain: String,
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(server: ServerArgs, command: DomainCommand) -> anyhow::Result<()> {
    let api = Api::new(server);
    match command {
        DomainCommand::Check { domain, json } => {
            let path = format!("/api/v1/domains/{}/check", percent(&domain));
            let check = api.call(reqwest::Method::GET, &path, None, None).await?;
            let report = &check["report"];
            if json {
                print_json(&check);
            } else {
                let owner = match check["venture"].as_str() {
                    Some(venture) => format!("venture {venture}, DNS at {}", text(&check["provider"])),
                    None => "no venture has it".to_string(),
                };
                println!("{} ({owner})", text(&check["domain"]));
                let servers: Vec<String> = report["servers"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|s| {
                        format!("{}{}", text(&s["server"]), if s["answered"] == true { "" } else { " (no answer)" })
                    })
                    .collect();
                println!("  asked: {}", servers.join(", "));
                let findings = report["findings"].as_array().cloned().unwrap_or_default();
                if findings.is_empty() {
                    println!("  all clear: every name points at Vercel as recommended");
                }
                for finding in &findings {
                    println!(
                        "  {:<5} {}: {}",
                        text(&finding["level"]).to_uppercase(),
                        text(&finding["name"]),
                        text(&finding["problem"])
                    );
                    println!("        fix: {}", text(&finding["fix"]));
                }
                for answer in check["https"].as_array().into_iter().flatten() {
                    let mark = if answer["problem"].is_null() { "✓" } else { "✗" };
                    let how = match (answer["problem"].as_str(), answer["location"].as_str()) {
                        (Some(problem), _) => problem.to_string(),
                        (None, Some(location)) => format!("→ {} {location}", answer["status"]),
                        (None, None) => format!("→ {}", answer["status"]),
                    };
                    println!("  {mark} https://{} {how}", text(&answer["name"]));
                }
                println!("  checked in {} ms", report["elapsed_ms"].as_u64().unwrap_or_default());
            }
            let errors = report["findings"].as_array().into_iter().flatten().filter(|f| f["level"] == "error").count();
            if errors > 0 {
                bail!("the DNS doctor found {errors} error(s) for {}", text(&check["domain"]));
            }
            Ok(())
        }
    }
}

/// A domain as one path segment (an internationalised name goes as UTF-8, percent-encoded).
fn percent(domain: &str) -> String {
    domain
        .bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}
