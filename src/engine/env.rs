//! A venture's environment variables: list them with their sync state, declare and change
//! them, remove them, reveal a value (admins, audited), and each value's history and rollback.
//!
//! Who sees what: every role sees keys, descriptions, sources and states; creators and admins
//! also see plain (not secret) values; only an admin reveals a secret, one value at a time,
//! and every reveal is recorded (who, when, which variable, environment and version).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::*;
use crate::env::Tier;
use crate::env::{self, Disclosure, Environment, Generator, INTEGRATION, Source, sealed_name};
use crate::provision::{SyncState, kind};
use crate::store::{EnvVarRecord, EnvWrite};
use crate::venture::NonProductionDatabase;

/// A variable as the env manager shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EnvVariable {
    pub key: String,
    pub description: String,
    pub secret: bool,
    pub source: Source,
    /// How Slipway makes its values, for a generated variable (`random-32`).
    #[schema(required = true)]
    pub generate: Option<String>,
    /// Declared by the venture's spec.
    pub from_spec: bool,
    /// One entry per environment of the venture.
    pub values: Vec<EnvValue>,
}

/// A variable's value in one environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EnvValue {
    pub environment: Environment,
    /// Whether the environment has a value.
    pub set: bool,
    /// The current version (null for the integration's, which apply regenerates).
    #[schema(required = true)]
    pub version: Option<i64>,
    #[schema(required = true)]
    pub set_by: Option<String>,
    /// Epoch ms.
    #[schema(required = true)]
    pub set_at: Option<i64>,
    /// The value, only when it is not secret and the caller may read values (never for
    /// operators, never for a secret: an admin reveals those one by one).
    #[schema(required = true)]
    pub value: Option<String>,
    /// Where it stands at Vercel; null when Vercel could not be read (see `sync_error`) or
    /// the venture has no Vercel project yet.
    #[schema(required = true)]
    pub sync: Option<SyncState>,
}

/// A value disclosed in clear (an admin's reveal, or `env pull`), as the audit list shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EnvReveal {
    pub key: String,
    pub environment: Environment,
    pub version: i64,
    pub revealed_by: String,
    /// Epoch ms.
    pub revealed_at: i64,
    pub via: Disclosure,
}

/// Everything the env manager shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EnvListing {
    /// The venture's environments (staging only while it is enabled).
    pub environments: Vec<Environment>,
    pub variables: Vec<EnvVariable>,
    /// Why the sync states are missing, when Vercel could not be read.
    #[schema(required = true)]
    pub sync_error: Option<String>,
    /// The reveals, newest first: for admins only (empty for the other roles).
    pub reveals: Vec<EnvReveal>,
}

/// One variable of an [`EnvPull`]: its value, or why it is held back.
#[derive(Debug, Clone)]
pub struct PulledVariable {
    pub key: String,
    pub description: String,
    pub secret: bool,
    pub value: Option<SecretString>,
    /// Why there is no value (not set in the environment, or not for this caller).
    pub withheld: Option<String>,
}

/// One environment's values, for a developer's local file.
#[derive(Debug, Clone)]
pub struct EnvPull {
    pub venture: String,
    pub environment: Environment,
    pub variables: Vec<PulledVariable>,
}

/// One kept version of a value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EnvVersion {
    pub version: i64,
    /// This version removed the environment's value.
    pub removed: bool,
    pub set_by: String,
    /// Epoch ms.
    pub set_at: i64,
}

/// What a person sends to declare or change a variable. Unset fields keep what the variable
/// has; `values` sets the environments it names (`null` removes that one's value) and leaves
/// the others as they are.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnvChange {
    /// Required when the variable is new: one line, shown in `.env.example` and the docs.
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub secret: Option<bool>,
    /// `random-N`: Slipway makes a value for every environment not given one.
    #[serde(default)]
    #[schema(pattern = "^random-[0-9]+$", example = "random-32")]
    pub generate: Option<String>,
    /// By environment: the value, or null to remove it.
    #[serde(default, deserialize_with = "crate::env::unique_keys")]
    #[schema(value_type = BTreeMap<String, Option<String>>, example = json!({"production": "sk_live_…", "preview": "sk_test_…"}))]
    pub values: BTreeMap<String, Option<SecretString>>,
}

