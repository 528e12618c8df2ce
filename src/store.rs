//! SQL storage through sqlx's `Any` driver: SQLite is the embedded default, and every
//! statement is written to run unchanged on PostgreSQL (`$n` placeholders, `RETURNING`,
//! BIGINT epoch-millisecond times).

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Row};

use crate::auth::{Role, User};
use crate::time::now_ms;
use crate::vault::Sealed;
use crate::venture::{Venture, VentureStatus};

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

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct EventRecord {
    pub id: i64,
    pub venture_id: String,
    pub job_id: Option<String>,
    pub step: String,
    pub level: String,
    pub message: String,
    pub created_at: i64,
}

impl Store {
    /// Connects (creating a SQLite file if needed) and applies pending migrations.
    pub async fn open(url: &str) -> Result<Store, crate::EngineError> {
        sqlx::any::install_default_drivers();
        let is_sqlite = url.starts_with("sqlite:");
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

    // ---- users and sessions ----

    pub async fn count_users(&self) -> Result<i64, sqlx::Error> {
        sqlx::query("SELECT COUNT(*) AS n FROM users").fetch_one(&self.pool).await?.try_get("n")
    }

    pub async fn insert_user(&self, username: &str, password_hash: &str, role: Role) -> Result<User, sqlx::Error> {
        let id = uuid::Uuid::now_v7().to_string();
        sqlx::query("INSERT INTO users (id, username, password_hash, role, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(&id)
            .bind(username)
            .bind(password_hash)
            .bind(role.as_str())
            .bind(now_ms())
            .execute(&self.pool)
            .await?;
        Ok(User { id, username: username.to_string(), role })
    }

    /// The user and their password hash, for login.
    pub async fn user_credentials(&self, username: &str) -> Result<Option<(User, String)>, sqlx::Error> {
        let row = sqlx::query("SELECT id, username, role, password_hash FROM users WHERE username = $1")
            .bind(username)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| Ok((user_from_row(&row)?, row.try_get("password_hash")?))).transpose()
    }

    pub async fn insert_session(&self, token_hash: &str, user_id: &str, expires_at: i64) -> Result<(), sqlx::Error> {
        sqlx::query("INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
            .bind(token_hash)
            .bind(user_id)
            .bind(now_ms())
            .bind(expires_at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn session_user(&self, token_hash: &str) -> Result<Option<User>, sqlx::Error> {
        let row = sqlx::query(
            "SELECT u.id, u.username, u.role FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.token_hash = $1 AND s.expires_at > $2",
        )
        .bind(token_hash)
        .bind(now_ms())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| user_from_row(&row)).transpose()
    }

    pub async fn insert_api_token(
        &self,
        name: &str,
        token_hash: &str,
        user_id: &str,
        role: Role,
    ) -> Result<String, sqlx::Error> {
        let id = uuid::Uuid::now_v7().to_string();
        sqlx::query(
            "INSERT INTO api_tokens (id, name, token_hash, user_id, role, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&id)
        .bind(name)
        .bind(token_hash)
        .bind(user_id)
        .bind(role.as_str())
        .bind(now_ms())
        .execute(&self.pool)
        .await?;
        Ok(id)
    }

    /// The token's user, with the token's role (capped at the user's).
    pub async fn api_token_user(&self, token_hash: &str) -> Result<Option<(User, Role)>, sqlx::Error> {
        let row = sqlx::query(
            "SELECT u.id, u.username, u.role, t.role AS token_role FROM api_tokens t JOIN users u ON u.id = t.user_id \
             WHERE t.token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            let token_role: String = row.try_get("token_role")?;
            let role = Role::parse(&token_role).map_err(|e| sqlx::Error::Decode(e.to_string().into()))?;
            Ok((user_from_row(&row)?, role))
        })
        .transpose()
    }

    pub async fn user_by_name(&self, username: &str) -> Result<Option<User>, sqlx::Error> {
        let row = sqlx::query("SELECT id, username, role FROM users WHERE username = $1")
            .bind(username)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| user_from_row(&row)).transpose()
    }

    /// The venture an earlier create with this key made, and the digest of its body.
    pub async fn idempotent_create(&self, user_id: &str, key: &str) -> Result<Option<(String, String)>, sqlx::Error> {
        let row = sqlx::query(
            "SELECT request_digest, venture_id FROM idempotency_keys WHERE user_id = $1 AND idempotency_key = $2",
        )
        .bind(user_id)
        .bind(key)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| Ok((row.try_get("request_digest")?, row.try_get("venture_id")?))).transpose()
    }

    pub async fn remember_idempotent_create(
        &self,
        user_id: &str,
        key: &str,
        digest: &str,
        venture_id: &str,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO idempotency_keys (user_id, idempotency_key, request_digest, venture_id, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(user_id)
        .bind(key)
        .bind(digest)
        .bind(venture_id)
        .bind(now_ms())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn delete_session(&self, token_hash: &str) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1").bind(token_hash).execute(&self.pool).await?;
        Ok(())
    }

    // ---- ventures ----

    /// Creates the venture, its provisioning job and the first log line in one transaction:
    /// either all three exist or none does.
    pub async fn insert_venture_with_job(
        &self,
        name: &str,
        repository: &str,
        spec_json: &str,
        created_by: &str,
        job_kind: &str,
    ) -> Result<(Venture, String), sqlx::Error> {
        let now = now_ms();
        let venture_id = uuid::Uuid::now_v7().to_string();
        let job_id = uuid::Uuid::now_v7().to_string();
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO ventures (id, name, repository, spec, status, created_by, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
        )
        .bind(&venture_id)
        .bind(name)
        .bind(repository)
        .bind(spec_json)
        .bind(VentureStatus::Provisioning.as_str())
        .bind(created_by)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO jobs (id, venture_id, kind, status, attempts, run_after, created_at, updated_at) \
             VALUES ($1, $2, $3, 'queued', 0, $4, $4, $4)",
        )
        .bind(&job_id)
        .bind(&venture_id)
        .bind(job_kind)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        insert_event(
            &mut tx,
            self.postgres_url.is_some(),
            &venture_id,
            Some(&job_id),
            "queued",
            "info",
            "Provisioning job queued",
        )
        .await?;
        tx.commit().await?;
        let venture = Venture {
            id: venture_id,
            name: name.to_string(),
            repository: repository.to_string(),
            status: VentureStatus::Provisioning,
            vercel_project_id: None,
            created_at: now,
        };
        Ok((venture, job_id))
    }

    /// Queues a job for an existing venture, unless one is already queued or running for it
    /// (then returns that one's id): two applies of one venture never run side by side.
    /// Queues a job for the venture, or returns the job already queued or running for it (a
    /// venture has at most one at a time).
    pub async fn queue_job(
        &self,
        venture_id: &str,
        kind: &str,
        status: VentureStatus,
        note: &str,
    ) -> Result<Result<String, ActiveJob>, sqlx::Error> {
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        let active = sqlx::query(
            "SELECT id, kind FROM jobs WHERE venture_id = $1 AND status IN ('queued', 'running') \
             ORDER BY created_at LIMIT 1",
        )
        .bind(venture_id)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(row) = active {
            let active = ActiveJob { id: row.try_get("id")?, kind: row.try_get("kind")? };
            tx.rollback().await?;
            return Ok(Err(active));
        }
        let job_id = self.insert_job(&mut tx, venture_id, kind, status, now, note).await?;
        tx.commit().await?;
        Ok(Ok(job_id))
    }

    /// Queues a destroy for the venture. An apply queued or running is stopped first: it is
    /// marked failed, its runner finds out at its next lease renewal, stops and lets go of the
    /// lease, and only then may the destroy be claimed (see `claim_job`), so no step of the
    /// apply is still under way when the destroy starts.
    /// Returns the destroy's job id, or the destroy already queued or running.
    pub async fn queue_destroy(
        &self,
        venture_id: &str,
        apply_kind: &str,
        destroy_kind: &str,
        note: &str,
    ) -> Result<String, sqlx::Error> {
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        let active = sqlx::query(
            "SELECT id, kind FROM jobs WHERE venture_id = $1 AND status IN ('queued', 'running') \
             ORDER BY created_at",
        )
        .bind(venture_id)
        .fetch_all(&mut *tx)
        .await?;
        for row in &active {
            let (id, kind): (String, String) = (row.try_get("id")?, row.try_get("kind")?);
            if kind == destroy_kind {
                tx.rollback().await?;
                return Ok(id);
            }
            if kind == apply_kind {
                sqlx::query("UPDATE jobs SET status = 'failed', last_error = $1, updated_at = $2 WHERE id = $3")
                    .bind("stopped: the venture is being destroyed")
                    .bind(now)
                    .bind(&id)
                    .execute(&mut *tx)
                    .await?;
                let message = "The apply under way stops: the venture is being destroyed";
                insert_event(&mut tx, self.postgres_url.is_some(), venture_id, Some(&id), "cancelled", "warn", message)
                    .await?;
            }
        }
        let job_id = self.insert_job(&mut tx, venture_id, destroy_kind, VentureStatus::Destroying, now, note).await?;
        tx.commit().await?;
        Ok(job_id)
    }

    /// A queued job for the venture, due at `run_after`, with the venture's new status and the
    /// first log line, inside the caller's transaction.
    async fn insert_job(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        venture_id: &str,
        kind: &str,
        status: VentureStatus,
        run_after: i64,
        note: &str,
    ) -> Result<String, sqlx::Error> {
        let now = now_ms();
        let job_id = uuid::Uuid::now_v7().to_string();
        sqlx::query(
            "INSERT INTO jobs (id, venture_id, kind, status, attempts, run_after, created_at, updated_at) \
             VALUES ($1, $2, $3, 'queued', 0, $4, $5, $5)",
        )
        .bind(&job_id)
        .bind(venture_id)
        .bind(kind)
        .bind(run_after)
        .bind(now)
        .execute(&mut **tx)
        .await?;
        sqlx::query("UPDATE ventures SET status = $1, updated_at = $2 WHERE id = $3")
            .bind(status.as_str())
            .bind(now)
            .bind(venture_id)
            .execute(&mut **tx)
            .await?;
        insert_event(tx, self.postgres_url.is_some(), venture_id, Some(&job_id), "queued", "info", note).await?;
        Ok(job_id)
    }

    pub async fn venture_name_taken(&self, name: &str) -> Result<bool, sqlx::Error> {
        let row =
            sqlx::query("SELECT COUNT(*) AS n FROM ventures WHERE name = $1").bind(name).fetch_one(&self.pool).await?;
        Ok(row.try_get::<i64, _>("n")? > 0)
    }

    pub async fn list_ventures(&self) -> Result<Vec<Venture>, sqlx::Error> {
        let rows =
            sqlx::query(&format!("{VENTURE_COLUMNS} ORDER BY created_at DESC, id DESC")).fetch_all(&self.pool).await?;
        rows.iter().map(venture_from_row).collect()
    }

    pub async fn venture(&self, id: &str) -> Result<Option<Venture>, sqlx::Error> {
        let row = sqlx::query(&format!("{VENTURE_COLUMNS} WHERE id = $1")).bind(id).fetch_optional(&self.pool).await?;
        row.as_ref().map(venture_from_row).transpose()
    }

    pub async fn set_venture_status(&self, id: &str, status: VentureStatus) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE ventures SET status = $1, updated_at = $2 WHERE id = $3")
            .bind(status.as_str())
            .bind(now_ms())
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn set_vercel_project(&self, id: &str, project_id: &str) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE ventures SET vercel_project_id = $1, updated_at = $2 WHERE id = $3")
            .bind(project_id)
            .bind(now_ms())
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn set_venture_spec(&self, id: &str, spec_json: &str) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE ventures SET spec = $1, updated_at = $2 WHERE id = $3")
            .bind(spec_json)
            .bind(now_ms())
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The venture's spec as stored (JSON), if it has one.
    pub async fn venture_spec(&self, id: &str) -> Result<Option<String>, sqlx::Error> {
        let row = sqlx::query("SELECT spec FROM ventures WHERE id = $1").bind(id).fetch_optional(&self.pool).await?;
        Ok(row.map(|row| row.try_get::<Option<String>, _>("spec")).transpose()?.flatten())
    }

    // ---- resources and secrets ----

    pub async fn resource(&self, venture_id: &str, kind: &str) -> Result<Option<ResourceRecord>, sqlx::Error> {
        let row = sqlx::query("SELECT external_id, data FROM venture_resources WHERE venture_id = $1 AND kind = $2")
            .bind(venture_id)
            .bind(kind)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| {
            let data: String = row.try_get("data")?;
            Ok(ResourceRecord {
                external_id: row.try_get("external_id")?,
                data: serde_json::from_str(&data).unwrap_or(serde_json::Value::Null),
            })
        })
        .transpose()
    }

