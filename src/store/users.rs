//! Users, their sessions and API tokens, and idempotent creates.

use super::*;

impl TokenRecord {
    /// Still accepted at `now`: neither revoked nor expired.
    pub fn live_at(&self, now: i64) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|at| at > now)
    }

    /// Where it stands at `now`, in words: `expires …`, `expired …`, `revoked …`.
    pub fn state_at(&self, now: i64) -> String {
        use crate::time::format_utc;
        match (self.revoked_at, self.expires_at) {
            (Some(at), _) => format!("revoked {}", format_utc(at)),
            (None, None) => "never expires (made before expiries: replace it)".to_string(),
            (None, Some(at)) if at <= now => format!("expired {}", format_utc(at)),
            (None, Some(at)) => format!("expires {}", format_utc(at)),
        }
    }
}

/// A user as an admin lists them.
#[derive(Debug, Clone)]
pub struct UserRecord {
    pub user: User,
    pub created_at: i64,
    pub disabled_at: Option<i64>,
    /// Sessions open now.
    pub sessions: i64,
}

/// An API token as listed: never the token, nor its digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    pub id: String,
    pub name: String,
    /// The user it acts for.
    pub username: String,
    pub role: Role,
    /// Milliseconds since the Unix epoch, as every time here.
    pub created_at: i64,
    /// None for a token made before tokens expired: replace it.
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub last_used_at: Option<i64>,
}

impl Store {
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

    /// The user, their password hash and whether they are disabled, for login.
    pub async fn user_credentials(&self, username: &str) -> Result<Option<(User, String, bool)>, sqlx::Error> {
        let row = sqlx::query("SELECT id, username, role, password_hash, disabled_at FROM users WHERE username = $1")
            .bind(username)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| {
            let disabled = row.try_get::<Option<i64>, _>("disabled_at")?.is_some();
            Ok((user_from_row(&row)?, row.try_get("password_hash")?, disabled))
        })
        .transpose()
    }

    /// Every user, by name.
    pub async fn users(&self) -> Result<Vec<UserRecord>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT id, username, role, created_at, disabled_at, \
             (SELECT COUNT(*) FROM sessions s WHERE s.user_id = users.id AND s.expires_at > $1) AS sessions \
             FROM users ORDER BY username",
        )
        .bind(now_ms())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(UserRecord {
                    user: user_from_row(row)?,
                    created_at: row.try_get("created_at")?,
                    disabled_at: row.try_get("disabled_at")?,
                    sessions: row.try_get("sessions")?,
                })
            })
            .collect()
    }

    pub async fn set_user_role(&self, user_id: &str, role: Role) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE users SET role = $1 WHERE id = $2")
            .bind(role.as_str())
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Disables (`Some(now)`) or enables (`None`) the user; disabling ends their sessions.
    pub async fn set_user_disabled(&self, user_id: &str, disabled_at: Option<i64>) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE users SET disabled_at = $1 WHERE id = $2")
            .bind(disabled_at)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        if disabled_at.is_some() {
            sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(user_id).execute(&mut *tx).await?;
        }
        tx.commit().await
    }

    /// A new password hash, and every session of the user ended, at once.
    pub async fn set_password_hash(&self, user_id: &str, password_hash: &str) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(password_hash)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(user_id).execute(&mut *tx).await?;
        tx.commit().await
    }

    /// How many users are admins and not disabled.
    pub async fn active_admins(&self) -> Result<i64, sqlx::Error> {
        sqlx::query("SELECT COUNT(*) AS n FROM users WHERE role = 'admin' AND disabled_at IS NULL")
            .fetch_one(&self.pool)
            .await?
            .try_get("n")
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
             WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.disabled_at IS NULL",
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
        lifetime_ms: i64,
    ) -> Result<String, sqlx::Error> {
        let id = uuid::Uuid::now_v7().to_string();
        // One clock reading for both, so a token lives exactly its lifetime.
        let created_at = now_ms();
        sqlx::query(
            "INSERT INTO api_tokens (id, name, token_hash, user_id, role, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&id)
        .bind(name)
        .bind(token_hash)
        .bind(user_id)
        .bind(role.as_str())
        .bind(created_at)
        .bind(created_at + lifetime_ms)
        .execute(&self.pool)
        .await?;
        Ok(id)
    }

    /// The token's user, with the token's role (capped at the user's): only while the token is
    /// neither revoked nor expired and its user is not disabled. Read from the database on
    /// every request, so a revocation holds on every instance at once. The use is recorded (at
    /// most once a minute per token, to spare the writes).
    pub async fn api_token_user(&self, token_hash: &str) -> Result<Option<(User, Role)>, sqlx::Error> {
        let now = now_ms();
        let row = sqlx::query(
            "SELECT t.id AS token_id, u.id, u.username, u.role, t.role AS token_role, t.last_used_at \
             FROM api_tokens t JOIN users u ON u.id = t.user_id \
             WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > $2) \
               AND u.disabled_at IS NULL",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let last_used: Option<i64> = row.try_get("last_used_at")?;
        if last_used.is_none_or(|at| at < now - 60_000) {
            let id: String = row.try_get("token_id")?;
            sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
                .bind(now)
                .bind(&id)
                .execute(&self.pool)
                .await?;
        }
        let token_role: String = row.try_get("token_role")?;
        let role = Role::parse(&token_role).map_err(|e| sqlx::Error::Decode(e.to_string().into()))?;
        Ok(Some((user_from_row(&row)?, role)))
    }

    /// Every API token (of one user, when given), newest first; never the token itself.
    pub async fn api_tokens(&self, user_id: Option<&str>) -> Result<Vec<TokenRecord>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT t.id, t.name, t.role, t.created_at, t.expires_at, t.revoked_at, t.last_used_at, u.username \
             FROM api_tokens t JOIN users u ON u.id = t.user_id \
             WHERE $1 = '' OR t.user_id = $1 ORDER BY t.created_at DESC, t.id DESC",
        )
        .bind(user_id.unwrap_or_default())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let role: String = row.try_get("role")?;
                Ok(TokenRecord {
                    id: row.try_get("id")?,
                    name: row.try_get("name")?,
                    username: row.try_get("username")?,
                    role: Role::parse(&role).map_err(|e| sqlx::Error::Decode(e.to_string().into()))?,
                    created_at: row.try_get("created_at")?,
                    expires_at: row.try_get("expires_at")?,
                    revoked_at: row.try_get("revoked_at")?,
                    last_used_at: row.try_get("last_used_at")?,
                })
            })
            .collect()
    }

    /// Revokes the token; returns whether it was live until now.
    pub async fn revoke_api_token(&self, id: &str) -> Result<bool, sqlx::Error> {
        let done = sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(now_ms())
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
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
}