impl Engine {
    /// The venture's variables (the integration's and its own) with their sync state: one read
    /// of Vercel, when the venture has a project there.
    pub async fn env_listing(&self, actor: &User, venture_id: &str) -> Result<EnvListing, EngineError> {
        let venture = self.venture(actor, venture_id).await?;
        let spec = self.stored_spec(&venture).await?;
        let environments = Environment::of_venture(spec.staging_branch.is_some());
        let spec_database = spec.non_production;
        let store = &self.inner.store;
        let (states, sync_error) = match self.env_sync_states(&venture, spec).await {
            Ok(states) => (states, None),
            Err(why) => (None, Some(why)),
        };
        let state = |key: &str, environment: Environment| {
            states.as_ref().and_then(|s| s.get(&(key.to_string(), environment)).cloned())
        };
        let mut variables = self.env_variables(actor, &venture.id, &environments, spec_database).await?;
        for var in &mut variables {
            for value in &mut var.values {
                value.sync = state(&var.key, value.environment);
            }
        }
        let reveals = if actor.role == Role::Admin {
            store
                .env_reveals(venture_id)
                .await?
                .into_iter()
                .map(|r| EnvReveal {
                    key: r.key,
                    environment: r.environment,
                    version: r.version,
                    revealed_by: r.revealed_by,
                    revealed_at: r.revealed_at,
                    via: r.via,
                })
                .collect()
        } else {
            Vec::new()
        };
        Ok(EnvListing { environments, variables, sync_error, reveals })
    }

    /// The variables as [`env_listing`](Self::env_listing) shows them, without asking Vercel.
    /// The integration's values per environment come from the Supabase project that
    /// environment gets (`database`).
    async fn env_variables(
        &self,
        actor: &User,
        venture_id: &str,
        environments: &[Environment],
        database: NonProductionDatabase,
    ) -> Result<Vec<EnvVariable>, EngineError> {
        let store = &self.inner.store;
        let reads_values = actor.role != Role::Operator;
        let mut variables = Vec::new();
        for var in INTEGRATION {
            let mut values = Vec::new();
            for &environment in environments {
                let name = database.project_for(environment).map(|project| project.sealed(var.sealed_as));
                let sealed = match &name {
                    Some(name) => store.secret(venture_id, name).await?,
                    None => None,
                };
                let value = match (&sealed, &name) {
                    (Some(sealed), Some(name)) if !var.secret && reads_values => {
                        Some(self.open_sealed(venture_id, name, sealed)?.expose_secret().to_string())
                    }
                    _ => None,
                };
                values.push(EnvValue {
                    environment,
                    set: sealed.is_some(),
                    version: None,
                    set_by: None,
                    set_at: None,
                    value,
                    sync: None,
                });
            }
            variables.push(EnvVariable {
                key: var.key.into(),
                description: var.description.into(),
                secret: var.secret,
                source: Source::Integration,
                generate: None,
                from_spec: false,
                values,
            });
        }
        let current = store.env_current_values(venture_id).await?;
        for var in store.env_vars(venture_id).await? {
            let mut values = Vec::new();
            for &environment in environments {
                let now = current.iter().find(|c| c.key == var.key && c.environment == environment);
                let set = now.is_some_and(|c| !c.removed);
                let value = match now {
                    Some(c) if set && !var.secret && reads_values => {
                        let name = sealed_name(environment, &var.key, c.version);
                        let sealed = store.secret(venture_id, &name).await?.ok_or(EngineError::NotFound("value"))?;
                        Some(self.open_sealed(venture_id, &name, &sealed)?.expose_secret().to_string())
                    }
                    _ => None,
                };
                values.push(EnvValue {
                    environment,
                    set,
                    version: now.map(|c| c.version),
                    set_by: now.map(|c| c.set_by.clone()),
                    set_at: now.map(|c| c.set_at),
                    value,
                    sync: None,
                });
            }
            variables.push(EnvVariable {
                key: var.key,
                description: var.description,
                secret: var.secret,
                source: var.source,
                generate: var.generator,
                from_spec: var.from_spec,
                values,
            });
        }
        Ok(variables)
    }

