//! What Slipway made (or means to make) for a venture at the platforms.

use super::*;

impl Store {
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
}
