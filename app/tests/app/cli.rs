//! `slipway venture …` against a running server: plan, apply with progress, status, logs and
//! destroy, as a person or a CI job would run them.

use super::common;

use leptos::config::LeptosOptions;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use slipway_app::server::{AppState, router};
use slipway_engine::auth::Role;

struct Server {
    url: String,
    token: String,
    /// An admin's (ada's).
    admin_token: String,
    _dir: tempfile::TempDir,
    _sims: slipway_sim::Sandbox,
}

async fn server() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let started = common::fast_sandbox_engine(&dir).await;
    serve(dir, started).await
}

async fn serve(dir: tempfile::TempDir, (engine, sims): (slipway_engine::Engine, slipway_sim::Sandbox)) -> Server {
    engine.create_user_unchecked("casey", &SecretString::from("a password long enough"), Role::Creator).await.unwrap();
    let token = engine.create_api_token_unchecked("casey", "ci", Role::Creator).await.unwrap();
    engine.create_user_unchecked("ada", &SecretString::from("an admin's long password"), Role::Admin).await.unwrap();
    let admin_token = engine.create_api_token_unchecked("ada", "ops", Role::Admin).await.unwrap();
    let _runner = engine.start_runner();
    let options = LeptosOptions::builder().output_name("slipway").site_root("target/site").site_pkg_dir("pkg").build();
    let app = router(AppState { engine, served_over_https: false }, options);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let admin_token = admin_token.expose_secret().to_string();
    Server { url, token: token.expose_secret().to_string(), admin_token, _dir: dir, _sims: sims }
}

/// Runs `slipway venture <args>`; returns (success, stdout, stderr).
async fn slipway(server: &Server, args: &[&str]) -> (bool, String, String) {
    run(server, "venture", args, "").await
}

/// Runs `slipway <command> <args>` against the server with `stdin` piped in; returns
/// (success, stdout, stderr).
async fn run(server: &Server, command: &str, args: &[&str], stdin: &str) -> (bool, String, String) {
    run_as(server, &server.token, command, args, stdin).await
}

