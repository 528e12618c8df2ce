//! Users, their sessions, and API tokens.

use super::*;

/// How long sign-ins from a username or address wait after `failures` failures in a row: not at
/// all for the first three (typos), then 1 s, doubling, up to 15 minutes.
pub fn login_delay(failures: i64) -> std::time::Duration {
    if failures <= 3 {
        return std::time::Duration::ZERO;
    }
    let seconds = 1u64 << (failures - 4).min(10);
    std::time::Duration::from_secs(seconds.min(15 * 60))
}

/// A username or address whose last failure is older than this starts counting again.
const LOGIN_FAILURES_FORGOTTEN_AFTER: std::time::Duration = std::time::Duration::from_secs(60 * 60);

/// How long an API token lives when its maker names no lifetime, and the longest it may.
pub const TOKEN_LIFETIME_DEFAULT_DAYS: u32 = 90;
pub const TOKEN_LIFETIME_MAX_DAYS: u32 = 365;

impl Engine {
    // ---- users and sessions ----

    /// Creates a user without an acting user: for the first-run admin and the CLI, which
    /// run with the operator's own access to the machine.
    pub async fn create_user_unchecked(
        &self,
        username: &str,
        password: &SecretString,
        role: Role,
    ) -> Result<User, EngineError> {
        let errors: Vec<FieldError> =
            [auth::validate_username(username).err(), auth::validate_password(password).err()]
                .into_iter()
                .flatten()
                .collect();
        if !errors.is_empty() {
            return Err(EngineError::Invalid(errors));
        }
        if self.inner.store.user_credentials(username).await?.is_some() {
            return Err(EngineError::invalid("username", "is already taken"));
        }
        let user = self.inner.store.insert_user(username, &auth::hash_password(password), role).await?;
        self.audit(
            &User::command_line().username,
            AuditAction::UserCreate,
            username,
            &format!("role {}", role.as_str()),
        )
        .await;
        Ok(user)
    }

    /// Creates the first admin if there are no users yet; returns whether it did.
    pub async fn ensure_first_admin(&self, username: &str, password: &SecretString) -> Result<bool, EngineError> {
        if self.inner.store.count_users().await? > 0 {
            return Ok(false);
        }
        self.create_user_unchecked(username, password, Role::Admin).await?;
        Ok(true)
    }

    pub async fn user_count(&self) -> Result<i64, EngineError> {
        Ok(self.inner.store.count_users().await?)
    }

    /// Checks a password and opens a session; the returned token goes into the cookie.
    /// `client` is the caller's address (empty when unknown). After a few failures in a row
    /// from one username or one address, sign-ins from it wait ([`login_delay`]) and are
    /// refused meanwhile without a password check; a success forgives both. An unknown username
    /// costs the same password hash as a known one, so the answer's time does not tell.
    pub async fn login(
        &self,
        username: &str,
        password: &SecretString,
        client: &str,
    ) -> Result<(User, SecretString), EngineError> {
        let store = &self.inner.store;
        // The name as given (cut short: a password typed into the wrong field is long).
        let given: String = username.chars().take(64).collect();
        let mut scopes = vec![format!("user:{}", given.to_lowercase())];
        if !client.is_empty() {
            scopes.push(format!("addr:{client}"));
        }
        let now = now_ms();
        if let Some(until) = store.login_blocked_until(&scopes, now).await? {
            let retry_after = std::time::Duration::from_millis((until - now).max(1) as u64);
            return Err(EngineError::TooManyAttempts { retry_after });
        }
        let found = store.user_credentials(username).await?;
        let hash = found.as_ref().map_or(auth::unknown_user_hash(), |(_, hash, _)| hash.as_str());
        let verified = self.verify_password(password, hash);
        let user = match found {
            Some((user, _, false)) if verified => user,
            found => {
                let why = match found {
                    Some((_, _, true)) => "the user is disabled",
                    Some(_) => "wrong password",
                    None => "no such user",
                };
                let stale_before = now - LOGIN_FAILURES_FORGOTTEN_AFTER.as_millis() as i64;
                let failures = store
                    .record_login_failure(&scopes, now, stale_before, |n| login_delay(n).as_millis() as i64)
                    .await?;
                let detail = match client {
                    "" => format!("{why} ({failures} in a row)"),
                    client => format!("{why} from {client} ({failures} in a row)"),
                };
                self.audit(&given, AuditAction::LoginFailed, &given, &detail).await;
                return Err(EngineError::Unauthenticated);
            }
        };
        store.clear_login_failures(&scopes).await?;
        let token = auth::new_token();
        let expires_at = now_ms() + self.inner.config.session_ttl.as_millis() as i64;
        self.inner.store.insert_session(&auth::token_digest(&token), &user.id, expires_at).await?;
        Ok((user, token))
    }

