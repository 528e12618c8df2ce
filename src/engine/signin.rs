//! A venture's sign-in: what each Supabase project offers (providers, site URL, redirect
//! URLs, the callback to register at each provider), and the providers' client secrets, which
//! are set here and nowhere else (never in a spec). Setting a secret changes nothing at
//! Supabase until the next apply, whose plan shows it.

use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};

use super::*;
use crate::env::Tier;
use crate::provision::{SignInWritten, kind};
use crate::signin::{self, Provider};
use crate::venture::NonProductionDatabase;

/// The sign-in settings of one Supabase project of the venture.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SignInProject {
    pub project: Tier,
    /// The project's name at Supabase.
    pub name: String,
    /// The environments whose database and sign-in this project is.
    pub used_by: Vec<crate::env::Environment>,
    /// Its reference, once it exists.
    #[schema(required = true)]
    pub reference: Option<String>,
    /// What every provider's app must register as its callback (redirect) URL.
    #[schema(required = true)]
    pub callback_url: Option<String>,
    /// As Slipway last wrote it.
    #[schema(required = true)]
    pub site_url: Option<String>,
    /// Slipway's entries of the redirect allow-list, as last written (entries added at
    /// Supabase by hand are kept there and not listed here).
    pub redirect_urls: Vec<String>,
    pub providers: Vec<SignInProvider>,
}

/// A provider as one project uses it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SignInProvider {
    pub provider: Provider,
    /// The spec turns it on.
    pub enabled: bool,
    pub client_id: String,
    /// Whose OAuth app: staging's own, or production's shared.
    pub app: Tier,
    /// Whether the app's client secret is in the vault (the value is never shown).
    pub secret_set: bool,
    /// Microsoft's tenant URL.
    #[schema(required = true)]
    pub tenant: Option<String>,
}

/// Every Supabase project's sign-in settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SignInOverview {
    pub projects: Vec<SignInProject>,
}

/// The longest client secret accepted (providers' are far shorter).
const MAX_CLIENT_SECRET: usize = 1024;

impl Engine {
    /// The sign-in settings of each Supabase project the venture has, from its spec and what
    /// its applies recorded (no platform call). Every role may read it: it holds no secret.
    pub async fn sign_in(&self, actor: &User, venture_id: &str) -> Result<SignInOverview, EngineError> {
        let venture = self.venture(actor, venture_id).await?;
        let spec = self.stored_spec(&venture).await?;
        let store = &self.inner.store;
        let mut projects = Vec::new();
        for (tier, project_kind, auth_kind) in [
            (Tier::Production, kind::SUPABASE_PROJECT, kind::SUPABASE_AUTH),
            (Tier::Staging, kind::SUPABASE_STAGING_PROJECT, kind::SUPABASE_STAGING_AUTH),
        ] {
            if tier == Tier::Staging && spec.non_production != NonProductionDatabase::StagingProject {
                continue;
            }
            let reference = store.resource(venture_id, project_kind).await?.and_then(|r| r.external_id);
            let written: SignInWritten = match store.resource(venture_id, auth_kind).await? {
                Some(record) => serde_json::from_value(record.data).unwrap_or_default(),
                None => SignInWritten::default(),
            };
            let mut providers = Vec::new();
            for provider in &spec.sign_in.providers {
                let (client_id, app) = provider.app(tier);
                providers.push(SignInProvider {
                    provider: provider.provider,
                    enabled: provider.enabled,
                    client_id: client_id.to_string(),
                    app,
                    secret_set: store.secret(venture_id, &provider.provider.secret_name(app)).await?.is_some(),
                    tenant: provider.tenant.as_ref().map(signin::Tenant::url),
                });
            }
            let used_by = crate::env::Environment::of_venture(spec.staging_branch.is_some())
                .into_iter()
                .filter(|e| spec.non_production.project_for(*e) == Some(tier))
                .collect();
            projects.push(SignInProject {
                project: tier,
                used_by,
                name: tier.project_name(&venture.name),
                callback_url: reference.as_deref().map(signin::callback_url),
                reference,
                site_url: written.site_url,
                redirect_urls: written.redirects,
                providers,
            });
        }
        Ok(SignInOverview { projects })
    }

    /// Seals the client secret of a provider's OAuth app: production's, or with `staging_app`
    /// the staging project's own (when the spec names one). Creators and admins. The value is
    /// never echoed, logged or shown again; the next apply sets it at Supabase.
    pub async fn set_sign_in_secret(
        &self,
        actor: &User,
        venture_id: &str,
        provider: &str,
        staging_app: bool,
        value: &SecretString,
    ) -> Result<(), EngineError> {
        let venture = self.live_venture_to_change(actor, venture_id, "set this venture's sign-in secrets").await?;
        let spec = self.stored_spec(&venture).await?;
        let provider = Provider::parse("provider", provider).map_err(|e| EngineError::Invalid(vec![e]))?;
        // The venture has no such sign-in: absent, not malformed (the spec is where it is added).
        let Some(configured) = spec.sign_in.provider(provider) else {
            return Err(EngineError::NotFound("sign-in provider"));
        };
        if staging_app && configured.staging_client_id.is_none() {
            return Err(EngineError::Conflict(format!(
                "the staging project signs in with the production app (auth.{} has no staging_client_id): \
                 set the production app's secret",
                provider.as_str()
            )));
        }
        let raw = value.expose_secret();
        let rule = if raw.is_empty() {
            Some("is required".to_string())
        } else if raw.len() > MAX_CLIENT_SECRET {
            Some(format!("must be at most {MAX_CLIENT_SECRET} bytes"))
        } else if raw.chars().any(|c| c.is_whitespace() || c.is_control() || c == ',') {
            Some("must not contain spaces, line breaks or commas (was a file with a newline pasted?)".into())
        } else {
            None
        };
        if let Some(rule) = rule {
            return Err(EngineError::invalid("value", rule));
        }
        let app = if staging_app { Tier::Staging } else { Tier::Production };
        let name = provider.secret_name(app);
        let sealed = self.inner.vault.seal(venture_id, &name, value);
        self.inner.store.put_secret(venture_id, &name, &sealed).await?;
        let message = format!(
            "{provider} client secret of the {app} app set by {}; the next apply sets it at Supabase",
            actor.username
        );
        self.inner.events.emit(venture_id, None, "auth", crate::events::Level::Info, &message).await;
        let target = format!("{}/{provider} ({app} app)", venture.name);
        self.audit(&actor.username, AuditAction::SignInSecretSet, &target, "client secret sealed").await;
        Ok(())
    }
}
