//! Provisioning benchmarks against the simulators (a bench binary that prints its figures):
//!
//! 1. **Critical path.** One venture with every API call taking 50 ms, a Supabase project that
//!    is ready 2 s after creation and a 1 s build. Each step's duration is measured with the
//!    steps run one after another (nothing else running); the critical path is the longest
//!    dependency chain of those durations. Reported: the concurrent apply's wall time divided by
//!    that critical path (target ≤ 1.10), and the one-after-another wall time beside it.
//! 2. **Scale.** 100 ventures at once under the documented rate limits (Vercel 120 requests per
//!    minute per endpoint, Supabase 120 per minute per endpoint and project), with the product's
//!    default polling. Reported: ventures that failed because of a rate limit, 429 answers, and
//!    for every rate-limit scope the limit actually bound (more than one window's worth of
//!    requests), the requests achieved per minute ÷ allowed, averaged over its busy windows.
//! 3. **Memory.** Peak resident set size of this process (engine plus in-process simulators)
//!    during (2), from `VmHWM` after resetting it.
//! 4. **Rotation.** The Supabase secret key rotated across the 100 ventures of (2) at once, under
//!    the same limits: wall time beside one rotation alone (its critical path: its phases run
//!    one after another) and beside the floor the rate limits set (the busiest scope's requests
//!    at 120 a minute); rotations that did not succeed, and 429 answers while they ran.
//!
//! Run: `cargo bench --bench provisioning` (about 6 minutes). `-- --part critical`,
//! `-- --part scale` or `-- --part rotation` runs one part (rotation includes scale's applies);
//! `-- --ventures N` changes (2)'s count.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use secrecy::SecretString;
use slipway_engine::auth::{Role, User};
use slipway_engine::platforms::{PlatformSettings, SandboxEndpoints};
use slipway_engine::provision::{GRAPH, Schedule};
use slipway_engine::venture::{NewVenture, VentureStatus};
use slipway_engine::{Engine, EngineConfig, VaultSettings};
use slipway_sim::RecordedRequest;
use slipway_sim::faults::FaultPlan;
use slipway_sim::{SANDBOX_ORGANIZATION, Sandbox, SandboxConfig};

const CALL_LATENCY: Duration = Duration::from_millis(50);
const SUPABASE_READY_AFTER: Duration = Duration::from_secs(2);
const BUILD_TIME: Duration = Duration::from_secs(1);
const DOCUMENTED_PER_MINUTE: usize = 120;

const TOKEN: &str = "bench-token";

/// The engine, the simulators it talks to, and a creator to act as.
async fn engine(dir: &tempfile::TempDir, configure: impl FnOnce(&mut EngineConfig)) -> (Engine, User, Sandbox) {
    let sims = SandboxConfig {
        faults: FaultPlan { latency: CALL_LATENCY, ..FaultPlan::default() },
        supabase_ready_after: SUPABASE_READY_AFTER,
        vercel_build_time: BUILD_TIME,
        ..SandboxConfig::default()
    };
    let sandbox = Sandbox::start(&sims, TOKEN).await.unwrap();
    let platforms = PlatformSettings::sandbox(SandboxEndpoints {
        vercel: sandbox.vercel.base_url(),
        vercel_team_id: slipway_sim::SANDBOX_TEAM_ID.into(),
        supabase: sandbox.supabase.base_url(),
        cloudflare: sandbox.cloudflare.base_url(),
        organization: SANDBOX_ORGANIZATION.into(),
        token: SecretString::from(TOKEN),
        dns: sandbox.dns.address(),
        edge_port: sandbox.edge.address().port(),
        edge_ca: sandbox.edge.ca_pem().to_string(),
    });
    let db = format!("sqlite://{}/bench.db?mode=rwc", dir.path().display());
    let mut config = EngineConfig::new(db, platforms, VaultSettings::Ephemeral);
    config.runner.poll_interval = Duration::from_millis(50);
    configure(&mut config);
    let engine = Engine::open(config).await.unwrap();
    let password = SecretString::from("a bench password");
    let user = engine.create_user_unchecked("bench", &password, Role::Creator).await.unwrap();
    (engine, user, sandbox)
}