    /// Checks a password against a hash, counted (see [`Engine::password_checks`]).
    fn verify_password(&self, password: &SecretString, hash: &str) -> bool {
        self.inner.password_checks.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        auth::verify_password(password, hash)
    }

    /// How many password hashes this engine has checked: a sign-in costs one whether or not
    /// its username exists (for tests that prove it without timing).
    pub fn password_checks(&self) -> u64 {
        self.inner.password_checks.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub async fn logout(&self, token: &SecretString) -> Result<(), EngineError> {
        Ok(self.inner.store.delete_session(&auth::token_digest(token)).await?)
    }

    /// The user a session token belongs to, if the session is valid.
    pub async fn authenticate(&self, token: &SecretString) -> Result<User, EngineError> {
        self.inner.store.session_user(&auth::token_digest(token)).await?.ok_or(EngineError::Unauthenticated)
    }

    // ---- API tokens ----

    /// A token for machine clients, acting for `username` with `role` (at most the user's),
    /// for `days` days ([`TOKEN_LIFETIME_DEFAULT_DAYS`] when none is named, at most
    /// [`TOKEN_LIFETIME_MAX_DAYS`]). The token is returned once; only its digest is kept.
    pub async fn create_api_token_unchecked(
        &self,
        username: &str,
        name: &str,
        role: Role,
    ) -> Result<SecretString, EngineError> {
        self.create_api_token_for(username, name, role, None).await
    }

    /// The same, with a lifetime in days.
    pub async fn create_api_token_for(
        &self,
        username: &str,
        name: &str,
        role: Role,
        days: Option<u32>,
    ) -> Result<SecretString, EngineError> {
        let days = days.unwrap_or(TOKEN_LIFETIME_DEFAULT_DAYS);
        if !(1..=TOKEN_LIFETIME_MAX_DAYS).contains(&days) {
            return Err(EngineError::invalid("expires_in_days", format!("must be 1 to {TOKEN_LIFETIME_MAX_DAYS}")));
        }
        let user = self
            .inner
            .store
            .user_by_name(username)
            .await?
            .ok_or_else(|| EngineError::invalid("username", "is no user"))?;
        if name.trim().is_empty() || name.chars().count() > 100 {
            return Err(EngineError::invalid("name", "must be 1 to 100 characters"));
        }
        if role.rank() > user.role.rank() {
            return Err(EngineError::invalid(
                "role",
                format!("may not exceed the user's role ({})", user.role.as_str()),
            ));
        }
        let token = SecretString::from(format!("slw_{}", auth::new_token().expose_secret()));
        let lifetime_ms = i64::from(days) * 24 * 3600 * 1000;
        self.inner.store.insert_api_token(name, &auth::token_digest(&token), &user.id, role, lifetime_ms).await?;
        let detail = format!("{name:?}, role {}, expires in {days} days", role.as_str());
        self.audit(&User::command_line().username, AuditAction::TokenCreate, username, &detail).await;
        Ok(token)
    }

    /// The user an API token acts for, with the token's role.
    pub async fn authenticate_api_token(&self, token: &SecretString) -> Result<User, EngineError> {
        let (user, role) =
            self.inner.store.api_token_user(&auth::token_digest(token)).await?.ok_or(EngineError::Unauthenticated)?;
        Ok(User { role: if role.rank() <= user.role.rank() { role } else { user.role }, ..user })
    }

    // ---- users and tokens, for admins ----

    fn require_admin(actor: &User, action: &'static str) -> Result<(), EngineError> {
        if actor.role != Role::Admin {
            return Err(EngineError::Forbidden { role: actor.role.as_str(), action });
        }
        Ok(())
    }

    async fn named_user(&self, username: &str) -> Result<User, EngineError> {
        self.inner.store.user_by_name(username).await?.ok_or(EngineError::NotFound("user"))
    }

    /// Every user, with their state and open sessions. Admins.
    pub async fn list_users(&self, actor: &User) -> Result<Vec<crate::store::UserRecord>, EngineError> {
        Self::require_admin(actor, "list users")?;
        Ok(self.inner.store.users().await?)
    }

    /// Gives `username` another role; its tokens then act at most with it. The last active
    /// admin keeps the role. Admins.
    pub async fn set_user_role(&self, actor: &User, username: &str, role: Role) -> Result<(), EngineError> {
        Self::require_admin(actor, "change roles")?;
        let user = self.named_user(username).await?;
        if user.role == role {
            return Ok(());
        }
        if user.role == Role::Admin && self.inner.store.active_admins().await? <= 1 {
            return Err(EngineError::invalid("role", "the last active admin keeps the admin role"));
        }
        self.inner.store.set_user_role(&user.id, role).await?;
        let detail = format!("from {} to {}", user.role.as_str(), role.as_str());
        self.audit(&actor.username, AuditAction::UserRole, username, &detail).await;
        Ok(())
    }

    /// Disables `username` (their sessions end at once; their tokens and sign-ins are refused)
    /// or enables them again. Nobody disables themselves or the last active admin. Admins.
    pub async fn set_user_disabled(&self, actor: &User, username: &str, disabled: bool) -> Result<(), EngineError> {
        Self::require_admin(actor, "disable users")?;
        let user = self.named_user(username).await?;
        if disabled {
            if user.id == actor.id {
                return Err(EngineError::invalid("username", "is you: another admin disables you"));
            }
            if user.role == Role::Admin && self.inner.store.active_admins().await? <= 1 {
                return Err(EngineError::invalid("username", "is the last active admin"));
            }
        }
        self.inner.store.set_user_disabled(&user.id, disabled.then(now_ms)).await?;
        let (action, detail) = if disabled {
            (AuditAction::UserDisable, "sessions ended; sign-ins and tokens refused")
        } else {
            (AuditAction::UserEnable, "may sign in again")
        };
        self.audit(&actor.username, action, username, detail).await;
        Ok(())
    }

    /// Sets a new password for `username` and ends their sessions. Admins.
    pub async fn reset_password(
        &self,
        actor: &User,
        username: &str,
        password: &SecretString,
    ) -> Result<(), EngineError> {
        Self::require_admin(actor, "reset passwords")?;
        auth::validate_password(password).map_err(|e| EngineError::Invalid(vec![e]))?;
        let user = self.named_user(username).await?;
        self.inner.store.set_password_hash(&user.id, &auth::hash_password(password)).await?;
        self.audit(&actor.username, AuditAction::UserPassword, username, "new password; sessions ended").await;
        Ok(())
    }

    /// API tokens, newest first: an admin's view of everyone's (or `username`'s), anyone else's
    /// of their own.
    pub async fn list_api_tokens(
        &self,
        actor: &User,
        username: Option<&str>,
    ) -> Result<Vec<crate::store::TokenRecord>, EngineError> {
        let owner = match (actor.role, username) {
            (Role::Admin, None) => None,
            (Role::Admin, Some(name)) => Some(self.named_user(name).await?.id),
            (_, Some(name)) if name != actor.username => {
                return Err(EngineError::Forbidden { role: actor.role.as_str(), action: "list others' tokens" });
            }
            _ => Some(actor.id.clone()),
        };
        Ok(self.inner.store.api_tokens(owner.as_deref()).await?)
    }

    /// Revokes an API token: refused at once by every instance. Admins any, others their own.
    pub async fn revoke_api_token(&self, actor: &User, token_id: &str) -> Result<(), EngineError> {
        let all = self.inner.store.api_tokens(None).await?;
        let token = all.iter().find(|t| t.id == token_id).ok_or(EngineError::NotFound("token"))?;
        if actor.role != Role::Admin && token.username != actor.username {
            return Err(EngineError::Forbidden { role: actor.role.as_str(), action: "revoke others' tokens" });
        }
        if self.inner.store.revoke_api_token(token_id).await? {
            let detail = format!("{:?}, role {}", token.name, token.role.as_str());
            self.audit(&actor.username, AuditAction::TokenRevoke, &token.username, &detail).await;
        }
        Ok(())
    }
}
