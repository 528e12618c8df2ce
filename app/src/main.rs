//! `slipway`: the server binary and its command line. Thin by design: it reads settings,
//! opens the engine and hands it to the app's router.

use std::io::BufRead;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

mod cli;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use leptos::config::LeptosOptions;
use secrecy::SecretString;
use slipway_app::server::{AppState, router};
use slipway_engine::auth::Role;
use slipway_engine::platforms::TokenSettings;
use slipway_engine::time::format_utc;
use slipway_engine::{Engine, EngineConfig, EngineError, VaultSettings};
use slipway_sim::faults::FaultPlan;
use slipway_sim::{Sandbox, SandboxConfig};

#[derive(Parser)]
#[command(name = "slipway", version, about = "One-click Vercel + Supabase infrastructure for every venture")]
struct Cli {
    #[command(flatten)]
    settings: Settings,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the dashboard, API and job runner (the default).
    Serve,
    /// Manage dashboard users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Manage API tokens for machine clients (the REST API at /api/v1).
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Master-key rotation for the sealed values.
    Vault {
        #[command(subcommand)]
        command: VaultCommand,
    },
    /// Run the Vercel, Supabase and Cloudflare simulators (for your own CI or the vendors' CLIs).
    Sim(SimArgs),
    /// Plan, apply, follow and destroy ventures on a running Slipway (over its REST API).
    Venture {
        #[command(flatten)]
        server: cli::ServerArgs,
        #[command(subcommand)]
        command: cli::VentureCommand,
    },
    /// A venture's environment variables on a running Slipway: list, set (value on stdin),
    /// remove, `.env.example`, reveal.
    Env {
        #[command(flatten)]
        server: cli::ServerArgs,
        #[command(subcommand)]
        command: cli::EnvCommand,
    },
    /// A venture's secret rotations on a running Slipway: rotate one now (admins), and the
    /// history of each with the deployments that carry each value.
    Secret {
        #[command(flatten)]
        server: cli::ServerArgs,
        #[command(subcommand)]
        command: cli::SecretCommand,
    },
    /// A venture's sign-in on a running Slipway: each Supabase project's providers and URLs,
    /// and a provider app's client secret (on stdin).
    Auth {
        #[command(flatten)]
        server: cli::ServerArgs,
        #[command(subcommand)]
        command: cli::AuthCommand,
    },
    /// The audit log of a running Slipway, newest first (an admin's token): destroys, secrets
    /// revealed, pulled or set, rollbacks, users and tokens made, failed sign-ins.
    Audit {
        #[command(flatten)]
        server: cli::ServerArgs,
        /// How many entries (1 to 500).
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=500))]
        limit: u32,
        #[arg(long)]
        json: bool,
    },
    /// Whether each platform's token works, as a running Slipway last checked it (every minute);
    /// `--check` checks now (once every 30 s per user). Exits non-zero when one is not connected.
    Connections {
        #[command(flatten)]
        server: cli::ServerArgs,
        #[arg(long)]
        check: bool,
        #[arg(long)]
        json: bool,
    },
    /// The DNS doctor on a running Slipway: a domain's records against what Vercel needs,
    /// every finding with its fix.
    Domain {
        #[command(flatten)]
        server: cli::ServerArgs,
        #[command(subcommand)]
        command: cli::DomainCommand,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create a token acting for a user; it is printed once and only its digest is kept.
    Create {
        #[arg(long)]
        username: String,
        /// What the token is for (e.g. "venture generator").
        #[arg(long)]
        name: String,
        #[arg(long, value_parser = ["creator", "operator", "admin"])]
        role: String,
        /// Days until it expires (default 90, at most 365).
        #[arg(long)]
        expires_in_days: Option<u32>,
    },
    /// Every token (or one user's): name, role, created, last used, expiry; never the token.
    List {
        #[arg(long)]
        username: Option<String>,
    },
    /// Revoke a token by its id (from `list`): every instance refuses it at once.
    Revoke { id: String },
}

