//! The real server binary, killed with SIGKILL at random moments of its applies ten times over
//! (and at each phase boundary of a secret rotation), then left to finish: every venture converges to ready with exactly one project on each
//! platform, none orphaned, and every sealed secret still opens and matches what the platforms
//! were given.
//!
//! The simulated platforms run in this test process, so they outlive every kill, and the server
//! reaches them as it would reach the real APIs (tokens and base URLs, not sandbox mode).

use std::collections::{BTreeMap, BTreeSet};
use std::process::Stdio;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use slipway_engine::auth::Role;
use slipway_engine::{Engine, EngineConfig, VaultSettings};
use slipway_sim::faults::FaultPlan;
use slipway_sim::{SANDBOX_ORGANIZATION, Sandbox, SandboxConfig};
use tokio::process::{Child, Command};

const PLATFORM_TOKEN: &str = "crash-test-platform-token";
const ADMIN_PASSWORD: &str = "a long crash-test password";

struct Setup {
    sims: Sandbox,
    dir: tempfile::TempDir,
    master_key: SecretString,
    addr: String,
}

impl Setup {
    async fn new(settings: &SandboxConfig) -> Setup {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let setup = Setup {
            sims: Sandbox::start(settings, PLATFORM_TOKEN).await.unwrap(),
            dir: tempfile::tempdir().unwrap(),
            master_key: slipway_engine::vault::generate_key(),
            addr: format!("127.0.0.1:{port}"),
        };
        std::fs::write(setup.dir.path().join("edge-ca.pem"), setup.sims.edge.ca_pem()).unwrap();
        setup
    }