    /// Each (key, environment)'s state at Vercel, or why it could not be read; `None` while
    /// the venture has no Vercel project.
    async fn env_sync_states(
        &self,
        venture: &Venture,
        spec: crate::venture::VentureSpec,
    ) -> Result<Option<BTreeMap<(String, Environment), SyncState>>, String> {
        let Some(project) = venture.vercel_project_id.clone() else { return Ok(None) };
        let staging = if spec.staging_branch.is_some() {
            let record =
                self.inner.store.resource(&venture.id, kind::VERCEL_STAGING).await.map_err(|e| e.to_string())?;
            record.and_then(|r| r.external_id)
        } else {
            None
        };
        let context = self.provisioner().context_for(venture.clone(), spec, None);
        let compared = crate::platform::ratelimit::with_patience(
            PLAN_PATIENCE,
            crate::provision::compare_env(&context, &project, staging.as_deref()),
        )
        .await
        .map_err(|e| e.to_string())?;
        Ok(Some(compared.states().into_iter().collect()))
    }

    /// Declares a variable or changes it (see [`EnvChange`]): creators and admins. Every rule
    /// is checked before anything is written, and the declaration and its values are written
    /// in one transaction.
    pub async fn put_env_var(
        &self,
        actor: &User,
        venture_id: &str,
        key: &str,
        change: &EnvChange,
    ) -> Result<(), EngineError> {
        let venture =
            self.live_venture_to_change(actor, venture_id, "change this venture's environment variables").await?;
        let spec = self.stored_spec(&venture).await?;
        let staging = spec.staging_branch.is_some();
        let existing = self.inner.store.env_vars(venture_id).await?.into_iter().find(|v| v.key == key);
        let mut errors = Vec::new();
        errors.extend(env::check_key("key", key).err());
        let description = change.description.clone().or_else(|| existing.as_ref().map(|v| v.description.clone()));
        match &description {
            Some(text) => errors.extend(env::check_description("description", text).err()),
            None => errors.push(FieldError::new("description", "is required for a new variable")),
        }
        let secret = change.secret.or(existing.as_ref().map(|v| v.secret)).unwrap_or(false);
        if existing.as_ref().is_some_and(|v| v.secret) && !secret && actor.role != Role::Admin {
            errors
                .push(FieldError::new("secret", "only an admin may make a secret plain (its values become readable)"));
        }
        errors.extend(env::check_secret_key("key", key, secret).err());
        let generator = match &change.generate {
            Some(raw) => Generator::parse("generate", raw).map_err(|e| errors.push(e)).ok(),
            None => existing
                .as_ref()
                .and_then(|v| v.generator.as_deref())
                .and_then(|g| Generator::parse("generate", g).ok()),
        };
        let mut changes = env::check_values("values", &change.values, staging).unwrap_or_else(|broken| {
            errors.extend(broken);
            Vec::new()
        });
        if !errors.is_empty() {
            return Err(EngineError::Invalid(errors));
        }
        // A generator newly given makes a value for every environment not given one.
        if let Some(generator) = generator.filter(|_| change.generate.is_some()) {
            for environment in Environment::of_venture(staging) {
                if !changes.iter().any(|(e, _)| *e == environment) {
                    changes.push((environment, Some(generator.generate())));
                }
            }
            changes.sort_by_key(|(e, _)| *e);
        }
        let record = EnvVarRecord {
            key: key.to_string(),
            description: description.unwrap_or_default().trim().to_string(),
            secret,
            source: if generator.is_some() { Source::Generated } else { Source::User },
            generator: generator.map(Generator::as_string),
            from_spec: existing.as_ref().is_some_and(|v| v.from_spec),
            updated_at: now_ms(),
        };
        let touched: Vec<&str> = changes.iter().map(|(e, _)| e.as_str()).collect();
        let write = EnvWrite { var: record, changes: changes.clone(), set_by: actor.username.clone() };
        let vault = self.inner.vault.clone();
        self.inner.store.put_env_var(venture_id, &write, &move |v, name, value| vault.seal(v, name, value)).await?;
        let what = if existing.is_some() { "changed" } else { "declared" };
        let message = if touched.is_empty() {
            format!("{} {what} {key}", actor.username)
        } else {
            format!("{} {what} {key} for {}", actor.username, touched.join(", "))
        };
        self.inner.events.emit(venture_id, None, "env", crate::events::Level::Info, &message).await;
        if secret && !touched.is_empty() {
            let target = format!("{}/{key}", venture.name);
            self.audit(&actor.username, AuditAction::SecretSet, &target, &format!("for {}", touched.join(", "))).await;
        }
        Ok(())
    }

