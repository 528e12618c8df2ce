//! How long checking a domain takes against local servers (a bench binary that prints its
//! figures, not a test): a venture with `example.com` at the sandbox's Cloudflare is applied
//! until ready, then, each `--runs` times (default 20):
//!
//! 1. the DNS doctor on it (`Engine::check_domain`: Vercel's recommendations, the resolver and
//!    the nameservers through real DNS on 127.0.0.1, and HTTPS on both names at the edge);
//! 2. the venture's domain as the Domains tab shows it (`Engine::venture_domain`).
//!
//! Every simulated API call takes `--latency-ms` (default 0). Run:
//! `cargo bench --bench domain_check`.

use std::time::{Duration, Instant};

use secrecy::SecretString;
use slipway_engine::auth::Role;
use slipway_engine::domains::DomainInput;
use slipway_engine::platforms::{PlatformSettings, SandboxEndpoints};
use slipway_engine::venture::{NewVenture, VentureStatus};
use slipway_engine::{Engine, EngineConfig, VaultSettings};
use slipway_sim::faults::FaultPlan;
use slipway_sim::{SANDBOX_ORGANIZATION, SANDBOX_TEAM_ID, Sandbox, SandboxConfig};

const TOKEN: &str = "bench-token";

fn flag(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// `min / median / max` of the samples, in milliseconds.
fn spread(samples: &mut [Duration]) -> String {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    format!("{:.1} / {:.1} / {:.1} ms", ms(samples[0]), ms(samples[samples.len() / 2]), ms(samples[samples.len() - 1]))
}

#[tokio::main]
async fn main() {
    let (runs, latency) = (flag("--runs", 20) as usize, Duration::from_millis(flag("--latency-ms", 0)));
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

    let mut spec = NewVenture::new("domain-bench", "acme/domain-bench");
    spec.domain = Some(DomainInput {
        name: "example.com".into(),
        primary: None,
        dns: "cloudflare".into(),
        staging: None,
        allow_replace: Vec::new(),
    });
    let venture = engine.create_venture(&user, &spec).await.unwrap();
    loop {
        let status = engine.venture(&user, &venture.id).await.unwrap().status;
        if status != VentureStatus::Provisioning {
            assert_eq!(status, VentureStatus::Ready);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let (mut doctor, mut tab, mut dns_only) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        let started = Instant::now();
        let check = engine.check_domain(&user, "example.com").await.unwrap();
        doctor.push(started.elapsed());
        dns_only.push(Duration::from_millis(check.report.elapsed_ms));
        assert!(check.report.findings.is_empty() && check.https.iter().all(|a| a.ok()), "{check:#?}");

        let started = Instant::now();
        let status = engine.venture_domain(&user, &venture.id).await.unwrap().unwrap();
        tab.push(started.elapsed());
        assert!(status.names.iter().all(|n| n.https.as_ref().is_some_and(|a| a.ok())), "{status:#?}");
    }
    engine.shutdown();
    runner.await.unwrap();

    println!("domain check of example.com against local servers, {runs} runs, API latency {latency:?}");
    println!("  DNS doctor alone (its own clock):         {}", spread(&mut dns_only));
    println!("  check_domain (doctor + HTTPS, 2 names):   {}", spread(&mut doctor));
    println!("  venture_domain (the Domains tab's read):  {}", spread(&mut tab));
}
