//! The platforms' connection status as last checked, and who asked for a check when.

use sqlx::Row;

use super::Store;

/// The last check's statuses (the JSON list) and when they were asked for (0: never).
pub struct StoredConnections {
    pub statuses: String,
    pub checked_at: i64,
    pub started_at: i64,
}

impl Store {
    pub async fn connections(&self) -> Result<StoredConnections, sqlx::Error> {
        let row = sqlx::query("SELECT statuses, checked_at, started_at FROM connection_checks WHERE id = 1")
            .fetch_one(&self.pool)
            .await?;
        Ok(StoredConnections {
            statuses: row.try_get("statuses")?,
            checked_at: row.try_get("checked_at")?,
            started_at: row.try_get("started_at")?,
        })
    }

    /// Claims the next check for this instance unless one began after `unless_started_after`,
    /// or one is still running (begun, not recorded, and not older than `abandoned_before`): of
    /// several instances asking at once, one gets `true`.
    pub async fn claim_connection_check(
        &self,
        now: i64,
        unless_started_after: i64,
        abandoned_before: i64,
    ) -> Result<bool, sqlx::Error> {
        let claimed = sqlx::query(
            "UPDATE connection_checks SET started_at = $1 \
             WHERE id = 1 AND started_at <= $2 AND (started_at <= checked_at OR started_at < $3)",
        )
        .bind(now)
        .bind(unless_started_after)
        .bind(abandoned_before)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(claimed == 1)
    }

    /// Records a check's statuses, unless a check that began later already recorded its own.
    pub async fn record_connections(&self, statuses: &str, checked_at: i64) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE connection_checks SET statuses = $1, checked_at = $2 WHERE id = 1 AND checked_at <= $2")
            .bind(statuses)
            .bind(checked_at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Records `username`'s request for a check at `now` unless their last one was after
    /// `unless_after`; `Ok(None)` when recorded, else `Ok(Some(time of the last request))`.
    pub async fn request_connection_check(
        &self,
        username: &str,
        now: i64,
        unless_after: i64,
    ) -> Result<Option<i64>, sqlx::Error> {
        let recorded = sqlx::query(
            "INSERT INTO connection_check_requests (username, requested_at) VALUES ($1, $2) \
             ON CONFLICT (username) DO UPDATE SET requested_at = $2 \
             WHERE connection_check_requests.requested_at <= $3",
        )
        .bind(username)
        .bind(now)
        .bind(unless_after)
        .execute(&self.pool)
        .await?
        .rows_affected();
        if recorded == 1 {
            return Ok(None);
        }
        let last: i64 = sqlx::query("SELECT requested_at FROM connection_check_requests WHERE username = $1")
            .bind(username)
            .fetch_one(&self.pool)
            .await?
            .try_get("requested_at")?;
        Ok(Some(last))
    }
}
