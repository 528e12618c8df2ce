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

/// A secret value found in clear where none may be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leak {
    /// `db:table.column`, or the name a text was given.
    pub source: String,
    /// Line number in the text (1-based; 0 for a database cell).
    pub line: usize,
    /// The line with the value scrubbed, so the report can be read without leaking again.
    pub excerpt: String,
}

/// What a leak scan looked at and found.
#[derive(Debug, Clone, Default)]
pub struct LeakReport {
    pub texts: usize,
    pub cells: usize,
    pub leaks: Vec<Leak>,
}

/// The lines of `text` holding a value `redactor` knows.
fn leaks_in(redactor: &crate::redact::Redactor, source: &str, text: &str, database: bool) -> Vec<Leak> {
    text.lines()
        .enumerate()
        .filter_map(|(i, line)| match redactor.scrub(line) {
            std::borrow::Cow::Borrowed(_) => None,
            std::borrow::Cow::Owned(scrubbed) => Some(Leak {
                source: source.to_string(),
                line: if database { 0 } else { i + 1 },
                excerpt: scrubbed.chars().take(240).collect(),
            }),
        })
        .collect()
}

impl Engine {
    /// Looks for every value this process's redactor knows (every sealed value, each of its
    /// versions, every platform token and the master key, in their plain, URL-encoded and
    /// base64 forms) in the database (every table but the vault's ciphertexts) and in `texts`
    /// (name, content: log files, captured pages and streams). Plain variables' values are not
    /// counted: they are shown on purpose. A local maintenance command,
    /// for the operator of the machine; it reports where, never the value.
    pub async fn leak_scan(&self, texts: &[(String, String)]) -> Result<LeakReport, EngineError> {
        let store = &self.inner.store;
        // Plain variables' values are shown on purpose (to creators and admins): not leaks.
        let mut plain_keys = std::collections::BTreeSet::new();
        for venture in store.list_ventures().await? {
            for var in store.env_vars(&venture.id).await?.into_iter().filter(|v| !v.secret) {
                plain_keys.insert((venture.id.clone(), var.key));
            }
        }
        let mut plain_values = Vec::new();
        for (venture_id, name, sealed) in store.all_secrets().await? {
            let plain = crate::env::key_of_sealed(&name)
                .is_some_and(|key| plain_keys.contains(&(venture_id.clone(), key.to_string())));
            if plain && let Ok(value) = self.inner.vault.open(&venture_id, &name, &sealed) {
                plain_values.push(value.expose_secret().to_string());
            }
        }
        let redactor = crate::redact::redactor().without(plain_values.iter().map(String::as_str));
        let cells = store.text_cells().await?;
        let mut leaks: Vec<Leak> = Vec::new();
        for (column, text) in &cells {
            leaks.extend(leaks_in(&redactor, &format!("db:{column}"), text, true));
        }
        for (name, text) in texts {
            leaks.extend(leaks_in(&redactor, name, text, false));
        }
        Ok(LeakReport { texts: texts.len(), cells: cells.len(), leaks })
    }

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
        let venture = self.venture(actor, venture_id).await?;
        let sealed = self.inner.store.secret(venture_id, name).await?.ok_or(EngineError::NotFound("secret"))?;
        let value = self.inner.vault.open(venture_id, name, &sealed).map_err(|e| EngineError::Sealed(e.to_string()))?;
        let message = format!("{} revealed {name}", actor.username);
        self.inner.events.emit(venture_id, None, "secrets", crate::events::Level::Warn, &message).await;
        let target = format!("{}/{name}", venture.name);
        self.audit(&actor.username, AuditAction::SecretReveal, &target, "a sealed value").await;
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