    /// Removes one of the venture's own variables (the next sync deletes it at Vercel).
    pub async fn delete_env_var(&self, actor: &User, venture_id: &str, key: &str) -> Result<(), EngineError> {
        self.live_venture_to_change(actor, venture_id, "change this venture's environment variables").await?;
        if env::integration(key).is_some() {
            return Err(EngineError::invalid("key", format!("{key} is set by the Supabase integration (read-only)")));
        }
        if !self.inner.store.env_vars(venture_id).await?.iter().any(|v| v.key == key) {
            return Err(EngineError::NotFound("variable"));
        }
        self.inner.store.delete_env_var(venture_id, key).await?;
        let message = format!("{} removed {key}", actor.username);
        self.inner.events.emit(venture_id, None, "env", crate::events::Level::Info, &message).await;
        Ok(())
    }

    /// One current value in clear: admins only, and recorded (who, when, which variable,
    /// environment and version) in the audit list and the venture's log (never the value).
    pub async fn reveal_env_value(
        &self,
        actor: &User,
        venture_id: &str,
        key: &str,
        environment: &str,
    ) -> Result<SecretString, EngineError> {
        if actor.role != Role::Admin {
            return Err(EngineError::Forbidden { role: actor.role.as_str(), action: "reveal values" });
        }
        let venture = self.venture(actor, venture_id).await?;
        let environment = Environment::parse("environment", environment).map_err(|e| EngineError::Invalid(vec![e]))?;
        let (name, version) = match env::integration(key) {
            Some(var) => {
                let spec = self.stored_spec(&venture).await?;
                let project = spec.non_production.project_for(environment).ok_or(EngineError::NotFound("value"))?;
                (project.sealed(var.sealed_as), 0)
            }
            None => {
                let current = self.inner.store.env_current_values(venture_id).await?;
                let now = current
                    .into_iter()
                    .find(|c| c.key == key && c.environment == environment && !c.removed)
                    .ok_or(EngineError::NotFound("value"))?;
                (sealed_name(environment, key, now.version), now.version)
            }
        };
        let sealed = self.inner.store.secret(venture_id, &name).await?.ok_or(EngineError::NotFound("value"))?;
        let value = self.open_sealed(venture_id, &name, &sealed)?;
        self.inner
            .store
            .record_reveal(venture_id, key, environment, version, &actor.username, Disclosure::Reveal)
            .await?;
        let message = format!("{} revealed {key} ({environment})", actor.username);
        self.inner.events.emit(venture_id, None, "env", crate::events::Level::Warn, &message).await;
        let target = format!("{}/{key} ({environment})", venture.name);
        self.audit(&actor.username, AuditAction::SecretReveal, &target, &format!("version {version}")).await;
        Ok(value)
    }

    /// The kept versions of one variable's value in one environment, newest first (never the
    /// values).
    pub async fn env_value_history(
        &self,
        actor: &User,
        venture_id: &str,
        key: &str,
        environment: &str,
    ) -> Result<Vec<EnvVersion>, EngineError> {
        self.venture(actor, venture_id).await?;
        let environment = Environment::parse("environment", environment).map_err(|e| EngineError::Invalid(vec![e]))?;
        let history = self.inner.store.env_history(venture_id, key, environment).await?;
        if history.is_empty() {
            return Err(EngineError::NotFound("variable"));
        }
        Ok(history
            .into_iter()
            .map(|v| EnvVersion { version: v.version, removed: v.removed, set_by: v.set_by, set_at: v.set_at })
            .collect())
    }

