//! Secret rotations as recorded: what rotates, who asked, how far it got.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::Store;
use crate::time::now_ms;
use crate::vault::Sealed;

/// A rotation to queue with its job (see [`Store::queue_job`]).
#[derive(Debug, Clone)]
pub struct NewRotation<'a> {
    /// Chosen by the caller, who may seal values under the rotation's name first.
    pub id: &'a str,
    pub secret: &'a str,
    pub class: &'a str,
    /// `manual` or `schedule`.
    pub cause: &'a str,
    pub requested_by: &'a str,
    pub state: &'a str,
    /// Values stored with the rotation, in its transaction: the new values a person gave
    /// (sealed under `rotation/<id>/…`), so the job never runs without them.
    pub sealed: &'a [(String, Sealed)],
}

/// A rotation as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotationRecord {
    pub id: String,
    pub venture_id: String,
    pub job_id: String,
    pub secret: String,
    pub class: String,
    pub cause: String,
    pub requested_by: String,
    pub phase: String,
    /// The class's JSON: key ids and deployments, never a value.
    pub state: String,
    pub error: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub finished_at: Option<i64>,
}

/// Where one of a venture's secrets stands in its rotations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotationSummary {
    pub venture_id: String,
    pub secret: String,
    /// When it last rotated successfully.
    pub last_success: Option<i64>,
    /// When a rotation of it last rolled back or failed.
    pub last_failure: Option<i64>,
    /// Whether a rotation of it is under way (its job queued or running: one whose job ended
    /// without recording its end is not).
    pub running: bool,
    /// Whether a rotation of it waits, with no job, to be resumed at a moment it recorded (a
    /// signing key's, until verifiers hold the new key or the old key's tokens expire).
    pub waiting: bool,
}

const COLUMNS: &str = "id, venture_id, job_id, secret, class, cause, requested_by, phase, state, error, \
                       created_at, updated_at, finished_at";

fn record(row: &AnyRow) -> Result<RotationRecord, sqlx::Error> {
    Ok(RotationRecord {
        id: row.try_get("id")?,
        venture_id: row.try_get("venture_id")?,
        job_id: row.try_get("job_id")?,
        secret: row.try_get("secret")?,
        class: row.try_get("class")?,
        cause: row.try_get("cause")?,
        requested_by: row.try_get("requested_by")?,
        phase: row.try_get("phase")?,
        state: row.try_get("state")?,
        error: row.try_get("error")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        finished_at: row.try_get("finished_at")?,
    })
}

impl Store {
    /// Inserts the rotation `job_id` runs, inside the transaction that queues the job.
    pub(super) async fn insert_rotation(
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        venture_id: &str,
        job_id: &str,
        rotation: &NewRotation<'_>,
    ) -> Result<(), sqlx::Error> {
        let now = now_ms();
        sqlx::query(
            "INSERT INTO rotations (id, venture_id, job_id, secret, class, cause, requested_by, phase, state, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8, $9, $9)",
        )
        .bind(rotation.id)
        .bind(venture_id)
        .bind(job_id)
        .bind(rotation.secret)
        .bind(rotation.class)
        .bind(rotation.cause)
        .bind(rotation.requested_by)
        .bind(rotation.state)
        .bind(now)
        .execute(&mut **tx)
        .await?;
        for (name, sealed) in rotation.sealed {
            Store::insert_secret(tx, venture_id, name, sealed, now).await?;
        }
        Ok(())
    }

    /// The rotation job `job_id` runs.
    pub async fn rotation_of_job(&self, job_id: &str) -> Result<Option<RotationRecord>, sqlx::Error> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM rotations WHERE job_id = $1"))
            .bind(job_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(record).transpose()
    }

    /// A venture's rotations, newest first; of one secret when `secret` is given.
    pub async fn rotations(&self, venture_id: &str, secret: Option<&str>) -> Result<Vec<RotationRecord>, sqlx::Error> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM rotations WHERE venture_id = $1 AND ($2 = '' OR secret = $2) \
             ORDER BY created_at DESC, id DESC"
        ))
        .bind(venture_id)
        .bind(secret.unwrap_or_default())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(record).collect()
    }

    /// Every venture's secrets as their rotations left them (of one venture when given): one
    /// grouped read, however many rotations there were.
    pub async fn rotation_summaries(&self, venture_id: Option<&str>) -> Result<Vec<RotationSummary>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT venture_id, secret, \
                 MAX(CASE WHEN phase = 'finished' THEN finished_at END) AS last_success, \
                 MAX(CASE WHEN phase IN ('rolled_back', 'failed') THEN finished_at END) AS last_failure, \
                 COUNT(CASE WHEN phase NOT IN ('finished', 'rolled_back', 'failed') AND EXISTS ( \
                     SELECT 1 FROM jobs WHERE jobs.id = rotations.job_id AND jobs.status IN ('queued', 'running') \
                 ) THEN 1 END) AS running, \
                 COUNT(CASE WHEN phase NOT IN ('finished', 'rolled_back', 'failed') AND EXISTS ( \
                     SELECT 1 FROM jobs WHERE jobs.id = rotations.job_id AND jobs.status = 'succeeded' \
                 ) THEN 1 END) AS waiting \
             FROM rotations WHERE ($1 = '' OR venture_id = $1) GROUP BY venture_id, secret",
        )
        .bind(venture_id.unwrap_or_default())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(RotationSummary {
                    venture_id: row.try_get("venture_id")?,
                    secret: row.try_get("secret")?,
                    last_success: row.try_get("last_success")?,
                    last_failure: row.try_get("last_failure")?,
                    running: row.try_get::<i64, _>("running")? > 0,
                    waiting: row.try_get::<i64, _>("waiting")? > 0,
                })
            })
            .collect()
    }

    /// The rotations that wait to be resumed: not over, and their job ended by parking them.
    pub async fn waiting_rotations(&self) -> Result<Vec<RotationRecord>, sqlx::Error> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM rotations WHERE phase NOT IN ('finished', 'rolled_back', 'failed') AND EXISTS ( \
                 SELECT 1 FROM jobs WHERE jobs.id = rotations.job_id AND jobs.status = 'succeeded') \
             ORDER BY created_at"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(record).collect()
    }

    /// Records how far rotation `id` got, and its state, if `owner` still holds its job's
    /// lease (`false` when another instance has taken the job over); `finished` marks the end
    /// (success or not), `error` says why it did not succeed.
    pub async fn set_rotation_phase(
        &self,
        id: &str,
        owner: &str,
        phase: &str,
        state: &str,
        error: Option<&str>,
        finished: bool,
    ) -> Result<bool, sqlx::Error> {
        let now = now_ms();
        let updated = sqlx::query(
            "UPDATE rotations SET phase = $1, state = $2, error = $3, updated_at = $4, \
             finished_at = CASE WHEN $5 = 1 THEN $4 ELSE finished_at END \
             WHERE id = $6 AND EXISTS (SELECT 1 FROM jobs WHERE jobs.id = rotations.job_id AND jobs.lease_owner = $7)",
        )
        .bind(phase)
        .bind(state)
        // The error comes from the platforms and the runner: scrubbed like every log line.
        .bind(error.map(crate::redact::scrub))
        .bind(now)
        .bind(i64::from(finished))
        .bind(id)
        .bind(owner)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(updated == 1)
    }
}