#[derive(Subcommand)]
enum VaultCommand {
    /// Print a fresh random master key (base64), for SLIPWAY_MASTER_KEY or the key file.
    NewKey,
    /// Re-seal every value sealed under an earlier key with the current one. Run it with the new
    /// key as SLIPWAY_MASTER_KEY and the old ones in SLIPWAY_PREVIOUS_MASTER_KEYS; when it reports
    /// nothing left under an old key, that key can be dropped.
    Rotate,
    /// Look for every sealed value (each version), platform token and the master key, plain,
    /// URL-encoded or base64, in the database (the vault's ciphertexts aside) and in the files
    /// given (logs, saved pages; directories are read whole). Reports where, never the value;
    /// exits non-zero when it finds one.
    LeakScan {
        /// Files or directories to read besides the database.
        paths: Vec<std::path::PathBuf>,
    },
}

#[derive(Args)]
struct SimArgs {
    /// Address the simulators listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: std::net::IpAddr,
    #[arg(long, default_value_t = 4100)]
    vercel_port: u16,
    #[arg(long, default_value_t = 4200)]
    supabase_port: u16,
    #[arg(long, default_value_t = 4300)]
    cloudflare_port: u16,
    /// The simulated public DNS (UDP and TCP): point a resolver or `dig -p` at it.
    #[arg(long, default_value_t = 4400)]
    dns_port: u16,
    /// Vercel's edge, simulated: HTTPS for the domains Vercel issued certificates for.
    #[arg(long, default_value_t = 4443)]
    edge_port: u16,
    /// Where to write the certificate of the CA that signs the edge's certificates (PEM), for
    /// `curl --cacert` or a browser to trust.
    #[arg(long)]
    edge_ca_file: Option<std::path::PathBuf>,
    /// Bearer token every simulator accepts (the Supabase CLI wants `sbp_` + 40 hex digits).
    #[arg(long, env = "SLIPWAY_SIM_TOKEN", hide_env_values = true)]
    token: String,
    /// Latency added to every response, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Share (0..1) of requests that fail transiently, half 429 and half 5xx.
    #[arg(long, default_value_t = 0.0)]
    fault_share: f64,
    /// Share (0..1) of connections closed without an answer (half after the request took effect).
    #[arg(long, default_value_t = 0.0)]
    drop_share: f64,
    /// Share (0..1) of requests whose answer hangs for --hang-secs after taking effect.
    #[arg(long, default_value_t = 0.0)]
    timeout_share: f64,
    #[arg(long, default_value_t = 60)]
    hang_secs: u64,
    /// A fault for one operation, e.g. 'POST /v11/projects=drop-after' or
    /// 'GET /v1/projects/*/health=503:0.5' (faults: 429, 500, 502, 503, drop, drop-after, timeout;
    /// share defaults to 1). Paths as the vendor's spec names them (Cloudflare's without /client/v4).
    /// Repeatable.
    #[arg(long = "fault")]
    operation_faults: Vec<slipway_sim::faults::OperationFaults>,
    /// Seed for the faults, so a failing run can be replayed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Seconds a new Supabase project takes to become healthy.
    #[arg(long, default_value_t = 5)]
    supabase_ready_secs: u64,
    /// A PostgreSQL server URL on which each project's `database/query` runs for real.
    #[arg(long, env = "SLIPWAY_SIM_POSTGRES_URL")]
    postgres_url: Option<String>,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user. The password is read from SLIPWAY_PASSWORD or, if unset, from the first line of stdin.
    Create {
        #[arg(long)]
        username: String,
        #[arg(long, value_parser = ["creator", "operator", "admin"])]
        role: String,
    },
    /// Every user: role, state, open sessions.
    List,
    /// Give a user another role (the last active admin keeps theirs).
    Role {
        #[arg(long)]
        username: String,
        #[arg(long, value_parser = ["creator", "operator", "admin"])]
        role: String,
    },
    /// Disable a user: their sessions end, their sign-ins and tokens are refused.
    Disable {
        #[arg(long)]
        username: String,
    },
    /// Let a disabled user sign in again.
    Enable {
        #[arg(long)]
        username: String,
    },
    /// Set a new password (SLIPWAY_PASSWORD or the first line of stdin); their sessions end.
    ResetPassword {
        #[arg(long)]
        username: String,
    },
}

