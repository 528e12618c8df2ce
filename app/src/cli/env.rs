//! `slipway env …`: a venture's variables over the REST API. A value is read from stdin, never
//! from a flag, so it shows in no process list or shell history.

use std::io::{IsTerminal, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Subcommand;
use serde_json::{Map, Value, json};
use slipway_engine::env::dotenv::{self, Change, Update};

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
    /// Write one environment's values into a local dotenv file, merging: keys Slipway does
    /// not manage and comments are kept, changes are shown before anything is written, the
    /// file is owner-only. Secrets handed out are recorded in the venture's audit list.
    Pull {
        venture: String,
        /// Production secrets come only to an admin who names production here.
        #[arg(long, short, default_value = "development")]
        environment: String,
        #[arg(long, short, default_value = ".env.local")]
        file: PathBuf,
        /// Write without asking.
        #[arg(long, short)]
        yes: bool,
    },
    /// Sync the variables to Vercel now (by diff), without deploying; waits for the sync.
    Sync {
        venture: String,
        #[arg(long)]
        no_wait: bool,
    },
    /// Rebuild production or staging so its running deployment gets the variables; waits
    /// until it is live.
    Redeploy {
        venture: String,
        #[arg(long, short)]
        environment: String,
        #[arg(long)]
        no_wait: bool,
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
pub(super) fn value_from_stdin() -> anyhow::Result<String> {
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
        EnvCommand::Pull { venture, environment, file, yes } => {
            let id = api.require_venture(&venture).await?;
            let path = format!("/api/v1/ventures/{id}/environments/{environment}/pull");
            let pulled = api.call(reqwest::Method::POST, &path, None, None).await?;
            pull_into(&venture, &environment, &file, yes, &pulled)
        }
        EnvCommand::Sync { venture, no_wait } => {
            let id = api.require_venture(&venture).await?;
            let job = api.call(reqwest::Method::POST, &format!("/api/v1/ventures/{id}/sync-env"), None, None).await?;
            follow_job(&api, &id, job["job_id"].as_str().unwrap_or_default(), no_wait).await
        }
        EnvCommand::Redeploy { venture, environment, no_wait } => {
            let id = api.require_venture(&venture).await?;
            let path = format!("/api/v1/ventures/{id}/environments/{environment}/redeploy");
            let job = api.call(reqwest::Method::POST, &path, None, None).await?;
            follow_job(&api, &id, job["job_id"].as_str().unwrap_or_default(), no_wait).await
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

/// Merges a pull's values into `file`: shows what changes (plain values old and new, secrets
/// by name only), asks unless `yes`, then replaces the file in one rename, owner-only.
fn pull_into(venture: &str, environment: &str, file: &Path, yes: bool, pulled: &Value) -> anyhow::Result<()> {
    let existing = match std::fs::read_to_string(file) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e).with_context(|| format!("reading {}", file.display())),
    };
    let variables: Vec<&Value> = pulled["variables"].as_array().into_iter().flatten().collect();
    let secret = |key: &str| variables.iter().any(|v| v["key"] == key && v["secret"] == true);
    let updates: Vec<Update> = variables
        .iter()
        .filter_map(|v| {
            Some(Update {
                key: v["key"].as_str()?.to_string(),
                value: v["value"].as_str()?.to_string(),
                description: v["description"].as_str().unwrap_or_default().to_string(),
            })
        })
        .collect();
    let header = format!("added by `slipway env pull {venture} --environment {environment}`");
    let merged = dotenv::merge(&existing, &updates, &header);

    let mut unchanged = 0;
    for change in &merged.changes {
        let key = change.key();
        match change {
            Change::Added { .. } if secret(key) => eprintln!("  + {key} (secret)"),
            Change::Added { .. } => {
                let new = updates.iter().find(|u| u.key == key).map(|u| u.value.as_str()).unwrap_or_default();
                eprintln!("  + {key} = {}", shown(new));
            }
            Change::Changed { .. } if secret(key) => eprintln!("  ~ {key} (secret; value changed)"),
            Change::Changed { old, .. } => {
                let new = updates.iter().find(|u| u.key == key).map(|u| u.value.as_str()).unwrap_or_default();
                eprintln!("  ~ {key}: {} -> {}", shown(old), shown(new));
            }
            Change::Unchanged { .. } => unchanged += 1,
            Change::Unwritable { .. } => {
                eprintln!("  ! {key}: no dotenv quoting holds its value; the file keeps what it had")
            }
        }
    }
    for held in variables.iter().filter(|v| v["value"].is_null()) {
        eprintln!(
            "  - {}: not written ({})",
            held["key"].as_str().unwrap_or("?"),
            held["withheld"].as_str().unwrap_or("held back")
        );
    }
    let managed: std::collections::BTreeSet<&str> = variables.iter().filter_map(|v| v["key"].as_str()).collect();
    let local_only = dotenv::keys(&existing).into_iter().filter(|k| !managed.contains(k.as_str())).count();
    if local_only > 0 {
        eprintln!("  {local_only} key(s) of your own in {} are kept as they are", file.display());
    }
    if !merged.changes_anything() {
        println!("{} is up to date ({unchanged} values unchanged)", file.display());
        return Ok(());
    }
    if !yes {
        if !std::io::stdin().is_terminal() {
            bail!("not written: pass --yes to write these changes to {} without asking", file.display());
        }
        eprint!("Write these changes to {}? [y/N] ", file.display());
        std::io::stderr().flush().ok();
        let mut answer = String::new();
        std::io::stdin().read_line(&mut answer).context("reading the answer")?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            bail!("not written");
        }
    }
    let was_shared = std::fs::metadata(file).is_ok_and(|m| m.permissions().mode() & 0o077 != 0);
    write_owner_only(file, &merged.text)?;
    if was_shared {
        eprintln!("{} was readable by others; it is owner-only (0600) now", file.display());
    }
    let (added, changed) = merged.changes.iter().fold((0, 0), |(a, c), change| match change {
        Change::Added { .. } => (a + 1, c),
        Change::Changed { .. } => (a, c + 1),
        _ => (a, c),
    });
    println!("wrote {}: {added} added, {changed} changed, {unchanged} unchanged", file.display());
    Ok(())
}

/// A plain value as the diff prints it: quoted, line breaks escaped, long ones cut.
fn shown(value: &str) -> String {
    let mut text: String = value.chars().take(60).collect();
    if value.chars().count() > 60 {
        text.push('…');
    }
    format!("{text:?}")
}

/// Writes `text` to `file` through a temporary file beside it, created 0600, then renamed over
/// it: a reader sees the old file or the new one, never half of one, and never a moment in
/// which others may read it.
fn write_owner_only(file: &Path, text: &str) -> anyhow::Result<()> {
    let dir = file.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = file.file_name().context("the file needs a name")?.to_string_lossy();
    // `.env.local.slipway-…tmp`: still under the `.env*` a Next.js .gitignore ignores.
    let temporary = dir.join(format!("{name}.slipway-{}.tmp", std::process::id()));
    let written = (|| {
        let mut out = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&temporary)?;
        out.write_all(text.as_bytes())?;
        out.sync_all()?;
        std::fs::rename(&temporary, file)
    })();
    if written.is_err() {
        std::fs::remove_file(&temporary).ok();
    }
    written.with_context(|| format!("writing {}", file.display()))
}