    /// Makes an earlier version's value current again, as a new version (the history stays
    /// linear): creators and admins.
    pub async fn rollback_env_value(
        &self,
        actor: &User,
        venture_id: &str,
        key: &str,
        environment: &str,
        version: i64,
    ) -> Result<(), EngineError> {
        let venture =
            self.live_venture_to_change(actor, venture_id, "change this venture's environment variables").await?;
        let environment = Environment::parse("environment", environment).map_err(|e| EngineError::Invalid(vec![e]))?;
        let var = self
            .inner
            .store
            .env_vars(venture_id)
            .await?
            .into_iter()
            .find(|v| v.key == key)
            .ok_or(EngineError::NotFound("variable"))?;
        let history = self.inner.store.env_history(venture_id, key, environment).await?;
        let target = history.iter().find(|v| v.version == version).ok_or(EngineError::NotFound("version"))?;
        let value = if target.removed {
            None
        } else {
            let name = sealed_name(environment, key, version);
            let sealed = self.inner.store.secret(venture_id, &name).await?.ok_or(EngineError::NotFound("version"))?;
            Some(self.open_sealed(venture_id, &name, &sealed)?)
        };
        let write = EnvWrite { var, changes: vec![(environment, value)], set_by: actor.username.clone() };
        let vault = self.inner.vault.clone();
        self.inner.store.put_env_var(venture_id, &write, &move |v, name, value| vault.seal(v, name, value)).await?;
        let message = format!("{} rolled {key} ({environment}) back to version {version}", actor.username);
        self.inner.events.emit(venture_id, None, "env", crate::events::Level::Info, &message).await;
        let target = format!("{}/{key} ({environment})", venture.name);
        self.audit(&actor.username, AuditAction::EnvRollback, &target, &format!("back to version {version}")).await;
        Ok(())
    }

    /// One environment's values for `slipway env pull`. The venture's creator gets every value of
    /// development, their local environment, and the plain values of the others; admins get
    /// every value of the environment they name. The Supabase integration's values come from
    /// the project that environment gets (development: the staging project's); the production
    /// project's secrets go to admins only, whatever the environment. Every secret handed out
    /// is recorded as a disclosure (audit list and log); operators read no values.
    pub async fn env_pull(&self, actor: &User, venture_id: &str, environment: &str) -> Result<EnvPull, EngineError> {
        // Values are a venture's own: its creator's and the admins' (operators read none).
        let venture = self.venture_to_change(actor, venture_id, "pull this venture's values").await?;
        let spec = self.stored_spec(&venture).await?;
        let environment = Environment::parse("environment", environment).map_err(|e| EngineError::Invalid(vec![e]))?;
        if !Environment::of_venture(spec.staging_branch.is_some()).contains(&environment) {
            // The path names an environment this venture does not have: absent, not malformed.
            return Err(EngineError::NotFound("staging environment"));
        }
        let store = &self.inner.store;
        let admin = actor.role == Role::Admin;
        // Why a secret is held back from this caller, if it is.
        let secret_withheld = |production_project: bool| -> Option<String> {
            match (production_project, environment) {
                _ if admin => None,
                (true, _) => Some("a secret of the production database: only an admin pulls it".into()),
                (false, Environment::Development) => None,
                (false, _) => Some(format!("a secret of {environment}: only an admin pulls it")),
            }
        };
        let project = spec.non_production.project_for(environment);
        let mut variables = Vec::new();
        let mut disclosed = Vec::new();
        for var in INTEGRATION {
            let name = project.map(|p| p.sealed(var.sealed_as));
            let sealed = match &name {
                Some(name) => store.secret(venture_id, name).await?,
                None => None,
            };
            let withheld = secret_withheld(project == Some(Tier::Production));
            let (value, withheld) = match (sealed, name) {
                (_, None) => (
                    None,
                    Some(format!(
                        "no database outside production (supabase.non_production = none): {environment} has none"
                    )),
                ),
                (None, Some(_)) => (None, Some("not made yet: the venture's first apply makes it".to_string())),
                (Some(_), Some(_)) if var.secret && withheld.is_some() => (None, withheld),
                (Some(sealed), Some(name)) => {
                    if var.secret {
                        disclosed.push((var.key.to_string(), 0));
                    }
                    (Some(self.open_sealed(venture_id, &name, &sealed)?), None)
                }
            };
            variables.push(PulledVariable {
                key: var.key.into(),
                description: var.description.into(),
                secret: var.secret,
                value,
                withheld,
            });
        }
        let current = store.env_current_values(venture_id).await?;
        for var in store.env_vars(venture_id).await? {
            let now = current.iter().find(|c| c.key == var.key && c.environment == environment && !c.removed);
            let (value, withheld) = match now {
                None => (None, Some(format!("not set for {environment}"))),
                Some(_) if var.secret && secret_withheld(false).is_some() => (None, secret_withheld(false)),
                Some(c) => {
                    let name = sealed_name(environment, &var.key, c.version);
                    let sealed = store.secret(venture_id, &name).await?.ok_or(EngineError::NotFound("value"))?;
                    if var.secret {
                        disclosed.push((var.key.clone(), c.version));
                    }
                    (Some(self.open_sealed(venture_id, &name, &sealed)?), None)
                }
            };
            variables.push(PulledVariable {
                key: var.key,
                description: var.description,
                secret: var.secret,
                value,
                withheld,
            });
        }
        for (key, version) in &disclosed {
            store.record_reveal(venture_id, key, environment, *version, &actor.username, Disclosure::Pull).await?;
        }
        let (level, message) = if disclosed.is_empty() {
            (crate::events::Level::Info, format!("{} pulled {environment} (no secrets)", actor.username))
        } else {
            let keys: Vec<&str> = disclosed.iter().map(|(k, _)| k.as_str()).collect();
            (
                crate::events::Level::Warn,
                format!("{} pulled {environment} with {} secrets ({})", actor.username, keys.len(), keys.join(", ")),
            )
        };
        self.inner.events.emit(venture_id, None, "env", level, &message).await;
        if !disclosed.is_empty() {
            let keys: Vec<&str> = disclosed.iter().map(|(k, _)| k.as_str()).collect();
            let target = format!("{} ({environment})", venture.name);
            self.audit(&actor.username, AuditAction::SecretPull, &target, &keys.join(", ")).await;
        }
        Ok(EnvPull { venture: venture.name, environment, variables })
    }

