//! The world every engine test shares: simulated platforms with one shared DNS and one vault
//! key, and engines opened on it as separate "processes" would open them.

// What the test files use, in one place.
pub use std::time::Duration;

pub use secrecy::{ExposeSecret, SecretString};
pub use slipway_engine::auth::Role;
pub use slipway_engine::platform::retry::RetryPolicy;
pub use slipway_engine::platforms::{PlatformSettings, SandboxEndpoints};
pub use slipway_engine::venture::{NewVenture, VentureStatus};
pub use slipway_engine::{Engine, EngineConfig, VaultSettings};
pub use slipway_sim::faults::{Fault, FaultPlan};
pub use slipway_sim::supabase::SupabaseSim;
pub use slipway_sim::vercel::VercelSim;
pub use slipway_sim::{SANDBOX_ORGANIZATION, Sandbox, SandboxConfig};

pub const TOKEN: &str = "durability-token";

/// The platforms (simulated) and the vault key that every "process" of a test shares.
pub struct World {
    pub sims: Sandbox,
    pub key: SecretString,
    /// How often steps that wait look again.
    pub polling: Duration,
    /// Jobs each process works on at once.
    pub concurrency: usize,
    /// The platform token: the client's rate limiters are per token and shared by every
    /// engine of the test binary, so a world of its own token has budgets of its own.
    pub token: String,
    /// An RFC 2136 server the engines write DNS records to (a test's Knot).
    pub rfc2136: Option<slipway_engine::platforms::Rfc2136Access>,
}

impl World {
    pub async fn new(faults: FaultPlan) -> World {
        World::with_token(faults, TOKEN).await
    }

    pub async fn with_token(faults: FaultPlan, token: &str) -> World {
        World::with_settings(token, SandboxConfig { faults, ..SandboxConfig::default() }).await
    }

    /// A world whose Supabase projects run their SQL on the test PostgreSQL server.
    pub async fn with_postgres(token: &str) -> World {
        let server = std::env::var("SLIPWAY_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
        World::with_settings(
            token,
            SandboxConfig { supabase_database_server: Some(server), ..SandboxConfig::default() },
        )
        .await
    }

    async fn with_settings(token: &str, settings: SandboxConfig) -> World {
        let settings = SandboxConfig {
            supabase_ready_after: Duration::from_millis(300),
            vercel_build_time: Duration::from_millis(200),
            ..settings
        };
        World {
            sims: Sandbox::start(&settings, token).await.unwrap(),
            key: slipway_engine::vault::generate_key(),
            polling: Duration::from_millis(50),
            concurrency: 4,
            token: token.to_string(),
            rfc2136: None,
        }
    }

    pub fn vercel(&self) -> &VercelSim {
        &self.sims.vercel
    }

    pub fn supabase(&self) -> &SupabaseSim {
        &self.sims.supabase
    }

    /// An engine as one process would open it, against the shared database and platforms.
    pub async fn open_process(&self, db_url: &str, instance: &str) -> Engine {
        let vault = VaultSettings::Key { current: self.key.clone(), previous: vec![] };
        self.open_process_with(db_url, instance, vault).await
    }

    /// The same, with a vault of its own (a master-key rotation).
    pub async fn open_process_with(&self, db_url: &str, instance: &str, vault: VaultSettings) -> Engine {
        self.open_process_tweaked(db_url, instance, vault, |_| {}).await
    }

    /// The same, with settings of its own.
    pub async fn open_process_tweaked(
        &self,
        db_url: &str,
        instance: &str,
        vault: VaultSettings,
        tweak: impl FnOnce(&mut EngineConfig),
    ) -> Engine {
        let mut platforms = PlatformSettings::sandbox(SandboxEndpoints {
            vercel: self.sims.vercel.base_url(),
            vercel_team_id: slipway_sim::SANDBOX_TEAM_ID.into(),
            supabase: self.sims.supabase.base_url(),
            cloudflare: self.sims.cloudflare.base_url(),
            organization: SANDBOX_ORGANIZATION.into(),
            token: SecretString::from(self.token.clone()),
            dns: self.sims.dns.address(),
            edge_port: self.sims.edge.address().port(),
            edge_ca: self.sims.edge.ca_pem().to_string(),
        });
        platforms.rfc2136 = self.rfc2136.clone();
        let mut config = EngineConfig::new(db_url, platforms, vault);
        config.runner.instance_id = instance.into();
        config.runner.lease = Duration::from_millis(900);
        config.runner.poll_interval = Duration::from_millis(50);
        config.runner.concurrency = self.concurrency;
        config.runner.job_backoff = RetryPolicy { base_delay: Duration::from_millis(100), ..RetryPolicy::default() };
        config.provision.polling.every = self.polling;
        config.provision.polling.healthy_within = Duration::from_secs(1);
        config.platform_retry = RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(50),
            max_total: Duration::from_secs(10),
        };
        tweak(&mut config);
        Engine::open(config).await.unwrap()
    }
}

pub fn database() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/slipway.db?mode=rwc", dir.path().display());
    (dir, url)
}

pub async fn wait_for(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub async fn creator(engine: &Engine) -> slipway_engine::auth::User {
    engine.create_user_unchecked("casey", &SecretString::from("a long enough password"), Role::Creator).await.unwrap()
}

pub async fn settle(engine: &Engine, user: &slipway_engine::auth::User, id: &str) -> VentureStatus {
    let runner = engine.start_runner();
    // Settled: the status left `provisioning` and the job is recorded as finished (stopping
    // the runner between the two would hand the finished job back to the queue).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    let status = loop {
        let status = engine.venture(user, id).await.unwrap().status;
        if status != VentureStatus::Provisioning && !engine.has_active_job(user, id).await.unwrap() {
            break status;
        }
        if tokio::time::Instant::now() > deadline {
            // What the apply was doing: the newest events say which step waits and why.
            let events = engine.venture_events(user, id, 0, 10_000).await.unwrap();
            let last: Vec<String> =
                events.iter().rev().take(12).rev().map(|e| format!("{}: {}", e.step, e.message)).collect();
            panic!("timed out waiting for the venture to settle; its last events:\n{}", last.join("\n"));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    engine.shutdown();
    runner.await.unwrap();
    status
}

/// The requests that may change something: not GETs, nor queries in a read-only transaction.
pub fn writes(requests: &[slipway_sim::RecordedRequest]) -> Vec<String> {
    requests
        .iter()
        .filter(|r| r.method != "GET" && !r.path.ends_with("/database/query/read-only"))
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}