    fn command(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_slipway"));
        command
            .env("SLIPWAY_DATA_DIR", self.dir.path())
            .env("SLIPWAY_ADDR", &self.addr)
            .env("SLIPWAY_MASTER_KEY", self.master_key.expose_secret())
            .env("SLIPWAY_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("SLIPWAY_JOB_LEASE_SECS", "3")
            // HTTPS checks (a new deployment's health) reach the simulated edge through the
            // simulated DNS, as they would reach Vercel's through the public one.
            .env("SLIPWAY_DNS_RESOLVERS", self.sims.dns.address().to_string())
            .env("SLIPWAY_HTTPS_PORT", self.sims.edge.address().port().to_string())
            .env("SLIPWAY_HTTPS_EXTRA_CA", self.dir.path().join("edge-ca.pem"))
            .env("VERCEL_TOKEN", PLATFORM_TOKEN)
            .env("VERCEL_API_URL", self.sims.vercel.base_url())
            .env("SUPABASE_ACCESS_TOKEN", PLATFORM_TOKEN)
            .env("SUPABASE_API_URL", self.sims.supabase.base_url())
            .env("SUPABASE_ORGANIZATION", SANDBOX_ORGANIZATION)
            .env("RUST_LOG", "warn")
            .env_remove("DATABASE_URL")
            .env_remove("CLOUDFLARE_API_TOKEN")
            .stdin(Stdio::null())
            .kill_on_drop(true);
        command
    }

    /// Starts `slipway serve` and waits until it answers.
    async fn start(&self) -> Child {
        let server = self.command().arg("serve").stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
        let client = reqwest::Client::new();
        for _ in 0..200 {
            if client.get(format!("http://{}/api/v1/connections", self.addr)).send().await.is_ok() {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the server did not start");
    }
}

/// A small deterministic generator, so a failing run can be replayed.
struct Moments(u64);

impl Moments {
    fn next_ms(&mut self, below: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) % below
    }
}

async fn create(client: &reqwest::Client, setup: &Setup, token: &str, name: &str) -> bool {
    let sent = client
        .post(format!("http://{}/api/v1/ventures", setup.addr))
        .bearer_auth(token)
        .header("Idempotency-Key", format!("create-{name}"))
        .json(&json!({ "name": name, "repository": format!("acme/{name}") }))
        .timeout(Duration::from_secs(5))
        .send()
        .await;
    matches!(sent, Ok(response) if response.status().is_success())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_sigkills_at_random_moments_leave_no_duplicate_and_no_lost_secret() {
    let settings = SandboxConfig {
        faults: FaultPlan { latency: Duration::from_millis(120), ..FaultPlan::default() },
        supabase_ready_after: Duration::from_millis(1500),
        vercel_build_time: Duration::from_millis(800),
        ..SandboxConfig::default()
    };
    let setup = Setup::new(&settings).await;

    // The first start creates the admin; its API token comes from the command line.
    let mut server = setup.start().await;
    let output = setup
        .command()
        .args(["token", "create", "--username", "admin", "--name", "crash", "--role", "admin"])
        .output()
        .await
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let token = String::from_utf8(output.stdout).unwrap().trim().to_string();

    let client = reqwest::Client::new();
    let mut moments = Moments(20261128);
    let mut wanted: Vec<String> = Vec::new();
    let mut unconfirmed: Vec<String> = Vec::new();
    for round in 0..10 {
        // A new venture each round (two in the first); a create the last kill cut off is sent
        // again with its Idempotency-Key, as a client would.
        let mut names = std::mem::take(&mut unconfirmed);
        names.push(format!("crash-{round}"));
        if round == 0 {
            names.push("crash-extra".into());
        }
        for name in names {
            if !wanted.contains(&name) {
                wanted.push(name.clone());
            }
            if !create(&client, &setup, &token, &name).await {
                unconfirmed.push(name);
            }
        }
        tokio::time::sleep(Duration::from_millis(200 + moments.next_ms(3000))).await;
        server.start_kill().unwrap(); // SIGKILL
        server.wait().await.unwrap();
        server = setup.start().await;
    }
    for name in std::mem::take(&mut unconfirmed) {
        assert!(create(&client, &setup, &token, &name).await, "{name} is created once the server stays up");
    }

    // Left alone, everything converges.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(180);
    let ventures = loop {
        let list: Value = client
            .get(format!("http://{}/api/v1/ventures", setup.addr))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let ventures = list["ventures"].as_array().cloned().unwrap_or_default();
        if ventures.len() == wanted.len() && ventures.iter().all(|v| v["status"] != "provisioning") {
            break ventures;
        }
        assert!(tokio::time::Instant::now() < deadline, "not converged: {list:#}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    server.start_kill().unwrap();
    server.wait().await.unwrap();
    for venture in &ventures {
        assert_eq!(venture["status"], "ready", "{venture:#}");
    }
    let expected: BTreeSet<String> = wanted.iter().cloned().collect();
    let names = |projects: Vec<Value>| -> Vec<String> {
        let mut names: Vec<String> = projects.iter().map(|p| p["name"].as_str().unwrap().to_string()).collect();
        names.sort();
        names
    };
    assert_eq!(names(setup.sims.vercel.projects()), Vec::from_iter(expected.clone()), "one Vercel project each");
    // Each venture has staging (the default), so its previews get a database of their own.
    let with_staging: BTreeSet<String> = expected.iter().flat_map(|n| [n.clone(), format!("{n}-staging")]).collect();
    assert_eq!(names(setup.sims.supabase.projects()), Vec::from_iter(with_staging), "two Supabase projects each");

    // No lost secret: the store opens with the same master key, and the password it sealed is
    // the one each Supabase project was created with and the one Vercel was given.
    let created_with: BTreeMap<String, String> = setup
        .sims
        .supabase
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path == "/v1/projects" && r.status == 201)
        .map(|r| {
            let reference = r.response.as_ref().unwrap()["ref"].as_str().unwrap().to_string();
            (reference, r.body.as_ref().unwrap()["db_pass"].as_str().unwrap().to_string())
        })
        .collect();
    let platforms = slipway_app::sandbox::platforms(&setup.sims, &SecretString::from(PLATFORM_TOKEN));
    let db = format!("sqlite://{}/slipway.db", setup.dir.path().display());
    let vault = VaultSettings::Key { current: setup.master_key.clone(), previous: vec![] };
    let engine = Engine::open(EngineConfig::new(db, platforms, vault)).await.unwrap();
    let admin = engine.create_user_unchecked("auditor", &SecretString::from(ADMIN_PASSWORD), Role::Admin).await;
    let admin = admin.unwrap();
    let (mut resumed, mut adopted) = (0, 0);
    for venture in &ventures {
        let id = venture["id"].as_str().unwrap();
        let log = engine.venture_events(&admin, id, 0, 1000).await.unwrap();
        resumed += log.iter().filter(|e| e.message.starts_with("Resuming")).count();
        adopted += log.iter().filter(|e| e.message.starts_with("Adopting")).count();
        let resources = engine.venture_resources(&admin, id).await.unwrap();
        let project = |kind: &str| resources.iter().find(|(k, _)| k == kind).unwrap().1.external_id.clone().unwrap();
        let in_vercel: Vec<Value> = setup.sims.vercel.env_vars(&project("vercel_project"));
        for (kind, sealed, target) in [
            ("supabase_project", "SUPABASE_DB_PASSWORD", "production"),
            ("supabase_staging_project", "staging/SUPABASE_DB_PASSWORD", "preview"),
        ] {
            let password = engine.reveal_secret(&admin, id, sealed).await.unwrap();
            let created = created_with.get(&project(kind)).map(String::as_str);
            assert_eq!(Some(password.expose_secret()), created, "{kind} of {venture}");
            let pooled = in_vercel
                .iter()
                .find(|v| v["key"] == "POSTGRES_PASSWORD" && v["target"][0] == target)
                .expect("POSTGRES_PASSWORD");
            assert_eq!(pooled["value"].as_str(), Some(password.expose_secret()), "{target} of {venture}");
        }
        for name in engine.secret_names(&admin, id).await.unwrap() {
            engine.reveal_secret(&admin, id, &name).await.unwrap_or_else(|e| panic!("{name} of {venture}: {e}"));
        }
    }
    eprintln!("{} ventures; {resumed} applies resumed after a kill; {adopted} resources adopted", ventures.len());
    assert!(resumed >= 5, "the kills interrupted applies ({resumed} resumed)");
}

/// A venture's rotations as the server reports them.
async fn rotations(client: &reqwest::Client, setup: &Setup, token: &str, id: &str) -> Vec<Value> {
    let answer = client
        .get(format!("http://{}/api/v1/ventures/{id}/rotations", setup.addr))
        .bearer_auth(token)
        .timeout(Duration::from_secs(5))
        .send()
        .await;
    match answer {
        Ok(response) if response.status().is_success() => {
            response.json::<Value>().await.unwrap()["rotations"].as_array().cloned().unwrap_or_default()
        }
        _ => Vec::new(),
    }
}

/// The secret API keys of a Supabase project: (id, value).
fn secret_keys(sims: &Sandbox, reference: &str) -> Vec<(String, String)> {
    let keys = sims.supabase.api_keys(reference);
    keys.iter()
        .filter(|k| k["type"] == "secret")
        .map(|k| (k["id"].as_str().unwrap().to_string(), k["api_key"].as_str().unwrap().to_string()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotation_sigkilled_at_each_phase_boundary_converges_and_retires_the_old_key_only_after_the_new_is_live() {
    let settings = SandboxConfig {
        faults: FaultPlan { latency: Duration::from_millis(150), ..FaultPlan::default() },
        supabase_ready_after: Duration::from_millis(500),
        vercel_build_time: Duration::from_millis(1200),
        ..SandboxConfig::default()
    };
    let setup = Setup::new(&settings).await;
    let mut server = setup.start().await;
    let output = setup
        .command()
        .args(["token", "create", "--username", "admin", "--name", "rotation", "--role", "admin"])
        .output()
        .await
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let token = String::from_utf8(output.stdout).unwrap().trim().to_string();
    let client = reqwest::Client::new();
    assert!(create(&client, &setup, &token, "killed-rotation").await);
    let venture = loop {
        let list: Value = client
            .get(format!("http://{}/api/v1/ventures", setup.addr))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let venture = list["ventures"][0].clone();
        if venture["status"] == "ready" {
            break venture;
        }
        assert_ne!(venture["status"], "failed", "{venture}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let id = venture["id"].as_str().unwrap().to_string();
    let references: Vec<String> =
        setup.sims.supabase.projects().iter().map(|p| p["ref"].as_str().unwrap().to_string()).collect();
    assert_eq!(references.len(), 2, "production and staging");

    let order = ["pending", "set", "deployed", "tested", "finished"];
    let rank = |phase: &str| order.iter().position(|p| *p == phase).unwrap_or(order.len());
    for kill_at in ["pending", "set", "deployed", "tested"] {
        let old: Vec<Vec<(String, String)>> = references.iter().map(|r| secret_keys(&setup.sims, r)).collect();
        let queued = client
            .post(format!("http://{}/api/v1/ventures/{id}/secrets/SUPABASE_SECRET_KEY/rotate", setup.addr))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(queued.status(), 202, "{}", queued.text().await.unwrap());
        let rotation: Value = queued.json().await.unwrap();
        // SIGKILL as soon as the server records the phase (for pending: once the keys are made).
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        let reached = loop {
            let newest = rotations(&client, &setup, &token, &id).await.into_iter().next().unwrap_or_default();
            let phase = newest["phase"].as_str().unwrap_or("pending").to_string();
            let keys_made = references.iter().all(|r| secret_keys(&setup.sims, r).len() == 2);
            if rank(&phase) > rank(kill_at) || (phase == kill_at && (kill_at != "pending" || keys_made)) {
                break phase;
            }
            assert!(tokio::time::Instant::now() < deadline, "the rotation never reached {kill_at}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        server.start_kill().unwrap(); // SIGKILL
        server.wait().await.unwrap();
        if rank(&reached) < rank("tested") {
            for (reference, before) in references.iter().zip(&old) {
                let live = secret_keys(&setup.sims, reference);
                assert!(live.iter().any(|k| k.0 == before[0].0), "the old key was retired early ({reached})");
            }
        }
        server = setup.start().await;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
        let ended = loop {
            let newest = rotations(&client, &setup, &token, &id).await.into_iter().next().unwrap_or_default();
            if newest["outcome"].as_str().is_some_and(|o| o != "running") {
                break newest;
            }
            assert!(tokio::time::Instant::now() < deadline, "the rotation did not end after the kill at {kill_at}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        assert_eq!(ended["id"], rotation["id"]);
        assert_eq!(ended["outcome"], "succeeded", "killed at {kill_at} ({reached}): {ended:#}");
        let vercel = setup.sims.vercel.env_vars(venture["vercel_project_id"].as_str().unwrap());
        for (index, (reference, before)) in references.iter().zip(&old).enumerate() {
            let live = secret_keys(&setup.sims, reference);
            assert_eq!(live.len(), 1, "one key left, made once (killed at {kill_at}): {live:?}");
            assert_ne!(live[0].0, before[0].0, "the old key is retired (killed at {kill_at})");
            // Vercel holds the live key: production's in production, staging's in staging.
            let custom = |v: &&Value| v["customEnvironmentIds"].as_array().is_some_and(|c| !c.is_empty());
            let production = |v: &&Value| v["target"].as_array().is_some_and(|t| t.iter().any(|t| t == "production"));
            let held = vercel
                .iter()
                .filter(|v| v["key"] == "SUPABASE_SECRET_KEY")
                .find(|v| if index == 0 { production(v) } else { custom(v) })
                .and_then(|v| v["value"].as_str());
            assert_eq!(held, Some(live[0].1.as_str()), "killed at {kill_at}");
        }
    }
    server.start_kill().unwrap();
    server.wait().await.unwrap();

    // Every sealed value still opens with the master key, and none of the rotation's own copies is left.
    let platforms = slipway_app::sandbox::platforms(&setup.sims, &SecretString::from(PLATFORM_TOKEN));
    let db = format!("sqlite://{}/slipway.db", setup.dir.path().display());
    let vault = VaultSettings::Key { current: setup.master_key.clone(), previous: vec![] };
    let engine = Engine::open(EngineConfig::new(db, platforms, vault)).await.unwrap();
    let admin = engine.create_user_unchecked("auditor", &SecretString::from(ADMIN_PASSWORD), Role::Admin).await;
    let admin = admin.unwrap();
    let names = engine.secret_names(&admin, &id).await.unwrap();
    assert!(!names.iter().any(|n| n.starts_with("rotation/")), "{names:?}");
    for name in names {
        engine.reveal_secret(&admin, &id, &name).await.unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    assert_eq!(engine.rotations(&admin, &id, None).await.unwrap().len(), 4);
}