    /// The venture's `.env.example`: every variable a developer needs locally, each under its
    /// description as a comment; secrets left empty, plain development values filled in (left
    /// empty for operators, who see no value).
    pub async fn env_example(&self, actor: &User, venture_id: &str) -> Result<String, EngineError> {
        let venture = self.venture(actor, venture_id).await?;
        let spec = self.stored_spec(&venture).await?;
        let environments = Environment::of_venture(spec.staging_branch.is_some());
        let listing = self.env_variables(actor, venture_id, &environments, spec.non_production).await?;
        let mut file = format!(
            "# {name}: the variables a local development server needs (generated by Slipway).\n\
             # Secrets are left empty: `slipway env pull {name}` writes them into .env.local.\n",
            name = venture.name
        );
        for var in &listing {
            let development = var.values.iter().find(|v| v.environment == Environment::Development);
            let value = development.and_then(|v| v.value.as_deref()).unwrap_or_default();
            let mut notes = Vec::new();
            if var.secret {
                notes.push("secret");
            }
            if var.source == Source::Integration {
                notes.push("from Supabase");
            }
            let notes = if notes.is_empty() { String::new() } else { format!(" ({})", notes.join(", ")) };
            let line = match env::dotenv::quote(value) {
                Some(quoted) => format!("{}={quoted}", var.key),
                None => format!("# no dotenv quoting holds this value: set it in your shell\n{}=", var.key),
            };
            file.push_str(&format!("\n# {}{notes}\n{line}\n", var.description));
        }
        Ok(file)
    }

    /// Syncs the venture's variables to Vercel now, without deploying: a job of its own, much
    /// shorter than an apply. Asked while an apply or a sync is queued or running, it is that
    /// job (an apply syncs too). Creators and admins.
    pub async fn sync_env(&self, actor: &User, venture_id: &str) -> Result<String, EngineError> {
        let venture = self.live_venture_to_change(actor, venture_id, "sync this venture's variables").await?;
        // A sync writes variables; making the projects is an apply's work.
        if venture.vercel_project_id.is_none() && !self.inner.store.has_active_job(venture_id).await? {
            return Err(EngineError::Conflict(format!("{} has no Vercel project yet: apply it first", venture.name)));
        }
        let note = format!("Sync of {}'s variables queued by {}", venture.name, actor.username);
        match self.inner.store.queue_job(&venture.id, provision::SYNC_ENV, None, &note).await? {
            Ok(job) => Ok(job),
            Err(active) if [provision::SYNC_ENV, APPLY_VENTURE].contains(&active.kind.as_str()) => Ok(active.id),
            Err(active) => Err(busy(&venture, &active.kind)),
        }
    }

