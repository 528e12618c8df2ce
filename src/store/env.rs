//! A venture's environment variables: their declarations, every version of every value (the
//! sealed values themselves are rows of `secrets`), the reveal audit, and what was last
//! written to Vercel.

use super::*;
use secrecy::SecretString;

use crate::env::{Disclosure, Environment, Source, sealed_name};

/// Versions kept per (variable, environment); older ones are dropped with their sealed value.
const VERSIONS_KEPT: i64 = 10;

/// A variable as declared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvVarRecord {
    pub key: String,
    pub description: String,
    pub secret: bool,
    pub source: Source,
    pub generator: Option<String>,
    /// Declared by the venture's spec (a spec that drops it removes it).
    pub from_spec: bool,
    pub updated_at: i64,
}

/// One version of a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvValueRecord {
    pub key: String,
    pub environment: Environment,
    pub version: i64,
    /// The value was removed for this environment in this version.
    pub removed: bool,
    pub set_by: String,
    pub set_at: i64,
}

/// A variable's declaration and the values it gets: each a value, or `None` to remove it.
pub struct EnvWrite {
    pub var: EnvVarRecord,
    pub changes: Vec<(Environment, Option<SecretString>)>,
    /// Who made the change (a username, shown in the history).
    pub set_by: String,
}

/// Seals `value` for (venture id, sealed name).
pub type Sealer<'a> = &'a (dyn Fn(&str, &str, &SecretString) -> Sealed + Sync);

/// One value disclosed in clear: an admin's reveal, or a value `env pull` handed out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevealRecord {
    pub key: String,
    pub environment: Environment,
    pub version: i64,
    pub revealed_by: String,
    pub revealed_at: i64,
    pub via: Disclosure,
}

/// What Slipway last wrote to Vercel for one (key, environment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncRecord {
    pub key: String,
    pub environment: Environment,
    /// The Vercel entry's id: Slipway owns only the entries recorded here.
    pub vercel_id: Option<String>,
    /// A keyed fingerprint of the key, type, target and value written.
    pub fingerprint: Option<String>,
    /// Vercel's `updatedAt` after the write: a newer one means someone changed it there.
    pub vercel_updated_at: Option<i64>,
    /// Why Vercel refused the last write, if it did.
    pub failure: Option<String>,
}

fn environment(row: &AnyRow) -> Result<Environment, sqlx::Error> {
    let raw: String = row.try_get("environment")?;
    Environment::parse("environment", &raw).map_err(|e| sqlx::Error::Decode(e.to_string().into()))
}

fn disclosure(row: &AnyRow) -> Result<Disclosure, sqlx::Error> {
    let raw: String = row.try_get("via")?;
    Disclosure::parse(&raw).ok_or_else(|| sqlx::Error::Decode(format!("unknown disclosure {raw:?}").into()))
}

fn value_record(row: &AnyRow) -> Result<EnvValueRecord, sqlx::Error> {
    Ok(EnvValueRecord {
        key: row.try_get("key")?,
        environment: environment(row)?,
        version: row.try_get("version")?,
        removed: row.try_get::<i64, _>("removed")? == 1,
        set_by: row.try_get("set_by")?,
        set_at: row.try_get("set_at")?,
    })
}