#[derive(Args)]
struct Settings {
    /// Address to listen on.
    #[arg(long, env = "SLIPWAY_ADDR", default_value = "127.0.0.1:3000", global = true)]
    addr: SocketAddr,
    /// Where the embedded SQLite database lives (when DATABASE_URL is unset).
    #[arg(long, env = "SLIPWAY_DATA_DIR", default_value = "data", global = true)]
    data_dir: PathBuf,
    /// sqlite://… or postgres://…; defaults to SQLite in the data directory.
    #[arg(long, env = "DATABASE_URL", global = true)]
    database_url: Option<String>,
    /// The built browser bundle (pkg/ with the wasm, JS and CSS).
    #[arg(long, env = "SLIPWAY_SITE_ROOT", default_value = "target/site", global = true)]
    site_root: String,
    /// The URL people use to reach Slipway; https makes session cookies Secure.
    #[arg(long, env = "SLIPWAY_PUBLIC_URL", global = true)]
    public_url: Option<String>,
    /// Vercel access token. With neither this nor SUPABASE_ACCESS_TOKEN, Slipway runs in
    /// sandbox mode against its simulators; with both, against the real platforms.
    #[arg(long, env = "VERCEL_TOKEN", hide_env_values = true, global = true)]
    vercel_token: Option<String>,
    /// Where Vercel calls go (default https://api.vercel.com; any server that speaks the API).
    #[arg(long, env = "VERCEL_API_URL", global = true)]
    vercel_api_url: Option<String>,
    #[arg(long, env = "VERCEL_TEAM_ID", global = true)]
    vercel_team_id: Option<String>,
    /// Supabase personal access token (sbp_…) or OAuth token.
    #[arg(long, env = "SUPABASE_ACCESS_TOKEN", hide_env_values = true, global = true)]
    supabase_token: Option<String>,
    /// Where Supabase Management API calls go (default https://api.supabase.com).
    #[arg(long, env = "SUPABASE_API_URL", global = true)]
    supabase_api_url: Option<String>,
    /// Organization slug new Supabase projects go in, unless a venture names one.
    #[arg(long, env = "SUPABASE_ORGANIZATION", global = true)]
    supabase_organization: Option<String>,
    /// Cloudflare API token, for ventures whose DNS is at Cloudflare (optional).
    #[arg(long, env = "CLOUDFLARE_API_TOKEN", hide_env_values = true, global = true)]
    cloudflare_token: Option<String>,
    /// Where Cloudflare calls go (default https://api.cloudflare.com/client/v4).
    #[arg(long, env = "CLOUDFLARE_API_URL", global = true)]
    cloudflare_api_url: Option<String>,
    /// The recursive resolvers the DNS doctor asks, comma-separated (`1.1.1.1,8.8.8.8:53`);
    /// default Cloudflare's, Google's and Quad9's. Ignored in sandbox mode.
    #[arg(long, env = "SLIPWAY_DNS_RESOLVERS", global = true, value_delimiter = ',', value_parser = dns_address)]
    dns_resolvers: Vec<SocketAddr>,
    /// A CA certificate file (PEM) trusted beside the public roots when Slipway checks a site
    /// over HTTPS (a domain's, a new deployment's health): for sites behind a private CA.
    /// Ignored in sandbox mode.
    #[arg(long, env = "SLIPWAY_HTTPS_EXTRA_CA", global = true)]
    https_extra_ca: Option<PathBuf>,
    /// The port those HTTPS checks connect to (443). Ignored in sandbox mode.
    #[arg(long, env = "SLIPWAY_HTTPS_PORT", global = true)]
    https_port: Option<u16>,
    /// An authoritative DNS server taking RFC 2136 updates, for ventures with `dns = "rfc2136"`
    /// (`192.0.2.53` or `192.0.2.53:5353`).
    #[arg(long, env = "SLIPWAY_RFC2136_SERVER", global = true, value_parser = dns_address)]
    rfc2136_server: Option<SocketAddr>,
    /// The TSIG key's name, as the server knows it.
    #[arg(long, env = "SLIPWAY_RFC2136_KEY_NAME", global = true)]
    rfc2136_key_name: Option<String>,
    /// The TSIG algorithm: hmac-sha256, hmac-sha384 or hmac-sha512.
    #[arg(long, env = "SLIPWAY_RFC2136_KEY_ALGORITHM", default_value = "hmac-sha256", global = true)]
    rfc2136_key_algorithm: String,
    /// The TSIG key's secret (base64, as `tsig-keygen` or `keymgr` print it).
    #[arg(long, env = "SLIPWAY_RFC2136_KEY_SECRET", hide_env_values = true, global = true)]
    rfc2136_key_secret: Option<String>,
    /// Master key of the secrets vault (32 bytes, base64). Unset: a key file in the data
    /// directory, created on first start.
    #[arg(long, env = "SLIPWAY_MASTER_KEY", hide_env_values = true, global = true)]
    master_key: Option<String>,
    /// Earlier master keys, comma-separated, still needed to read values sealed before a rotation.
    #[arg(long, env = "SLIPWAY_PREVIOUS_MASTER_KEYS", hide_env_values = true, global = true, value_delimiter = ',')]
    previous_master_keys: Vec<String>,
    /// Sandbox: latency the simulators add to every response, in milliseconds.
    #[arg(long, env = "SLIPWAY_SANDBOX_LATENCY_MS", default_value_t = 300, global = true)]
    sandbox_latency_ms: u64,
    /// Sandbox: the token the simulators accept (default: a random one per start). Set it to
    /// drive the sandbox's simulated Vercel and Supabase yourself (their URLs are on the
    /// Connections page), e.g. to change a variable at "Vercel" and watch Slipway notice.
    #[arg(long, env = "SLIPWAY_SANDBOX_TOKEN", hide_env_values = true, global = true)]
    sandbox_token: Option<String>,
    /// Sandbox: share (0..1) of simulator calls that fail transiently (429 or 5xx).
    #[arg(long, env = "SLIPWAY_SANDBOX_FAULT_SHARE", default_value_t = 0.0, global = true)]
    sandbox_fault_share: f64,
    /// Sandbox: a PostgreSQL server URL on which each simulated Supabase project's SQL runs for
    /// real (a database per project), so row-level security is proven and linted. Unset, the
    /// SQL is only recorded and the Database & Auth tab says the policies are unproven.
    #[arg(long, env = "SLIPWAY_SANDBOX_POSTGRES_URL", global = true)]
    sandbox_postgres_url: Option<String>,
    /// How long a job claimed by a crashed process stays locked before another run resumes it.
    #[arg(long, env = "SLIPWAY_JOB_LEASE_SECS", global = true)]
    job_lease_secs: Option<u64>,
    /// Jobs (ventures being applied or destroyed) this process works on at once.
    #[arg(long, env = "SLIPWAY_JOB_CONCURRENCY", global = true)]
    job_concurrency: Option<usize>,
    /// Names this process in job leases and in the log (default: a random id per start).
    #[arg(long, env = "SLIPWAY_INSTANCE_ID", global = true)]
    instance_id: Option<String>,
    /// First-run admin: created at start-up if there are no users yet.
    #[arg(long, env = "SLIPWAY_ADMIN_USERNAME", default_value = "admin", global = true)]
    admin_username: String,
    #[arg(long, env = "SLIPWAY_ADMIN_PASSWORD", hide_env_values = true, global = true)]
    admin_password: Option<String>,
}

