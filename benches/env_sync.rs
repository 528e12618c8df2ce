//! The env sync's calls and time (a bench binary that prints its figures, not a test):
//!
//! 1. A venture declaring 300 variables of its own (half secret, generated; half plain), staging
//!    off, so 3 targets (development, preview, production), plus the Supabase integration's 15:
//!    its first apply's calls on the project's variables (reads, writes), then a sync with
//!    nothing changed.
//! 2. The same entries written the way the Vercel CLI writes them (`vercel env add`, one call
//!    per variable and target), to a fresh project on the same simulator, same latency, same run
//!    (its rate limit lifted; the floor under Vercel's documented limit is printed beside it).
//!
//! Every simulated call takes `--latency-ms` (default 50). Run: `cargo bench --bench env_sync`.

use std::time::{Duration, Instant};

use secrecy::SecretString;
use slipway_engine::auth::{Role, User};
use slipway_engine::env::EnvDeclaration;
use slipway_engine::platform::vercel::{CreateProjectRequest, VercelClient, VercelConfig};
use slipway_engine::platforms::{PlatformSettings, SandboxEndpoints};
use slipway_engine::venture::{NewVenture, VentureStatus};
use slipway_engine::{Engine, EngineConfig, VaultSettings};
use slipway_sim::faults::FaultPlan;
use slipway_sim::{RecordedRequest, SANDBOX_ORGANIZATION, SANDBOX_TEAM_ID, Sandbox, SandboxConfig};

const TOKEN: &str = "bench-token";
const VARIABLES: usize = 300;

fn latency() -> Duration {
    let args: Vec<String> = std::env::args().collect();
    let ms = args
        .iter()
        .position(|a| a == "--latency-ms")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    Duration::from_millis(ms)
}

/// The calls on a project's variables among `requests`: (reads, writes).
fn env_calls(requests: &[RecordedRequest]) -> (usize, usize) {
    let env: Vec<_> = requests.iter().filter(|r| r.path.contains("/env")).collect();
    let reads = env.iter().filter(|r| r.method == "GET").count();
    (reads, env.len() - reads)
}

fn spec() -> NewVenture {
    let mut spec = NewVenture::new("env-bench", "acme/env-bench");
    spec.environments.staging.enabled = false;
    for i in 0..VARIABLES {
        let secret = i % 2 == 0;
        let declaration = EnvDeclaration {
            description: format!("Bench variable {i}"),
            secret,
            generate: secret.then(|| "random-32".to_string()),
            value: (!secret).then(|| format!("plain-value-{i:04}")),
        };
        spec.env.insert(format!("BENCH_VAR_{i:04}"), declaration);
    }
    spec
}

