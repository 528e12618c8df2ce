//! The audit log: append and read, newest first.

use super::*;

/// One entry of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct AuditEntry {
    /// Time-ordered: pass the oldest one seen as `before` for the page after.
    pub id: String,
    /// Milliseconds since the Unix epoch.
    pub at: i64,
    /// Who acted: a username (for a failed sign-in, the name that was given).
    pub actor: String,
    /// `venture.destroy`, `secret.reveal`, `secret.pull`, `secret.set`, `env.rollback`,
    /// `signin.secret_set`, `user.create`, `user.role`, `user.disable`, `user.enable`,
    /// `user.password`, `token.create`, `token.revoke`, `login.failed`.
    pub action: String,
    /// What it was done to: a venture, a variable (`venture/KEY (environment)`), a user, a token.
    pub target: String,
    pub detail: String,
}

impl Store {
    pub async fn insert_audit(&self, actor: &str, action: &str, target: &str, detail: &str) -> Result<(), sqlx::Error> {
        // Time-ordered ids: entries in one millisecond keep their order.
        let id = uuid::Uuid::now_v7().to_string();
        sqlx::query("INSERT INTO audit_log (id, at, actor, action, target, detail) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(&id)
            .bind(now_ms())
            .bind(actor)
            .bind(action)
            .bind(target)
            .bind(detail)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Up to `limit` entries older than the entry `before` (all, without it), newest first.
    pub async fn audit_entries(&self, before: Option<&str>, limit: i64) -> Result<Vec<AuditEntry>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT id, at, actor, action, target, detail FROM audit_log \
             WHERE $1 = '' OR id < $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(before.unwrap_or_default())
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(AuditEntry {
                    id: row.try_get("id")?,
                    at: row.try_get("at")?,
                    actor: row.try_get("actor")?,
                    action: row.try_get("action")?,
                    target: row.try_get("target")?,
                    detail: row.try_get("detail")?,
                })
            })
            .collect()
    }
}