/// A DNS server's address: an IP, with `:port` when it is not 53.
fn dns_address(raw: &str) -> Result<SocketAddr, String> {
    let raw = raw.trim();
    raw.parse::<SocketAddr>()
        .or_else(|_| raw.parse::<std::net::IpAddr>().map(|ip| SocketAddr::new(ip, 53)))
        .map_err(|_| format!("{raw:?} is not an IP address (with an optional :port)"))
}

impl Settings {
    /// The RFC 2136 server, when its address is set; its key must be complete.
    fn rfc2136(&self) -> anyhow::Result<Option<slipway_engine::platforms::Rfc2136Access>> {
        let Some(server) = self.rfc2136_server else { return Ok(None) };
        let (Some(key_name), Some(secret)) = (&self.rfc2136_key_name, &self.rfc2136_key_secret) else {
            anyhow::bail!(
                "SLIPWAY_RFC2136_SERVER is set, but its TSIG key is not: set SLIPWAY_RFC2136_KEY_NAME and SLIPWAY_RFC2136_KEY_SECRET"
            );
        };
        let algorithm = self
            .rfc2136_key_algorithm
            .parse()
            .map_err(|rule| anyhow::anyhow!("SLIPWAY_RFC2136_KEY_ALGORITHM {rule}"))?;
        Ok(Some(slipway_engine::platforms::Rfc2136Access {
            server,
            key_name: key_name.clone(),
            algorithm,
            secret: SecretString::from(secret.clone()),
        }))
    }