async fn wait_for_job(engine: &Engine, user: &User, id: &str, job: &str) {
    loop {
        let state = engine.venture_job(user, id, job).await.unwrap();
        match state.status.as_str() {
            "succeeded" => return,
            "failed" => panic!("the job failed: {:?}", state.error),
            _ => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let latency = latency();
    let sims = SandboxConfig {
        faults: FaultPlan { latency, ..FaultPlan::default() },
        supabase_ready_after: Duration::from_millis(200),
        vercel_build_time: Duration::from_millis(200),
        ..SandboxConfig::default()
    };
    let sandbox = Sandbox::start(&sims, TOKEN).await.unwrap();
    let platforms = PlatformSettings::sandbox(SandboxEndpoints {
        vercel: sandbox.vercel.base_url(),
        vercel_team_id: SANDBOX_TEAM_ID.into(),
        supabase: sandbox.supabase.base_url(),
        cloudflare: sandbox.cloudflare.base_url(),
        organization: SANDBOX_ORGANIZATION.into(),
        token: SecretString::from(TOKEN),
        dns: sandbox.dns.address(),
        edge_port: sandbox.edge.address().port(),
        edge_ca: sandbox.edge.ca_pem().to_string(),
    });
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/bench.db?mode=rwc", dir.path().display());
    let mut config = EngineConfig::new(db, platforms, VaultSettings::Ephemeral);
    config.runner.poll_interval = Duration::from_millis(20);
    config.provision.polling.every = Duration::from_millis(100);
    let engine = Engine::open(config).await.unwrap();
    let user =
        engine.create_user_unchecked("bench", &SecretString::from("a bench password"), Role::Creator).await.unwrap();
    let runner = engine.start_runner();

    // 1. Slipway: the first apply, then a sync with nothing to do.
    let venture = engine.create_venture(&user, &spec()).await.unwrap();
    loop {
        let status = engine.venture(&user, &venture.id).await.unwrap().status;
        if status != VentureStatus::Provisioning {
            assert_eq!(status, VentureStatus::Ready);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let first = env_calls(&sandbox.vercel.requests());
    let steps = engine.venture_steps(&user, &venture.id).await.unwrap();
    let env_step = steps.iter().find(|s| s.name == "vercel.env").unwrap();
    let first_ms = env_step.finished_at.unwrap() - env_step.started_at.unwrap();
    let listing = engine.env_listing(&user, &venture.id).await.unwrap();
    let entries: usize = listing.variables.iter().map(|v| v.values.len()).sum();

    let seen = sandbox.vercel.requests().len();
    let started = Instant::now();
    let job = engine.sync_env(&user, &venture.id).await.unwrap();
    wait_for_job(&engine, &user, &venture.id, &job).await;
    let unchanged_ms = started.elapsed().as_millis();
    let unchanged = env_calls(&sandbox.vercel.requests()[seen..]);
    engine.shutdown();
    runner.await.unwrap();

    // 2. The Vercel CLI's way: one call per variable and target, one after another, over plain
    // HTTP. Measured with the simulator's rate limit lifted, so it compares calls at the same
    // latency; under Vercel's documented limit the floor is computed beside it.
    sandbox.vercel.set_rate_limit_per_minute(1_000_000);
    let mut client_config = VercelConfig::new(sandbox.vercel.base_url(), SecretString::from(TOKEN));
    client_config.team_id = Some(SANDBOX_TEAM_ID.into());
    let client = VercelClient::new(client_config).unwrap();
    let request = CreateProjectRequest { name: "env-bench-cli".into(), ..Default::default() };
    let project = client.create_project(&request).await.unwrap();
    let http = reqwest::Client::new();
    let url = format!("{}/v10/projects/{}/env?teamId={SANDBOX_TEAM_ID}", sandbox.vercel.base_url(), project.id);
    let seen = sandbox.vercel.requests().len();
    let started = Instant::now();
    for var in &listing.variables {
        for value in &var.values {
            let environment = value.environment.as_str();
            let sensitive = var.secret && environment != "development";
            let body = serde_json::json!({
                "key": var.key,
                "value": format!("value-of-{}", var.key),
                "type": if sensitive { "sensitive" } else { "encrypted" },
                "target": [environment],
            });
            let answer = http.post(&url).bearer_auth(TOKEN).json(&body).send().await.unwrap();
            assert!(answer.status().is_success(), "{}", answer.text().await.unwrap_or_default());
        }
    }
    let one_by_one_ms = started.elapsed().as_millis();
    let one_by_one = env_calls(&sandbox.vercel.requests()[seen..]);

    println!("env sync, {VARIABLES} variables of the venture's own + 15 of the integration × 3 targets");
    println!("  = {entries} entries; every simulated call takes {} ms", latency.as_millis());
    println!(
        "  Slipway, first sync:      {:>4} reads, {:>4} writes, {:>6} ms (the vercel.env step)",
        first.0, first.1, first_ms
    );
    println!(
        "  Slipway, nothing changed: {:>4} reads, {:>4} writes, {:>6} ms (a whole sync job)",
        unchanged.0, unchanged.1, unchanged_ms
    );
    println!(
        "  one call per variable:    {:>4} reads, {:>4} writes, {:>6} ms (as `vercel env add` does)",
        one_by_one.0, one_by_one.1, one_by_one_ms
    );
    let documented = slipway_sim::vercel::DEFAULT_RATE_LIMIT_PER_MINUTE as f64;
    println!(
        "  one call per variable under Vercel's documented {documented} requests/min per endpoint: at least {:.1} min",
        one_by_one.1 as f64 / documented
    );
    println!("  first sync is {:.0}× faster than one call per variable", one_by_one_ms as f64 / first_ms.max(1) as f64);
}
