//! SQL storage through sqlx's `Any` driver: SQLite is the embedded default, and every
//! statement is written to run unchanged on PostgreSQL (`$n` placeholders, `RETURNING`,
//! BIGINT epoch-millisecond times).

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Row};

use crate::auth::{Role, User};
use crate::time::now_ms;
use crate::vault::Sealed;
use crate::venture::{Venture, VentureStatus};

mod audit;
mod connections;
mod env;
mod events;
mod jobs;
mod resources;
mod rotations;
mod secrets;
mod users;
mod ventures;

pub use audit::AuditEntry;
pub use connections::StoredConnections;
pub use env::{EnvValueRecord, EnvVarRecord, EnvWrite, RevealRecord, Sealer, SyncRecord};
pub use rotations::{NewRotation, RotationRecord, RotationSummary};
pub use users::{TokenRecord, UserRecord};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    /// Set on PostgreSQL, where several instances may share the database.
    postgres_url: Option<std::sync::Arc<str>>,
}

/// The channel on which PostgreSQL announces each new event id to every instance.
pub const EVENTS_CHANNEL: &str = "slipway_events";

/// A job handed to one runner until `lease_expires_at`.
#[derive(Debug, Clone)]
pub struct ClaimedJob {
    pub id: String,
    pub venture_id: String,
    pub kind: String,
    pub attempts: i64,
}

/// The job a venture already has queued or running.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveJob {
    pub id: String,
    pub kind: String,
}

/// A resource Slipway made (or means to make) for a venture.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceRecord {
    /// The platform's id; `None` while only the intent is recorded.
    pub external_id: Option<String>,
    /// What later applies compare against (settings, digests, states), never a secret.
    pub data: serde_json::Value,
}

/// A step of a job as recorded, with its times (epoch ms).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepTimes {
    pub step: String,
    pub status: String,
    pub started_at: Option<i64>,
    pub updated_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepRecord {
    pub status: String,
    pub output: Option<String>,
}

/// One line of a venture's provisioning log (`Event` in /api/v1's OpenAPI document).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[schema(as = Event)]
pub struct EventRecord {
    pub id: i64,
    #[schema(format = "uuid")]
    pub venture_id: String,
    #[schema(required = true)]
    pub job_id: Option<String>,
    pub step: String,
    #[schema(schema_with = event_levels)]
    pub level: String,
    pub message: String,
    pub created_at: i64,
}

/// The schema of [`EventRecord::level`]: what `events::Level` writes (named here, not imported:
/// the event log already depends on the store; the app's document tests check the two agree).
fn event_levels() -> utoipa::openapi::schema::Object {
    crate::venture::wire::one_of(["info", "warn", "error"]).build()
}

impl Store {
    /// Connects (creating a SQLite file if needed) and applies pending migrations.
    pub async fn open(url: &str) -> Result<Store, crate::EngineError> {
        sqlx::any::install_default_drivers();
        let is_sqlite = url.starts_with("sqlite:");
        if is_sqlite {
            owner_only_sqlite_file(url)?;
        }
        let pool = AnyPoolOptions::new()
            // SQLite has one writer at a time: one connection per process means no lock
            // upgrades that fail with SQLITE_BUSY, and statements queue in the pool instead.
            .max_connections(if is_sqlite { 1 } else { 10 })
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if is_sqlite {
                        // WAL lets readers (live logs) proceed while the runner writes.
                        sqlx::query("PRAGMA journal_mode = WAL").execute(&mut *conn).await?;
                        sqlx::query("PRAGMA busy_timeout = 10000").execute(&mut *conn).await?;
                        sqlx::query("PRAGMA foreign_keys = ON").execute(&mut *conn).await?;
                    }
                    Ok(())
                })
            })
            .connect(url)
            .await?;
        MIGRATOR.run(&pool).await?;
        let postgres_url = url.starts_with("postgres").then(|| std::sync::Arc::from(url));
        Ok(Store { pool, postgres_url })
    }

    /// The database URL when it is PostgreSQL (for a notification listener).
    pub fn postgres_url(&self) -> Option<&str> {
        self.postgres_url.as_deref()
    }
}

/// A venture's columns, with its creator's username (ownership is checked by it; usernames are
/// never reused or renamed).
const VENTURE_COLUMNS: &str = "SELECT id, name, repository, status, vercel_project_id, created_at, \
     COALESCE((SELECT username FROM users WHERE users.id = ventures.created_by), '') AS created_by FROM ventures";

/// Event ids follow insertion order (they are SSE ids that clients resume from), so the next id
/// is taken inside the inserting transaction.
async fn insert_event(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    postgres: bool,
    venture_id: &str,
    job_id: Option<&str>,
    step: &str,
    level: &str,
    message: &str,
) -> Result<i64, sqlx::Error> {
    let id: i64 = sqlx::query("UPDATE event_sequence SET last = last + 1 WHERE id = 1 RETURNING last")
        .fetch_one(&mut **tx)
        .await?
        .try_get("last")?;
    sqlx::query(
        "INSERT INTO events (id, venture_id, job_id, step, level, message, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(id)
    .bind(venture_id)
    .bind(job_id)
    .bind(step)
    .bind(level)
    .bind(message)
    .bind(now_ms())
    .execute(&mut **tx)
    .await?;
    if postgres {
        // Delivered when the transaction commits, so a listener never sees an id before its row.
        sqlx::query("SELECT pg_notify($1, $2)").bind(EVENTS_CHANNEL).bind(id.to_string()).execute(&mut **tx).await?;
    }
    Ok(id)
}

fn user_from_row(row: &AnyRow) -> Result<User, sqlx::Error> {
    let role: String = row.try_get("role")?;
    Ok(User {
        id: row.try_get("id")?,
        username: row.try_get("username")?,
        role: Role::parse(&role).map_err(|e| sqlx::Error::Decode(e.to_string().into()))?,
    })
}

fn venture_from_row(row: &AnyRow) -> Result<Venture, sqlx::Error> {
    let status: String = row.try_get("status")?;
    Ok(Venture {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        repository: row.try_get("repository")?,
        status: VentureStatus::parse(&status),
        vercel_project_id: row.try_get("vercel_project_id")?,
        created_at: row.try_get("created_at")?,
        created_by: row.try_get("created_by")?,
    })
}

/// The SQLite database holds sealed secrets, their history and the audit trail: like the master
/// key, it is readable by its owner only. A new file is created so before SQLite opens it (its
/// `-wal` and `-shm` files take the database's mode), and one an older Slipway left readable
/// by others is narrowed.
fn owner_only_sqlite_file(url: &str) -> Result<(), crate::EngineError> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    use std::str::FromStr;
    let options = sqlx::sqlite::SqliteConnectOptions::from_str(url)?;
    let path = options.get_filename();
    if url.contains(":memory:") || path.as_os_str().is_empty() {
        return Ok(());
    }
    let failed =
        |err: std::io::Error| crate::EngineError::Config(format!("the database file {}: {err}", path.display()));
    match std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path) {
        Ok(_) => Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {
            let mode = std::fs::metadata(path).map_err(failed)?.permissions().mode();
            if mode & 0o077 != 0 {
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & 0o700)).map_err(failed)?;
            }
            Ok(())
        }
        // A directory that does not exist: SQLite says so in its own words when it connects.
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(err) => Err(failed(err)),
    }
}