    /// The engine's configuration, and in sandbox mode the simulators it talks to (they run
    /// as long as the returned `Sandbox` is kept).
    async fn engine_config(&self) -> anyhow::Result<(EngineConfig, Option<Sandbox>)> {
        let database_url = match &self.database_url {
            Some(url) => url.clone(),
            None => {
                create_data_dir(&self.data_dir)?;
                format!("sqlite://{}/slipway.db?mode=rwc", self.data_dir.display())
            }
        };
        let secret = |value: &Option<String>| value.clone().map(SecretString::from);
        let tokens = TokenSettings {
            vercel_token: secret(&self.vercel_token),
            vercel_api_url: self.vercel_api_url.clone(),
            vercel_team_id: self.vercel_team_id.clone(),
            supabase_token: secret(&self.supabase_token),
            supabase_api_url: self.supabase_api_url.clone(),
            supabase_organization: self.supabase_organization.clone(),
            cloudflare_token: secret(&self.cloudflare_token),
            cloudflare_api_url: self.cloudflare_api_url.clone(),
        };
        let (mut platforms, sandbox) = match tokens.into_platforms().map_err(|e| anyhow::anyhow!(e))? {
            Some(mut real) => {
                if !self.dns_resolvers.is_empty() {
                    real.dns.resolvers = self.dns_resolvers.clone();
                }
                if let Some(path) = &self.https_extra_ca {
                    let pem = std::fs::read_to_string(path)
                        .with_context(|| format!("reading SLIPWAY_HTTPS_EXTRA_CA ({})", path.display()))?;
                    real.https.extra_roots.push(pem);
                }
                if let Some(port) = self.https_port {
                    real.https.port = port;
                }
                (real, None)
            }
            None => {
                let share = self.sandbox_fault_share.clamp(0.0, 1.0);
                let faults = FaultPlan {
                    latency: Duration::from_millis(self.sandbox_latency_ms),
                    rate_limit_share: share / 2.0,
                    server_error_share: share / 2.0,
                    retry_after_secs: 1,
                    ..FaultPlan::default()
                };
                let config = SandboxConfig {
                    faults,
                    supabase_database_server: self.sandbox_postgres_url.clone(),
                    ..SandboxConfig::default()
                };
                let (sandbox, platforms) = slipway_app::sandbox::start(&config, secret(&self.sandbox_token))
                    .await
                    .context("starting the sandbox simulators")?;
                (platforms, Some(sandbox))
            }
        };
        platforms.rfc2136 = self.rfc2136()?;
        let previous: Vec<SecretString> =
            self.previous_master_keys.iter().filter(|k| !k.is_empty()).cloned().map(SecretString::from).collect();
        let vault = match &self.master_key {
            Some(key) if !key.is_empty() => VaultSettings::Key { current: SecretString::from(key.clone()), previous },
            _ => {
                create_data_dir(&self.data_dir)?;
                VaultSettings::File { path: self.data_dir.join("master.key"), previous }
            }
        };
        let mut config = EngineConfig::new(database_url, platforms, vault);
        // Given, they replace the defaults of `EngineConfig::new`.
        if let Some(secs) = self.job_lease_secs {
            config.runner.lease = Duration::from_secs(secs.max(3));
        }
        if let Some(jobs) = self.job_concurrency {
            config.runner.concurrency = jobs.max(1);
        }
        if let Some(id) = self.instance_id.as_ref().filter(|id| !id.trim().is_empty()) {
            config.runner.instance_id = id.trim().to_string();
        }
        Ok((config, sandbox))
    }
}

