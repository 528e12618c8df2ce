//! `slipway audit`: the audit log over the REST API (an admin's token), newest first.

use super::{Api, ServerArgs, print_json, text};

pub async fn run(server: ServerArgs, limit: u32, json: bool) -> anyhow::Result<()> {
    let api = Api::new(server);
    let page = api.call(reqwest::Method::GET, &format!("/api/v1/audit?limit={limit}"), None, None).await?;
    if json {
        print_json(&page);
        return Ok(());
    }
    let entries = page["entries"].as_array().cloned().unwrap_or_default();
    if entries.is_empty() {
        println!("The audit log is empty.");
    }
    for entry in &entries {
        let at = entry["at"].as_i64().map(slipway_engine::time::format_utc).unwrap_or_default();
        println!(
            "{at}  {:<18} {:<16} {}  {}",
            text(&entry["action"]),
            text(&entry["actor"]),
            text(&entry["target"]),
            text(&entry["detail"])
        );
    }
    Ok(())
}