    pub async fn resources(&self, venture_id: &str) -> Result<Vec<(String, ResourceRecord)>, sqlx::Error> {
        let rows =
            sqlx::query("SELECT kind, external_id, data FROM venture_resources WHERE venture_id = $1 ORDER BY kind")
                .bind(venture_id)
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|row| {
                let data: String = row.try_get("data")?;
                Ok((
                    row.try_get("kind")?,
                    ResourceRecord {
                        external_id: row.try_get("external_id")?,
                        data: serde_json::from_str(&data).unwrap_or(serde_json::Value::Null),
                    },
                ))
            })
            .collect()
    }

    /// Records a resource (or, with no `external_id`, the intent to create it).
    pub async fn set_resource(
        &self,
        venture_id: &str,
        kind: &str,
        external_id: Option<&str>,
        data: &serde_json::Value,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO venture_resources (venture_id, kind, external_id, data, updated_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (venture_id, kind) DO UPDATE SET external_id = excluded.external_id, data = excluded.data, \
                 updated_at = excluded.updated_at",
        )
        .bind(venture_id)
        .bind(kind)
        .bind(external_id)
        .bind(data.to_string())
        .bind(now_ms())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn delete_resource(&self, venture_id: &str, kind: &str) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM venture_resources WHERE venture_id = $1 AND kind = $2")
            .bind(venture_id)
            .bind(kind)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn secret(&self, venture_id: &str, name: &str) -> Result<Option<Sealed>, sqlx::Error> {
        let row = sqlx::query("SELECT key_id, nonce, ciphertext FROM secrets WHERE venture_id = $1 AND name = $2")
            .bind(venture_id)
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| {
            Ok(Sealed {
                key_id: row.try_get("key_id")?,
                nonce: row.try_get("nonce")?,
                ciphertext: row.try_get("ciphertext")?,
            })
        })
        .transpose()
    }

    pub async fn put_secret(&self, venture_id: &str, name: &str, sealed: &Sealed) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO secrets (venture_id, name, key_id, nonce, ciphertext, updated_at) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (venture_id, name) DO UPDATE SET key_id = excluded.key_id, nonce = excluded.nonce, \
                 ciphertext = excluded.ciphertext, updated_at = excluded.updated_at",
        )
        .bind(venture_id)
        .bind(name)
        .bind(&sealed.key_id)
        .bind(&sealed.nonce)
        .bind(&sealed.ciphertext)
        .bind(now_ms())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Up to `limit` sealed values whose key is not `key_id`, as (venture, name, sealed).
    pub async fn secrets_not_sealed_by(
        &self,
        key_id: &str,
        limit: i64,
    ) -> Result<Vec<(String, String, Sealed)>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT venture_id, name, key_id, nonce, ciphertext FROM secrets WHERE key_id <> $1 \
             ORDER BY venture_id, name LIMIT $2",
        )
        .bind(key_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let sealed = Sealed {
                    key_id: row.try_get("key_id")?,
                    nonce: row.try_get("nonce")?,
                    ciphertext: row.try_get("ciphertext")?,
                };
                Ok((row.try_get("venture_id")?, row.try_get("name")?, sealed))
            })
            .collect()
    }

    /// How many sealed values each key id holds.
    pub async fn secrets_per_key(&self) -> Result<Vec<(String, i64)>, sqlx::Error> {
        let rows = sqlx::query("SELECT key_id, COUNT(*) AS n FROM secrets GROUP BY key_id ORDER BY key_id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|row| Ok((row.try_get("key_id")?, row.try_get("n")?))).collect()
    }

    /// Replaces `old` with `new` only if the stored value is still `old` (a step may have
    /// written a fresh value meanwhile, which must not be overwritten); returns whether it did.
    pub async fn replace_secret(
        &self,
        venture_id: &str,
        name: &str,
        old: &Sealed,
        new: &Sealed,
    ) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE secrets SET key_id = $1, nonce = $2, ciphertext = $3, updated_at = $4 \
             WHERE venture_id = $5 AND name = $6 AND key_id = $7 AND nonce = $8",
        )
        .bind(&new.key_id)
        .bind(&new.nonce)
        .bind(&new.ciphertext)
        .bind(now_ms())
        .bind(venture_id)
        .bind(name)
        .bind(&old.key_id)
        .bind(&old.nonce)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn delete_secrets(&self, venture_id: &str) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM secrets WHERE venture_id = $1").bind(venture_id).execute(&self.pool).await?;
        Ok(())
    }

    pub async fn secret_names(&self, venture_id: &str) -> Result<Vec<String>, sqlx::Error> {
        let rows = sqlx::query("SELECT name FROM secrets WHERE venture_id = $1 ORDER BY name")
            .bind(venture_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|row| row.try_get("name")).collect()
    }

    // ---- jobs ----

    /// Hands the oldest runnable job to `owner` until `now + lease_ms`. A job is runnable when
    /// it is queued and due, or when it is running under a lease that has expired (its runner died),
    /// and no other job of its venture still holds a live lease (a stopped apply whose runner has
    /// not yet noticed keeps a destroy waiting).
    /// On PostgreSQL, instances skip rows another instance is claiming instead of queueing behind
    /// its lock; the outer condition keeps the claim exactly-once on either database.
    pub async fn claim_job(&self, owner: &str, lease_ms: i64) -> Result<Option<ClaimedJob>, sqlx::Error> {
        let now = now_ms();
        let skip_locked = if self.postgres_url.is_some() { " FOR UPDATE SKIP LOCKED" } else { "" };
        let sql = format!(
            "UPDATE jobs SET status = 'running', lease_owner = $1, lease_expires_at = $2, \
                 attempts = attempts + 1, updated_at = $3 \
             WHERE id = (SELECT id FROM jobs \
                 WHERE ((status = 'queued' AND run_after <= $3) \
                     OR (status = 'running' AND lease_expires_at < $3)) \
                   AND NOT EXISTS (SELECT 1 FROM jobs AS other WHERE other.venture_id = jobs.venture_id \
                     AND other.id <> jobs.id AND other.lease_expires_at >= $3) \
                 ORDER BY run_after, created_at LIMIT 1{skip_locked}) \
               AND (status = 'queued' OR lease_expires_at < $3) \
             RETURNING id, venture_id, kind, attempts"
        );
        let row = sqlx::query(&sql).bind(owner).bind(now + lease_ms).bind(now).fetch_optional(&self.pool).await?;
        row.map(|row| {
            Ok(ClaimedJob {
                id: row.try_get("id")?,
                venture_id: row.try_get("venture_id")?,
                kind: row.try_get("kind")?,
                attempts: row.try_get("attempts")?,
            })
        })
        .transpose()
    }

    /// Puts the jobs `owner` is running back in the queue (a clean shutdown). The interrupted
    /// attempt is not counted: steps are idempotent, so whoever claims next simply resumes.
    pub async fn release_jobs(&self, owner: &str) -> Result<u64, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE jobs SET status = 'queued', lease_owner = NULL, lease_expires_at = NULL, \
                 attempts = attempts - 1, run_after = $1, updated_at = $1 \
             WHERE lease_owner = $2 AND status = 'running'",
        )
        .bind(now_ms())
        .bind(owner)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    /// Extends the lease; false means another runner has taken the job over.
    pub async fn renew_lease(&self, job_id: &str, owner: &str, lease_ms: i64) -> Result<bool, sqlx::Error> {
        let now = now_ms();
        let done = sqlx::query(
            "UPDATE jobs SET lease_expires_at = $1, updated_at = $2 \
             WHERE id = $3 AND lease_owner = $4 AND status = 'running'",
        )
        .bind(now + lease_ms)
        .bind(now)
        .bind(job_id)
        .bind(owner)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Lets go of the lease of a job this runner no longer works on (it was stopped), so work
    /// waiting on it can start at once; a no-op if another runner holds it now.
    pub async fn drop_lease(&self, job_id: &str, owner: &str) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE jobs SET lease_owner = NULL, lease_expires_at = NULL, updated_at = $1 \
             WHERE id = $2 AND lease_owner = $3 AND status <> 'running'",
        )
        .bind(now_ms())
        .bind(job_id)
        .bind(owner)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Ends the job as 'succeeded' or 'failed', or puts it back in the queue until `run_after`.
    pub async fn finish_job(
        &self,
        job_id: &str,
        owner: &str,
        status: &str,
        run_after: Option<i64>,
        last_error: Option<&str>,
    ) -> Result<(), sqlx::Error> {
        let now = now_ms();
        sqlx::query(
            "UPDATE jobs SET status = $1, run_after = $2, last_error = $3, lease_owner = NULL, \
                 lease_expires_at = NULL, updated_at = $4 \
             WHERE id = $5 AND lease_owner = $6 AND status = 'running'",
        )
        .bind(status)
        .bind(run_after.unwrap_or(now))
        .bind(last_error)
        .bind(now)
        .bind(job_id)
        .bind(owner)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn job_status(&self, job_id: &str) -> Result<Option<String>, sqlx::Error> {
        sqlx::query("SELECT status FROM jobs WHERE id = $1")
            .bind(job_id)
            .fetch_optional(&self.pool)
            .await?
            .map(|row| row.try_get("status"))
            .transpose()
    }

    /// The steps recorded by the venture's newest job.
    pub async fn latest_job_steps(&self, venture_id: &str) -> Result<Vec<StepTimes>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT step, status, started_at, updated_at FROM job_steps WHERE job_id = \
                 (SELECT id FROM jobs WHERE venture_id = $1 ORDER BY created_at DESC, id DESC LIMIT 1)",
        )
        .bind(venture_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(StepTimes {
                    step: row.try_get("step")?,
                    status: row.try_get("status")?,
                    started_at: row.try_get("started_at")?,
                    updated_at: row.try_get("updated_at")?,
                })
            })
            .collect()
    }

    /// For every venture with steps recorded: how many steps its newest job has done.
    pub async fn steps_done_per_venture(&self) -> Result<Vec<(String, i64)>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT j.venture_id AS venture_id, \
                 SUM(CASE WHEN s.status = 'done' THEN 1 ELSE 0 END) AS done \
             FROM jobs j JOIN job_steps s ON s.job_id = j.id \
             WHERE j.id = (SELECT j2.id FROM jobs j2 WHERE j2.venture_id = j.venture_id \
                 ORDER BY j2.created_at DESC, j2.id DESC LIMIT 1) \
             GROUP BY j.venture_id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|row| Ok((row.try_get("venture_id")?, row.try_get("done")?))).collect()
    }

    pub async fn step(&self, job_id: &str, step: &str) -> Result<Option<StepRecord>, sqlx::Error> {
        let row = sqlx::query("SELECT status, output FROM job_steps WHERE job_id = $1 AND step = $2")
            .bind(job_id)
            .bind(step)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| Ok(StepRecord { status: row.try_get("status")?, output: row.try_get("output")? })).transpose()
    }

    pub async fn set_step(
        &self,
        job_id: &str,
        step: &str,
        status: &str,
        output: Option<&str>,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO job_steps (job_id, step, status, output, updated_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (job_id, step) DO UPDATE SET status = excluded.status, output = excluded.output, \
                 updated_at = excluded.updated_at",
        )
        .bind(job_id)
        .bind(step)
        .bind(status)
        .bind(output)
        .bind(now_ms())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Records that `owner` starts `step`, but only while `owner` still holds the job's lease:
    /// false means another instance has taken the job over and this one must not touch it.
    pub async fn start_step(&self, job_id: &str, owner: &str, step: &str) -> Result<bool, sqlx::Error> {
        let now = now_ms();
        let done = sqlx::query(
            "INSERT INTO job_steps (job_id, step, status, output, started_at, updated_at) \
             SELECT $1, $2, 'intent', NULL, $3, $3 WHERE EXISTS (SELECT 1 FROM jobs \
                 WHERE id = $1 AND lease_owner = $4 AND status = 'running' AND lease_expires_at > $3) \
             ON CONFLICT (job_id, step) DO UPDATE SET status = excluded.status, output = NULL, \
                 started_at = excluded.started_at, updated_at = excluded.updated_at",
        )
        .bind(job_id)
        .bind(step)
        .bind(now)
        .bind(owner)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    // ---- events ----

    pub async fn append_event(
        &self,
        venture_id: &str,
        job_id: Option<&str>,
        step: &str,
        level: &str,
        message: &str,
    ) -> Result<i64, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let id = insert_event(&mut tx, self.postgres_url.is_some(), venture_id, job_id, step, level, message).await?;
        tx.commit().await?;
        Ok(id)
    }

    pub async fn events_after(
        &self,
        venture_id: &str,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<EventRecord>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT id, venture_id, job_id, step, level, message, created_at FROM events \
             WHERE venture_id = $1 AND id > $2 ORDER BY id LIMIT $3",
        )
        .bind(venture_id)
        .bind(after_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(EventRecord {
                    id: row.try_get("id")?,
                    venture_id: row.try_get("venture_id")?,
                    job_id: row.try_get("job_id")?,
                    step: row.try_get("step")?,
                    level: row.try_get("level")?,
                    message: row.try_get("message")?,
                    created_at: row.try_get("created_at")?,
                })
            })
            .collect()
    }
}

const VENTURE_COLUMNS: &str = "SELECT id, name, repository, status, vercel_project_id, created_at FROM ventures";

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
    })
}