    /// Redeploys production or staging so that their running deployments get the variables
    /// as they are at Vercel now (a variable reaches a deployment only when it is built).
    /// Creators and admins; the venture must be applied (production needs its first
    /// deployment, staging its environment).
    pub async fn redeploy(&self, actor: &User, venture_id: &str, environment: &str) -> Result<String, EngineError> {
        let venture = self.live_venture_to_change(actor, venture_id, "redeploy this venture").await?;
        let spec = self.stored_spec(&venture).await?;
        let environment = Environment::parse("environment", environment).map_err(|e| EngineError::Invalid(vec![e]))?;
        let target = match environment {
            Environment::Production => provision::RedeployTarget::Production,
            Environment::Staging if spec.staging_branch.is_some() => provision::RedeployTarget::Staging,
            Environment::Staging => return Err(EngineError::NotFound("staging environment")),
            other => {
                return Err(EngineError::invalid(
                    "environment",
                    format!("{other} has no running deployment to redeploy (only production and staging have)"),
                ));
            }
        };
        if venture.vercel_project_id.is_none() {
            return Err(EngineError::Conflict(format!("{} has no Vercel project yet: apply it first", venture.name)));
        }
        let kind = target.kind();
        let note = format!("Redeploy of {}'s {environment} queued by {}", venture.name, actor.username);
        match self.inner.store.queue_job(&venture.id, kind, None, &note).await? {
            Ok(job) => Ok(job),
            Err(active) if active.kind == kind => Ok(active.id),
            Err(active) => Err(busy(&venture, &active.kind)),
        }
    }

    /// The venture, when `actor` may `action` it ([`User::may_change`]); refused by role, then
    /// by ownership, naming the rule.
    pub(super) async fn venture_to_change(
        &self,
        actor: &User,
        venture_id: &str,
        action: &'static str,
    ) -> Result<Venture, EngineError> {
        if !actor.role.can_create_ventures() {
            return Err(EngineError::Forbidden { role: actor.role.as_str(), action });
        }
        let venture = self.venture(actor, venture_id).await?;
        if !actor.may_change(&venture) {
            return Err(EngineError::NotYours { action, venture: venture.name, owner: venture.created_by });
        }
        Ok(venture)
    }

    /// The same, for a venture that is not destroyed.
    pub(super) async fn live_venture_to_change(
        &self,
        actor: &User,
        venture_id: &str,
        action: &'static str,
    ) -> Result<Venture, EngineError> {
        let venture = self.venture_to_change(actor, venture_id, action).await?;
        if venture.status == crate::venture::VentureStatus::Destroyed {
            return Err(EngineError::Conflict(format!("{} was destroyed", venture.name)));
        }
        Ok(venture)
    }

    fn open_sealed(
        &self,
        venture_id: &str,
        name: &str,
        sealed: &crate::vault::Sealed,
    ) -> Result<SecretString, EngineError> {
        self.inner.vault.open(venture_id, name, sealed).map_err(|e| EngineError::Sealed(e.to_string()))
    }
}

/// The variables a new venture's spec declares, with their first values (generated ones,
/// and plain values given in the spec), as the store writes them.
pub(super) fn declared_in_spec(spec: &crate::venture::VentureSpec, set_by: &str) -> Vec<EnvWrite> {
    let environments = Environment::of_venture(spec.staging_branch.is_some());
    spec.env
        .iter()
        .map(|declared| {
            let changes = environments
                .iter()
                .filter_map(|&environment| {
                    let value = match (&declared.generator, &declared.value) {
                        (Some(generator), _) => generator.generate(),
                        (None, Some(value)) => SecretString::from(value.clone()),
                        (None, None) => return None,
                    };
                    Some((environment, Some(value)))
                })
                .collect();
            EnvWrite {
                var: EnvVarRecord {
                    key: declared.key.clone(),
                    description: declared.description.clone(),
                    secret: declared.secret,
                    source: if declared.generator.is_some() { Source::Generated } else { Source::User },
                    generator: declared.generator.map(Generator::as_string),
                    from_spec: true,
                    updated_at: now_ms(),
                },
                changes,
                set_by: set_by.to_string(),
            }
        })
        .collect()
}

/// The refusal for a job asked while another kind of job of the venture is queued or running.
pub(super) fn busy(venture: &Venture, active_kind: &str) -> EngineError {
    let what = match active_kind {
        DESTROY_VENTURE => return EngineError::Conflict(format!("{} is being destroyed", venture.name)),
        APPLY_VENTURE => "an apply",
        provision::SYNC_ENV => "a sync of its variables",
        provision::ROTATE_SECRET => "a secret rotation",
        _ => "a redeploy",
    };
    EngineError::Conflict(format!("{} has {what} under way; ask again when it is done", venture.name))
}
