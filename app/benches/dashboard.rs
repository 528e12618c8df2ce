//! The dashboard never waits on the platforms (a bench binary that prints its figures, not a
//! test). The whole server (router, middleware, Leptos SSR) listens on 127.0.0.1 over a real
//! SQLite database holding `--ventures` ventures (default 1,000; the newest `--applied`, default
//! 50, applied until ready), while the simulated platforms answer every call after
//! `--latency-ms` (default 2,000) and refuse `--rate-limited-percent` (default 50) of them with
//! 429. The background connection check runs, and an operator asks for checks on demand and
//! reads `/api/v1/connections` in a loop throughout.
//!
//! Then, `--rounds` times (default 200, `--pause-ms` apart, default 50), side by side: an admin's ventures page (its first
//! page, as the dashboard opens it), and two static assets of the site (the stylesheet and the
//! wasm bundle). It prints min / median / p95 of each and the ratio of the medians.
//!
//! Needs the built site (`./scripts/build-site.sh`); run:
//! `cargo bench -p slipway-app --features ssr --bench dashboard`.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use leptos::config::LeptosOptions;
use secrecy::{ExposeSecret, SecretString};
use slipway_app::server::{AppState, router};
use slipway_engine::auth::Role;
use slipway_engine::venture::{NewVenture, VentureStatus};
use slipway_engine::{Engine, EngineConfig, VaultSettings};
use slipway_sim::SandboxConfig;
use slipway_sim::faults::FaultPlan;

const PASSWORD: &str = "a bench password, long enough";