impl Store {
    /// The latest moment any of `scopes` is blocked until, if it is after `now`.
    pub async fn login_blocked_until(&self, scopes: &[String], now: i64) -> Result<Option<i64>, sqlx::Error> {
        let mut latest = None;
        for scope in scopes {
            let row = sqlx::query("SELECT blocked_until FROM login_failures WHERE scope = $1 AND blocked_until > $2")
                .bind(scope)
                .bind(now)
                .fetch_optional(&self.pool)
                .await?;
            if let Some(row) = row {
                let until: i64 = row.try_get("blocked_until")?;
                latest = latest.max(Some(until));
            }
        }
        Ok(latest)
    }

    /// Counts a failed sign-in against each scope (starting again from one when its last failure
    /// is older than `stale_before`) and blocks it for `delay(failures)` ms; returns the highest
    /// count.
    pub async fn record_login_failure(
        &self,
        scopes: &[String],
        now: i64,
        stale_before: i64,
        delay: impl Fn(i64) -> i64,
    ) -> Result<i64, sqlx::Error> {
        let mut highest = 0;
        for scope in scopes {
            let failures: i64 = sqlx::query(
                "INSERT INTO login_failures (scope, failures, blocked_until, updated_at) VALUES ($1, 1, 0, $2) \
                 ON CONFLICT (scope) DO UPDATE SET \
                   failures = CASE WHEN login_failures.updated_at < $3 THEN 1 ELSE login_failures.failures + 1 END, \
                   updated_at = $2 \
                 RETURNING failures",
            )
            .bind(scope)
            .bind(now)
            .bind(stale_before)
            .fetch_one(&self.pool)
            .await?
            .try_get("failures")?;
            sqlx::query("UPDATE login_failures SET blocked_until = $1 WHERE scope = $2")
                .bind(now + delay(failures))
                .bind(scope)
                .execute(&self.pool)
                .await?;
            highest = highest.max(failures);
        }
        Ok(highest)
    }

    /// A successful sign-in forgives its scopes' failures.
    pub async fn clear_login_failures(&self, scopes: &[String]) -> Result<(), sqlx::Error> {
        for scope in scopes {
            sqlx::query("DELETE FROM login_failures WHERE scope = $1").bind(scope).execute(&self.pool).await?;
        }
        Ok(())
    }
}