/// The same with another API token.
async fn run_as(server: &Server, token: &str, command: &str, args: &[&str], stdin: &str) -> (bool, String, String) {
    use tokio::io::AsyncWriteExt;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_slipway"))
        .arg(command)
        .args(args)
        .env("SLIPWAY_SERVER", &server.url)
        .env("SLIPWAY_TOKEN", token)
        .env_remove("VERCEL_TOKEN")
        .env_remove("SUPABASE_ACCESS_TOKEN")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.as_bytes()).await.unwrap();
    drop(input);
    let output = child.wait_with_output().await.unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_venture_is_planned_applied_followed_and_destroyed_from_the_command_line() {
    let server = server().await;
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("venture.toml");
    std::fs::write(
        &spec,
        "name = \"cli-shop\"\nrepository = \"acme/cli-shop\"\n\n[supabase]\nregion = \"eu-west-1\"\n\n[environments.staging]\nbranch = \"next\"\n",
    )
    .unwrap();
    let file = spec.to_str().unwrap();

    let (ok, out, err) = slipway(&server, &["plan", "-f", file, "--json"]).await;
    assert!(ok, "{err}");
    let plan: Value = serde_json::from_str(&out).unwrap();
    // Everything is made but row-level security and the domain, for which the spec names
    // no table and no domain.
    let rls = |a: &&Value| {
        let resource = a["resource"].as_str().unwrap();
        resource.ends_with("row-level security") || resource == "Custom domains" || resource == "DNS records"
    };
    let actions = plan["actions"].as_array().unwrap();
    assert!(actions.iter().filter(|a| !rls(a)).all(|a| a["action"] == "create"), "{plan}");
    assert!(actions.iter().filter(rls).all(|a| a["action"] == "no_change"), "{plan}");

    let (ok, out, err) = slipway(&server, &["apply", "-f", file]).await;
    assert!(ok, "{out}{err}");
    assert!(out.contains("[#################] 17/17 ready"), "progress ends complete: {out}");

    let (ok, out, _) = slipway(&server, &["status", "cli-shop", "--json"]).await;
    assert!(ok);
    let status: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(status["venture"]["status"], "ready");
    assert_eq!(status["resources"]["supabase_project"]["data"]["region"], "eu-west-1");

    let (ok, out, _) = slipway(&server, &["logs", "cli-shop"]).await;
    assert!(ok && out.contains("Production is live"), "{out}");

    // Applying the same file again changes nothing, and the plan says so first.
    let (_, out, _) = slipway(&server, &["plan", "-f", file]).await;
    assert_eq!(out.lines().filter(|l| l.starts_with("no change")).count(), 12, "{out}");
    let (ok, out, err) = slipway(&server, &["apply", "-f", file, "--json"]).await;
    assert!(ok, "{err}");
    assert_eq!(serde_json::from_str::<Value>(&out).unwrap()["venture"]["status"], "ready");

    let (ok, _, err) = slipway(&server, &["destroy", "cli-shop", "--confirm", "wrong"]).await;
    assert!(!ok && err.contains("confirm: must repeat the venture's name"), "{err}");
    let (ok, out, err) = slipway(&server, &["destroy", "cli-shop", "--confirm", "cli-shop"]).await;
    assert!(ok, "{out}{err}");
    assert!(out.contains("destroyed"), "{out}");

    // A spec with a typo is refused before anything is sent, naming the key.
    std::fs::write(&spec, "name = \"x\"\nrepository = \"acme/x\"\nregoin = \"emea\"\n").unwrap();
    let (ok, _, err) = slipway(&server, &["apply", "-f", file]).await;
    assert!(!ok && err.contains("regoin"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_waits_for_its_secret_from_stdin_and_the_next_apply_turns_it_on() {
    let server = server().await;
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("venture.toml");
    std::fs::write(
        &spec,
        "name = \"auth-cli\"\nrepository = \"acme/auth-cli\"\n\n[auth.github]\nclient_id = \"Iv1.production\"\nstaging_client_id = \"Iv1.staging\"\n",
    )
    .unwrap();
    let file = spec.to_str().unwrap();
    let (ok, out, err) = slipway(&server, &["apply", "-f", file]).await;
    assert!(ok, "{out}{err}");
    let (ok, out, _) = run(&server, "auth", &["show", "auth-cli"], "").await;
    assert!(ok && out.contains("github        waiting for its client secret, client Iv1.production"), "{out}");
    let (_, out, _) = slipway(&server, &["plan", "-f", file]).await;
    let warned = out
        .lines()
        .any(|l| l.starts_with("WARNING") && l.contains("GitHub sign-in stays off until its client secret is set"));
    assert!(warned, "{out}");

    let (ok, _, err) = run(&server, "auth", &["secret", "auth-cli", "gitlab"], "s3cret").await;
    assert!(!ok && err.contains("provider: must be one of google, github, microsoft"), "{err}");
    let (ok, out, err) = run(&server, "auth", &["secret", "auth-cli", "github"], "gh-cli-production\n").await;
    assert!(ok && !out.contains("gh-cli-production"), "{out}{err}");
    let (ok, _, err) = run(&server, "auth", &["secret", "auth-cli", "github", "--staging"], "gh-cli-staging").await;
    assert!(ok, "{err}");
    let (_, out, _) = slipway(&server, &["plan", "-f", file]).await;
    assert!(out.contains("GitHub on, client id, client secret"), "{out}");
    let (ok, out, err) = slipway(&server, &["apply", "-f", file]).await;
    assert!(ok, "{out}{err}");
    let (ok, out, _) = run(&server, "auth", &["show", "auth-cli"], "").await;
    assert!(ok, "{out}");
    assert!(out.contains("github        on, client Iv1.production (production app)"), "{out}");
    assert!(out.contains("github        on, client Iv1.staging (staging app)"), "{out}");
    assert!(out.contains(".supabase.co/auth/v1/callback") && out.contains("http://localhost:3000/**"), "{out}");
    assert!(!out.contains("gh-cli"), "no secret is shown: {out}");
}

/// Runs `slipway env <args>` with `stdin` piped in.
async fn slipway_env(server: &Server, args: &[&str], stdin: &str) -> (bool, String, String) {
    run(server, "env", args, stdin).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn variables_are_declared_in_the_spec_and_set_from_stdin_never_from_a_flag() {
    let server = server().await;
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("venture.toml");
    std::fs::write(
        &spec,
        "name = \"env-cli\"\nrepository = \"acme/env-cli\"\n\n[env.STRIPE_SECRET_KEY]\ndescription = \"Stripe API key\"\nsecret = true\n",
    )
    .unwrap();
    let (ok, _, err) = slipway(&server, &["apply", "-f", spec.to_str().unwrap(), "--no-wait"]).await;
    assert!(ok, "{err}");

    let (ok, out, err) = slipway_env(
        &server,
        &["set", "env-cli", "STRIPE_SECRET_KEY", "-e", "production", "-e", "preview"],
        "sk_live_cli\n",
    )
    .await;
    assert!(ok, "{err}");
    assert!(out.contains("set for production, preview") && !out.contains("sk_live_cli"), "{out}");
    let (ok, _, err) = slipway_env(&server, &["set", "env-cli", "NEW_FLAG", "-e", "production"], "on").await;
    assert!(!ok && err.contains("description: is required"), "{err}");
    let (ok, _, err) =
        slipway_env(&server, &["set", "env-cli", "STRIPE_SECRET_KEY", "--value", "x", "-e", "production"], "").await;
    assert!(!ok && err.contains("--value"), "no flag takes a value: {err}");

    let (ok, out, _) = slipway_env(&server, &["list", "env-cli"], "").await;
    assert!(ok && out.contains("STRIPE_SECRET_KEY") && out.contains("user") && !out.contains("sk_live_cli"), "{out}");
    let example = dir.path().join(".env.example");
    let (ok, _, err) = slipway_env(&server, &["example", "env-cli", "--file", example.to_str().unwrap()], "").await;
    assert!(ok, "{err}");
    let text = std::fs::read_to_string(&example).unwrap();
    assert!(text.contains("# Stripe API key (secret)\nSTRIPE_SECRET_KEY=\n"), "{text}");
    let (ok, _, err) = slipway_env(&server, &["reveal", "env-cli", "STRIPE_SECRET_KEY", "-e", "production"], "").await;
    assert!(!ok && err.contains("may not reveal values"), "creators do not reveal: {err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn env_pull_merges_into_a_local_file_keeping_its_own_keys_and_comments() {
    use std::os::unix::fs::PermissionsExt;
    let server = server().await;
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("venture.toml");
    std::fs::write(
        &spec,
        "name = \"pull-cli\"\nrepository = \"acme/pull-cli\"\n\n\
         [env.STRIPE_SECRET_KEY]\ndescription = \"Stripe API key\"\nsecret = true\n\n\
         [env.FEATURE_CHECKOUT]\ndescription = \"Turns the new checkout on\"\nvalue = \"on\"\n",
    )
    .unwrap();
    let (ok, out, err) = slipway(&server, &["apply", "-f", spec.to_str().unwrap()]).await;
    assert!(ok, "{out}{err}");
    let (ok, _, err) =
        slipway_env(&server, &["set", "pull-cli", "STRIPE_SECRET_KEY", "-e", "development"], "sk_test_pulled").await;
    assert!(ok, "{err}");

    let local = dir.path().join(".env.local");
    let own = "# my own settings\nLOCAL_ONLY=1 # not Slipway's\nFEATURE_CHECKOUT=off\n";
    std::fs::write(&local, own).unwrap();
    std::fs::set_permissions(&local, std::fs::Permissions::from_mode(0o644)).unwrap();
    let file = local.to_str().unwrap();

    // Without --yes and without a terminal, it shows the diff and writes nothing.
    let (ok, _, err) = slipway_env(&server, &["pull", "pull-cli", "--file", file], "").await;
    assert!(!ok && err.contains("pass --yes"), "{err}");
    assert!(err.contains("~ FEATURE_CHECKOUT: \"off\" -> \"on\""), "plain changes show old and new: {err}");
    assert!(err.contains("+ STRIPE_SECRET_KEY (secret)"), "{err}");
    assert!(err.contains("+ SUPABASE_SERVICE_ROLE_KEY (secret)"), "the staging project's, for development: {err}");
    assert!(err.contains("1 key(s) of your own"), "{err}");
    assert!(!err.contains("sk_test_pulled"), "a secret is never printed: {err}");
    assert_eq!(std::fs::read_to_string(&local).unwrap(), own);

    let (ok, out, err) = slipway_env(&server, &["pull", "pull-cli", "--file", file, "--yes"], "").await;
    assert!(ok, "{err}");
    assert!(out.contains("1 changed"), "{out}");
    assert!(err.contains("owner-only (0600) now"), "{err}");
    let text = std::fs::read_to_string(&local).unwrap();
    assert!(
        text.starts_with("# my own settings\nLOCAL_ONLY=1 # not Slipway's\nFEATURE_CHECKOUT='on'\n"),
        "kept in place: {text}"
    );
    assert!(text.contains("# Stripe API key\nSTRIPE_SECRET_KEY='sk_test_pulled'\n"), "{text}");
    assert!(text.contains("NEXT_PUBLIC_SUPABASE_URL='https://"), "{text}");
    assert!(text.contains("SUPABASE_SERVICE_ROLE_KEY='"), "{text}");
    assert_eq!(std::fs::metadata(&local).unwrap().permissions().mode() & 0o777, 0o600);

    let (ok, out, _) = slipway_env(&server, &["pull", "pull-cli", "--file", file], "").await;
    assert!(ok && out.contains("up to date"), "a second pull changes nothing: {out}");

    // A creator's production pull holds the secret back, and a new file is owner-only.
    let production = dir.path().join(".env.production.local");
    let (ok, _, err) = slipway_env(
        &server,
        &["pull", "pull-cli", "-e", "production", "--file", production.to_str().unwrap(), "--yes"],
        "",
    )
    .await;
    assert!(ok, "{err}");
    assert!(err.contains("STRIPE_SECRET_KEY: not written (not set for production)"), "{err}");
    assert!(
        err.contains("SUPABASE_SERVICE_ROLE_KEY: not written (a secret of the production database: only an admin"),
        "{err}"
    );
    assert_eq!(std::fs::metadata(&production).unwrap().permissions().mode() & 0o777, 0o600);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lint_exits_non_zero_while_a_table_is_exposed_and_zero_once_it_is_fixed() {
    let dir = tempfile::tempdir().unwrap();
    let started = common::postgres_sandbox_engine(&dir).await;
    let server = serve(dir, started).await;
    let spec_dir = tempfile::tempdir().unwrap();
    let spec = spec_dir.path().join("venture.toml");
    std::fs::write(
        &spec,
        "name = \"lint-cli\"\nrepository = \"acme/lint-cli\"\n\n[environments.staging]\nenabled = false\n\n\
         [database.tables.notes]\ntemplate = \"owner\"\n",
    )
    .unwrap();
    let (ok, out, err) = slipway(&server, &["apply", "-f", spec.to_str().unwrap()]).await;
    assert!(ok, "{out}{err}");
    let (ok, out, err) = slipway(&server, &["lint", "lint-cli"]).await;
    assert!(ok, "{out}{err}");
    assert!(out.contains("table notes") && out.contains("owner") && out.contains("lint: clean"), "{out}");

    // Someone makes a table at Supabase and forgets RLS: the lint fails, naming it and the fix.
    let (_, out, _) = slipway(&server, &["status", "lint-cli", "--json"]).await;
    let status: Value = serde_json::from_str(&out).unwrap();
    let reference = status["resources"]["supabase_project"]["id"].as_str().unwrap().to_string();
    let query = |sql: &str| {
        let url = format!("{}/v1/projects/{reference}/database/query", server._sims.supabase.base_url());
        let body = serde_json::json!({ "query": sql });
        async move {
            let sent =
                reqwest::Client::new().post(url).bearer_auth(common::sim_token()).json(&body).send().await.unwrap();
            assert!(sent.status().is_success(), "{}", sent.text().await.unwrap());
        }
    };
    query("create table public.orders (id int primary key)").await;
    let (ok, out, err) = slipway(&server, &["lint", "lint-cli"]).await;
    assert!(!ok, "errors exit non-zero: {out}");
    assert!(out.contains("error rls_disabled_in_public on public.orders"), "{out}");
    assert!(out.contains("fix: alter table public.orders enable row level security"), "{out}");
    assert!(err.contains("the linter found 1 error(s) in lint-cli's databases"), "{err}");
    let (_, out, _) = slipway(&server, &["status", "lint-cli"]).await;
    assert!(out.contains("needs_attention"), "{out}");

    query("alter table public.orders enable row level security").await;
    let (ok, out, err) = slipway(&server, &["lint", "lint-cli"]).await;
    assert!(ok, "{out}{err}");
    let (_, out, _) = slipway(&server, &["status", "lint-cli"]).await;
    assert!(out.contains(": ready"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dns_doctor_passes_a_live_domain_and_fails_a_stray_aaaa_with_its_fix() {
    let dir = tempfile::tempdir().unwrap();
    let started = common::fast_sandbox_engine_with_sim_token(&dir).await;
    let server = serve(dir, started).await;
    let spec_dir = tempfile::tempdir().unwrap();
    let spec = spec_dir.path().join("venture.toml");
    std::fs::write(
        &spec,
        "name = \"domain-cli\"\nrepository = \"acme/domain-cli\"\n\n[domain]\nname = \"example.com\"\ndns = \"cloudflare\"\n",
    )
    .unwrap();
    let (ok, out, err) = slipway(&server, &["apply", "-f", spec.to_str().unwrap()]).await;
    assert!(ok, "{out}{err}");

    let (ok, out, err) = run(&server, "domain", &["check", "WWW.Example.com."], "").await;
    assert!(ok, "{out}{err}");
    assert!(out.contains("example.com (venture domain-cli, DNS at cloudflare)"), "{out}");
    assert!(out.contains("all clear") && out.contains("checked in"), "{out}");
    assert!(out.contains("✓ https://example.com → 200\n"), "{out}");
    assert!(out.contains("✓ https://www.example.com → 308 https://example.com/\n"), "{out}");

    // Someone adds an AAAA at Cloudflare: visitors on IPv6 would miss Vercel.
    let cloudflare = server._sims.cloudflare.base_url();
    let zone = server._sims.cloudflare.zone_id("example.com").unwrap();
    let sent = reqwest::Client::new()
        .post(format!("{cloudflare}/zones/{zone}/dns_records"))
        .bearer_auth(common::sim_token())
        .json(&serde_json::json!({ "type": "AAAA", "name": "example.com", "content": "2001:db8::1", "ttl": 1 }))
        .send()
        .await
        .unwrap();
    assert!(sent.status().is_success());
    let (ok, out, err) = run(&server, "domain", &["check", "example.com"], "").await;
    assert!(!ok, "an error exits non-zero: {out}");
    assert!(out.contains("ERROR example.com: example.com has AAAA records (2001:db8::1)"), "{out}");
    assert!(out.contains("fix: remove the AAAA records of example.com (at Cloudflare)"), "{out}");
    assert!(err.contains("the DNS doctor found 1 error(s) for example.com"), "{err}");

    let (ok, _, err) = run(&server, "domain", &["check", "my-app.vercel.app"], "").await;
    assert!(!ok && err.contains("vercel.app"), "{err}");
}

/// `slipway user create` run on the server's own machine against `data`, as a fresh install's
/// first command; returns its stderr when it fails.
async fn create_user_in(data: &std::path::Path, username: &str) -> Result<(), String> {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_slipway"))
        .args(["user", "create", "--username", username, "--role", "operator"])
        .env("SLIPWAY_DATA_DIR", data)
        .env("SLIPWAY_PASSWORD", "a password long enough")
        .env("RUST_LOG", "warn")
        .env_remove("DATABASE_URL")
        .env_remove("SLIPWAY_MASTER_KEY")
        .env_remove("VERCEL_TOKEN")
        .env_remove("SUPABASE_ACCESS_TOKEN")
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .unwrap();
    if output.status.success() { Ok(()) } else { Err(String::from_utf8_lossy(&output.stderr).into_owned()) }
}

#[tokio::test]
async fn the_data_directory_the_database_and_the_master_key_are_the_owners_alone() {
    use std::os::unix::fs::PermissionsExt;
    let parent = tempfile::tempdir().unwrap();
    let data = parent.path().join("nested").join("data");
    create_user_in(&data, "dana").await.unwrap();
    let mode = |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&data), 0o700, "the data directory");
    assert_eq!(mode(&data.join("slipway.db")), 0o600, "the database");
    assert_eq!(mode(&data.join("master.key")), 0o600, "the master key");
    for companion in ["slipway.db-wal", "slipway.db-shm"] {
        if data.join(companion).exists() {
            assert_eq!(mode(&data.join(companion)), 0o600, "{companion}");
        }
    }

    // A database an older Slipway left readable by others is narrowed when it is next opened.
    std::fs::set_permissions(data.join("slipway.db"), std::fs::Permissions::from_mode(0o644)).unwrap();
    create_user_in(&data, "eli").await.unwrap();
    assert_eq!(mode(&data.join("slipway.db")), 0o600);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_are_shown_as_last_checked_and_checked_on_demand_from_the_command_line() {
    let server = server().await;
    // No background check runs in this server: nothing is known yet, which is a failure for a monitor.
    let (ok, out, err) = run(&server, "connections", &[], "").await;
    assert!(!ok && out.contains("not checked yet") && err.contains("not connected: Vercel, Supabase"), "{out}{err}");
    let (ok, out, err) = run(&server, "connections", &["--check"], "").await;
    assert!(ok, "{out}{err}");
    let fresh = (0..=5).any(|s| out.contains(&format!("checked {s} s ago")));
    assert!(fresh && out.contains("✓ Vercel") && out.contains("✓ DNS"), "{out}");
    let (ok, out, _) = run(&server, "connections", &["--json"], "").await;
    let report: Value = serde_json::from_str(&out).unwrap();
    assert!(ok && report["checked_at"].as_i64().is_some(), "{report}");
    // A second check so soon: refused by the server, and said so.
    let (ok, _, err) = run(&server, "connections", &["--check"], "").await;
    assert!(!ok && err.contains("once every 30 s per user"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_rotates_the_supabase_secret_key_and_the_history_shows_the_deployments_carrying_it() {
    let server = server().await;
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("venture.toml");
    std::fs::write(&spec, "name = \"cli-rotate\"\nrepository = \"acme/cli-rotate\"\n").unwrap();
    let (ok, out, err) = slipway(&server, &["apply", "-f", spec.to_str().unwrap()]).await;
    assert!(ok, "{out}{err}");
    let (ok, out, _) = run(&server, "secret", &["history", "cli-rotate"], "").await;
    assert!(ok && out.contains("No rotation yet"), "{out}");

    // A creator may not; a secret the venture does not have is not found.
    let (ok, _, err) = run(&server, "secret", &["rotate", "cli-rotate", "SUPABASE_SECRET_KEY"], "").await;
    assert!(!ok && err.contains("rotate secrets"), "{err}");
    let admin = server.admin_token.clone();
    let (ok, _, err) = run_as(&server, &admin, "secret", &["rotate", "cli-rotate", "STRIPE_KEY"], "").await;
    assert!(!ok && err.contains("rotatable secret not found"), "{err}");

    let (ok, out, err) = run_as(&server, &admin, "secret", &["rotate", "cli-rotate", "SUPABASE_SECRET_KEY"], "").await;
    assert!(ok, "{out}{err}");
    assert!(out.contains("Health check of production") && out.contains("SUPABASE_SECRET_KEY rotated"), "{out}");
    assert!(out.contains("note: ") && out.contains("Instant Rollback"), "{out}");

    let (ok, out, _) = run(&server, "secret", &["history", "cli-rotate", "SUPABASE_SECRET_KEY"], "").await;
    assert!(ok && out.contains("succeeded") && out.contains("by ada"), "{out}");
    assert!(out.contains("built with it: production") && out.contains("built with it: staging"), "{out}");
    assert!(out.contains("replaced: production"), "{out}");
    let (ok, out, _) = run(&server, "secret", &["history", "cli-rotate", "--json"], "").await;
    assert!(ok);
    let history: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(history["rotations"][0]["outcome"], "succeeded");
    assert_eq!(history["rotations"][0]["phase"], "finished");
}
