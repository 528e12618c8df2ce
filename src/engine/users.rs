//! Users, their sessions, and API tokens.

use super::*;

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
        Ok(self.inner.store.insert_user(username, &auth::hash_password(password), role).await?)
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
    pub async fn login(&self, username: &str, password: &SecretString) -> Result<(User, SecretString), EngineError> {
        let found = self.inner.store.user_credentials(username).await?;
        let user = match found {
            Some((user, hash)) if auth::verify_password(password, &hash) => user,
            _ => return Err(EngineError::Unauthenticated),
        };
        let token = auth::new_token();
        let expires_at = now_ms() + self.inner.config.session_ttl.as_millis() as i64;
        self.inner.store.insert_session(&auth::token_digest(&token), &user.id, expires_at).await?;
        Ok((user, token))
    }

    pub async fn logout(&self, token: &SecretString) -> Result<(), EngineError> {
        Ok(self.inner.store.delete_session(&auth::token_digest(token)).await?)
    }

    /// The user a session token belongs to, if the session is valid.
    pub async fn authenticate(&self, token: &SecretString) -> Result<User, EngineError> {
        self.inner.store.session_user(&auth::token_digest(token)).await?.ok_or(EngineError::Unauthenticated)
    }

    // ---- API tokens ----

    /// A token for machine clients, acting for `username` with `role` (at most the user's).
    /// The token is returned once; only its digest is kept.
    pub async fn create_api_token_unchecked(
        &self,
        username: &str,
        name: &str,
        role: Role,
    ) -> Result<SecretString, EngineError> {
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
        self.inner.store.insert_api_token(name, &auth::token_digest(&token), &user.id, role).await?;
        Ok(token)
    }

    /// The user an API token acts for, with the token's role.
    pub async fn authenticate_api_token(&self, token: &SecretString) -> Result<User, EngineError> {
        let (user, role) =
            self.inner.store.api_token_user(&auth::token_digest(token)).await?.ok_or(EngineError::Unauthenticated)?;
        Ok(User { role: if role.rank() <= user.role.rank() { role } else { user.role }, ..user })
    }
}