/// Prints the job's log lines as they come until it succeeds (or fails: an error).
pub(super) async fn follow_job(api: &Api, venture: &str, job: &str, no_wait: bool) -> anyhow::Result<()> {
    if no_wait {
        println!("queued {job}");
        return Ok(());
    }
    let mut after = 0;
    loop {
        let state =
            api.call(reqwest::Method::GET, &format!("/api/v1/ventures/{venture}/jobs/{job}"), None, None).await?;
        loop {
            let path = format!("/api/v1/ventures/{venture}/events?after={after}&limit=500");
            let page = api.call(reqwest::Method::GET, &path, None, None).await?;
            for event in page["events"].as_array().into_iter().flatten().filter(|e| e["job_id"] == job) {
                println!(
                    "{:<5} {}",
                    event["level"].as_str().unwrap_or("?").to_uppercase(),
                    event["message"].as_str().unwrap_or("")
                );
            }
            let next = page["next_after"].as_i64().unwrap_or(after);
            if next == after {
                break;
            }
            after = next;
        }
        match state["status"].as_str() {
            Some("succeeded") => return Ok(()),
            Some("failed") => bail!("{}", state["error"].as_str().unwrap_or("the job failed")),
            _ => tokio::time::sleep(std::time::Duration::from_millis(500)).await,
        }
    }
}