impl Store {
    pub async fn env_vars(&self, venture_id: &str) -> Result<Vec<EnvVarRecord>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT key, description, secret, source, generator, from_spec, updated_at FROM env_vars \
             WHERE venture_id = $1 ORDER BY key",
        )
        .bind(venture_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let source: String = row.try_get("source")?;
                Ok(EnvVarRecord {
                    key: row.try_get("key")?,
                    description: row.try_get("description")?,
                    secret: row.try_get::<i64, _>("secret")? == 1,
                    source: Source::parse(&source).ok_or_else(|| sqlx::Error::Decode("unknown env source".into()))?,
                    generator: row.try_get("generator")?,
                    from_spec: row.try_get::<i64, _>("from_spec")? == 1,
                    updated_at: row.try_get("updated_at")?,
                })
            })
            .collect()
    }

    /// The current (highest) version of every (key, environment) of the venture.
    pub async fn env_current_values(&self, venture_id: &str) -> Result<Vec<EnvValueRecord>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT v.key, v.environment, v.version, v.removed, v.set_by, v.set_at FROM env_values v \
             WHERE v.venture_id = $1 AND v.version = (SELECT MAX(w.version) FROM env_values w \
                 WHERE w.venture_id = v.venture_id AND w.key = v.key AND w.environment = v.environment) \
             ORDER BY v.key, v.environment",
        )
        .bind(venture_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(value_record).collect()
    }

    /// Every kept version of one (key, environment), newest first.
    pub async fn env_history(
        &self,
        venture_id: &str,
        key: &str,
        environment: Environment,
    ) -> Result<Vec<EnvValueRecord>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT key, environment, version, removed, set_by, set_at FROM env_values \
             WHERE venture_id = $1 AND key = $2 AND environment = $3 ORDER BY version DESC",
        )
        .bind(venture_id)
        .bind(key)
        .bind(environment.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(value_record).collect()
    }

    /// Declares (or re-declares) a variable and records its new values, in one transaction.
    pub async fn put_env_var(&self, venture_id: &str, write: &EnvWrite, seal: Sealer<'_>) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        write_env_var(&mut tx, venture_id, write, seal).await?;
        tx.commit().await
    }

    /// Removes a variable, every version of its values and its sync record.
    pub async fn delete_env_var(&self, venture_id: &str, key: &str) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let versions = sqlx::query("SELECT environment, version FROM env_values WHERE venture_id = $1 AND key = $2")
            .bind(venture_id)
            .bind(key)
            .fetch_all(&mut *tx)
            .await?;
        for row in &versions {
            delete_version(&mut tx, venture_id, key, environment(row)?, row.try_get("version")?).await?;
        }
        sqlx::query("DELETE FROM env_vars WHERE venture_id = $1 AND key = $2")
            .bind(venture_id)
            .bind(key)
            .execute(&mut *tx)
            .await?;
        tx.commit().await
    }

    /// Everything of the venture's environment (when it is destroyed). Its sealed values go
    /// with the venture's other secrets.
    pub async fn delete_env(&self, venture_id: &str) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        for table in ["env_values", "env_vars", "env_sync"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE venture_id = $1"))
                .bind(venture_id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await
    }

    pub async fn record_reveal(
        &self,
        venture_id: &str,
        key: &str,
        environment: Environment,
        version: i64,
        actor: &str,
        via: Disclosure,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO env_reveals (id, venture_id, key, environment, version, revealed_by, revealed_at, via) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(venture_id)
        .bind(key)
        .bind(environment.as_str())
        .bind(version)
        .bind(actor)
        .bind(now_ms())
        .bind(via.as_str())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The venture's reveals, newest first.
    pub async fn env_reveals(&self, venture_id: &str) -> Result<Vec<RevealRecord>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT key, environment, version, revealed_by, revealed_at, via FROM env_reveals WHERE venture_id = $1 \
             ORDER BY revealed_at DESC, id DESC",
        )
        .bind(venture_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(RevealRecord {
                    key: row.try_get("key")?,
                    environment: environment(row)?,
                    version: row.try_get("version")?,
                    revealed_by: row.try_get("revealed_by")?,
                    revealed_at: row.try_get("revealed_at")?,
                    via: disclosure(row)?,
                })
            })
            .collect()
    }

    pub async fn env_sync_records(&self, venture_id: &str) -> Result<Vec<SyncRecord>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT key, environment, vercel_id, fingerprint, vercel_updated_at, failure FROM env_sync \
             WHERE venture_id = $1 ORDER BY key, environment",
        )
        .bind(venture_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(SyncRecord {
                    key: row.try_get("key")?,
                    environment: environment(row)?,
                    vercel_id: row.try_get("vercel_id")?,
                    fingerprint: row.try_get("fingerprint")?,
                    vercel_updated_at: row.try_get("vercel_updated_at")?,
                    failure: row.try_get("failure")?,
                })
            })
            .collect()
    }

    /// Records what a sync wrote (and failed to write), and forgets the entries it deleted,
    /// in one transaction.
    pub async fn record_env_sync(
        &self,
        venture_id: &str,
        written: &[SyncRecord],
        deleted: &[(String, Environment)],
    ) -> Result<(), sqlx::Error> {
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        for record in written {
            sqlx::query(
                "INSERT INTO env_sync (venture_id, key, environment, vercel_id, fingerprint, vercel_updated_at, \
                     failure, written_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                 ON CONFLICT (venture_id, key, environment) DO UPDATE SET vercel_id = excluded.vercel_id, \
                     fingerprint = excluded.fingerprint, vercel_updated_at = excluded.vercel_updated_at, \
                     failure = excluded.failure, written_at = excluded.written_at",
            )
            .bind(venture_id)
            .bind(&record.key)
            .bind(record.environment.as_str())
            .bind(&record.vercel_id)
            .bind(&record.fingerprint)
            .bind(record.vercel_updated_at)
            .bind(record.failure.as_deref().map(crate::redact::scrub))
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        for (key, environment) in deleted {
            sqlx::query("DELETE FROM env_sync WHERE venture_id = $1 AND key = $2 AND environment = $3")
                .bind(venture_id)
                .bind(key)
                .bind(environment.as_str())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await
    }
}

/// Writes one variable's declaration and its new values: each change is the next version of its
/// environment, its sealed value beside it under that version's name (bound into the
/// ciphertext), and versions beyond the kept ones are dropped with their sealed values.
pub(super) async fn write_env_var(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    venture_id: &str,
    write: &EnvWrite,
    seal: Sealer<'_>,
) -> Result<(), sqlx::Error> {
    let now = now_ms();
    let actor = write.set_by.as_str();
    sqlx::query(
        "INSERT INTO env_vars (venture_id, key, description, secret, source, generator, from_spec, created_by, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) \
         ON CONFLICT (venture_id, key) DO UPDATE SET description = excluded.description, \
             secret = excluded.secret, source = excluded.source, generator = excluded.generator, \
             from_spec = excluded.from_spec, updated_at = excluded.updated_at",
    )
    .bind(venture_id)
    .bind(&write.var.key)
    .bind(&write.var.description)
    .bind(i64::from(write.var.secret))
    .bind(write.var.source.as_str())
    .bind(&write.var.generator)
    .bind(i64::from(write.var.from_spec))
    .bind(actor)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    for (environment, value) in &write.changes {
        let environment = *environment;
        let latest: Option<i64> = sqlx::query_scalar(
            "SELECT MAX(version) FROM env_values WHERE venture_id = $1 AND key = $2 AND environment = $3",
        )
        .bind(venture_id)
        .bind(&write.var.key)
        .bind(environment.as_str())
        .fetch_one(&mut **tx)
        .await?;
        let version = latest.unwrap_or(0) + 1;
        sqlx::query(
            "INSERT INTO env_values (venture_id, key, environment, version, removed, set_by, set_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(venture_id)
        .bind(&write.var.key)
        .bind(environment.as_str())
        .bind(version)
        .bind(i64::from(value.is_none()))
        .bind(actor)
        .bind(now)
        .execute(&mut **tx)
        .await?;
        if let Some(value) = value {
            let name = sealed_name(environment, &write.var.key, version);
            let sealed = seal(venture_id, &name, value);
            Store::insert_secret(tx, venture_id, &name, &sealed, now).await?;
        }
        // Versions beyond the kept ones go, with their sealed values.
        let dropped: Vec<i64> = sqlx::query_scalar(
            "SELECT version FROM env_values WHERE venture_id = $1 AND key = $2 AND environment = $3 \
             AND version <= $4",
        )
        .bind(venture_id)
        .bind(&write.var.key)
        .bind(environment.as_str())
        .bind(version - VERSIONS_KEPT)
        .fetch_all(&mut **tx)
        .await?;
        for old in dropped {
            delete_version(tx, venture_id, &write.var.key, environment, old).await?;
        }
    }
    Ok(())
}

async fn delete_version(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    venture_id: &str,
    key: &str,
    environment: Environment,
    version: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM secrets WHERE venture_id = $1 AND name = $2")
        .bind(venture_id)
        .bind(sealed_name(environment, key, version))
        .execute(&mut **tx)
        .await?;
    sqlx::query("DELETE FROM env_values WHERE venture_id = $1 AND key = $2 AND environment = $3 AND version = $4")
        .bind(venture_id)
        .bind(key)
        .bind(environment.as_str())
        .bind(version)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
