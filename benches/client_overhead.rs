//! Client overhead per call against the simulator: the median time of a typed client call
//! (validation, rate limiter, retry wrapper, JSON decoding into typed structs) minus the
//! median of the same request made with a bare HTTP client.
//!
//! Run: `cargo bench --bench client_overhead` (prints figures; not part of the test suite).

use std::time::{Duration, Instant};

use secrecy::SecretString;
use slipway_engine::platform::vercel::{CreateProjectRequest, VercelClient, VercelConfig};
use slipway_sim::faults::FaultPlan;
use slipway_sim::vercel::VercelSim;

const CALLS: usize = 3000;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn percentile(mut samples: Vec<Duration>, p: f64) -> Duration {
    samples.sort();
    samples[((samples.len() as f64 - 1.0) * p) as usize]
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let token = "bench-token";
    let sim = VercelSim::start(token, FaultPlan::default()).await.unwrap();
    let mut config = VercelConfig::new(sim.base_url(), SecretString::from(token));
    // A budget far above the call count: this measures overhead, not waiting.
    config.api.budget = slipway_engine::platform::ratelimit::Budget::per_minute(1_000_000);
    let client = VercelClient::new(config).unwrap();
    let project = client
        .create_project(&CreateProjectRequest {
            name: "bench".into(),
            framework: Some("nextjs".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let raw = reqwest::Client::new();
    let url = format!("{}/v9/projects/{}", sim.base_url(), project.id);

    // Warm both paths (connections, allocations), then interleave to share any drift.
    for _ in 0..200 {
        client.get_project(&project.id).await.unwrap();
        raw.get(&url).bearer_auth(token).send().await.unwrap().bytes().await.unwrap();
    }
    let (mut typed, mut bare) = (Vec::with_capacity(CALLS), Vec::with_capacity(CALLS));
    for _ in 0..CALLS {
        let started = Instant::now();
        client.get_project(&project.id).await.unwrap();
        typed.push(started.elapsed());
        let started = Instant::now();
        let body = raw.get(&url).bearer_auth(token).send().await.unwrap().bytes().await.unwrap();
        assert!(!body.is_empty());
        bare.push(started.elapsed());
    }
    let (typed_median, bare_median) = (median(typed.clone()), median(bare.clone()));
    println!("calls per path:           {CALLS}");
    println!(
        "typed client median:      {:>8.1} µs (p90 {:.1} µs)",
        typed_median.as_secs_f64() * 1e6,
        percentile(typed, 0.9).as_secs_f64() * 1e6
    );
    println!(
        "bare HTTP median:         {:>8.1} µs (p90 {:.1} µs)",
        bare_median.as_secs_f64() * 1e6,
        percentile(bare, 0.9).as_secs_f64() * 1e6
    );
    println!(
        "client overhead (median): {:>8.1} µs per call",
        (typed_median.as_secs_f64() - bare_median.as_secs_f64()) * 1e6
    );
}
