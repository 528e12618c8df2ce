//! `slipway connections`: whether each platform's token works, as the server last checked it
//! (`--check`: checked now, once every 30 s per user). Exits non-zero when one is not connected,
//! so a monitor or a deploy script can rely on it.

use super::{Api, ServerArgs, print_json, text};

pub async fn run(server: ServerArgs, check: bool, json: bool) -> anyhow::Result<()> {
    let api = Api::new(server);
    let report = if check {
        api.call(reqwest::Method::POST, "/api/v1/connections/check", None, None).await?
    } else {
        api.call(reqwest::Method::GET, "/api/v1/connections", None, None).await?
    };
    let connections = report["connections"].as_array().cloned().unwrap_or_default();
    if json {
        print_json(&report);
    } else {
        match report["age_seconds"].as_i64() {
            Some(age) => println!(
                "checked {age} s ago{}",
                if report["checking"] == true { " (a check is under way)" } else { "" }
            ),
            None => println!("not checked yet (the server checks at start and every minute; --check asks now)"),
        }
        for connection in &connections {
            let mark = if connection["connected"] == true { "✓" } else { "✗" };
            println!(
                "{mark} {:<10} {}  {}",
                text(&connection["platform"]),
                text(&connection["detail"]),
                text(&connection["base_url"])
            );
        }
    }
    let failing: Vec<String> =
        connections.iter().filter(|c| c["connected"] != true).map(|c| text(&c["platform"]).to_string()).collect();
    if !failing.is_empty() {
        anyhow::bail!("not connected: {}", failing.join(", "));
    }
    Ok(())
}
