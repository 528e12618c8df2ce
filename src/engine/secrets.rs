//! A venture's sealed values: their names, an admin's reveal, and the re-seal after a
//! master-key rotation.

use super::*;

/// What a re-seal after a master-key rotation did.
#[derive(Debug, Clone, Default)]
pub struct ResealReport {
    pub current_key_id: String,
    /// Values moved to the current key.
    pub resealed: usize,
    /// Values no configured key opens (`venture/name (why)`), left as they were.
    pub unreadable: Vec<String>,
    /// Afterwards: how many values each key id holds.
    pub per_key: Vec<(String, i64)>,
}

impl Engine {
    /// The names of the venture's sealed Supabase values (its own variables' values, sealed
    /// under `env/…`, are listed by [`env_listing`](Self::env_listing)).
    pub async fn secret_names(&self, actor: &User, venture_id: &str) -> Result<Vec<String>, EngineError> {
        self.venture(actor, venture_id).await?;
        let names = self.inner.store.secret_names(venture_id).await?;
        Ok(names.into_iter().filter(|name| !name.starts_with(crate::env::SEALED_PREFIX)).collect())
    }

    /// A sealed value in clear: admins only, and every reveal is logged (by name, never value).
    pub async fn reveal_secret(&self, actor: &User, venture_id: &str, name: &str) -> Result<SecretString, EngineError> {
        if actor.role != Role::Admin {
            return Err(EngineError::Forbidden { role: actor.role.as_str(), action: "reveal secrets" });
        }
        self.venture(actor, venture_id).await?;
        let sealed = self.inner.store.secret(venture_id, name).await?.ok_or(EngineError::NotFound("secret"))?;
        let value = self.inner.vault.open(venture_id, name, &sealed).map_err(|e| EngineError::Sealed(e.to_string()))?;
        let message = format!("{} revealed {name}", actor.username);
        self.inner.events.emit(venture_id, None, "secrets", crate::events::Level::Warn, &message).await;
        Ok(value)
    }

    /// Re-seals every value sealed under an earlier master key with the current one (after a
    /// rotation: `SLIPWAY_MASTER_KEY` is the new key, `SLIPWAY_PREVIOUS_MASTER_KEYS` the old).
    /// Safe while instances run: a value rewritten meanwhile is left as written. A value no
    /// configured key opens is reported, not touched.
    pub async fn reseal_secrets(&self) -> Result<ResealReport, EngineError> {
        let (store, vault) = (&self.inner.store, &self.inner.vault);
        let current = vault.current_key_id().to_string();
        let mut report = ResealReport { current_key_id: current.clone(), ..ResealReport::default() };
        let mut skipped = std::collections::BTreeSet::new();
        loop {
            let batch = store.secrets_not_sealed_by(&current, 200 + skipped.len() as i64).await?;
            let mut progressed = false;
            for (venture_id, name, sealed) in batch {
                if skipped.contains(&(venture_id.clone(), name.clone())) {
                    continue;
                }
                progressed = true;
                let value = match vault.open(&venture_id, &name, &sealed) {
                    Ok(value) => value,
                    Err(err) => {
                        tracing::warn!(venture_id, name, error = %err, "cannot re-seal");
                        report.unreadable.push(format!("{venture_id}/{name} ({err})"));
                        skipped.insert((venture_id, name));
                        continue;
                    }
                };
                let resealed = vault.seal(&venture_id, &name, &value);
                if store.replace_secret(&venture_id, &name, &sealed, &resealed).await? {
                    report.resealed += 1;
                } else {
                    skipped.insert((venture_id, name)); // rewritten meanwhile, under the current key
                }
            }
            if !progressed {
                break;
            }
        }
        report.per_key = store.secrets_per_key().await?;
        Ok(report)
    }
}
