//! The provisioning log.

use super::*;

impl Store {
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