/// The process's log goes through the redactor: a value that reached a log line anyway (a
/// platform's error message quoting it) is scrubbed before it is written.
struct ScrubbedLog;

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for ScrubbedLog {
    type Writer = ScrubbedLine;
    fn make_writer(&'a self) -> ScrubbedLine {
        ScrubbedLine(Vec::new())
    }
}

/// One log event, written out scrubbed when the formatter is done with it.
struct ScrubbedLine(Vec<u8>);

impl std::io::Write for ScrubbedLine {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for ScrubbedLine {
    fn drop(&mut self) {
        use std::io::Write as _;
        let line = String::from_utf8_lossy(&self.0);
        let _ = std::io::stdout().write_all(slipway_engine::redact::scrub(&line).as_bytes());
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn,tower_http=warn".into()),
        )
        .with_writer(ScrubbedLog)
        .init();
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::Serve);
    let command = match command {
        Command::Sim(args) => return simulate(args).await,
        Command::Venture { server, command } => return cli::run(server, command).await,
        Command::Env { server, command } => return cli::run_env(server, command).await,
        Command::Secret { server, command } => return cli::run_secret(server, command).await,
        Command::Auth { server, command } => return cli::run_auth(server, command).await,
        Command::Domain { server, command } => return cli::run_domain(server, command).await,
        Command::Audit { server, limit, json } => return cli::run_audit(server, limit, json).await,
        Command::Connections { server, check, json } => return cli::run_connections(server, check, json).await,
        Command::Vault { command: VaultCommand::NewKey } => {
            println!("{}", secrecy::ExposeSecret::expose_secret(&slipway_engine::vault::generate_key()));
            return Ok(());
        }
        other => other,
    };
    let (config, _sandbox) = cli.settings.engine_config().await?;
    let engine = Engine::open(config).await.context("opening the engine")?;
    match command {
        Command::Sim(_)
        | Command::Venture { .. }
        | Command::Env { .. }
        | Command::Secret { .. }
        | Command::Auth { .. }
        | Command::Domain { .. }
        | Command::Audit { .. }
        | Command::Connections { .. }
        | Command::Vault { command: VaultCommand::NewKey } => {
            unreachable!("handled above")
        }
        Command::Vault { command: VaultCommand::Rotate } => {
            let report = engine.reseal_secrets().await.map_err(explain)?;
            println!("re-sealed {} values under key {}", report.resealed, report.current_key_id);
            for (key_id, count) in &report.per_key {
                let role = if *key_id == report.current_key_id { "current" } else { "earlier" };
                println!("key {key_id} ({role}): {count} values");
            }
            if !report.unreadable.is_empty() {
                bail!(
                    "{} values open with none of the configured keys (add their key to SLIPWAY_PREVIOUS_MASTER_KEYS): {}",
                    report.unreadable.len(),
                    report.unreadable.join(", ")
                );
            }
            Ok(())
        }
        Command::Vault { command: VaultCommand::LeakScan { paths } } => {
            let mut texts = Vec::new();
            for path in &paths {
                read_texts(path, &mut texts).with_context(|| format!("reading {}", path.display()))?;
            }
            let report = engine.leak_scan(&texts).await.map_err(explain)?;
            for leak in &report.leaks {
                println!("{}:{}: {}", leak.source, leak.line, leak.excerpt);
            }
            let scanned = format!("{} database cells and {} files", report.cells, report.texts);
            if report.leaks.is_empty() {
                println!("leak-scan: no secret value in {scanned}");
                Ok(())
            } else {
                bail!("leak-scan: {} lines hold a secret value ({scanned} scanned)", report.leaks.len())
            }
        }
        Command::Serve => serve(engine, &cli.settings).await,
        Command::User { command } => users(&engine, command).await,
        Command::Token { command } => tokens(&engine, command).await,
    }
}

/// A password from SLIPWAY_PASSWORD or, if unset, the first line of stdin (never a flag: it
/// would stay in the shell's history and the process list).
fn read_password() -> anyhow::Result<SecretString> {
    let password = match std::env::var("SLIPWAY_PASSWORD") {
        Ok(password) => password,
        Err(_) => {
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line).context("reading the password from stdin")?;
            line.trim_end_matches(['\r', '\n']).to_string()
        }
    };
    Ok(SecretString::from(password))
}

