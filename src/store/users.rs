//! Users, their sessions and API tokens, and idempotent creates.

use super::*;

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