async fn settle(engine: &Engine, user: &User, ids: &[String]) {
    loop {
        let mut open = 0;
        for id in ids {
            if engine.venture(user, id).await.unwrap().status == VentureStatus::Provisioning {
                open += 1;
            }
        }
        if open == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Wall time (first step start to last step end) and each step's duration, in ms.
async fn one_apply(schedule: Schedule, name: &str) -> (i64, BTreeMap<&'static str, i64>) {
    let dir = tempfile::tempdir().unwrap();
    let (engine, user, _sims) = engine(&dir, |config| {
        config.provision.schedule = schedule;
        // Waits look every 100 ms: the bench measures scheduling, not polling politeness.
        config.provision.polling.every = Duration::from_millis(100);
    })
    .await;
    let venture = engine.create_venture(&user, &NewVenture::new(name, "acme/bench")).await.unwrap();
    let runner = engine.start_runner();
    settle(&engine, &user, std::slice::from_ref(&venture.id)).await;
    engine.shutdown();
    runner.await.unwrap();
    assert_eq!(engine.venture(&user, &venture.id).await.unwrap().status, VentureStatus::Ready);
    let steps = engine.venture_steps(&user, &venture.id).await.unwrap();
    let mut durations = BTreeMap::new();
    for (node, status) in GRAPH.iter().zip(&steps) {
        durations.insert(node.name, status.finished_at.unwrap() - status.started_at.unwrap());
    }
    let start = steps.iter().filter_map(|s| s.started_at).min().unwrap();
    let end = steps.iter().filter_map(|s| s.finished_at).max().unwrap();
    (end - start, durations)
}

/// The longest chain through the step graph, each step costing `durations[step]`.
fn critical_path(durations: &BTreeMap<&'static str, i64>) -> i64 {
    let mut finish: BTreeMap<&'static str, i64> = BTreeMap::new();
    for node in GRAPH {
        let ready = node.depends_on.iter().map(|d| finish[d]).max().unwrap_or(0);
        finish.insert(node.name, ready + durations[node.name]);
    }
    finish.values().copied().max().unwrap()
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

async fn critical_path_part() {
    println!(
        "== 1. critical path: {CALL_LATENCY:?} per call, Supabase ready after {SUPABASE_READY_AFTER:?}, build {BUILD_TIME:?}"
    );
    let (mut ratios, mut sequential, mut concurrent, mut paths) = (vec![], vec![], vec![], vec![]);
    for round in 0..3 {
        let (seq_wall, alone) = one_apply(Schedule::OneAtATime, &format!("seq-{round}")).await;
        let (wall, _) = one_apply(Schedule::Concurrent, &format!("par-{round}")).await;
        let path = critical_path(&alone);
        println!(
            "round {round}: concurrent {wall} ms, critical path {path} ms, ratio {:.3}; one after another {seq_wall} ms; steps alone (ms): {}",
            wall as f64 / path as f64,
            alone.iter().map(|(s, d)| format!("{}={d}", s)).collect::<Vec<_>>().join(" ")
        );
        ratios.push(wall as f64 / path as f64);
        sequential.push(seq_wall as f64);
        concurrent.push(wall as f64);
        paths.push(path as f64);
    }
    let (ratio, seq, par, path) = (median(ratios), median(sequential), median(concurrent), median(paths));
    println!(
        "median: concurrent wall / critical path = {ratio:.3} (target <= 1.10); concurrent {par:.0} ms, critical path {path:.0} ms, one after another {seq:.0} ms ({:.2}x slower)",
        seq / par
    );
}

/// Peak resident set of this process since the last reset, in KiB.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Requests per rate-limit scope, as each vendor counts them.
fn scopes(vendor: &str, requests: &[RecordedRequest]) -> BTreeMap<String, Vec<i64>> {
    let mut scopes: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for request in requests {
        // Vercel counts per endpoint; Supabase per endpoint and project (or organization).
        let scope = match vendor {
            "vercel" => format!("vercel {} {}", request.method, request.endpoint),
            _ => format!("supabase {} {}", request.method, request.path),
        };
        scopes.entry(scope).or_default().push(request.at_ms);
    }
    scopes
}

/// Mean over every 60 s window that starts at a request and ends before the scope's last one.
fn busy_window_utilisation(times: &[i64]) -> Option<f64> {
    let mut times = times.to_vec();
    times.sort();
    let last = *times.last()?;
    let mut shares = Vec::new();
    for (i, start) in times.iter().enumerate() {
        if start + 60_000 > last {
            break;
        }
        let inside = times[i..].iter().take_while(|t| **t < start + 60_000).count();
        shares.push(inside as f64 / DOCUMENTED_PER_MINUTE as f64);
    }
    (!shares.is_empty()).then(|| shares.iter().sum::<f64>() / shares.len() as f64)
}

async fn scale_part(count: usize, rotate: bool) {
    println!("== 2. {count} ventures at once under the documented rate limits ({DOCUMENTED_PER_MINUTE}/min per scope)");
    // Reset the peak-RSS mark (Linux): (3) measures this part alone.
    let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    let rss_before = peak_rss_kib();
    let dir = tempfile::tempdir().unwrap();
    let (engine, user, sandbox) = engine(&dir, |config| config.runner.concurrency = count).await;
    let started = Instant::now();
    let mut ids = Vec::new();
    for i in 0..count {
        ids.push(
            engine.create_venture(&user, &NewVenture::new(&format!("scale-{i:03}"), "acme/scale")).await.unwrap().id,
        );
    }
    let runner = engine.start_runner();
    settle(&engine, &user, &ids).await;
    let wall = started.elapsed();
    let rotated = if rotate { Some(rotation_part(&engine, &sandbox, &ids).await) } else { None };
    engine.shutdown();
    runner.await.unwrap();

    let (mut ready, mut failed, mut rate_limit_failures) = (0, 0, 0);
    for id in &ids {
        match engine.venture(&user, id).await.unwrap().status {
            VentureStatus::Ready => ready += 1,
            _ => {
                failed += 1;
                let log = engine.venture_events(&user, id, 0, 10_000).await.unwrap();
                if log.iter().any(|e| e.level == "error" && e.message.contains("rate limit")) {
                    rate_limit_failures += 1;
                }
            }
        }
    }
    let (vercel, supabase) = (sandbox.vercel.requests(), sandbox.supabase.requests());
    let throttled = vercel.iter().chain(&supabase).filter(|r| r.status == 429).count();
    println!(
        "{ready} ready, {failed} failed ({rate_limit_failures} because of a rate limit); {throttled} answers were 429; {} Vercel and {} Supabase requests in {:.1} s",
        vercel.len(),
        supabase.len(),
        wall.as_secs_f64()
    );
    let mut bound = Vec::new();
    for (scope, times) in scopes("vercel", &vercel).into_iter().chain(scopes("supabase", &supabase)) {
        if times.len() > DOCUMENTED_PER_MINUTE
            && let Some(share) = busy_window_utilisation(&times)
        {
            bound.push((scope, times.len(), share));
        }
    }
    if bound.is_empty() {
        println!("no scope needed more than one window: the limits never bound");
    }
    for (scope, requests, share) in &bound {
        println!("  {scope}: {requests} requests, achieved/allowed over its busy windows = {share:.3}");
    }
    if let Some(worst) = bound.iter().map(|(_, _, share)| *share).min_by(f64::total_cmp) {
        println!("achieved/allowed on every bound scope >= {worst:.3} (target >= 0.9)");
    }
    match (reset, rss_before, peak_rss_kib()) {
        (true, Some(before), Some(peak)) => println!(
            "== 3. peak RSS during (2): {:.1} MiB ({:.1} MiB when it began)",
            peak as f64 / 1024.0,
            before as f64 / 1024.0
        ),
        (_, _, peak) => println!("== 3. peak RSS of the whole run: {:?} KiB (no per-part reset here)", peak),
    }
    if let Some(report) = rotated {
        println!("{report}");
    }
}

const SECRET: &str = "SUPABASE_SECRET_KEY";

/// Rotates `SECRET` of one venture alone, then of every venture at once (the runner of
/// `engine` is running); returns the report.
async fn rotation_part(engine: &Engine, sandbox: &Sandbox, ids: &[String]) -> String {
    use slipway_engine::engine::{RotateRequest, RotationOutcome};
    let password = SecretString::from("an admin's bench password");
    let admin = engine.create_user_unchecked("bench-admin", &password, Role::Admin).await.unwrap();
    let over = async |id: &str| {
        let newest = engine.rotations(&admin, id, Some(SECRET)).await.unwrap().into_iter().next();
        newest.filter(|r| r.outcome != RotationOutcome::Running && r.finished_at.is_some())
    };
    // Alone: the critical path, every phase after the one before.
    engine.rotate_secret(&admin, &ids[0], SECRET, &RotateRequest::default()).await.unwrap();
    let alone = loop {
        if let Some(done) = over(&ids[0]).await {
            break done;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(alone.outcome, RotationOutcome::Succeeded, "{:?}", alone.error);
    let path = alone.finished_at.unwrap() - alone.created_at;

    let seen = (sandbox.vercel.requests().len(), sandbox.supabase.requests().len());
    let started = Instant::now();
    for id in ids {
        engine.rotate_secret(&admin, id, SECRET, &RotateRequest::default()).await.unwrap();
    }
    let mut ended = Vec::new();
    while ended.len() < ids.len() {
        ended.clear();
        for id in ids {
            if let Some(done) = over(id).await.filter(|r| r.created_at > alone.created_at) {
                ended.push(done);
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let wall = started.elapsed().as_millis() as i64;
    let failed = ended.iter().filter(|r| r.outcome != RotationOutcome::Succeeded).count();
    let (vercel, supabase) = (sandbox.vercel.requests(), sandbox.supabase.requests());
    let (vercel, supabase) = (&vercel[seen.0..], &supabase[seen.1..]);
    let throttled: Vec<String> = vercel
        .iter()
        .chain(supabase)
        .filter(|r| r.status == 429)
        .map(|r| format!("{} {}", r.method, r.endpoint))
        .collect();
    let busiest = scopes("vercel", vercel)
        .into_iter()
        .chain(scopes("supabase", supabase))
        .max_by_key(|(_, times)| times.len())
        .map(|(scope, times)| (scope, times.len()))
        .unwrap_or_default();
    // n requests at 120 a minute, the first 120 at once: (n - 120) / 120 minutes at least.
    let floor = (busiest.1.saturating_sub(DOCUMENTED_PER_MINUTE) as i64 * 60_000) / DOCUMENTED_PER_MINUTE as i64;
    format!(
        "== 4. {SECRET} rotated across {} ventures at once: {} ms wall; one rotation alone (critical path) {path} ms; \
         rate-limit floor {floor} ms (busiest scope {}: {} requests); wall / max(critical path, floor) = {:.2}; \
         {failed} did not succeed; {} answers were 429 {throttled:?}; {} Vercel and {} Supabase requests",
        ids.len(),
        wall,
        busiest.0,
        busiest.1,
        wall as f64 / path.max(floor) as f64,
        throttled.len(),
        vercel.len(),
        supabase.len()
    )
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let value = |flag: &str| args.iter().position(|a| a == flag).and_then(|i| args.get(i + 1)).cloned();
    let part = value("--part").unwrap_or_else(|| "all".into());
    let count = value("--ventures").and_then(|v| v.parse().ok()).unwrap_or(100);
    if part == "all" || part == "critical" {
        critical_path_part().await;
    }
    if part == "all" || part == "scale" || part == "rotation" {
        scale_part(count, part != "scale").await;
    }
}