fn role_arg(raw: &str) -> anyhow::Result<Role> {
    Role::parse(raw).map_err(|e| anyhow::anyhow!("{e}"))
}

/// `slipway user …`: on the server's machine, with the database's own access.
async fn users(engine: &Engine, command: UserCommand) -> anyhow::Result<()> {
    let admin = slipway_engine::auth::User::command_line();
    match command {
        UserCommand::Create { username, role } => {
            let user =
                engine.create_user_unchecked(&username, &read_password()?, role_arg(&role)?).await.map_err(explain)?;
            println!("created {} user {}", user.role.as_str(), user.username);
        }
        UserCommand::List => {
            for record in engine.list_users(&admin).await.map_err(explain)? {
                let state = match record.disabled_at {
                    Some(at) => format!("disabled since {}", format_utc(at)),
                    None => "active".to_string(),
                };
                println!(
                    "{:<24} {:<8} {state}, {} open session(s), since {}",
                    record.user.username,
                    record.user.role.as_str(),
                    record.sessions,
                    format_utc(record.created_at)
                );
            }
        }
        UserCommand::Role { username, role } => {
            engine.set_user_role(&admin, &username, role_arg(&role)?).await.map_err(explain)?;
            println!("{username} is now {role}");
        }
        UserCommand::Disable { username } => {
            engine.set_user_disabled(&admin, &username, true).await.map_err(explain)?;
            println!("{username} is disabled: their sessions ended, their sign-ins and tokens are refused");
        }
        UserCommand::Enable { username } => {
            engine.set_user_disabled(&admin, &username, false).await.map_err(explain)?;
            println!("{username} may sign in again");
        }
        UserCommand::ResetPassword { username } => {
            engine.reset_password(&admin, &username, &read_password()?).await.map_err(explain)?;
            println!("{username} has a new password; their sessions ended");
        }
    }
    Ok(())
}

/// `slipway token …`: on the server's machine, with the database's own access.
async fn tokens(engine: &Engine, command: TokenCommand) -> anyhow::Result<()> {
    match command {
        TokenCommand::Create { username, name, role, expires_in_days } => {
            let role = role_arg(&role)?;
            let token = engine.create_api_token_for(&username, &name, role, expires_in_days).await.map_err(explain)?;
            let days = expires_in_days.unwrap_or(slipway_engine::engine::TOKEN_LIFETIME_DEFAULT_DAYS);
            eprintln!(
                "API token {name:?} for {username} ({}, expires in {days} days); it is shown only now:",
                role.as_str()
            );
            println!("{}", secrecy::ExposeSecret::expose_secret(&token));
        }
        TokenCommand::List { username } => {
            let admin = slipway_engine::auth::User::command_line();
            let now = slipway_engine::time::now_ms();
            for token in engine.list_api_tokens(&admin, username.as_deref()).await.map_err(explain)? {
                println!(
                    "{}  {:<20} {:<16} {:<8} created {}, last used {}, {}",
                    token.id,
                    format!("{:?}", token.name),
                    token.username,
                    token.role.as_str(),
                    format_utc(token.created_at),
                    token.last_used_at.map_or("never".to_string(), format_utc),
                    token.state_at(now),
                );
            }
        }
        TokenCommand::Revoke { id } => {
            engine.revoke_api_token(&slipway_engine::auth::User::command_line(), &id).await.map_err(explain)?;
            println!("token {id} is revoked");
        }
    }
    Ok(())
}

