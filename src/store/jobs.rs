//! Jobs: claims under a lease, renewals, outcomes, and their steps.

use super::*;

impl Store {
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
        .bind(last_error.map(crate::redact::scrub))
        .bind(now)
        .bind(job_id)
        .bind(owner)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// One of the venture's jobs: (kind, status, last error).
    pub async fn venture_job(
        &self,
        venture_id: &str,
        job_id: &str,
    ) -> Result<Option<(String, String, Option<String>)>, sqlx::Error> {
        sqlx::query("SELECT kind, status, last_error FROM jobs WHERE id = $1 AND venture_id = $2")
            .bind(job_id)
            .bind(venture_id)
            .fetch_optional(&self.pool)
            .await?
            .map(|row| Ok((row.try_get("kind")?, row.try_get("status")?, row.try_get("last_error")?)))
            .transpose()
    }

    pub async fn job_status(&self, job_id: &str) -> Result<Option<String>, sqlx::Error> {
        sqlx::query("SELECT status FROM jobs WHERE id = $1")
            .bind(job_id)
            .fetch_optional(&self.pool)
            .await?
            .map(|row| row.try_get("status"))
            .transpose()
    }

    /// Whether the venture has a job queued or running.
    pub async fn has_active_job(&self, venture_id: &str) -> Result<bool, sqlx::Error> {
        let row = sqlx::query("SELECT id FROM jobs WHERE venture_id = $1 AND status IN ('queued', 'running') LIMIT 1")
            .bind(venture_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.is_some())
    }

    /// The steps recorded by the venture's newest job of one of the two `kinds` (its applies
    /// and destroys: a sync runs only part of the graph and a redeploy none of it).
    pub async fn latest_job_steps(&self, venture_id: &str, kinds: [&str; 2]) -> Result<Vec<StepTimes>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT step, status, started_at, updated_at FROM job_steps WHERE job_id = \
                 (SELECT id FROM jobs WHERE venture_id = $1 AND kind IN ($2, $3) \
                  ORDER BY created_at DESC, id DESC LIMIT 1)",
        )
        .bind(venture_id)
        .bind(kinds[0])
        .bind(kinds[1])
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

    /// For each of `venture_ids` with steps recorded: how many steps its newest job of one of
    /// the two `kinds` has done.
    pub async fn steps_done_for(
        &self,
        venture_ids: &[&str],
        kinds: [&str; 2],
    ) -> Result<Vec<(String, i64)>, sqlx::Error> {
        if venture_ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<String> = (0..venture_ids.len()).map(|i| format!("${}", i + 3)).collect();
        let sql = format!(
            "SELECT j.venture_id AS venture_id, \
                 SUM(CASE WHEN s.status = 'done' THEN 1 ELSE 0 END) AS done \
             FROM jobs j JOIN job_steps s ON s.job_id = j.id \
             WHERE j.venture_id IN ({}) \
               AND j.id = (SELECT j2.id FROM jobs j2 WHERE j2.venture_id = j.venture_id \
                 AND j2.kind IN ($1, $2) ORDER BY j2.created_at DESC, j2.id DESC LIMIT 1) \
             GROUP BY j.venture_id",
            ids.join(", ")
        );
        let mut query = sqlx::query(&sql).bind(kinds[0]).bind(kinds[1]);
        for id in venture_ids {
            query = query.bind(*id);
        }
        let rows = query.fetch_all(&self.pool).await?;
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

    /// Forgets that the job did `steps`, so that its next run of them runs them again (a job
    /// that syncs twice, as a rotation does when it rolls back).
    pub async fn forget_steps(&self, job_id: &str, steps: &[&str]) -> Result<(), sqlx::Error> {
        for step in steps {
            sqlx::query("DELETE FROM job_steps WHERE job_id = $1 AND step = $2")
                .bind(job_id)
                .bind(step)
                .execute(&self.pool)
                .await?;
        }
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
}