fn flag(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// `min / median / p95` in milliseconds, and the median.
fn spread(samples: &mut [Duration]) -> (String, Duration) {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    (format!("{:7.2} / {:7.2} / {:7.2} ms", ms(samples[0]), ms(at(0.5)), ms(at(0.95))), at(0.5))
}

/// One GET, timed until its whole body has arrived; the body's length.
async fn timed(client: &reqwest::Client, url: &str, cookie: Option<&str>) -> (Duration, usize) {
    let started = Instant::now();
    let mut request = client.get(url);
    if let Some(cookie) = cookie {
        request = request.header(reqwest::header::COOKIE, cookie);
    }
    let response = request.send().await.expect("the server answers");
    assert!(response.status().is_success(), "{url}: {}", response.status());
    let body = response.bytes().await.expect("the body arrives");
    (started.elapsed(), body.len())
}

#[tokio::main]
async fn main() {
    let site_root = concat!(env!("CARGO_MANIFEST_DIR"), "/../target/site");
    let wasm = format!("{site_root}/pkg/slipway_bg.wasm");
    if !std::path::Path::new(&wasm).exists() {
        eprintln!("{wasm} is missing: run ./scripts/build-site.sh first");
        std::process::exit(2);
    }
    // At least one venture applied and one queued.
    let ventures = (flag("--ventures", 1000) as usize).max(2);
    let applied = (flag("--applied", 50) as usize).clamp(1, ventures - 1);
    let rounds = flag("--rounds", 200) as usize;
    let pause = Duration::from_millis(flag("--pause-ms", 50));
    let latency = Duration::from_millis(flag("--latency-ms", 2000));
    let rate_limited = flag("--rate-limited-percent", 50).min(100) as f64 / 100.0;

    // Fast simulators while the ventures are applied; slow and rate-limiting once measured.
    let sims = SandboxConfig {
        supabase_ready_after: Duration::from_millis(100),
        vercel_build_time: Duration::from_millis(100),
        ..SandboxConfig::default()
    };
    let (sandbox, platforms) = slipway_app::sandbox::start(&sims, None).await.expect("the simulators start");
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}/slipway.db?mode=rwc", dir.path().display());
    let mut config = EngineConfig::new(database, platforms, VaultSettings::Ephemeral);
    config.provision.polling.every = Duration::from_millis(50);
    config.runner.poll_interval = Duration::from_millis(50);
    let engine = Engine::open(config).await.expect("the engine opens");
    let admin = engine.create_user_unchecked("admin", &SecretString::from(PASSWORD), Role::Admin).await.unwrap();
    engine.create_user_unchecked("operator", &SecretString::from(PASSWORD), Role::Operator).await.unwrap();

    // The oldest `applied` ventures are applied until ready (the list's last page shows them);
    // the newer ones stay queued, their jobs never run (the first page shows those).
    let seeding = Instant::now();
    let (stop_runner, stopped) = tokio::sync::watch::channel(false);
    let runner = tokio::spawn(engine.runner().run(stopped));
    let create = |i: usize| {
        let spec = NewVenture::new(&format!("bench-{i:04}"), &format!("acme/bench-{i:04}"));
        let (engine, admin) = (engine.clone(), admin.clone());
        async move { engine.create_venture(&admin, &spec).await.expect("the venture is created") }
    };
    let mut oldest = Vec::new();
    for i in 0..applied {
        oldest.push(create(i).await.id);
    }
    for id in &oldest {
        while engine.venture(&admin, id).await.unwrap().status != VentureStatus::Ready {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    stop_runner.send_replace(true);
    runner.await.unwrap();
    for i in applied..ventures {
        create(i).await;
    }
    println!(
        "{ventures} ventures stored, the oldest {applied} applied until ready, in {:.1} s",
        seeding.elapsed().as_secs_f64()
    );

    let faults =
        FaultPlan { latency, rate_limit_share: rate_limited, retry_after_secs: 1, seed: 7, ..FaultPlan::default() };
    sandbox.vercel.set_faults(faults.clone());
    sandbox.supabase.set_faults(faults.clone());
    sandbox.cloudflare.set_faults(faults);
    let monitor = engine.start_connection_monitor();

    let options = LeptosOptions::builder()
        .output_name("slipway")
        .site_root(site_root)
        .site_pkg_dir("pkg")
        .site_addr(SocketAddr::from(([127, 0, 0, 1], 0)))
        .build();
    let app = router(AppState { engine: engine.clone(), served_over_https: false }, options);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(slipway_app::server::serve(listener, app, std::future::pending()));

    let (_, admin_session) = engine.login("admin", &SecretString::from(PASSWORD), "bench").await.unwrap();
    let cookie = format!("slipway_session={}", admin_session.expose_secret());
    let operator_token = engine.create_api_token_for("operator", "bench", Role::Operator, None).await.unwrap();

    // The operator who stalled everyone's dashboard before: checks on demand and reads, nonstop.
    let answers = std::sync::Arc::new(std::sync::Mutex::new(std::collections::BTreeMap::<String, usize>::new()));
    let operator = {
        let (base, token, answers) = (base.clone(), operator_token.expose_secret().to_string(), answers.clone());
        tokio::spawn(async move {
            let client = reqwest::Client::new();
            loop {
                let checked = client.post(format!("{base}/api/v1/connections/check")).bearer_auth(&token).send().await;
                let read = client.get(format!("{base}/api/v1/connections")).bearer_auth(&token).send().await;
                for (what, answer) in [("POST /api/v1/connections/check", checked), ("GET /api/v1/connections", read)] {
                    let status = answer.map_or("no answer".to_string(), |r| r.status().as_u16().to_string());
                    *answers.lock().unwrap().entry(format!("{what} → {status}")).or_default() += 1;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };

    // The background check against the slow platforms ends (each is given 10 s) before the
    // measurement, which then runs long enough for the operator's checks to come and go.
    let waited = Instant::now();
    while engine.connection_status(&admin).await.unwrap().checked_at.is_none() {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!("the first background check ended after {:.1} s", waited.elapsed().as_secs_f64());

    let client = reqwest::Client::new();
    let pages = ventures.div_ceil(slipway_app::views::VENTURES_PER_PAGE);
    // What is timed: (label, URL, whether it is a signed-in page); the first is page 1.
    let targets = [
        (format!("ventures page 1 of {pages}"), format!("{base}/ventures"), true),
        (format!("ventures page {pages} of {pages}"), format!("{base}/ventures?page={pages}"), true),
        ("the Connections page".to_string(), format!("{base}/connections"), true),
        ("/pkg/slipway.css".to_string(), format!("{base}/pkg/slipway.css"), false),
        ("/pkg/slipway_bg.wasm".to_string(), format!("{base}/pkg/slipway_bg.wasm"), false),
    ];
    let get = async |(_, url, signed_in): &(String, String, bool)| {
        timed(&client, url, signed_in.then_some(cookie.as_str())).await
    };
    // Warm-up: connections open, caches filled.
    for _ in 0..10 {
        for target in &targets {
            get(target).await;
        }
    }
    let mut samples = vec![Vec::new(); targets.len()];
    let mut sizes = vec![0; targets.len()];
    let mut read = Vec::new();
    for round in 0..rounds {
        tokio::time::sleep(pause).await;
        // Each round starts with another target, so that none is always first after the pause.
        for i in (0..targets.len()).map(|i| (i + round) % targets.len()) {
            let (took, size) = get(&targets[i]).await;
            samples[i].push(took);
            sizes[i] = size;
        }
        let started = Instant::now();
        engine.ventures_page(&admin, "", 0, slipway_app::views::VENTURES_PER_PAGE).await.unwrap();
        read.push(started.elapsed());
    }
    operator.abort();
    let connections = engine.connection_status(&admin).await.unwrap();

    println!(
        "platforms: every call answered after {} ms, {:.0}% refused with 429; the operator asked for \
         checks and read connections throughout",
        latency.as_millis(),
        rate_limited * 100.0
    );
    println!("the operator's calls meanwhile: {:?}", answers.lock().unwrap());
    println!(
        "last connection check: {:?}",
        connections.statuses.iter().map(|s| (&s.platform, s.connected, &s.detail)).collect::<Vec<_>>()
    );
    println!("{rounds} rounds, side by side (min / median / p95):");
    let mut medians = Vec::new();
    for ((label, _, _), (samples, size)) in targets.iter().zip(samples.iter_mut().zip(&sizes)) {
        let (figures, median) = spread(samples);
        println!("  {:<42} {figures}", format!("{label} ({size} B)"));
        medians.push(median);
    }
    println!("  {:<42} {}", "the engine's read of page 1 (in-process)", spread(&mut read).0);
    let ratio = |page: usize, asset: usize| medians[page].as_secs_f64() / medians[asset].as_secs_f64();
    for page in [0, 1] {
        println!(
            "median ratio, {}: ÷ stylesheet {:.2}, ÷ wasm bundle {:.2}",
            targets[page].0,
            ratio(page, 3),
            ratio(page, 4)
        );
    }

    engine.shutdown();
    let _ = monitor.await;
    server.abort();
}