/// Ctrl-C or SIGTERM (what service managers send).
async fn stop_requested() {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("installing a SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
}

async fn serve(engine: Engine, settings: &Settings) -> anyhow::Result<()> {
    if let Some(password) = &settings.admin_password {
        let created = engine
            .ensure_first_admin(&settings.admin_username, &SecretString::from(password.clone()))
            .await
            .map_err(explain)?;
        if created {
            tracing::info!(username = %settings.admin_username, "first-run admin created");
        }
    }
    if engine.user_count().await? == 0 {
        bail!(
            "no users yet: set SLIPWAY_ADMIN_PASSWORD (and optionally SLIPWAY_ADMIN_USERNAME) to create the \
             first admin, or run `slipway user create --username NAME --role admin`"
        );
    }
    let endpoints = engine.endpoints();
    if endpoints.sandbox {
        tracing::info!(
            vercel = %endpoints.vercel,
            supabase = %endpoints.supabase,
            "sandbox mode: platform calls go to the local simulators"
        );
    }
    let runner = engine.start_runner();
    let monitor = engine.start_connection_monitor();
    let scheduler = engine.start_rotation_scheduler();

    let options = LeptosOptions::builder()
        .output_name("slipway")
        .site_root(settings.site_root.as_str())
        .site_pkg_dir("pkg")
        .site_addr(settings.addr)
        .build();
    let state = AppState {
        engine: engine.clone(),
        served_over_https: settings.public_url.as_deref().is_some_and(|u| u.starts_with("https://")),
    };
    let app = router(state, options);
    let listener =
        tokio::net::TcpListener::bind(settings.addr).await.with_context(|| format!("binding {}", settings.addr))?;
    println!("Slipway is listening on http://{}", listener.local_addr()?);
    slipway_app::server::serve(listener, app, stop_requested()).await?;
    engine.shutdown();
    let _ = tokio::join!(runner, monitor, scheduler);
    Ok(())
}

async fn simulate(args: SimArgs) -> anyhow::Result<()> {
    let share = args.fault_share.clamp(0.0, 1.0);
    let faults = FaultPlan {
        latency: Duration::from_millis(args.latency_ms),
        rate_limit_share: share / 2.0,
        server_error_share: share / 2.0,
        dropped_share: args.drop_share.clamp(0.0, 1.0),
        timeout_share: args.timeout_share.clamp(0.0, 1.0),
        hang: Duration::from_secs(args.hang_secs),
        retry_after_secs: 1,
        operations: args.operation_faults,
        seed: args.seed,
    };
    let config = SandboxConfig {
        host: args.host,
        vercel_port: args.vercel_port,
        supabase_port: args.supabase_port,
        cloudflare_port: args.cloudflare_port,
        dns_port: args.dns_port,
        edge_port: args.edge_port,
        faults,
        supabase_ready_after: Duration::from_secs(args.supabase_ready_secs),
        vercel_build_time: Duration::from_millis(1500),
        supabase_database_server: args.postgres_url.clone(),
    };
    let sandbox = Sandbox::start(&config, &args.token).await.context("starting the simulators")?;
    println!("Vercel API:      {}", sandbox.vercel.base_url());
    println!("Supabase API:    {}", sandbox.supabase.base_url());
    println!("Cloudflare API:  {}", sandbox.cloudflare.base_url());
    println!("Public DNS:      {} (UDP and TCP)", sandbox.dns.address());
    println!("Vercel edge:     https://{} (the domains' A records point here)", sandbox.edge.address());
    if let Some(path) = &args.edge_ca_file {
        std::fs::write(path, sandbox.edge.ca_pem()).with_context(|| format!("writing {}", path.display()))?;
        println!("Edge CA:         {}", path.display());
    }
    println!("Simulators running; Ctrl-C stops them.");
    tokio::signal::ctrl_c().await?;
    Ok(())
}

fn explain(err: EngineError) -> anyhow::Error {
    match err {
        EngineError::Invalid(errors) => {
            anyhow::anyhow!(errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))
        }
        other => other.into(),
    }
}

/// `path`'s text (lossy UTF-8), or every file's under it.
fn read_texts(path: &std::path::Path, texts: &mut Vec<(String, String)>) -> std::io::Result<()> {
    if path.is_dir() {
        let mut entries: Vec<_> = std::fs::read_dir(path)?.collect::<Result<_, _>>()?;
        entries.sort_by_key(|e| e.path());
        for entry in entries {
            read_texts(&entry.path(), texts)?;
        }
    } else {
        let bytes = std::fs::read(path)?;
        texts.push((path.display().to_string(), String::from_utf8_lossy(&bytes).into_owned()));
    }
    Ok(())
}

/// The data directory holds the database and the master key: only its owner may enter it.
/// One that exists is left as it is (its owner chose).
fn create_data_dir(path: &std::path::Path) -> anyhow::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if path.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
        .with_context(|| format!("creating data directory {}", path.display()))
}
